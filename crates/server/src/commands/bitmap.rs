//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! A bitmap is an ordinary string. Bit 0 is the most significant bit of the first byte, and a
//! string reads as if followed by endless zero bytes. Writers grow the string with zero bytes
//! and leave it in the `raw` form, as Redis reports after any bit write.

use std::sync::atomic::Ordering;

use roost_resp::Args;
use roost_store::{Entry, StrValue, Table, Value};

use super::string::string_at;
use super::{is, parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const ONE_KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };
const READ_SLOW: &[&str] = &["@read", "@bitmap", "@slow"];
const READ_FAST: &[&str] = &["@read", "@bitmap", "@fast"];
const WRITE_SLOW: &[&str] = &["@write", "@bitmap", "@slow"];

const BITMAP: CommandSpec = CommandSpec { group: "bitmap", keys: ONE_KEY, ..BASE };

pub const SETBIT: CommandSpec = CommandSpec {
    name: "setbit",
    arity: 4,
    flags: WRITE | DENYOOM,
    key_flags: &["RW", "ACCESS", "UPDATE"],
    acl: WRITE_SLOW,
    since: "2.2.0",
    summary: "Sets or clears the bit at offset in the string value stored at key",
    run: setbit,
    ..BITMAP
};
pub const GETBIT: CommandSpec = CommandSpec {
    name: "getbit",
    arity: 3,
    flags: READONLY | FAST,
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    since: "2.2.0",
    summary: "Returns the bit value at offset in the string value stored at key",
    run: getbit,
    ..BITMAP
};
pub const BITCOUNT: CommandSpec = CommandSpec {
    name: "bitcount",
    arity: -2,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    since: "2.6.0",
    summary: "Count set bits in a string",
    complexity: "O(N)",
    run: bitcount,
    ..BITMAP
};
pub const BITPOS: CommandSpec = CommandSpec {
    name: "bitpos",
    arity: -3,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    since: "2.8.7",
    summary: "Find first bit set or clear in a string",
    complexity: "O(N)",
    run: bitpos,
    ..BITMAP
};
/// Redis gives BITOP two key specs (the destination OW/UPDATE, the sources RO/ACCESS); the
/// table holds one list of key flags per command, so it carries the destination's.
pub const BITOP: CommandSpec = CommandSpec {
    name: "bitop",
    arity: -4,
    flags: WRITE | DENYOOM,
    keys: Keys::Range { first: 2, last: -1, step: 1 },
    key_flags: &["OW", "UPDATE"],
    acl: WRITE_SLOW,
    since: "2.6.0",
    summary: "Perform bitwise operations between strings",
    complexity: "O(N)",
    run: bitop,
    ..BITMAP
};
pub const BITFIELD: CommandSpec = CommandSpec {
    name: "bitfield",
    arity: -2,
    flags: WRITE | DENYOOM,
    key_flags: &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"],
    acl: WRITE_SLOW,
    since: "3.2.0",
    summary: "Perform arbitrary bitfield integer operations on strings",
    complexity: "O(1) for each subcommand specified",
    run: bitfield,
    ..BITMAP
};
pub const BITFIELD_RO: CommandSpec = CommandSpec {
    name: "bitfield_ro",
    arity: -2,
    flags: READONLY | FAST,
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    since: "6.0.0",
    summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
    complexity: "O(1) for each subcommand specified",
    run: bitfield_ro,
    ..BITMAP
};

fn bad_offset() -> CmdError {
    CmdError::msg("ERR bit offset is not an integer or out of range")
}

/// A bit offset argument. With `width` (BITFIELD), `#n` means the n-th field of that width.
/// Offsets whose byte lies at or past proto-max-bulk-len are refused, which with the default
/// 512 MB limit allows bits 0 to 2^32-1.
fn bit_offset(ctx: &Ctx, arg: &[u8], width: Option<u32>) -> Result<u64, CmdError> {
    let (digits, times) = match (arg.first(), width) {
        (Some(b'#'), Some(w)) => (&arg[1..], w as i64),
        _ => (arg, 1),
    };
    // Redis multiplies in 64 bits without an overflow check; wrapping reproduces its results.
    let v = roost_resp::parse_i64(digits).ok_or_else(bad_offset)?.wrapping_mul(times);
    let max = ctx.server.live.proto_max_bulk_len.load(Ordering::Relaxed);
    if v < 0 || (v as u64 >> 3) >= max {
        return Err(bad_offset());
    }
    Ok(v as u64)
}

/// The string at `key` as a byte vector at least `len` long, created when absent, for writing.
fn writable<'t>(table: &'t mut Table, key: &[u8], len: usize) -> Result<&'t mut Vec<u8>, CmdError> {
    if string_at(table, key)?.is_none() {
        // A fresh zeroed allocation, so a far offset costs no page until it is touched.
        table.set(key, Value::Str(StrValue::Raw(Box::new(vec![0u8; len]))), 0);
    }
    let v = string_at(table, key)?.expect("the string was just created").make_mut();
    if v.len() < len {
        v.resize(len, 0);
    }
    Ok(v)
}

fn setbit(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let offset = bit_offset(ctx, args.get(2), None)?;
    let on = match roost_resp::parse_i64(args.get(3)) {
        Some(b @ (0 | 1)) => b == 1,
        _ => return Err(CmdError::msg("ERR bit is not an integer or out of range")),
    };
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let bytes = writable(shard.db(ctx.client.db), key, (offset / 8) as usize + 1)?;
    let byte = &mut bytes[(offset / 8) as usize];
    let mask = 0x80u8 >> (offset % 8);
    let old = *byte & mask != 0;
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    drop(shard);
    notify(ctx, class::STRING, "setbit", key);
    ctx.reply.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let offset = bit_offset(ctx, args.get(2), None)?;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let found = string_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, found.is_some(), key);
    let bit = found.map_or(0, |s| {
        let mut scratch = [0u8; 20];
        let bytes = s.bytes(&mut scratch);
        bytes.get((offset / 8) as usize).map_or(0, |b| (b >> (7 - offset % 8)) & 1)
    });
    drop(shard);
    ctx.reply.int(bit as i64);
    Ok(())
}

/// Set bits in `bytes`, a 64-bit word at a time.
fn popcount(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for w in &mut words {
        n += u64::from_ne_bytes(w.try_into().expect("8-byte chunk")).count_ones() as u64;
    }
    n + words.remainder().iter().map(|b| b.count_ones() as u64).sum::<u64>()
}

/// Set bits among bits `from..=to` of `bytes` (both within the string).
fn count_bits(bytes: &[u8], from: u64, to: u64) -> u64 {
    let (first, last) = ((from / 8) as usize, (to / 8) as usize);
    let whole = popcount(&bytes[first..=last]);
    // Take back the bits of the edge bytes that lie outside the range.
    let before = (bytes[first] & !(0xffu8 >> (from % 8))).count_ones() as u64;
    let after = (bytes[last] & !(0xffu8 << (7 - to % 8))).count_ones() as u64;
    whole - before - after
}

/// Position of the first byte of `bytes` that is not `skip`, comparing whole words first.
fn first_byte_not(bytes: &[u8], skip: u8) -> Option<usize> {
    let skip_word = u64::from_ne_bytes([skip; 8]);
    let mut done = 0;
    for w in bytes.chunks_exact(8) {
        if u64::from_ne_bytes(w.try_into().expect("8-byte chunk")) != skip_word {
            break;
        }
        done += 8;
    }
    bytes[done..].iter().position(|&b| b != skip).map(|i| done + i)
}

/// The first bit equal to `bit` among bits `from..=to` of `bytes` (both within the string).
fn find_bit(bytes: &[u8], from: u64, to: u64, bit: bool) -> Option<u64> {
    // Looking for clear bits is looking for set bits in the complement.
    let flip = if bit { 0 } else { 0xffu8 };
    let (first, last) = ((from / 8) as usize, (to / 8) as usize);
    let at = |i: usize, v: u8| i as u64 * 8 + v.leading_zeros() as u64;
    let edge = |i: usize| {
        let mut v = bytes[i] ^ flip;
        if i == first {
            v &= 0xff >> (from % 8);
        }
        if i == last {
            v &= 0xff << (7 - to % 8);
        }
        v
    };
    let v = edge(first);
    if v != 0 {
        return Some(at(first, v));
    }
    if last == first {
        return None;
    }
    if let Some(i) = first_byte_not(&bytes[first + 1..last], flip) {
        let i = first + 1 + i;
        return Some(at(i, bytes[i] ^ flip));
    }
    let v = edge(last);
    (v != 0).then(|| at(last, v))
}

/// Resolves a start/end pair (negative = from the end) over `total` units into an inclusive
/// range, clamped to the string; None when it is empty.
fn clamp_range(start: i64, end: i64, total: i64) -> Option<(u64, u64)> {
    let start = if start < 0 { (total + start).max(0) } else { start };
    let end = if end < 0 { (total + end).max(0) } else { end }.min(total - 1);
    (start <= end).then_some((start as u64, end as u64))
}

/// Whether a BYTE|BIT argument says BIT.
fn bit_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn bitcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    // Redis 7.0 looks the key up before reading the range: a missing key is 0 whatever follows.
    let found = string_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, found.is_some(), key);
    let Some(s) = found else {
        drop(shard);
        ctx.reply.int(0);
        return Ok(());
    };
    let mut scratch = [0u8; 20];
    let bytes = s.bytes(&mut scratch);
    let len = bytes.len() as i64;
    let count = match args.len() {
        2 => popcount(bytes),
        4 | 5 => {
            let start = parse_int(args.get(2))?;
            let end = parse_int(args.get(3))?;
            // Two negative indexes in the wrong order are empty, even when both lie before the
            // start of the string (where clamping alone would make them the first unit). Redis
            // answers this before it reads the unit, so a bad unit goes unnoticed here.
            if start < 0 && end < 0 && start > end {
                0
            } else {
                let in_bits = args.len() == 5 && bit_unit(args.get(4))?;
                let total = if in_bits { len * 8 } else { len };
                match clamp_range(start, end, total) {
                    None => 0,
                    Some((a, b)) if in_bits => count_bits(bytes, a, b),
                    Some((a, b)) => popcount(&bytes[a as usize..=b as usize]),
                }
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    drop(shard);
    ctx.reply.int(count as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let bit = match parse_int(args.get(2))? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let found = string_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, found.is_some(), key);
    let Some(s) = found else {
        // A missing key is an endless run of zero bits.
        drop(shard);
        ctx.reply.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut scratch = [0u8; 20];
    let bytes = s.bytes(&mut scratch);
    let len = bytes.len() as i64;
    let (range, end_given) = match args.len() {
        3 => (clamp_range(0, -1, len).map(|(a, b)| (a * 8, b * 8 + 7)), false),
        4..=6 => {
            // Redis reads start, then the unit, then end: errors come in that order.
            let start = parse_int(args.get(3))?;
            let in_bits = args.len() == 6 && bit_unit(args.get(5))?;
            let end = if args.len() >= 5 { parse_int(args.get(4))? } else { -1 };
            let range = if in_bits {
                clamp_range(start, end, len * 8)
            } else {
                clamp_range(start, end, len).map(|(a, b)| (a * 8, b * 8 + 7))
            };
            (range, args.len() >= 5)
        }
        _ => return Err(CmdError::Syntax),
    };
    let pos = match range {
        None => -1,
        Some((from, to)) => match find_bit(bytes, from, to, bit) {
            Some(p) => p as i64,
            // With no end given the string counts as padded with zeros, so the first clear bit
            // is the one just past it; an explicit range has no such bit.
            None if !bit && !end_given => to as i64 + 1,
            None => -1,
        },
    };
    drop(shard);
    ctx.reply.int(pos);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = args.get(1);
    let op = if is(name, "and") {
        BitOp::And
    } else if is(name, "or") {
        BitOp::Or
    } else if is(name, "xor") {
        BitOp::Xor
    } else if is(name, "not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::msg("ERR BITOP NOT must be called with a single source key."));
    }
    let db = ctx.client.db;
    let dest = args.get(2);
    let sources = args.tail(3);
    let mut locked = ctx.server.keyspace.lock_keys(args.tail(2).iter());
    // First pass: types and the longest source, which is the result's length.
    let mut longest = 0;
    for key in sources.iter() {
        let found = string_at(locked.table(db, key), key)?;
        notify::count_lookup(ctx, found.is_some(), key);
        longest = longest.max(found.map_or(0, |s| s.len()));
    }
    if longest == 0 {
        let deleted = locked.table(db, dest).remove(dest).is_some();
        drop(locked);
        if deleted {
            notify(ctx, class::GENERIC, "del", dest);
        }
        ctx.reply.int(0);
        return Ok(());
    }
    // Second pass: fold each source into the result; a source shorter than the result (or a
    // missing one) is padded with zero bytes.
    let mut result = vec![0u8; longest];
    for (i, key) in sources.iter().enumerate() {
        let mut scratch = [0u8; 20];
        let src: &[u8] = match locked.table(db, key).peek(key) {
            Some(Entry { value: Value::Str(s), .. }) => s.bytes(&mut scratch),
            _ => &[],
        };
        match op {
            BitOp::Not => {
                result.iter_mut().zip(src).for_each(|(r, s)| *r = !s);
            }
            BitOp::And if i == 0 => result[..src.len()].copy_from_slice(src),
            BitOp::And => {
                result.iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                result[src.len()..].fill(0);
            }
            BitOp::Or => result.iter_mut().zip(src).for_each(|(r, s)| *r |= s),
            BitOp::Xor => result.iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
        }
    }
    // Stored raw, never as an integer, and without the destination's old TTL, as Redis does.
    locked.table(db, dest).set(dest, Value::Str(StrValue::Raw(Box::new(result))), 0);
    drop(locked);
    notify(ctx, class::STRING, "set", dest);
    ctx.reply.int(longest as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD operation on one field.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// A field type: `i1`..`i64` or `u1`..`u63` (an unsigned 64-bit value would not fit the
/// integer reply). Redis takes the prefix in lower case only.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let err = || {
        CmdError::msg(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let bits = roost_resp::parse_i64(&arg[1..]).ok_or_else(err)?;
    if bits < 1 || bits > if signed { 64 } else { 63 } {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

/// Parses every BITFIELD operation before any runs: an error anywhere means nothing is done.
fn parse_fields(ctx: &Ctx, args: &Args) -> Result<Vec<Field>, CmdError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let sub = args.get(i);
        let left = args.len() - i - 1;
        let takes_value = if is(sub, "get") && left >= 2 {
            false
        } else if (is(sub, "set") || is(sub, "incrby")) && left >= 3 {
            true
        } else if is(sub, "overflow") && left >= 1 {
            let mode = args.get(i + 1);
            overflow = if is(mode, "wrap") {
                Overflow::Wrap
            } else if is(mode, "sat") {
                Overflow::Sat
            } else if is(mode, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            i += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(args.get(i + 1))?;
        let offset = bit_offset(ctx, args.get(i + 2), Some(bits))?;
        let op = if !takes_value {
            FieldOp::Get
        } else {
            let v = parse_int(args.get(i + 3))?;
            if is(sub, "set") {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        fields.push(Field { op, signed, bits, offset, overflow });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(fields)
}

/// Reads `bits` bits at bit `offset` as an unsigned number; bytes past the end read as zero.
fn read_bits(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    // A field of up to 64 bits starting anywhere in a byte spans at most 9 bytes.
    let first = (offset / 8) as usize;
    let mut window = [0u8; 16];
    if first < bytes.len() {
        let n = (bytes.len() - first).min(9);
        window[..n].copy_from_slice(&bytes[first..first + n]);
    }
    let w = u128::from_be_bytes(window) << (offset % 8);
    (w >> (128 - bits)) as u64
}

/// Writes the low `bits` bits of `value` at bit `offset`; the string is long enough.
fn write_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let pos = offset + i;
        let mask = 0x80u8 >> (pos % 8);
        let byte = &mut bytes[(pos / 8) as usize];
        if (value >> (bits as u64 - 1 - i)) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// The field's stored value as a number, sign-extended for signed types.
fn field_value(f: &Field, raw: u64) -> i64 {
    if f.signed {
        let shift = 64 - f.bits;
        ((raw << shift) as i64) >> shift
    } else {
        raw as i64
    }
}

/// What a SET or INCRBY stores in the field when it would hold `v + d` (a SET is `v` = the
/// value, `d` = 0): that sum if it fits, else wrapped or saturated, or None when FAIL refuses.
fn apply_overflow(f: &Field, v: i64, d: i64) -> Option<i64> {
    let (above, below, max, min) = if f.signed {
        let max = if f.bits == 64 { i64::MAX } else { (1i64 << (f.bits - 1)) - 1 };
        let min = -max - 1;
        // Redis measures the room left as `max - v` in wrapping 64-bit arithmetic, so a SET of
        // a value within `max` of i64::MIN finds "negative room" and counts as too large (SAT
        // stores the maximum). The same arithmetic gives the same answers.
        let room_up = (max as u64).wrapping_sub(v as u64) as i64;
        let room_down = min.wrapping_sub(v);
        let above = v > max || (f.bits != 64 && d > room_up) || (v >= 0 && d > 0 && d > room_up);
        let below = v < min || (f.bits != 64 && d < room_down) || (v < 0 && d < 0 && d < room_down);
        (above, !above && below, max, min)
    } else {
        // An unsigned field takes the value as its 64-bit two's complement: a negative SET
        // value is a huge one (SAT stores the maximum, not 0).
        let max = (1u64 << f.bits) - 1;
        let u = v as u64;
        let above = u > max || (d > 0 && d as u64 > max - u);
        let below = !above && d < 0 && d.unsigned_abs() > u;
        (above, below, max as i64, 0)
    };
    let sum = v.wrapping_add(d);
    if !above && !below {
        return Some(sum);
    }
    match f.overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if above { max } else { min }),
        // Keep the low bits, read back as the field's type.
        Overflow::Wrap => Some(field_value(f, sum as u64 & (u64::MAX >> (64 - f.bits)))),
    }
}

/// Runs one SET or INCRBY; the reply value, or None when FAIL refused it.
fn write_field(bytes: &mut [u8], f: &Field) -> Option<i64> {
    let old = field_value(f, read_bits(bytes, f.offset, f.bits));
    let (new, reply) = match f.op {
        FieldOp::Set(v) => (apply_overflow(f, v, 0)?, old),
        FieldOp::IncrBy(d) => {
            let new = apply_overflow(f, old, d)?;
            (new, new)
        }
        FieldOp::Get => unreachable!("GET is not a write"),
    };
    write_bits(bytes, f.offset, f.bits, new as u64);
    Some(reply)
}

fn bitfield_generic(ctx: &mut Ctx, args: &Args, read_only: bool) -> CmdResult {
    let fields = parse_fields(ctx, args)?;
    let key = args.get(1);
    let writes = fields.iter().any(|f| f.op != FieldOp::Get);
    if writes && read_only {
        return Err(CmdError::msg("ERR BITFIELD_RO only supports the GET subcommand"));
    }
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    if !writes {
        let found = string_at(table, key)?;
        notify::count_lookup(ctx, found.is_some(), key);
        let mut scratch = [0u8; 20];
        let bytes = found.map_or(&[][..], |s| s.bytes(&mut scratch));
        ctx.reply.array(fields.len());
        for f in &fields {
            ctx.reply.int(field_value(f, read_bits(bytes, f.offset, f.bits)));
        }
        return Ok(());
    }
    // The string grows to cover the furthest field written before anything runs, so even a
    // write refused by FAIL leaves the key created and extended, as in Redis.
    let end = fields.iter().filter(|f| f.op != FieldOp::Get).map(|f| f.offset + f.bits as u64 - 1).max();
    let bytes = writable(table, key, (end.unwrap_or(0) / 8) as usize + 1)?;
    ctx.reply.array(fields.len());
    let mut changes = 0;
    for f in &fields {
        if f.op == FieldOp::Get {
            ctx.reply.int(field_value(f, read_bits(bytes, f.offset, f.bits)));
            continue;
        }
        match write_field(bytes, f) {
            Some(v) => {
                changes += 1;
                ctx.reply.int(v);
            }
            None => ctx.reply.null(),
        }
    }
    drop(shard);
    if changes > 0 {
        notify(ctx, class::STRING, "setbit", key);
    }
    Ok(())
}

fn bitfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bit_ranges() {
        let s = b"foobar";
        assert_eq!(popcount(s), 26);
        assert_eq!(count_bits(s, 0, 47), 26);
        assert_eq!(count_bits(s, 5, 30), 17);
        assert_eq!(count_bits(s, 7, 7), 0);
        assert_eq!(count_bits(&[0xff; 20], 3, 150), 148);
    }

    #[test]
    fn finds_bits() {
        let mut v = vec![0xffu8; 40];
        v[33] = 0xfd;
        assert_eq!(find_bit(&v, 0, 319, false), Some(33 * 8 + 6));
        assert_eq!(find_bit(&v, 0, 269, false), None);
        assert_eq!(find_bit(&v, 3, 319, true), Some(3));
        assert_eq!(find_bit(&[0, 0, 1], 0, 23, true), Some(23));
        assert_eq!(find_bit(&[0, 0, 1], 0, 22, true), None);
    }

    #[test]
    fn reads_and_writes_fields() {
        let mut v = vec![0u8; 10];
        write_bits(&mut v, 5, 64, 0x8000_0000_0000_0001);
        assert_eq!(read_bits(&v, 5, 64), 0x8000_0000_0000_0001);
        assert_eq!(read_bits(&v, 5, 1), 1);
        assert_eq!(read_bits(&v, 68, 1), 1);
        assert_eq!(read_bits(&v, 100, 8), 0);
    }

    #[test]
    fn overflow_modes() {
        let f = |signed, bits, overflow| Field { op: FieldOp::Get, signed, bits, offset: 0, overflow };
        assert_eq!(apply_overflow(&f(true, 8, Overflow::Wrap), 200, 0), Some(-56));
        assert_eq!(apply_overflow(&f(true, 8, Overflow::Sat), -100, -100), Some(-128));
        assert_eq!(apply_overflow(&f(true, 4, Overflow::Sat), i64::MIN, 0), Some(7));
        assert_eq!(apply_overflow(&f(false, 8, Overflow::Wrap), 256, 7), Some(7));
        assert_eq!(apply_overflow(&f(false, 8, Overflow::Sat), 3, -4), Some(0));
        assert_eq!(apply_overflow(&f(false, 8, Overflow::Sat), -1, 0), Some(255));
        assert_eq!(apply_overflow(&f(false, 8, Overflow::Fail), 255, 1), None);
        assert_eq!(apply_overflow(&f(true, 64, Overflow::Wrap), i64::MAX, 1), Some(i64::MIN));
    }
}

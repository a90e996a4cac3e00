//! Set commands: SADD, SREM, membership, random picks, SMOVE, the algebra (SINTER, SUNION,
//! SDIFF and their STORE forms, SINTERCARD) and SSCAN, with Redis 7.0's replies and errors.

use roost_resp::{Args, ReplyBuf};
use roost_store::set::SetLimits;
use roost_store::{glob, Entry, Locked, Set, Table, Value};

use super::keys::{parse_cursor, ScanOptions};
use super::{is, parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const ONE_KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };
const ALL_KEYS: Keys = Keys::Range { first: 1, last: -1, step: 1 };
const READ_FAST: &[&str] = &["@read", "@set", "@fast"];
const READ_SLOW: &[&str] = &["@read", "@set", "@slow"];
const WRITE_FAST: &[&str] = &["@write", "@set", "@fast"];
const WRITE_SLOW: &[&str] = &["@write", "@set", "@slow"];
const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const TOTAL_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

const SET: CommandSpec = CommandSpec { group: "set", keys: ONE_KEY, ..BASE };

pub const SADD: CommandSpec = CommandSpec {
    name: "sadd",
    arity: -3,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "INSERT"],
    acl: WRITE_FAST,
    summary: "Add one or more members to a set",
    complexity:
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
    run: sadd,
    ..SET
};
pub const SREM: CommandSpec = CommandSpec {
    name: "srem",
    arity: -3,
    flags: WRITE | FAST,
    key_flags: &["RW", "DELETE"],
    acl: WRITE_FAST,
    summary: "Remove one or more members from a set",
    complexity: "O(N) where N is the number of members to be removed.",
    run: srem,
    ..SET
};
pub const SMEMBERS: CommandSpec = CommandSpec {
    name: "smembers",
    arity: 2,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    summary: "Get all the members in a set",
    complexity: "O(N) where N is the set cardinality.",
    run: sinter,
    ..SET
};
pub const SISMEMBER: CommandSpec = CommandSpec {
    name: "sismember",
    arity: 3,
    flags: READONLY | FAST,
    key_flags: &["RO"],
    acl: READ_FAST,
    summary: "Determine if a given value is a member of a set",
    run: sismember,
    ..SET
};
pub const SMISMEMBER: CommandSpec = CommandSpec {
    name: "smismember",
    arity: -3,
    flags: READONLY | FAST,
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    since: "6.2.0",
    summary: "Returns the membership associated with the given elements for a set",
    complexity: "O(N) where N is the number of elements being checked for membership",
    run: smismember,
    ..SET
};
pub const SCARD: CommandSpec = CommandSpec {
    name: "scard",
    arity: 2,
    flags: READONLY | FAST,
    key_flags: &["RO"],
    acl: READ_FAST,
    summary: "Get the number of members in a set",
    run: scard,
    ..SET
};
pub const SPOP: CommandSpec = CommandSpec {
    name: "spop",
    arity: -2,
    flags: WRITE | FAST,
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_FAST,
    summary: "Remove and return one or multiple random members from a set",
    complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
    run: spop,
    ..SET
};
pub const SRANDMEMBER: CommandSpec = CommandSpec {
    name: "srandmember",
    arity: -2,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    summary: "Get one or multiple random members from a set",
    complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
    run: srandmember,
    ..SET
};
pub const SMOVE: CommandSpec = CommandSpec {
    name: "smove",
    arity: 4,
    flags: WRITE | FAST,
    keys: Keys::Range { first: 1, last: 2, step: 1 },
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_FAST,
    summary: "Move a member from one set to another",
    run: smove,
    ..SET
};
pub const SINTER: CommandSpec = CommandSpec {
    name: "sinter",
    arity: -2,
    flags: READONLY,
    keys: ALL_KEYS,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    summary: "Intersect multiple sets",
    complexity: INTER_COMPLEXITY,
    run: sinter,
    ..SET
};
pub const SINTERCARD: CommandSpec = CommandSpec {
    name: "sintercard",
    arity: -3,
    flags: READONLY,
    keys: Keys::Custom(sintercard_keys),
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    since: "7.0.0",
    summary: "Intersect multiple sets and return the cardinality of the result",
    complexity: INTER_COMPLEXITY,
    run: sintercard,
    ..SET
};
pub const SINTERSTORE: CommandSpec = CommandSpec {
    name: "sinterstore",
    arity: -3,
    flags: WRITE | DENYOOM,
    keys: ALL_KEYS,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_SLOW,
    summary: "Intersect multiple sets and store the resulting set in a key",
    complexity: INTER_COMPLEXITY,
    run: sinterstore,
    ..SET
};
pub const SUNION: CommandSpec =
    CommandSpec { name: "sunion", summary: "Add multiple sets", complexity: TOTAL_COMPLEXITY, run: sunion, ..SINTER };
pub const SUNIONSTORE: CommandSpec = CommandSpec {
    name: "sunionstore",
    key_flags: &["OW", "UPDATE"],
    summary: "Add multiple sets and store the resulting set in a key",
    complexity: TOTAL_COMPLEXITY,
    run: sunionstore,
    ..SINTERSTORE
};
pub const SDIFF: CommandSpec = CommandSpec {
    name: "sdiff",
    summary: "Subtract multiple sets",
    complexity: TOTAL_COMPLEXITY,
    run: sdiff,
    ..SINTER
};
pub const SDIFFSTORE: CommandSpec = CommandSpec {
    name: "sdiffstore",
    key_flags: &["OW", "UPDATE"],
    summary: "Subtract multiple sets and store the resulting set in a key",
    complexity: TOTAL_COMPLEXITY,
    run: sdiffstore,
    ..SINTERSTORE
};
pub const SSCAN: CommandSpec = CommandSpec {
    name: "sscan",
    arity: -3,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    since: "2.8.0",
    summary: "Incrementally iterate Set elements",
    complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    run: sscan,
    ..SET
};

/// The set stored at `key`, if any; another type is WRONGTYPE.
fn set_at<'t>(table: &'t mut Table, key: &[u8]) -> Result<Option<&'t mut Set>, CmdError> {
    match table.touch(key) {
        None => Ok(None),
        Some(Entry { value: Value::Set(s), .. }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn limits(ctx: &Ctx) -> SetLimits {
    SetLimits::from_config(&ctx.server.keyspace.limits)
}

/// Members as a set reply (RESP3 `~`, an array in RESP2).
fn reply_members(reply: &mut ReplyBuf, set: &Set) {
    reply.set(set.len());
    for m in set.iter() {
        reply.bulk(&m);
    }
}

fn sadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let limits = limits(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let added = match set_at(table, key)? {
        Some(s) => args.tail(2).iter().filter(|m| s.add(m, &limits)).count(),
        None => {
            let mut s = Set::new();
            let added = args.tail(2).iter().filter(|m| s.add(m, &limits)).count();
            table.set(key, Value::Set(Box::new(s)), 0);
            added
        }
    };
    drop(shard);
    if added > 0 {
        notify(ctx, class::SET, "sadd", key);
    }
    ctx.reply.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let mut removed = 0;
    let mut deleted = false;
    if let Some(s) = set_at(table, key)? {
        for m in args.tail(2).iter() {
            removed += s.remove(m) as i64;
            if s.is_empty() {
                break;
            }
        }
        deleted = s.is_empty();
        if deleted {
            table.remove(key);
        }
    }
    drop(shard);
    if removed > 0 {
        notify(ctx, class::SET, "srem", key);
        if deleted {
            notify(ctx, class::GENERIC, "del", key);
        }
    }
    ctx.reply.int(removed);
    Ok(())
}

fn sismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let found = set_at(shard.db(ctx.client.db), key)?.map(|s| s.contains(args.get(2)));
    drop(shard);
    notify::count_lookup(ctx, found.is_some(), key);
    ctx.reply.int(found.unwrap_or(false) as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let set = set_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, set.is_some(), key);
    let members = args.tail(2);
    ctx.reply.array(members.len());
    for m in members.iter() {
        ctx.reply.int(set.as_ref().is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let len = set_at(shard.db(ctx.client.db), key)?.map(|s| s.len());
    drop(shard);
    notify::count_lookup(ctx, len.is_some(), key);
    ctx.reply.int(len.unwrap_or(0) as i64);
    Ok(())
}

fn spop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 => return spop_count(ctx, args),
        _ => return Err(CmdError::Syntax),
    }
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let Some(s) = set_at(table, key)? else {
        drop(shard);
        ctx.reply.null();
        return Ok(());
    };
    let rng = &mut *ctx.rng;
    let popped = s.pop_random(&mut || rng.next_u64());
    let deleted = s.is_empty();
    if deleted {
        table.remove(key);
    }
    drop(shard);
    // Redis's order: the pop, the answer, then the deletion.
    notify(ctx, class::SET, "spop", key);
    match popped {
        Some(m) => ctx.reply.bulk(&m),
        None => ctx.reply.null(),
    }
    if deleted {
        notify(ctx, class::GENERIC, "del", key);
    }
    Ok(())
}

fn spop_count(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = roost_resp::parse_i64(args.get(2))
        .filter(|&c| c >= 0)
        .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))? as u64;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let Some(s) = set_at(table, key)? else {
        drop(shard);
        ctx.reply.set(0);
        return Ok(());
    };
    if count >= s.len() as u64 {
        // Everything goes: hand over the whole set and delete the key.
        let whole = table.remove(key);
        drop(shard);
        notify(ctx, class::SET, "spop", key);
        match whole {
            Some(Entry { value: Value::Set(s), .. }) => reply_members(ctx.reply, &s),
            _ => ctx.reply.set(0),
        }
        notify(ctx, class::GENERIC, "del", key);
        return Ok(());
    }
    let rng = &mut *ctx.rng;
    let popped: Vec<Vec<u8>> = (0..count).filter_map(|_| s.pop_random(&mut || rng.next_u64())).collect();
    drop(shard);
    if count > 0 {
        notify(ctx, class::SET, "spop", key);
    }
    ctx.reply.set(popped.len());
    for m in &popped {
        ctx.reply.bulk(m);
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => {
            let c = parse_int(args.get(2))?;
            if c == i64::MIN {
                return Err(CmdError::msg(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            Some(c)
        }
        _ => return Err(CmdError::Syntax),
    };
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let set = set_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, set.is_some(), key);
    let rng = &mut *ctx.rng;
    let mut next = || rng.next_u64();
    match (set, count) {
        (None, None) => ctx.reply.null(),
        (None, Some(_)) => ctx.reply.array(0),
        (Some(s), None) => match s.random_members(1, true, &mut next).first() {
            Some(m) => ctx.reply.bulk(m),
            None => ctx.reply.null(),
        },
        (Some(s), Some(c)) => {
            // A negative count may repeat members; a positive one gives distinct ones.
            let picked = s.random_members(c.unsigned_abs() as usize, c > 0, &mut next);
            ctx.reply.array(picked.len());
            for m in &picked {
                ctx.reply.bulk(m);
            }
        }
    }
    Ok(())
}

fn smove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    let db = ctx.client.db;
    let limits = limits(ctx);
    let mut locked = ctx.server.keyspace.lock_keys([src, dst]);
    let src_kind = locked.table(db, src).touch(src).map(|e| matches!(e.value, Value::Set(_)));
    let dst_kind = locked.table(db, dst).touch(dst).map(|e| matches!(e.value, Value::Set(_)));
    let moved = match (src_kind, dst_kind) {
        (None, _) => false,
        (Some(false), _) | (_, Some(false)) => return Err(CmdError::WrongType),
        _ if src == dst => set_at(locked.table(db, src), src)?.is_some_and(|s| s.contains(member)),
        _ => {
            let table = locked.table(db, src);
            let s = set_at(table, src)?.expect("looked up above");
            if s.remove(member) {
                let src_deleted = s.is_empty();
                if src_deleted {
                    table.remove(src);
                }
                // The source's events come before the destination's creation, as in Redis.
                notify(ctx, class::SET, "srem", src);
                if src_deleted {
                    notify(ctx, class::GENERIC, "del", src);
                }
                let table = locked.table(db, dst);
                match set_at(table, dst)? {
                    Some(d) => {
                        d.add(member, &limits);
                    }
                    None => {
                        let mut d = Set::new();
                        d.add(member, &limits);
                        table.set(dst, Value::Set(Box::new(d)), 0);
                    }
                }
                true
            } else {
                false
            }
        }
    };
    drop(locked);
    if moved && src != dst {
        notify(ctx, class::SET, "sadd", dst);
    }
    ctx.reply.int(moved as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Looks up every source set, checking all their types before anything is computed (a WRONGTYPE
/// anywhere wins, even after a missing key, as in Redis). Returns each one's length, None when
/// missing. With `ctx`, each lookup counts as a hit or miss (a miss announced as `keymiss`): the
/// STORE forms read their sources as the plain forms do.
fn lookup_sources(
    locked: &mut Locked,
    db: usize,
    keys: &[&[u8]],
    ctx: Option<&Ctx>,
) -> Result<Vec<Option<usize>>, CmdError> {
    let mut lens = Vec::with_capacity(keys.len());
    for key in keys {
        let len = set_at(locked.table(db, key), key)?.map(|s| s.len());
        if let Some(ctx) = ctx {
            notify::count_lookup(ctx, len.is_some(), key);
        }
        lens.push(len);
    }
    Ok(lens)
}

fn source<'l>(locked: &'l mut Locked, db: usize, key: &[u8]) -> Option<&'l Set> {
    match locked.table(db, key).get(key) {
        Some(Entry { value: Value::Set(s), .. }) => Some(s),
        _ => None,
    }
}

/// The members of the intersection or difference, before they become a set. Each source is
/// visited once while the candidates, drawn from the smallest (or first) set, shrink.
fn filtered(op: Op, locked: &mut Locked, db: usize, keys: &[&[u8]], lens: &[Option<usize>]) -> Vec<Vec<u8>> {
    let start = match op {
        Op::Inter if lens.iter().any(Option::is_none) => return Vec::new(),
        Op::Inter => (0..keys.len()).min_by_key(|&i| lens[i]).unwrap_or(0),
        _ if lens[0].is_none() => return Vec::new(),
        _ => 0,
    };
    let Some(first) = source(locked, db, keys[start]) else { return Vec::new() };
    let mut acc: Vec<Vec<u8>> = first.iter().map(|m| m.into_owned()).collect();
    for (i, key) in keys.iter().enumerate() {
        if i == start || acc.is_empty() {
            continue;
        }
        match (op, source(locked, db, key)) {
            (Op::Inter, Some(s)) => acc.retain(|m| s.contains(m)),
            (Op::Diff, Some(s)) => acc.retain(|m| !s.contains(m)),
            _ => {}
        }
    }
    acc
}

/// The result of `op` over `keys` as a set built the way a new key's would be (so its
/// encoding is what Redis gives the stored result).
fn compute(op: Op, locked: &mut Locked, db: usize, keys: &[&[u8]], lens: &[Option<usize>], limits: &SetLimits) -> Set {
    let mut out = Set::new();
    if op == Op::Union {
        for key in keys {
            if let Some(s) = source(locked, db, key) {
                for m in s.iter() {
                    out.add(&m, limits);
                }
            }
        }
    } else {
        for m in filtered(op, locked, db, keys, lens) {
            out.add(&m, limits);
        }
    }
    out
}

fn algebra(ctx: &mut Ctx, args: &Args, op: Op) -> CmdResult {
    let db = ctx.client.db;
    let limits = limits(ctx);
    let keys: Vec<&[u8]> = args.tail(1).iter().collect();
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter().copied());
    let lens = lookup_sources(&mut locked, db, &keys, Some(ctx))?;
    let result = compute(op, &mut locked, db, &keys, &lens, &limits);
    drop(locked);
    reply_members(ctx.reply, &result);
    Ok(())
}

fn algebra_store(ctx: &mut Ctx, args: &Args, op: Op) -> CmdResult {
    let db = ctx.client.db;
    let limits = limits(ctx);
    let dst = args.get(1);
    let keys: Vec<&[u8]> = args.tail(2).iter().collect();
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter().copied().chain([dst]));
    let lens = lookup_sources(&mut locked, db, &keys, Some(ctx))?;
    let result = compute(op, &mut locked, db, &keys, &lens, &limits);
    let len = result.len();
    let table = locked.table(db, dst);
    // The destination is replaced whatever it held; an empty result only deletes it.
    let old = if result.is_empty() { table.remove(dst) } else { None };
    if !result.is_empty() {
        table.set(dst, Value::Set(Box::new(result)), 0);
    }
    drop(locked);
    // Redis answers before it announces the stored result, except that an intersection with a
    // missing set deletes the destination (and says so) before answering.
    let early_delete = op == Op::Inter && lens.iter().any(Option::is_none) && old.is_some();
    if early_delete {
        notify(ctx, class::GENERIC, "del", dst);
    }
    ctx.reply.int(len as i64);
    if !early_delete {
        if len > 0 {
            let event = match op {
                Op::Inter => "sinterstore",
                Op::Union => "sunionstore",
                Op::Diff => "sdiffstore",
            };
            notify(ctx, class::SET, event, dst);
        } else if old.is_some() {
            notify(ctx, class::GENERIC, "del", dst);
        }
    }
    drop(old);
    Ok(())
}

fn sinter(ctx: &mut Ctx, args: &Args) -> CmdResult {
    algebra(ctx, args, Op::Inter)
}

fn sunion(ctx: &mut Ctx, args: &Args) -> CmdResult {
    algebra(ctx, args, Op::Union)
}

fn sdiff(ctx: &mut Ctx, args: &Args) -> CmdResult {
    algebra(ctx, args, Op::Diff)
}

fn sinterstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    algebra_store(ctx, args, Op::Inter)
}

fn sunionstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    algebra_store(ctx, args, Op::Union)
}

fn sdiffstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    algebra_store(ctx, args, Op::Diff)
}

/// numkeys as SINTERCARD reads it: None unless it is at least 1.
fn numkeys(args: &Args) -> Option<usize> {
    roost_resp::parse_i64(args.get(1)).filter(|&n| n > 0).map(|n| n as usize)
}

/// SINTERCARD's key positions: the numkeys arguments after numkeys (none when it is invalid).
fn sintercard_keys(args: &Args) -> Vec<usize> {
    match numkeys(args) {
        Some(n) if n <= args.len().saturating_sub(2) => (2..2 + n).collect(),
        _ => Vec::new(),
    }
}

fn sintercard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = numkeys(args).ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    if n > args.len() - 2 {
        return Err(CmdError::msg("ERR Number of keys can't be greater than number of args"));
    }
    let mut limit = 0usize;
    let mut i = 2 + n;
    while i < args.len() {
        if is(args.get(i), "limit") && i + 1 < args.len() {
            limit = roost_resp::parse_i64(args.get(i + 1))
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))? as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let db = ctx.client.db;
    let keys: Vec<&[u8]> = (2..2 + n).map(|i| args.get(i)).collect();
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter().copied());
    let lens = lookup_sources(&mut locked, db, &keys, Some(ctx))?;
    let card = filtered(Op::Inter, &mut locked, db, &keys, &lens).len();
    drop(locked);
    ctx.reply.int(if limit > 0 { card.min(limit) } else { card } as i64);
    Ok(())
}

fn sscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(args.get(2)).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let set = set_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, set.is_some(), key);
    // A missing key answers before the options are read, as Redis's does.
    let Some(set) = set else {
        drop(shard);
        ctx.reply.array(2);
        ctx.reply.bulk(b"0");
        ctx.reply.array(0);
        return Ok(());
    };
    let ScanOptions { count, pattern, .. } = ScanOptions::parse(args, 3, false)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let budget = count.min(u32::MAX as i64) as usize;
    let next = set.scan(cursor, budget, |m| {
        if pattern.is_none_or(|p| glob::matches(p, &m, false)) {
            found.push(m.into_owned());
        }
    });
    drop(shard);
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(found.len());
    for m in &found {
        ctx.reply.bulk(m);
    }
    Ok(())
}

//! Sorted set commands: ZADD and the single-key reads and writes, the ZRANGE family (by rank,
//! score and lex, stored or not) and range removals. Pops, blocking pops, the set operations,
//! ZRANDMEMBER and ZSCAN are in `zset/more.rs`.
//!
//! Every range query becomes a range of ranks: the store counts the elements before a bound in
//! O(log n), so a score or lex range is two counts, then offsets and limits are arithmetic.

mod more;

pub use more::*;

use std::ffi::CString;

use roost_resp::{Args, ReplyBuf};
use roost_store::zset::{ZSet, ZSetLimits};
use roost_store::{Entry, Table, Value};

use super::{is, parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const READ_FAST: &[&str] = &["@read", "@sortedset", "@fast"];
const READ_SLOW: &[&str] = &["@read", "@sortedset", "@slow"];
const WRITE_FAST: &[&str] = &["@write", "@sortedset", "@fast"];
const WRITE_SLOW: &[&str] = &["@write", "@sortedset", "@slow"];

const ZSET: CommandSpec =
    CommandSpec { group: "sorted_set", since: "1.2.0", keys: Keys::Range { first: 1, last: 1, step: 1 }, ..BASE };
const ZREAD: CommandSpec = CommandSpec {
    flags: READONLY | FAST,
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    complexity: "O(log(N))",
    ..ZSET
};
const ZRANGE_BASE: CommandSpec = CommandSpec {
    arity: -4,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    complexity:
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
    ..ZSET
};
const ZREMRANGE: CommandSpec = CommandSpec {
    arity: 4,
    flags: WRITE,
    key_flags: &["RW", "DELETE"],
    acl: WRITE_SLOW,
    complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
    ..ZSET
};

pub const ZADD: CommandSpec = CommandSpec {
    name: "zadd",
    arity: -4,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Add one or more members to a sorted set, or update its score if it already exists",
    complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    run: zadd,
    ..ZSET
};
pub const ZINCRBY: CommandSpec = CommandSpec {
    name: "zincrby",
    arity: 4,
    key_flags: &["RW", "ACCESS", "UPDATE"],
    summary: "Increment the score of a member in a sorted set",
    complexity: "O(log(N)) where N is the number of elements in the sorted set.",
    run: zincrby,
    ..ZADD
};
pub const ZREM: CommandSpec = CommandSpec {
    name: "zrem",
    arity: -3,
    flags: WRITE | FAST,
    key_flags: &["RW", "DELETE"],
    acl: WRITE_FAST,
    summary: "Remove one or more members from a sorted set",
    complexity:
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
    run: zrem,
    ..ZSET
};
pub const ZCARD: CommandSpec = CommandSpec {
    name: "zcard",
    arity: 2,
    key_flags: &["RO"],
    summary: "Get the number of members in a sorted set",
    complexity: "O(1)",
    run: zcard,
    ..ZREAD
};
pub const ZSCORE: CommandSpec = CommandSpec {
    name: "zscore",
    arity: 3,
    summary: "Get the score associated with the given member in a sorted set",
    complexity: "O(1)",
    run: zscore,
    ..ZREAD
};
pub const ZMSCORE: CommandSpec = CommandSpec {
    name: "zmscore",
    arity: -3,
    since: "6.2.0",
    summary: "Get the score associated with the given members in a sorted set",
    complexity: "O(N) where N is the number of members being requested.",
    run: zmscore,
    ..ZREAD
};
pub const ZRANK: CommandSpec = CommandSpec {
    name: "zrank",
    arity: 3,
    since: "2.0.0",
    summary: "Determine the index of a member in a sorted set",
    run: zrank,
    ..ZREAD
};
pub const ZREVRANK: CommandSpec = CommandSpec {
    name: "zrevrank",
    summary: "Determine the index of a member in a sorted set, with scores ordered from high to low",
    run: zrevrank,
    ..ZRANK
};
pub const ZCOUNT: CommandSpec = CommandSpec {
    name: "zcount",
    arity: 4,
    since: "2.0.0",
    summary: "Count the members in a sorted set with scores within the given values",
    complexity: "O(log(N)) with N being the number of elements in the sorted set.",
    run: zcount,
    ..ZREAD
};
pub const ZLEXCOUNT: CommandSpec = CommandSpec {
    name: "zlexcount",
    since: "2.8.9",
    summary: "Count the number of members in a sorted set between a given lexicographical range",
    run: zlexcount,
    ..ZCOUNT
};
pub const ZRANGE: CommandSpec = CommandSpec {
    name: "zrange",
    summary: "Return a range of members in a sorted set",
    complexity:
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
    run: zrange,
    ..ZRANGE_BASE
};
pub const ZRANGESTORE: CommandSpec = CommandSpec {
    name: "zrangestore",
    arity: -5,
    flags: WRITE | DENYOOM,
    keys: Keys::Range { first: 1, last: 2, step: 1 },
    key_flags: &["OW", "UPDATE"],
    acl: WRITE_SLOW,
    since: "6.2.0",
    summary: "Store a range of members from sorted set into another key",
    complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
    run: zrangestore,
    ..ZSET
};
pub const ZRANGEBYSCORE: CommandSpec = CommandSpec {
    name: "zrangebyscore",
    since: "1.0.5",
    summary: "Return a range of members in a sorted set, by score",
    run: zrangebyscore,
    ..ZRANGE_BASE
};
pub const ZREVRANGEBYSCORE: CommandSpec = CommandSpec {
    name: "zrevrangebyscore",
    since: "2.2.0",
    summary: "Return a range of members in a sorted set, by score, with scores ordered from high to low",
    run: zrevrangebyscore,
    ..ZRANGE_BASE
};
pub const ZRANGEBYLEX: CommandSpec = CommandSpec {
    name: "zrangebylex",
    since: "2.8.9",
    summary: "Return a range of members in a sorted set, by lexicographical range",
    run: zrangebylex,
    ..ZRANGE_BASE
};
pub const ZREVRANGEBYLEX: CommandSpec = CommandSpec {
    name: "zrevrangebylex",
    since: "2.8.9",
    summary:
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
    run: zrevrangebylex,
    ..ZRANGE_BASE
};
pub const ZREVRANGE: CommandSpec = CommandSpec {
    name: "zrevrange",
    since: "1.2.0",
    summary: "Return a range of members in a sorted set, by index, with scores ordered from high to low",
    run: zrevrange,
    ..ZRANGE_BASE
};
pub const ZREMRANGEBYRANK: CommandSpec = CommandSpec {
    name: "zremrangebyrank",
    since: "2.0.0",
    summary: "Remove all members in a sorted set within the given indexes",
    run: zremrangebyrank,
    ..ZREMRANGE
};
pub const ZREMRANGEBYSCORE: CommandSpec = CommandSpec {
    name: "zremrangebyscore",
    summary: "Remove all members in a sorted set within the given scores",
    run: zremrangebyscore,
    ..ZREMRANGE
};
pub const ZREMRANGEBYLEX: CommandSpec = CommandSpec {
    name: "zremrangebylex",
    since: "2.8.9",
    summary: "Remove all members in a sorted set between the given lexicographical range",
    run: zremrangebylex,
    ..ZREMRANGE
};

// ---- shared helpers ----

/// The sorted set at `key`: None when absent, WRONGTYPE when it holds something else.
pub(crate) fn zset_at<'t>(table: &'t mut Table, key: &[u8]) -> Result<Option<&'t mut ZSet>, CmdError> {
    match table.touch(key) {
        None => Ok(None),
        Some(Entry { value: Value::ZSet(z), .. }) => Ok(Some(z)),
        Some(_) => Err(CmdError::WrongType),
    }
}

pub(crate) fn limits(ctx: &Ctx) -> ZSetLimits {
    ZSetLimits::from_config(&ctx.server.keyspace.limits)
}

/// Deletes `key` when its sorted set was emptied: Redis never keeps an empty one.
pub(crate) fn drop_if_empty(table: &mut Table, key: &[u8]) -> bool {
    if matches!(table.peek(key), Some(Entry { value: Value::ZSet(z), .. }) if z.is_empty()) {
        table.remove(key);
        return true;
    }
    false
}

/// Announces a removal from `key` under `event`, and the key's deletion when it emptied.
pub(crate) fn notify_removal(ctx: &mut Ctx, event: &str, key: &[u8], deleted: bool) {
    notify(ctx, class::ZSET, event, key);
    if deleted {
        notify(ctx, class::GENERIC, "del", key);
    }
}

/// Replaces `dst` with `items` (distinct members) built as Redis builds a stored result, or
/// deletes it when there are none. Returns how many were stored.
pub(crate) fn store(table: &mut Table, dst: &[u8], items: Vec<(Vec<u8>, f64)>, limits: &ZSetLimits) -> usize {
    let n = items.len();
    if n == 0 {
        table.remove(dst);
    } else {
        table.set(dst, Value::ZSet(Box::new(ZSet::from_entries(items, limits))), 0);
    }
    n
}

/// C's strtod over the whole argument: (value, bytes used, whether it over- or underflowed).
/// Redis reads scores with it, so hex ("0x10") and leading blanks parse as they do there.
pub(crate) fn strtod(arg: &[u8]) -> (f64, usize, bool) {
    let Ok(c) = CString::new(arg) else { return (0.0, 0, false) };
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; errno is this
    // thread's own.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(c.as_ptr(), &mut end);
        let erange = *libc::__errno_location() == libc::ERANGE;
        (v, end.offset_from(c.as_ptr()) as usize, erange)
    }
}

/// A score or increment argument, read as Redis's getDoubleFromObject reads it.
pub(crate) fn parse_score(arg: &[u8]) -> Result<f64, CmdError> {
    score_or(arg, CmdError::NotFloat)
}

pub(crate) fn score_or(arg: &[u8], err: CmdError) -> Result<f64, CmdError> {
    if arg.is_empty() || arg[0].is_ascii_whitespace() || arg[0] == 0x0b {
        return Err(err);
    }
    let (v, used, erange) = strtod(arg);
    if used != arg.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return Err(err);
    }
    Ok(v)
}

/// A score range of ZRANGEBYSCORE and friends: `(` makes a bound exclusive.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

fn score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, ex) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let (v, used, _) = strtod(text);
    (used == text.len() && !v.is_nan()).then_some((v, ex))
}

impl ScoreRange {
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        let err = || CmdError::msg("ERR min or max is not a float");
        let (min, minex) = score_bound(min).ok_or_else(err)?;
        let (max, maxex) = score_bound(max).ok_or_else(err)?;
        Ok(ScoreRange { min, minex, max, maxex })
    }

    /// The ranks `start..end` of the elements in range.
    pub(crate) fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let r = *self;
        let start = z.count_while(|s, _| if r.minex { s <= r.min } else { s < r.min });
        let end = z.count_while(|s, _| if r.maxex { s < r.max } else { s <= r.max });
        (start, end.max(start))
    }
}

#[derive(Clone, Debug)]
enum LexBound {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

/// A lex range of ZRANGEBYLEX and friends: `[x` inclusive, `(x` exclusive, `-` and `+` the
/// ends. Ranks assume what Redis assumes: every element has the same score.
#[derive(Clone, Debug)]
pub(crate) struct LexRange {
    min: LexBound,
    max: LexBound,
}

fn lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg {
        b"-" => Some(LexBound::Min),
        b"+" => Some(LexBound::Max),
        [b'(', rest @ ..] => Some(LexBound::Excl(rest.to_vec())),
        [b'[', rest @ ..] => Some(LexBound::Incl(rest.to_vec())),
        _ => None,
    }
}

impl LexRange {
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
        let err = || CmdError::msg("ERR min or max not valid string range item");
        Ok(LexRange { min: lex_bound(min).ok_or_else(err)?, max: lex_bound(max).ok_or_else(err)? })
    }

    /// Whether min lies above max (or on it with an exclusive end), whatever the members.
    fn empty_by_bounds(&self) -> bool {
        fn rank(b: &LexBound) -> (u8, &[u8]) {
            match b {
                LexBound::Min => (0, &[]),
                LexBound::Incl(x) | LexBound::Excl(x) => (1, x.as_slice()),
                LexBound::Max => (2, &[]),
            }
        }
        let exclusive = matches!(self.min, LexBound::Excl(_)) || matches!(self.max, LexBound::Excl(_));
        match rank(&self.min).cmp(&rank(&self.max)) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => {
                exclusive || matches!(self.min, LexBound::Max) || matches!(self.max, LexBound::Min)
            }
            std::cmp::Ordering::Less => false,
        }
    }

    fn above_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(x) => m >= x.as_slice(),
            LexBound::Excl(x) => m > x.as_slice(),
        }
    }

    fn below_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(x) => m <= x.as_slice(),
            LexBound::Excl(x) => m < x.as_slice(),
        }
    }

    /// The ranks in range, walked from the start (or from the end when `rev`). When members
    /// are not in lex order (mixed scores), Redis's answer depends on the direction of its
    /// walk: from the first member at or above min while members stay at or below max, or
    /// back from the last member at or below max while members stay at or above min. A
    /// listpack is walked the same way here so replies agree; a big set keeps the logarithmic
    /// search, which is exact whenever members are in lex order.
    pub(crate) fn ranks(&self, z: &ZSet, rev: bool) -> (usize, usize) {
        if z.encoding() == "listpack" {
            let items = z.range(0, z.len(), false);
            // Redis first rules out ranges that cannot hold anything: min above max, the last
            // member below min, or the first member above max.
            let possible = !self.empty_by_bounds()
                && items.last().is_some_and(|(m, _)| self.above_min(m))
                && items.first().is_some_and(|(m, _)| self.below_max(m));
            if !possible {
                return (0, 0);
            }
            return if rev {
                let hi = items.len() - items.iter().rev().take_while(|(m, _)| !self.below_max(m)).count();
                let lo = hi - items[..hi].iter().rev().take_while(|(m, _)| self.above_min(m)).count();
                (lo, hi)
            } else {
                let lo = items.iter().position(|(m, _)| self.above_min(m)).unwrap_or(items.len());
                let hi = lo + items[lo..].iter().take_while(|(m, _)| self.below_max(m)).count();
                (lo, hi)
            };
        }
        let len = z.len();
        let start = match &self.min {
            LexBound::Min => 0,
            LexBound::Max => len,
            LexBound::Incl(x) => z.count_while(|_, m| m < x.as_slice()),
            LexBound::Excl(x) => z.count_while(|_, m| m <= x.as_slice()),
        };
        let end = match &self.max {
            LexBound::Min => 0,
            LexBound::Max => len,
            LexBound::Incl(x) => z.count_while(|_, m| m <= x.as_slice()),
            LexBound::Excl(x) => z.count_while(|_, m| m < x.as_slice()),
        };
        (start, end.max(start))
    }
}

/// Redis's clamping of a rank range (negative from the end): the ranks `start..end`.
pub(crate) fn rank_range(start: i64, end: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    if start > end || start >= len {
        (0, 0)
    } else {
        (start as usize, end as usize + 1)
    }
}

/// Members, with their scores when asked: flat in RESP2 (scores as bulk strings), pairs in
/// RESP3 (scores as doubles).
pub(crate) fn reply_entries(reply: &mut ReplyBuf, items: &[(&[u8], f64)], withscores: bool) {
    if !withscores {
        reply.array(items.len());
        for (m, _) in items {
            reply.bulk(m);
        }
    } else if reply.resp3 {
        reply.array(items.len());
        for (m, s) in items {
            reply.array(2);
            reply.bulk(m);
            reply.double(*s);
        }
    } else {
        reply.array(items.len() * 2);
        for (m, s) in items {
            reply.bulk(m);
            reply.double(*s);
        }
    }
}

// ---- ZADD, ZINCRBY ----

#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

enum Added {
    New,
    Updated,
    /// Present with that score already.
    Same,
    /// Skipped by NX, XX, GT or LT.
    Nop,
}

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";

/// Redis's zsetAdd: one member under the flags; the outcome and the member's score after.
fn add_one(
    z: &mut ZSet,
    member: &[u8],
    score: f64,
    f: AddFlags,
    limits: &ZSetLimits,
) -> Result<(Added, f64), CmdError> {
    match z.score(member) {
        Some(_) if f.nx => Ok((Added::Nop, 0.0)),
        Some(cur) => {
            let new = if f.incr { score + cur } else { score };
            if new.is_nan() {
                return Err(CmdError::msg(NAN_ERR));
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok((Added::Nop, 0.0));
            }
            if new == cur {
                return Ok((Added::Same, new));
            }
            z.insert(member, new, limits);
            Ok((Added::Updated, new))
        }
        None if f.xx => Ok((Added::Nop, 0.0)),
        None => {
            z.insert(member, score, limits);
            Ok((Added::New, score))
        }
    }
}

fn zadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut f = AddFlags::default();
    let mut ch = false;
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        match () {
            _ if is(a, "nx") => f.nx = true,
            _ if is(a, "xx") => f.xx = true,
            _ if is(a, "gt") => f.gt = true,
            _ if is(a, "lt") => f.lt = true,
            _ if is(a, "ch") => ch = true,
            _ if is(a, "incr") => f.incr = true,
            _ => break,
        }
        i += 1;
    }
    let elements = args.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::msg("ERR XX and NX options at the same time are not compatible"));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::msg("ERR GT, LT, and/or NX options at the same time are not compatible"));
    }
    if f.incr && elements > 2 {
        return Err(CmdError::msg("ERR INCR option supports a single increment-element pair"));
    }
    let scores = (i..args.len()).step_by(2).map(|j| parse_score(args.get(j))).collect::<Result<Vec<f64>, _>>()?;
    let limits = limits(ctx);
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    if zset_at(table, key)?.is_none() {
        if f.xx {
            drop(shard);
            if f.incr {
                ctx.reply.null();
            } else {
                ctx.reply.int(0);
            }
            return Ok(());
        }
        table.set(key, Value::ZSet(Box::default()), 0);
    }
    let Some(z) = zset_at(table, key)? else { unreachable!("created above") };
    let (mut added, mut updated, mut last) = (0, 0, None);
    for (n, score) in scores.into_iter().enumerate() {
        let (outcome, new) = add_one(z, args.get(i + 2 * n + 1), score, f, &limits)?;
        match outcome {
            Added::New => added += 1,
            Added::Updated => updated += 1,
            Added::Same => {}
            Added::Nop => continue,
        }
        last = Some(new);
    }
    drop(shard);
    if f.incr {
        match last {
            Some(s) => ctx.reply.double(s),
            None => ctx.reply.null(),
        }
    } else {
        ctx.reply.int(if ch { added + updated } else { added });
    }
    // Redis answers before it announces the change.
    if added + updated > 0 {
        notify(ctx, class::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    Ok(())
}

fn zincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = parse_score(args.get(2))?;
    let limits = limits(ctx);
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    if zset_at(table, key)?.is_none() {
        table.set(key, Value::ZSet(Box::default()), 0);
    }
    let Some(z) = zset_at(table, key)? else { unreachable!("created above") };
    let f = AddFlags { incr: true, ..AddFlags::default() };
    let (_, new) = add_one(z, args.get(3), by, f, &limits)?;
    drop(shard);
    ctx.reply.double(new);
    notify(ctx, class::ZSET, "zincr", key);
    Ok(())
}

// ---- single-key reads and removals ----

fn zrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let mut removed = 0;
    let mut deleted = false;
    if let Some(z) = zset_at(table, key)? {
        for m in args.iter().skip(2) {
            removed += z.remove(m) as i64;
        }
        deleted = drop_if_empty(table, key);
    }
    drop(shard);
    if removed > 0 {
        notify_removal(ctx, "zrem", key, deleted);
    }
    ctx.reply.int(removed);
    Ok(())
}

/// Runs `f` on the sorted set at the key `args[1]` (None when absent), counting the lookup.
fn read<R>(ctx: &mut Ctx, args: &Args, f: impl FnOnce(Option<&mut ZSet>, &mut ReplyBuf) -> R) -> Result<R, CmdError> {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let z = zset_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, z.is_some(), key);
    Ok(f(z, ctx.reply))
}

fn zcard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    read(ctx, args, |z, r| r.int(z.map_or(0, |z| z.len()) as i64))
}

fn zscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    read(ctx, args, |z, r| match z.and_then(|z| z.score(args.get(2))) {
        Some(s) => r.double(s),
        None => r.null(),
    })
}

fn zmscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    read(ctx, args, |z, r| {
        r.array(args.len() - 2);
        for m in args.iter().skip(2) {
            match z.as_ref().and_then(|z| z.score(m)) {
                Some(s) => r.double(s),
                None => r.null(),
            }
        }
    })
}

fn rank_generic(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    read(ctx, args, |z, r| {
        let Some(z) = z else { return r.null() };
        match z.rank(args.get(2)) {
            Some((rank, _)) if rev => r.int((z.len() - 1 - rank) as i64),
            Some((rank, _)) => r.int(rank as i64),
            None => r.null(),
        }
    })
}

fn zrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rank_generic(ctx, args, true)
}

fn zcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let range = ScoreRange::parse(args.get(2), args.get(3))?;
    read(ctx, args, |z, r| {
        let (a, b) = z.map_or((0, 0), |z| range.ranks(z));
        r.int((b - a) as i64)
    })
}

fn zlexcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let range = LexRange::parse(args.get(2), args.get(3))?;
    read(ctx, args, |z, r| {
        let (a, b) = z.map_or((0, 0), |z| range.ranks(z, false));
        r.int((b - a) as i64)
    })
}

// ---- the ZRANGE family ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// A parsed range request, ready to meet its sorted set.
struct RangeQuery {
    by: By,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
    rank: (i64, i64),
    score: Option<ScoreRange>,
    lex: Option<LexRange>,
}

impl RangeQuery {
    /// Parses from the source key at `at`: min, max, then options. `by`/`rev` are fixed by the
    /// older commands (ZRANGEBYSCORE, ZREVRANGE ...) and chosen by options in ZRANGE.
    fn parse(args: &Args, at: usize, store: bool, by: Option<By>, rev: Option<bool>) -> Result<RangeQuery, CmdError> {
        let (mut by_opt, mut rev_opt) = (by, rev);
        let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
        let mut j = at + 3;
        while j < args.len() {
            let a = args.get(j);
            let left = args.len() - j - 1;
            if !store && is(a, "withscores") {
                withscores = true;
            } else if is(a, "limit") && left >= 2 {
                offset = parse_int(args.get(j + 1))?;
                limit = parse_int(args.get(j + 2))?;
                j += 2;
            } else if rev_opt.is_none() && is(a, "rev") {
                rev_opt = Some(true);
            } else if by_opt.is_none() && is(a, "bylex") {
                by_opt = Some(By::Lex);
            } else if by_opt.is_none() && is(a, "byscore") {
                by_opt = Some(By::Score);
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        let by = by_opt.unwrap_or(By::Rank);
        let rev = rev_opt.unwrap_or(false);
        if limit != -1 && by == By::Rank {
            return Err(CmdError::msg(
                "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
            ));
        }
        if withscores && by == By::Lex {
            return Err(CmdError::msg("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
        }
        // Reversed score and lex ranges are written max first.
        let (lo, hi) = if rev && by != By::Rank {
            (args.get(at + 2), args.get(at + 1))
        } else {
            (args.get(at + 1), args.get(at + 2))
        };
        let mut q = RangeQuery { by, rev, withscores, offset, limit, rank: (0, 0), score: None, lex: None };
        match by {
            By::Rank => q.rank = (parse_int(lo)?, parse_int(hi)?),
            By::Score => q.score = Some(ScoreRange::parse(lo, hi)?),
            By::Lex => q.lex = Some(LexRange::parse(lo, hi)?),
        }
        Ok(q)
    }

    /// The ranks to visit, as (start, end): walked upward, or downward from end - 1 when rev.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let len = z.len();
        let (lo, hi) = match self.by {
            By::Rank => {
                let (a, b) = rank_range(self.rank.0, self.rank.1, len);
                return if self.rev { (len - b, len - a) } else { (a, b) };
            }
            By::Score => self.score.as_ref().map_or((0, 0), |r| r.ranks(z)),
            By::Lex => self.lex.as_ref().map_or((0, 0), |r| r.ranks(z, self.rev)),
        };
        // A negative offset skips everything; a negative limit means no limit.
        if self.offset < 0 {
            return (0, 0);
        }
        let offset = self.offset as usize;
        let count = hi - lo;
        if offset >= count {
            return (0, 0);
        }
        let take = if self.limit < 0 { count - offset } else { (self.limit as usize).min(count - offset) };
        if self.rev {
            (hi - offset - take, hi - offset)
        } else {
            (lo + offset, lo + offset + take)
        }
    }
}

fn range_reply(ctx: &mut Ctx, args: &Args, by: Option<By>, rev: Option<bool>) -> CmdResult {
    let q = RangeQuery::parse(args, 1, false, by, rev)?;
    read(ctx, args, |z, r| {
        let Some(z) = z else { return r.array(0) };
        let (a, b) = q.ranks(z);
        reply_entries(r, &z.range(a, b, q.rev), q.withscores);
    })
}

fn zrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_reply(ctx, args, None, None)
}

fn zrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_reply(ctx, args, Some(By::Score), Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_reply(ctx, args, Some(By::Score), Some(true))
}

fn zrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_reply(ctx, args, Some(By::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_reply(ctx, args, Some(By::Lex), Some(true))
}

fn zrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_reply(ctx, args, Some(By::Rank), Some(true))
}

fn zrangestore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let q = RangeQuery::parse(args, 2, true, None, None)?;
    let limits = limits(ctx);
    let (dst, src) = (args.get(1), args.get(2));
    let db = ctx.client.db;
    let mut locked = ctx.server.keyspace.lock_keys([dst, src]);
    let found = zset_at(locked.table(db, src), src)?;
    notify::count_lookup(ctx, found.is_some(), src);
    let items: Vec<(Vec<u8>, f64)> = match found {
        Some(z) => {
            let (a, b) = q.ranks(z);
            z.range(a, b, q.rev).into_iter().map(|(m, s)| (m.to_vec(), s)).collect()
        }
        None => Vec::new(),
    };
    // Built element by element from a form chosen by the count, as Redis builds it: a member
    // too long converts midway, and a -0 inserted before that became 0 in the listpack.
    let n = items.len();
    let table = locked.table(db, dst);
    let mut deleted = false;
    if n == 0 {
        deleted = table.remove(dst).is_some();
    } else {
        let mut z = ZSet::for_size(n, &limits);
        for (m, s) in &items {
            z.insert(m, *s, &limits);
        }
        table.set(dst, Value::ZSet(Box::new(z)), 0);
    }
    drop(locked);
    ctx.reply.int(n as i64);
    if n > 0 {
        notify(ctx, class::ZSET, "zrangestore", dst);
    } else if deleted {
        notify(ctx, class::GENERIC, "del", dst);
    }
    Ok(())
}

// ---- range removals ----

fn remove_ranks(ctx: &mut Ctx, args: &Args, event: &str, ranks: impl FnOnce(&ZSet) -> (usize, usize)) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let mut removed = 0;
    let mut deleted = false;
    if let Some(z) = zset_at(table, key)? {
        let (a, b) = ranks(z);
        removed = z.remove_range(a, b);
        deleted = drop_if_empty(table, key);
    }
    drop(shard);
    if removed > 0 {
        notify_removal(ctx, event, key, deleted);
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (start, end) = (parse_int(args.get(2))?, parse_int(args.get(3))?);
    remove_ranks(ctx, args, "zremrangebyrank", |z| rank_range(start, end, z.len()))
}

fn zremrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let range = ScoreRange::parse(args.get(2), args.get(3))?;
    remove_ranks(ctx, args, "zremrangebyscore", |z| range.ranks(z))
}

fn zremrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let range = LexRange::parse(args.get(2), args.get(3))?;
    remove_ranks(ctx, args, "zremrangebylex", |z| range.ranks(z, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b"1.5"), Ok(1.5));
        assert_eq!(parse_score(b"0x10"), Ok(16.0));
        assert_eq!(parse_score(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_score(b" 1"), Err(CmdError::NotFloat));
        assert_eq!(parse_score(b"1 "), Err(CmdError::NotFloat));
        assert_eq!(parse_score(b"nan"), Err(CmdError::NotFloat));
        assert_eq!(parse_score(b"1e400"), Err(CmdError::NotFloat));
        assert_eq!(parse_score(b""), Err(CmdError::NotFloat));
        assert!(score_bound(b"").is_some());
        assert_eq!(score_bound(b"(1"), Some((1.0, true)));
        assert_eq!(score_bound(b" 2"), Some((2.0, false)));
        assert_eq!(score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(score_bound(b"2 "), None);
    }

    #[test]
    fn rank_ranges_clamp_like_redis() {
        assert_eq!(rank_range(0, -1, 3), (0, 3));
        assert_eq!(rank_range(-100, 100, 3), (0, 3));
        assert_eq!(rank_range(2, 1, 3), (0, 0));
        assert_eq!(rank_range(3, 5, 3), (0, 0));
        assert_eq!(rank_range(0, -1, 0), (0, 0));
    }
}

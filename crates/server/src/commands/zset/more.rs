//! Sorted set pops (ZPOPMIN/MAX, ZMPOP and their blocking forms), the set operations (ZUNION,
//! ZINTER, ZDIFF, their STORE forms, ZINTERCARD), ZRANDMEMBER and ZSCAN.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use roost_resp::{Args, ReplyBuf};
use roost_store::glob;
use roost_store::zset::{cmp_entry, ZSet};
use roost_store::{now_ms, Entry, Locked, Set, Value};

use super::{limits, reply_entries, score_or, store, zset_at, ZSET};
use crate::blocking::{parse_timeout, BlockRequest};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::commands::keys::{parse_cursor, ScanOptions};
use crate::commands::{is, parse_int, random_count};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const POP: CommandSpec = CommandSpec {
    arity: -2,
    flags: WRITE | FAST,
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: &["@write", "@sortedset", "@fast"],
    since: "5.0.0",
    complexity:
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
    ..ZSET
};
pub const ZPOPMIN: CommandSpec = CommandSpec {
    name: "zpopmin",
    summary: "Remove and return members with the lowest scores in a sorted set",
    run: zpopmin,
    ..POP
};
pub const ZPOPMAX: CommandSpec = CommandSpec {
    name: "zpopmax",
    summary: "Remove and return members with the highest scores in a sorted set",
    run: zpopmax,
    ..POP
};
pub const BZPOPMIN: CommandSpec = CommandSpec {
    name: "bzpopmin",
    arity: -3,
    flags: WRITE | NOSCRIPT | BLOCKING | FAST,
    keys: Keys::Range { first: 1, last: -2, step: 1 },
    acl: &["@write", "@sortedset", "@fast", "@blocking"],
    summary: "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
    complexity: "O(log(N)) with N being the number of elements in the sorted set.",
    run: bzpopmin,
    ..POP
};
pub const BZPOPMAX: CommandSpec = CommandSpec {
    name: "bzpopmax",
    summary: "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
    run: bzpopmax,
    ..BZPOPMIN
};
pub const ZMPOP: CommandSpec = CommandSpec {
    name: "zmpop",
    arity: -4,
    flags: WRITE | MOVABLEKEYS,
    keys: Keys::Custom(zmpop_keys),
    acl: &["@write", "@sortedset", "@slow"],
    since: "7.0.0",
    summary: "Remove and return members with scores in a sorted set",
    complexity: "O(K) + O(N*log(M)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
    run: zmpop,
    ..POP
};
pub const BZMPOP: CommandSpec = CommandSpec {
    name: "bzmpop",
    arity: -5,
    flags: WRITE | BLOCKING | MOVABLEKEYS,
    keys: Keys::Custom(bzmpop_keys),
    acl: &["@write", "@sortedset", "@slow", "@blocking"],
    summary: "Remove and return members with scores in a sorted set or block until one is available",
    run: bzmpop,
    ..ZMPOP
};

const SETOP: CommandSpec = CommandSpec {
    arity: -3,
    flags: READONLY | MOVABLEKEYS,
    keys: Keys::Custom(setop_keys),
    key_flags: &["RO", "ACCESS"],
    acl: &["@read", "@sortedset", "@slow"],
    since: "6.2.0",
    ..ZSET
};
const SETOP_STORE: CommandSpec = CommandSpec {
    arity: -4,
    flags: WRITE | DENYOOM | MOVABLEKEYS,
    keys: Keys::Custom(setop_store_keys),
    key_flags: &["OW", "UPDATE"],
    acl: &["@write", "@sortedset", "@slow"],
    ..ZSET
};
pub const ZUNION: CommandSpec = CommandSpec {
    name: "zunion",
    summary: "Add multiple sorted sets",
    complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
    run: zunion,
    ..SETOP
};
pub const ZINTER: CommandSpec = CommandSpec {
    name: "zinter",
    summary: "Intersect multiple sorted sets",
    complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
    run: zinter,
    ..SETOP
};
pub const ZDIFF: CommandSpec = CommandSpec {
    name: "zdiff",
    summary: "Subtract multiple sorted sets",
    complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
    run: zdiff,
    ..SETOP
};
pub const ZINTERCARD: CommandSpec = CommandSpec {
    name: "zintercard",
    since: "7.0.0",
    summary: "Intersect multiple sorted sets and return the cardinality of the result",
    complexity:
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
    run: zintercard,
    ..SETOP
};
pub const ZUNIONSTORE: CommandSpec = CommandSpec {
    name: "zunionstore",
    since: "2.0.0",
    summary: "Add multiple sorted sets and store the resulting sorted set in a new key",
    complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
    run: zunionstore,
    ..SETOP_STORE
};
pub const ZINTERSTORE: CommandSpec = CommandSpec {
    name: "zinterstore",
    since: "2.0.0",
    summary: "Intersect multiple sorted sets and store the resulting sorted set in a new key",
    complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
    run: zinterstore,
    ..SETOP_STORE
};
pub const ZDIFFSTORE: CommandSpec = CommandSpec {
    name: "zdiffstore",
    since: "6.2.0",
    summary: "Subtract multiple sorted sets and store the resulting sorted set in a new key",
    complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
    run: zdiffstore,
    ..SETOP_STORE
};
pub const ZRANDMEMBER: CommandSpec = CommandSpec {
    name: "zrandmember",
    arity: -2,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: &["@read", "@sortedset", "@slow"],
    since: "6.2.0",
    summary: "Get one or multiple random elements from a sorted set",
    complexity: "O(N) where N is the number of elements returned",
    run: zrandmember,
    ..ZSET
};
pub const ZSCAN: CommandSpec = CommandSpec {
    name: "zscan",
    arity: -3,
    since: "2.8.0",
    summary: "Incrementally iterate sorted sets elements and associated scores",
    complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    run: zscan,
    ..ZRANDMEMBER
};

// ---- key positions ----

/// numkeys at `at` when it is a usable count.
fn numkeys_at(args: &Args, at: usize) -> Option<usize> {
    roost_resp::parse_i64(args.get(at)).filter(|&n| n > 0).and_then(|n| usize::try_from(n).ok())
}

fn keys_after(args: &Args, at: usize) -> Vec<usize> {
    match numkeys_at(args, at) {
        Some(n) if n < args.len() - at => (at + 1..at + 1 + n).collect(),
        _ => Vec::new(),
    }
}

fn zmpop_keys(args: &Args) -> Vec<usize> {
    keys_after(args, 1)
}

fn bzmpop_keys(args: &Args) -> Vec<usize> {
    keys_after(args, 2)
}

fn setop_keys(args: &Args) -> Vec<usize> {
    keys_after(args, 1)
}

fn setop_store_keys(args: &Args) -> Vec<usize> {
    let mut keys = vec![1];
    keys.extend(keys_after(args, 2));
    keys
}

// ---- pops ----

/// Pops up to `count` elements from the low end (or high end when `max`) of the set at `key`,
/// deleting the key when it empties.
fn pop_from(locked: &mut Locked, db: usize, key: &[u8], count: usize, max: bool) -> (Vec<(Vec<u8>, f64)>, bool) {
    let table = locked.table(db, key);
    let Ok(Some(z)) = zset_at(table, key) else { return (Vec::new(), false) };
    let len = z.len();
    let n = count.min(len);
    let (a, b) = if max { (len - n, len) } else { (0, n) };
    let items: Vec<(Vec<u8>, f64)> = z.range(a, b, max).into_iter().map(|(m, s)| (m.to_vec(), s)).collect();
    z.remove_range(a, b);
    let deleted = super::drop_if_empty(table, key);
    (items, deleted)
}

/// Announces a pop from `key` (after the locks are released).
fn notify_pop(ctx: &mut Ctx, key: &[u8], max: bool, popped: usize, deleted: bool) {
    if popped > 0 {
        super::notify_removal(ctx, if max { "zpopmax" } else { "zpopmin" }, key, deleted);
    }
}

/// The first of `keys` holding a sorted set: WRONGTYPE if an earlier-present key holds another
/// type (for a blocked client trying again, such keys count as empty).
fn first_nonempty(ctx: &mut Ctx, locked: &mut Locked, keys: &[&[u8]]) -> Result<Option<usize>, CmdError> {
    let db = ctx.client.db;
    for (i, key) in keys.iter().enumerate() {
        match zset_at(locked.table(db, key), key) {
            Ok(Some(_)) => return Ok(Some(i)),
            Ok(None) => {}
            Err(_) if ctx.client.block_retry => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn pop_generic(ctx: &mut Ctx, args: &Args, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.len() {
        3 => Some(
            roost_resp::parse_i64(args.get(2))
                .filter(|&c| c >= 0)
                .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))? as usize,
        ),
        _ => None,
    };
    let key = args.get(1);
    let db = ctx.client.db;
    let mut locked = ctx.server.keyspace.lock_keys([key]);
    zset_at(locked.table(db, key), key)?;
    let (items, deleted) = pop_from(&mut locked, db, key, count.unwrap_or(1), max);
    drop(locked);
    notify_pop(ctx, key, max, items.len(), deleted);
    let refs: Vec<(&[u8], f64)> = items.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
    match count {
        // With a count, RESP3 gets pairs; without, one flat pair in both protocols.
        Some(_) => reply_entries(ctx.reply, &refs, true),
        None => {
            ctx.reply.array(refs.len() * 2);
            for (m, s) in refs {
                ctx.reply.bulk(m);
                ctx.reply.double(s);
            }
        }
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, true)
}

/// BZPOPMIN and BZPOPMAX: key [key ...] timeout, replying [key, member, score].
fn blocking_pop(ctx: &mut Ctx, args: &Args, max: bool) -> CmdResult {
    let deadline_ms = parse_timeout(args.get(args.len() - 1), now_ms())?;
    let keys: Vec<&[u8]> = args.iter().skip(1).take(args.len() - 2).collect();
    let db = ctx.client.db;
    let server = ctx.server.clone();
    let mut locked = server.keyspace.lock_keys(keys.iter().copied());
    match first_nonempty(ctx, &mut locked, &keys)? {
        Some(i) => {
            let (items, deleted) = pop_from(&mut locked, db, keys[i], 1, max);
            drop(locked);
            notify_pop(ctx, keys[i], max, items.len(), deleted);
            ctx.reply.array(3);
            ctx.reply.bulk(keys[i]);
            ctx.reply.bulk(&items[0].0);
            ctx.reply.double(items[0].1);
        }
        None => {
            drop(locked);
            ctx.client.block = Some(BlockRequest { keys: keys.iter().map(|k| k.to_vec()).collect(), deadline_ms });
        }
    }
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    blocking_pop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx, args: &Args) -> CmdResult {
    blocking_pop(ctx, args, true)
}

/// ZMPOP and BZMPOP from numkeys (at `at`) on; with a deadline, finding nothing blocks.
fn mpop(ctx: &mut Ctx, args: &Args, at: usize, deadline: Option<u64>) -> CmdResult {
    let numkeys = numkeys_at(args, at).ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let where_at = numkeys.checked_add(at + 1).filter(|&w| w < args.len()).ok_or(CmdError::Syntax)?;
    let max = match args.get(where_at) {
        w if is(w, "min") => false,
        w if is(w, "max") => true,
        _ => return Err(CmdError::Syntax),
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        if count.is_none() && is(args.get(i), "count") && i + 1 < args.len() {
            match roost_resp::parse_i64(args.get(i + 1)) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(CmdError::msg("ERR count should be greater than 0")),
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys: Vec<&[u8]> = (at + 1..at + 1 + numkeys).map(|i| args.get(i)).collect();
    let db = ctx.client.db;
    let server = ctx.server.clone();
    let mut locked = server.keyspace.lock_keys(keys.iter().copied());
    match first_nonempty(ctx, &mut locked, &keys)? {
        Some(k) => {
            let (items, deleted) = pop_from(&mut locked, db, keys[k], count.unwrap_or(1), max);
            drop(locked);
            notify_pop(ctx, keys[k], max, items.len(), deleted);
            let r = &mut *ctx.reply;
            r.array(2);
            r.bulk(keys[k]);
            // Always pairs, in both protocols.
            r.array(items.len());
            for (m, s) in &items {
                r.array(2);
                r.bulk(m);
                r.double(*s);
            }
        }
        None => {
            drop(locked);
            match deadline {
                Some(deadline_ms) => {
                    ctx.client.block =
                        Some(BlockRequest { keys: keys.iter().map(|k| k.to_vec()).collect(), deadline_ms })
                }
                None => ctx.reply.null_array(),
            }
        }
    }
    Ok(())
}

fn zmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mpop(ctx, args, 1, None)
}

fn bzmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let deadline_ms = parse_timeout(args.get(1), now_ms())?;
    mpop(ctx, args, 2, Some(deadline_ms))
}

// ---- set operations ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, acc: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *acc += v;
                // inf + -inf: Redis settles on 0.
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => *acc = if v < *acc { v } else { *acc },
            Aggregate::Max => *acc = if v > *acc { v } else { *acc },
        }
    }
}

/// A source of a set operation: a sorted set, or a plain set whose members score 1.
enum Src<'a> {
    Z(&'a ZSet),
    S(&'a Set),
}

impl Src<'_> {
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::Z(z) => z.iter().for_each(|(m, s)| f(&m, s)),
            Src::S(s) => s.iter().for_each(|m| f(&m, 1.0)),
        }
    }
}

/// Runs `f` on the source at `key` (None when absent). Types were checked before.
fn with_src<R>(locked: &mut Locked, db: usize, key: &[u8], f: impl FnOnce(Option<Src>) -> R) -> R {
    match locked.table(db, key).get(key) {
        Some(Entry { value: Value::ZSet(z), .. }) => f(Some(Src::Z(z))),
        Some(Entry { value: Value::Set(s), .. }) => f(Some(Src::S(s))),
        _ => f(None),
    }
}

/// Locks the sources named by the request (plus whatever else the command needs) and
/// returns each one's size.
type LockSources<'a, 'f> = dyn FnMut(&[&'a [u8]]) -> Result<Vec<Option<usize>>, CmdError> + 'f;

/// A parsed ZUNION/ZINTER/ZDIFF (or STORE, or ZINTERCARD) request.
struct SetOp<'a> {
    keys: Vec<&'a [u8]>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

/// Reads numkeys at `at`, the keys (checking their types first, as Redis does), then the
/// options this command accepts. `lens` gets each source's size (None when absent).
fn parse_setop<'a>(
    locked_keys: &mut LockSources<'a, '_>,
    args: &'a Args,
    at: usize,
    op: Op,
    store: bool,
    card: bool,
) -> Result<(SetOp<'a>, Vec<Option<usize>>), CmdError> {
    let n = parse_int(args.get(at))?;
    if n < 1 {
        let name = String::from_utf8_lossy(args.get(0)).to_ascii_lowercase();
        return Err(CmdError::msg(format!("ERR at least 1 input key is needed for '{name}' command")));
    }
    if n as u64 > (args.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let n = n as usize;
    let keys: Vec<&[u8]> = (at + 1..at + 1 + n).map(|i| args.get(i)).collect();
    let lens = locked_keys(&keys)?;
    let mut q = SetOp { keys, weights: vec![1.0; n], aggregate: Aggregate::Sum, withscores: false, limit: 0 };
    let mut j = at + 1 + n;
    while j < args.len() {
        let a = args.get(j);
        let left = args.len() - j;
        if op != Op::Diff && !card && left > n && is(a, "weights") {
            for w in 0..n {
                q.weights[w] = score_or(args.get(j + 1 + w), CmdError::msg("ERR weight value is not a float"))?;
            }
            j += n + 1;
        } else if op != Op::Diff && !card && left >= 2 && is(a, "aggregate") {
            let v = args.get(j + 1);
            q.aggregate = match () {
                _ if is(v, "sum") => Aggregate::Sum,
                _ if is(v, "min") => Aggregate::Min,
                _ if is(v, "max") => Aggregate::Max,
                _ => return Err(CmdError::Syntax),
            };
            j += 2;
        } else if !store && !card && is(a, "withscores") {
            q.withscores = true;
            j += 1;
        } else if card && left >= 2 && is(a, "limit") {
            q.limit = roost_resp::parse_i64(args.get(j + 1))
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::msg("ERR LIMIT can't be negative"))? as usize;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((q, lens))
}

/// Each key's size, WRONGTYPE for anything but a sorted set or a set.
fn source_lens(locked: &mut Locked, db: usize, keys: &[&[u8]]) -> Result<Vec<Option<usize>>, CmdError> {
    let mut lens = Vec::with_capacity(keys.len());
    for key in keys {
        let len = match locked.table(db, key).get(key) {
            None => None,
            Some(Entry { value: Value::ZSet(z), .. }) => Some(z.len()),
            Some(Entry { value: Value::Set(s), .. }) => Some(s.len()),
            Some(_) => return Err(CmdError::WrongType),
        };
        lens.push(len);
    }
    Ok(lens)
}

/// Weighted scores are products; inf * 0 counts as 0, as in Redis.
fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// The result of the operation, unordered, members distinct. `stop_at` (ZINTERCARD's limit)
/// ends an intersection early.
fn compute(
    locked: &mut Locked,
    db: usize,
    q: &SetOp,
    lens: &[Option<usize>],
    op: Op,
    stop_at: usize,
) -> Vec<(Vec<u8>, f64)> {
    // Smallest first, as Redis orders the sources of a union or intersection.
    let mut order: Vec<usize> = (0..q.keys.len()).collect();
    if op != Op::Diff {
        order.sort_by_key(|&i| lens[i].unwrap_or(0));
    }
    match op {
        Op::Union => {
            let mut acc: HashMap<Vec<u8>, f64, RandomState> = HashMap::default();
            for &i in &order {
                let w = q.weights[i];
                with_src(locked, db, q.keys[i], |src| {
                    if let Some(src) = src {
                        src.each(|m, s| {
                            let v = weighted(w, s);
                            match acc.get_mut(m) {
                                Some(a) => q.aggregate.apply(a, v),
                                None => {
                                    acc.insert(m.to_vec(), v);
                                }
                            }
                        })
                    }
                });
            }
            acc.into_iter().collect()
        }
        Op::Inter => {
            if order.iter().any(|&i| lens[i].is_none_or(|l| l == 0)) {
                return Vec::new();
            }
            let first = order[0];
            let w = q.weights[first];
            let mut acc: Vec<(Vec<u8>, f64)> = with_src(locked, db, q.keys[first], |src| {
                let mut v = Vec::new();
                if let Some(src) = src {
                    src.each(|m, s| v.push((m.to_vec(), weighted(w, s))));
                }
                v
            });
            for &i in &order[1..] {
                let w = q.weights[i];
                with_src(locked, db, q.keys[i], |src| {
                    let Some(src) = src else { return acc.clear() };
                    acc.retain_mut(|(m, a)| match src.score(m) {
                        Some(s) => {
                            q.aggregate.apply(a, weighted(w, s));
                            true
                        }
                        None => false,
                    });
                });
            }
            if stop_at > 0 {
                acc.truncate(stop_at);
            }
            acc
        }
        Op::Diff => {
            let mut acc: Vec<(Vec<u8>, f64)> = with_src(locked, db, q.keys[0], |src| {
                let mut v = Vec::new();
                if let Some(src) = src {
                    src.each(|m, s| v.push((m.to_vec(), s)));
                }
                v
            });
            for key in &q.keys[1..] {
                if acc.is_empty() {
                    break;
                }
                with_src(locked, db, key, |src| {
                    if let Some(src) = src {
                        acc.retain(|(m, _)| src.score(m).is_none());
                    }
                });
            }
            acc
        }
    }
}

fn setop(ctx: &mut Ctx, args: &Args, op: Op) -> CmdResult {
    let db = ctx.client.db;
    let server = ctx.server.clone();
    let mut locked = None;
    let mut lock = |keys: &[&[u8]]| {
        let mut l = server.keyspace.lock_keys(keys.iter().copied());
        let lens = source_lens(&mut l, db, keys);
        locked = Some(l);
        lens
    };
    let (q, lens) = parse_setop(&mut lock, args, 1, op, false, false)?;
    let mut locked = locked.expect("locked while parsing");
    for (l, key) in lens.iter().zip(&q.keys) {
        notify::count_lookup(ctx, l.is_some(), key);
    }
    let mut items = compute(&mut locked, db, &q, &lens, op, 0);
    drop(locked);
    items.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    let refs: Vec<(&[u8], f64)> = items.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
    reply_entries(ctx.reply, &refs, q.withscores);
    Ok(())
}

fn setop_store(ctx: &mut Ctx, args: &Args, op: Op) -> CmdResult {
    let db = ctx.client.db;
    let limits = limits(ctx);
    let dst = args.get(1);
    let server = ctx.server.clone();
    let mut locked = None;
    let mut lock = |keys: &[&[u8]]| {
        let mut l = server.keyspace.lock_keys(keys.iter().copied().chain([dst]));
        let lens = source_lens(&mut l, db, keys);
        locked = Some(l);
        lens
    };
    let (q, lens) = parse_setop(&mut lock, args, 2, op, true, false)?;
    let mut locked = locked.expect("locked while parsing");
    for (l, key) in lens.iter().zip(&q.keys) {
        notify::count_lookup(ctx, l.is_some(), key);
    }
    let items = compute(&mut locked, db, &q, &lens, op, 0);
    let existed = locked.table(db, dst).contains(dst);
    let n = store(locked.table(db, dst), dst, items, &limits);
    drop(locked);
    // Redis answers before it announces the stored result.
    ctx.reply.int(n as i64);
    if n > 0 {
        let event = match op {
            Op::Union => "zunionstore",
            Op::Inter => "zinterstore",
            Op::Diff => "zdiffstore",
        };
        notify(ctx, class::ZSET, event, dst);
    } else if existed {
        notify(ctx, class::GENERIC, "del", dst);
    }
    Ok(())
}

fn zunion(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop(ctx, args, Op::Union)
}

fn zinter(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop(ctx, args, Op::Inter)
}

fn zdiff(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop(ctx, args, Op::Diff)
}

fn zunionstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop_store(ctx, args, Op::Union)
}

fn zinterstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop_store(ctx, args, Op::Inter)
}

fn zdiffstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop_store(ctx, args, Op::Diff)
}

fn zintercard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let server = ctx.server.clone();
    let mut locked = None;
    let mut lock = |keys: &[&[u8]]| {
        let mut l = server.keyspace.lock_keys(keys.iter().copied());
        let lens = source_lens(&mut l, db, keys);
        locked = Some(l);
        lens
    };
    let (q, lens) = parse_setop(&mut lock, args, 1, Op::Inter, false, true)?;
    let mut locked = locked.expect("locked while parsing");
    for (l, key) in lens.iter().zip(&q.keys) {
        notify::count_lookup(ctx, l.is_some(), key);
    }
    let n = compute(&mut locked, db, &q, &lens, Op::Inter, q.limit).len();
    drop(locked);
    ctx.reply.int(n as i64);
    Ok(())
}

// ---- ZRANDMEMBER, ZSCAN ----

fn reply_pick(reply: &mut ReplyBuf, m: &[u8], s: f64, withscores: bool) {
    if withscores && reply.resp3 {
        reply.array(2);
    }
    reply.bulk(m);
    if withscores {
        reply.double(s);
    }
}

fn picks_header(reply: &mut ReplyBuf, n: usize, withscores: bool) {
    reply.array(if withscores && !reply.resp3 { n * 2 } else { n });
}

fn zrandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    if args.len() == 2 {
        let mut shard = ctx.server.keyspace.lock_key(key);
        let z = zset_at(shard.db(ctx.client.db), key)?;
        notify::count_lookup(ctx, z.is_some(), key);
        match z {
            Some(z) => {
                let i = (ctx.rng.next_u64() % z.len() as u64) as usize;
                ctx.reply.bulk(&z.get_index(i).0);
            }
            None => ctx.reply.null(),
        }
        return Ok(());
    }
    let (count, withscores) = random_count(args, "withscores")?;
    let mut shard = ctx.server.keyspace.lock_key(key);
    let z = zset_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, z.is_some(), key);
    let Some(z) = z.filter(|_| count != 0) else {
        ctx.reply.array(0);
        return Ok(());
    };
    let size = z.len();
    let reply = &mut *ctx.reply;
    let rng = &mut *ctx.rng;
    if count < 0 || count == 1 {
        // Independent draws: repetitions allowed.
        let n = count.unsigned_abs() as usize;
        picks_header(reply, n, withscores);
        for _ in 0..n {
            let (m, s) = z.get_index((rng.next_u64() % size as u64) as usize);
            reply_pick(reply, &m, s, withscores);
        }
    } else if count as usize >= size {
        picks_header(reply, size, withscores);
        for (m, s) in z.iter() {
            reply_pick(reply, &m, s, withscores);
        }
    } else {
        // Distinct picks: a partial shuffle of the positions.
        let n = count as usize;
        picks_header(reply, n, withscores);
        let mut positions: Vec<usize> = (0..size).collect();
        for k in 0..n {
            let j = k + (rng.next_u64() % (size - k) as u64) as usize;
            positions.swap(k, j);
            let (m, s) = z.get_index(positions[k]);
            reply_pick(reply, &m, s, withscores);
        }
    }
    Ok(())
}

fn zscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(args.get(2)).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let z = zset_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, z.is_some(), key);
    // An absent key answers before the options are read, as in Redis.
    let Some(z) = z else {
        drop(shard);
        ctx.reply.array(2);
        ctx.reply.bulk(b"0");
        ctx.reply.array(0);
        return Ok(());
    };
    let ScanOptions { count, pattern, .. } = ScanOptions::parse(args, 3, false)?;
    // Scores go out as bulk strings in both protocols, as Redis's ZSCAN sends them.
    let mut body = ReplyBuf { out: Vec::new(), resp3: ctx.reply.resp3 };
    let mut found = 0;
    let mut text = Vec::with_capacity(32);
    let next = z.scan(cursor, count.min(u32::MAX as i64) as usize, |m, s| {
        if pattern.is_none_or(|p| glob::matches(p, m, false)) {
            body.bulk(m);
            text.clear();
            roost_resp::format_double(s, &mut text);
            body.bulk(&text);
            found += 2;
        }
    });
    drop(shard);
    ctx.reply.array(2);
    ctx.reply.bulk_int(next as i64);
    ctx.reply.array(found);
    ctx.reply.out.extend_from_slice(&body.out);
    Ok(())
}

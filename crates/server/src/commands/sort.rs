//! SORT and SORT_RO: sort a list, set or sorted set by its elements or by values found through
//! BY patterns, optionally fetch other keys per element (GET), and return or STORE the result.
//!
//! Locking: the sorted key's shard is locked only while its elements are copied out. Each key a
//! BY or GET pattern names lives in whatever shard it hashes to, so each is then read under its
//! own short lock, and the destination of STORE is locked last on its own. No two shard locks
//! are ever held together. The price is that SORT is not atomic across its pattern keys: a
//! write to a weight or GET key can land between two lookups of one SORT (Redis, single
//! threaded, sees them all at one instant).

use std::cmp::Ordering;

use roost_resp::Args;
use roost_store::list::End;
use roost_store::{EncodingLimits, List, Value};

use super::zset::strtod;
use super::{is, parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const SORT_BASE: CommandSpec = CommandSpec {
    arity: -2,
    key_flags: &["RO", "ACCESS"],
    summary: "Sort the elements in a list, set or sorted set",
    complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
    ..BASE
};

pub const SORT: CommandSpec = CommandSpec {
    name: "sort",
    flags: WRITE | DENYOOM | MOVABLEKEYS,
    // The destination of STORE can be anywhere among the options, so keys are found by parsing.
    keys: Keys::Custom(sort_keys),
    acl: &["@write", "@set", "@sortedset", "@list", "@slow", "@dangerous"],
    run: sort,
    ..SORT_BASE
};

pub const SORT_RO: CommandSpec = CommandSpec {
    name: "sort_ro",
    flags: READONLY | MOVABLEKEYS,
    keys: Keys::Range { first: 1, last: 1, step: 1 },
    acl: &["@read", "@set", "@sortedset", "@list", "@slow", "@dangerous"],
    since: "7.0.0",
    summary: "Returns the sorted elements of a list, a set, or a sorted set.",
    run: sort_ro,
    ..SORT_BASE
};

/// The sorted key and, when STORE is given, its destination. Walks the options the way Redis's
/// sortGetKeys does: LIMIT, GET and BY arguments are skipped so that a pattern or count spelled
/// "store" is not mistaken for the option; the last STORE wins, as it does when the command runs.
fn sort_keys(args: &Args) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if is(a, "limit") {
            i += 2;
        } else if is(a, "get") || is(a, "by") {
            i += 1;
        } else if is(a, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

struct Options<'a> {
    desc: bool,
    alpha: bool,
    offset: i64,
    count: i64,
    by: Option<&'a [u8]>,
    /// BY named a pattern without `*` (e.g. `nosort`): keep the natural order. Once set it stays
    /// set even if a later BY has a `*`, as in Redis, where the later pattern only replaces the
    /// one kept for lookups.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse_options<'a>(args: &Args<'a>, readonly: bool) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        desc: false,
        alpha: false,
        offset: 0,
        count: -1,
        by: None,
        dontsort: false,
        gets: vec![],
        store: None,
    };
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        let left = args.len() - i - 1;
        if is(a, "asc") {
            o.desc = false;
        } else if is(a, "desc") {
            o.desc = true;
        } else if is(a, "alpha") {
            o.alpha = true;
        } else if is(a, "limit") && left >= 2 {
            o.offset = parse_int(args.get(i + 1))?;
            o.count = parse_int(args.get(i + 2))?;
            i += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            o.store = Some(args.get(i + 1));
            i += 1;
        } else if is(a, "by") && left >= 1 {
            let pattern = args.get(i + 1);
            o.by = Some(pattern);
            // Redis looks for '*' with strchr, which stops at the first NUL byte.
            if !c_str(pattern).contains(&b'*') {
                o.dontsort = true;
            }
            i += 1;
        } else if is(a, "get") && left >= 1 {
            o.gets.push(args.get(i + 1));
            i += 1;
        } else {
            // SORT_RO lands here for STORE too: Redis answers it with a plain syntax error.
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// The part of `b` a C string function sees: everything before the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// What the sorted key held, copied out so that its shard can be released.
struct Source {
    kind: Kind,
    len: usize,
    elems: Vec<Vec<u8>>,
    /// `elems` is already the requested window, in output order.
    windowed: bool,
}

/// Redis's LIMIT arithmetic: the inclusive window [start, end] of the sorted vector, empty when
/// end < start (end is then always start - 1).
fn window(offset: i64, count: i64, len: usize) -> (i64, i64) {
    let len = len as i64;
    let mut start = offset.max(0);
    let mut end = if count < 0 { len - 1 } else { start.saturating_add(count) - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

/// Copies out the elements of `key`. With nothing to sort on a list or sorted set only the
/// window is taken, walking from the tail for DESC, which is what Redis does too.
fn load(ctx: &Ctx, key: &[u8], dontsort: bool, desc: bool, offset: i64, count: i64) -> Result<Source, CmdError> {
    let server = ctx.server;
    let mut shard = server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let entry = table.touch(key);
    notify::count_lookup(ctx, entry.is_some(), key);
    let Some(entry) = entry else {
        // A missing key sorts as an empty list.
        return Ok(Source { kind: Kind::List, len: 0, elems: vec![], windowed: false });
    };
    let source = match &entry.value {
        Value::List(l) => {
            let len = l.len();
            let (start, end) = window(offset, count, len);
            if dontsort {
                let elems = if end >= start {
                    let n = (end - start + 1) as usize;
                    if desc {
                        let first = len - 1 - end as usize;
                        let mut v: Vec<Vec<u8>> = l.iter().skip(first).take(n).map(|e| e.into_owned()).collect();
                        v.reverse();
                        v
                    } else {
                        l.iter().skip(start as usize).take(n).map(|e| e.into_owned()).collect()
                    }
                } else {
                    vec![]
                };
                Source { kind: Kind::List, len, elems, windowed: true }
            } else {
                Source { kind: Kind::List, len, elems: l.iter().map(|e| e.into_owned()).collect(), windowed: false }
            }
        }
        Value::Set(s) => {
            Source { kind: Kind::Set, len: s.len(), elems: s.iter().map(|e| e.into_owned()).collect(), windowed: false }
        }
        Value::ZSet(z) => {
            let len = z.len();
            if dontsort {
                let (start, end) = window(offset, count, len);
                let elems = if end >= start {
                    let (start, end) = (start as usize, end as usize);
                    // Score order (or its reverse), only the ranks the window asks for.
                    let (lo, hi) = if desc { (len - 1 - end, len - start) } else { (start, end + 1) };
                    z.range(lo, hi, desc).into_iter().map(|(m, _)| m.to_vec()).collect()
                } else {
                    vec![]
                };
                Source { kind: Kind::ZSet, len, elems, windowed: true }
            } else {
                Source {
                    kind: Kind::ZSet,
                    len,
                    elems: z.iter().map(|(m, _)| m.into_owned()).collect(),
                    windowed: false,
                }
            }
        }
        Value::Str(_) | Value::Hash(_) | Value::Stream(_) => return Err(CmdError::WrongType),
    };
    Ok(source)
}

/// The value a BY or GET pattern names for `elem`: `#` is the element itself; otherwise the
/// first `*` is replaced by the element, and a `->field` after it reads that hash field instead
/// of a string. Missing keys, other types and patterns without `*` give None.
fn lookup(ctx: &Ctx, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    // Redis tests the pattern with C string functions, so only the bytes before a NUL count
    // when looking for '#', '*' and "->"; the rest is still copied into the key or field.
    let c = c_str(pattern);
    if c == b"#" {
        return Some(elem.to_vec());
    }
    let star = c.iter().position(|&b| b == b'*')?;
    let arrow = c[star + 1..].windows(2).position(|w| w == b"->").map(|p| star + 1 + p);
    let (postfix, field) = match arrow {
        // "->" at the very end names no field: it is then part of the key.
        Some(f) if f + 2 < c.len() => (&pattern[star + 1..f], Some(&pattern[f + 2..])),
        _ => (&pattern[star + 1..], None),
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);

    let mut shard = ctx.server.keyspace.lock_key(&key);
    let entry = shard.db(ctx.client.db).touch(&key);
    notify::count_lookup(ctx, entry.is_some(), &key);
    let mut scratch = [0u8; 20];
    match (&entry?.value, field) {
        (Value::Hash(h), Some(f)) => h.get(f, &mut scratch).map(|v| v.to_vec()),
        (Value::Str(s), None) => Some(s.to_vec()),
        _ => None,
    }
}

/// Reads a weight as Redis's SORT does: strtod over the bytes before any NUL, which must all be
/// used (leading blanks are fine, an empty string is 0); NaN and over- or underflow are errors.
fn weight(b: &[u8]) -> Option<f64> {
    let c = c_str(b);
    if c.is_empty() {
        return Some(0.0);
    }
    let (v, used, erange) = strtod(c);
    (used == c.len() && !erange && !v.is_nan()).then_some(v)
}

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// Sorts `elems` in place as Redis's sortCompare orders them.
fn sort_elems(ctx: &Ctx, elems: Vec<Vec<u8>>, o: &Options<'_>) -> Result<Vec<Vec<u8>>, CmdError> {
    let order = |c: Ordering| if o.desc { c.reverse() } else { c };
    if o.alpha {
        match o.by {
            Some(by) => {
                // Elements without a weight go first; equal weights keep their loaded order (a
                // stable sort, as glibc's qsort is for Redis here).
                let mut keyed: Vec<(Option<Vec<u8>>, Vec<u8>)> =
                    elems.into_iter().map(|e| (lookup(ctx, by, &e), e)).collect();
                keyed.sort_by(|a, b| order(a.0.cmp(&b.0)));
                Ok(keyed.into_iter().map(|(_, e)| e).collect())
            }
            None => {
                let mut elems = elems;
                elems.sort_by(|a, b| order(a.cmp(b)));
                Ok(elems)
            }
        }
    } else {
        let mut keyed = Vec::with_capacity(elems.len());
        for e in elems {
            let score = match o.by {
                // A missing weight key is a weight of 0, not an error.
                Some(by) => match lookup(ctx, by, &e) {
                    Some(v) => weight(&v),
                    None => Some(0.0),
                },
                None => weight(&e),
            };
            keyed.push((score.ok_or_else(|| CmdError::msg(NOT_DOUBLE))?, e));
        }
        // Equal scores fall back to the elements' bytes so the result is fully determined;
        // DESC reverses that tie-break too.
        keyed.sort_by(|a, b| order(a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal).then_with(|| a.1.cmp(&b.1))));
        Ok(keyed.into_iter().map(|(_, e)| e).collect())
    }
}

fn sort(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sort_generic(ctx, args, true)
}

fn sort_generic(ctx: &mut Ctx, args: &Args, readonly: bool) -> CmdResult {
    let mut o = parse_options(args, readonly)?;
    let db = ctx.client.db;
    let src = load(ctx, args.get(1), o.dontsort, o.desc, o.offset, o.count)?;
    let mut elems = src.elems;
    if o.dontsort && src.kind == Kind::Set && o.store.is_some() {
        // A set's own order is arbitrary; what is stored must not depend on it (replicas and
        // the AOF replay the result), so Redis sorts it by its bytes instead.
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    if !o.dontsort {
        elems = sort_elems(ctx, elems, &o)?;
    }
    let selected: &[Vec<u8>] = if src.windowed {
        &elems
    } else {
        let (start, end) = window(o.offset, o.count, src.len);
        if end >= start {
            &elems[start as usize..=end as usize]
        } else {
            &[]
        }
    };

    match o.store {
        None => {
            let per = o.gets.len().max(1);
            ctx.reply.array(selected.len() * per);
            for e in selected {
                if o.gets.is_empty() {
                    ctx.reply.bulk(e);
                }
                for &g in &o.gets {
                    match lookup(ctx, g, e) {
                        Some(v) => ctx.reply.bulk(&v),
                        None => ctx.reply.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut out: Vec<Vec<u8>> = Vec::with_capacity(selected.len() * o.gets.len().max(1));
            for e in selected {
                if o.gets.is_empty() {
                    out.push(e.clone());
                }
                for &g in &o.gets {
                    // A list can't hold a nil: a missing value is stored as an empty string.
                    out.push(lookup(ctx, g, e).unwrap_or_default());
                }
            }
            let fill = EncodingLimits::get(&ctx.server.keyspace.limits.list_max_listpack_size);
            let mut shard = ctx.server.keyspace.lock_key(dst);
            let table = shard.db(db);
            // The destination is replaced whatever it held (its TTL too); an empty result only
            // deletes it. A replaced key is overwritten in place rather than deleted and added
            // again, so it is not announced as a new key; the old value is freed after unlocking.
            let old = if out.is_empty() {
                table.remove(dst).map(|e| e.value)
            } else {
                let mut list = List::with_compress_depth(0);
                for v in &out {
                    list.push(End::Tail, v, fill);
                }
                let list = Value::List(Box::new(list));
                match table.get(dst) {
                    Some(e) => {
                        let old = std::mem::replace(&mut e.value, list);
                        table.set_expire(dst, 0);
                        Some(old)
                    }
                    None => {
                        table.set(dst, list, 0);
                        None
                    }
                }
            };
            drop(shard);
            if !out.is_empty() {
                notify(ctx, class::LIST, "sortstore", dst);
            } else if old.is_some() {
                notify(ctx, class::GENERIC, "del", dst);
            }
            drop(old);
            ctx.reply.int(out.len() as i64);
        }
    }
    Ok(())
}

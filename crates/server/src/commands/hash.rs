//! Hash commands: HSET and friends, counters, whole-hash reads, HRANDFIELD, HSCAN.

use roost_resp::{int_digits, parse_i64, Args, ReplyBuf};
use roost_store::glob;
use roost_store::hash::{Hash, HashLimits};
use roost_store::{Entry, Table, Value};

use super::keys::{parse_cursor, ScanOptions};
use super::string::add_long_double;
use super::{parse_int, random_count, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const READ_FAST: &[&str] = &["@read", "@hash", "@fast"];
const READ_SLOW: &[&str] = &["@read", "@hash", "@slow"];
const WRITE_FAST: &[&str] = &["@write", "@hash", "@fast"];

const HASH: CommandSpec =
    CommandSpec { group: "hash", since: "2.0.0", keys: Keys::Range { first: 1, last: 1, step: 1 }, ..BASE };

pub const HSET: CommandSpec = CommandSpec {
    name: "hset",
    arity: -4,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Set the string value of a hash field",
    complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
    run: hset,
    ..HASH
};
pub const HMSET: CommandSpec = CommandSpec {
    name: "hmset",
    summary: "Set multiple hash fields to multiple values",
    complexity: "O(N) where N is the number of fields being set.",
    run: hmset,
    ..HSET
};
pub const HSETNX: CommandSpec = CommandSpec {
    name: "hsetnx",
    arity: 4,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "INSERT"],
    acl: WRITE_FAST,
    summary: "Set the value of a hash field, only if the field does not exist",
    run: hsetnx,
    ..HASH
};
pub const HGET: CommandSpec = CommandSpec {
    name: "hget",
    arity: 3,
    flags: READONLY | FAST,
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    summary: "Get the value of a hash field",
    run: hget,
    ..HASH
};
pub const HMGET: CommandSpec = CommandSpec {
    name: "hmget",
    arity: -3,
    summary: "Get the values of all the given hash fields",
    complexity: "O(N) where N is the number of fields being requested.",
    run: hmget,
    ..HGET
};
pub const HGETALL: CommandSpec = CommandSpec {
    name: "hgetall",
    arity: 2,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    summary: "Get all the fields and values in a hash",
    complexity: "O(N) where N is the size of the hash.",
    run: hgetall,
    ..HASH
};
pub const HKEYS: CommandSpec =
    CommandSpec { name: "hkeys", summary: "Get all the fields in a hash", run: hkeys, ..HGETALL };
pub const HVALS: CommandSpec =
    CommandSpec { name: "hvals", summary: "Get all the values in a hash", run: hvals, ..HGETALL };
pub const HDEL: CommandSpec = CommandSpec {
    name: "hdel",
    arity: -3,
    flags: WRITE | FAST,
    key_flags: &["RW", "DELETE"],
    acl: WRITE_FAST,
    summary: "Delete one or more hash fields",
    complexity: "O(N) where N is the number of fields to be removed.",
    run: hdel,
    ..HASH
};
pub const HLEN: CommandSpec = CommandSpec {
    name: "hlen",
    arity: 2,
    flags: READONLY | FAST,
    key_flags: &["RO"],
    acl: READ_FAST,
    summary: "Get the number of fields in a hash",
    run: hlen,
    ..HASH
};
pub const HEXISTS: CommandSpec =
    CommandSpec { name: "hexists", arity: 3, summary: "Determine if a hash field exists", run: hexists, ..HLEN };
pub const HSTRLEN: CommandSpec = CommandSpec {
    name: "hstrlen",
    arity: 3,
    since: "3.2.0",
    summary: "Get the length of the value of a hash field",
    run: hstrlen,
    ..HLEN
};
pub const HINCRBY: CommandSpec = CommandSpec {
    name: "hincrby",
    arity: 4,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "ACCESS", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Increment the integer value of a hash field by the given number",
    run: hincrby,
    ..HASH
};
pub const HINCRBYFLOAT: CommandSpec = CommandSpec {
    name: "hincrbyfloat",
    since: "2.6.0",
    summary: "Increment the float value of a hash field by the given amount",
    run: hincrbyfloat,
    ..HINCRBY
};
pub const HRANDFIELD: CommandSpec = CommandSpec {
    name: "hrandfield",
    arity: -2,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    since: "6.2.0",
    summary: "Get one or multiple random fields from a hash",
    complexity: "O(N) where N is the number of fields returned",
    run: hrandfield,
    ..HASH
};
pub const HSCAN: CommandSpec = CommandSpec {
    name: "hscan",
    arity: -3,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    since: "2.8.0",
    summary: "Incrementally iterate hash fields and associated values",
    complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
    run: hscan,
    ..HASH
};

/// The hash stored at `key`, if any; another type is WRONGTYPE.
fn hash_at<'t>(table: &'t mut Table, key: &[u8]) -> Result<Option<&'t mut Hash>, CmdError> {
    match table.touch(key) {
        None => Ok(None),
        Some(Entry { value: Value::Hash(h), .. }) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The hash at `key`, created empty if absent. Callers must leave it non-empty (or remove it):
/// every caller writes at least one field after this succeeds.
fn hash_or_create<'t>(table: &'t mut Table, key: &[u8]) -> Result<&'t mut Hash, CmdError> {
    if table.touch(key).is_none() {
        table.set(key, Value::Hash(Hash::default()), 0);
    }
    match hash_at(table, key)? {
        Some(h) => Ok(h),
        None => unreachable!("created above"),
    }
}

fn limits(ctx: &Ctx) -> HashLimits {
    HashLimits::from_config(&ctx.server.keyspace.limits)
}

fn hset_generic(ctx: &mut Ctx, args: &Args, name: &str) -> Result<i64, CmdError> {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(name.into()));
    }
    let limits = limits(ctx);
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_or_create(shard.db(ctx.client.db), key)?;
    let mut created = 0;
    for i in (2..args.len()).step_by(2) {
        created += h.set(args.get(i), args.get(i + 1), &limits) as i64;
    }
    Ok(created)
}

fn hset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let created = hset_generic(ctx, args, "hset")?;
    // Redis answers before it announces hash changes.
    ctx.reply.int(created);
    notify(ctx, class::HASH, "hset", args.get(1));
    Ok(())
}

fn hmset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hset_generic(ctx, args, "hmset")?;
    ctx.reply.ok();
    notify(ctx, class::HASH, "hset", args.get(1));
    Ok(())
}

fn hsetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let limits = limits(ctx);
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_or_create(shard.db(ctx.client.db), key)?;
    // Like Redis, an existing field leaves the hash alone, even its encoding.
    let set = !h.contains(args.get(2)) && h.set(args.get(2), args.get(3), &limits);
    drop(shard);
    ctx.reply.int(set as i64);
    if set {
        notify(ctx, class::HASH, "hset", key);
    }
    Ok(())
}

fn hget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, h.is_some(), key);
    let mut scratch = [0u8; 20];
    match h.and_then(|h| h.get(args.get(2), &mut scratch)) {
        Some(v) => ctx.reply.bulk(v),
        None => ctx.reply.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, h.is_some(), key);
    ctx.reply.array(args.len() - 2);
    for field in args.iter().skip(2) {
        let mut scratch = [0u8; 20];
        match h.as_ref().and_then(|h| h.get(field, &mut scratch)) {
            Some(v) => ctx.reply.bulk(v),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// Which parts of each pair HGETALL, HKEYS and HVALS reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Both,
    Fields,
    Values,
}

fn reply_all(ctx: &mut Ctx, args: &Args, parts: Parts) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, h.is_some(), key);
    let len = h.as_ref().map_or(0, |h| h.len());
    let reply = &mut *ctx.reply;
    if parts == Parts::Both {
        reply.map(len);
    } else {
        reply.array(len);
    }
    if let Some(h) = h {
        h.for_each(|f, v| {
            if parts != Parts::Values {
                reply.bulk(f);
            }
            if parts != Parts::Fields {
                reply.bulk(v);
            }
        });
    }
    Ok(())
}

fn hgetall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_all(ctx, args, Parts::Both)
}

fn hkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_all(ctx, args, Parts::Fields)
}

fn hvals(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_all(ctx, args, Parts::Values)
}

fn hdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let mut removed = 0;
    let mut deleted = false;
    if let Some(h) = hash_at(table, key)? {
        for field in args.iter().skip(2) {
            removed += h.remove(field) as i64;
        }
        deleted = h.is_empty();
        if deleted {
            table.remove(key);
        }
    }
    drop(shard);
    if removed > 0 {
        notify(ctx, class::HASH, "hdel", key);
        if deleted {
            notify(ctx, class::GENERIC, "del", key);
        }
    }
    ctx.reply.int(removed);
    Ok(())
}

/// HLEN, HEXISTS, HSTRLEN: one number about the hash, 0 when the key is absent.
fn reply_number(ctx: &mut Ctx, args: &Args, of: impl FnOnce(&Hash) -> usize) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, h.is_some(), key);
    let n = h.map_or(0, |h| of(h));
    drop(shard);
    ctx.reply.int(n as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_number(ctx, args, Hash::len)
}

fn hexists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_number(ctx, args, |h| h.contains(args.get(2)) as usize)
}

fn hstrlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_number(ctx, args, |h| h.get(args.get(2), &mut [0u8; 20]).map_or(0, <[u8]>::len))
}

fn hincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let incr = parse_int(args.get(3))?;
    let limits = limits(ctx);
    let (key, field) = (args.get(1), args.get(2));
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_or_create(shard.db(ctx.client.db), key)?;
    let mut scratch = [0u8; 20];
    let current = match h.get(field, &mut scratch) {
        Some(v) => parse_i64(v).ok_or(CmdError::msg("ERR hash value is not an integer"))?,
        None => 0,
    };
    let new = current.checked_add(incr).ok_or(CmdError::Overflow)?;
    h.set(field, int_digits(new, &mut scratch), &limits);
    drop(shard);
    ctx.reply.int(new);
    notify(ctx, class::HASH, "hincrby", key);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let incr = args.get(3);
    // The increment is checked on its own first, as Redis does before looking at the key.
    match add_long_double(None, incr) {
        Ok(_) => {}
        Err(CmdError::NotFloat) => return Err(CmdError::NotFloat),
        Err(_) => return Err(CmdError::msg("ERR value is NaN or Infinity")),
    }
    let limits = limits(ctx);
    let (key, field) = (args.get(1), args.get(2));
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_or_create(shard.db(ctx.client.db), key)?;
    let current = h.get(field, &mut [0u8; 20]).map(<[u8]>::to_vec);
    let new = add_long_double(current.as_deref(), incr).map_err(|e| match e {
        CmdError::NotFloat => CmdError::msg("ERR hash value is not a float"),
        other => other,
    })?;
    h.set(field, &new, &limits);
    drop(shard);
    ctx.reply.bulk(&new);
    notify(ctx, class::HASH, "hincrbyfloat", key);
    Ok(())
}

/// HRANDFIELD's reply header: RESP2 flattens pairs; RESP3 nests each pair in its own array.
fn pairs_header(reply: &mut ReplyBuf, n: usize, with_values: bool) {
    reply.array(if with_values && !reply.resp3 { n * 2 } else { n });
}

fn reply_pair(reply: &mut ReplyBuf, f: &[u8], v: &[u8], with_values: bool) {
    if with_values && reply.resp3 {
        reply.array(2);
    }
    reply.bulk(f);
    if with_values {
        reply.bulk(v);
    }
}

fn hrandfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    if args.len() == 2 {
        let mut shard = ctx.server.keyspace.lock_key(key);
        let Some(h) = hash_at(shard.db(ctx.client.db), key)? else {
            notify::miss(ctx, key);
            ctx.reply.null();
            return Ok(());
        };
        ctx.hit();
        let i = (ctx.rng.next_u64() % h.len() as u64) as usize;
        h.sampler().with(i, |f, _| ctx.reply.bulk(f));
        return Ok(());
    }
    let (count, with_values) = random_count(args, "withvalues")?;
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, h.is_some(), key);
    let Some(h) = h.filter(|_| count != 0) else {
        ctx.reply.array(0);
        return Ok(());
    };
    let size = h.len();
    let reply = &mut *ctx.reply;
    let rng = &mut *ctx.rng;
    if count < 0 || count == 1 {
        // Independent draws: repetitions allowed, any order.
        let n = count.unsigned_abs() as usize;
        pairs_header(reply, n, with_values);
        let sampler = h.sampler();
        for _ in 0..n {
            let i = (rng.next_u64() % size as u64) as usize;
            sampler.with(i, |f, v| reply_pair(reply, f, v, with_values));
        }
    } else if count as usize >= size {
        pairs_header(reply, size, with_values);
        h.for_each(|f, v| reply_pair(reply, f, v, with_values));
    } else {
        let n = count as usize;
        pairs_header(reply, n, with_values);
        let sampler = h.sampler();
        if n * 3 > size {
            // Many of the pairs: a partial shuffle of all positions.
            let mut positions: Vec<usize> = (0..size).collect();
            for k in 0..n {
                let j = k + (rng.next_u64() % (size - k) as u64) as usize;
                positions.swap(k, j);
                sampler.with(positions[k], |f, v| reply_pair(reply, f, v, with_values));
            }
        } else {
            // Few of them: draw positions until enough distinct ones came up.
            let mut picked = std::collections::HashSet::with_capacity(n);
            while picked.len() < n {
                let i = (rng.next_u64() % size as u64) as usize;
                if picked.insert(i) {
                    sampler.with(i, |f, v| reply_pair(reply, f, v, with_values));
                }
            }
        }
    }
    Ok(())
}

fn hscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(args.get(2)).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let h = hash_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, h.is_some(), key);
    let Some(h) = h else {
        // Redis answers an absent key before reading the options.
        ctx.reply.array(2);
        ctx.reply.bulk(b"0");
        ctx.reply.array(0);
        return Ok(());
    };
    let ScanOptions { count, pattern, .. } = ScanOptions::parse(args, 3, false)?;
    let mut body = ReplyBuf { out: Vec::new(), resp3: ctx.reply.resp3 };
    let mut found = 0;
    let next = h.scan(cursor, count.min(u32::MAX as i64) as usize, |f, v| {
        if pattern.is_none_or(|p| glob::matches(p, f, false)) {
            body.bulk(f);
            body.bulk(v);
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

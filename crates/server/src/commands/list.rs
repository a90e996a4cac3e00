//! List commands: pushes, pops, ranges, LINSERT/LSET/LREM/LTRIM, LPOS, LMOVE/RPOPLPUSH, LMPOP,
//! and their blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP), which run the same pop
//! and move steps and, finding nothing, ask their connection to wait (see `blocking.rs`).

use roost_resp::{Args, ReplyBuf};
use roost_store::list::{Elem, End, Needle};
use roost_store::{EncodingLimits, Entry, List, Table, Value};

use roost_store::now_ms;

use super::{is, parse_int, BASE};
use crate::blocking::{parse_timeout, BlockRequest};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const ONE_KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };
const TWO_KEYS: Keys = Keys::Range { first: 1, last: 2, step: 1 };
const WRITE_FAST: &[&str] = &["@write", "@list", "@fast"];
const WRITE_SLOW: &[&str] = &["@write", "@list", "@slow"];
const READ_SLOW: &[&str] = &["@read", "@list", "@slow"];

const LIST: CommandSpec = CommandSpec { group: "list", keys: ONE_KEY, ..BASE };

pub const LPUSH: CommandSpec = CommandSpec {
    name: "lpush",
    arity: -3,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "INSERT"],
    acl: WRITE_FAST,
    summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
    complexity:
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
    run: lpush,
    ..LIST
};
pub const RPUSH: CommandSpec = CommandSpec {
    name: "rpush",
    summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.",
    run: rpush,
    ..LPUSH
};
pub const LPUSHX: CommandSpec = CommandSpec {
    name: "lpushx",
    since: "2.2.0",
    summary: "Prepends one or more elements to a list only when the list exists.",
    run: lpushx,
    ..LPUSH
};
pub const RPUSHX: CommandSpec = CommandSpec {
    name: "rpushx",
    since: "2.2.0",
    summary: "Appends an element to a list only when the list exists.",
    run: rpushx,
    ..LPUSH
};
pub const LPOP: CommandSpec = CommandSpec {
    name: "lpop",
    arity: -2,
    flags: WRITE | FAST,
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_FAST,
    summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
    complexity: "O(N) where N is the number of elements returned",
    run: lpop,
    ..LIST
};
pub const RPOP: CommandSpec = CommandSpec {
    name: "rpop",
    summary: "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
    run: rpop,
    ..LPOP
};
pub const LRANGE: CommandSpec = CommandSpec {
    name: "lrange",
    arity: 4,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    summary: "Returns a range of elements from a list.",
    complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
    run: lrange,
    ..LIST
};
pub const LINDEX: CommandSpec = CommandSpec {
    name: "lindex",
    arity: 3,
    summary: "Returns an element from a list by its index.",
    complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
    run: lindex,
    ..LRANGE
};
pub const LSET: CommandSpec = CommandSpec {
    name: "lset",
    arity: 4,
    flags: WRITE | DENYOOM,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_SLOW,
    summary: "Sets the value of an element in a list by its index.",
    complexity:
        "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
    run: lset,
    ..LIST
};
pub const LINSERT: CommandSpec = CommandSpec {
    name: "linsert",
    arity: 5,
    flags: WRITE | DENYOOM,
    key_flags: &["RW", "INSERT"],
    acl: WRITE_SLOW,
    since: "2.2.0",
    summary: "Inserts an element before or after another element in a list.",
    complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
    run: linsert,
    ..LIST
};
pub const LREM: CommandSpec = CommandSpec {
    name: "lrem",
    arity: 4,
    flags: WRITE,
    key_flags: &["RW", "DELETE"],
    acl: WRITE_SLOW,
    summary: "Removes elements from a list. Deletes the list if the last element was removed.",
    complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.",
    run: lrem,
    ..LIST
};
pub const LTRIM: CommandSpec = CommandSpec {
    name: "ltrim",
    summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
    complexity: "O(N) where N is the number of elements to be removed by the operation.",
    run: ltrim,
    ..LREM
};
pub const LLEN: CommandSpec = CommandSpec {
    name: "llen",
    arity: 2,
    flags: READONLY | FAST,
    key_flags: &["RO"],
    acl: &["@read", "@list", "@fast"],
    summary: "Returns the length of a list.",
    run: llen,
    ..LIST
};
pub const LPOS: CommandSpec = CommandSpec {
    name: "lpos",
    arity: -3,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    since: "6.0.6",
    summary: "Returns the index of matching elements in a list.",
    complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
    run: lpos,
    ..LIST
};
pub const LMOVE: CommandSpec = CommandSpec {
    name: "lmove",
    arity: 5,
    flags: WRITE | DENYOOM,
    keys: TWO_KEYS,
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_SLOW,
    since: "6.2.0",
    summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.",
    run: lmove,
    ..LIST
};
pub const RPOPLPUSH: CommandSpec = CommandSpec {
    name: "rpoplpush",
    arity: 3,
    since: "1.2.0",
    summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.",
    run: rpoplpush,
    ..LMOVE
};
pub const LMPOP: CommandSpec = CommandSpec {
    name: "lmpop",
    arity: -4,
    flags: WRITE | MOVABLEKEYS,
    keys: Keys::Custom(lmpop_keys),
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_SLOW,
    since: "7.0.0",
    summary:
        "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
    complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
    run: lmpop,
    ..LIST
};

const BLOCKING_POP: CommandSpec = CommandSpec {
    arity: -3,
    flags: WRITE | NOSCRIPT | BLOCKING,
    keys: Keys::Range { first: 1, last: -2, step: 1 },
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: &["@write", "@list", "@slow", "@blocking"],
    since: "2.0.0",
    complexity: "O(N) where N is the number of provided keys.",
    ..LIST
};
pub const BLPOP: CommandSpec = CommandSpec {
    name: "blpop",
    summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
    run: blpop,
    ..BLOCKING_POP
};
pub const BRPOP: CommandSpec = CommandSpec {
    name: "brpop",
    summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
    run: brpop,
    ..BLOCKING_POP
};
pub const BLMOVE: CommandSpec = CommandSpec {
    name: "blmove",
    arity: 6,
    flags: WRITE | DENYOOM | NOSCRIPT | BLOCKING,
    acl: &["@write", "@list", "@slow", "@blocking"],
    since: "6.2.0",
    summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
    run: blmove,
    ..LMOVE
};
pub const BRPOPLPUSH: CommandSpec = CommandSpec {
    name: "brpoplpush",
    arity: 4,
    since: "2.2.0",
    summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
    run: brpoplpush,
    ..BLMOVE
};
pub const BLMPOP: CommandSpec = CommandSpec {
    name: "blmpop",
    arity: -5,
    flags: WRITE | BLOCKING | MOVABLEKEYS,
    keys: Keys::Custom(blmpop_keys),
    acl: &["@write", "@list", "@slow", "@blocking"],
    summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
    run: blmpop,
    ..LMPOP
};

fn fill(ctx: &Ctx) -> i64 {
    EncodingLimits::get(&ctx.server.keyspace.limits.list_max_listpack_size)
}

/// `list-compress-depth` for a list created now (a list keeps the depth it was created with).
fn compress_depth(ctx: &Ctx) -> usize {
    EncodingLimits::get(&ctx.server.keyspace.limits.list_compress_depth).max(0) as usize
}

/// The list at `key`: None when absent, WRONGTYPE when it holds something else.
fn list_at<'t>(table: &'t mut Table, key: &[u8]) -> Result<Option<&'t mut List>, CmdError> {
    match table.touch(key) {
        None => Ok(None),
        Some(Entry { value: Value::List(l), .. }) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

pub fn reply_elem(reply: &mut ReplyBuf, e: Elem<'_>) {
    match e {
        Elem::Int(i) => reply.bulk_int(i),
        Elem::Bytes(b) => reply.bulk(b),
    }
}

fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if is(arg, "left") {
        Ok(End::Head)
    } else if is(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Redis's start/stop normalisation for LRANGE and LTRIM: the inclusive range within the list,
/// or None when it selects nothing.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

/// Pushes `values` at `end` of the list at `key`, creating it unless `only_existing`. Returns
/// the new length (0 when nothing was there and `only_existing`).
///
/// A list created here is never compressed, like the list Redis 7.0's SORT ... STORE creates
/// (it does not apply `list-compress-depth` there); the push commands use
/// [`push_values_with_depth`].
pub fn push_values<'v>(
    table: &mut Table,
    key: &[u8],
    end: End,
    values: impl Iterator<Item = &'v [u8]>,
    only_existing: bool,
    fill: i64,
) -> Result<usize, CmdError> {
    push_values_with_depth(table, key, end, values, only_existing, fill, 0)
}

/// `push_values`, creating the list with `compress_depth` (`list-compress-depth`).
fn push_values_with_depth<'v>(
    table: &mut Table,
    key: &[u8],
    end: End,
    values: impl Iterator<Item = &'v [u8]>,
    only_existing: bool,
    fill: i64,
    compress_depth: usize,
) -> Result<usize, CmdError> {
    if let Some(list) = list_at(table, key)? {
        for v in values {
            list.push(end, v, fill);
        }
        return Ok(list.len());
    }
    if only_existing {
        return Ok(0);
    }
    let mut list = List::with_compress_depth(compress_depth);
    for v in values {
        list.push(end, v, fill);
    }
    let len = list.len();
    table.set(key, Value::List(Box::new(list)), 0);
    Ok(len)
}

fn push(ctx: &mut Ctx, args: &Args, end: End, only_existing: bool) -> CmdResult {
    let key = args.get(1);
    let fill = fill(ctx);
    let depth = compress_depth(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let len =
        push_values_with_depth(shard.db(ctx.client.db), key, end, args.tail(2).iter(), only_existing, fill, depth)?;
    drop(shard);
    ctx.reply.int(len as i64);
    if len > 0 {
        notify(ctx, class::LIST, push_event(end), key);
    }
    Ok(())
}

fn lpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Head, false)
}

fn rpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push(ctx, args, End::Tail, true)
}

/// The keyspace event of a push at `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// The keyspace event of a pop at `end`.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// Announces a pop from `key`, and its deletion when the pop emptied it.
fn notify_pop(ctx: &mut Ctx, key: &[u8], end: End, deleted: bool) {
    notify(ctx, class::LIST, pop_event(end), key);
    if deleted {
        notify(ctx, class::GENERIC, "del", key);
    }
}

/// Pops up to `count` elements (one, as a bare bulk string, when `count` is None) from the list
/// at `key` into the reply, deleting the key if it empties (then returns true). The list must
/// exist and be non-empty.
pub fn pop_reply(table: &mut Table, key: &[u8], end: End, count: Option<usize>, reply: &mut ReplyBuf) -> bool {
    let Some(Entry { value: Value::List(list), .. }) = table.get(key) else { return false };
    match count {
        None => {
            list.pop_with(end, |e| reply_elem(reply, e));
        }
        Some(n) => {
            let n = n.min(list.len());
            reply.array(n);
            for _ in 0..n {
                list.pop_with(end, |e| reply_elem(reply, e));
            }
        }
    }
    if list.is_empty() {
        table.remove(key);
        return true;
    }
    false
}

fn pop(ctx: &mut Ctx, args: &Args, end: End, name: &str) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(name.into()));
    }
    let count = if args.len() == 3 {
        match roost_resp::parse_i64(args.get(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        }
    } else {
        None
    };
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    // A write lookup: like Redis, not counted as a keyspace hit or miss.
    if list_at(table, key)?.is_none() {
        drop(shard);
        match count {
            Some(_) => ctx.reply.null_array(),
            None => ctx.reply.null(),
        }
        return Ok(());
    }
    if count == Some(0) {
        drop(shard);
        ctx.reply.array(0);
        return Ok(());
    }
    let deleted = pop_reply(table, key, end, count, ctx.reply);
    drop(shard);
    notify_pop(ctx, key, end, deleted);
    Ok(())
}

fn lpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop(ctx, args, End::Head, "lpop")
}

fn rpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop(ctx, args, End::Tail, "rpop")
}

fn lrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = parse_int(args.get(2))?;
    let stop = parse_int(args.get(3))?;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(list) = list_at(shard.db(ctx.client.db), key)? else {
        drop(shard);
        notify::miss(ctx, key);
        ctx.reply.array(0);
        return Ok(());
    };
    ctx.hit();
    match clamp_range(start, stop, list.len()) {
        None => ctx.reply.array(0),
        Some((a, b)) => {
            // Written straight from the packed nodes into the output buffer, under the lock.
            let reply = &mut *ctx.reply;
            reply.array(b - a + 1);
            list.for_range(a, b, |e| reply_elem(reply, e));
        }
    }
    Ok(())
}

fn lindex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(list) = list_at(shard.db(ctx.client.db), key)? else {
        drop(shard);
        notify::miss(ctx, key);
        ctx.reply.null();
        return Ok(());
    };
    ctx.hit();
    let index = parse_int(args.get(2))?;
    let i = if index < 0 { list.len() as i64 + index } else { index };
    let reply = &mut *ctx.reply;
    if usize::try_from(i).ok().and_then(|i| list.get_with(i, |e| reply_elem(reply, e))).is_none() {
        reply.null();
    }
    Ok(())
}

fn lset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let fill = fill(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let list = list_at(shard.db(ctx.client.db), key)?.ok_or(CmdError::NoSuchKey)?;
    let index = parse_int(args.get(2))?;
    let i = if index < 0 { list.len() as i64 + index } else { index };
    let i = usize::try_from(i).map_err(|_| CmdError::OutOfRange)?;
    if !list.set(i, args.get(3), fill) {
        return Err(CmdError::OutOfRange);
    }
    drop(shard);
    ctx.reply.ok();
    notify(ctx, class::LIST, "lset", key);
    Ok(())
}

fn linsert(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let after = if is(args.get(2), "after") {
        true
    } else if is(args.get(2), "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let key = args.get(1);
    let fill = fill(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(list) = list_at(shard.db(ctx.client.db), key)? else {
        drop(shard);
        ctx.reply.int(0);
        return Ok(());
    };
    let len = match list.position(&Needle::new(args.get(3))) {
        Some(at) => {
            list.insert(at + usize::from(after), args.get(4), fill);
            list.len() as i64
        }
        None => -1,
    };
    drop(shard);
    if len > 0 {
        notify(ctx, class::LIST, "linsert", key);
    }
    ctx.reply.int(len);
    Ok(())
}

fn lrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = parse_int(args.get(2))?;
    let key = args.get(1);
    let fill = fill(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let Some(list) = list_at(table, key)? else {
        drop(shard);
        ctx.reply.int(0);
        return Ok(());
    };
    let removed = list.remove_matching(&Needle::new(args.get(3)), count, fill);
    let deleted = list.is_empty();
    if deleted {
        table.remove(key);
    }
    drop(shard);
    if removed > 0 {
        notify(ctx, class::LIST, "lrem", key);
        if deleted {
            notify(ctx, class::GENERIC, "del", key);
        }
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = parse_int(args.get(2))?;
    let stop = parse_int(args.get(3))?;
    let key = args.get(1);
    let fill = fill(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let mut trimmed = None;
    if let Some(list) = list_at(table, key)? {
        match clamp_range(start, stop, list.len()) {
            Some((a, b)) => list.trim(a, b, fill),
            None => list.trim(1, 0, fill),
        }
        let deleted = list.is_empty();
        if deleted {
            table.remove(key);
        }
        trimmed = Some(deleted);
    }
    drop(shard);
    if let Some(deleted) = trimmed {
        notify(ctx, class::LIST, "ltrim", key);
        if deleted {
            notify(ctx, class::GENERIC, "del", key);
        }
    }
    ctx.reply.ok();
    Ok(())
}

fn llen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let len = list_at(shard.db(ctx.client.db), key)?.map(|l| l.len());
    drop(shard);
    notify::count_lookup(ctx, len.is_some(), key);
    let len = len.unwrap_or(0);
    ctx.reply.int(len as i64);
    Ok(())
}

fn lpos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let opt = args.get(i);
        if is(opt, "rank") && more {
            rank = parse_int(args.get(i + 1))?;
            if rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(opt, "count") && more {
            count = Some(non_negative(args.get(i + 1), "ERR COUNT can't be negative")?);
        } else if is(opt, "maxlen") && more {
            maxlen = non_negative(args.get(i + 1), "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(list) = list_at(shard.db(ctx.client.db), key)? else {
        drop(shard);
        notify::miss(ctx, key);
        match count {
            Some(_) => ctx.reply.array(0),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    ctx.hit();
    let reverse = rank < 0;
    // Redis negates a negative rank in a C long: i64::MIN stays negative, so every match
    // qualifies. Wrapping arithmetic keeps that behaviour.
    let rank = if reverse { rank.wrapping_neg() } else { rank };
    let len = list.len() as i64;
    let needle = Needle::new(args.get(2));
    let (mut index, mut matches) = (0i64, 0i64);
    let mut found = Vec::new();
    list.walk(reverse, |e| {
        if maxlen != 0 && index >= maxlen {
            return false;
        }
        if needle.matches(e) {
            matches += 1;
            if matches >= rank {
                found.push(if reverse { len - index - 1 } else { index });
                match count {
                    None => return false,
                    Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => return false,
                    _ => {}
                }
            }
        }
        index += 1;
        true
    });
    drop(shard);
    match count {
        Some(_) => {
            ctx.reply.array(found.len());
            for p in found {
                ctx.reply.int(p);
            }
        }
        None => match found.first() {
            Some(&p) => ctx.reply.int(p),
            None => ctx.reply.null(),
        },
    }
    Ok(())
}

/// A non-negative integer option; Redis gives the option's own message for bad syntax too.
fn non_negative(arg: &[u8], msg: &'static str) -> Result<i64, CmdError> {
    match roost_resp::parse_i64(arg) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(CmdError::msg(msg)),
    }
}

/// Pops one element from `src` at `from` and pushes it on `dst` at `to`, returning it; None
/// when `src` is absent (or, for a blocked client trying again, holds another type).
/// Moves one element and answers with it; false (nothing written) when the source is empty.
fn try_move(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> Result<bool, CmdError> {
    let db = ctx.client.db;
    let fill = fill(ctx);
    let retry = ctx.client.block_retry;
    let mut locked = ctx.server.keyspace.lock_keys([src, dst]);
    match list_at(locked.table(db, src), src) {
        Ok(None) => return Ok(false),
        Err(CmdError::WrongType) if retry => return Ok(false),
        Err(e) => return Err(e),
        Ok(Some(_)) => {}
    }
    list_at(locked.table(db, dst), dst)?;
    let table = locked.table(db, src);
    let list = list_at(table, src)?.expect("checked above");
    let v = list.pop(from).expect("non-empty list");
    if src == dst {
        // Rotation in place: the list never empties on the way.
        list.push(to, &v, fill);
        drop(locked);
        announce_move(ctx, src, dst, from, to, &v, false);
        return Ok(true);
    }
    let deleted = list.is_empty();
    if deleted {
        table.remove(src);
    }
    let depth = compress_depth(ctx);
    push_values_with_depth(locked.table(db, dst), dst, to, std::iter::once(&v[..]), false, fill, depth)?;
    drop(locked);
    announce_move(ctx, src, dst, from, to, &v, deleted);
    Ok(true)
}

/// The reply and events of a move, in Redis's order: the push, the answer, then the pop (and
/// the source's deletion).
fn announce_move(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End, v: &[u8], deleted: bool) {
    notify(ctx, class::LIST, push_event(to), dst);
    ctx.reply.bulk(v);
    notify_pop(ctx, src, from, deleted);
}

fn move_element(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    if !try_move(ctx, src, dst, from, to)? {
        ctx.reply.null();
    }
    Ok(())
}

fn lmove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    move_element(ctx, args.get(1), args.get(2), from, to)
}

fn rpoplpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    move_element(ctx, args.get(1), args.get(2), End::Tail, End::Head)
}

/// numkeys at `at`, when it is a usable count.
fn numkeys_at(args: &Args, at: usize) -> Option<usize> {
    roost_resp::parse_i64(args.get(at)).filter(|&n| n > 0).and_then(|n| usize::try_from(n).ok())
}

fn lmpop_keys(args: &Args) -> Vec<usize> {
    let n = numkeys_at(args, 1).unwrap_or(0);
    (2..args.len()).take(n).collect()
}

fn blmpop_keys(args: &Args) -> Vec<usize> {
    let n = numkeys_at(args, 2).unwrap_or(0);
    (3..args.len()).take(n).collect()
}

fn lmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mpop(ctx, args, 1, None)
}

/// LMPOP and BLMPOP from numkeys (at `at`) on. With a `deadline` (BLMPOP), finding every list
/// empty blocks instead of answering null.
fn mpop(ctx: &mut Ctx, args: &Args, at: usize, deadline: Option<u64>) -> CmdResult {
    let numkeys = numkeys_at(args, at).ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let where_at = numkeys.checked_add(at + 1).filter(|&w| w < args.len()).ok_or(CmdError::Syntax)?;
    let end = parse_end(args.get(where_at))?;
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
    let count = count.unwrap_or(1);
    let db = ctx.client.db;
    let keys: Vec<&[u8]> = args.tail(at + 1).iter().take(numkeys).collect();
    if pop_first(ctx, &keys, db, end, Some(count), false)? {
        return Ok(());
    }
    match deadline {
        Some(deadline_ms) => ctx.client.block = Some(BlockRequest { keys: to_owned(&keys), deadline_ms }),
        None => ctx.reply.null_array(),
    }
    Ok(())
}

/// Pops from the first non-empty list of `keys`, replying `[key, element(s)]`. False if all
/// were empty. `count` None pops one element as a bare bulk string (BLPOP's shape), `flat`
/// (BLPOP) replies key and element side by side.
fn pop_first(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    db: usize,
    end: End,
    count: Option<usize>,
    flat: bool,
) -> Result<bool, CmdError> {
    let retry = ctx.client.block_retry;
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter().copied());
    for &key in keys {
        let table = locked.table(db, key);
        match list_at(table, key) {
            Ok(None) => continue,
            Err(CmdError::WrongType) if retry => continue,
            Err(e) => return Err(e),
            Ok(Some(_)) => {}
        }
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        let deleted = pop_reply(table, key, end, if flat { None } else { count }, ctx.reply);
        drop(locked);
        notify_pop(ctx, key, end, deleted);
        return Ok(true);
    }
    Ok(false)
}

fn to_owned(keys: &[&[u8]]) -> Vec<Vec<u8>> {
    keys.iter().map(|k| k.to_vec()).collect()
}

/// BLPOP and BRPOP: key [key ...] timeout.
fn blocking_pop(ctx: &mut Ctx, args: &Args, end: End) -> CmdResult {
    let deadline_ms = parse_timeout(args.get(args.len() - 1), now_ms())?;
    let keys: Vec<&[u8]> = args.iter().skip(1).take(args.len() - 2).collect();
    if !pop_first(ctx, &keys, ctx.client.db, end, None, true)? {
        ctx.client.block = Some(BlockRequest { keys: to_owned(&keys), deadline_ms });
    }
    Ok(())
}

fn blpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    blocking_pop(ctx, args, End::Head)
}

fn brpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    blocking_pop(ctx, args, End::Tail)
}

/// BLMOVE and BRPOPLPUSH: the move, or a wait on the source.
fn blocking_move(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End, deadline_ms: u64) -> CmdResult {
    if !try_move(ctx, src, dst, from, to)? {
        ctx.client.block = Some(BlockRequest { keys: vec![src.to_vec()], deadline_ms });
    }
    Ok(())
}

fn blmove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    let deadline_ms = parse_timeout(args.get(5), now_ms())?;
    blocking_move(ctx, args.get(1), args.get(2), from, to, deadline_ms)
}

fn brpoplpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let deadline_ms = parse_timeout(args.get(3), now_ms())?;
    blocking_move(ctx, args.get(1), args.get(2), End::Tail, End::Head, deadline_ms)
}

fn blmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let deadline_ms = parse_timeout(args.get(1), now_ms())?;
    mpop(ctx, args, 2, Some(deadline_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(3, 5, 3), None);
        assert_eq!(clamp_range(-1, -2, 3), None);
        assert_eq!(clamp_range(0, 0, 0), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 2), Some((0, 1)));
    }
}

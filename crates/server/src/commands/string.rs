//! String commands: GET, SET and its variants, MGET/MSET, APPEND, ranges, counters, LCS.

use std::sync::atomic::Ordering;

use roost_resp::{Args, ReplyBuf};
use roost_store::{now_ms, Entry, StrValue, Table, Value};

use super::{is, parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const ONE_KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };
const READ_FAST: &[&str] = &["@read", "@string", "@fast"];
const WRITE_SLOW: &[&str] = &["@write", "@string", "@slow"];
const WRITE_FAST: &[&str] = &["@write", "@string", "@fast"];

const STRING: CommandSpec = CommandSpec { group: "string", keys: ONE_KEY, ..BASE };

pub const GET: CommandSpec = CommandSpec {
    name: "get",
    arity: 2,
    flags: READONLY | FAST,
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    summary: "Returns the string value of a key.",
    run: get,
    ..STRING
};
pub const SET: CommandSpec = CommandSpec {
    name: "set",
    arity: -3,
    flags: WRITE | DENYOOM,
    key_flags: &["RW", "ACCESS", "UPDATE", "VARIABLE_FLAGS"],
    acl: WRITE_SLOW,
    summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
    run: set,
    ..STRING
};
pub const SETNX: CommandSpec = CommandSpec {
    name: "setnx",
    arity: 3,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["OW", "INSERT"],
    acl: WRITE_FAST,
    summary: "Set the string value of a key only when the key doesn't exist.",
    run: setnx,
    ..STRING
};
pub const SETEX: CommandSpec = CommandSpec {
    name: "setex",
    arity: 4,
    flags: WRITE | DENYOOM,
    key_flags: &["OW", "UPDATE"],
    acl: WRITE_SLOW,
    since: "2.0.0",
    summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
    run: setex,
    ..STRING
};
pub const PSETEX: CommandSpec = CommandSpec {
    name: "psetex",
    arity: 4,
    flags: WRITE | DENYOOM,
    key_flags: &["OW", "UPDATE"],
    acl: WRITE_SLOW,
    since: "2.6.0",
    summary:
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
    run: psetex,
    ..STRING
};
pub const GETSET: CommandSpec = CommandSpec {
    name: "getset",
    arity: 3,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "ACCESS", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Returns the previous string value of a key after setting it to a new value.",
    run: getset,
    ..STRING
};
pub const GETEX: CommandSpec = CommandSpec {
    name: "getex",
    arity: -2,
    flags: WRITE | FAST,
    key_flags: &["RW", "ACCESS", "UPDATE"],
    acl: WRITE_FAST,
    since: "6.2.0",
    summary: "Returns the string value of a key after setting its expiration time.",
    run: getex,
    ..STRING
};
pub const GETDEL: CommandSpec = CommandSpec {
    name: "getdel",
    arity: 2,
    flags: WRITE | FAST,
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_FAST,
    since: "6.2.0",
    summary: "Returns the string value of a key after deleting the key.",
    run: getdel,
    ..STRING
};
pub const MGET: CommandSpec = CommandSpec {
    name: "mget",
    arity: -2,
    flags: READONLY | FAST,
    keys: Keys::Range { first: 1, last: -1, step: 1 },
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    summary: "Atomically returns the string values of one or more keys.",
    complexity: "O(N) where N is the number of keys to retrieve.",
    run: mget,
    ..STRING
};
pub const MSET: CommandSpec = CommandSpec {
    name: "mset",
    arity: -3,
    flags: WRITE | DENYOOM,
    keys: Keys::Range { first: 1, last: -1, step: 2 },
    key_flags: &["OW", "UPDATE"],
    acl: WRITE_SLOW,
    since: "1.0.1",
    summary: "Atomically creates or modifies the string values of one or more keys.",
    complexity: "O(N) where N is the number of keys to set.",
    run: mset,
    ..STRING
};
pub const MSETNX: CommandSpec = CommandSpec {
    name: "msetnx",
    arity: -3,
    flags: WRITE | DENYOOM,
    keys: Keys::Range { first: 1, last: -1, step: 2 },
    key_flags: &["OW", "INSERT"],
    acl: WRITE_SLOW,
    since: "1.0.1",
    summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.",
    complexity: "O(N) where N is the number of keys to set.",
    run: msetnx,
    ..STRING
};
pub const APPEND: CommandSpec = CommandSpec {
    name: "append",
    arity: 3,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "INSERT"],
    acl: WRITE_FAST,
    since: "2.0.0",
    summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
    run: append,
    ..STRING
};
pub const STRLEN: CommandSpec = CommandSpec {
    name: "strlen",
    arity: 2,
    flags: READONLY | FAST,
    key_flags: &["RO"],
    acl: READ_FAST,
    since: "2.2.0",
    summary: "Returns the length of a string value.",
    run: strlen,
    ..STRING
};
pub const GETRANGE: CommandSpec = CommandSpec {
    name: "getrange",
    arity: 4,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: &["@read", "@string", "@slow"],
    since: "2.4.0",
    summary: "Returns a substring of the string stored at a key.",
    complexity: "O(N) where N is the length of the returned string.",
    run: getrange,
    ..STRING
};
pub const SUBSTR: CommandSpec =
    CommandSpec { name: "substr", since: "1.0.0", summary: "Returns a substring from a string value.", ..GETRANGE };
pub const SETRANGE: CommandSpec = CommandSpec {
    name: "setrange",
    arity: 4,
    flags: WRITE | DENYOOM,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_SLOW,
    since: "2.2.0",
    summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
    run: setrange,
    ..STRING
};
pub const INCR: CommandSpec = CommandSpec {
    name: "incr",
    arity: 2,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "ACCESS", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    run: incr,
    ..STRING
};
pub const DECR: CommandSpec = CommandSpec {
    name: "decr",
    summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    run: decr,
    ..INCR
};
pub const INCRBY: CommandSpec = CommandSpec {
    name: "incrby",
    arity: 3,
    summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    run: incrby,
    ..INCR
};
pub const DECRBY: CommandSpec = CommandSpec {
    name: "decrby",
    arity: 3,
    summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
    run: decrby,
    ..INCR
};
pub const INCRBYFLOAT: CommandSpec = CommandSpec {
    name: "incrbyfloat",
    arity: 3,
    since: "2.6.0",
    summary:
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    run: incrbyfloat,
    ..INCR
};
pub const LCS: CommandSpec = CommandSpec {
    name: "lcs",
    arity: -3,
    flags: READONLY,
    keys: Keys::Range { first: 1, last: 2, step: 1 },
    key_flags: &["RO", "ACCESS"],
    acl: &["@read", "@string", "@slow"],
    since: "7.0.0",
    summary: "Finds the longest common substring.",
    complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
    run: lcs,
    ..STRING
};

/// The string stored at `key`, if any; another type is WRONGTYPE.
pub(crate) fn string_at<'t>(table: &'t mut Table, key: &[u8]) -> Result<Option<&'t mut StrValue>, CmdError> {
    match table.touch(key) {
        None => Ok(None),
        Some(Entry { value: Value::Str(s), .. }) => Ok(Some(s)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(CmdError::WrongType),
    }
}

/// `string_at` for commands that only read the string.
pub(crate) fn string_ref<'t>(table: &'t mut Table, key: &[u8]) -> Result<Option<&'t StrValue>, CmdError> {
    match table.read(key) {
        None => Ok(None),
        Some(Entry { value: Value::Str(s), .. }) => Ok(Some(s)),
        #[allow(unreachable_patterns)]
        Some(_) => Err(CmdError::WrongType),
    }
}

fn reply_str(reply: &mut ReplyBuf, s: &StrValue) {
    let mut scratch = [0u8; 20];
    reply.bulk(s.bytes(&mut scratch));
}

fn get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let found = string_ref(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, found.is_some(), key);
    match found {
        Some(s) => reply_str(ctx.reply, s),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// An expiry option's unit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExpireUnit {
    Seconds,
    Millis,
    UnixSeconds,
    UnixMillis,
}

/// Converts an expiry argument to an absolute Unix time in ms; `None` if it overflows or is not
/// positive (Redis's "invalid expire time").
pub fn absolute_expiry(unit: ExpireUnit, v: i64, now: u64) -> Option<u64> {
    if v <= 0 {
        return None;
    }
    let ms = match unit {
        ExpireUnit::Seconds | ExpireUnit::UnixSeconds => v.checked_mul(1000)?,
        ExpireUnit::Millis | ExpireUnit::UnixMillis => v,
    };
    let at = match unit {
        ExpireUnit::Seconds | ExpireUnit::Millis => ms.checked_add(now as i64)?,
        _ => ms,
    };
    Some(at as u64)
}

fn expire_unit(arg: &[u8]) -> Option<ExpireUnit> {
    if is(arg, "ex") {
        Some(ExpireUnit::Seconds)
    } else if is(arg, "px") {
        Some(ExpireUnit::Millis)
    } else if is(arg, "exat") {
        Some(ExpireUnit::UnixSeconds)
    } else if is(arg, "pxat") {
        Some(ExpireUnit::UnixMillis)
    } else {
        None
    }
}

#[derive(Default, Debug, PartialEq, Eq)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    /// The unit and the still unparsed number: Redis checks the whole syntax first.
    expire: Option<(ExpireUnit, &'a [u8])>,
}

impl<'a> SetOptions<'a> {
    /// SET's options after key and value. Conflicting or unknown options are a syntax error.
    fn parse(args: &Args<'a>, from: usize) -> Result<SetOptions<'a>, CmdError> {
        let mut o = SetOptions::default();
        let mut i = from;
        while i < args.len() {
            let a = args.get(i);
            if is(a, "nx") && !o.xx {
                o.nx = true;
            } else if is(a, "xx") && !o.nx {
                o.xx = true;
            } else if is(a, "get") {
                o.get = true;
            } else if is(a, "keepttl") && o.expire.is_none() {
                o.keep_ttl = true;
            } else if let Some(unit) = expire_unit(a).filter(|u| {
                // Repeating the same unit is allowed (the last wins); mixing units is not.
                o.expire.is_none_or(|(prev, _)| prev == *u) && !o.keep_ttl && i + 1 < args.len()
            }) {
                o.expire = Some((unit, args.get(i + 1)));
                i += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            i += 1;
        }
        Ok(o)
    }
}

fn set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let opts = SetOptions::parse(args, 3)?;
    let expire_at = match opts.expire {
        Some((unit, v)) => absolute_expiry(unit, parse_int(v)?, now_ms()).ok_or(CmdError::InvalidExpire("set"))?,
        None => 0,
    };
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let existing = if opts.get { string_ref(table, key)?.cloned() } else { None };
    // Without NX or XX, whether the key exists makes no difference, and `set` finds it itself.
    let exists = if opts.get { existing.is_some() } else { (opts.nx || opts.xx) && table.contains(key) };
    if (opts.nx && exists) || (opts.xx && !exists) {
        drop(shard);
        match existing {
            Some(old) => reply_str(ctx.reply, &old),
            None => ctx.reply.null(),
        }
        return Ok(());
    }
    let keep = if opts.keep_ttl && table.contains(key) { table.expire_at(key) } else { 0 };
    table.set(key, Value::Str(StrValue::from_bytes(args.get(2))), if expire_at != 0 { expire_at } else { keep });
    drop(shard);
    notify(ctx, class::STRING, "set", key);
    if expire_at != 0 {
        notify(ctx, class::GENERIC, "expire", key);
    }
    if opts.get {
        match existing {
            Some(old) => reply_str(ctx.reply, &old),
            None => ctx.reply.null(),
        }
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    if table.contains(key) {
        ctx.reply.int(0);
    } else {
        table.set(key, Value::Str(StrValue::from_bytes(args.get(2))), 0);
        drop(shard);
        notify(ctx, class::STRING, "set", key);
        ctx.reply.int(1);
    }
    Ok(())
}

fn set_with_expiry(ctx: &mut Ctx, args: &Args, unit: ExpireUnit, cmd: &'static str) -> CmdResult {
    let v = parse_int(args.get(2))?;
    let at = absolute_expiry(unit, v, now_ms()).ok_or(CmdError::InvalidExpire(cmd))?;
    let key = args.get(1);
    ctx.server.keyspace.lock_key(key).db(ctx.client.db).set(key, Value::Str(StrValue::from_bytes(args.get(3))), at);
    notify(ctx, class::STRING, "set", key);
    notify(ctx, class::GENERIC, "expire", key);
    ctx.reply.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_with_expiry(ctx, args, ExpireUnit::Seconds, "setex")
}

fn psetex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_with_expiry(ctx, args, ExpireUnit::Millis, "psetex")
}

fn getset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let old = string_ref(table, key)?.cloned();
    table.set(key, Value::Str(StrValue::from_bytes(args.get(2))), 0);
    drop(shard);
    match old {
        Some(s) => reply_str(ctx.reply, &s),
        None => ctx.reply.null(),
    }
    // After the reply, as Redis sends it.
    notify(ctx, class::STRING, "set", key);
    Ok(())
}

fn getex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut expire: Option<(ExpireUnit, &[u8])> = None;
    let mut persist = false;
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if is(a, "persist") && expire.is_none() {
            persist = true;
        } else if let Some(unit) =
            expire_unit(a).filter(|u| expire.is_none_or(|(prev, _)| prev == *u) && !persist && i + 1 < args.len())
        {
            expire = Some((unit, args.get(i + 1)));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let Some(e) = string_at(table, key)? else {
        notify::miss(ctx, key);
        ctx.reply.null();
        return Ok(());
    };
    // Like Redis, the expiry is validated only once the key is known to exist.
    let expire_at = match expire {
        Some((unit, v)) => {
            Some(absolute_expiry(unit, parse_int(v)?, now_ms()).ok_or(CmdError::InvalidExpire("getex"))?)
        }
        None => None,
    };
    ctx.hit();
    let value = e.clone();
    let mut event = None;
    if let Some(at) = expire_at {
        if at <= now_ms() {
            table.remove(key);
            event = Some((class::GENERIC, "del"));
        } else {
            table.set_expire(key, at);
            event = Some((class::GENERIC, "expire"));
        }
    } else if persist && table.expire_at(key) != 0 {
        table.set_expire(key, 0);
        event = Some((class::GENERIC, "persist"));
    }
    drop(shard);
    reply_str(ctx.reply, &value);
    if let Some((class, name)) = event {
        notify(ctx, class, name, key);
    }
    Ok(())
}

fn getdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    if string_at(table, key)?.is_none() {
        notify::miss(ctx, key);
        ctx.reply.null();
        return Ok(());
    }
    ctx.hit();
    let e = table.remove(key);
    drop(shard);
    match e {
        Some(Entry { value: Value::Str(s), .. }) => reply_str(ctx.reply, &s),
        #[allow(unreachable_patterns)]
        _ => ctx.reply.null(),
    }
    notify(ctx, class::GENERIC, "del", key);
    Ok(())
}

fn mget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let keys = args.tail(1);
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter());
    ctx.reply.array(keys.len());
    for key in keys.iter() {
        match locked.table(db, key).touch(key) {
            Some(Entry { value: Value::Str(s), .. }) => {
                ctx.hit();
                let mut scratch = [0u8; 20];
                ctx.reply.bulk(s.bytes(&mut scratch));
            }
            #[allow(unreachable_patterns)]
            Some(_) => {
                ctx.hit();
                ctx.reply.null();
            }
            None => {
                notify::miss(ctx, key);
                ctx.reply.null();
            }
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, args: &Args, only_new: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(if only_new { "msetnx" } else { "mset" }.into()));
    }
    let db = ctx.client.db;
    let pairs = (args.len() - 1) / 2;
    let mut locked = ctx.server.keyspace.lock_keys((0..pairs).map(|i| args.get(1 + 2 * i)));
    if only_new && (0..pairs).any(|i| locked.table(db, args.get(1 + 2 * i)).contains(args.get(1 + 2 * i))) {
        drop(locked);
        ctx.reply.int(0);
        return Ok(());
    }
    for i in 0..pairs {
        let key = args.get(1 + 2 * i);
        locked.table(db, key).set(key, Value::Str(StrValue::from_bytes(args.get(2 + 2 * i))), 0);
        // Announced key by key (after that key's `new`), as Redis does; publishing takes no
        // shard lock, so it may happen with the keys locked.
        notify(ctx, class::STRING, "set", key);
    }
    drop(locked);
    if only_new {
        ctx.reply.int(1);
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mset_generic(ctx, args, false)
}

fn msetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mset_generic(ctx, args, true)
}

fn max_string_len(ctx: &Ctx) -> u64 {
    ctx.server.live.proto_max_bulk_len.load(Ordering::Relaxed)
}

fn too_long() -> CmdError {
    CmdError::msg("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
}

fn append(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let add = args.get(2);
    let max = max_string_len(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let len = match string_at(table, key)? {
        Some(s) => {
            if (s.len() + add.len()) as u64 > max {
                return Err(too_long());
            }
            let v = s.make_mut();
            v.extend_from_slice(add);
            v.len()
        }
        None => {
            table.set(key, Value::Str(StrValue::from_bytes(add)), 0);
            add.len()
        }
    };
    drop(shard);
    notify(ctx, class::STRING, "append", key);
    ctx.reply.int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let len = string_ref(shard.db(ctx.client.db), key)?.map(|s| s.len());
    drop(shard);
    notify::count_lookup(ctx, len.is_some(), key);
    ctx.reply.int(len.unwrap_or(0) as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = parse_int(args.get(2))?;
    let end = parse_int(args.get(3))?;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let found = string_ref(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, found.is_some(), key);
    let Some(e) = found else {
        ctx.reply.bulk(b"");
        return Ok(());
    };
    let mut scratch = [0u8; 20];
    let s = e.bytes(&mut scratch);
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.reply.bulk(b"");
        return Ok(());
    }
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end }.min(len - 1);
    if start > end || len == 0 {
        ctx.reply.bulk(b"");
    } else {
        ctx.reply.bulk(&s[start as usize..=end as usize]);
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let offset = parse_int(args.get(2))?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let key = args.get(1);
    let value = args.get(3);
    let max = max_string_len(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let len = match string_at(table, key)? {
        Some(s) => {
            if value.is_empty() {
                s.len()
            } else {
                if offset as u64 + value.len() as u64 > max {
                    return Err(too_long());
                }
                let v = s.make_mut();
                let end = offset as usize + value.len();
                if v.len() < end {
                    v.resize(end, 0);
                }
                v[offset as usize..end].copy_from_slice(value);
                v.len()
            }
        }
        None => {
            if value.is_empty() {
                0
            } else {
                if offset as u64 + value.len() as u64 > max {
                    return Err(too_long());
                }
                let mut v = vec![0u8; offset as usize + value.len()];
                v[offset as usize..].copy_from_slice(value);
                let len = v.len();
                table.set(key, Value::Str(StrValue::Raw(Box::new(v))), 0);
                len
            }
        }
    };
    drop(shard);
    if !value.is_empty() {
        notify(ctx, class::STRING, "setrange", key);
    }
    ctx.reply.int(len as i64);
    Ok(())
}

fn incr_by(ctx: &mut Ctx, key: &[u8], delta: i64) -> CmdResult {
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let new = match string_at(table, key)? {
        Some(s) => {
            let cur = s.as_int().ok_or(CmdError::NotInteger)?;
            let new = cur.checked_add(delta).ok_or(CmdError::Overflow)?;
            *s = StrValue::Int(new);
            new
        }
        None => {
            table.set(key, Value::Str(StrValue::Int(delta)), 0);
            delta
        }
    };
    drop(shard);
    notify(ctx, class::STRING, "incrby", key);
    ctx.reply.int(new);
    Ok(())
}

fn incr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, args.get(1), 1)
}

fn decr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, args.get(1), -1)
}

fn incrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let delta = parse_int(args.get(2))?;
    incr_by(ctx, args.get(1), delta)
}

fn decrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let delta = parse_int(args.get(2))?;
    let delta = delta.checked_neg().ok_or(CmdError::msg("ERR decrement would overflow"))?;
    incr_by(ctx, args.get(1), delta)
}

extern "C" {
    fn roost_incrbyfloat(
        cur: *const u8,
        curlen: usize,
        incr: *const u8,
        incrlen: usize,
        out: *mut u8,
        outcap: usize,
        outlen: *mut usize,
    ) -> i32;
}

/// Adds `incr` to `current` (absent = 0) in long double precision, returning Redis's rendering.
pub fn add_long_double(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, CmdError> {
    let mut out = vec![0u8; 5 * 1024];
    let mut len = 0usize;
    let (cur_ptr, cur_len) = current.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
    // SAFETY: pointers and lengths describe live slices; `out` has `out.len()` writable bytes and
    // the C side writes at most that many, reporting the length used.
    let rc = unsafe {
        roost_incrbyfloat(cur_ptr, cur_len, incr.as_ptr(), incr.len(), out.as_mut_ptr(), out.len(), &mut len)
    };
    match rc {
        0 => {
            out.truncate(len);
            Ok(out)
        }
        3 => Err(CmdError::msg("ERR increment would produce NaN or Infinity")),
        _ => Err(CmdError::NotFloat),
    }
}

fn incrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let result = match string_at(table, key)? {
        Some(s) => {
            let mut scratch = [0u8; 20];
            let new = add_long_double(Some(s.bytes(&mut scratch)), args.get(2))?;
            *s = StrValue::raw(&new);
            new
        }
        None => {
            let new = add_long_double(None, args.get(2))?;
            table.set(key, Value::Str(StrValue::raw(&new)), 0);
            new
        }
    };
    drop(shard);
    notify(ctx, class::STRING, "incrbyfloat", key);
    ctx.reply.bulk(&result);
    Ok(())
}

fn lcs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut want_len, mut want_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let a = args.get(i);
        if is(a, "idx") {
            want_idx = true;
        } else if is(a, "len") {
            want_len = true;
        } else if is(a, "withmatchlen") {
            with_match_len = true;
        } else if is(a, "minmatchlen") && i + 1 < args.len() {
            min_match_len = parse_int(args.get(i + 1))?.max(0);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let db = ctx.client.db;
    let (ka, kb) = (args.get(1), args.get(2));
    let (a, b) = {
        let mut locked = ctx.server.keyspace.lock_keys([ka, kb]);
        let mut fetch = |key: &[u8]| -> Result<Option<Vec<u8>>, CmdError> {
            match locked.table(db, key).touch(key) {
                None => Ok(None),
                Some(Entry { value: Value::Str(s), .. }) => Ok(Some(s.to_vec())),
                #[allow(unreachable_patterns)]
                Some(_) => Err(CmdError::msg("ERR The specified keys must contain string values")),
            }
        };
        (fetch(ka)?, fetch(kb)?)
    };
    notify::count_lookup(ctx, a.is_some(), ka);
    notify::count_lookup(ctx, b.is_some(), kb);
    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
    if want_len && want_idx {
        return Err(CmdError::msg("ERR If you want both the length and indexes, please just use IDX."));
    }
    if (a.len() as u64 + 1) * (b.len() as u64 + 1) * 4 > max_string_len(ctx).max(1 << 20) {
        return Err(CmdError::msg("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    let m = LcsMatrix::new(&a, &b);
    if want_len {
        ctx.reply.int(m.at(a.len(), b.len()) as i64);
        return Ok(());
    }
    let (common, ranges) = m.walk(&a, &b, min_match_len as usize);
    if !want_idx {
        ctx.reply.bulk(&common);
        return Ok(());
    }
    let r = &mut *ctx.reply;
    r.map(2);
    r.bulk(b"matches");
    r.array(ranges.len());
    for (a_start, a_end, b_start, b_end) in ranges {
        r.array(if with_match_len { 3 } else { 2 });
        r.array(2);
        r.int(a_start as i64);
        r.int(a_end as i64);
        r.array(2);
        r.int(b_start as i64);
        r.int(b_end as i64);
        if with_match_len {
            r.int((a_end - a_start + 1) as i64);
        }
    }
    r.bulk(b"len");
    r.int(m.at(a.len(), b.len()) as i64);
    Ok(())
}

/// The dynamic-programming table of LCS lengths of every pair of prefixes.
struct LcsMatrix {
    cols: usize,
    cells: Vec<u32>,
}

impl LcsMatrix {
    fn new(a: &[u8], b: &[u8]) -> LcsMatrix {
        let cols = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * cols];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * cols + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * cols + j - 1] + 1
                } else {
                    cells[(i - 1) * cols + j].max(cells[i * cols + j - 1])
                };
            }
        }
        LcsMatrix { cols, cells }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.cols + j]
    }

    /// Walks back from the end: the common subsequence, and its matching ranges from the last to
    /// the first as (a_start, a_end, b_start, b_end), keeping those at least `min_len` long.
    #[allow(clippy::type_complexity)]
    fn walk(&self, a: &[u8], b: &[u8], min_len: usize) -> (Vec<u8>, Vec<(usize, usize, usize, usize)>) {
        let mut common = vec![0u8; self.at(a.len(), b.len()) as usize];
        let mut idx = common.len();
        let mut ranges = Vec::new();
        let (mut i, mut j) = (a.len(), b.len());
        let mut current: Option<(usize, usize, usize, usize)> = None;
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                common[idx - 1] = a[i - 1];
                current = match current {
                    None => Some((i - 1, i - 1, j - 1, j - 1)),
                    Some((as_, ae, bs, be)) if as_ == i && bs == j => Some((as_ - 1, ae, bs - 1, be)),
                    Some(r) => {
                        emit = true;
                        Some(r)
                    }
                };
                if let Some((as_, _, bs, _)) = current {
                    if as_ == 0 || bs == 0 {
                        emit = true;
                    }
                }
                idx -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = current.is_some();
            }
            if emit {
                if let Some((as_, ae, bs, be)) = current.take() {
                    if ae - as_ + 1 >= min_len {
                        ranges.push((as_, ae, bs, be));
                    }
                }
            }
        }
        (common, ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_double_increments_print_like_redis() {
        assert_eq!(add_long_double(Some(b"10.50"), b"0.1").unwrap(), b"10.6");
        assert_eq!(add_long_double(None, b"5.0e3").unwrap(), b"5000");
        assert_eq!(add_long_double(Some(b"3"), b"-3").unwrap(), b"0");
        assert_eq!(add_long_double(Some(b"abc"), b"1"), Err(CmdError::NotFloat));
        assert_eq!(add_long_double(Some(b"1"), b" 1"), Err(CmdError::NotFloat));
        assert!(add_long_double(Some(b"1"), b"inf").is_err());
    }

    #[test]
    fn lcs_matches_redis_example() {
        let (a, b) = (b"ohmytext".to_vec(), b"mynewtext".to_vec());
        let m = LcsMatrix::new(&a, &b);
        let (common, ranges) = m.walk(&a, &b, 0);
        assert_eq!(common, b"mytext");
        assert_eq!(ranges, vec![(4, 7, 5, 8), (2, 3, 0, 1)]);
    }

    #[test]
    fn expiry_overflow_is_invalid() {
        assert_eq!(absolute_expiry(ExpireUnit::Seconds, i64::MAX / 10, 0), None);
        assert_eq!(absolute_expiry(ExpireUnit::Millis, 0, 0), None);
        assert_eq!(absolute_expiry(ExpireUnit::UnixSeconds, 2, 0), Some(2000));
    }
}

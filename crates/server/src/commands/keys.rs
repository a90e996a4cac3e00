//! Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, RENAME(NX), COPY, MOVE, KEYS, SCAN,
//! RANDOMKEY, TOUCH, the EXPIRE and TTL families, PERSIST, OBJECT and MEMORY.

use roost_resp::{Args, ReplyBuf};
use roost_store::{glob, now_ms, now_secs, Entry, Key, StrValue, Value, SHARDS};

use super::{is, parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify, notify_db};

const ONE_KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };
const ALL_KEYS: Keys = Keys::Range { first: 1, last: -1, step: 1 };
const TWO_KEYS: Keys = Keys::Range { first: 1, last: 2, step: 1 };
/// Subcommands such as OBJECT ENCODING take their key after the subcommand name.
const SUB_KEY: Keys = Keys::Range { first: 2, last: 2, step: 1 };

const READ_FAST: &[&str] = &["@keyspace", "@read", "@fast"];
const READ_SLOW: &[&str] = &["@keyspace", "@read", "@slow"];
const WRITE_FAST: &[&str] = &["@keyspace", "@write", "@fast"];
const WRITE_SLOW: &[&str] = &["@keyspace", "@write", "@slow"];

const GENERIC: CommandSpec = CommandSpec { group: "generic", ..BASE };

pub const DEL: CommandSpec = CommandSpec {
    name: "del",
    arity: -2,
    flags: WRITE,
    keys: ALL_KEYS,
    key_flags: &["RM", "DELETE"],
    acl: WRITE_SLOW,
    summary: "Delete a key",
    complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
    run: del,
    ..GENERIC
};
pub const UNLINK: CommandSpec = CommandSpec {
    name: "unlink",
    arity: -2,
    flags: WRITE | FAST,
    keys: ALL_KEYS,
    key_flags: &["RM", "DELETE"],
    acl: WRITE_FAST,
    since: "4.0.0",
    summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
    complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
    run: unlink,
    ..GENERIC
};
pub const EXISTS: CommandSpec = CommandSpec {
    name: "exists",
    arity: -2,
    flags: READONLY | FAST,
    keys: ALL_KEYS,
    key_flags: &["RO"],
    acl: READ_FAST,
    summary: "Determine if a key exists",
    complexity: "O(N) where N is the number of keys to check.",
    run: exists,
    ..GENERIC
};
pub const TYPE: CommandSpec = CommandSpec {
    name: "type",
    arity: 2,
    flags: READONLY | FAST,
    keys: ONE_KEY,
    key_flags: &["RO"],
    acl: READ_FAST,
    summary: "Determine the type stored at key",
    run: type_,
    ..GENERIC
};
// The command table carries one set of key flags per command; RENAME, RENAMENX and COPY list
// their source key's (the destination's are OW UPDATE / OW INSERT in Redis).
pub const RENAME: CommandSpec = CommandSpec {
    name: "rename",
    arity: 3,
    flags: WRITE,
    keys: TWO_KEYS,
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_SLOW,
    summary: "Rename a key",
    run: rename,
    ..GENERIC
};
pub const RENAMENX: CommandSpec = CommandSpec {
    name: "renamenx",
    arity: 3,
    flags: WRITE | FAST,
    keys: TWO_KEYS,
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: WRITE_FAST,
    summary: "Rename a key, only if the new key does not exist",
    run: renamenx,
    ..GENERIC
};
pub const COPY: CommandSpec = CommandSpec {
    name: "copy",
    arity: -3,
    flags: WRITE | DENYOOM,
    keys: TWO_KEYS,
    key_flags: &["RO", "ACCESS"],
    acl: WRITE_SLOW,
    since: "6.2.0",
    summary: "Copy a key",
    complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
    run: copy,
    ..GENERIC
};
pub const MOVE: CommandSpec = CommandSpec {
    name: "move",
    arity: 3,
    flags: WRITE | FAST,
    keys: ONE_KEY,
    key_flags: &["RW", "ACCESS", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Move a key to another database",
    run: move_,
    ..GENERIC
};
pub const KEYS: CommandSpec = CommandSpec {
    name: "keys",
    arity: 2,
    flags: READONLY,
    acl: &["@keyspace", "@read", "@slow", "@dangerous"],
    summary: "Find all keys matching the given pattern",
    complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
    run: keys,
    ..GENERIC
};
pub const SCAN: CommandSpec = CommandSpec {
    name: "scan",
    arity: -2,
    flags: READONLY,
    acl: READ_SLOW,
    since: "2.8.0",
    summary: "Incrementally iterate the keys space",
    complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
    run: scan,
    ..GENERIC
};
pub const RANDOMKEY: CommandSpec = CommandSpec {
    name: "randomkey",
    arity: 1,
    flags: READONLY,
    acl: READ_SLOW,
    summary: "Return a random key from the keyspace",
    run: randomkey,
    ..GENERIC
};
pub const TOUCH: CommandSpec = CommandSpec {
    name: "touch",
    arity: -2,
    flags: READONLY | FAST,
    keys: ALL_KEYS,
    key_flags: &["RO"],
    acl: READ_FAST,
    since: "3.2.1",
    summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
    complexity: "O(N) where N is the number of keys that will be touched.",
    run: touch,
    ..GENERIC
};
pub const EXPIRE: CommandSpec = CommandSpec {
    name: "expire",
    arity: -3,
    flags: WRITE | FAST,
    keys: ONE_KEY,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Set a key's time to live in seconds",
    run: expire,
    ..GENERIC
};
pub const PEXPIRE: CommandSpec = CommandSpec {
    name: "pexpire",
    since: "2.6.0",
    summary: "Set a key's time to live in milliseconds",
    run: pexpire,
    ..EXPIRE
};
pub const EXPIREAT: CommandSpec = CommandSpec {
    name: "expireat",
    since: "1.2.0",
    summary: "Set the expiration for a key as a UNIX timestamp",
    run: expireat,
    ..EXPIRE
};
pub const PEXPIREAT: CommandSpec = CommandSpec {
    name: "pexpireat",
    since: "2.6.0",
    summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
    run: pexpireat,
    ..EXPIRE
};
pub const TTL: CommandSpec = CommandSpec {
    name: "ttl",
    arity: 2,
    flags: READONLY | FAST,
    keys: ONE_KEY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_FAST,
    summary: "Get the time to live for a key in seconds",
    run: ttl,
    ..GENERIC
};
pub const PTTL: CommandSpec = CommandSpec {
    name: "pttl",
    since: "2.6.0",
    summary: "Get the time to live for a key in milliseconds",
    run: pttl,
    ..TTL
};
pub const EXPIRETIME: CommandSpec = CommandSpec {
    name: "expiretime",
    since: "7.0.0",
    summary: "Get the expiration Unix timestamp for a key",
    run: expiretime,
    ..TTL
};
pub const PEXPIRETIME: CommandSpec = CommandSpec {
    name: "pexpiretime",
    since: "7.0.0",
    summary: "Get the expiration Unix timestamp for a key in milliseconds",
    run: pexpiretime,
    ..TTL
};
pub const PERSIST: CommandSpec = CommandSpec {
    name: "persist",
    arity: 2,
    flags: WRITE | FAST,
    keys: ONE_KEY,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    since: "2.2.0",
    summary: "Remove the expiration from a key",
    run: persist,
    ..GENERIC
};

const OBJECT_KEY_SUB: CommandSpec = CommandSpec {
    arity: 3,
    flags: READONLY,
    keys: SUB_KEY,
    key_flags: &["RO"],
    acl: READ_SLOW,
    since: "2.2.3",
    ..GENERIC
};
const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "object|encoding",
        summary: "Inspect the internal encoding of a Redis object",
        run: object_encoding,
        ..OBJECT_KEY_SUB
    },
    CommandSpec {
        name: "object|freq",
        since: "4.0.0",
        summary: "Get the logarithmic access frequency counter of a Redis object",
        run: object_freq,
        ..OBJECT_KEY_SUB
    },
    CommandSpec {
        name: "object|idletime",
        summary: "Get the time since a Redis object was last accessed",
        run: object_idletime,
        ..OBJECT_KEY_SUB
    },
    CommandSpec {
        name: "object|refcount",
        summary: "Get the number of references to the value of the key",
        run: object_refcount,
        ..OBJECT_KEY_SUB
    },
    CommandSpec {
        name: "object|help",
        arity: 2,
        flags: LOADING | STALE,
        acl: &["@keyspace", "@slow"],
        since: "6.2.0",
        summary: "Show helpful text about the different subcommands",
        run: object_help,
        ..GENERIC
    },
];
pub const OBJECT: CommandSpec = CommandSpec {
    name: "object",
    arity: -2,
    acl: &["@slow"],
    since: "2.2.3",
    summary: "A container for object introspection commands",
    complexity: "Depends on subcommand.",
    subcommands: OBJECT_SUBCOMMANDS,
    ..GENERIC
};

const MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "memory|usage",
        arity: -3,
        flags: READONLY,
        keys: SUB_KEY,
        key_flags: &["RO"],
        acl: &["@read", "@slow"],
        group: "server",
        since: "4.0.0",
        summary: "Estimate the memory usage of a key",
        complexity: "O(N) where N is the number of samples.",
        run: memory_usage,
        ..BASE
    },
    CommandSpec {
        name: "memory|help",
        arity: 2,
        flags: LOADING | STALE,
        acl: &["@slow"],
        group: "server",
        since: "4.0.0",
        summary: "Show helpful text about the different subcommands",
        run: memory_help,
        ..BASE
    },
];
pub const MEMORY: CommandSpec = CommandSpec {
    name: "memory",
    arity: -2,
    acl: &["@slow"],
    group: "server",
    since: "4.0.0",
    summary: "A container for memory diagnostics commands",
    complexity: "Depends on subcommand.",
    subcommands: MEMORY_SUBCOMMANDS,
    ..BASE
};

/// Removes every key argument of a DEL/UNLINK, returning what was removed so the caller can free
/// it after the shard locks are released.
fn remove_keys(ctx: &mut Ctx, args: &Args) -> Vec<Entry> {
    let db = ctx.client.db;
    let keys = args.tail(1);
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter());
    let mut removed = Vec::new();
    let mut names = Vec::new();
    for k in keys.iter() {
        if let Some(e) = locked.table(db, k).remove(k) {
            removed.push(e);
            names.push(k);
        }
    }
    drop(locked);
    for k in names {
        notify(ctx, class::GENERIC, "del", k);
    }
    removed
}

fn del(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let removed = remove_keys(ctx, args);
    ctx.reply.int(removed.len() as i64);
    Ok(())
}

/// Above this many heap bytes, UNLINK hands the values to another thread to free.
const LAZY_FREE_BYTES: usize = 64 * 1024;

fn unlink(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let removed = remove_keys(ctx, args);
    ctx.reply.int(removed.len() as i64);
    let heap: usize = removed.iter().map(|e| e.value.heap_size()).sum();
    if heap > LAZY_FREE_BYTES {
        // If the thread cannot start, the closure (and the values) is dropped right here instead.
        let _ = std::thread::Builder::new().name("roost-lazyfree".into()).spawn(move || drop(removed));
    }
    Ok(())
}

fn exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let keys = args.tail(1);
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter());
    let mut n = 0;
    for k in keys.iter() {
        let found = locked.table(db, k).get(k).is_some();
        notify::count_lookup(ctx, found, k);
        n += found as i64;
    }
    drop(locked);
    ctx.reply.int(n);
    Ok(())
}

fn type_(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let name = shard.db(ctx.client.db).get(key).map(|e| e.value.type_name());
    drop(shard);
    notify::count_lookup(ctx, name.is_some(), key);
    ctx.reply.simple(name.unwrap_or("none").as_bytes());
    Ok(())
}

fn rename_generic(ctx: &mut Ctx, args: &Args, nx: bool) -> CmdResult {
    let db = ctx.client.db;
    let (src, dst) = (args.get(1), args.get(2));
    let mut locked = ctx.server.keyspace.lock_keys([src, dst]);
    if locked.table(db, src).touch(src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    let mut replaced = None;
    let mut renamed = false;
    if src != dst && !(nx && locked.table(db, dst).contains(dst)) {
        // The entry was live a moment ago; if its time ran out since, it is gone all the same.
        let Some((entry, expire_at)) = locked.table(db, src).take(src) else {
            return Err(CmdError::NoSuchKey);
        };
        let table = locked.table(db, dst);
        replaced = table.remove(dst);
        table.insert_entry(dst, entry, expire_at);
        renamed = true;
    }
    drop(locked);
    drop(replaced);
    if renamed {
        notify(ctx, class::GENERIC, "rename_from", src);
        notify(ctx, class::GENERIC, "rename_to", dst);
    }
    if nx {
        ctx.reply.int(renamed as i64);
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

fn rename(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rename_generic(ctx, args, true)
}

fn same_object() -> CmdError {
    CmdError::msg("ERR source and destination objects are the same")
}

/// A database number argument: an integer that fits a C int, then a valid database index.
fn parse_db(ctx: &Ctx, arg: &[u8]) -> Result<usize, CmdError> {
    let v = parse_int(arg)?;
    let v = i32::try_from(v)
        .map_err(|_| CmdError::msg("ERR value is out of range, value must between -2147483648 and 2147483647"))?;
    match usize::try_from(v) {
        Ok(db) if db < ctx.server.keyspace.databases() => Ok(db),
        _ => Err(CmdError::DbIndexOutOfRange),
    }
}

fn copy(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let mut target = db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let a = args.get(i);
        if is(a, "replace") {
            replace = true;
        } else if is(a, "db") && i + 1 < args.len() {
            target = parse_db(ctx, args.get(i + 1))?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let (src, dst) = (args.get(1), args.get(2));
    if target == db && src == dst {
        return Err(same_object());
    }
    // A key's shard does not depend on the database, so these locks cover both ends.
    let mut locked = ctx.server.keyspace.lock_keys([src, dst]);
    let source = locked.table(db, src);
    let found = source.touch(src).map(|e| e.value.clone()).map(|v| (v, source.expire_at(src)));
    notify::count_lookup(ctx, found.is_some(), src);
    let Some((value, expire_at)) = found else {
        drop(locked);
        ctx.reply.int(0);
        return Ok(());
    };
    let table = locked.table(target, dst);
    if !replace && table.contains(dst) {
        drop(locked);
        ctx.reply.int(0);
        return Ok(());
    }
    let replaced = table.remove(dst);
    table.set(dst, value, expire_at);
    drop(locked);
    drop(replaced);
    if target != db {
        ctx.server.watches.touch(target, dst);
    }
    notify_db(ctx, class::GENERIC, "copy_to", dst, target);
    ctx.reply.int(1);
    Ok(())
}

fn move_(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let target = parse_db(ctx, args.get(2))?;
    if target == db {
        return Err(same_object());
    }
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let moved = if shard.db(db).touch(key).is_none() || shard.db(target).contains(key) {
        false
    } else {
        match shard.db(db).take(key) {
            Some((entry, expire_at)) => {
                shard.db(target).insert_entry(key, entry, expire_at);
                true
            }
            None => false,
        }
    };
    drop(shard);
    if moved {
        ctx.server.watches.touch(target, key);
        notify_db(ctx, class::GENERIC, "move_from", key, db);
        notify_db(ctx, class::GENERIC, "move_to", key, target);
    }
    ctx.reply.int(moved as i64);
    Ok(())
}

fn keys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let pattern = args.get(1);
    let everything = pattern == b"*";
    let db = ctx.client.db;
    let now = now_ms();
    // Replies are encoded straight into a side buffer, one shard at a time, so no key is copied
    // twice and no lock is held while the client's buffer grows.
    let mut body = ReplyBuf { out: Vec::new(), resp3: ctx.reply.resp3 };
    let mut n = 0;
    for idx in 0..SHARDS {
        let shard = ctx.server.keyspace.lock_shard(idx);
        let Some(table) = shard.db_ref(db) else { continue };
        for (k, _, expire_at) in table.iter() {
            let live = expire_at == 0 || expire_at > now;
            if live && (everything || glob::matches(pattern, k.as_bytes(), false)) {
                body.bulk(k.as_bytes());
                n += 1;
            }
        }
    }
    ctx.reply.array(n);
    ctx.reply.out.extend_from_slice(&body.out);
    Ok(())
}

/// A SCAN cursor as C's strtoul reads it in base 10: an optional sign (a minus wraps around),
/// digits, nothing after; an empty argument is cursor 0. None for anything else or overflow.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match arg[0] {
        b'+' => (false, &arg[1..]),
        b'-' => (true, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// The options of SCAN and its per-type forms (HSCAN, SSCAN, ZSCAN): COUNT, MATCH and, for
/// SCAN only, TYPE, in any order from argument `from` on.
pub(crate) struct ScanOptions<'a> {
    pub count: i64,
    /// None when every element matches (no MATCH, or MATCH *).
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'a [u8]>,
}

impl<'a> ScanOptions<'a> {
    pub(crate) fn parse(args: &Args<'a>, from: usize, allow_type: bool) -> Result<ScanOptions<'a>, CmdError> {
        let mut o = ScanOptions { count: 10, pattern: None, type_name: None };
        let mut i = from;
        while i < args.len() {
            let a = args.get(i);
            let has_value = i + 1 < args.len();
            if is(a, "count") && has_value {
                o.count = parse_int(args.get(i + 1))?;
                if o.count < 1 {
                    return Err(CmdError::Syntax);
                }
            } else if is(a, "match") && has_value {
                let p = args.get(i + 1);
                o.pattern = (p != b"*").then_some(p);
            } else if allow_type && is(a, "type") && has_value {
                o.type_name = Some(args.get(i + 1));
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
        Ok(o)
    }
}

fn scan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(args.get(1)).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let ScanOptions { count, pattern, type_name } = ScanOptions::parse(args, 2, true)?;
    let db = ctx.client.db;
    let keyspace = &ctx.server.keyspace;
    // Far beyond any keyspace, and small enough that the store's budget arithmetic cannot overflow.
    let budget = count.min(u32::MAX as i64) as usize;
    let mut found: Vec<Key> = Vec::new();
    let mut next = cursor;
    // The store stops a step after passing a number of empty shards. Those are cheap, so steps
    // continue until COUNT keys were seen: a small or sparse database then answers in one call,
    // as Redis's does, instead of in a run of near-empty pages. Each round passes at least ten
    // empty shards, so this bound lets one call cross all of them once, and no more.
    let mut visited = 0;
    for _ in 0..SHARDS / 10 + 1 {
        next = keyspace.scan(db, next, budget - visited, |k| {
            visited += 1;
            if pattern.is_none_or(|p| glob::matches(p, k.as_bytes(), false)) {
                found.push(k.clone());
            }
        });
        if visited >= budget || next == 0 {
            break;
        }
    }
    if let Some(wanted) = type_name {
        found.retain(|k| {
            let mut shard = keyspace.lock_key(k.as_bytes());
            let actual = shard.db(db).get(k.as_bytes()).map(|e| e.value.type_name());
            drop(shard);
            notify::count_lookup(ctx, actual.is_some(), k.as_bytes());
            actual.is_some_and(|t| t.as_bytes().eq_ignore_ascii_case(wanted))
        });
    }
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(found.len());
    for k in &found {
        ctx.reply.bulk(k.as_bytes());
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let rng = &mut *ctx.rng;
    let key = ctx.server.keyspace.random_key(ctx.client.db, &mut || rng.next_u64());
    match key {
        Some(k) => ctx.reply.bulk(k.as_bytes()),
        None => ctx.reply.null(),
    }
    Ok(())
}

fn touch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    let keys = args.tail(1);
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter());
    let mut n = 0;
    for k in keys.iter() {
        let found = locked.table(db, k).touch(k).is_some();
        notify::count_lookup(ctx, found, k);
        n += found as i64;
    }
    drop(locked);
    ctx.reply.int(n);
    Ok(())
}

/// EXPIRE's NX/XX/GT/LT conditions.
#[derive(Default, Debug, PartialEq, Eq)]
struct ExpireCondition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ExpireCondition {
    fn parse(args: &Args) -> Result<ExpireCondition, CmdError> {
        let mut c = ExpireCondition::default();
        for a in args.iter().skip(3) {
            if is(a, "nx") {
                c.nx = true;
            } else if is(a, "xx") {
                c.xx = true;
            } else if is(a, "gt") {
                c.gt = true;
            } else if is(a, "lt") {
                c.lt = true;
            } else {
                return Err(CmdError::msg(format!("ERR Unsupported option {}", String::from_utf8_lossy(a))));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::msg("ERR NX and XX, GT or LT options at the same time are not compatible"));
        }
        if c.gt && c.lt {
            return Err(CmdError::msg("ERR GT and LT options at the same time are not compatible"));
        }
        Ok(c)
    }

    /// Whether a new expiry `when` may replace `current` (0 = none, which GT and LT treat as
    /// an infinitely distant time).
    fn allows(&self, current: u64, when: i64) -> bool {
        let current = (current != 0).then_some(current as i64);
        match current {
            None => !self.xx && !self.gt,
            Some(cur) => {
                let blocked = self.nx || (self.gt && when <= cur) || (self.lt && when >= cur);
                !blocked
            }
        }
    }
}

/// The absolute time in ms an EXPIRE-family argument names, or None when the conversion to
/// milliseconds or the addition of `base` overflows.
fn expire_time(v: i64, seconds: bool, base: i64) -> Option<i64> {
    let ms = if seconds { v.checked_mul(1000)? } else { v };
    ms.checked_add(base)
}

fn expire_generic(ctx: &mut Ctx, args: &Args, seconds: bool, relative: bool, name: &'static str) -> CmdResult {
    let cond = ExpireCondition::parse(args)?;
    let v = parse_int(args.get(2))?;
    let base = if relative { now_ms() as i64 } else { 0 };
    let when = expire_time(v, seconds, base).ok_or(CmdError::InvalidExpire(name))?;
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    if table.touch(key).is_none() {
        drop(shard);
        ctx.reply.int(0);
        return Ok(());
    }
    if !cond.allows(table.expire_at(key), when) {
        drop(shard);
        ctx.reply.int(0);
        return Ok(());
    }
    if when <= now_ms() as i64 {
        // A time already past deletes the key now rather than leaving it to expire.
        let removed = table.remove(key);
        drop(shard);
        drop(removed);
        notify(ctx, class::GENERIC, "del", key);
        ctx.reply.int(1);
    } else {
        table.set_expire(key, when as u64);
        drop(shard);
        // Redis answers before announcing a new expiry, but announces a deletion first.
        ctx.reply.int(1);
        notify(ctx, class::GENERIC, "expire", key);
    }
    Ok(())
}

fn expire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, true, "expire")
}

fn pexpire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, true, "pexpire")
}

fn expireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, false, "expireat")
}

fn pexpireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, false, "pexpireat")
}

fn ttl_generic(ctx: &mut Ctx, args: &Args, millis: bool, absolute: bool) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let found = table.get(key).is_some().then(|| table.expire_at(key));
    drop(shard);
    notify::count_lookup(ctx, found.is_some(), key);
    let v = match found {
        None => -2,
        Some(0) => -1,
        Some(at) => {
            // Wide arithmetic: rounding an expiry near i64::MAX to seconds must not overflow.
            let ms = if absolute { at as i128 } else { (at as i128 - now_ms() as i128).max(0) };
            let v = if millis { ms } else { (ms + 500) / 1000 };
            v.min(i64::MAX as i128) as i64
        }
    };
    ctx.reply.int(v);
    Ok(())
}

fn ttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

fn pttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

fn expiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

fn pexpiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

fn persist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let had_expiry = table.touch(key).is_some_and(|e| e.volatile);
    if had_expiry {
        table.set_expire(key, 0);
    }
    drop(shard);
    if had_expiry {
        notify(ctx, class::GENERIC, "persist", key);
    }
    ctx.reply.int(had_expiry as i64);
    Ok(())
}

/// What OBJECT reports about a key, read under its shard lock without touching it.
struct ObjectInfo {
    encoding: &'static str,
    access: u32,
    small_int: bool,
}

/// Looks the key of an OBJECT subcommand up; a missing key is answered with a null here.
fn object_lookup(ctx: &mut Ctx, args: &Args) -> Option<ObjectInfo> {
    let key = args.get(2);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let info = shard.db(ctx.client.db).get(key).map(|e| ObjectInfo {
        encoding: e.value.encoding(),
        access: e.access,
        small_int: matches!(e.value, Value::Str(StrValue::Int(i)) if (0..SHARED_INTEGERS).contains(&i)),
    });
    drop(shard);
    // Counted as a hit or miss, but (as in Redis) never announced as a keymiss.
    ctx.count_lookup(info.is_some());
    if info.is_none() {
        ctx.reply.null();
    }
    info
}

/// Redis keeps one shared object for each integer below this and reports it as referenced
/// i32::MAX times.
const SHARED_INTEGERS: i64 = 10_000;
/// The counter Redis gives a new key under an LFU policy.
const LFU_INIT: u64 = 5;

fn maxmemory_policy(ctx: &Ctx) -> String {
    ctx.server.config.read().get_one("maxmemory-policy").unwrap_or_default()
}

fn object_encoding(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if let Some(info) = object_lookup(ctx, args) {
        ctx.reply.bulk(info.encoding.as_bytes());
    }
    Ok(())
}

fn object_freq(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(info) = object_lookup(ctx, args) else { return Ok(()) };
    if !maxmemory_policy(ctx).ends_with("-lfu") {
        return Err(CmdError::msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    // Roost keeps no access counter, only the last access time: report the counter of a key
    // touched once at that time, decayed as Redis decays it (one step per lfu-decay-time minutes).
    let decay_minutes =
        ctx.server.config.read().get_one("lfu-decay-time").and_then(|v| v.parse::<u64>().ok()).unwrap_or(1);
    let idle_minutes = now_secs().saturating_sub(info.access) as u64 / 60;
    // A decay time of 0 means the counter never decays.
    let periods = idle_minutes.checked_div(decay_minutes).unwrap_or(0);
    ctx.reply.int(LFU_INIT.saturating_sub(periods) as i64);
    Ok(())
}

fn object_idletime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(info) = object_lookup(ctx, args) else { return Ok(()) };
    if maxmemory_policy(ctx).ends_with("-lfu") {
        return Err(CmdError::msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    ctx.reply.int(now_secs().saturating_sub(info.access) as i64);
    Ok(())
}

fn object_refcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(info) = object_lookup(ctx, args) else { return Ok(()) };
    // Redis stops sharing integers when eviction may need per-object LRU/LFU data.
    let shared = info.small_int && {
        let config = ctx.server.config.read();
        let policy = config.get_one("maxmemory-policy").unwrap_or_default();
        config.maxmemory() == 0 || !(policy.ends_with("-lru") || policy.ends_with("-lfu"))
    };
    ctx.reply.int(if shared { i32::MAX as i64 } else { 1 });
    Ok(())
}

fn reply_lines(ctx: &mut Ctx, lines: &[&str]) {
    ctx.reply.array(lines.len());
    for l in lines {
        ctx.reply.simple(l.as_bytes());
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_lines(ctx, OBJECT_HELP);
    Ok(())
}

fn memory_usage(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut i = 3;
    while i < args.len() {
        // Roost measures values exactly, so SAMPLES is validated and otherwise has no effect.
        if is(args.get(i), "samples") && i + 1 < args.len() {
            if parse_int(args.get(i + 1))? < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = args.get(2);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let usage = shard.db(ctx.client.db).memory_usage(key);
    drop(shard);
    match usage {
        Some(bytes) => ctx.reply.int(bytes as i64),
        None => ctx.reply.null(),
    }
    Ok(())
}

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

fn memory_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_lines(ctx, MEMORY_HELP);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"1 "), None);
        assert_eq!(parse_cursor(b"-"), None);
        assert_eq!(parse_cursor(b"0x10"), None);
    }

    #[test]
    fn expire_conditions() {
        let gt = ExpireCondition { gt: true, ..Default::default() };
        assert!(!gt.allows(0, 5));
        assert!(gt.allows(4, 5));
        assert!(!gt.allows(5, 5));
        let lt = ExpireCondition { lt: true, ..Default::default() };
        assert!(lt.allows(0, 5));
        assert!(!lt.allows(5, 5));
        assert!(lt.allows(6, 5));
        let xx_gt = ExpireCondition { xx: true, gt: true, ..Default::default() };
        assert!(!xx_gt.allows(0, 5));
        assert!(ExpireCondition { nx: true, ..Default::default() }.allows(0, 5));
        assert!(!ExpireCondition { nx: true, ..Default::default() }.allows(1, 5));
    }

    #[test]
    fn expire_overflow() {
        assert_eq!(expire_time(i64::MAX / 1000 + 1, true, 0), None);
        assert_eq!(expire_time(9_223_372_036_854_775, true, 0), Some(9_223_372_036_854_775_000));
        assert_eq!(expire_time(9_223_372_036_854_775, true, 1_000_000), None);
        assert_eq!(expire_time(i64::MIN, false, 5), Some(i64::MIN + 5));
        assert_eq!(expire_time(-9_223_372_036_854_776, true, 0), None);
    }
}

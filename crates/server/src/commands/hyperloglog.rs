//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. The values are plain
//! strings in Redis's layout (`roost_store::hyperloglog`), edited in place.

use roost_resp::Args;
use roost_store::hyperloglog as hll;
use roost_store::{Entry, StrValue, Table, Value};

use super::{is, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const HLL: CommandSpec = CommandSpec { group: "hyperloglog", since: "2.8.9", ..BASE };

pub const PFADD: CommandSpec = CommandSpec {
    name: "pfadd",
    arity: -2,
    flags: WRITE | DENYOOM | FAST,
    keys: Keys::Range { first: 1, last: 1, step: 1 },
    key_flags: &["RW", "INSERT"],
    acl: &["@write", "@hyperloglog", "@fast"],
    summary: "Adds the specified elements to the specified HyperLogLog.",
    complexity: "O(1) to add every element.",
    run: pfadd,
    ..HLL
};
pub const PFCOUNT: CommandSpec = CommandSpec {
    name: "pfcount",
    arity: -2,
    // Readonly as redis-server 7.0 reports it, though one key's cached count may be written.
    flags: READONLY | MAY_REPLICATE,
    keys: Keys::Range { first: 1, last: -1, step: 1 },
    key_flags: &["RW", "ACCESS"],
    acl: &["@read", "@hyperloglog", "@slow"],
    summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
    complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
    run: pfcount,
    ..HLL
};
pub const PFMERGE: CommandSpec = CommandSpec {
    name: "pfmerge",
    arity: -2,
    flags: WRITE | DENYOOM,
    keys: Keys::Range { first: 1, last: -1, step: 1 },
    key_flags: &["RW", "ACCESS", "INSERT"],
    acl: &["@write", "@hyperloglog", "@slow"],
    summary: "Merge N different HyperLogLogs into a single one.",
    complexity: "O(N) to merge N HyperLogLogs, but with high constant times.",
    run: pfmerge,
    ..HLL
};
pub const PFDEBUG: CommandSpec = CommandSpec {
    name: "pfdebug",
    arity: 3,
    flags: WRITE | DENYOOM | ADMIN,
    keys: Keys::Range { first: 2, last: 2, step: 1 },
    key_flags: &["RW", "ACCESS"],
    acl: &["@write", "@hyperloglog", "@admin", "@slow", "@dangerous"],
    summary: "Internal commands for debugging HyperLogLog values",
    complexity: "N/A",
    run: pfdebug,
    ..HLL
};
pub const PFSELFTEST: CommandSpec = CommandSpec {
    name: "pfselftest",
    arity: 1,
    flags: ADMIN,
    acl: &["@hyperloglog", "@admin", "@slow", "@dangerous"],
    summary: "An internal command for testing HyperLogLog values",
    complexity: "N/A",
    run: pfselftest,
    ..HLL
};

fn not_hll() -> CmdError {
    CmdError::msg("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupt() -> CmdError {
    CmdError::msg("INVALIDOBJ Corrupted HLL object detected")
}

/// hll-sparse-max-bytes, read before any shard is locked so the two locks never nest.
fn sparse_max(ctx: &Ctx) -> usize {
    ctx.server.config.read().get_one("hll-sparse-max-bytes").and_then(|v| v.parse().ok()).unwrap_or(3000)
}

/// The HLL bytes of a live entry, made editable in place; another type is the usual
/// WRONGTYPE, a string that isn't an HLL (integers included) Redis's HLL WRONGTYPE.
fn editable(entry: &mut Entry) -> Result<&mut Vec<u8>, CmdError> {
    match &mut entry.value {
        Value::Str(StrValue::Int(_)) => Err(not_hll()),
        Value::Str(s) => {
            let mut scratch = [0u8; 20];
            if !hll::is_hll(s.bytes(&mut scratch)) {
                return Err(not_hll());
            }
            Ok(s.make_mut())
        }
        #[allow(unreachable_patterns)]
        _ => Err(CmdError::WrongType),
    }
}

/// The HLL bytes of a live entry, for reading.
fn readable(entry: &Entry) -> Result<&[u8], CmdError> {
    match &entry.value {
        Value::Str(StrValue::Int(_)) => Err(not_hll()),
        Value::Str(StrValue::Inline { len, bytes }) => check(&bytes[..*len as usize]),
        Value::Str(StrValue::Boxed(b)) => check(b),
        Value::Str(StrValue::Raw(v)) => check(v),
        #[allow(unreachable_patterns)]
        _ => Err(CmdError::WrongType),
    }
}

fn check(bytes: &[u8]) -> Result<&[u8], CmdError> {
    if hll::is_hll(bytes) {
        Ok(bytes)
    } else {
        Err(not_hll())
    }
}

/// Stores a new HLL value; `Raw` so OBJECT ENCODING says "raw", as Redis's HLL objects do.
fn store_new(table: &mut Table, key: &[u8], bytes: Vec<u8>) {
    table.set(key, Value::Str(StrValue::Raw(Box::new(bytes))), 0);
}

fn pfadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let max = sparse_max(ctx);
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let mut created = None;
    // Creating the key counts as a change even with no elements, as in Redis.
    let mut changed = false;
    let bytes = match table.touch(key) {
        Some(entry) => editable(entry)?,
        None => {
            changed = true;
            created.insert(hll::new_sparse())
        }
    };
    let mut result = Ok(());
    for element in args.tail(2).iter() {
        match hll::add(bytes, element, max) {
            Ok(c) => changed |= c,
            // Registers raised before the corruption was found stay raised, as in Redis.
            Err(hll::Corrupt) => {
                result = Err(corrupt());
                break;
            }
        }
    }
    if changed && result.is_ok() {
        hll::invalidate_count(bytes);
    }
    if let Some(bytes) = created {
        store_new(table, key, bytes);
    }
    drop(shard);
    result?;
    if changed {
        notify(ctx, class::STRING, "pfadd", key);
    }
    ctx.reply.int(changed as i64);
    Ok(())
}

fn pfcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 2 {
        return pfcount_union(ctx, args);
    }
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let entry = shard.db(ctx.client.db).touch(key);
    notify::count_lookup(ctx, entry.is_some(), key);
    let Some(entry) = entry else {
        drop(shard);
        ctx.reply.int(0);
        return Ok(());
    };
    // Made editable even when the cache is valid: Redis unshares the value either way, which
    // OBJECT ENCODING shows ("raw").
    let bytes = editable(entry)?;
    let count = match hll::cached_count(bytes) {
        Some(c) => c,
        None => {
            // The count is cached in the value itself, so GET afterwards shows it as Redis's does.
            let c = hll::count(bytes).map_err(|_| corrupt())?;
            hll::store_count(bytes, c);
            c
        }
    };
    drop(shard);
    ctx.reply.int(count as i64);
    Ok(())
}

/// Folds the registers of every key in `keys` (absent ones are empty HLLs) into one byte per
/// register; whether any of them was dense.
fn union_of(ctx: &Ctx, locked: &mut roost_store::Locked, keys: &[&[u8]]) -> Result<(Vec<u8>, bool), CmdError> {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut any_dense = false;
    for &key in keys {
        let found = locked.table(ctx.client.db, key).touch(key);
        notify::count_lookup(ctx, found.is_some(), key);
        let Some(entry) = found else { continue };
        let bytes = readable(entry)?;
        any_dense |= !hll::is_sparse(bytes);
        hll::merge_into(&mut max, bytes).map_err(|_| corrupt())?;
    }
    Ok((max, any_dense))
}

fn pfcount_union(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.tail(1).iter().collect();
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter().copied());
    let (max, _) = union_of(ctx, &mut locked, &keys)?;
    drop(locked);
    ctx.reply.int(hll::count_registers(&max) as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let max_bytes = sparse_max(ctx);
    let dst = args.get(1);
    // The destination is itself one of the inputs.
    let keys: Vec<&[u8]> = args.tail(1).iter().collect();
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter().copied());
    let (max, any_dense) = union_of(ctx, &mut locked, &keys)?;
    let table = locked.table(ctx.client.db, dst);
    let mut created = None;
    let bytes = match table.touch(dst) {
        Some(entry) => editable(entry)?,
        None => created.insert(hll::new_sparse()),
    };
    if any_dense {
        hll::to_dense(bytes).map_err(|_| corrupt())?;
    }
    for (i, &v) in max.iter().enumerate() {
        if v != 0 {
            // The destination was read as an input above, so its code is sound.
            let _ = hll::raise(bytes, i, v, max_bytes);
        }
    }
    hll::invalidate_count(bytes);
    if let Some(bytes) = created {
        store_new(table, dst, bytes);
    }
    drop(locked);
    // Redis announces a merge under PFADD's event name.
    notify(ctx, class::STRING, "pfadd", dst);
    ctx.reply.ok();
    Ok(())
}

fn pfdebug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = args.get(1);
    let key = args.get(2);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(entry) = shard.db(ctx.client.db).touch(key) else {
        return Err(CmdError::msg("ERR The specified key does not exist"));
    };
    let bytes = editable(entry)?;
    if is(sub, "getreg") {
        hll::to_dense(bytes).map_err(|_| corrupt())?;
        let regs = hll::dense_registers(bytes);
        drop(shard);
        ctx.reply.array(regs.len());
        for r in regs {
            ctx.reply.int(r as i64);
        }
    } else if is(sub, "decode") {
        if !hll::is_sparse(bytes) {
            return Err(CmdError::msg("ERR HLL encoding is not sparse"));
        }
        let text = hll::decode_sparse(bytes);
        drop(shard);
        ctx.reply.bulk(text.as_bytes());
    } else if is(sub, "encoding") {
        let name: &[u8] = if hll::is_sparse(bytes) { b"sparse" } else { b"dense" };
        drop(shard);
        ctx.reply.simple(name);
    } else if is(sub, "todense") {
        let converted = hll::to_dense(bytes).map_err(|_| corrupt())?;
        drop(shard);
        ctx.reply.int(converted as i64);
    } else {
        return Err(CmdError::msg(format!("ERR Unknown PFDEBUG subcommand '{}'", String::from_utf8_lossy(sub))));
    }
    Ok(())
}

fn pfselftest(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    hll::self_test().map_err(CmdError::msg)?;
    ctx.reply.ok();
    Ok(())
}

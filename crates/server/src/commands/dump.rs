//! DUMP and RESTORE: a value as Redis's serialization (its RDB form, the RDB version and a
//! CRC64), so a payload from either server restores on the other.

use roost_resp::Args;
use roost_store::rdb::{self, EncodeOptions};
use roost_store::{now_ms, now_secs, Entry, Value};

use super::{is, parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const ONE_KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };

pub const DUMP: CommandSpec = CommandSpec {
    name: "dump",
    arity: 2,
    flags: READONLY,
    keys: ONE_KEY,
    key_flags: &["RO", "ACCESS"],
    acl: &["@keyspace", "@read", "@slow"],
    group: "generic",
    since: "2.6.0",
    summary: "Return a serialized version of the value stored at the specified key.",
    complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
    run: dump,
    ..BASE
};
pub const RESTORE: CommandSpec = CommandSpec {
    name: "restore",
    arity: -4,
    flags: WRITE | DENYOOM,
    keys: ONE_KEY,
    key_flags: &["OW", "UPDATE"],
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    group: "generic",
    since: "2.6.0",
    summary: "Create a key using the provided serialized value, previously obtained using DUMP.",
    complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
    run: restore,
    ..BASE
};
/// RESTORE as a cluster node receives it from MIGRATE for a slot it is importing. Without
/// cluster mode it is RESTORE (as in Redis).
pub const RESTORE_ASKING: CommandSpec = CommandSpec {
    name: "restore-asking",
    flags: WRITE | DENYOOM | ASKING,
    group: "server",
    since: "3.0.0",
    summary: "An internal command for migrating keys in a cluster.",
    ..RESTORE
};

fn busy_key() -> CmdError {
    CmdError::msg("BUSYKEY Target key name already exists.")
}

/// How values are serialised now: `rdbcompression` and the node limits Redis would have split
/// lists and streams by.
pub(super) fn encode_options(ctx: &Ctx) -> EncodeOptions {
    let compress = ctx.server.config.read().get_one("rdbcompression").as_deref() != Some("no");
    EncodeOptions::new(compress, &ctx.server.keyspace.limits)
}

/// DUMP key
fn dump(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let opts = encode_options(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    // Serialised under the lock: the payload is one consistent image of the value.
    let payload = shard.db(ctx.client.db).touch(key).map(|e| rdb::dump_payload(&e.value, &opts));
    drop(shard);
    notify::count_lookup(ctx, payload.is_some(), key);
    match payload {
        Some(p) => ctx.reply.bulk(&p),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// RESTORE's options after the payload.
#[derive(Default, Debug, PartialEq)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
    idle: Option<i64>,
    freq: Option<i64>,
}

impl RestoreOptions {
    /// Parses REPLACE, ABSTTL, IDLETIME s and FREQ f as Redis does: IDLETIME and FREQ exclude
    /// each other (the second one is a syntax error), and their values are checked as they come.
    fn parse(args: &Args) -> Result<RestoreOptions, CmdError> {
        let mut o = RestoreOptions::default();
        let mut j = 4;
        while j < args.len() {
            let a = args.get(j);
            let more = j + 1 < args.len();
            if is(a, "replace") {
                o.replace = true;
            } else if is(a, "absttl") {
                o.absttl = true;
            } else if is(a, "idletime") && more && o.freq.is_none() {
                let v = parse_int(args.get(j + 1))?;
                if v < 0 {
                    return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
                }
                o.idle = Some(v);
                j += 1;
            } else if is(a, "freq") && more && o.idle.is_none() {
                let v = parse_int(args.get(j + 1))?;
                if !(0..=255).contains(&v) {
                    return Err(CmdError::msg("ERR Invalid FREQ value, must be >= 0 and <= 255"));
                }
                o.freq = Some(v);
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(o)
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let opts = RestoreOptions::parse(args)?;
    let key = args.get(1);
    let db = ctx.client.db;
    // Redis's order of checks: the key, then the TTL, then the payload.
    if !opts.replace && ctx.server.keyspace.lock_key(key).db(db).contains(key) {
        return Err(busy_key());
    }
    let ttl = parse_int(args.get(2))?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let payload = args.get(3);
    if !rdb::verify_payload(payload) {
        return Err(CmdError::msg("ERR DUMP payload version or checksum are wrong"));
    }
    // Decoded without the lock held: a large payload takes a while, and it touches no key.
    let value: Value = match rdb::read_object(payload, &ctx.server.keyspace.limits) {
        Ok(Some(v)) => v,
        Ok(None) | Err(_) => return Err(CmdError::msg("ERR Bad data format")),
    };
    let now = now_ms();
    // Redis adds a relative TTL to the clock in signed 64-bit arithmetic; a sum that wraps is
    // a time in the past, so such a key is treated as already expired there and here alike.
    let expire_at = match ttl {
        0 => 0,
        t if opts.absttl => t as u64,
        t => u64::try_from((now as i64).wrapping_add(t)).unwrap_or(1),
    };
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(db);
    // Checked again: another client may have created the key while the payload was decoded.
    if !opts.replace && table.contains(key) {
        return Err(busy_key());
    }
    let replaced = if opts.replace { table.remove(key) } else { None };
    if expire_at != 0 && expire_at <= now {
        // Already expired: nothing is created, but a replaced key is gone.
        drop(shard);
        if replaced.is_some() {
            notify(ctx, class::GENERIC, "del", key);
        }
        drop(replaced);
        ctx.reply.ok();
        return Ok(());
    }
    // IDLETIME dates the key's last access back; FREQ has nothing to set, as Roost keeps an
    // access time and no LFU counter (OBJECT FREQ derives one from that time).
    let access = match opts.idle {
        Some(idle) => now_secs().saturating_sub(u32::try_from(idle).unwrap_or(u32::MAX)),
        None => now_secs(),
    };
    table.insert_entry(key, Entry::with_access(value, access), expire_at);
    drop(shard);
    drop(replaced);
    notify(ctx, class::GENERIC, "restore", key);
    ctx.reply.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use roost_resp::OwnedArgs;

    #[test]
    fn options_parse_like_redis() {
        let base = ["restore", "k", "0", "payload"];
        let parse = |extra: &[&str]| {
            let mut all: Vec<&str> = base.to_vec();
            all.extend_from_slice(extra);
            RestoreOptions::parse(&OwnedArgs::from_slices(all.iter().map(|a| a.as_bytes())).args())
        };
        assert_eq!(parse(&[]).unwrap(), RestoreOptions::default());
        let o = parse(&["REPLACE", "absttl", "IdleTime", "5"]).unwrap();
        assert!(o.replace && o.absttl && o.idle == Some(5));
        assert_eq!(parse(&["IDLETIME", "1", "FREQ", "2"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(parse(&["FREQ", "2", "IDLETIME", "1"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(parse(&["IDLETIME"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(parse(&["IDLETIME", "x"]).unwrap_err(), CmdError::NotInteger);
        assert_eq!(parse(&["IDLETIME", "-1"]).unwrap_err().text(), "ERR Invalid IDLETIME value, must be >= 0");
        assert_eq!(parse(&["FREQ", "256"]).unwrap_err().text(), "ERR Invalid FREQ value, must be >= 0 and <= 255");
        assert_eq!(parse(&["NOPE"]).unwrap_err(), CmdError::Syntax);
    }
}

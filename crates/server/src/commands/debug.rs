//! DEBUG: the testing aids Redis's own test suite and client libraries lean on: SLEEP,
//! SET-ACTIVE-EXPIRE, OBJECT, DIGEST, DIGEST-VALUE, PROTOCOL, ERROR, LOG and HELP.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::Ordering;

use roost_resp::Args;
use roost_store::stream::StreamId;
use roost_store::{now_ms, Entry, StrValue, Table, Value};

use super::introspection::{reply_help, subcommand_syntax_error};
use super::{is, BASE};
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::log::{log, WARNING};

pub const DEBUG: CommandSpec = CommandSpec {
    name: "debug",
    arity: -2,
    flags: ADMIN | NOSCRIPT | LOADING | STALE,
    acl: &["@admin", "@slow", "@dangerous"],
    group: "server",
    summary: "A container for debugging commands",
    complexity: "Depends on subcommand.",
    run: debug,
    ..BASE
};

const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

/// enable-debug-command: DEBUG is refused unless it is "yes", or "local" and the client
/// connected from the loopback address.
fn allowed(ctx: &Ctx) -> bool {
    let setting = ctx.server.config.read().get_one("enable-debug-command");
    match setting.as_deref() {
        Some("yes") => true,
        Some("local") => match ctx.handle.addr.ip() {
            IpAddr::V4(ip) => ip.octets() == [127, 0, 0, 1],
            IpAddr::V6(ip) => ip.is_loopback(),
        },
        _ => false,
    }
}

fn debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !allowed(ctx) {
        return Err(CmdError::msg(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ));
    }
    let sub = args.get(1);
    let argc = args.len();
    if is(sub, "help") && argc == 2 {
        reply_help(ctx, args, HELP);
    } else if is(sub, "sleep") && argc == 3 {
        sleep(args.get(2));
        ctx.reply.ok();
    } else if is(sub, "set-active-expire") && argc == 3 {
        // Redis reads the flag with atoi: any non-zero leading number enables.
        let on = c_atoi(args.get(2)) != 0;
        ctx.server.active_expire.store(on, Ordering::Relaxed);
        ctx.reply.ok();
    } else if is(sub, "object") && argc == 3 {
        object(ctx, args.get(2))?;
    } else if is(sub, "digest") && argc == 2 {
        let d = dataset_digest(ctx);
        ctx.reply.simple(hex(&d).as_bytes());
    } else if is(sub, "digest-value") {
        digest_value(ctx, args);
    } else if is(sub, "protocol") && argc == 3 {
        protocol(ctx, args.get(2))?;
    } else if is(sub, "error") && argc == 3 {
        // The argument is the whole error line, prefix included; it is not counted as an error
        // the server raised.
        ctx.reply.error(args.get(2));
    } else if is(sub, "log") && argc == 3 {
        log(WARNING, &format!("DEBUG LOG: {}", String::from_utf8_lossy(args.get(2))));
        ctx.reply.ok();
    } else {
        return Err(subcommand_syntax_error(args));
    }
    Ok(())
}

/// C's atoi: optional leading spaces and sign, then as many digits as there are.
fn c_atoi(s: &[u8]) -> i64 {
    let s = s.iter().skip_while(|c| c.is_ascii_whitespace()).copied().collect::<Vec<u8>>();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, &s[..]),
    };
    let v = digits
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |v, &c| v.wrapping_mul(10).wrapping_add((c - b'0') as i64));
    if neg {
        -v
    } else {
        v
    }
}

/// C's strtod on an argument: the longest leading part that reads as a number, 0 if none.
fn c_strtod(s: &[u8]) -> f64 {
    let start = s.iter().position(|b| !b.is_ascii_whitespace() && *b != 0x0b).unwrap_or(s.len());
    roost_resp::strtod_prefix(&s[start..]).map_or(0.0, |(_, v)| v)
}

/// DEBUG SLEEP blocks the worker thread, as Redis blocks its one thread: connections served by
/// this worker stall with it. Redis converts to microseconds and hands the result to nanosleep,
/// which refuses negative times; non-finite or overflowing values become negative in that
/// conversion, so they do not sleep either.
fn sleep(arg: &[u8]) {
    let micros = c_strtod(arg) * 1e6;
    if !micros.is_finite() || micros >= i64::MAX as f64 || micros < 1.0 {
        return;
    }
    std::thread::sleep(std::time::Duration::from_micros(micros as u64));
}

/// Finds a key without the side effects of a lookup: DEBUG looks at logically expired keys as
/// they are, and does not delete them or touch their access time.
fn peek<'t>(table: &'t Table, key: &[u8]) -> Option<&'t Entry> {
    table.peek(key)
}

/// Redis's LRU clock: seconds, wrapping at 24 bits.
const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;

fn lru_clock(unix_secs: u64) -> u64 {
    unix_secs & LRU_CLOCK_MAX
}

fn lru_idle(now: u64, lru: u64) -> u64 {
    if now >= lru {
        now - lru
    } else {
        now + (LRU_CLOCK_MAX - lru)
    }
}

/// Redis shares one object for each integer below 10000, with this reference count.
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: u32 = i32::MAX as u32;

/// Roost values do not sit behind one object pointer Redis would print. A value derived from
/// what the address identifies (the key, or the shared integer) keeps the field address-like,
/// distinct per object and stable between calls, so tests can compare two lines.
fn fake_address(what: impl Hash) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    what.hash(&mut h);
    format!("0x7f{:010x}", (h.finish() & 0xff_ffff_ffff) & !0xf)
}

fn object(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let db = ctx.client.db;
    let compress = ctx.server.config.read().get_one("rdbcompression").as_deref() != Some("no");
    let line = {
        let shard = ctx.server.keyspace.lock_key(key);
        let e = shard.db_ref(db).and_then(|t| peek(t, key)).ok_or(CmdError::NoSuchKey)?;
        let now = lru_clock(now_ms() / 1000);
        let shared = match &e.value {
            Value::Str(StrValue::Int(v)) if (0..SHARED_INTEGERS).contains(v) => Some(*v),
            _ => None,
        };
        let (address, refcount, lru) = match shared {
            // A shared integer keeps the access time of its creation at startup.
            Some(v) => (fake_address(("shared", v)), SHARED_REFCOUNT, lru_clock(ctx.server.started_unix_ms / 1000)),
            None => (fake_address((db, key)), 1, lru_clock(e.access as u64)),
        };
        format!(
            "Value at:{} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            address,
            refcount,
            e.value.encoding(),
            serialized_len(&e.value, compress, &ctx.server.keyspace.limits),
            lru,
            lru_idle(now, lru)
        )
    };
    ctx.reply.simple(line.as_bytes());
    Ok(())
}

/// The bytes a value takes in an RDB file (without its type byte), as DEBUG OBJECT's
/// serializedlength reports it: measured by encoding it, so it is what SAVE writes.
fn serialized_len(value: &Value, compress: bool, limits: &roost_store::EncodingLimits) -> usize {
    let mut out = Vec::new();
    roost_store::rdb::write_object(&mut out, value, &roost_store::rdb::EncodeOptions::new(compress, limits));
    out.len() - 1
}

type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    sha1_smol::Sha1::from(data).digest().bytes()
}

/// Folds data into a digest in an order-independent way: XOR with the data's SHA1.
fn xor_digest(digest: &mut Digest, data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

/// Folds data into a digest so that order matters: XOR, then hash the result.
fn mix_digest(digest: &mut Digest, data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// Redis's type codes, which seed each value's digest.
fn type_code(value: &Value) -> u32 {
    match value.type_name() {
        "string" => 0,
        "list" => 1,
        "set" => 2,
        "zset" => 3,
        "hash" => 4,
        "stream" => 6,
        _ => 5,
    }
}

/// A value's digest as DEBUG DIGEST-VALUE reports it: its type, its contents, and whether it
/// has an expiry (not when).
///
/// The match is deliberately exhaustive: a new data type does not compile until it says how it
/// is digested. Redis's rules: a list mixes its elements in order; a set XORs each member in; a
/// hash XORs in, per field, a fresh digest mixed from the field then the value; a sorted set does
/// the same with the member then its score printed as the shortest round-tripping double; a
/// stream mixes each entry's ID (`ms.seq`) then its fields and values, in order.
fn value_digest(digest: &mut Digest, e: &Entry) {
    mix_digest(digest, &type_code(&e.value).to_be_bytes());
    match &e.value {
        Value::Str(s) => {
            let mut scratch = [0u8; 20];
            mix_digest(digest, s.bytes(&mut scratch));
        }
        Value::List(list) => {
            for element in list.iter() {
                mix_digest(digest, &element);
            }
        }
        Value::Set(set) => {
            for member in set.iter() {
                xor_digest(digest, &member);
            }
        }
        Value::ZSet(zset) => {
            for (member, score) in zset.iter() {
                let mut pair = [0u8; 20];
                mix_digest(&mut pair, &member);
                let mut text = Vec::new();
                roost_resp::format_double(score, &mut text);
                mix_digest(&mut pair, &text);
                xor_digest(digest, &pair);
            }
        }
        Value::Hash(hash) => {
            for (field, value) in hash.iter() {
                let mut pair = [0u8; 20];
                mix_digest(&mut pair, &field);
                mix_digest(&mut pair, &value);
                xor_digest(digest, &pair);
            }
        }
        Value::Stream(stream) => {
            for (id, fields) in stream.range(StreamId::MIN, StreamId::MAX, false) {
                mix_digest(digest, format!("{}.{}", id.ms, id.seq).as_bytes());
                for (field, value) in fields {
                    mix_digest(digest, field);
                    mix_digest(digest, value);
                }
            }
        }
    }
    if e.volatile {
        xor_digest(digest, b"!!expire!!");
    }
}

/// DEBUG DIGEST: one digest of every database's keys, values and expiry flags, equal for equal
/// datasets whatever their insertion order. Logically expired keys still in memory count, as
/// in Redis.
fn dataset_digest(ctx: &Ctx) -> Digest {
    let shards = ctx.server.keyspace.lock_all();
    let mut digest = [0u8; 20];
    for db in 0..ctx.server.keyspace.databases() {
        let tables: Vec<&Table> = shards.iter().filter_map(|s| s.db_ref(db)).filter(|t| !t.is_empty()).collect();
        if tables.is_empty() {
            continue;
        }
        // The database number goes in, so the same data in another database differs.
        mix_digest(&mut digest, &(db as u32).to_be_bytes());
        for table in tables {
            for (key, e, _) in table.iter() {
                let mut kv = [0u8; 20];
                mix_digest(&mut kv, key.as_bytes());
                value_digest(&mut kv, e);
                xor_digest(&mut digest, &kv);
            }
        }
    }
    digest
}

fn digest_value(ctx: &mut Ctx, args: &Args) {
    let db = ctx.client.db;
    ctx.reply.array(args.len() - 2);
    for key in args.iter().skip(2) {
        let mut digest = [0u8; 20];
        {
            let shard = ctx.server.keyspace.lock_key(key);
            if let Some(e) = shard.db_ref(db).and_then(|t| peek(t, key)) {
                value_digest(&mut digest, e);
            }
        }
        ctx.reply.simple(hex(&digest).as_bytes());
    }
}

fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn protocol(ctx: &mut Ctx, kind: &[u8]) -> CmdResult {
    let r = &mut *ctx.reply;
    if is(kind, "string") {
        r.bulk(b"Hello World");
    } else if is(kind, "integer") {
        r.int(12345);
    } else if is(kind, "double") {
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        r.double(3.141);
    } else if is(kind, "bignum") {
        r.big_number(b"1234567999999999999999999999999999999");
    } else if is(kind, "null") {
        r.null();
    } else if is(kind, "array") || is(kind, "set") {
        if is(kind, "array") {
            r.array(3);
        } else {
            r.set(3);
        }
        for j in 0..3 {
            r.int(j);
        }
    } else if is(kind, "map") {
        r.map(3);
        for j in 0..3 {
            r.int(j);
            r.boolean(j == 1);
        }
    } else if is(kind, "attrib") {
        // RESP2 has no attributes; its clients get the plain reply alone.
        if r.resp3 {
            r.attribute(1);
            r.bulk(b"key-popularity");
            r.array(2);
            r.bulk(b"key:123");
            r.int(90);
        }
        r.bulk(b"Some real reply following the attribute");
    } else if is(kind, "push") {
        if !r.resp3 {
            return Err(CmdError::msg("ERR RESP2 is not supported by this command"));
        }
        r.push(2);
        r.bulk(b"server-cpu-usage");
        r.int(42);
        r.bulk(b"Some real reply following the push reply");
    } else if is(kind, "true") {
        r.boolean(true);
    } else if is(kind, "false") {
        r.boolean(false);
    } else if is(kind, "verbatim") {
        r.verbatim(b"txt", b"This is a verbatim\nstring");
    } else {
        return Err(CmdError::msg(
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_lengths_match_redis() {
        // Values measured with DEBUG OBJECT on redis-server 7.0.
        let len = |s: &[u8]| {
            serialized_len(&Value::Str(StrValue::from_bytes(s)), true, &roost_store::EncodingLimits::default())
        };
        assert_eq!(len(&[b'a'; 100]), 13);
        assert_eq!(len("ab".repeat(15).as_bytes()), 13);
        assert_eq!(len(b"bar"), 4);
        assert_eq!(len(b"1123"), 3);
        assert_eq!(len(b"01"), 3);
        assert_eq!(len(b""), 1);
        assert_eq!(len(b"100"), 2);
        assert_eq!(len(b"12345"), 3);
        assert_eq!(len(b"-5"), 2);
        assert_eq!(len(b"99999999999"), 12);
        assert_eq!(len(b"123456789012"), 13);
        let random = b"iy0fqhdmsn7mtgwg7lk9u7ew4n7pwmv7dtj9wd2cs0ykctzpq2f3iu0cq7ft";
        assert_eq!(len(random), 61);
    }

    #[test]
    fn strtod_and_atoi_read_leading_numbers() {
        assert_eq!(c_strtod(b"0.5"), 0.5);
        assert_eq!(c_strtod(b"1e-1x"), 0.1);
        assert_eq!(c_strtod(b"x"), 0.0);
        assert_eq!(c_atoi(b"2"), 2);
        assert_eq!(c_atoi(b"x"), 0);
        assert_eq!(c_atoi(b" -3z"), -3);
    }

    #[test]
    fn empty_digest_is_zero() {
        assert_eq!(hex(&[0u8; 20]), "0".repeat(40));
    }
}

//! DUMP and RESTORE against the real redis-server: payloads travel both ways and the values
//! arrive identical (DEBUG DIGEST-VALUE, encodings, TTLs, stream metadata), payloads of values
//! Redis lays out deterministically are byte-identical, and RESTORE's errors read the same.

mod common;

use common::{RawClient, TestServer};

/// The bytes of a bulk reply; None for a null.
fn bulk(reply: &[u8]) -> Option<Vec<u8>> {
    if reply.starts_with(b"$-1") {
        return None;
    }
    assert_eq!(reply[0], b'$', "not a bulk reply: {:?}", String::from_utf8_lossy(reply));
    let line = reply.windows(2).position(|w| w == b"\r\n").unwrap();
    let n: usize = std::str::from_utf8(&reply[1..line]).unwrap().parse().unwrap();
    Some(reply[line + 2..line + 2 + n].to_vec())
}

fn dump(c: &mut RawClient, key: &str) -> Vec<u8> {
    bulk(&c.cmd(&["DUMP", key])).unwrap_or_else(|| panic!("DUMP {key}: no such key"))
}

fn restore(c: &mut RawClient, key: &str, ttl: &str, payload: &[u8], extra: &[&str]) -> String {
    let mut args: Vec<&[u8]> = vec![b"RESTORE", key.as_bytes(), ttl.as_bytes(), payload];
    args.extend(extra.iter().map(|e| e.as_bytes()));
    String::from_utf8_lossy(&c.cmd_bytes(&args)).into_owned()
}

fn digest(c: &mut RawClient, key: &str) -> String {
    c.cmd_str(&["DEBUG", "DIGEST-VALUE", key])
}

/// One key and the commands that build it; `exact` when Redis's payload for it is fully
/// determined by those commands (no hash-table iteration order in it).
struct Case {
    key: &'static str,
    cmds: Vec<Vec<String>>,
    exact: bool,
}

fn case(key: &'static str, exact: bool, cmds: Vec<Vec<String>>) -> Case {
    Case { key, cmds, exact }
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// A command with a key and then many arguments.
fn bulk_cmd(name: &str, key: &str, args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v = vec![name.to_string(), key.to_string()];
    v.extend(args);
    v
}

/// `len` characters drawn from `alphabet` by a fixed generator: text with matches of every
/// length and distance for the LZF encoder to find the same way Redis's does.
fn pseudo_random_text(len: usize, alphabet: &[u8], seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

fn dataset() -> Vec<Case> {
    let mut cases = vec![
        case("s:int", true, vec![cmd(&["SET", "s:int", "12345"])]),
        case("s:neg", true, vec![cmd(&["SET", "s:neg", "-7"])]),
        case("s:bigint", true, vec![cmd(&["SET", "s:bigint", "1234567890123456789"])]),
        case("s:short", true, vec![cmd(&["SET", "s:short", "hello"])]),
        case("s:empty", true, vec![cmd(&["SET", "s:empty", ""])]),
        case("s:zeros", true, vec![cmd(&["SET", "s:zeros", "007"])]),
        case("s:long", true, vec![cmd(&["SET", "s:long", &"abcdefgh".repeat(200)])]),
        case("s:text", true, vec![cmd(&["SET", "s:text", &"the quick brown fox jumps over the lazy dog ".repeat(30)])]),
        case("s:dna", true, vec![cmd(&["SET", "s:dna", &pseudo_random_text(3000, b"acgt", 7)])]),
        case("s:far", true, vec![cmd(&["SET", "s:far", &pseudo_random_text(9000, b"0123456789abcdef", 11).repeat(2)])]),
        case(
            "s:runs",
            true,
            vec![cmd(&["SET", "s:runs", &["a".repeat(1000), "b".repeat(265), "ab".repeat(300)].concat()])],
        ),
        case("s:appended", true, vec![cmd(&["SET", "s:appended", "12"]), cmd(&["APPEND", "s:appended", "34"])]),
        case("s:ttl", true, vec![cmd(&["SET", "s:ttl", "expiring", "PX", "500000"])]),
        case("l:small", true, vec![cmd(&["RPUSH", "l:small", "a", "1", "-70000", "x", "3.5", ""])]),
        case("l:big", true, vec![bulk_cmd("RPUSH", "l:big", (0..5000).map(|i| format!("element-{i}")))]),
        case("l:ints", true, vec![bulk_cmd("RPUSH", "l:ints", (0..3000).map(|i| (i * 7919 - 100000).to_string()))]),
        case("l:large", true, vec![bulk_cmd("RPUSH", "l:large", (0..6).map(|i| format!("{i}").repeat(10_000)))]),
        case("h:small", true, vec![cmd(&["HSET", "h:small", "f1", "v1", "f2", "2", "f3", "-300000", "f4", ""])]),
        case(
            "h:big",
            false,
            vec![bulk_cmd("HSET", "h:big", (0..300).flat_map(|i| [format!("field:{i}"), format!("value:{i}")]))],
        ),
        case("h:long", false, vec![cmd(&["HSET", "h:long", "f", &"v".repeat(100)])]),
        case("set:ints", true, vec![cmd(&["SADD", "set:ints", "1", "2", "3", "-5", "100000"])]),
        case("set:int64", true, vec![cmd(&["SADD", "set:int64", "9223372036854775807", "-9223372036854775808", "0"])]),
        case("set:strs", false, vec![cmd(&["SADD", "set:strs", "a", "b", "c"])]),
        case("set:big", false, vec![bulk_cmd("SADD", "set:big", (0..1000).map(|i| format!("member:{i}")))]),
        case("set:bigints", false, vec![bulk_cmd("SADD", "set:bigints", (0..1000).map(|i| i.to_string()))]),
        case(
            "z:small",
            true,
            vec![cmd(&["ZADD", "z:small", "1", "a", "2.5", "b", "-3", "c", "inf", "d", "-inf", "e", "0.1", "f"])],
        ),
        case(
            "z:big",
            false,
            vec![bulk_cmd("ZADD", "z:big", (0..500).flat_map(|i| [format!("{}", i as f64 / 3.0), format!("m:{i}")]))],
        ),
        case("z:long", false, vec![cmd(&["ZADD", "z:long", "1", &"m".repeat(100)])]),
        case(
            "z:huge",
            true,
            vec![cmd(&["ZADD", "z:huge", "1e17", "a", "4611686018427387904", "b", "1e300", "c", "-0", "d"])],
        ),
    ];
    let mut stream = vec![cmd(&["XADD", "x:groups", "1-1", "name", "a", "value", "1"])];
    for i in 2..300 {
        let fields: Vec<String> = if i % 10 == 0 {
            vec!["other".into(), i.to_string()]
        } else {
            vec!["name".into(), format!("n{i}"), "value".into(), i.to_string()]
        };
        stream.push(bulk_cmd("XADD", "x:groups", [format!("{}-{}", 1 + i / 3, i % 3)].into_iter().chain(fields)));
    }
    stream.push(cmd(&["XDEL", "x:groups", "2-1", "50-0"]));
    stream.push(cmd(&["XGROUP", "CREATE", "x:groups", "g1", "0"]));
    stream.push(cmd(&["XGROUP", "CREATE", "x:groups", "g2", "$"]));
    stream.push(cmd(&["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "x:groups", ">"]));
    stream.push(cmd(&["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "x:groups", ">"]));
    stream.push(cmd(&["XACK", "x:groups", "g1", "1-1"]));
    stream.push(cmd(&["XGROUP", "CREATECONSUMER", "x:groups", "g2", "carol"]));
    cases.push(case("x:groups", false, stream));
    cases.push(case(
        "x:small",
        true,
        vec![cmd(&["XADD", "x:small", "5-1", "f", "v"]), cmd(&["XADD", "x:small", "5-2", "f", "w"])],
    ));
    cases.push(case(
        "x:emptied",
        true,
        vec![cmd(&["XADD", "x:emptied", "1-1", "f", "v"]), cmd(&["XDEL", "x:emptied", "1-1"])],
    ));
    cases
}

fn build(c: &mut RawClient, cases: &[Case]) {
    for case in cases {
        for parts in &case.cmds {
            let args: Vec<&str> = parts.iter().map(|s| s.as_str()).collect();
            let r = c.cmd_str(&args);
            assert!(!r.starts_with('-'), "{args:?} -> {r}");
        }
    }
}

/// XINFO STREAM FULL without what is time- or layout-dependent: the replies must agree on
/// entries, IDs, counters, groups, PELs and consumers.
fn stream_facts(c: &mut RawClient, key: &str) -> Vec<String> {
    let mut facts =
        vec![c.cmd_str(&["XLEN", key]), c.cmd_str(&["XRANGE", key, "-", "+"]), c.cmd_str(&["XINFO", "GROUPS", key])];
    let groups = c.cmd_str(&["XINFO", "GROUPS", key]);
    for g in ["g1", "g2"] {
        if groups.contains(g) {
            facts.push(c.cmd_str(&["XPENDING", key, g]));
            let consumers = c.cmd_str(&["XINFO", "CONSUMERS", key, g]);
            // Names and pending counts; idle times move.
            let names: Vec<&str> = consumers.split("\r\n").filter(|l| !l.starts_with(':')).collect();
            facts.push(names.join("|"));
        }
    }
    let full = c.cmd_str(&["XINFO", "STREAM", key]);
    for field in ["last-generated-id", "max-deleted-entry-id", "entries-added", "recorded-first-entry-id"] {
        if let Some(at) = full.find(field) {
            facts.push(full[at..].lines().take(3).collect::<Vec<_>>().join("|"));
        }
    }
    facts
}

#[test]
fn payloads_travel_both_ways_with_redis() {
    let redis = TestServer::start_redis_with(&["--enable-debug-command", "yes"]);
    let roost = TestServer::start(&["--enable-debug-command", "yes"]);
    let (mut r, mut o) = (redis.raw(), roost.raw());
    let cases = dataset();
    build(&mut r, &cases);
    build(&mut o, &cases);

    for case in &cases {
        let key = case.key;
        let from_redis = dump(&mut r, key);
        let from_roost = dump(&mut o, key);
        if case.exact && from_roost != from_redis {
            let at = from_roost
                .iter()
                .zip(&from_redis)
                .position(|(a, b)| a != b)
                .unwrap_or(from_roost.len().min(from_redis.len()));
            panic!(
                "DUMP {key} differs from Redis's at byte {at} (lengths {} and {}): roost {:?}, redis {:?}",
                from_roost.len(),
                from_redis.len(),
                &from_roost[at.saturating_sub(8)..(at + 24).min(from_roost.len())],
                &from_redis[at.saturating_sub(8)..(at + 24).min(from_redis.len())],
            );
        }
        // The key's remaining time travels with it, so digests (which note an expiry) agree.
        let ttl = r.int(&["PTTL", key]).max(0).to_string();
        // Encodings are compared with what Redis itself gives its own payload on RESTORE (a
        // restored string is re-encoded: APPEND's raw "1234" comes back an integer).
        let own = format!("self:{key}");
        assert_eq!(restore(&mut r, &own, &ttl, &from_redis, &[]), "+OK\r\n");
        let encoding = r.cmd_str(&["OBJECT", "ENCODING", &own]);
        // Redis -> Roost.
        let copy = format!("from-redis:{key}");
        assert_eq!(restore(&mut o, &copy, &ttl, &from_redis, &[]), "+OK\r\n", "RESTORE {key} into roost");
        assert_eq!(digest(&mut o, &copy), digest(&mut r, key), "{key} restored from Redis");
        assert_eq!(o.cmd_str(&["OBJECT", "ENCODING", &copy]), encoding, "{key} restored from Redis");
        // Roost -> Redis.
        let back = format!("from-roost:{key}");
        assert_eq!(restore(&mut r, &back, &ttl, &from_roost, &[]), "+OK\r\n", "RESTORE {key} into redis");
        assert_eq!(digest(&mut r, &back), digest(&mut r, key), "{key} restored from Roost");
        assert_eq!(r.cmd_str(&["OBJECT", "ENCODING", &back]), encoding, "{key} restored from Roost");
        if key.starts_with("x:") {
            assert_eq!(stream_facts(&mut o, &copy), stream_facts(&mut r, key), "{key} restored from Redis");
            assert_eq!(stream_facts(&mut r, &back), stream_facts(&mut r, key), "{key} restored from Roost");
        }
    }
}

#[test]
fn ttl_options_and_errors_match_redis() {
    let redis = TestServer::start_redis();
    let roost = TestServer::start(&[]);
    for port in [redis.port, roost.port] {
        let mut c = RawClient::connect(port);
        c.cmd(&["SET", "src", "value"]);
        let payload = dump(&mut c, "src");
        assert_eq!(restore(&mut c, "t1", "100000", &payload, &[]), "+OK\r\n");
        let pttl = c.int(&["PTTL", "t1"]);
        assert!((99_000..=100_000).contains(&pttl), "{pttl}");
        let at = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 50_000)
            .to_string();
        assert_eq!(restore(&mut c, "t2", &at, &payload, &["ABSTTL"]), "+OK\r\n");
        assert!(c.int(&["PTTL", "t2"]) > 40_000);
        // Already expired: OK, and no key.
        assert_eq!(restore(&mut c, "t3", "1000", &payload, &["ABSTTL"]), "+OK\r\n");
        assert_eq!(c.int(&["EXISTS", "t3"]), 0);
        assert_eq!(restore(&mut c, "t1", "1000", &payload, &["ABSTTL", "REPLACE"]), "+OK\r\n");
        assert_eq!(c.int(&["EXISTS", "t1"]), 0);
        assert_eq!(restore(&mut c, "idle", "0", &payload, &["IDLETIME", "1000"]), "+OK\r\n");
        assert!(c.int(&["OBJECT", "IDLETIME", "idle"]) >= 1000);
        assert_eq!(c.cmd_str(&["GET", "idle"]), "$5\r\nvalue\r\n");
    }
    let mut errors: Vec<Vec<String>> = Vec::new();
    for port in [redis.port, roost.port] {
        let mut c = RawClient::connect(port);
        c.cmd(&["SET", "src", "value"]);
        c.cmd(&["SET", "taken", "x"]);
        let payload = dump(&mut c, "src");
        let mut corrupt = payload.clone();
        corrupt[2] ^= 0xFF;
        // A string whose length runs past the value: Redis reads on into the trailer, so the
        // length is chosen to run past that too.
        let mut bad_format = vec![0u8, 0x20, b'a'];
        bad_format.extend_from_slice(&payload[payload.len() - 10..payload.len() - 8]);
        let mut with_crc = bad_format.clone();
        let crc = crc64_jones(&with_crc);
        with_crc.extend_from_slice(&crc.to_le_bytes());
        // Evaluated in order: each reply depends on the commands before it.
        let got = vec![
            restore(&mut c, "taken", "0", &payload, &[]),
            restore(&mut c, "new", "-1", &payload, &[]),
            restore(&mut c, "new", "x", &payload, &[]),
            restore(&mut c, "new", "0", &corrupt, &[]),
            restore(&mut c, "new", "0", b"short", &[]),
            restore(&mut c, "new", "0", &with_crc, &[]),
            restore(&mut c, "new", "0", &payload, &["IDLETIME", "-1"]),
            restore(&mut c, "new", "0", &payload, &["FREQ", "256"]),
            restore(&mut c, "new", "0", &payload, &["FREQ", "1", "IDLETIME", "1"]),
            restore(&mut c, "new", "0", &payload, &["NOPE"]),
            restore(&mut c, "taken", "-1", &payload, &["NOPE"]),
            restore(&mut c, "taken", "-1", &payload, &[]),
            // A relative TTL that overflows the clock: a time in the past on both.
            restore(&mut c, "huge", "9223372036854775807", &payload, &[]),
            c.cmd_str(&["EXISTS", "huge"]),
            c.cmd_str(&["DUMP", "missing"]),
            c.cmd_str(&["RESTORE", "k", "0"]),
        ];
        errors.push(got);
    }
    assert_eq!(errors[1], errors[0]);
}

/// CRC-64/Jones as Redis checksums payloads, for building payloads by hand.
fn crc64_jones(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5 } else { crc >> 1 };
        }
    }
    crc
}

#[test]
fn restore_notifies_and_wakes_watchers() {
    let roost = TestServer::start(&[]);
    let mut c = roost.raw();
    c.cmd(&["SET", "src", "v"]);
    let payload = dump(&mut c, "src");
    let mut sub = roost.raw();
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEg"]);
    assert!(sub.cmd_str(&["SUBSCRIBE", "__keyevent@0__:restore"]).contains("subscribe"));
    let mut w = roost.raw();
    w.cmd(&["WATCH", "dst"]);
    w.cmd(&["MULTI"]);
    w.cmd(&["GET", "dst"]);
    assert_eq!(restore(&mut c, "dst", "0", &payload, &[]), "+OK\r\n");
    assert!(String::from_utf8_lossy(&sub.read_reply()).contains("dst"));
    assert_eq!(w.cmd_str(&["EXEC"]), "*-1\r\n");
}

#[test]
fn compressed_list_nodes_travel_both_ways() {
    // With list-compress-depth, Redis writes its compressed interior nodes as LZF blobs.
    let redis = TestServer::start_redis_with(&["--enable-debug-command", "yes", "--list-compress-depth", "1"]);
    let roost = TestServer::start(&["--enable-debug-command", "yes", "--list-compress-depth", "1"]);
    let (mut r, mut o) = (redis.raw(), roost.raw());
    let push = bulk_cmd("RPUSH", "l", (0..20_000).map(|i| format!("item:{}", i % 97)));
    let args: Vec<&str> = push.iter().map(|s| s.as_str()).collect();
    r.cmd(&args);
    o.cmd(&args);
    let from_redis = dump(&mut r, "l");
    let from_roost = dump(&mut o, "l");
    assert_eq!(restore(&mut o, "copy", "0", &from_redis, &[]), "+OK\r\n");
    assert_eq!(digest(&mut o, "copy"), digest(&mut r, "l"));
    assert_eq!(restore(&mut r, "back", "0", &from_roost, &[]), "+OK\r\n");
    assert_eq!(digest(&mut r, "back"), digest(&mut r, "l"));
}

#[test]
fn damaged_payloads_with_valid_checksums_are_refused_cleanly() {
    let redis = TestServer::start_redis();
    let roost = TestServer::start(&[]);
    let (mut r, mut o) = (redis.raw(), roost.raw());
    let mut cases = dataset();
    cases.retain(|c| ["s:text", "l:small", "h:small", "set:ints", "z:small", "z:big", "x:groups"].contains(&c.key));
    build(&mut r, &cases);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for case in &cases {
        let payload = dump(&mut r, case.key);
        let body = payload.len() - 10;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut bad = payload.clone();
            bad[(x % body as u64) as usize] ^= 1 << ((x >> 32) % 8);
            // The checksum is recomputed, so only the value's own checks stand in the way.
            let crc = crc64_jones(&bad[..payload.len() - 8]);
            bad[payload.len() - 8..].copy_from_slice(&crc.to_le_bytes());
            let reply = restore(&mut o, "damaged", "0", &bad, &["REPLACE"]);
            assert!(reply == "+OK\r\n" || reply == "-ERR Bad data format\r\n", "{}: {reply}", case.key);
        }
    }
    assert_eq!(o.cmd_str(&["PING"]), "+PONG\r\n");
}

/// RESTORE-ASKING is RESTORE outside cluster mode, with its own name in errors and COMMAND INFO.
#[test]
fn restore_asking_is_restore_outside_a_cluster() {
    let redis = TestServer::start_redis();
    let roost = TestServer::start(&[]);
    let mut replies = Vec::new();
    for s in [&roost, &redis] {
        let mut c = s.raw();
        c.cmd(&["RPUSH", "src", "a", "b", "c"]);
        let payload = dump(&mut c, "src");
        let mut seen = vec![restore(&mut c, "dst", "0", &payload, &[]), restore(&mut c, "dst", "0", &payload, &[])];
        let mut args: Vec<&[u8]> = vec![b"RESTORE-ASKING", b"dst2", b"0", &payload];
        seen.push(String::from_utf8_lossy(&c.cmd_bytes(&args)).into_owned());
        args[1] = b"dst";
        seen.push(String::from_utf8_lossy(&c.cmd_bytes(&args)).into_owned());
        args.push(b"REPLACE");
        seen.push(String::from_utf8_lossy(&c.cmd_bytes(&args)).into_owned());
        seen.push(c.cmd_str(&["LRANGE", "dst2", "0", "-1"]));
        seen.push(c.cmd_str(&["RESTORE-ASKING", "k"]));
        let info = c.cmd_str(&["COMMAND", "INFO", "restore-asking"]);
        seen.push(info[..info.find("$4\r\ntips").unwrap_or(info.len())].to_string());
        replies.push(seen);
    }
    assert_eq!(replies[0], replies[1], "Roost (left) and redis-server (right)");
}

/// A sorted set blob whose score is not a number loads as Redis loads it (C's strtod: the
/// longest numeric prefix, else 0), with or without deep sanitization. The scores read keep the
/// blob's order here: where they would not, Roost orders by them and Redis keeps the blob's.
#[test]
fn blob_scores_that_are_not_numbers_load_as_redis_reads_them() {
    let redis = TestServer::start_redis();
    let roost = TestServer::start(&[]);
    let (mut r, mut o) = (redis.raw(), roost.raw());
    r.cmd(&["ZADD", "z", "1.5", "a", "2.5", "b"]);
    let payload = dump(&mut r, "z");
    for sanitize in ["no", "yes"] {
        for c in [&mut r, &mut o] {
            assert_eq!(c.cmd_str(&["CONFIG", "SET", "sanitize-dump-payload", sanitize]), "+OK\r\n");
        }
        for score in ["abc", "2xy", "-3e", " 1.", "0x2"] {
            let at = payload.windows(3).position(|w| w == b"1.5").unwrap();
            let mut bad = payload.clone();
            bad[at..at + 3].copy_from_slice(score.as_bytes());
            let crc = crc64_jones(&bad[..bad.len() - 8]);
            let n = bad.len();
            bad[n - 8..].copy_from_slice(&crc.to_le_bytes());
            let mut seen = Vec::new();
            for c in [&mut r, &mut o] {
                let restored = restore(c, "copy", "0", &bad, &["REPLACE"]);
                seen.push((restored, c.cmd_str(&["ZRANGE", "copy", "0", "-1", "WITHSCORES"])));
            }
            assert_eq!(seen[1], seen[0], "score {score:?}, sanitize {sanitize}");
            assert_eq!(seen[0].0, "+OK\r\n");
        }
    }
}

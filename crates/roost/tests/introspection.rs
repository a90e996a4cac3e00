//! COMMAND (INFO, DOCS, COUNT, LIST, GETKEYS, GETKEYSANDFLAGS, HELP) and DEBUG, compared
//! byte for byte with a live redis-server wherever the reply does not depend on the command set.

mod common;
use common::*;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server with DEBUG enabled (it is off by default and cannot be switched on at run time).
struct DebugRedis {
    child: Child,
    port: u16,
}

impl DebugRedis {
    fn start() -> DebugRedis {
        let port = free_port();
        let child = Command::new(redis_server_path())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        DebugRedis { child, port }
    }

    fn raw(&self) -> RawClient {
        RawClient::connect(self.port)
    }
}

impl Drop for DebugRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn roost_with_debug() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes"])
}

fn same(a: &mut RawClient, b: &mut RawClient, case: &[&str]) {
    assert_eq!(a.cmd_str(case), b.cmd_str(case), "{case:?}");
}

/// Bulk strings of an array reply (one level), as text.
fn bulks(reply: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(reply);
    let mut out = Vec::new();
    let mut it = s.split("\r\n");
    while let Some(line) = it.next() {
        if line.starts_with('$') && line != "$-1" {
            out.push(it.next().unwrap_or("").to_string());
        }
    }
    out
}

/// Commands whose table entries carry exactly Redis's metadata (and Redis gives no tips).
const SAME_INFO: &[&str] = &[
    "get",
    "strlen",
    "lcs",
    "client|id",
    "client|setname",
    "client|getname",
    "client|kill",
    "client|pause",
    "client|unpause",
    "client|reply",
    "client|no-evict",
    "client|help",
    "command|count",
    "command|getkeys",
    "command|getkeysandflags",
    "command|help",
    "debug",
];

#[test]
fn command_info_matches_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    for name in SAME_INFO {
        same(&mut a, &mut b, &["COMMAND", "INFO", name]);
    }
    same(&mut a, &mut b, &["COMMAND", "INFO", "GET", "nosuch", "client|ID", "get|x", "|get", "client|list|x"]);
    a.cmd(&["HELLO", "3"]);
    b.cmd(&["HELLO", "3"]);
    for name in SAME_INFO {
        same(&mut a, &mut b, &["COMMAND", "INFO", name]);
    }
    same(&mut a, &mut b, &["COMMAND", "INFO", "nosuch"]);
}

#[test]
fn command_info_describes_containers_and_keys() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let info = c.cmd_str(&["COMMAND", "INFO", "client"]);
    assert!(
        info.starts_with("*1\r\n*10\r\n$6\r\nclient\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*"),
        "{info}"
    );
    assert!(
        info.contains("$11\r\nclient|kill\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"),
        "{info}"
    );
    // A multi-key range: the key spec's lastkey counts from the end, keystep is the pair size.
    let mset = c.cmd_str(&["COMMAND", "INFO", "mset"]);
    assert!(mset.contains(":1\r\n:-1\r\n:2\r\n"), "{mset}");
    assert!(mset.contains("$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n$5\r\nlimit\r\n:0\r\n"), "{mset}");
    // COMMAND with no subcommand lists every command once; COUNT agrees.
    let count = c.int(&["COMMAND", "COUNT"]);
    let all = c.cmd(&["COMMAND"]);
    assert!(all.starts_with(format!("*{count}\r\n").as_bytes()));
    assert_eq!(c.cmd(&["COMMAND", "INFO"]), all);
    assert_eq!(c.cmd_str(&["COMMAND", "NOSUCH"]), "-ERR unknown subcommand 'NOSUCH'. Try COMMAND HELP.\r\n");
    assert_eq!(c.cmd_str(&["COMMAND", "COUNT", "x"]), "-ERR wrong number of arguments for 'command|count' command\r\n");
}

#[test]
fn command_count_respects_renames() {
    let plain = TestServer::start(&[]);
    let renamed = TestServer::start(&["--rename-command", "dbsize", "", "--rename-command", "lcs", "mylcs"]);
    let n = plain.raw().int(&["COMMAND", "COUNT"]);
    let mut c = renamed.raw();
    assert_eq!(c.int(&["COMMAND", "COUNT"]), n - 1);
    assert_eq!(c.cmd_str(&["COMMAND", "INFO", "dbsize"]), "*1\r\n$-1\r\n");
    // The renamed command is found by its new name and still describes itself by its own.
    assert!(c.cmd_str(&["COMMAND", "INFO", "mylcs"]).starts_with("*1\r\n*10\r\n$3\r\nlcs\r\n"));
    assert_eq!(c.cmd_str(&["COMMAND", "INFO", "lcs"]), "*1\r\n$-1\r\n");
}

#[test]
fn command_docs() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd_str(&["COMMAND", "DOCS", "client|id", "nosuch"]),
        "*2\r\n$9\r\nclient|id\r\n*8\r\n$7\r\nsummary\r\n$48\r\nReturns the client ID for the current connection\r\n\
         $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
    );
    assert_eq!(c.cmd_str(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
    let docs = c.cmd_str(&["COMMAND", "DOCS", "command"]);
    assert!(
        docs.starts_with(
            "*2\r\n$7\r\ncommand\r\n*10\r\n$7\r\nsummary\r\n$34\r\nGet array of Redis command details\r\n"
        ),
        "{docs}"
    );
    assert!(docs.contains("$11\r\nsubcommands\r\n*14\r\n$13\r\ncommand|count\r\n*8\r\n"), "{docs}");
    c.cmd(&["HELLO", "3"]);
    let docs = c.cmd_str(&["COMMAND", "DOCS", "command"]);
    assert!(docs.starts_with("%1\r\n$7\r\ncommand\r\n%5\r\n"), "{docs}");
    assert!(docs.contains("$11\r\nsubcommands\r\n%7\r\n"), "{docs}");
    // With no names: every command.
    let count = c.int(&["COMMAND", "COUNT"]);
    assert!(c.cmd_str(&["COMMAND", "DOCS"]).starts_with(&format!("%{count}\r\n")));
}

#[test]
fn command_list_and_filters() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let all = bulks(&c.cmd(&["COMMAND", "LIST"]));
    for name in ["get", "client", "client|list", "command|docs", "debug"] {
        assert!(all.iter().any(|n| n == name), "{name} missing from {all:?}");
    }
    let count = c.int(&["COMMAND", "COUNT"]) as usize;
    assert!(all.len() > count, "subcommands are listed too");
    let clients = bulks(&c.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "CLIENT|*"]));
    assert!(clients.iter().all(|n| n.starts_with("client|")), "{clients:?}");
    assert!(clients.contains(&"client|kill".to_string()));
    assert!(!clients.contains(&"client".to_string()));
    let conn = bulks(&c.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "Connection"]));
    for name in ["ping", "client|id", "command", "command|info"] {
        assert!(conn.contains(&name.to_string()), "{name} missing from {conn:?}");
    }
    // The CLIENT container itself is only @slow.
    assert!(!conn.contains(&"client".to_string()));
    let dangerous = bulks(&c.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "dangerous"]));
    assert!(dangerous.contains(&"debug".to_string()) && dangerous.contains(&"client|kill".to_string()));
    assert!(!dangerous.contains(&"get".to_string()));
}

#[test]
fn command_list_errors_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    let cases: &[&[&str]] = &[
        &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "nosuch*"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "GETRANGE"],
        &["COMMAND", "LIST", "FILTERBY", "bogus", "x"],
        &["COMMAND", "LIST", "FILTERBY"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b"],
        &["COMMAND", "LIST", "x"],
        &["COMMAND", "HELP"],
        &["command", "help"],
        &["COMMAND", "HELP", "x"],
    ];
    for case in cases {
        same(&mut a, &mut b, case);
    }
}

#[test]
fn getkeys_matches_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    let cases: &[&[&str]] = &[
        &["COMMAND", "GETKEYS", "get", "k"],
        &["COMMAND", "GETKEYS", "GET", "k"],
        &["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"],
        &["COMMAND", "GETKEYS", "mget", "a", "b", "c"],
        &["COMMAND", "GETKEYS", "lcs", "a", "b", "LEN"],
        &["COMMAND", "GETKEYS", "set", "k", "v", "EX", "10"],
        &["COMMAND", "GETKEYS", "get"],
        &["COMMAND", "GETKEYS", "get", "a", "b"],
        &["COMMAND", "GETKEYS", "mset", "a"],
        &["COMMAND", "GETKEYS", "ping", "x"],
        &["COMMAND", "GETKEYS", "nosuch", "x"],
        &["COMMAND", "GETKEYS", "client", "list"],
        &["COMMAND", "GETKEYS", "client", "nosuch"],
        &["COMMAND", "GETKEYS", "client|list", "x"],
        &["COMMAND", "GETKEYSANDFLAGS", "get", "k"],
        &["COMMAND", "GETKEYSANDFLAGS", "mset", "a", "1", "b", "2"],
        &["COMMAND", "GETKEYSANDFLAGS", "ping", "x"],
        &["COMMAND", "GETKEYSANDFLAGS", "get"],
    ];
    for case in cases {
        same(&mut a, &mut b, case);
    }
    a.cmd(&["HELLO", "3"]);
    b.cmd(&["HELLO", "3"]);
    same(&mut a, &mut b, &["COMMAND", "GETKEYSANDFLAGS", "mset", "a", "1", "b", "2"]);
}

#[test]
fn debug_is_refused_unless_enabled() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    same(&mut roost.raw(), &mut redis.raw(), &["DEBUG", "SLEEP", "0"]);
    let local = TestServer::start(&["--enable-debug-command", "local"]);
    assert_eq!(local.raw().cmd_str(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
}

#[test]
fn debug_replies_match_redis() {
    let roost = roost_with_debug();
    let redis = DebugRedis::start();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    let cases: &[&[&str]] = &[
        &["DEBUG"],
        &["DEBUG", "HELP"],
        &["DEBUG", "help", "x"],
        &["DEBUG", "NOSUCH"],
        &["DEBUG", "SLEEP"],
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "SLEEP", "x"],
        &["DEBUG", "SLEEP", "-1"],
        &["DEBUG", "SLEEP", "inf"],
        &["DEBUG", "SET-ACTIVE-EXPIRE"],
        &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        &["DEBUG", "OBJECT"],
        &["DEBUG", "OBJECT", "nokey"],
        &["DEBUG", "DIGEST", "x"],
        &["DEBUG", "DIGEST"],
        &["DEBUG", "DIGEST-VALUE"],
        &["DEBUG", "DIGEST-VALUE", "nokey"],
        &["DEBUG", "PROTOCOL"],
        &["DEBUG", "ERROR", "oops"],
        &["DEBUG", "ERROR", "-WRONGTYPE custom"],
        &["DEBUG", "LOG", "hello from a test"],
    ];
    for case in cases {
        same(&mut a, &mut b, case);
    }
    const TYPES: &[&str] = &[
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push", "verbatim", "true",
        "false", "bogus",
    ];
    for t in TYPES {
        same(&mut a, &mut b, &["DEBUG", "PROTOCOL", t]);
    }
    a.cmd(&["HELLO", "3"]);
    b.cmd(&["HELLO", "3"]);
    for t in TYPES {
        same(&mut a, &mut b, &["DEBUG", "PROTOCOL", t]);
    }
}

/// Loads the same dataset into both servers through the same commands.
fn load(c: &mut RawClient) {
    let cases: &[&[&str]] = &[
        &["SET", "foo", "bar"],
        &["SET", "n", "100"],
        &["SET", "big", "12345678901234"],
        &["SET", "neg", "-42"],
        &["SET", "empty", ""],
        &["SET", "long", &"abc".repeat(40)],
        &["SETEX", "ttl", "1000", "x"],
        &["APPEND", "app", "12"],
        &["SELECT", "3"],
        &["SET", "foo", "bar"],
        &["SET", "other", "value"],
        &["SELECT", "0"],
    ];
    for case in cases {
        let r = c.cmd_str(case);
        assert!(!r.starts_with('-'), "{case:?}: {r}");
    }
}

#[test]
fn debug_digest_matches_redis() {
    let roost = roost_with_debug();
    let redis = DebugRedis::start();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    assert_eq!(a.cmd_str(&["DEBUG", "DIGEST"]), format!("+{}\r\n", "0".repeat(40)));
    load(&mut a);
    load(&mut b);
    let digest = a.cmd_str(&["DEBUG", "DIGEST"]);
    assert_ne!(digest, format!("+{}\r\n", "0".repeat(40)));
    assert_eq!(digest, b.cmd_str(&["DEBUG", "DIGEST"]));
    same(&mut a, &mut b, &["DEBUG", "DIGEST-VALUE", "foo", "n", "big", "neg", "empty", "long", "ttl", "app", "nokey"]);
    // Same keys and values in another database, or without the expiry, digest differently.
    for c in [&mut a, &mut b] {
        c.cmd(&["PERSIST", "ttl"]);
        c.cmd(&["SELECT", "3"]);
        c.cmd(&["MOVE", "other", "5"]);
    }
    let moved = a.cmd_str(&["DEBUG", "DIGEST"]);
    assert_ne!(moved, digest);
    assert_eq!(moved, b.cmd_str(&["DEBUG", "DIGEST"]));
    // The order keys were written in does not matter.
    for c in [&mut a, &mut b] {
        c.cmd(&["FLUSHALL"]);
        c.cmd(&["MSET", "x", "1", "y", "2", "z", "3"]);
    }
    let forward = a.cmd_str(&["DEBUG", "DIGEST"]);
    a.cmd(&["FLUSHALL"]);
    a.cmd(&["MSET", "z", "3", "y", "2", "x", "1"]);
    assert_eq!(a.cmd_str(&["DEBUG", "DIGEST"]), forward);
    assert_eq!(forward, b.cmd_str(&["DEBUG", "DIGEST"]));
}

/// DEBUG OBJECT's line without the fields that name memory or time.
fn object_summary(reply: &str) -> String {
    reply
        .trim_end()
        .split(' ')
        .filter(|f| f.starts_with("refcount:") || f.starts_with("encoding:") || f.starts_with("serializedlength:"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn debug_object_matches_redis() {
    let roost = roost_with_debug();
    let redis = DebugRedis::start();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    let line = a.cmd_str(&["DEBUG", "OBJECT", "nokey"]);
    assert_eq!(line, "-ERR no such key\r\n");
    // Strings that exercise every RDB form: small integers, long integers, integer-looking
    // strings, plain strings, and long strings that LZF can or cannot shrink.
    let mut values: Vec<String> =
        ["0", "100", "9999", "10000", "-5", "127", "128", "40000", "3000000000", "12345678901234567"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    values.extend(["", "bar", "01", "1.5", "hello world"].map(String::from));
    values.extend(["a".repeat(21), "a".repeat(100), "ab".repeat(15)]);
    values.extend(["xyz".repeat(300), "0123456789".repeat(7)]);
    // Deterministic pseudo-random text over small alphabets: some repeats, some not.
    let mut seed: u64 = 42;
    for (len, alphabet) in [(25, 4u64), (60, 26), (200, 3), (500, 10), (1000, 64), (9000, 2), (20000, 8)] {
        let s: String = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (b'!' + ((seed >> 33) % alphabet) as u8) as char
            })
            .collect();
        values.push(s);
    }
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        for c in [&mut a, &mut b] {
            assert_eq!(c.cmd_str(&["SET", &key, v]), "+OK\r\n");
        }
        let ours = a.cmd_str(&["DEBUG", "OBJECT", &key]);
        let theirs = b.cmd_str(&["DEBUG", "OBJECT", &key]);
        assert!(ours.starts_with("+Value at:0x"), "{ours}");
        assert!(ours.contains(" lru:") && ours.contains(" lru_seconds_idle:"), "{ours}");
        assert_eq!(object_summary(&ours), object_summary(&theirs), "value {v:?}");
    }
    // APPEND leaves a raw string even when it looks like a number.
    for c in [&mut a, &mut b] {
        c.cmd(&["APPEND", "app", "1123"]);
    }
    assert_eq!(
        object_summary(&a.cmd_str(&["DEBUG", "OBJECT", "app"])),
        object_summary(&b.cmd_str(&["DEBUG", "OBJECT", "app"]))
    );
    // The fake address is stable for a key.
    assert_eq!(
        a.cmd_str(&["DEBUG", "OBJECT", "k1"]).split(' ').next(),
        a.cmd_str(&["DEBUG", "OBJECT", "k1"]).split(' ').next()
    );
}

#[test]
fn debug_sleep_blocks_for_the_time_given() {
    let s = roost_with_debug();
    let mut c = s.raw();
    let start = Instant::now();
    assert_eq!(c.cmd_str(&["DEBUG", "SLEEP", "0.3"]), "+OK\r\n");
    assert!(start.elapsed() >= Duration::from_millis(290), "{:?}", start.elapsed());
    let start = Instant::now();
    assert_eq!(c.cmd_str(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["debug", "sleep", "-3"]), "+OK\r\n");
    assert!(start.elapsed() < Duration::from_millis(250));
}

#[test]
fn debug_set_active_expire_stops_background_expiry() {
    let s = roost_with_debug();
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    c.cmd(&["SET", "gone", "v", "PX", "20"]);
    std::thread::sleep(Duration::from_millis(400));
    // Nothing touched the key, so it is still stored (DBSIZE counts it) ...
    assert_eq!(c.int(&["DBSIZE"]), 1);
    // ... and DEBUG looks at it without expiring it.
    assert!(c.cmd_str(&["DEBUG", "OBJECT", "gone"]).starts_with("+Value at:"));
    assert_ne!(c.cmd_str(&["DEBUG", "DIGEST-VALUE", "gone"]), format!("*1\r\n+{}\r\n", "0".repeat(40)));
    assert_eq!(c.int(&["DBSIZE"]), 1);
    assert_eq!(c.cmd_str(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.int(&["DBSIZE"]) != 0 {
        assert!(Instant::now() < deadline, "active expiry did not resume");
        std::thread::sleep(Duration::from_millis(50));
    }
}

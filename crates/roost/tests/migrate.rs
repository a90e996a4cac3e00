//! MIGRATE between Roost servers and the real redis-server, both ways: values arrive identical
//! (DEBUG DIGEST-VALUE) with their TTLs, the source keeps what the target did not accept, and
//! every reply (OK, NOKEY, target errors, IOERR, argument errors) reads as redis-server's.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{RawClient, TestServer};

fn roost() -> TestServer {
    TestServer::start(&["--enable-debug-command", "yes"])
}

fn redis() -> TestServer {
    TestServer::start_redis_with(&["--enable-debug-command", "yes"])
}

fn digest(c: &mut RawClient, key: &str) -> String {
    c.cmd_str(&["DEBUG", "DIGEST-VALUE", key])
}

/// MIGRATE from `c` to the server on `port`, with `rest` after the host and port.
fn migrate(c: &mut RawClient, port: u16, rest: &[&str]) -> String {
    let port = port.to_string();
    let mut args = vec!["MIGRATE", "127.0.0.1", &port];
    args.extend_from_slice(rest);
    c.cmd_str(&args)
}

/// Builds one key of every kind on `c` (a string with a TTL among them); returns their names.
fn fill(c: &mut RawClient) -> Vec<&'static str> {
    let cmds: &[&[&str]] = &[
        &["SET", "str", "hello", "PX", "100000"],
        &["HSET", "hash", "a", "1", "b", "2", "c", "three"],
        &["ZADD", "zset", "1", "one", "2.5", "two", "-3", "three"],
        &["RPUSH", "list", "x", "y", "z", "12345"],
        &["XADD", "stream", "1-1", "f", "v"],
        &["XADD", "stream", "2-1", "g", "w"],
        &["SADD", "set", "m", "n", "1"],
    ];
    for cmd in cmds {
        let r = c.cmd_str(cmd);
        assert!(!r.starts_with('-'), "{cmd:?}: {r}");
    }
    vec!["str", "hash", "zset", "list", "stream", "set"]
}

/// Moves every kind of value from `from` to `to` one key at a time and checks each arrived
/// identical and left the source.
fn moves_every_kind(from: &TestServer, to: &TestServer) {
    let (mut src, mut dst) = (from.raw(), to.raw());
    for key in fill(&mut src) {
        let before = digest(&mut src, key);
        assert_eq!(migrate(&mut src, to.port, &[key, "0", "5000"]), "+OK\r\n", "{key}");
        assert_eq!(src.int(&["EXISTS", key]), 0, "{key} still at the source");
        assert_eq!(digest(&mut dst, key), before, "{key} differs at the target");
    }
    let ttl = dst.int(&["PTTL", "str"]);
    assert!((90_000..=100_000).contains(&ttl), "TTL {ttl}");
    assert_eq!(dst.int(&["PTTL", "hash"]), -1);
}

#[test]
fn roost_to_roost_moves_every_kind_with_its_ttl() {
    let (a, b) = (roost(), roost());
    moves_every_kind(&a, &b);
}

#[test]
fn roost_to_redis_and_back_arrive_identical() {
    let (r, red) = (roost(), redis());
    moves_every_kind(&r, &red);
    red.raw().cmd(&["FLUSHALL"]);
    let r2 = roost();
    moves_every_kind(&red, &r2);
}

#[test]
fn copy_keeps_the_source_and_replace_overwrites() {
    let (a, b) = (roost(), roost());
    let (mut src, mut dst) = (a.raw(), b.raw());
    src.cmd(&["SET", "k", "new"]);
    dst.cmd(&["SET", "k", "old"]);
    let busy = "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n";
    assert_eq!(migrate(&mut src, b.port, &["k", "0", "1000", "COPY"]), busy);
    assert_eq!(migrate(&mut src, b.port, &["k", "0", "1000"]), busy);
    assert_eq!(src.cmd_str(&["GET", "k"]), "$3\r\nnew\r\n", "a refused key stays");
    assert_eq!(migrate(&mut src, b.port, &["k", "0", "1000", "copy", "replace"]), "+OK\r\n");
    assert_eq!(src.cmd_str(&["GET", "k"]), "$3\r\nnew\r\n", "COPY keeps the source");
    assert_eq!(dst.cmd_str(&["GET", "k"]), "$3\r\nnew\r\n");
    assert_eq!(migrate(&mut src, b.port, &["k", "0", "1000", "REPLACE"]), "+OK\r\n");
    assert_eq!(src.int(&["EXISTS", "k"]), 0);
}

#[test]
fn keys_form_moves_those_present_and_nokey_when_none_is() {
    let (a, b) = (roost(), roost());
    let (mut src, mut dst) = (a.raw(), b.raw());
    src.cmd(&["SET", "a", "1"]);
    src.cmd(&["SET", "b", "2"]);
    dst.cmd(&["SET", "c", "target's"]);
    src.cmd(&["SET", "c", "3"]);
    assert_eq!(migrate(&mut src, b.port, &["", "0", "1000", "KEYS", "a", "missing", "b"]), "+OK\r\n");
    assert_eq!(src.int(&["EXISTS", "a", "b"]), 0);
    assert_eq!(dst.cmd_str(&["MGET", "a", "b"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(migrate(&mut src, b.port, &["", "0", "1000", "KEYS", "missing", "gone"]), "+NOKEY\r\n");
    assert_eq!(migrate(&mut src, b.port, &["missing", "0", "1000"]), "+NOKEY\r\n");
    // One key refused, one accepted: the accepted one leaves, the reply is the target's error.
    src.cmd(&["SET", "d", "4"]);
    assert_eq!(
        migrate(&mut src, b.port, &["", "0", "1000", "KEYS", "c", "d"]),
        "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(src.int(&["EXISTS", "c"]), 1);
    assert_eq!(src.int(&["EXISTS", "d"]), 0);
    assert_eq!(dst.cmd_str(&["GET", "d"]), "$1\r\n4\r\n");
}

#[test]
fn the_destination_db_is_selected_on_the_target() {
    let (a, b) = (roost(), roost());
    let (mut src, mut dst) = (a.raw(), b.raw());
    src.cmd(&["SELECT", "2"]);
    src.cmd(&["SET", "k", "v"]);
    assert_eq!(migrate(&mut src, b.port, &["k", "5", "1000"]), "+OK\r\n");
    assert_eq!(dst.int(&["EXISTS", "k"]), 0);
    dst.cmd(&["SELECT", "5"]);
    assert_eq!(dst.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    src.cmd(&["SET", "k", "v"]);
    assert_eq!(
        migrate(&mut src, b.port, &["k", "99", "1000"]),
        "-ERR Target instance replied with error: ERR DB index is out of range\r\n"
    );
    assert_eq!(src.int(&["EXISTS", "k"]), 1);
}

#[test]
fn auth_and_auth2_log_in_to_the_target() {
    let src_server = roost();
    let mut src = src_server.raw();
    let target = TestServer::start_redis();
    let mut admin = target.raw();
    assert_eq!(admin.cmd_str(&["ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all"]), "+OK\r\n");
    assert_eq!(admin.cmd_str(&["CONFIG", "SET", "requirepass", "secret"]), "+OK\r\n");
    src.cmd(&["SET", "k", "v"]);
    assert_eq!(
        migrate(&mut src, target.port, &["k", "0", "1000"]),
        "-ERR Target instance replied with error: NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        migrate(&mut src, target.port, &["k", "0", "1000", "AUTH", "wrong"]),
        "-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(src.int(&["EXISTS", "k"]), 1);
    assert_eq!(migrate(&mut src, target.port, &["k", "0", "1000", "COPY", "AUTH", "secret"]), "+OK\r\n");
    assert_eq!(migrate(&mut src, target.port, &["k", "0", "1000", "AUTH2", "alice", "pw", "REPLACE"]), "+OK\r\n");
    assert_eq!(src.int(&["EXISTS", "k"]), 0);
    let mut dst = target.raw();
    assert_eq!(dst.cmd_str(&["AUTH", "alice", "pw"]), "+OK\r\n");
    assert_eq!(dst.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
}

/// A port nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    common::free_port()
}

/// A target that accepts and reads everything but never answers.
fn silent_target() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 64 * 1024];
                while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

#[test]
fn io_errors_read_as_redis_and_keep_the_key() {
    let (r, red) = (roost(), redis());
    let silent = silent_target();
    let closed = closed_port();
    for server in [&r, &red] {
        let mut c = server.raw();
        c.cmd(&["SET", "k", "v"]);
        // Redis connects without blocking, so a refusal shows up as a failed write.
        assert_eq!(
            migrate(&mut c, closed, &["k", "0", "300"]),
            "-IOERR error or timeout writing to target instance\r\n",
            "port {}",
            server.port
        );
        assert_eq!(
            c.cmd_str(&["MIGRATE", "", "6379", "k", "0", "300"]),
            "-IOERR error or timeout connecting to the client\r\n"
        );
        assert_eq!(
            c.cmd_str(&["MIGRATE", "127.0.0.1", "-1", "k", "0", "300"]),
            "-IOERR error or timeout connecting to the client\r\n"
        );
        let start = Instant::now();
        assert_eq!(
            migrate(&mut c, silent, &["k", "0", "300"]),
            "-IOERR error or timeout reading to target instance\r\n"
        );
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(290) && waited < Duration::from_secs(5), "{waited:?}");
        assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
        assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
    }
}

#[test]
fn argument_errors_read_as_redis() {
    let (r, red) = (roost(), redis());
    let (mut a, mut b) = (r.raw(), red.raw());
    for c in [&mut a, &mut b] {
        c.cmd(&["SET", "k", "v"]);
    }
    let cases: &[&[&str]] = &[
        &["MIGRATE", "h", "1", "k", "0"],
        &["MIGRATE", "h", "1", "k", "x", "5"],
        &["MIGRATE", "h", "1", "k", "0", "x"],
        &["MIGRATE", "h", "1", "k", "0", "5", "AUTH"],
        &["MIGRATE", "h", "1", "k", "0", "5", "AUTH2", "u"],
        &["MIGRATE", "h", "1", "k", "0", "5", "nope"],
        &["MIGRATE", "h", "1", "k", "0", "5", "KEYS", "k"],
        &["MIGRATE", "h", "1", "", "0", "5", "KEYS"],
        &["MIGRATE", "h", "1", "", "0", "5", "COPY", "KEYS", "missing"],
        &["MIGRATE", "h", "1", "missing", "x", "5", "COPY"],
        &["MIGRATE", "h", "1", "missing", "0", "5", "REPLACE", "nope"],
        &["COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "5", "COPY", "KEYS", "a", "b"],
        &["COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "5"],
    ];
    for case in cases {
        assert_eq!(a.cmd_str(case), b.cmd_str(case), "{case:?}");
    }
}

#[test]
fn the_worker_serves_others_during_a_transfer() {
    let server = TestServer::start(&["--threads", "1"]);
    let silent = silent_target();
    let mut a = server.raw();
    a.cmd(&["SET", "k", "v"]);
    let port = silent.to_string();
    a.send(&common::encode(&[b"MIGRATE", b"127.0.0.1", port.as_bytes(), b"k", b"0", b"2000"]));
    std::thread::sleep(Duration::from_millis(100));
    let mut b = server.raw();
    let start = Instant::now();
    assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(b.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    assert!(start.elapsed() < Duration::from_secs(1), "the worker waited on the transfer");
    assert_eq!(a.read_reply(), b"-IOERR error or timeout reading to target instance\r\n");
}

#[test]
fn client_kill_ends_a_transfer_and_the_key_stays() {
    let server = roost();
    let silent = silent_target();
    let mut a = server.raw();
    a.cmd(&["SET", "k", "v"]);
    let id = a.int(&["CLIENT", "ID"]).to_string();
    let port = silent.to_string();
    a.send(&common::encode(&[b"MIGRATE", b"127.0.0.1", port.as_bytes(), b"k", b"0", b"60000"]));
    std::thread::sleep(Duration::from_millis(100));
    let mut b = server.raw();
    let start = Instant::now();
    assert_eq!(b.int(&["CLIENT", "KILL", "ID", &id]), 1);
    assert!(a.is_closed());
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(b.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn inside_multi_or_a_script_migrate_refuses_to_wait() {
    let (a, b) = (roost(), roost());
    let mut c = a.raw();
    c.cmd(&["SET", "k", "v"]);
    let port = b.port.to_string();
    assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["MIGRATE", "127.0.0.1", &port, "k", "0", "1000"]), "+QUEUED\r\n");
    assert_eq!(c.cmd_str(&["MIGRATE", "127.0.0.1", &port, "missing", "0", "1000"]), "+QUEUED\r\n");
    assert_eq!(c.cmd_str(&["EXEC"]), "*2\r\n-ERR MIGRATE is not supported inside MULTI/EXEC or scripts\r\n+NOKEY\r\n");
    let script = "return redis.pcall('MIGRATE', '127.0.0.1', ARGV[1], KEYS[1], '0', '1000')";
    assert_eq!(
        c.cmd_str(&["EVAL", script, "1", "k", &port]),
        "-ERR MIGRATE is not supported inside MULTI/EXEC or scripts\r\n"
    );
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn the_deletion_reaches_watchers_and_stats_count_one_call() {
    let (a, b) = (roost(), roost());
    let (mut src, mut watcher) = (a.raw(), a.raw());
    src.cmd(&["SET", "k", "v"]);
    watcher.cmd(&["WATCH", "k"]);
    assert_eq!(migrate(&mut src, b.port, &["k", "0", "1000"]), "+OK\r\n");
    watcher.cmd(&["MULTI"]);
    watcher.cmd(&["SET", "k", "w"]);
    assert_eq!(watcher.cmd_str(&["EXEC"]), "*-1\r\n");
    let stats = src.cmd_str(&["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_migrate:calls=1,"), "{stats}");
    assert!(!stats.contains("cmdstat_del:"), "{stats}");
}

/// A target that answers `replies` once it has read something, after `delay`.
fn slow_target(replies: &'static [u8], delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let mut buf = [0u8; 64 * 1024];
        if matches!(conn.read(&mut buf), Ok(n) if n > 0) {
            std::thread::sleep(delay);
            let _ = std::io::Write::write_all(&mut conn, replies);
        }
        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
    });
    port
}

#[test]
fn a_key_written_during_the_transfer_is_kept() {
    let server = roost();
    // SELECT's reply, then RESTORE's.
    let target = slow_target(b"+OK\r\n+OK\r\n", Duration::from_millis(400));
    let (mut a, mut b) = (server.raw(), server.raw());
    a.cmd(&["SET", "k", "old"]);
    let port = target.to_string();
    a.send(&common::encode(&[b"MIGRATE", b"127.0.0.1", port.as_bytes(), b"k", b"0", b"5000"]));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.cmd_str(&["SET", "k", "new"]), "+OK\r\n");
    assert_eq!(a.read_reply(), b"+OK\r\n");
    assert_eq!(b.cmd_str(&["GET", "k"]), "$3\r\nnew\r\n");
}

#[test]
fn the_aof_records_a_del_and_a_restart_has_no_key() {
    let dir = common::temp_dir("migrate-aof");
    let path = dir.0.to_str().unwrap().to_string();
    let args = ["--dir", path.as_str(), "--appendonly", "yes", "--appendfsync", "always"];
    let target = roost();
    {
        let src = TestServer::start(&args);
        let mut c = src.raw();
        c.cmd(&["SET", "gone", "1"]);
        c.cmd(&["SET", "copied", "2"]);
        assert_eq!(migrate(&mut c, target.port, &["", "0", "1000", "KEYS", "gone"]), "+OK\r\n");
        assert_eq!(migrate(&mut c, target.port, &["copied", "0", "1000", "COPY"]), "+OK\r\n");
    }
    let aof = std::fs::read(dir.0.join("appendonlydir").join("appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&aof);
    assert!(text.contains("*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n"), "{text}");
    assert!(!text.to_ascii_uppercase().contains("MIGRATE"), "{text}");
    let src = TestServer::start(&args);
    let mut c = src.raw();
    assert_eq!(c.int(&["EXISTS", "gone"]), 0);
    assert_eq!(c.cmd_str(&["GET", "copied"]), "$1\r\n2\r\n");
}

#[test]
fn large_values_and_many_keys_arrive_whole() {
    let (r, red) = (roost(), redis());
    let (mut src, mut dst) = (r.raw(), red.raw());
    let big = "x".repeat(3 << 20);
    src.cmd(&["SET", "big", &big]);
    let items: Vec<String> = (0..50_000).map(|i| format!("item-{i}")).collect();
    let mut rpush = vec!["RPUSH", "long"];
    rpush.extend(items.iter().map(String::as_str));
    src.cmd(&rpush);
    let names: Vec<String> = (0..2_000).map(|i| format!("k{i}")).collect();
    for n in &names {
        src.cmd(&["SET", n, n]);
    }
    let digests: Vec<String> = ["big", "long"].iter().map(|k| digest(&mut src, k)).collect();
    assert_eq!(migrate(&mut src, red.port, &["", "0", "5000", "KEYS", "big", "long"]), "+OK\r\n");
    let mut args = vec!["", "0", "5000", "KEYS"];
    args.extend(names.iter().map(String::as_str));
    assert_eq!(migrate(&mut src, red.port, &args), "+OK\r\n");
    assert_eq!(src.int(&["DBSIZE"]), 0);
    assert_eq!(dst.int(&["DBSIZE"]), 2_002);
    assert_eq!(digests, ["big", "long"].iter().map(|k| digest(&mut dst, k)).collect::<Vec<_>>());
    assert_eq!(dst.cmd_str(&["GET", "k1999"]), "$5\r\nk1999\r\n");
}

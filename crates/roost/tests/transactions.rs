//! Transactions: MULTI/EXEC/DISCARD/WATCH/UNWATCH replies compared with a real redis-server,
//! WATCH seeing other clients' writes, expiry, FLUSHALL and SWAPDB, and EXEC's atomicity
//! across worker threads.

mod common;
use common::*;

use std::time::Duration;

/// Runs `steps` (client index, command) on Roost and on redis-server and compares every reply.
fn same_as_redis(clients: usize, steps: &[(usize, &[&str])]) {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    let mut ours: Vec<RawClient> = (0..clients).map(|_| roost.raw()).collect();
    let mut theirs: Vec<RawClient> = (0..clients).map(|_| redis.raw()).collect();
    for (i, (who, cmd)) in steps.iter().enumerate() {
        if cmd[0] == "SLEEP" {
            std::thread::sleep(Duration::from_millis(cmd[1].parse().unwrap()));
            continue;
        }
        let a = ours[*who].cmd_str(cmd);
        let b = theirs[*who].cmd_str(cmd);
        if cmd[0] == "HELLO" {
            // Its reply carries the client id, which differs between the servers.
            assert!(a.starts_with("%7\r\n") && b.starts_with("%7\r\n"), "{a} {b}");
            continue;
        }
        assert_eq!(a, b, "step {i}: client {who} {cmd:?}");
    }
}

#[test]
fn queueing_errors_and_exec_replies_match_redis() {
    same_as_redis(
        1,
        &[
            (0, &["EXEC"]),
            (0, &["DISCARD"]),
            (0, &["MULTI"]),
            (0, &["MULTI"]),
            (0, &["SET", "a", "1"]),
            (0, &["INCR", "a"]),
            (0, &["LPUSH", "a", "x"]),
            (0, &["GET", "a"]),
            (0, &["EXEC"]),
            (0, &["MULTI"]),
            (0, &["SET", "a"]),
            (0, &["NOSUCHCOMMAND", "x"]),
            (0, &["INCR", "a"]),
            (0, &["EXEC"]),
            (0, &["GET", "a"]),
            (0, &["MULTI"]),
            (0, &["WATCH", "a"]),
            (0, &["SHUTDOWN"]),
            (0, &["EXEC"]),
            (0, &["MULTI"]),
            (0, &["SET", "b", "2"]),
            (0, &["DISCARD"]),
            (0, &["GET", "b"]),
            (0, &["MULTI"]),
            (0, &["EXEC"]),
            (0, &["MULTI"]),
            (0, &["SELECT", "3"]),
            (0, &["SET", "in3", "x"]),
            (0, &["EXEC"]),
            (0, &["GET", "in3"]),
            (0, &["SELECT", "0"]),
            (0, &["GET", "in3"]),
            (0, &["UNWATCH"]),
            (0, &["WATCH"]),
        ],
    );
}

#[test]
fn blocking_commands_inside_exec_answer_at_once() {
    same_as_redis(
        1,
        &[
            (0, &["MULTI"]),
            (0, &["BLPOP", "none", "0"]),
            (0, &["BRPOP", "none", "0"]),
            (0, &["BLMOVE", "none", "dst", "LEFT", "LEFT", "0"]),
            (0, &["BRPOPLPUSH", "none", "dst", "0"]),
            (0, &["BLMPOP", "0", "1", "none", "LEFT"]),
            (0, &["BZPOPMIN", "none", "0"]),
            (0, &["BZMPOP", "0", "1", "none", "MIN"]),
            (0, &["RPUSH", "l", "1"]),
            (0, &["BLPOP", "l", "0"]),
            (0, &["EXEC"]),
            (0, &["HELLO", "3"]),
            (0, &["MULTI"]),
            (0, &["BLPOP", "none", "0"]),
            (0, &["EXEC"]),
        ],
    );
}

#[test]
fn watch_sees_other_clients_and_every_kind_of_change() {
    same_as_redis(
        2,
        &[
            // a write by another client
            (0, &["SET", "k", "1"]),
            (0, &["WATCH", "k"]),
            (1, &["SET", "k", "2"]),
            (0, &["MULTI"]),
            (0, &["SET", "k", "3"]),
            (0, &["EXEC"]),
            (0, &["GET", "k"]),
            // untouched: succeeds; a write to another key does not matter
            (0, &["WATCH", "k"]),
            (1, &["SET", "other", "x"]),
            (0, &["MULTI"]),
            (0, &["INCR", "k"]),
            (0, &["EXEC"]),
            // EXEC unwatches: the next transaction is free
            (1, &["SET", "k", "9"]),
            (0, &["MULTI"]),
            (0, &["GET", "k"]),
            (0, &["EXEC"]),
            // UNWATCH
            (0, &["WATCH", "k"]),
            (1, &["SET", "k", "10"]),
            (0, &["UNWATCH"]),
            (0, &["MULTI"]),
            (0, &["GET", "k"]),
            (0, &["EXEC"]),
            // DISCARD unwatches too
            (0, &["WATCH", "k"]),
            (0, &["MULTI"]),
            (0, &["DISCARD"]),
            (1, &["SET", "k", "11"]),
            (0, &["MULTI"]),
            (0, &["GET", "k"]),
            (0, &["EXEC"]),
            // a key that does not exist, then is created
            (0, &["WATCH", "nokey"]),
            (1, &["LPUSH", "nokey", "a"]),
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
            // RENAME onto the watched key
            (0, &["SET", "src", "s"]),
            (0, &["WATCH", "k"]),
            (1, &["RENAME", "src", "k"]),
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
            // expiry set by another client
            (0, &["WATCH", "k"]),
            (1, &["EXPIRE", "k", "100"]),
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
            // FLUSHALL of a watched key that exists
            (0, &["WATCH", "k"]),
            (1, &["FLUSHALL"]),
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
            // FLUSHALL when the watched key does not exist: nothing changed for it
            (0, &["WATCH", "absent"]),
            (1, &["FLUSHALL"]),
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
            // SWAPDB brings a key into the watched database
            (1, &["SELECT", "1"]),
            (1, &["SET", "w", "from1"]),
            (0, &["WATCH", "w"]),
            (1, &["SWAPDB", "0", "1"]),
            (0, &["MULTI"]),
            (0, &["GET", "w"]),
            (0, &["EXEC"]),
            // MOVE into the watched database
            (1, &["SET", "mv", "x"]),
            (0, &["WATCH", "mv"]),
            (1, &["MOVE", "mv", "0"]),
            (0, &["MULTI"]),
            (0, &["GET", "mv"]),
            (0, &["EXEC"]),
            // the client's own write after WATCH counts as well
            (0, &["WATCH", "mine"]),
            (0, &["SET", "mine", "1"]),
            (0, &["MULTI"]),
            (0, &["GET", "mine"]),
            (0, &["EXEC"]),
        ],
    );
}

#[test]
fn watched_key_that_expires_fails_exec() {
    same_as_redis(
        1,
        &[
            (0, &["SET", "t", "1", "PX", "50"]),
            (0, &["WATCH", "t"]),
            (0, &["SLEEP", "150"]),
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
            // already expired when watched: its removal is not a change
            (0, &["SET", "t2", "1", "PX", "20"]),
            (0, &["SLEEP", "60"]),
            (0, &["WATCH", "t2"]),
            (0, &["GET", "t2"]),
            (0, &["MULTI"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
        ],
    );
}

#[test]
fn disconnecting_with_watches_and_a_queued_transaction_leaves_nothing_behind() {
    let roost = TestServer::start(&[]);
    {
        let mut c = roost.raw();
        assert_eq!(c.cmd_str(&["WATCH", "a", "b"]), "+OK\r\n");
        assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.cmd_str(&["SET", "a", "1"]), "+QUEUED\r\n");
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut c = roost.raw();
    assert_eq!(c.cmd_str(&["GET", "a"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["SET", "a", "2"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd_str(&["WATCH", "a"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
    // RESET leaves the transaction and the watches
    assert_eq!(c.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd_str(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
}

/// Many clients on both worker threads increment counters inside transactions, some with
/// WATCH-guarded read-modify-write; every successful operation is counted exactly once.
#[test]
fn concurrent_transactions_are_atomic() {
    let roost = TestServer::start(&["--threads", "2"]);
    let port = roost.port;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                let mut watched_ok = 0i64;
                for i in 0..300 {
                    // Plain MULTI: both counters move together, always.
                    c.send(&encode(&[b"MULTI"]));
                    c.send(&encode(&[b"INCR", b"{c}x"]));
                    c.send(&encode(&[b"INCR", b"{c}y"]));
                    c.send(&encode(&[b"INCR", b"z"]));
                    c.send(&encode(&[b"EXEC"]));
                    for _ in 0..4 {
                        c.read_reply();
                    }
                    let exec = c.read_reply();
                    let text = String::from_utf8_lossy(&exec);
                    let lines: Vec<&str> = text.split("\r\n").collect();
                    assert_eq!(lines[0], "*3", "{text}");
                    let x: i64 = lines[1][1..].parse().unwrap();
                    let y: i64 = lines[2][1..].parse().unwrap();
                    assert_eq!(x, y, "a transaction saw another half-applied");
                    // Optimistic: read, then write the value read plus one, if nobody wrote.
                    if (i + t) % 3 == 0 {
                        assert_eq!(c.cmd_str(&["WATCH", "opt"]), "+OK\r\n");
                        let cur = c.cmd_str(&["GET", "opt"]);
                        let n: i64 = cur.split("\r\n").nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
                        assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
                        assert_eq!(c.cmd_str(&["SET", "opt", &(n + 1).to_string()]), "+QUEUED\r\n");
                        let r = c.cmd_str(&["EXEC"]);
                        if r == "*1\r\n+OK\r\n" {
                            watched_ok += 1;
                        } else {
                            assert_eq!(r, "*-1\r\n");
                        }
                    }
                }
                watched_ok
            })
        })
        .collect();
    let watched_ok: i64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut c = roost.raw();
    assert_eq!(c.cmd_str(&["GET", "{c}x"]), "$4\r\n2400\r\n");
    assert_eq!(c.cmd_str(&["GET", "{c}y"]), "$4\r\n2400\r\n");
    assert_eq!(c.cmd_str(&["GET", "z"]), "$4\r\n2400\r\n");
    let opt = c.cmd_str(&["GET", "opt"]);
    assert_eq!(opt, format!("${}\r\n{}\r\n", watched_ok.to_string().len(), watched_ok));
    assert!(watched_ok > 0);
}

/// A transaction with a keyless command (it stops the world) runs beside ordinary traffic on
/// the other worker without losing or interleaving anything.
#[test]
fn world_stopping_transactions_and_plain_traffic_interleave_safely() {
    let roost = TestServer::start(&["--threads", "2"]);
    let port = roost.port;
    let writers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                for _ in 0..500 {
                    assert!(c.cmd_str(&["INCR", "plain"]).starts_with(':'));
                }
            })
        })
        .collect();
    let tx: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                for _ in 0..200 {
                    c.send(&encode(&[b"MULTI"]));
                    c.send(&encode(&[b"INCR", b"w1"]));
                    c.send(&encode(&[b"DBSIZE"]));
                    c.send(&encode(&[b"INCR", b"w2"]));
                    c.send(&encode(&[b"EXEC"]));
                    for _ in 0..4 {
                        c.read_reply();
                    }
                    let text = String::from_utf8_lossy(&c.read_reply()).into_owned();
                    let lines: Vec<&str> = text.split("\r\n").collect();
                    assert_eq!(lines[0], "*3");
                    assert_eq!(lines[1], lines[3], "{text}");
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(tx) {
        t.join().unwrap();
    }
    let mut c = roost.raw();
    assert_eq!(c.cmd_str(&["GET", "plain"]), "$4\r\n2000\r\n");
    assert_eq!(c.cmd_str(&["GET", "w1"]), "$3\r\n400\r\n");
}

/// INCR inside MULTI and a Lua read-modify-write (GET, then SET of the value plus one) on the
/// same key, from clients spread over both worker threads: no update is lost, so the final value
/// is exactly the number of operations.
#[test]
fn multi_increments_and_lua_read_modify_writes_do_not_lose_updates() {
    let roost = TestServer::start(&["--threads", "2"]);
    let port = roost.port;
    let script = "local v = tonumber(redis.call('GET', KEYS[1]) or '0') redis.call('SET', KEYS[1], v + 1) return v + 1";
    let mut setup = roost.raw();
    let sha = setup.cmd_str(&["SCRIPT", "LOAD", script]);
    let sha = sha.split("\r\n").nth(1).unwrap().to_string();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let sha = sha.clone();
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                for _ in 0..250 {
                    if t % 2 == 0 {
                        c.send(&encode(&[b"MULTI"]));
                        c.send(&encode(&[b"INCR", b"shared"]));
                        c.send(&encode(&[b"EXEC"]));
                        assert_eq!(c.read_reply(), b"+OK\r\n");
                        assert_eq!(c.read_reply(), b"+QUEUED\r\n");
                        assert!(c.read_reply().starts_with(b"*1\r\n:"));
                    } else {
                        let r = c.cmd_str(&["EVALSHA", &sha, "1", "shared"]);
                        assert!(r.starts_with(':'), "{r}");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(setup.cmd_str(&["GET", "shared"]), "$4\r\n1500\r\n");
}

/// CLIENT LIST shows a client queuing a transaction with the `x` flag and its queued count.
#[test]
fn client_list_shows_queued_transactions_like_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    for port in [roost.port, redis.port] {
        let mut tx = RawClient::connect(port);
        let mut observer = RawClient::connect(port);
        assert_eq!(tx.cmd_str(&["CLIENT", "SETNAME", "txc"]), "+OK\r\n");
        let fields = |observer: &mut RawClient| {
            let list = observer.cmd_str(&["CLIENT", "LIST"]);
            let line = list.lines().find(|l| l.contains("name=txc")).unwrap().to_string();
            let pick = |key: &str| line.split(' ').find(|f| f.starts_with(key)).unwrap().to_string();
            (pick("flags="), pick("multi="))
        };
        assert_eq!(fields(&mut observer), ("flags=N".to_string(), "multi=-1".to_string()), "port {port}");
        assert_eq!(tx.cmd_str(&["MULTI"]), "+OK\r\n");
        assert_eq!(tx.cmd_str(&["SET", "k", "1"]), "+QUEUED\r\n");
        assert_eq!(tx.cmd_str(&["INCR", "k"]), "+QUEUED\r\n");
        assert_eq!(fields(&mut observer), ("flags=x".to_string(), "multi=2".to_string()), "port {port}");
        assert_eq!(tx.cmd_str(&["DISCARD"]), "+OK\r\n");
        assert_eq!(fields(&mut observer), ("flags=N".to_string(), "multi=-1".to_string()), "port {port}");
    }
}

/// CLIENT LIST's `d` flag: a watched key was changed, until EXEC (or UNWATCH) drops the watch.
#[test]
fn client_list_flags_a_touched_watch_like_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    for port in [roost.port, redis.port] {
        let mut watcher = RawClient::connect(port);
        let mut other = RawClient::connect(port);
        assert_eq!(watcher.cmd_str(&["CLIENT", "SETNAME", "wd"]), "+OK\r\n");
        let flags = |other: &mut RawClient| {
            let list = other.cmd_str(&["CLIENT", "LIST"]);
            let line = list.lines().find(|l| l.contains("name=wd")).unwrap().to_string();
            line.split(' ').find(|f| f.starts_with("flags=")).unwrap().to_string()
        };
        assert_eq!(watcher.cmd_str(&["WATCH", "wk"]), "+OK\r\n");
        assert_eq!(flags(&mut other), "flags=N", "port {port}");
        assert_eq!(other.cmd_str(&["SET", "wk", "1"]), "+OK\r\n");
        assert_eq!(flags(&mut other), "flags=d", "port {port}");
        assert_eq!(watcher.cmd_str(&["MULTI"]), "+OK\r\n");
        assert_eq!(flags(&mut other), "flags=xd", "port {port}");
        assert_eq!(watcher.cmd_str(&["EXEC"]), "*-1\r\n");
        assert_eq!(flags(&mut other), "flags=N", "port {port}");
    }
}

//! Keyspace notifications: the events of a representative command of every class, their order
//! and channels, class filtering, expiry (lazy and active), and silence when disabled, each
//! compared with a real redis-server.

mod common;
use common::*;

use std::time::Duration;

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];

/// The channel of the marker message that ends a collection; the pattern below matches it.
const MARKER: &str = "__keyspace@0__:--end--";

/// Sets `flags`, subscribes a client to every notification channel, runs `cmds` on another
/// client (a `SLEEP <ms>` step waits instead), and returns the messages the subscriber got, one
/// `channel payload` line each.
fn notifications(port: u16, flags: &str, cmds: &[&[&str]]) -> Vec<String> {
    let mut sub = RawClient::connect(port);
    let mut c = RawClient::connect(port);
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "notify-keyspace-events", flags]), "+OK\r\n");
    sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    for cmd in cmds {
        if cmd[0] == "SLEEP" {
            std::thread::sleep(Duration::from_millis(cmd[1].parse().unwrap()));
            continue;
        }
        c.cmd(cmd);
    }
    c.cmd(&["PUBLISH", MARKER, "x"]);
    let mut seen = Vec::new();
    loop {
        let frame = String::from_utf8_lossy(&sub.read_reply()).into_owned();
        assert!(!frame.is_empty(), "the marker never arrived; got {seen:?}");
        let parts: Vec<&str> = frame.split("\r\n").collect();
        // *4 $8 pmessage $n pattern $n channel $n payload
        assert_eq!(parts[2], "pmessage", "{frame}");
        let (channel, payload) = (parts[6], parts[8]);
        if channel == MARKER {
            return seen;
        }
        seen.push(format!("{channel} {payload}"));
    }
}

/// The same notifications from Roost and from redis-server, both started with `args`.
fn compare(args: &[&str], flags: &str, cmds: &[&[&str]]) -> Vec<String> {
    let roost = TestServer::start(&[&["--threads", "2"], args].concat());
    let redis = TestServer::start_redis_with(args);
    let ours = notifications(roost.port, flags, cmds);
    let theirs = notifications(redis.port, flags, cmds);
    assert_eq!(ours, theirs);
    ours
}

#[test]
fn every_class_announces_what_redis_announces() {
    let seen = compare(
        &[],
        "KEA",
        &[
            // generic
            &["SET", "foo", "bar"],
            &["SET", "foo", "bar", "EX", "100"],
            &["EXPIRE", "foo", "200"],
            &["PERSIST", "foo"],
            &["PERSIST", "foo"],
            &["RENAME", "foo", "foo2"],
            &["RENAME", "foo2", "foo2"],
            &["COPY", "foo2", "foo3"],
            &["MOVE", "foo3", "1"],
            &["DEL", "foo2", "nosuchkey", "foo2"],
            &["SET", "gone", "1"],
            &["EXPIRE", "gone", "-1"],
            // strings
            &["APPEND", "s", "abc"],
            &["SETRANGE", "s", "1", "zz"],
            &["SETRANGE", "s", "1", ""],
            &["INCR", "n"],
            &["DECRBY", "n", "5"],
            &["INCRBYFLOAT", "n", "1.5"],
            &["MSET", "m1", "1", "m2", "2"],
            &["MSETNX", "m1", "1", "m3", "3"],
            &["GETSET", "m1", "x"],
            &["GETDEL", "m1"],
            &["SETNX", "m2", "x"],
            &["SETEX", "ex", "100", "v"],
            &["GETEX", "ex", "PERSIST"],
            &["GETEX", "ex", "EX", "50"],
            &["SETBIT", "bits", "7", "1"],
            &["BITFIELD", "bits", "SET", "u8", "0", "255", "GET", "u8", "0"],
            &["BITOP", "NOT", "bits2", "bits"],
            &["BITOP", "AND", "bits2", "nosuch"],
            &["PFADD", "hll", "a", "b"],
            &["PFADD", "hll", "a"],
            &["PFMERGE", "hll2", "hll"],
            // lists
            &["LPUSH", "l", "a", "b", "c"],
            &["RPUSH", "l", "d"],
            &["LPUSHX", "nolist", "a"],
            &["LPOP", "l"],
            &["RPOP", "l", "2"],
            &["LINSERT", "l", "BEFORE", "b", "x"],
            &["LINSERT", "l", "BEFORE", "nothere", "x"],
            &["LSET", "l", "0", "y"],
            &["LREM", "l", "1", "y"],
            &["LTRIM", "l", "0", "0"],
            &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
            &["RPOPLPUSH", "l2", "l3"],
            &["RPUSH", "l3", "z"],
            &["LMOVE", "l3", "l3", "LEFT", "RIGHT"],
            &["LMPOP", "1", "l3", "LEFT", "COUNT", "5"],
            &["RPUSH", "bl", "x"],
            &["BLPOP", "bl", "0"],
            &["RPUSH", "sl", "3", "1", "2"],
            &["SORT", "sl", "STORE", "sl2"],
            &["SORT", "nosuch", "STORE", "sl2"],
            // hashes
            &["HSET", "h", "f", "v", "g", "w"],
            &["HSETNX", "h", "f", "v"],
            &["HINCRBY", "h", "c", "1"],
            &["HINCRBYFLOAT", "h", "d", "1.5"],
            &["HDEL", "h", "nosuch"],
            &["HDEL", "h", "f", "g", "c", "d"],
            // sets
            &["SADD", "s1", "a", "b", "c"],
            &["SADD", "s1", "a"],
            &["SREM", "s1", "a"],
            &["SMOVE", "s1", "s2", "b"],
            &["SPOP", "s1"],
            &["SADD", "s4", "x", "y"],
            &["SINTERSTORE", "s5", "s4", "s2"],
            &["SUNIONSTORE", "s6", "s4", "s2"],
            &["SDIFFSTORE", "s6", "s4", "s4"],
            &["SPOP", "s4", "1"],
            // sorted sets
            &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
            &["ZADD", "z", "NX", "1", "a"],
            &["ZINCRBY", "z", "1", "a"],
            &["ZADD", "z", "INCR", "1", "a"],
            &["ZREM", "z", "a"],
            &["ZREMRANGEBYSCORE", "z", "2", "2"],
            &["ZREMRANGEBYRANK", "z", "0", "0"],
            &["ZADD", "zl", "0", "p", "0", "q", "0", "r"],
            &["ZREMRANGEBYLEX", "zl", "[p", "[p"],
            &["ZUNIONSTORE", "zu", "1", "z"],
            &["ZINTERSTORE", "zi", "1", "z"],
            &["ZDIFFSTORE", "zd", "1", "z"],
            &["ZRANGESTORE", "zr", "z", "0", "-1"],
            &["ZRANGESTORE", "zr", "nosuch", "0", "-1"],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "zl", "5"],
            &["ZADD", "zz", "1", "a"],
            &["ZMPOP", "1", "zz", "MIN"],
            &["ZADD", "bz", "1", "a"],
            &["BZPOPMAX", "bz", "0"],
            // commands that change nothing announce nothing
            &["GET", "zu"],
            &["FLUSHDB"],
        ],
    );
    // Both servers agree; make sure they agreed on something substantial.
    assert!(seen.len() > 150, "{}", seen.len());
    assert_eq!(seen[0], "__keyspace@0__:foo set");
    assert_eq!(seen[1], "__keyevent@0__:set foo");
}

#[test]
fn new_and_keymiss_events_match_redis() {
    compare(
        &[],
        "KEAnm",
        &[
            &["SET", "x", "1"],
            &["SET", "x", "2"],
            &["GET", "nokey"],
            &["HGET", "nokey", "f"],
            &["LRANGE", "nokey", "0", "1"],
            &["EXISTS", "nokey", "x"],
            &["SMEMBERS", "nokey"],
            &["ZSCORE", "nokey", "a"],
            &["MGET", "nokey", "x"],
            &["STRLEN", "nokey"],
            &["TYPE", "nokey"],
            &["TTL", "nokey"],
            &["SINTERSTORE", "dst", "nokey", "x2"],
            &["GETRANGE", "nokey", "0", "1"],
            &["LCS", "nokey", "x"],
            &["ZINTERCARD", "1", "nokey"],
            &["ZUNIONSTORE", "zdst", "1", "nokey"],
            &["ZRANGESTORE", "zdst", "nokey", "0", "1"],
            &["TOUCH", "nokey", "x"],
            &["SORT", "nokey"],
            // Looked up without a keymiss.
            &["OBJECT", "ENCODING", "nokey"],
            &["MEMORY", "USAGE", "nokey"],
            &["RENAME", "nokey", "y"],
            &["LPUSHX", "nokey", "a"],
            &["PFMERGE", "hll", "nohll"],
            &["RPUSH", "l", "a"],
            &["RPUSH", "l", "b"],
            &["HSET", "h", "a", "1"],
            &["SADD", "s", "a"],
            &["ZADD", "z", "1", "a"],
            &["COPY", "x", "y"],
            &["MOVE", "y", "3"],
        ],
    );
}

#[test]
fn overwriting_a_key_is_not_announced_as_new() {
    compare(
        &[],
        "KEAn",
        &[
            &["SET", "a", "1"],
            &["SET", "b", "2"],
            &["RENAME", "a", "b"],
            &["RPUSH", "l", "1", "2"],
            &["SORT", "l", "STORE", "b"],
            &["SADD", "s", "x"],
            &["SINTERSTORE", "b", "s"],
            &["SET", "c", "1"],
            &["COPY", "b", "c", "REPLACE"],
            &["ZADD", "z", "1", "a"],
            &["ZUNIONSTORE", "c", "1", "z"],
            &["ZRANGESTORE", "c", "z", "0", "-1"],
            &["BITOP", "OR", "c", "a"],
            &["SET", "e", "v", "KEEPTTL"],
            &["SET", "e", "v", "GET"],
            &["SET", "e2", "v", "NX", "GET"],
            &["SET", "e", "v", "XX", "PX", "100000"],
            &["SPOP", "s", "0"],
            &["ZPOPMIN", "z", "0"],
            &["RPUSH", "l2", "a"],
            &["LPOP", "l2", "0"],
            &["EXPIREAT", "l2", "1"],
            &["PEXPIRE", "nosuch", "100"],
            &["GETEX", "nosuch", "EX", "10"],
        ],
    );
}

#[test]
fn classes_and_kinds_filter_like_redis() {
    let cmds: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["LPUSH", "l", "x"],
        &["HSET", "h", "f", "v"],
        &["SADD", "s", "m"],
        &["ZADD", "z", "1", "m"],
        &["DEL", "a", "l"],
        &["EXPIRE", "h", "100"],
    ];
    assert_eq!(compare(&[], "Kl", cmds), vec!["__keyspace@0__:l lpush"]);
    assert_eq!(
        compare(&[], "Eg", cmds),
        vec!["__keyevent@0__:del a", "__keyevent@0__:del l", "__keyevent@0__:expire h"]
    );
    compare(&[], "K$hz", cmds);
    compare(&[], "Es", cmds);
}

#[test]
fn nothing_is_sent_when_disabled() {
    let cmds: &[&[&str]] = &[&["SET", "a", "1"], &["LPUSH", "l", "x"], &["DEL", "a"], &["GET", "nokey"]];
    assert!(compare(&[], "", cmds).is_empty());
    // Classes without K or E name no channel to send on.
    assert!(compare(&[], "A", cmds).is_empty());
    assert!(compare(&[], "gl$xnm", cmds).is_empty());
    // Only the kinds asked for.
    assert!(compare(&[], "K", cmds).is_empty());
}

#[test]
fn expiry_is_announced_lazily_and_actively() {
    let seen = compare(
        DEBUG,
        "KEx",
        &[
            // Active expiry finds this one on its own.
            &["SET", "soon", "v", "PX", "30"],
            &["SLEEP", "600"],
            // With active expiry off, access removes (and announces) it.
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "lazy", "v", "PX", "30"],
            &["SLEEP", "100"],
            &["GET", "lazy"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ],
    );
    assert_eq!(
        seen,
        vec![
            "__keyspace@0__:soon expired",
            "__keyevent@0__:expired soon",
            "__keyspace@0__:lazy expired",
            "__keyevent@0__:expired lazy",
        ]
    );
}

#[test]
fn other_databases_are_named_in_channels() {
    compare(
        &[],
        "KEA",
        &[&["SELECT", "5"], &["SET", "k", "v"], &["MOVE", "k", "2"], &["SELECT", "2"], &["COPY", "k", "k2", "DB", "7"]],
    );
}

#[test]
fn config_get_shows_the_normalized_flags() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    for flags in ["", "KEA", "AKE", "Kx$lzE", "KEAnm", "Egl$shzxetmdn", "gK", "A", "nK", "tdK", "KEA$"] {
        let set = ["CONFIG", "SET", "notify-keyspace-events", flags];
        assert_eq!(a.cmd_str(&set), b.cmd_str(&set), "{flags}");
        let get = ["CONFIG", "GET", "notify-keyspace-events"];
        assert_eq!(a.cmd_str(&get), b.cmd_str(&get), "{flags}");
    }
    for bad in ["Q", "K E", "KEA!"] {
        let set = ["CONFIG", "SET", "notify-keyspace-events", bad];
        assert_eq!(a.cmd_str(&set), b.cmd_str(&set), "{bad}");
    }
}

/// Sends `cmd` and returns all it produced on this connection (reply and pushes, in order):
/// a PING with a marker follows, and everything before the marker's answer belongs to `cmd`.
fn everything_from(c: &mut RawClient, cmd: &[&str]) -> String {
    let mut out = String::from_utf8_lossy(&c.cmd(cmd)).into_owned();
    c.send(&encode(&[b"PING", b"--sync--"]));
    loop {
        let frame = String::from_utf8_lossy(&c.read_reply()).into_owned();
        assert!(!frame.is_empty(), "no answer to the marker after {cmd:?}");
        if frame.contains("--sync--") {
            return out;
        }
        out.push_str(&frame);
    }
}

#[test]
fn a_resp3_client_sees_its_own_events_where_redis_puts_them() {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    let cmds: &[&[&str]] = &[
        &["SET", "k", "v", "EX", "100"],
        &["INCR", "n"],
        &["APPEND", "k", "x"],
        &["DEL", "n"],
        &["EXPIRE", "k", "50"],
        &["GETDEL", "k"],
        &["HSET", "h", "f", "v"],
        &["HINCRBY", "h", "c", "1"],
        &["HDEL", "h", "f", "c"],
        &["LPUSH", "l", "a", "b"],
        &["LSET", "l", "0", "z"],
        &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
        &["LPOP", "l"],
        // One member at a time, so the popped member is known.
        &["SADD", "s", "a"],
        &["SPOP", "s"],
        &["SADD", "s", "a"],
        &["SPOP", "s", "5"],
        &["SADD", "s", "a", "b"],
        &["SPOP", "s", "0"],
        &["SADD", "s", "a"],
        &["SINTERSTORE", "s2", "s"],
        &["SINTERSTORE", "s2", "s", "nosuch"],
        &["SUNIONSTORE", "s3", "s"],
        &["ZADD", "z", "1", "a"],
        &["ZINCRBY", "z", "1", "a"],
        &["ZUNIONSTORE", "z2", "1", "z"],
        &["ZRANGESTORE", "z3", "z", "0", "-1"],
        &["ZREM", "z", "a"],
        &["MULTI"],
        &["SET", "m", "1"],
        &["EXEC"],
    ];
    let mut outputs = Vec::new();
    for port in [roost.port, redis.port] {
        let mut c = RawClient::connect(port);
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        c.cmd(&["PSUBSCRIBE", "__keyevent@0__:*"]);
        let mut out = Vec::new();
        let mut queued = false;
        for cmd in cmds {
            // A marker PING inside MULTI would be queued with the transaction.
            queued = (queued || cmd[0] == "MULTI") && cmd[0] != "EXEC";
            out.push(if queued { c.cmd_str(cmd) } else { everything_from(&mut c, cmd) });
        }
        outputs.push(out);
    }
    for (i, cmd) in cmds.iter().enumerate() {
        assert_eq!(outputs[0][i], outputs[1][i], "{cmd:?}");
    }
}

#[test]
fn notifications_reach_resp3_subscribers_as_pushes() {
    let server = TestServer::start(&["--threads", "2", "--notify-keyspace-events", "KEA"]);
    let mut sub = server.raw();
    let mut c = server.raw();
    sub.cmd(&["HELLO", "3"]);
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:set"]);
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(
        String::from_utf8_lossy(&sub.read_reply()),
        ">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "notify-keyspace-events"]),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n"
    );
}

/// `keyspace_hits` and `keyspace_misses` from INFO stats.
fn lookups(c: &mut RawClient) -> (String, String) {
    let info = c.cmd_str(&["INFO", "stats"]);
    let get =
        |name: &str| info.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string())).unwrap_or_default();
    (get("keyspace_hits:"), get("keyspace_misses:"))
}

#[test]
fn read_lookups_count_hits_and_misses_like_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let cmds: &[&[&str]] = &[
        &["SET", "s", "abc"],
        &["SADD", "set", "a"],
        &["ZADD", "z", "1", "a"],
        &["GETRANGE", "s", "0", "1"],
        &["GETRANGE", "nokey", "0", "1"],
        &["STRLEN", "s"],
        &["STRLEN", "nokey"],
        &["LCS", "s", "nokey"],
        &["SINTERSTORE", "d", "set", "nokey"],
        &["SUNIONSTORE", "d", "set", "nokey"],
        &["ZINTERCARD", "2", "z", "nokey"],
        &["ZUNIONSTORE", "d2", "2", "z", "nokey"],
        &["ZRANGESTORE", "d3", "z", "0", "-1"],
        &["ZRANGESTORE", "d3", "nokey", "0", "-1"],
    ];
    for cmd in cmds {
        let mut a = roost.raw();
        let mut b = redis.raw();
        a.cmd(&["CONFIG", "RESETSTAT"]);
        b.cmd(&["CONFIG", "RESETSTAT"]);
        assert_eq!(a.cmd_str(cmd), b.cmd_str(cmd), "{cmd:?}");
        assert_eq!(lookups(&mut a), lookups(&mut b), "{cmd:?}");
    }
}

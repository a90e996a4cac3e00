//! The append-only file: what Roost writes for a command sequence is what redis-server 7.0
//! writes (absolute times and generated IDs aside), every type survives a restart, truncated
//! tails follow aof-load-truncated, directories move between Roost and redis-server both ways,
//! and under appendfsync always no reply is seen before its write is in the file.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{RawClient, TestServer};

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let p = std::env::temp_dir().join(format!("roost-aof-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn aof_dir(&self) -> PathBuf {
        self.0.join("appendonlydir")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn roost(dir: &TempDir, extra: &[&str]) -> TestServer {
    let mut args = vec!["--dir", dir.path(), "--appendonly", "yes", "--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

fn redis(dir: &TempDir, extra: &[&str]) -> TestServer {
    let mut args = vec!["--dir", dir.path(), "--appendonly", "yes", "--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    TestServer::start_redis_with(&args)
}

/// Stops a server with SHUTDOWN (Redis and Roost both fsync the AOF on the way out).
fn shutdown(s: TestServer) {
    let mut s = s;
    let mut c = s.raw();
    c.send(&common::encode(&[b"SHUTDOWN"]));
    let _ = c.read_reply();
    assert!(s.exited_within(Duration::from_secs(10)), "server did not exit");
}

/// The commands of an AOF command file, `#` annotations skipped.
fn commands(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut pos = 0;
    let line = |pos: &mut usize| {
        let end = bytes[*pos..].windows(2).position(|w| w == b"\r\n").unwrap() + *pos;
        let l = String::from_utf8_lossy(&bytes[*pos..end]).into_owned();
        *pos = end + 2;
        l
    };
    while pos < bytes.len() {
        let head = line(&mut pos);
        if head.starts_with('#') {
            continue;
        }
        let n: usize = head[1..].parse().unwrap();
        let mut cmd = Vec::new();
        for _ in 0..n {
            let len: usize = line(&mut pos)[1..].parse().unwrap();
            cmd.push(String::from_utf8_lossy(&bytes[pos..pos + len]).into_owned());
            pos += len + 2;
        }
        out.push(cmd);
    }
    out
}

/// The manifest's last incremental file.
fn incr_file(dir: &TempDir) -> PathBuf {
    let manifest = std::fs::read_to_string(dir.aof_dir().join("appendonly.aof.manifest")).unwrap();
    let name = manifest
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    dir.aof_dir().join(name)
}

/// Absolute times and generated stream IDs differ between runs: 13-digit numbers become `<ms>`.
fn normalize(cmds: Vec<Vec<String>>) -> Vec<Vec<String>> {
    cmds.into_iter()
        .map(|c| {
            c.into_iter()
                .map(|a| {
                    let digits = a.split('-').next().unwrap_or("");
                    if digits.len() == 13 && digits.bytes().all(|b| b.is_ascii_digit()) {
                        // The sequence part of a generated ID depends on the millisecond too.
                        if a.contains('-') {
                            "<ms>-<seq>".to_string()
                        } else {
                            "<ms>".to_string()
                        }
                    } else {
                        a
                    }
                })
                .collect()
        })
        .collect()
}

fn run(c: &mut RawClient, cmds: &[&[&str]]) {
    for cmd in cmds {
        c.cmd(cmd);
    }
}

/// A sequence that exercises every rewrite Redis does when it propagates.
const SEQUENCE: &[&[&str]] = &[
    &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
    &["SET", "a", "1"],
    &["SET", "a", "2", "NX"],
    &["DEL", "nokey"],
    &["SET", "b", "v", "EX", "100"],
    &["SET", "b2", "v", "PX", "100000", "GET"],
    &["SETEX", "c", "100", "v"],
    &["PSETEX", "c2", "100000", "v"],
    &["EXPIRE", "a", "100"],
    &["PEXPIRE", "a", "100000"],
    &["EXPIREAT", "a", "2000000000"],
    &["GETEX", "a", "EX", "50"],
    &["GETEX", "a", "PERSIST"],
    &["GETEX", "a"],
    &["INCRBYFLOAT", "f", "1.5"],
    &["HSET", "h", "f", "1"],
    &["HINCRBYFLOAT", "h", "f", "2.5"],
    &["SADD", "s", "x"],
    &["SPOP", "s"],
    &["SADD", "s", "x", "y", "z"],
    &["SPOP", "s", "5"],
    &["RPUSH", "l", "a", "b", "c", "d"],
    &["LMPOP", "1", "l", "LEFT", "COUNT", "2"],
    &["BLPOP", "l", "0"],
    &["BRPOPLPUSH", "l", "l2", "0"],
    &["BLMOVE", "l2", "l", "LEFT", "RIGHT", "0"],
    &["BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "5"],
    &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    &["BZPOPMIN", "z", "0"],
    &["ZMPOP", "1", "z", "MAX", "COUNT", "1"],
    &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"],
    &["XADD", "st", "1-1", "f", "v"],
    &["XADD", "st", "*", "f", "v"],
    &["XADD", "st", "MAXLEN", "~", "5", "*", "f", "v"],
    &["XGROUP", "CREATE", "st", "g", "0"],
    &["XACK", "st", "g", "1-1"],
    &["XADD", "st2", "1-1", "a", "1"],
    &["XADD", "st2", "2-1", "b", "2"],
    &["XADD", "st2", "3-1", "c", "3"],
    &["XGROUP", "CREATE", "st2", "g", "0"],
    &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "st2", ">"],
    &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "st2", "0"],
    &["XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "st2", ">"],
    &["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "10", "STREAMS", "st2", ">"],
    &["XCLAIM", "st2", "g", "bob", "0", "1-1"],
    &["XAUTOCLAIM", "st2", "g", "carol", "0", "0-0", "JUSTID"],
    &["XACK", "st2", "g", "1-1"],
    &["MULTI"],
    &["SET", "m", "1"],
    &["EXEC"],
    &["MULTI"],
    &["SET", "m", "2"],
    &["INCR", "m"],
    &["EXEC"],
    &["EVAL", "redis.call('set','e','1')", "0"],
    &["EVAL", "redis.call('set','e','1'); redis.call('incr','e')", "0"],
    &["EVAL", "return redis.call('get','e')", "0"],
    &["SELECT", "3"],
    &["SET", "x", "1"],
    &["SET", "p", "v", "PX", "1"],
    &["DEBUG", "SLEEP", "0.01"],
    &["GET", "p"],
    &["SET", "q", "v", "PX", "1"],
    &["DEBUG", "SLEEP", "0.01"],
    &["INCR", "q"],
    &["SELECT", "0"],
    &["EXPIRE", "x", "-1"],
    &["SET", "x", "1"],
    &["EXPIRE", "x", "-1"],
    &["FLUSHDB"],
    &["SET", "after", "flush"],
];

#[test]
fn file_contents_match_redis_for_the_same_commands() {
    let (rd, od) = (TempDir::new("cmp-redis"), TempDir::new("cmp-roost"));
    let r = redis(&rd, &["--appendfsync", "always", "--aof-use-rdb-preamble", "no"]);
    let o = roost(&od, &["--appendfsync", "always", "--aof-use-rdb-preamble", "no"]);
    let (mut rc, mut oc) = (r.raw(), o.raw());
    run(&mut rc, SEQUENCE);
    run(&mut oc, SEQUENCE);
    let theirs = normalize(commands(&std::fs::read(incr_file(&rd)).unwrap()));
    let ours = normalize(commands(&std::fs::read(incr_file(&od)).unwrap()));
    for (i, (t, o)) in theirs.iter().zip(ours.iter()).enumerate() {
        assert_eq!(t, o, "command {i} differs\nredis: {theirs:?}\nroost: {ours:?}");
    }
    assert_eq!(theirs.len(), ours.len(), "\nredis: {theirs:?}\nroost: {ours:?}");
    // Both keep the same manifest, and the same directory.
    let manifest = |d: &TempDir| std::fs::read_to_string(d.aof_dir().join("appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest(&od), manifest(&rd));
    assert_eq!(
        manifest(&od),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert_eq!(listing(&od.aof_dir()), listing(&rd.aof_dir()));
}

/// One of each other write command: each must reach the file exactly when Redis's does.
const EVERY_WRITE: &[&[&str]] = &[
    &["SET", "s1", "hello"],
    &["APPEND", "s1", "world"],
    &["SETRANGE", "s1", "0", "J"],
    &["INCR", "n"],
    &["INCRBY", "n", "5"],
    &["DECR", "n"],
    &["DECRBY", "n", "2"],
    &["MSET", "a", "1", "b", "2"],
    &["MSETNX", "c", "3", "d", "4"],
    &["MSETNX", "c", "3", "z9", "4"],
    &["GETSET", "a", "9"],
    &["GETDEL", "b"],
    &["GETDEL", "b"],
    &["SETNX", "e", "1"],
    &["SETNX", "e", "1"],
    &["SETBIT", "bits", "7", "1"],
    &["BITOP", "OR", "dest", "bits", "bits"],
    &["BITFIELD", "bf", "SET", "u8", "0", "200"],
    &["PFADD", "hll", "a", "b", "c"],
    &["PFADD", "hll", "a"],
    &["PFMERGE", "hll2", "hll"],
    &["LPUSH", "l", "1", "2", "3"],
    &["RPUSHX", "l", "4"],
    &["LPUSHX", "nol", "0"],
    &["LSET", "l", "0", "x"],
    &["LINSERT", "l", "BEFORE", "x", "y"],
    &["LREM", "l", "1", "y"],
    &["LREM", "l", "1", "nothing"],
    &["LTRIM", "l", "0", "2"],
    &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
    &["RPOPLPUSH", "l2", "l"],
    &["LPOP", "nol"],
    &["HSET", "h", "a", "1", "b", "2"],
    &["HSETNX", "h", "c", "3"],
    &["HSETNX", "h", "c", "3"],
    &["HDEL", "h", "a"],
    &["HDEL", "h", "a"],
    &["HINCRBY", "h", "b", "5"],
    &["HMSET", "h", "d", "4"],
    &["SADD", "s1s", "a", "b", "c"],
    &["SADD", "s1s", "a"],
    &["SADD", "s2s", "b", "c", "d"],
    &["SREM", "s1s", "a"],
    &["SMOVE", "s1s", "s2s", "b"],
    &["SINTERSTORE", "s3s", "s1s", "s2s"],
    &["SUNIONSTORE", "s4s", "s1s", "s2s"],
    &["SDIFFSTORE", "s5s", "s2s", "s1s"],
    &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "z", "NX", "1", "a"],
    &["ZINCRBY", "z", "2", "a"],
    &["ZREM", "z", "b"],
    &["ZREMRANGEBYSCORE", "z", "10", "20"],
    &["ZUNIONSTORE", "z2", "1", "z"],
    &["ZINTERSTORE", "z3", "1", "z"],
    &["ZDIFFSTORE", "z4", "1", "z"],
    &["ZRANGESTORE", "z5", "z", "0", "-1"],
    &["ZPOPMAX", "z"],
    &["ZREMRANGEBYLEX", "z5", "-", "+"],
    &["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
    &["GEOSEARCHSTORE", "g2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"],
    &["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "g3"],
    &["XADD", "x", "1-1", "a", "1"],
    &["XADD", "x", "2-1", "b", "2"],
    &["XDEL", "x", "1-1"],
    &["XTRIM", "x", "MAXLEN", "1"],
    &["XGROUP", "CREATE", "x", "g", "0"],
    &["XGROUP", "CREATECONSUMER", "x", "g", "c1"],
    &["XGROUP", "SETID", "x", "g", "0"],
    &["XGROUP", "DELCONSUMER", "x", "g", "c1"],
    &["XGROUP", "DESTROY", "x", "g"],
    &["XSETID", "x", "5-5"],
    &["COPY", "s1", "s1copy"],
    &["RENAME", "s1copy", "s1new"],
    &["RENAMENX", "s1new", "s1new2"],
    &["MOVE", "s1new2", "1"],
    &["SORT", "l", "ALPHA", "STORE", "sorted"],
    &["EXPIRE", "e", "100"],
    &["PERSIST", "e"],
    &["PERSIST", "e"],
    &["DEL", "a", "c"],
    &["UNLINK", "d"],
    &["SWAPDB", "0", "1"],
    &["SWAPDB", "0", "1"],
    &["FLUSHDB"],
    &["FLUSHALL"],
];

#[test]
fn every_write_command_reaches_the_file_when_redis_writes_it() {
    let (rd, od) = (TempDir::new("all-redis"), TempDir::new("all-roost"));
    let r = redis(&rd, &["--appendfsync", "always", "--aof-use-rdb-preamble", "no"]);
    let o = roost(&od, &["--appendfsync", "always"]);
    let (mut rc, mut oc) = (r.raw(), o.raw());
    for cmd in EVERY_WRITE {
        let (a, b) = (rc.cmd_str(cmd), oc.cmd_str(cmd));
        assert_eq!(a.starts_with('-'), b.starts_with('-'), "{cmd:?}: redis {a:?}, roost {b:?}");
    }
    let theirs = normalize(commands(&std::fs::read(incr_file(&rd)).unwrap()));
    let ours = normalize(commands(&std::fs::read(incr_file(&od)).unwrap()));
    for (i, (t, o)) in theirs.iter().zip(ours.iter()).enumerate() {
        assert_eq!(t, o, "command {i} differs\nredis: {theirs:?}\nroost: {ours:?}");
    }
    assert_eq!(theirs.len(), ours.len(), "\nredis: {theirs:?}\nroost: {ours:?}");
}

#[test]
fn transactions_and_scripts_are_wrapped_once_their_effects_are_several() {
    let d = TempDir::new("wrap");
    let o = roost(&d, &["--appendfsync", "always"]);
    let mut c = o.raw();
    run(
        &mut c,
        &[
            &["MULTI"],
            &["SET", "k", "1"],
            &["EXEC"],
            &["MULTI"],
            &["INCR", "k"],
            &["GET", "k"],
            &["EVAL", "redis.call('incr','k'); redis.call('select', 2); redis.call('set','j','x')", "0"],
            &["EXEC"],
            &["EVAL", "return 1", "0"],
        ],
    );
    let got = commands(&std::fs::read(incr_file(&d)).unwrap());
    let want: Vec<Vec<&str>> = vec![
        vec!["SELECT", "0"],
        vec!["SET", "k", "1"],
        vec!["MULTI"],
        vec!["INCR", "k"],
        vec!["incr", "k"],
        vec!["SELECT", "2"],
        vec!["set", "j", "x"],
        vec!["EXEC"],
    ];
    assert_eq!(got, want);
}

/// Commands building one key of every type and encoding, with and without expiry.
fn build_every_type(c: &mut RawClient) {
    let big: Vec<String> = (0..300).map(|i| format!("member-{i}")).collect();
    let mut cmds: Vec<Vec<String>> = vec![
        vec!["SET".into(), "str".into(), "hello".into()],
        vec!["SET".into(), "int".into(), "12345".into()],
        vec!["SET".into(), "raw".into(), "x".repeat(100)],
        vec!["SET".into(), "ttl".into(), "v".into(), "EX".into(), "1000".into()],
        vec!["RPUSH".into(), "list".into(), "a".into(), "b".into(), "3".into()],
        vec!["HSET".into(), "hash".into(), "f1".into(), "v1".into(), "f2".into(), "2".into()],
        vec!["SADD".into(), "intset".into(), "1".into(), "2".into(), "3".into()],
        vec!["SADD".into(), "set".into(), "a".into(), "b".into()],
        vec!["ZADD".into(), "zset".into(), "1.5".into(), "a".into(), "2".into(), "b".into()],
        vec!["GEOADD".into(), "geo".into(), "13.361389".into(), "38.115556".into(), "Palermo".into()],
        vec!["GEOADD".into(), "geo".into(), "15.087269".into(), "37.502669".into(), "Catania".into()],
        vec!["XADD".into(), "stream".into(), "1-1".into(), "f".into(), "v".into()],
        vec!["XADD".into(), "stream".into(), "*".into(), "g".into(), "w".into()],
        vec!["XGROUP".into(), "CREATE".into(), "stream".into(), "grp".into(), "0".into()],
        vec![
            "XREADGROUP".into(),
            "GROUP".into(),
            "grp".into(),
            "alice".into(),
            "COUNT".into(),
            "1".into(),
            "STREAMS".into(),
            "stream".into(),
            ">".into(),
        ],
        vec!["PFADD".into(), "hll".into(), "a".into(), "b".into(), "c".into()],
        vec!["SETBIT".into(), "bits".into(), "100".into(), "1".into()],
        vec!["HSET".into(), "volatile-hash".into(), "f".into(), "v".into()],
        vec!["PEXPIRE".into(), "volatile-hash".into(), "5000000".into()],
        vec!["SELECT".into(), "5".into()],
        vec!["SET".into(), "in5".into(), "five".into()],
        vec!["SELECT".into(), "0".into()],
    ];
    let mut big_list = vec!["RPUSH".to_string(), "biglist".into()];
    big_list.extend(big.iter().cloned());
    let mut big_hash = vec!["HSET".to_string(), "bighash".into()];
    big_hash.extend(big.iter().flat_map(|m| [m.clone(), m.to_uppercase()]));
    let mut big_set = vec!["SADD".to_string(), "bigset".into()];
    big_set.extend(big.iter().cloned());
    let mut big_zset = vec!["ZADD".to_string(), "bigzset".into()];
    big_zset.extend(big.iter().enumerate().flat_map(|(i, m)| [i.to_string(), m.clone()]));
    cmds.extend([big_list, big_hash, big_set, big_zset]);
    for cmd in &cmds {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let reply = c.cmd(&args);
        assert!(!reply.starts_with(b"-"), "{cmd:?}: {}", String::from_utf8_lossy(&reply));
    }
}

/// What must be the same after a reload: the whole dataset's digest (values and expiry times)
/// and the stream group's state. Except the group's entries-read counter: Redis 7.0 writes a
/// delivery as an XCLAIM, which does not carry it, so a reload loses it in Redis too.
fn fingerprint(c: &mut RawClient) -> (String, String, String) {
    let digest = c.cmd_str(&["DEBUG", "DIGEST"]);
    let groups = c.cmd_str(&["XINFO", "GROUPS", "stream"]);
    let groups = match (groups.find("entries-read\r\n"), groups.find("$3\r\nlag\r\n")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &groups[..a], &groups[b..]),
        _ => groups,
    };
    let pending = c.cmd_str(&["XPENDING", "stream", "grp"]);
    (digest, groups, pending)
}

#[test]
fn every_type_survives_a_kill_and_restart() {
    let d = TempDir::new("types");
    let s = roost(&d, &["--appendfsync", "always"]);
    let mut c = s.raw();
    build_every_type(&mut c);
    let before = fingerprint(&mut c);
    assert!(c.int(&["PTTL", "ttl"]) > 0);
    drop(c);
    drop(s); // SIGKILL: nothing gets a chance to flush on the way out.
    let s = roost(&d, &[]);
    let mut c = s.raw();
    assert_eq!(fingerprint(&mut c), before);
    assert!(c.int(&["PTTL", "ttl"]) > 990_000);
    assert!(c.cmd_str(&["GEOPOS", "geo", "Palermo"]).len() > 10);
    c.cmd(&["SELECT", "5"]);
    assert_eq!(c.cmd_str(&["GET", "in5"]), "$4\r\nfive\r\n");
}

/// A started server process that may fail to start: for the refusals.
fn start_expecting_exit(args: &[&str]) -> (bool, String) {
    let port = common::free_port().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_roost"))
        .args(["--port", &port, "--bind", "127.0.0.1"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_truncated_tail_is_cut_off_or_refused_as_aof_load_truncated_says() {
    let d = TempDir::new("trunc");
    let s = roost(&d, &[]);
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["INCR", "n"]);
    drop(c);
    shutdown(s);
    let incr = incr_file(&d);
    let good = std::fs::metadata(&incr).unwrap().len();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&incr).unwrap();
        f.write_all(b"*2\r\n$4\r\nINCR\r\n$1\r").unwrap();
    }
    let (ok, err) = start_expecting_exit(&["--dir", d.path(), "--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert!(!ok);
    assert!(err.contains("truncated at offset") && err.contains("appendonly.aof.1.incr.aof"), "{err}");
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good + 17, "a refused start leaves the file alone");

    let s = roost(&d, &["--aof-load-truncated", "yes"]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["GET", "n"]), "$1\r\n1\r\n");
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good, "cut back to the last whole command");
    // Appends continue after the cut.
    c.cmd(&["INCR", "n"]);
    drop(c);
    shutdown(s);
    let s = roost(&d, &[]);
    assert_eq!(s.raw().cmd_str(&["GET", "n"]), "$1\r\n2\r\n");
}

#[test]
fn an_unterminated_transaction_counts_as_truncation() {
    let d = TempDir::new("multi");
    let s = roost(&d, &[]);
    s.raw().cmd(&["SET", "k", "1"]);
    shutdown(s);
    let incr = incr_file(&d);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&incr).unwrap();
        f.write_all(b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n").unwrap();
    }
    let s = roost(&d, &[]);
    assert_eq!(s.raw().cmd_str(&["GET", "k"]), "$1\r\n1\r\n", "the transaction is not half applied");
}

#[test]
fn check_aof_reports_and_fixes_the_first_bad_position() {
    let d = TempDir::new("check");
    let s = roost(&d, &[]);
    s.raw().cmd(&["SET", "k", "1"]);
    shutdown(s);
    let incr = incr_file(&d);
    let good = std::fs::metadata(&incr).unwrap().len();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&incr).unwrap();
        f.write_all(b"*2\r\n$3\r\nDEL\r\n").unwrap();
    }
    let manifest = d.aof_dir().join("appendonly.aof.manifest");
    let check = |fix: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_roost"));
        cmd.arg("check-aof");
        if fix {
            cmd.arg("--fix");
        }
        let out = cmd.arg(&manifest).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (ok, out) = check(false);
    assert!(!ok);
    assert!(out.contains(&format!("ok_up_to={good}")), "{out}");
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good + 13);
    let (ok, out) = check(true);
    assert!(ok, "{out}");
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), good);
    assert!(check(false).0);
}

fn key_values(c: &mut RawClient) -> Vec<String> {
    vec![
        c.cmd_str(&["GET", "str"]),
        c.cmd_str(&["LRANGE", "list", "0", "-1"]),
        c.cmd_str(&["HGET", "hash", "f1"]),
        c.cmd_str(&["SCARD", "bigset"]),
        c.cmd_str(&["ZRANGE", "zset", "0", "-1", "WITHSCORES"]),
        c.cmd_str(&["XLEN", "stream"]),
        c.cmd_str(&["XPENDING", "stream", "grp"]),
        c.cmd_str(&["PFCOUNT", "hll"]),
        c.cmd_str(&["ZRANGE", "bigzset", "0", "3"]),
        c.cmd_str(&["GETBIT", "bits", "100"]),
        c.cmd_str(&["DEBUG", "DIGEST-VALUE", "bighash", "biglist", "hash", "geo"]),
    ]
}

#[test]
fn a_directory_written_by_redis_loads_into_roost_and_back() {
    for preamble in ["no", "yes"] {
        let d = TempDir::new("interop");
        let r = redis(&d, &["--aof-use-rdb-preamble", preamble]);
        let mut c = r.raw();
        // Data in the base too: a rewrite moves what exists into it.
        c.cmd(&["SET", "before-rewrite", "1"]);
        c.cmd(&["BGREWRITEAOF"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !c.cmd_str(&["INFO", "persistence"]).contains("aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0")
            || std::fs::read_to_string(d.aof_dir().join("appendonly.aof.manifest")).unwrap().contains("seq 1 type b")
        {
            assert!(Instant::now() < deadline, "redis rewrite did not finish");
            std::thread::sleep(Duration::from_millis(20));
        }
        build_every_type(&mut c);
        let theirs = key_values(&mut c);
        drop(c);
        shutdown(r);

        let o = roost(&d, &[]);
        let mut c = o.raw();
        assert_eq!(key_values(&mut c), theirs, "preamble {preamble}");
        assert_eq!(c.cmd_str(&["GET", "before-rewrite"]), "$1\r\n1\r\n");
        assert!(c.int(&["PTTL", "ttl"]) > 0);
        c.cmd(&["SET", "from-roost", "yes"]);
        c.cmd(&["HSET", "hash", "f3", "3"]);
        let ours = key_values(&mut c);
        drop(c);
        shutdown(o);

        let r = redis(&d, &[]);
        let mut c = r.raw();
        assert_eq!(key_values(&mut c), ours, "preamble {preamble}");
        assert_eq!(c.cmd_str(&["GET", "from-roost"]), "$3\r\nyes\r\n");
        assert!(c.int(&["PTTL", "ttl"]) > 0);
    }
}

#[test]
fn a_directory_written_by_roost_loads_into_redis() {
    let d = TempDir::new("to-redis");
    let o = roost(&d, &["--aof-timestamp-enabled", "yes"]);
    let mut c = o.raw();
    build_every_type(&mut c);
    c.cmd(&["EVAL", "redis.call('set','s1','1'); redis.call('set','s2','2')", "0"]);
    let ours = key_values(&mut c);
    drop(c);
    shutdown(o);
    let text = std::fs::read(incr_file(&d)).unwrap();
    assert!(text.starts_with(b"#TS:"), "aof-timestamp-enabled writes a #TS: line first");
    let r = redis(&d, &["--aof-timestamp-enabled", "yes"]);
    let mut c = r.raw();
    assert_eq!(key_values(&mut c), ours);
    assert_eq!(c.cmd_str(&["MGET", "s1", "s2"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

#[test]
fn appendfsync_always_answers_only_after_the_write_is_in_the_file() {
    let d = TempDir::new("always");
    let s = roost(&d, &["--appendfsync", "always"]);
    let mut c = s.raw();
    let incr = incr_file(&d);
    // SELECT 0 comes first, then each SET adds exactly its own record.
    let mut expected = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".len() as u64;
    for i in 0..300 {
        let key = format!("key:{i:04}");
        assert_eq!(c.cmd_str(&["SET", &key, "value"]), "+OK\r\n");
        expected += common::encode(&[b"SET", key.as_bytes(), b"value"]).len() as u64;
        assert_eq!(std::fs::metadata(&incr).unwrap().len(), expected, "after write {i}");
    }
    // Pipelined: every reply of the batch waits for the batch's bytes.
    let mut batch = Vec::new();
    for _ in 0..100 {
        batch.extend_from_slice(&common::encode(&[b"INCR", b"counter"]));
        expected += common::encode(&[b"INCR", b"counter"]).len() as u64;
    }
    c.send(&batch);
    let first = c.read_reply();
    assert_eq!(first, b":1\r\n");
    assert!(std::fs::metadata(&incr).unwrap().len() >= expected);
    for _ in 1..100 {
        c.read_reply();
    }
}

/// Waits (bounded) for the running rewrite to end, successfully.
fn wait_rewrite_done(c: &mut RawClient) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let info = c.cmd_str(&["INFO", "persistence"]);
        if info.contains("aof_rewrite_in_progress:0\r\n") {
            assert!(info.contains("aof_last_bgrewrite_status:ok\r\n"), "{info}");
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the rewrite never ended: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn switching_on_at_runtime_writes_a_base_of_the_data_then_the_manifest() {
    let d = TempDir::new("switch");
    let s = TestServer::start(&["--dir", d.path(), "--enable-debug-command", "yes"]);
    let mut c = s.raw();
    assert!(c.cmd_str(&["INFO", "persistence"]).contains("aof_enabled:0\r\n"));
    // On an empty dataset: a fresh layout at once.
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    // As Redis: an RDB file with no keys (aof-use-rdb-preamble defaults to yes).
    let base = d.aof_dir().join("appendonly.aof.1.base.rdb");
    let size = std::fs::metadata(&base).unwrap().len();
    assert!(std::fs::read(&base).unwrap().starts_with(b"REDIS0010"));
    let info = c.cmd_str(&["INFO", "persistence"]);
    assert!(info.contains("aof_enabled:1\r\n") && info.contains(&format!("aof_base_size:{size}\r\n")), "{info}");
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "appendonly", "no"]), "+OK\r\n");
    // With appendonly off, a rewrite still writes a base of the data and a manifest naming only
    // it, as Redis does.
    assert_eq!(c.cmd_str(&["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_rewrite_done(&mut c);
    let manifest = std::fs::read_to_string(d.aof_dir().join("appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest, "file appendonly.aof.2.base.rdb seq 2 type b\n");
    assert!(!d.aof_dir().join("appendonly.aof.1.incr.aof").exists(), "the old layout's files are removed");
    // Written while appending was off: only a base of the data can carry it.
    build_every_type(&mut c);
    for i in 0..20_000 {
        c.send(&common::encode(&[b"SET", format!("bulk{i}").as_bytes(), b"value"]));
    }
    for _ in 0..20_000 {
        c.read_reply();
    }
    // On a non-empty dataset: appending starts now, a snapshot writes the base, and the
    // manifest naming both comes when the base is complete.
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "after", "switch"]), "+OK\r\n");
    c.cmd(&["INCR", "counter-after"]);
    wait_rewrite_done(&mut c);
    let manifest = std::fs::read_to_string(d.aof_dir().join("appendonly.aof.manifest")).unwrap();
    assert!(manifest.contains("appendonly.aof.3.base.rdb seq 3 type b"), "{manifest}");
    assert!(manifest.contains("appendonly.aof.1.incr.aof seq 1 type i"), "{manifest}");
    assert_eq!(manifest.lines().count(), 2, "{manifest}");
    assert!(!d.aof_dir().join("appendonly.aof.2.base.rdb").exists(), "the old layout's files are removed");
    let before = fingerprint(&mut c);
    drop(c);
    shutdown(s);
    let s = roost(&d, &[]);
    let mut c = s.raw();
    assert_eq!(fingerprint(&mut c), before);
    assert_eq!(c.cmd_str(&["GET", "after"]), "$6\r\nswitch\r\n");
    assert_eq!(c.cmd_str(&["GET", "bulk19999"]), "$5\r\nvalue\r\n");
}

#[test]
fn a_failing_disk_refuses_writes_with_misconf() {
    let d = TempDir::new("full");
    std::fs::create_dir_all(d.aof_dir()).unwrap();
    std::fs::write(d.aof_dir().join("appendonly.aof.1.base.aof"), b"").unwrap();
    // A base alone: the server starts the incremental file seq 1 itself, which here is
    // /dev/full, where every write fails with "No space left on device".
    std::fs::write(d.aof_dir().join("appendonly.aof.manifest"), "file appendonly.aof.1.base.aof seq 1 type b\n")
        .unwrap();
    std::os::unix::fs::symlink("/dev/full", d.aof_dir().join("appendonly.aof.1.incr.aof")).unwrap();
    let s = roost(&d, &["--appendfsync", "everysec"]);
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Under everysec the failure is found by the writer thread, so a SET or two may still be
    // acknowledged (and applied) before writes are refused.
    let mut expected = "$1\r\nv\r\n";
    loop {
        let r = c.cmd_str(&["SET", "k", "w"]);
        if r == "+OK\r\n" {
            expected = "$1\r\nw\r\n";
        }
        if r.starts_with("-MISCONF") {
            assert_eq!(r, "-MISCONF Errors writing to the AOF file: No space left on device\r\n");
            break;
        }
        assert!(Instant::now() < deadline, "writes never refused: {r}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(c.cmd_str(&["INFO", "persistence"]).contains("aof_last_write_status:err\r\n"));
    assert_eq!(c.cmd_str(&["GET", "k"]), expected, "reads go on");
}

/// The base file the manifest names, and its contents.
fn base_file(dir: &TempDir) -> (String, Vec<u8>) {
    let manifest = std::fs::read_to_string(dir.aof_dir().join("appendonly.aof.manifest")).unwrap();
    let name = manifest.lines().find(|l| l.ends_with("type b")).and_then(|l| l.split_whitespace().nth(1)).unwrap();
    (name.to_string(), std::fs::read(dir.aof_dir().join(name)).unwrap())
}

/// Keys whose command form is the same whatever order a server iterates its collections in,
/// plus the stream states XSETID, XGROUP and XCLAIM carry.
const COMMAND_BASE_DATA: &[&[&str]] = &[
    &["FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"],
    &["SET", "s", "hello"],
    &["SET", "n", "12345"],
    &["SET", "volatile", "v"],
    &["PEXPIREAT", "volatile", "4102444800000"],
    &["RPUSH", "l", "a", "b", "c", "1"],
    &["SADD", "one", "only"],
    &["HSET", "h", "f", "v"],
    &["ZADD", "z", "1.5", "a", "2", "b", "inf", "c", "-0.1", "d", "1e300", "e"],
    &["XADD", "x", "1-1", "a", "b"],
    &["XADD", "x", "2-1", "c", "d"],
    &["XADD", "x", "3-1", "e", "f"],
    &["XDEL", "x", "2-1"],
    &["XGROUP", "CREATE", "x", "g", "0"],
    &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "x", ">"],
    &["XGROUP", "CREATECONSUMER", "x", "g", "bob"],
    &["XGROUP", "CREATE", "x", "late", "$"],
    &["XADD", "emptied", "5-5", "a", "b"],
    &["XDEL", "emptied", "5-5"],
    &["XGROUP", "CREATE", "made", "g", "$", "MKSTREAM"],
    &["SELECT", "3"],
    &["SET", "in3", "three"],
    &["SELECT", "0"],
];

/// A command base's commands by (database, key), each key's in order, with delivery times
/// (which differ between runs) blanked. The function libraries are under database "-".
fn commands_by_key(bytes: &[u8]) -> std::collections::BTreeMap<(String, String), Vec<Vec<String>>> {
    let mut by_key = std::collections::BTreeMap::<_, Vec<_>>::new();
    let mut db = "-".to_string();
    for mut cmd in commands(bytes) {
        if cmd[0] == "SELECT" {
            db = cmd[1].clone();
            continue;
        }
        if cmd[0] == "XCLAIM" {
            cmd[7] = "<time>".into();
        }
        let key = match cmd[0].as_str() {
            "FUNCTION" => String::new(),
            "XGROUP" => cmd[2].clone(),
            _ => cmd[1].clone(),
        };
        by_key.entry((db.clone(), key)).or_default().push(cmd);
    }
    by_key
}

#[test]
fn a_command_base_holds_the_commands_redis_writes() {
    let mut bases = Vec::new();
    for which in ["redis", "roost"] {
        let d = TempDir::new("command-base");
        let args = ["--aof-use-rdb-preamble", "no"];
        let s = if which == "redis" { redis(&d, &args) } else { roost(&d, &args) };
        let mut c = s.raw();
        for cmd in COMMAND_BASE_DATA {
            let reply = c.cmd(cmd);
            assert!(!reply.starts_with(b"-"), "{which} {cmd:?}: {}", String::from_utf8_lossy(&reply));
        }
        assert!(c.cmd_str(&["BGREWRITEAOF"]).starts_with("+Background append only file rewriting"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while base_file(&d).0 != "appendonly.aof.2.base.aof" {
            assert!(Instant::now() < deadline, "{which}: the rewrite never installed its base");
            std::thread::sleep(Duration::from_millis(20));
        }
        bases.push(commands_by_key(&base_file(&d).1));
    }
    assert_eq!(bases[1], bases[0]);
}

/// Values, then the digest: reading some values changes their bytes (PFCOUNT caches the
/// cardinality in the HyperLogLog), so the digest is taken after them, in every run alike.
fn whole_state(c: &mut RawClient) -> (Vec<String>, (String, String, String), String) {
    let values = key_values(c);
    (values, fingerprint(c), c.cmd_str(&["FUNCTION", "LIST"]))
}

#[test]
fn a_command_base_loads_into_redis_and_redis_s_into_roost() {
    let d = TempDir::new("command-base-interop");
    let o = roost(&d, &["--aof-use-rdb-preamble", "no", "--aof-timestamp-enabled", "yes"]);
    let mut c = o.raw();
    build_every_type(&mut c);
    for cmd in COMMAND_BASE_DATA {
        c.cmd(cmd);
    }
    c.cmd(&["BGREWRITEAOF"]);
    wait_rewrite_done(&mut c);
    let (name, bytes) = base_file(&d);
    assert_eq!(name, "appendonly.aof.2.base.aof");
    assert!(bytes.starts_with(b"#TS:"), "aof-timestamp-enabled puts a #TS: line first");
    // Written after the rewrite's instant: in the new incremental file, not the base.
    c.cmd(&["SET", "after", "1"]);
    let ours = whole_state(&mut c);
    drop(c);
    shutdown(o);

    let r = redis(&d, &["--aof-use-rdb-preamble", "no"]);
    let mut c = r.raw();
    assert_eq!(whole_state(&mut c), ours);
    assert_eq!(c.cmd_str(&["GET", "after"]), "$1\r\n1\r\n");
    // And back: Redis's own command base of the same data loads into Roost.
    c.cmd(&["BGREWRITEAOF"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while base_file(&d).0 != "appendonly.aof.3.base.aof" {
        assert!(Instant::now() < deadline, "redis: the rewrite never installed its base");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(c);
    shutdown(r);
    let o = roost(&d, &[]);
    let mut c = o.raw();
    assert_eq!(whole_state(&mut c), ours);
}

/// The names in a directory, sorted.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_pre_7_single_file_is_moved_into_the_directory_as_redis_moves_it() {
    // An RDB preamble (as Redis 6 wrote with aof-use-rdb-preamble) made by redis-server itself.
    let preamble = {
        let d = TempDir::new("old-style-rdb");
        let r = TestServer::start_redis_with(&["--dir", d.path()]);
        let mut c = r.raw();
        c.cmd(&["RPUSH", "from-preamble", "a", "b"]);
        c.cmd(&["SET", "overwritten", "by-preamble"]);
        assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
        std::fs::read(d.0.join("dump.rdb")).unwrap()
    };
    let mut tail = Vec::new();
    for cmd in [&["SELECT", "0"][..], &["SET", "old", "value"], &["SET", "overwritten", "by-tail"], &["INCR", "n"]] {
        let parts: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        tail.extend_from_slice(&common::encode(&parts));
    }
    let with_preamble = [preamble, tail.clone()].concat();
    for (what, file) in [("commands", tail), ("preamble", with_preamble)] {
        let mut seen = Vec::new();
        for which in ["redis", "roost"] {
            let d = TempDir::new("old-style");
            std::fs::write(d.0.join("appendonly.aof"), &file).unwrap();
            let s = if which == "redis" { redis(&d, &[]) } else { roost(&d, &[]) };
            let mut c = s.raw();
            let values = c.cmd_str(&["MGET", "old", "overwritten", "n"]);
            let list = c.cmd_str(&["LRANGE", "from-preamble", "0", "-1"]);
            c.cmd(&["SET", "after", "1"]);
            drop(c);
            shutdown(s);
            let manifest = std::fs::read_to_string(d.aof_dir().join("appendonly.aof.manifest")).unwrap();
            seen.push((listing(&d.0), listing(&d.aof_dir()), manifest, values, list));
            // The next start loads the moved file and the writes after it.
            let s = roost(&d, &[]);
            let mut c = s.raw();
            assert_eq!(c.cmd_str(&["MGET", "old", "after"]), "*2\r\n$5\r\nvalue\r\n$1\r\n1\r\n", "{which} {what}");
        }
        assert_eq!(seen[1], seen[0], "{what}");
        assert_eq!(seen[0].2, "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    }
}

#[test]
fn a_new_layout_has_the_base_redis_gives_it() {
    for preamble in ["yes", "no"] {
        let mut seen = Vec::new();
        for which in ["redis", "roost"] {
            let d = TempDir::new("fresh");
            let s = if which == "redis" {
                redis(&d, &["--aof-use-rdb-preamble", preamble])
            } else {
                roost(&d, &["--aof-use-rdb-preamble", preamble])
            };
            drop(s);
            let manifest = std::fs::read_to_string(d.aof_dir().join("appendonly.aof.manifest")).unwrap();
            let (_, base) = base_file(&d);
            // The RDB base's header and the kind of file; its aux fields (times, versions) vary.
            seen.push((listing(&d.aof_dir()), manifest, base.get(..9).map(<[u8]>::to_vec)));
        }
        assert_eq!(seen[1], seen[0], "aof-use-rdb-preamble {preamble}");
    }
}

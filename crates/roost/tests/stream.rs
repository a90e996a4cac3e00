//! Streams: exact replies of every command beside a real redis-server, blocking XREAD and
//! XREADGROUP across worker threads, and the stream as a value (TYPE, encodings, COPY, RENAME).

mod common;
use common::*;

use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Runs `script` on both servers from an empty dataset; every reply must be equal.
fn same_as_redis(script: &[&[&str]]) {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let mut a = roost.raw();
    let mut b = redis.raw();
    for cmd in script {
        assert_eq!(a.cmd_str(cmd), b.cmd_str(cmd), "{cmd:?}");
    }
}

#[test]
fn xadd_ids_options_and_errors_match_redis() {
    same_as_redis(&[
        &["XADD", "s", "0-0", "a", "b"],
        &["XADD", "s", "0", "a", "b"],
        &["XADD", "s", "0-*", "a", "b"],
        &["XADD", "s", "0-*", "a", "b"],
        &["XADD", "s", "5", "a", "b"],
        &["XADD", "s", "5", "a", "b"],
        &["XADD", "s", "5-*", "a"],
        &["XADD", "s", "abc", "a", "b"],
        &["XADD", "s", "MAXLEN", "-1", "6-0", "a", "b"],
        &["XADD", "s", "MAXLEN", "=", "1", "LIMIT", "5", "6-0", "a", "b"],
        &["XADD", "s", "LIMIT", "5", "6-0", "a", "b"],
        &["XADD", "s", "MAXLEN", "1", "MINID", "1", "6-0", "a", "b"],
        &["XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "6-0", "a", "b"],
        &["XADD", "s", "MINID", "5", "NOMKSTREAM", "6", "a", "b"],
        &["XRANGE", "s", "-", "+"],
        &["XADD", "nokey", "NOMKSTREAM", "1-1", "a", "b"],
        &["EXISTS", "nokey"],
        &["XADD", "s", "18446744073709551615-18446744073709551615", "a", "b"],
        &["XADD", "s", "*", "a", "b"],
        &["XADD", "s", "18446744073709551615-*", "a", "b"],
        &["SET", "str", "x"],
        &["XADD", "str", "1-1", "a", "b"],
        &["XADD", "s"],
        &["XLEN", "s"],
        &["XLEN", "nokey"],
        &["XLEN", "str"],
        &["TYPE", "s"],
        &["OBJECT", "ENCODING", "s"],
    ]);
}

#[test]
fn ranges_deletes_trims_and_setid_match_redis() {
    let mut script: Vec<Vec<String>> = Vec::new();
    for i in 1..=30 {
        script.push(vec![
            "XADD".into(),
            "s".into(),
            format!("{i}-1"),
            "f".into(),
            format!("v{i}"),
            "g".into(),
            "x".into(),
        ]);
    }
    let fixed: &[&[&str]] = &[
        &["XRANGE", "s", "-", "+", "COUNT", "3"],
        &["XRANGE", "s", "(1-1", "(4-1"],
        &["XREVRANGE", "s", "+", "-", "COUNT", "2"],
        &["XREVRANGE", "s", "5", "3"],
        &["XRANGE", "s", "-", "+", "COUNT", "0"],
        &["XRANGE", "s", "-", "+", "COUNT", "-1"],
        &["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"],
        &["XRANGE", "s", "-", "(0-0"],
        &["XRANGE", "s", "(-", "+"],
        &["XRANGE", "s", "-", "+", "COUNT"],
        &["XRANGE", "nokey", "-", "+", "COUNT", "0"],
        &["XDEL", "s", "2-1", "3-1", "99-1"],
        &["XDEL", "nokey", "x"],
        &["XDEL", "s", "x"],
        &["XRANGE", "s", "1", "4"],
        &["XTRIM", "s", "MAXLEN", "25"],
        &["XTRIM", "s", "MAXLEN", "~", "5"],
        &["XTRIM", "s", "MINID", "20"],
        &["XTRIM", "s", "MINID", "~", "25", "LIMIT", "2"],
        &["XTRIM", "s", "LIMIT", "2"],
        &["XTRIM", "s"],
        &["XTRIM", "s", "FOO", "1"],
        &["XTRIM", "nokey", "MAXLEN", "0"],
        &["XRANGE", "s", "-", "+"],
        &["XINFO", "STREAM", "s"],
        &["XSETID", "nokey", "1-1"],
        &["XSETID", "s", "1-1"],
        &["XSETID", "s", "99-0", "ENTRIESADDED", "0"],
        &["XSETID", "s", "99-0", "ENTRIESADDED", "-1"],
        &["XSETID", "s", "99-0", "MAXDELETEDID", "100-0"],
        &["XSETID", "s", "99-0", "ENTRIESADDED", "50", "MAXDELETEDID", "3-0"],
        &["XINFO", "STREAM", "s"],
        &["XADD", "s", "98-0", "a", "b"],
    ];
    let mut all: Vec<Vec<&str>> = script.iter().map(|c| c.iter().map(String::as_str).collect()).collect();
    all.extend(fixed.iter().map(|c| c.to_vec()));
    let refs: Vec<&[&str]> = all.iter().map(Vec::as_slice).collect();
    same_as_redis(&refs);
}

#[test]
fn consumer_groups_match_redis() {
    same_as_redis(&[
        &["XGROUP", "CREATE", "s", "g", "$"],
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-2"],
        &["XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "5", "foo"],
        &["XGROUP", "SETID", "s", "nog", "0"],
        &["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        &["XADD", "s", "1-1", "a", "1"],
        &["XADD", "s", "2-1", "b", "2"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        &["XDEL", "s", "1-1"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        &["XPENDING", "s", "g"],
        &["XPENDING", "s", "nog"],
        &["XPENDING", "s", "g", "IDLE", "10"],
        &["XPENDING", "s", "g", "-", "+", "0"],
        &["XCLAIM", "s", "g", "c2", "0", "1-1", "2-1", "9-9", "JUSTID"],
        &["XPENDING", "s", "g"],
        &["XCLAIM", "s", "g", "c3", "abc", "2-1"],
        &["XCLAIM", "s", "g", "c3", "0", "2-1", "TIME", "abc"],
        &["XCLAIM", "s", "g", "c3", "0", "2-1", "foo"],
        &["XCLAIM", "s", "nog", "c3", "0", "2-1"],
        &["XCLAIM", "s", "g", "c3", "0", "2-1", "RETRYCOUNT", "7", "JUSTID"],
        &["XAUTOCLAIM", "s", "g", "c4", "0", "0", "COUNT", "0"],
        &["XAUTOCLAIM", "s", "g", "c4", "0", "0", "COUNT", "1", "JUSTID"],
        &["XAUTOCLAIM", "s", "nog", "c4", "0", "0"],
        &["XAUTOCLAIM", "s", "g", "c4", "x", "0"],
        &["XINFO", "GROUPS", "s"],
        &["XACK", "s", "g", "2-1", "2-1", "x"],
        &["XACK", "s", "g", "2-1", "2-1"],
        &["XACK", "s", "nog", "x"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "c9"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "c9"],
        &["XGROUP", "DELCONSUMER", "s", "g", "c9"],
        &["XGROUP", "DELCONSUMER", "s", "g", "zz"],
        &["XGROUP", "DESTROY", "s", "g"],
        &["XGROUP", "DESTROY", "s", "g"],
        &["XGROUP", "HELP"],
        &["XGROUP", "FOO"],
        &["XINFO", "HELP"],
        &["XINFO", "STREAM", "nokey"],
        &["XINFO", "STREAM", "s", "FOO"],
        &["XINFO", "CONSUMERS", "s", "nog"],
        &["XREAD", "STREAMS", "s", ">"],
        &["XREAD", "STREAMS", "s"],
        &["XREAD", "STREAMS", "s", "t", "0"],
        &["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"],
        &["XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"],
        &["XREAD", "COUNT", "1", "STREAMS", "s", "nokey", "0", "0"],
        &["XREAD", "STREAMS", "s", "$"],
    ]);
}

#[test]
fn xread_block_waits_for_new_entries_after_dollar() {
    let s = TestServer::start(&["--threads", "2"]);
    let mut control = s.raw();
    control.cmd(&["XADD", "s", "1-1", "old", "x"]);
    let mut reader = s.raw();
    reader.send(&encode(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]));
    wait_blocked(&mut control, 1);
    // A write that adds nothing new keeps the reader waiting; `$` stays the ID it was.
    control.cmd(&["XDEL", "s", "1-1"]);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(blocked_clients(&mut control), 1);
    assert_eq!(control.cmd_str(&["XADD", "s", "2-1", "new", "y"]), "$3\r\n2-1\r\n");
    assert_eq!(reader.read_reply(), b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$3\r\nnew\r\n$1\r\ny\r\n");
    wait_blocked(&mut control, 0);
}

#[test]
fn xread_block_times_out_with_a_null_array_and_serves_every_reader() {
    let s = TestServer::start(&["--threads", "3"]);
    let mut c = s.raw();
    let started = Instant::now();
    assert_eq!(c.cmd_str(&["XREAD", "BLOCK", "100", "STREAMS", "s", "$"]), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(95));
    let mut readers: Vec<RawClient> = (0..4).map(|_| s.raw()).collect();
    for (i, r) in readers.iter_mut().enumerate() {
        r.send(&encode(&[b"XREAD", b"BLOCK", b"5000", b"STREAMS", b"s", b"0"]));
        wait_blocked(&mut c, i as i64 + 1);
    }
    c.cmd(&["XADD", "s", "1-1", "f", "v"]);
    for r in readers.iter_mut() {
        assert_eq!(r.read_reply(), b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    }
    // Inside MULTI a blocking read answers at once.
    c.cmd(&["MULTI"]);
    c.cmd(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    assert_eq!(c.cmd_str(&["EXEC"]), "*1\r\n*-1\r\n");
}

#[test]
fn blocked_xreadgroup_learns_when_its_stream_or_group_goes() {
    let s = TestServer::start(&["--threads", "2"]);
    let mut control = s.raw();
    control.cmd(&["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]);
    let mut reader = s.raw();
    reader.send(&encode(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"q", b">"]));
    wait_blocked(&mut control, 1);
    control.cmd(&["DEL", "q"]);
    assert_eq!(reader.read_reply(), b"-UNBLOCKED the stream key no longer exists\r\n");

    control.cmd(&["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]);
    reader.send(&encode(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"q", b">"]));
    wait_blocked(&mut control, 1);
    control.cmd(&["XGROUP", "DESTROY", "q", "g"]);
    assert_eq!(reader.read_reply(), b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    wait_blocked(&mut control, 0);
}

/// Many consumers of one group on different worker threads: each entry reaches exactly one
/// of them, and each is acknowledged exactly once.
#[test]
fn each_entry_goes_to_exactly_one_consumer_across_threads() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const CONSUMERS: usize = 8;
    const ENTRIES: usize = 400;
    let s = TestServer::start(&["--threads", "4"]);
    let mut control = s.raw();
    control.cmd(&["XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM"]);
    let port = s.port;
    let acked = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..CONSUMERS)
        .map(|n| {
            let acked = acked.clone();
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                let name = format!("w{n}");
                let mut got = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(20);
                while acked.load(Ordering::SeqCst) < ENTRIES {
                    assert!(Instant::now() < deadline, "consumer {name} never saw the end");
                    let reply = c.cmd_str(&[
                        "XREADGROUP",
                        "GROUP",
                        "workers",
                        &name,
                        "COUNT",
                        "7",
                        "BLOCK",
                        "100",
                        "STREAMS",
                        "jobs",
                        ">",
                    ]);
                    let ids: Vec<String> = reply
                        .split("\r\n")
                        .filter(|l| l.ends_with("-0") && !l.starts_with(['$', '*', ':']))
                        .map(String::from)
                        .collect();
                    for id in ids {
                        assert_eq!(c.int(&["XACK", "jobs", "workers", &id]), 1, "{id} acknowledged twice");
                        acked.fetch_add(1, Ordering::SeqCst);
                        got.push(id);
                    }
                }
                got
            })
        })
        .collect();
    for i in 1..=ENTRIES {
        control.cmd(&["XADD", "jobs", &format!("{i}-0"), "job", &i.to_string()]);
    }
    let mut seen = HashSet::new();
    for h in handles {
        for id in h.join().unwrap() {
            assert!(seen.insert(id.clone()), "{id} delivered twice");
        }
    }
    assert_eq!(seen.len(), ENTRIES);
    assert_eq!(control.cmd_str(&["XPENDING", "jobs", "workers"]), "*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n");
}

#[test]
fn a_stream_is_a_value_like_any_other() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["XADD", "s", "1-1", "f", "v"]);
    c.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    assert_eq!(c.cmd_str(&["TYPE", "s"]), "+stream\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "s"]), "$6\r\nstream\r\n");
    assert_eq!(c.int(&["COPY", "s", "t"]), 1);
    assert_eq!(c.cmd_str(&["XRANGE", "t", "-", "+"]), "*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(c.cmd_str(&["RENAME", "t", "u"]), "+OK\r\n");
    assert_eq!(c.int(&["XLEN", "u"]), 1);
    assert!(c.cmd_str(&["XINFO", "GROUPS", "u"]).contains("$1\r\ng\r\n"));
    let scan = c.cmd_str(&["SCAN", "0", "TYPE", "stream", "COUNT", "100"]);
    assert!(scan.contains("*2\r\n$1\r\n") && scan.contains("$1\r\ns\r\n") && scan.contains("$1\r\nu\r\n"), "{scan}");
    assert!(c.int(&["MEMORY", "USAGE", "s"]) > 0);
    assert_eq!(
        c.cmd_str(&["LPUSH", "s", "x"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}

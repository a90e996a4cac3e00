//! Blocking list commands: waits, wake-ups in arrival order across worker threads, timeouts,
//! CLIENT UNBLOCK, disconnects.

mod common;
use common::*;

use std::time::{Duration, Instant};

#[test]
fn immediate_pops_and_errors_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let script: &[&[&str]] = &[
        &["RPUSH", "a", "1", "2", "3"],
        &["SET", "s", "x"],
        &["BLPOP", "nokey", "a", "0"],
        &["BRPOP", "a", "0"],
        &["BLPOP", "s", "a", "0"],
        &["BLPOP", "a", "-1"],
        &["BLPOP", "a", "abc"],
        &["BLPOP", "a", "1e16"],
        &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"],
        &["BLMOVE", "a", "b", "UP", "RIGHT", "0"],
        &["BRPOPLPUSH", "b", "a", "0"],
        &["RPUSH", "m", "1", "2", "3"],
        &["BLMPOP", "0", "2", "nokey", "m", "RIGHT", "COUNT", "2"],
        &["BLMPOP", "0", "0", "m", "LEFT"],
        &["BLMPOP", "x", "1", "m", "LEFT"],
        &["BLMPOP", "0", "1", "m", "SIDEWAYS"],
        &["BLPOP", "nokey", "0.05"],
        &["BRPOPLPUSH", "nokey", "b", "0.05"],
        &["BLMPOP", "0.05", "1", "nokey", "LEFT"],
        &["BLPOP"],
        &["BLPOP", "k"],
    ];
    for port in [roost.port, redis.port] {
        let mut c = RawClient::connect(port);
        c.cmd(&["FLUSHALL"]);
    }
    let mut a = roost.raw();
    let mut b = redis.raw();
    for cmd in script {
        assert_eq!(a.cmd_str(cmd), b.cmd_str(cmd), "{cmd:?}");
    }
}

#[test]
fn a_push_wakes_the_blocked_client() {
    let s = TestServer::start(&[]);
    let mut waiter = s.raw();
    waiter.send(&encode(&[b"BLPOP", b"q", b"0"]));
    let mut other = s.raw();
    wait_blocked(&mut other, 1);
    assert_eq!(other.int(&["RPUSH", "q", "job"]), 1);
    assert_eq!(waiter.read_reply(), b"*2\r\n$1\r\nq\r\n$3\r\njob\r\n");
    assert_eq!(other.int(&["EXISTS", "q"]), 0);
    wait_blocked(&mut other, 0);
}

#[test]
fn clients_are_served_in_the_order_they_blocked_across_threads() {
    let s = TestServer::start(&["--threads", "4"]);
    let mut control = s.raw();
    let mut waiters = Vec::new();
    for i in 0..6 {
        let mut w = s.raw();
        w.send(&encode(&[b"BLPOP", b"q", b"0"]));
        wait_blocked(&mut control, i + 1);
        waiters.push(w);
    }
    // One push of six elements: LPUSH leaves them as f e d c b a, popped from the head in turn.
    assert_eq!(control.int(&["LPUSH", "q", "a", "b", "c", "d", "e", "f"]), 6);
    for (w, expected) in waiters.iter_mut().zip(["f", "e", "d", "c", "b", "a"]) {
        assert_eq!(String::from_utf8(w.read_reply()).unwrap(), format!("*2\r\n$1\r\nq\r\n$1\r\n{expected}\r\n"));
    }
    wait_blocked(&mut control, 0);
}

#[test]
fn timeouts_have_sub_second_precision() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let started = Instant::now();
    assert_eq!(c.cmd_str(&["BLPOP", "q", "0.2"]), "*-1\r\n");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(190) && waited < Duration::from_millis(1500), "{waited:?}");
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd_str(&["BLMOVE", "q", "d", "LEFT", "LEFT", "0.05"]), "_\r\n");
}

#[test]
fn a_blocked_client_holds_back_its_pipeline() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.send(&[encode(&[b"PING"]), encode(&[b"BLPOP", b"q", b"0"]), encode(&[b"ECHO", b"after"])].concat());
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    let mut other = s.raw();
    wait_blocked(&mut other, 1);
    other.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(c.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(c.read_reply(), b"$5\r\nafter\r\n");
}

#[test]
fn blmove_feeds_a_client_blocked_on_its_destination() {
    let s = TestServer::start(&["--threads", "2"]);
    let mut control = s.raw();
    let mut second = s.raw();
    second.send(&encode(&[b"BLPOP", b"stage2", b"0"]));
    wait_blocked(&mut control, 1);
    let mut first = s.raw();
    first.send(&encode(&[b"BLMOVE", b"stage1", b"stage2", b"LEFT", b"RIGHT", b"0"]));
    wait_blocked(&mut control, 2);
    control.cmd(&["RPUSH", "stage1", "item"]);
    assert_eq!(first.read_reply(), b"$4\r\nitem\r\n");
    assert_eq!(second.read_reply(), b"*2\r\n$6\r\nstage2\r\n$4\r\nitem\r\n");
    wait_blocked(&mut control, 0);
}

#[test]
fn client_unblock_ends_the_wait() {
    let s = TestServer::start(&[]);
    let mut control = s.raw();
    let mut w = s.raw();
    let id = w.int(&["CLIENT", "ID"]).to_string();
    w.send(&encode(&[b"BRPOP", b"q", b"0"]));
    wait_blocked(&mut control, 1);
    assert_eq!(control.int(&["CLIENT", "UNBLOCK", &id]), 1);
    assert_eq!(w.read_reply(), b"*-1\r\n");
    w.send(&encode(&[b"BRPOP", b"q", b"0"]));
    wait_blocked(&mut control, 1);
    assert_eq!(control.int(&["CLIENT", "UNBLOCK", &id, "ERROR"]), 1);
    assert_eq!(w.read_reply(), b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assert_eq!(control.int(&["CLIENT", "UNBLOCK", &id]), 0);
    assert_eq!(
        control.cmd_str(&["CLIENT", "UNBLOCK", &id, "LATER"]),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
}

#[test]
fn a_blocked_client_that_leaves_leaves_nothing_behind() {
    let s = TestServer::start(&[]);
    let mut control = s.raw();
    {
        let mut w = s.raw();
        w.send(&encode(&[b"BLPOP", b"q", b"0"]));
        wait_blocked(&mut control, 1);
    }
    wait_blocked(&mut control, 0);
    let mut killed = s.raw();
    let id = killed.int(&["CLIENT", "ID"]).to_string();
    killed.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_blocked(&mut control, 1);
    assert_eq!(control.int(&["CLIENT", "KILL", "ID", &id]), 1);
    assert!(killed.is_closed());
    wait_blocked(&mut control, 0);
    // The element pushed now stays in the list: nobody is waiting for it.
    assert_eq!(control.int(&["RPUSH", "q", "x"]), 1);
    assert_eq!(control.int(&["LLEN", "q"]), 1);
}

#[test]
fn a_key_of_another_type_keeps_the_client_waiting() {
    let s = TestServer::start(&[]);
    let mut control = s.raw();
    let mut w = s.raw();
    w.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_blocked(&mut control, 1);
    control.cmd(&["SET", "q", "not a list"]);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(blocked_clients(&mut control), 1);
    control.cmd(&["DEL", "q"]);
    control.cmd(&["RPUSH", "q", "now"]);
    assert_eq!(w.read_reply(), b"*2\r\n$1\r\nq\r\n$3\r\nnow\r\n");
}

#[test]
fn blmpop_takes_count_elements_when_woken() {
    let s = TestServer::start(&[]);
    let mut control = s.raw();
    let mut w = s.raw();
    w.send(&encode(&[b"BLMPOP", b"0", b"2", b"x", b"y", b"LEFT", b"COUNT", b"2"]));
    wait_blocked(&mut control, 1);
    control.cmd(&["RPUSH", "y", "1", "2", "3"]);
    assert_eq!(w.read_reply(), b"*2\r\n$1\r\ny\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(control.int(&["LLEN", "y"]), 1);
}

#[test]
fn swapdb_and_move_wake_waiters() {
    let s = TestServer::start(&[]);
    let mut control = s.raw();
    let mut w = s.raw();
    w.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_blocked(&mut control, 1);
    control.cmd(&["SELECT", "1"]);
    control.cmd(&["RPUSH", "q", "from-db1"]);
    assert_eq!(control.int(&["MOVE", "q", "0"]), 1);
    assert_eq!(w.read_reply(), b"*2\r\n$1\r\nq\r\n$8\r\nfrom-db1\r\n");
    w.send(&encode(&[b"BLPOP", b"q", b"0"]));
    wait_blocked(&mut control, 1);
    control.cmd(&["RPUSH", "q", "swapped"]);
    assert_eq!(control.cmd_str(&["SWAPDB", "0", "1"]), "+OK\r\n");
    assert_eq!(w.read_reply(), b"*2\r\n$1\r\nq\r\n$7\r\nswapped\r\n");
}

/// CLIENT LIST marks a client waiting in a blocking command with the `b` flag, as Redis does.
#[test]
fn client_list_flags_a_blocked_client_like_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    for port in [roost.port, redis.port] {
        let mut waiter = RawClient::connect(port);
        let mut observer = RawClient::connect(port);
        assert_eq!(waiter.cmd_str(&["CLIENT", "SETNAME", "blk"]), "+OK\r\n");
        waiter.send(&encode(&[b"BLPOP", b"blk:list", b"0"]));
        wait_blocked(&mut observer, 1);
        let flags = |observer: &mut RawClient| {
            let list = observer.cmd_str(&["CLIENT", "LIST"]);
            let line = list.lines().find(|l| l.contains("name=blk")).unwrap().to_string();
            line.split(' ').find(|f| f.starts_with("flags=")).unwrap().to_string()
        };
        assert_eq!(flags(&mut observer), "flags=b", "port {port}");
        assert_eq!(observer.int(&["RPUSH", "blk:list", "x"]), 1);
        assert_eq!(waiter.read_reply(), b"*2\r\n$8\r\nblk:list\r\n$1\r\nx\r\n");
        assert_eq!(flags(&mut observer), "flags=N", "port {port}");
    }
}

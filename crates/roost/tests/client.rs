//! CLIENT: ids and names, LIST/INFO lines, KILL filters, PAUSE/UNPAUSE, REPLY modes, NO-EVICT,
//! SETINFO and HELP, with error texts compared against a live redis-server.

mod common;
use common::*;

use std::time::{Duration, Instant};

/// The `key=value` fields of one CLIENT LIST line, in order.
fn fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap_or_else(|| panic!("field without '=': {f:?} in {line:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field(line: &str, key: &str) -> String {
    fields(line).into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// The text of a bulk (RESP2) or verbatim (RESP3) reply.
fn text(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    let body = s.split_once("\r\n").map(|(_, b)| b).unwrap_or("");
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

fn lines(reply: &[u8]) -> Vec<String> {
    text(reply).lines().map(str::to_string).collect()
}

const FIELD_ORDER: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

#[test]
fn id_setname_getname() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let id = c.int(&["CLIENT", "ID"]);
    assert!(id > 0);
    let mut other = s.raw();
    assert!(other.int(&["client", "id"]) > id, "ids grow with each connection");
    assert_eq!(c.cmd_str(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    assert_eq!(
        c.cmd_str(&["CLIENT", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(c.cmd_str(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "GETNAME"]), "$-1\r\n");
    // HELLO reports the same id.
    let hello = c.cmd_str(&["HELLO", "3"]);
    assert!(hello.contains(&format!("$2\r\nid\r\n:{id}\r\n")), "{hello}");
    assert_eq!(c.cmd_str(&["CLIENT", "GETNAME"]), "_\r\n");
}

#[test]
fn list_and_info_lines() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let id = c.int(&["CLIENT", "ID"]);
    c.cmd(&["CLIENT", "SETNAME", "me"]);
    c.cmd(&["SELECT", "2"]);
    let list = lines(&c.cmd(&["CLIENT", "LIST"]));
    assert_eq!(list.len(), 1, "{list:?}");
    let line = &list[0];
    let keys: Vec<String> = fields(line).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, FIELD_ORDER);
    assert_eq!(field(line, "id"), id.to_string());
    assert_eq!(field(line, "name"), "me");
    assert_eq!(field(line, "db"), "2");
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "cmd"), "client|list");
    assert_eq!(field(line, "user"), "default");
    assert_eq!(field(line, "resp"), "2");
    assert_eq!(field(line, "multi"), "-1");
    assert_eq!(field(line, "redir"), "-1");
    assert_eq!(field(line, "idle"), "0");
    assert_eq!(field(line, "events"), "r");
    // The running request is in the query buffer: *2 $6 client $4 list.
    assert_eq!(field(line, "qbuf"), "26");
    assert_eq!(field(line, "argv-mem"), "10");
    assert_eq!(field(line, "laddr"), format!("127.0.0.1:{}", s.port));
    assert!(field(line, "addr").starts_with("127.0.0.1:"));

    let info = c.cmd(&["CLIENT", "INFO"]);
    assert!(info.starts_with(b"$"), "{}", String::from_utf8_lossy(&info));
    assert!(info.ends_with(b"\n\r\n"));
    assert_eq!(field(text(&info).trim_end(), "cmd"), "client|info");

    // RESP3 gets a verbatim string.
    c.cmd(&["HELLO", "3"]);
    let info = c.cmd(&["CLIENT", "INFO"]);
    assert!(info.starts_with(b"="), "{}", String::from_utf8_lossy(&info));
    assert!(String::from_utf8_lossy(&info).contains("\r\ntxt:id="));
    assert_eq!(field(text(&info).trim_end(), "resp"), "3");

    // Another connection that has run something shows its last command.
    let mut other = s.raw();
    other.cmd(&["PING"]);
    let other_id = other.int(&["CLIENT", "ID"]);
    let list = lines(&c.cmd(&["CLIENT", "LIST"]));
    assert_eq!(list.len(), 2);
    let theirs = list.iter().find(|l| field(l, "id") == other_id.to_string()).unwrap();
    assert_eq!(field(theirs, "cmd"), "client|id");
    assert_eq!(field(theirs, "argv-mem"), "0");
    // In id order.
    assert_eq!(field(&list[0], "id"), id.to_string());
}

#[test]
fn list_filters() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut other = s.raw();
    let a = c.int(&["CLIENT", "ID"]);
    let b = other.int(&["CLIENT", "ID"]);
    assert_eq!(lines(&c.cmd(&["CLIENT", "LIST", "TYPE", "normal"])).len(), 2);
    for t in ["pubsub", "master", "replica", "SLAVE"] {
        assert_eq!(c.cmd_str(&["CLIENT", "LIST", "TYPE", t]), "$0\r\n\r\n", "{t}");
    }
    let ids = |reply: Vec<u8>| lines(&reply).iter().map(|l| field(l, "id")).collect::<Vec<_>>();
    let (sa, sb) = (a.to_string(), b.to_string());
    assert_eq!(
        ids(c.cmd(&["CLIENT", "LIST", "ID", &sb, &sa, "999999", &sb])),
        vec![sb.clone(), sa.clone(), sb.clone()]
    );
    assert_eq!(c.cmd_str(&["CLIENT", "LIST", "ID", "-1"]), "$0\r\n\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "LIST", "ID", &sa, "x"]), "-ERR Invalid client ID\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "LIST", "TYPE", "nope"]), "-ERR Unknown client type 'nope'\r\n");
}

#[test]
fn kill_old_form() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut victim = s.raw();
    victim.cmd(&["PING"]);
    let victim_id = victim.int(&["CLIENT", "ID"]);
    let list = lines(&c.cmd(&["CLIENT", "LIST", "ID", &victim_id.to_string()]));
    let addr = field(&list[0], "addr");
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    assert!(victim.is_closed());
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", &addr]), "-ERR No such client\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "LIST", "ID", &victim_id.to_string()]), "$0\r\n\r\n");
    // The old form may kill the caller, after its reply.
    let mine = field(&lines(&c.cmd(&["CLIENT", "INFO"]))[0], "addr");
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", &mine]), "+OK\r\n");
    assert!(c.is_closed());
}

#[test]
fn kill_filters() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let me = c.int(&["CLIENT", "ID"]);
    let mut v1 = s.raw();
    let mut v2 = s.raw();
    let id1 = v1.int(&["CLIENT", "ID"]);
    v2.cmd(&["PING"]);
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "ID", &id1.to_string()]), ":1\r\n");
    assert!(v1.is_closed());
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "ID", &id1.to_string()]), ":0\r\n");
    // Filters combine with AND.
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "TYPE", "normal", "USER", "default", "ID", "999999"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":0\r\n");
    // SKIPME defaults to yes: everyone else goes, the caller stays.
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "LADDR", &format!("127.0.0.1:{}", s.port)]), ":1\r\n");
    assert!(v2.is_closed());
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "ID", &me.to_string()]), ":0\r\n");
    // With SKIPME no, the caller gets its reply and is then disconnected.
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "ID", &me.to_string(), "SKIPME", "no"]), ":1\r\n");
    assert!(c.is_closed());
}

#[test]
fn kill_by_user_and_addr() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut v = s.raw();
    v.cmd(&["PING"]);
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "USER", "default"]), ":1\r\n");
    assert!(v.is_closed());
    let mut v = s.raw();
    let vid = v.int(&["CLIENT", "ID"]);
    let addr = field(&lines(&c.cmd(&["CLIENT", "LIST", "ID", &vid.to_string()]))[0], "addr");
    assert_eq!(c.cmd_str(&["CLIENT", "KILL", "ADDR", &addr, "SKIPME", "yes"]), ":1\r\n");
    assert!(v.is_closed());
}

#[test]
fn pause_write_holds_writes_only() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(admin.cmd_str(&["CLIENT", "PAUSE", "100000", "WRITE"]), "+OK\r\n");
    // Reads go on.
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    // A write waits until the pause is lifted.
    c.send(&encode(&[b"SET", b"k", b"w"]));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(admin.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    let lifted = Instant::now();
    assert_eq!(admin.cmd_str(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(String::from_utf8_lossy(&c.read_reply()), "+OK\r\n");
    assert!(lifted.elapsed() < Duration::from_secs(2));
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nw\r\n");
}

#[test]
fn pause_all_holds_everything_until_it_ends() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut c = s.raw();
    c.cmd(&["PING"]);
    let start = Instant::now();
    assert_eq!(admin.cmd_str(&["CLIENT", "PAUSE", "500"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn pause_only_grows_stronger() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    let mut c = s.raw();
    c.cmd(&["PING"]);
    let start = Instant::now();
    admin.cmd(&["CLIENT", "PAUSE", "600", "WRITE"]);
    // A shorter ALL pause widens the mode and keeps the later end.
    admin.cmd(&["CLIENT", "PAUSE", "10", "ALL"]);
    assert_eq!(c.cmd_str(&["GET", "x"]), "$-1\r\n");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(450), "{waited:?}");
    // Zero and huge timeouts pause nothing (Redis's end time wraps into the past).
    admin.cmd(&["CLIENT", "PAUSE", "0"]);
    admin.cmd(&["CLIENT", "PAUSE", "9223372036854775807", "WRITE"]);
    let start = Instant::now();
    assert_eq!(c.cmd_str(&["SET", "x", "1"]), "+OK\r\n");
    assert!(start.elapsed() < Duration::from_millis(300));
}

#[test]
fn reply_modes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // OFF and SKIP answer nothing; SKIP silences exactly one command; ON answers.
    c.send(&encode(&[b"CLIENT", b"REPLY", b"SKIP"]));
    c.send(&encode(&[b"SET", b"a", b"1"]));
    c.send(&encode(&[b"GET", b"a"]));
    assert_eq!(c.read_reply(), b"$1\r\n1\r\n");
    c.send(&encode(&[b"CLIENT", b"REPLY", b"OFF"]));
    c.send(&encode(&[b"INCR", b"a"]));
    c.send(&encode(&[b"CLIENT", b"REPLY", b"SKIP"]));
    c.send(&encode(&[b"INCR", b"a"]));
    assert_eq!(c.cmd_str(&["CLIENT", "REPLY", "ON"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "a"]), "$1\r\n3\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "REPLY", "MAYBE"]), "-ERR syntax error\r\n");
}

#[test]
fn no_evict_and_setinfo_show_in_list() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(field(&lines(&c.cmd(&["CLIENT", "INFO"]))[0], "flags"), "e");
    assert_eq!(c.cmd_str(&["CLIENT", "NO-EVICT", "OFF"]), "+OK\r\n");
    assert_eq!(field(&lines(&c.cmd(&["CLIENT", "INFO"]))[0], "flags"), "N");
    assert_eq!(c.cmd_str(&["CLIENT", "NO-EVICT", "yes"]), "-ERR syntax error\r\n");

    assert_eq!(c.cmd_str(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CLIENT", "SETINFO", "lib-ver", "5.0.1"]), "+OK\r\n");
    let line = lines(&c.cmd(&["CLIENT", "INFO"])).remove(0);
    assert_eq!(field(&line, "lib-name"), "redis-py");
    assert_eq!(field(&line, "lib-ver"), "5.0.1");
    assert_eq!(c.cmd_str(&["CLIENT", "SETINFO", "lib-foo", "x"]), "-ERR Unrecognized option 'lib-foo'\r\n");
    assert_eq!(
        c.cmd_str(&["CLIENT", "SETINFO", "lib-ver", "1 2"]),
        "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(c.cmd_str(&["CLIENT", "SETINFO", "lib-name", ""]), "+OK\r\n");
    assert_eq!(field(&lines(&c.cmd(&["CLIENT", "INFO"]))[0], "lib-name"), "");
}

/// Replies that do not depend on connection ids, addresses or timing, compared byte for byte.
#[test]
fn replies_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let cases: &[&[&str]] = &[
        &["CLIENT"],
        &["CLIENT", "HELP"],
        &["client", "help", "extra"],
        &["CLIENT", "NOSUCH"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "x y"],
        &["CLIENT", "SETNAME", "abc"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME"],
        &["CLIENT", "ID", "x"],
        &["CLIENT", "INFO", "x"],
        &["CLIENT", "LIST", "x"],
        &["CLIENT", "LIST", "ID"],
        &["CLIENT", "LIST", "TYPE"],
        &["CLIENT", "LIST", "TYPE", "normal", "x"],
        &["CLIENT", "LIST", "TYPE", "bogus"],
        &["CLIENT", "LIST", "TYPE", "pubsub"],
        &["CLIENT", "LIST", "ID", "99999"],
        &["CLIENT", "LIST", "ID", "12", "x"],
        &["CLIENT", "LIST", "ID", "99999999999999999999"],
        &["CLIENT", "KILL"],
        &["CLIENT", "KILL", "1.2.3.4:5"],
        &["CLIENT", "KILL", "ID"],
        &["CLIENT", "KILL", "ID", "0"],
        &["CLIENT", "KILL", "ID", "x"],
        &["CLIENT", "KILL", "ID", "99999"],
        &["CLIENT", "KILL", "ID", "1", "TYPE"],
        &["CLIENT", "KILL", "TYPE", "bogus"],
        &["CLIENT", "KILL", "TYPE", "master"],
        &["CLIENT", "KILL", "USER", "nobody"],
        &["CLIENT", "KILL", "USER", "nobody", "TYPE", "bogus"],
        &["CLIENT", "KILL", "SKIPME", "maybe"],
        &["CLIENT", "KILL", "MAXAGE", "10"],
        &["CLIENT", "KILL", "ADDR", "1.2.3.4:5", "LADDR", "1.2.3.4:6"],
        &["CLIENT", "PAUSE"],
        &["CLIENT", "PAUSE", "x"],
        &["CLIENT", "PAUSE", "-5"],
        &["CLIENT", "PAUSE", "x", "bogus"],
        &["CLIENT", "PAUSE", "10", "bogus"],
        &["CLIENT", "Pause", "10", "write", "x"],
        &["CLIENT", "PAUSE", "1.5"],
        &["CLIENT", "PAUSE", "0"],
        &["CLIENT", "UNPAUSE"],
        &["CLIENT", "UNPAUSE", "x"],
        &["CLIENT", "REPLY"],
        &["CLIENT", "REPLY", "bogus"],
        &["CLIENT", "REPLY", "ON"],
        &["CLIENT", "NO-EVICT"],
        &["CLIENT", "NO-EVICT", "maybe"],
        &["CLIENT", "NO-EVICT", "on"],
    ];
    let mut a = roost.raw();
    let mut b = redis.raw();
    for case in cases {
        assert_eq!(a.cmd_str(case), b.cmd_str(case), "{case:?}");
    }
}

#[test]
fn list_shows_what_another_connection_last_ran() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = s.raw();
    c.cmd(&["CLIENT", "SETNAME", "sleeper"]);
    c.send(&encode(&[b"DEBUG", b"SLEEP", b"0.3"]));
    let started = Instant::now();
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
    let mut other = s.raw();
    let line = lines(&other.cmd(&["CLIENT", "LIST"])).into_iter().find(|l| field(l, "name") == "sleeper").unwrap();
    assert_eq!(field(&line, "cmd"), "debug");
}

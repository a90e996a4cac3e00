//! Generic keyspace commands against the real binary: exact replies and error texts as
//! redis-server 7.0 gives them.

mod common;

use std::collections::HashSet;
use std::thread::sleep;
use std::time::Duration;

use common::*;

const SAME_OBJECT: &str = "-ERR source and destination objects are the same\r\n";
const DB_RANGE: &str = "-ERR DB index is out of range\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Splits a flat RESP array of bulk strings into its elements.
fn bulk_items(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let head = lines.next().unwrap();
    assert!(head.starts_with('*'), "not an array: {reply:?}");
    let n: usize = head[1..].parse().unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = lines.next().unwrap();
        assert!(len.starts_with('$'), "not a bulk string in {reply:?}");
        out.push(lines.next().unwrap().to_string());
    }
    out
}

/// One SCAN call: the next cursor and the keys returned.
fn scan_step(c: &mut RawClient, args: &[&str]) -> (String, Vec<String>) {
    let reply = c.cmd_str(args);
    let rest = reply.strip_prefix("*2\r\n$").unwrap_or_else(|| panic!("bad SCAN reply {reply:?}"));
    let (len, rest) = rest.split_once("\r\n").unwrap();
    let len: usize = len.parse().unwrap();
    let cursor = rest[..len].to_string();
    (cursor, bulk_items(&rest[len + 2..]))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn del_unlink_exists_type() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["DEL"]), "-ERR wrong number of arguments for 'del' command\r\n");
    assert_eq!(c.cmd_str(&["DEL", "a"]), ":0\r\n");
    c.cmd(&["MSET", "a", "1", "b", "2"]);
    assert_eq!(c.cmd_str(&["DEL", "a", "a", "b", "c"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "a", "a"]), ":0\r\n");
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd_str(&["EXISTS", "a", "a", "a", "b"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["EXISTS"]), "-ERR wrong number of arguments for 'exists' command\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "a"]), "+string\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "nokey"]), "+none\r\n");
    assert_eq!(c.cmd_str(&["TYPE"]), "-ERR wrong number of arguments for 'type' command\r\n");
    c.cmd(&["SET", "b", "x"]);
    assert_eq!(c.cmd_str(&["UNLINK", "a", "b", "c", "a"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["UNLINK"]), "-ERR wrong number of arguments for 'unlink' command\r\n");
    // A big value goes to the background freer; the key is gone at once all the same.
    let big = "v".repeat(1 << 20);
    c.cmd(&["SET", "big", &big]);
    assert_eq!(c.cmd_str(&["UNLINK", "big"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "big"]), ":0\r\n");
    // Keys sharing a hash tag share a shard; keys that do not are locked together too.
    c.cmd(&["MSET", "{t}1", "a", "{t}2", "b", "x", "c"]);
    assert_eq!(c.cmd_str(&["DEL", "{t}1", "{t}2", "x", "y"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn rename_and_renamenx() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["RENAME", "nokey", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd_str(&["RENAMENX", "nokey", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd_str(&["RENAME", "nokey", "nokey"]), "-ERR no such key\r\n");
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd_str(&["RENAME", "a", "a"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["RENAMENX", "a", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["RENAME", "a", "b"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GET", "b"]), "$1\r\n1\r\n");
    c.cmd(&["SET", "c", "3"]);
    assert_eq!(c.cmd_str(&["RENAMENX", "b", "c"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GET", "c"]), "$1\r\n3\r\n");
    assert_eq!(c.cmd_str(&["RENAMENX", "b", "d"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$1\r\n1\r\n");
    // RENAME overwrites, and the expiry travels with the value.
    c.cmd(&["SET", "e", "5", "EX", "100"]);
    assert_eq!(c.cmd_str(&["RENAME", "e", "c"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "c"]), "$1\r\n5\r\n");
    assert_eq!(c.cmd_str(&["TTL", "c"]), ":100\r\n");
    // The overwritten key's expiry does not survive on the new value.
    c.cmd(&["SET", "f", "6"]);
    assert_eq!(c.cmd_str(&["RENAME", "f", "c"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["TTL", "c"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["RENAME", "a"]), "-ERR wrong number of arguments for 'rename' command\r\n");
    assert_eq!(c.cmd_str(&["RENAMENX", "a", "b", "c"]), "-ERR wrong number of arguments for 'renamenx' command\r\n");
}

#[test]
fn copy_between_keys_and_databases() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "d", "hello"]);
    assert_eq!(c.cmd_str(&["COPY", "d", "d"]), SAME_OBJECT);
    assert_eq!(c.cmd_str(&["COPY", "d", "d", "DB", "0"]), SAME_OBJECT);
    assert_eq!(c.cmd_str(&["COPY", "nokey", "e"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["COPY", "d", "e"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GET", "e"]), "$5\r\nhello\r\n");
    assert_eq!(c.cmd_str(&["COPY", "d", "e"]), ":0\r\n");
    c.cmd(&["SET", "d", "world", "PX", "100000"]);
    assert_eq!(c.cmd_str(&["COPY", "d", "e", "replace"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GET", "e"]), "$5\r\nworld\r\n");
    let pttl = c.int(&["PTTL", "e"]);
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    // The copy is independent of its source.
    c.cmd(&["APPEND", "e", "!"]);
    assert_eq!(c.cmd_str(&["GET", "d"]), "$5\r\nworld\r\n");
    assert_eq!(c.cmd_str(&["COPY", "d", "d", "DB", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["COPY", "d", "d", "db", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["COPY", "d", "d", "DB", "1", "REPLACE"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["COPY", "d", "e", "DB", "16"]), DB_RANGE);
    assert_eq!(c.cmd_str(&["COPY", "d", "e", "DB", "-1"]), DB_RANGE);
    assert_eq!(c.cmd_str(&["COPY", "d", "e", "DB", "x"]), NOT_INT);
    assert_eq!(
        c.cmd_str(&["COPY", "d", "e", "DB", "99999999999"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(c.cmd_str(&["COPY", "d", "e", "DB"]), SYNTAX);
    assert_eq!(c.cmd_str(&["COPY", "d", "e", "foo"]), SYNTAX);
    assert_eq!(c.cmd_str(&["COPY", "d"]), "-ERR wrong number of arguments for 'copy' command\r\n");
    assert_eq!(c.cmd_str(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$5\r\nworld\r\n");
    assert!(c.int(&["TTL", "d"]) > 90);
}

#[test]
fn move_between_databases() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "d", "1", "EX", "100"]);
    assert_eq!(c.cmd_str(&["MOVE", "d", "0"]), SAME_OBJECT);
    assert_eq!(c.cmd_str(&["MOVE", "nokey", "0"]), SAME_OBJECT);
    assert_eq!(c.cmd_str(&["MOVE", "d", "16"]), DB_RANGE);
    assert_eq!(c.cmd_str(&["MOVE", "d", "-1"]), DB_RANGE);
    assert_eq!(c.cmd_str(&["MOVE", "d", "x"]), NOT_INT);
    assert_eq!(c.cmd_str(&["MOVE", "d", "1.5"]), NOT_INT);
    assert_eq!(
        c.cmd_str(&["MOVE", "d", "99999999999"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(c.cmd_str(&["MOVE", "nokey", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["MOVE", "d", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "d"]), ":0\r\n");
    c.cmd(&["SET", "d", "2"]);
    // The target already has the key: nothing moves.
    assert_eq!(c.cmd_str(&["MOVE", "d", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$1\r\n2\r\n");
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd_str(&["GET", "d"]), "$1\r\n1\r\n");
    assert_eq!(c.cmd_str(&["TTL", "d"]), ":100\r\n");
    assert_eq!(c.cmd_str(&["MOVE", "d"]), "-ERR wrong number of arguments for 'move' command\r\n");
}

#[test]
fn keys_matches_glob_patterns() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["KEYS", "*"]), "*0\r\n");
    c.cmd(&[
        "MSET", "hello", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeeello", "5", "h*llo", "6", "other", "7",
    ]);
    let keys = |c: &mut RawClient, p: &str| sorted(bulk_items(&c.cmd_str(&["KEYS", p])));
    assert_eq!(keys(&mut c, "*").len(), 7);
    assert_eq!(keys(&mut c, "h?llo"), ["h*llo", "hallo", "hello", "hxllo"]);
    assert_eq!(keys(&mut c, "h*llo"), ["h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]);
    assert_eq!(keys(&mut c, "h[ae]llo"), ["hallo", "hello"]);
    assert_eq!(keys(&mut c, "h[^e]llo"), ["h*llo", "hallo", "hxllo"]);
    assert_eq!(keys(&mut c, "h[a-b]llo"), ["hallo"]);
    assert_eq!(keys(&mut c, "h\\*llo"), ["h*llo"]);
    assert_eq!(keys(&mut c, "other"), ["other"]);
    assert_eq!(keys(&mut c, "HELLO"), Vec::<String>::new());
    assert_eq!(c.cmd_str(&["KEYS"]), "-ERR wrong number of arguments for 'keys' command\r\n");
    // Only the selected database, and never an expired key.
    c.cmd(&["PSETEX", "gone", "1", "x"]);
    sleep(Duration::from_millis(5));
    assert_eq!(keys(&mut c, "g*"), Vec::<String>::new());
    c.cmd(&["SELECT", "2"]);
    assert_eq!(c.cmd_str(&["KEYS", "*"]), "*0\r\n");
}

#[test]
fn scan_options_and_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    c.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
    let (cursor, keys) = scan_step(&mut c, &["SCAN", "0"]);
    assert_eq!(cursor, "0");
    assert_eq!(sorted(keys), ["a", "b", "c"]);
    for bad in ["x", " 0", "0 ", "18446744073709551616", "0x10", "-", "1.5"] {
        assert_eq!(c.cmd_str(&["SCAN", bad]), "-ERR invalid cursor\r\n", "cursor {bad:?}");
    }
    // What strtoul accepts is a cursor: signs, leading zeros, the empty string, all of u64.
    for ok in ["", "+0", "00", "-1", "18446744073709551615"] {
        assert!(c.cmd_str(&["SCAN", ok]).starts_with("*2\r\n$"), "cursor {ok:?}");
    }
    assert_eq!(c.cmd_str(&["SCAN", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SCAN", "0", "COUNT", "-1"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SCAN", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(c.cmd_str(&["SCAN", "0", "COUNT"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SCAN", "0", "MATCH"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SCAN", "0", "TYPE"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SCAN", "0", "foo", "bar"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SCAN", "x", "foo", "bar"]), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd_str(&["SCAN"]), "-ERR wrong number of arguments for 'scan' command\r\n");
    assert_eq!(scan_step(&mut c, &["SCAN", "0", "MATCH", "a*"]).1, ["a"]);
    assert_eq!(sorted(scan_step(&mut c, &["SCAN", "0", "TYPE", "STRING"]).1), ["a", "b", "c"]);
    assert_eq!(scan_step(&mut c, &["SCAN", "0", "TYPE", "list"]).1, Vec::<String>::new());
    assert_eq!(scan_step(&mut c, &["SCAN", "0", "type", "nosuchtype"]).1, Vec::<String>::new());
    let (_, keys) = scan_step(&mut c, &["scan", "0", "count", "1000", "match", "[bc]", "type", "string"]);
    assert_eq!(sorted(keys), ["b", "c"]);
}

/// Runs a whole SCAN iteration with COUNT 10, calling `between` after each step.
fn full_scan(
    c: &mut RawClient,
    extra: &[&str],
    mut between: impl FnMut(&mut RawClient, usize),
) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str(), "COUNT", "10"];
        args.extend_from_slice(extra);
        let (next, keys) = scan_step(c, &args);
        assert!(keys.len() <= 100, "COUNT 10 returned {} keys", keys.len());
        all.extend(keys);
        calls += 1;
        between(c, calls);
        assert!(calls < 100_000, "SCAN did not finish");
        if next == "0" {
            break;
        }
        cursor = next;
    }
    (all, calls)
}

#[test]
fn scan_returns_every_key() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    const N: usize = 3000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let mut args = vec!["MSET".to_string()];
        for i in chunk {
            args.push(format!("key:{i}"));
            args.push("v".into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(c.cmd_str(&refs), "+OK\r\n");
    }
    let (all, calls) = full_scan(&mut c, &[], |_, _| {});
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), N);
    assert!(all.len() >= N);
    assert!(calls >= N / 100, "only {calls} calls for {N} keys at COUNT 10");
    for i in 0..N {
        assert!(unique.contains(&format!("key:{i}")), "key:{i} never returned");
    }
    // MATCH filters what a step returns, not what it visits.
    let (matched, _) = full_scan(&mut c, &["MATCH", "key:1*"], |_, _| {});
    let matched: HashSet<String> = matched.into_iter().collect();
    let expected: HashSet<String> = (0..N).map(|i| format!("key:{i}")).filter(|k| k.starts_with("key:1")).collect();
    assert_eq!(matched, expected);
}

#[test]
fn scan_keeps_stable_keys_while_others_are_deleted() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut d = s.raw();
    const N: usize = 4000;
    for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
        let mut args = vec!["MSET".to_string()];
        for i in chunk {
            args.push(format!("k{i}"));
            args.push("v".into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        c.cmd_str(&refs);
    }
    // Odd keys are deleted (and some new keys added) from another connection as the scan
    // proceeds; even keys are there from start to end and must all be returned.
    let mut next_odd = 1;
    let (all, _) = full_scan(&mut c, &[], |_, call| {
        let mut args = vec!["DEL".to_string()];
        for _ in 0..5 {
            if next_odd < N {
                args.push(format!("k{next_odd}"));
                next_odd += 2;
            }
        }
        if args.len() > 1 {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            d.cmd_str(&refs);
        }
        d.cmd(&["SET", &format!("new{call}"), "x"]);
    });
    let seen: HashSet<String> = all.into_iter().collect();
    for i in (0..N).step_by(2) {
        assert!(seen.contains(&format!("k{i}")), "k{i} was present throughout but never returned");
    }
}

#[test]
fn randomkey_and_touch() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["RANDOMKEY"]), "$-1\r\n");
    c.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let r = c.cmd_str(&["RANDOMKEY"]);
        let k = r
            .strip_prefix("$1\r\n")
            .and_then(|r| r.strip_suffix("\r\n"))
            .unwrap_or_else(|| panic!("{r:?}"))
            .to_string();
        assert!(["a", "b", "c"].contains(&k.as_str()));
        seen.insert(k);
    }
    assert!(seen.len() >= 2, "RANDOMKEY always gave {seen:?}");
    assert_eq!(c.cmd_str(&["RANDOMKEY", "x"]), "-ERR wrong number of arguments for 'randomkey' command\r\n");
    c.cmd(&["SELECT", "3"]);
    assert_eq!(c.cmd_str(&["RANDOMKEY"]), "$-1\r\n");
    c.cmd(&["SELECT", "0"]);

    assert_eq!(c.cmd_str(&["TOUCH", "x", "y"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["TOUCH", "a", "x", "a", "b"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["TOUCH"]), "-ERR wrong number of arguments for 'touch' command\r\n");
    // RANDOMKEY never offers an expired key.
    c.cmd(&["FLUSHDB"]);
    c.cmd(&["PSETEX", "gone", "1", "x"]);
    sleep(Duration::from_millis(5));
    assert_eq!(c.cmd_str(&["RANDOMKEY"]), "$-1\r\n");
}

#[test]
fn expire_options_and_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    let nx_err = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    let gt_lt = "-ERR GT and LT options at the same time are not compatible\r\n";
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "NX", "XX"]), nx_err);
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "nx", "gt"]), nx_err);
    assert_eq!(c.cmd_str(&["PEXPIRE", "a", "100", "lt", "nx"]), nx_err);
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "gt", "lt"]), gt_lt);
    assert_eq!(c.cmd_str(&["EXPIREAT", "a", "100", "lt", "gt"]), gt_lt);
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "foo"]), "-ERR Unsupported option foo\r\n");
    // Options are checked before the time itself.
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "x", "foo"]), "-ERR Unsupported option foo\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "nokey", "100", "bar"]), "-ERR Unsupported option bar\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "x"]), NOT_INT);
    assert_eq!(c.cmd_str(&["EXPIRE", "a"]), "-ERR wrong number of arguments for 'expire' command\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "9223372036854775807"]), "-ERR invalid expire time in 'expire' command\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "9223372036854775"]), "-ERR invalid expire time in 'expire' command\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "-9223372036854776"]), "-ERR invalid expire time in 'expire' command\r\n");
    assert_eq!(
        c.cmd_str(&["PEXPIRE", "a", "9223372036854775807"]),
        "-ERR invalid expire time in 'pexpire' command\r\n"
    );
    assert_eq!(
        c.cmd_str(&["EXPIREAT", "a", "9223372036854775807"]),
        "-ERR invalid expire time in 'expireat' command\r\n"
    );
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":-1\r\n");

    // NX / XX / GT / LT, with no TTL counting as an infinite one.
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "XX"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "GT"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "nx"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "nx"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "200", "xx", "gt"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":200\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "50", "gt"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "300", "lt"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "50", "lt"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":50\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "100", "xx", "xx"]), ":1\r\n");
    c.cmd(&["SET", "b", "1"]);
    assert_eq!(c.cmd_str(&["EXPIRE", "b", "100", "lt"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["TTL", "b"]), ":100\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "nokey", "100"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["PEXPIRE", "nokey", "100"]), ":0\r\n");

    // Absolute times, including ones at the edge of the range.
    let at = now_ms() / 1000 + 1000;
    assert_eq!(c.cmd_str(&["EXPIREAT", "a", &at.to_string()]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXPIRETIME", "a"]), format!(":{at}\r\n"));
    assert_eq!(c.cmd_str(&["PEXPIRETIME", "a"]), format!(":{}\r\n", at * 1000));
    let ttl = c.int(&["TTL", "a"]);
    assert!((998..=1000).contains(&ttl), "{ttl}");
    assert_eq!(c.cmd_str(&["PEXPIREAT", "a", &(at * 1000 + 1).to_string()]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PEXPIRETIME", "a"]), format!(":{}\r\n", at * 1000 + 1));
    assert_eq!(c.cmd_str(&["PEXPIREAT", "a", "9223372036854775807"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PEXPIRETIME", "a"]), ":9223372036854775807\r\n");
    assert_eq!(c.cmd_str(&["EXPIRETIME", "a"]), ":9223372036854776\r\n");
    assert!(c.int(&["PTTL", "a"]) > 9_000_000_000_000_000_000);
    assert_eq!(c.cmd_str(&["EXPIREAT", "a", "9223372036854775"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PEXPIRETIME", "a"]), ":9223372036854775000\r\n");

    // A time in the past deletes the key and still answers 1.
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "-1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "a"]), ":0\r\n");
    for (cmd, t) in [("EXPIREAT", "1"), ("PEXPIRE", "0"), ("PEXPIREAT", "-5"), ("EXPIRE", "-9223372036854775")] {
        c.cmd(&["SET", "a", "1"]);
        assert_eq!(c.cmd_str(&[cmd, "a", t]), ":1\r\n", "{cmd} {t}");
        assert_eq!(c.cmd_str(&["EXISTS", "a"]), ":0\r\n", "{cmd} {t}");
    }
    // ... unless a condition refuses it first.
    c.cmd(&["SET", "a", "1", "EX", "100"]);
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "-1", "gt"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "a", "-1", "lt"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "a"]), ":0\r\n");
}

#[test]
fn ttl_family_and_persist() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd_str(&[cmd, "nokey"]), ":-2\r\n", "{cmd}");
    }
    c.cmd(&["SET", "a", "1"]);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd_str(&[cmd, "a"]), ":-1\r\n", "{cmd}");
        assert_eq!(
            c.cmd_str(&[cmd]),
            format!("-ERR wrong number of arguments for '{}' command\r\n", cmd.to_lowercase())
        );
    }
    // TTL rounds to the nearest second.
    c.cmd(&["PEXPIRE", "a", "1700"]);
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":2\r\n");
    c.cmd(&["PEXPIRE", "a", "1400"]);
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":1\r\n");
    c.cmd(&["PEXPIRE", "a", "400"]);
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":0\r\n");
    let pttl = c.int(&["PTTL", "a"]);
    assert!((300..=400).contains(&pttl), "{pttl}");

    assert_eq!(c.cmd_str(&["PERSIST", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["TTL", "a"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["PERSIST", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["PERSIST", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["PERSIST"]), "-ERR wrong number of arguments for 'persist' command\r\n");
    // After PERSIST the key outlives its old deadline.
    sleep(Duration::from_millis(450));
    assert_eq!(c.cmd_str(&["GET", "a"]), "$1\r\n1\r\n");
}

#[test]
fn keys_expire_on_time() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(c.cmd_str(&["PEXPIRE", "a", "50"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PEXPIREAT", "b", &(now_ms() + 50).to_string()]), ":1\r\n");
    let pttl = c.int(&["PTTL", "a"]);
    assert!((1..=50).contains(&pttl), "{pttl}");
    assert_eq!(c.cmd_str(&["EXISTS", "a", "b", "c"]), ":3\r\n");
    sleep(Duration::from_millis(120));
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd_str(&[cmd, "a"]), ":-2\r\n", "{cmd}");
    }
    assert_eq!(c.cmd_str(&["EXISTS", "a", "b", "c"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "b"]), "+none\r\n");
    assert_eq!(c.cmd_str(&["RENAME", "a", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd_str(&["COPY", "b", "x"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["DEL", "a", "b"]), ":0\r\n");
    // An expired destination does not block RENAMENX, COPY or MOVE.
    c.cmd(&["PSETEX", "dst", "50", "old"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["PSETEX", "c", "50", "old"]);
    c.cmd(&["SELECT", "0"]);
    sleep(Duration::from_millis(120));
    assert_eq!(c.cmd_str(&["COPY", "c", "dst"]), ":1\r\n");
    c.cmd(&["PSETEX", "dst2", "50", "old"]);
    sleep(Duration::from_millis(120));
    assert_eq!(c.cmd_str(&["RENAMENX", "dst", "dst2"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["MOVE", "c", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["KEYS", "*"]), "*1\r\n$4\r\ndst2\r\n");
}

#[test]
fn object_subcommands() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "int", "1"]);
    c.cmd(&["SET", "bigint", "10000"]);
    c.cmd(&["SET", "neg", "-1"]);
    c.cmd(&["SET", "short", "hello"]);
    c.cmd(&["SET", "long", &"x".repeat(100)]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "int"]), "$3\r\nint\r\n");
    assert_eq!(c.cmd_str(&["object", "encoding", "short"]), "$6\r\nembstr\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "long"]), "$3\r\nraw\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "REFCOUNT", "int"]), ":2147483647\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "REFCOUNT", "bigint"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "REFCOUNT", "neg"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "REFCOUNT", "short"]), ":1\r\n");
    let idle = c.int(&["OBJECT", "IDLETIME", "short"]);
    assert!((0..=2).contains(&idle), "{idle}");
    assert_eq!(
        c.cmd_str(&["OBJECT", "FREQ", "int"]),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    for sub in ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"] {
        assert_eq!(c.cmd_str(&["OBJECT", sub, "nokey"]), "$-1\r\n", "{sub}");
        let name = format!("object|{}", sub.to_lowercase());
        assert_eq!(c.cmd_str(&["OBJECT", sub]), format!("-ERR wrong number of arguments for '{name}' command\r\n"));
        assert_eq!(
            c.cmd_str(&["OBJECT", sub, "a", "b"]),
            format!("-ERR wrong number of arguments for '{name}' command\r\n")
        );
    }
    assert_eq!(c.cmd_str(&["OBJECT"]), "-ERR wrong number of arguments for 'object' command\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "foo", "a"]), "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "HELP", "x"]), "-ERR wrong number of arguments for 'object|help' command\r\n");
    let help = c.cmd_str(&["OBJECT", "HELP"]);
    assert_eq!(
        help,
        "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n\
         +    Return the kind of internal representation used in order to store the value\r\n\
         +    associated with a <key>.\r\n+FREQ <key>\r\n\
         +    Return the access frequency index of the <key>. The returned integer is\r\n\
         +    proportional to the logarithm of the recent access frequency of the key.\r\n+IDLETIME <key>\r\n\
         +    Return the idle time of the <key>, that is the approximated number of\r\n\
         +    seconds elapsed since the last access to the key.\r\n+REFCOUNT <key>\r\n\
         +    Return the number of references of the value associated with the specified\r\n\
         +    <key>.\r\n+HELP\r\n+    Prints this help.\r\n"
    );
    // RESP3 nulls.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "nokey"]), "_\r\n");
}

#[test]
fn object_idletime_grows_and_touch_resets_it() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "hello"]);
    sleep(Duration::from_millis(2100));
    // OBJECT, TTL, TYPE and EXISTS look without touching.
    c.cmd(&["TTL", "a"]);
    c.cmd(&["TYPE", "a"]);
    c.cmd(&["EXISTS", "a"]);
    assert!(c.int(&["OBJECT", "IDLETIME", "a"]) >= 1);
    assert_eq!(c.cmd_str(&["TOUCH", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "IDLETIME", "a"]), ":0\r\n");
}

#[test]
fn object_under_lfu_policy() {
    let s = TestServer::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "hello"]);
    c.cmd(&["SET", "n", "5"]);
    assert_eq!(c.cmd_str(&["OBJECT", "FREQ", "a"]), ":5\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "FREQ", "nokey"]), "$-1\r\n");
    assert_eq!(
        c.cmd_str(&["OBJECT", "IDLETIME", "a"]),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    assert_eq!(c.cmd_str(&["OBJECT", "IDLETIME", "nokey"]), "$-1\r\n");
    // Without a memory limit integers are still shared.
    assert_eq!(c.cmd_str(&["OBJECT", "REFCOUNT", "n"]), ":2147483647\r\n");
    drop(c);
    drop(s);
    let s = TestServer::start(&["--maxmemory-policy", "allkeys-lru", "--maxmemory", "100mb"]);
    let mut c = s.raw();
    c.cmd(&["SET", "n", "5"]);
    assert_eq!(c.cmd_str(&["OBJECT", "REFCOUNT", "n"]), ":1\r\n");
}

#[test]
fn memory_usage_and_help() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "big", &"x".repeat(10_000)]);
    assert_eq!(c.cmd_str(&["MEMORY", "USAGE", "nokey"]), "$-1\r\n");
    let small = c.int(&["MEMORY", "USAGE", "a"]);
    let big = c.int(&["MEMORY", "USAGE", "big"]);
    assert!(small > 0 && small < 1000, "{small}");
    assert!(big >= 10_000 + small, "{big} vs {small}");
    assert_eq!(c.int(&["MEMORY", "USAGE", "a", "SAMPLES", "0"]), small);
    assert_eq!(c.int(&["memory", "usage", "a", "samples", "5", "samples", "10"]), small);
    assert_eq!(c.cmd_str(&["MEMORY", "USAGE", "a", "SAMPLES"]), SYNTAX);
    assert_eq!(c.cmd_str(&["MEMORY", "USAGE", "a", "SAMPLES", "-1"]), SYNTAX);
    assert_eq!(c.cmd_str(&["MEMORY", "USAGE", "a", "SAMPLES", "x"]), NOT_INT);
    assert_eq!(c.cmd_str(&["MEMORY", "USAGE", "a", "foo", "1"]), SYNTAX);
    assert_eq!(c.cmd_str(&["MEMORY", "USAGE"]), "-ERR wrong number of arguments for 'memory|usage' command\r\n");
    assert_eq!(c.cmd_str(&["MEMORY"]), "-ERR wrong number of arguments for 'memory' command\r\n");
    assert_eq!(c.cmd_str(&["MEMORY", "foo"]), "-ERR unknown subcommand 'foo'. Try MEMORY HELP.\r\n");
    assert_eq!(c.cmd_str(&["MEMORY", "HELP", "x"]), "-ERR wrong number of arguments for 'memory|help' command\r\n");
    assert_eq!(
        c.cmd_str(&["MEMORY", "HELP"]),
        "*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n\
         +    Return memory problems reports.\r\n+MALLOC-STATS\r\n\
         +    Return internal statistics report from the memory allocator.\r\n+PURGE\r\n\
         +    Attempt to purge dirty pages for reclamation by the allocator.\r\n+STATS\r\n\
         +    Return information about the memory usage of the server.\r\n+USAGE <key> [SAMPLES <count>]\r\n\
         +    Return memory in bytes used by <key> and its value. Nested values are\r\n\
         +    sampled up to <count> times (default: 5, 0 means sample all).\r\n+HELP\r\n+    Prints this help.\r\n"
    );
    // An expiry costs a little more.
    c.cmd(&["EXPIRE", "a", "100"]);
    assert!(c.int(&["MEMORY", "USAGE", "a"]) > small);
}

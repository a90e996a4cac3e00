//! Set commands, exact replies and errors, and the encodings OBJECT ENCODING shows.

mod common;
use common::*;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
    }
    s
}

/// The bulk strings of a flat array reply, sorted (set order is the server's own).
fn sorted(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let n: usize = lines.next().and_then(|h| h[1..].parse().ok()).expect("an array reply");
    let mut items: Vec<String> = (0..n).map(|_| lines.nth(1).expect("a bulk").to_string()).collect();
    items.sort();
    items
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn add_remove_and_membership() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SADD", "s", "3", "1", "2", "1"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["SADD", "s", "2", "4"]), ":1\r\n");
    // An intset answers in ascending order, as Redis's does.
    assert_eq!(c.cmd_str(&["SMEMBERS", "s"]), bulks(&["1", "2", "3", "4"]));
    assert_eq!(c.cmd_str(&["SCARD", "s"]), ":4\r\n");
    assert_eq!(c.cmd_str(&["SISMEMBER", "s", "2"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SISMEMBER", "s", "02"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SISMEMBER", "nokey", "2"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SMISMEMBER", "s", "1", "9", "4"]), "*3\r\n:1\r\n:0\r\n:1\r\n");
    assert_eq!(c.cmd_str(&["SMISMEMBER", "nokey", "1", "2"]), "*2\r\n:0\r\n:0\r\n");
    assert_eq!(c.cmd_str(&["SREM", "s", "1", "9", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SREM", "nokey", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SREM", "s", "2", "3", "4"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "s"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SCARD", "s"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SMEMBERS", "s"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SADD", "s"]), "-ERR wrong number of arguments for 'sadd' command\r\n");
    assert_eq!(c.cmd_str(&["SADD", "t", "a", "", "b"]), ":3\r\n");
    assert_eq!(sorted(&c.cmd_str(&["SMEMBERS", "t"])), strs(&["", "a", "b"]));
    assert_eq!(c.cmd_str(&["TYPE", "t"]), "+set\r\n");
}

#[test]
fn wrong_type_everywhere() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "str", "v"]);
    c.cmd(&["SADD", "s", "1"]);
    for cmd in [
        &["SADD", "str", "1"][..],
        &["SREM", "str", "1"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "1"],
        &["SMISMEMBER", "str", "1"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "1"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SMOVE", "str", "s", "1"],
        &["SMOVE", "s", "str", "1"],
        &["SINTER", "nokey", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SINTERSTORE", "d", "s", "str"],
        &["SUNION", "s", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SDIFF", "nokey", "str"],
        &["SDIFFSTORE", "d", "s", "str"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "COUNT", "0"],
    ] {
        assert_eq!(c.cmd_str(cmd), WRONGTYPE, "{cmd:?}");
    }
    // A missing source answers before the destination's type is looked at.
    assert_eq!(c.cmd_str(&["SMOVE", "nokey", "str", "1"]), ":0\r\n");
}

#[test]
fn encodings_and_conversions() {
    let s = TestServer::start(&["--set-max-intset-entries", "3"]);
    let mut c = s.raw();
    c.cmd(&["SADD", "i", "1", "-70000", "9223372036854775807"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "i"]), "$6\r\nintset\r\n");
    assert_eq!(c.cmd_str(&["SMEMBERS", "i"]), bulks(&["-70000", "1", "9223372036854775807"]));
    c.cmd(&["SADD", "i", "2"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "i"]), "$9\r\nhashtable\r\n");
    // Never back to an intset once left, as in Redis 7.0.
    c.cmd(&["SREM", "i", "2", "1"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "i"]), "$9\r\nhashtable\r\n");
    for (member, enc) in [("01", "hashtable"), ("-0", "hashtable"), ("+1", "hashtable"), ("-5", "intset")] {
        c.cmd(&["DEL", "k"]);
        c.cmd(&["SADD", "k", "7", member]);
        assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "k"]), format!("${}\r\n{enc}\r\n", enc.len()), "{member}");
    }
    c.cmd(&["SADD", "big", "9223372036854775808"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "big"]), "$9\r\nhashtable\r\n");
    // 7.0 has no listpack sets: strings are a hashtable whatever their number.
    c.cmd(&["SADD", "str", "a"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "str"]), "$9\r\nhashtable\r\n");
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut cmd = vec!["SADD", "str"];
    cmd.extend(many.iter().map(String::as_str));
    assert_eq!(c.cmd_str(&cmd), ":300\r\n");
    assert_eq!(c.cmd_str(&["SCARD", "str"]), ":301\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "str"]), "$9\r\nhashtable\r\n");
    // The threshold follows CONFIG SET.
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "set-max-intset-entries", "512"]), "+OK\r\n");
    c.cmd(&["SADD", "j", "1", "2", "3", "4", "5"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "j"]), "$6\r\nintset\r\n");
    // Stored results are built like new keys: all integers make an intset.
    c.cmd(&["SADD", "mixed", "1", "2", "a"]);
    assert_eq!(c.cmd_str(&["SDIFFSTORE", "d", "mixed", "str"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "d"]), "$6\r\nintset\r\n");
}

#[test]
fn spop_and_srandmember() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SADD", "s", "1", "2", "3", "4", "5"]);
    assert_eq!(c.cmd_str(&["SPOP", "s", "0"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "s", "-1"]), "-ERR value is out of range, must be positive\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "s", "x"]), "-ERR value is out of range, must be positive\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "nokey", "-1"]), "-ERR value is out of range, must be positive\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "s", "1", "2"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "nokey"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "nokey", "3"]), "*0\r\n");
    let two = sorted(&c.cmd_str(&["SPOP", "s", "2"]));
    assert_eq!(two.len(), 2);
    assert_eq!(c.cmd_str(&["SCARD", "s"]), ":3\r\n");
    for m in &two {
        assert_eq!(c.cmd_str(&["SISMEMBER", "s", m]), ":0\r\n");
    }
    let one = c.cmd_str(&["SPOP", "s"]);
    assert!(one.starts_with("$1\r\n"), "{one}");
    assert_eq!(c.cmd_str(&["SCARD", "s"]), ":2\r\n");
    assert_eq!(sorted(&c.cmd_str(&["SPOP", "s", "10"])).len(), 2);
    assert_eq!(c.cmd_str(&["EXISTS", "s"]), ":0\r\n");

    c.cmd(&["SADD", "r", "a", "b", "c"]);
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "nokey"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "nokey", "3"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "r", "0"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "r", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "r", "1", "2"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str(&["SRANDMEMBER", "r", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(sorted(&c.cmd_str(&["SRANDMEMBER", "r", "10"])), strs(&["a", "b", "c"]));
    let two = sorted(&c.cmd_str(&["SRANDMEMBER", "r", "2"]));
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1]);
    let repeated = sorted(&c.cmd_str(&["SRANDMEMBER", "r", "-20"]));
    assert_eq!(repeated.len(), 20);
    assert!(repeated.iter().all(|m| ["a", "b", "c"].contains(&m.as_str())));
    assert_eq!(c.cmd_str(&["SCARD", "r"]), ":3\r\n");
}

#[test]
fn random_replies_in_resp3() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["SADD", "s", "1"]);
    assert_eq!(c.cmd_str(&["SMEMBERS", "s"]), "~1\r\n$1\r\n1\r\n");
    assert_eq!(c.cmd_str(&["SMEMBERS", "nokey"]), "~0\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "nokey", "2"]), "~0\r\n");
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "s", "5"]), "*1\r\n$1\r\n1\r\n");
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "nokey", "5"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SRANDMEMBER", "nokey"]), "_\r\n");
    assert_eq!(c.cmd_str(&["SPOP", "s", "5"]), "~1\r\n$1\r\n1\r\n");
}

#[test]
fn smove_cases() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SADD", "a", "1", "x"]);
    assert_eq!(c.cmd_str(&["SMOVE", "a", "b", "9"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SMOVE", "a", "a", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SMOVE", "a", "a", "9"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SMOVE", "a", "b", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "b"]), "$6\r\nintset\r\n");
    assert_eq!(c.cmd_str(&["SMOVE", "a", "b", "x"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "a"]), ":0\r\n");
    assert_eq!(sorted(&c.cmd_str(&["SMEMBERS", "b"])), strs(&["1", "x"]));
    assert_eq!(c.cmd_str(&["SMOVE", "a", "b", "x"]), ":0\r\n");
}

#[test]
fn algebra() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SADD", "a", "1", "2", "3", "x"]);
    c.cmd(&["SADD", "b", "2", "3", "4", "x", "y"]);
    c.cmd(&["SADD", "c", "3", "x", "z"]);
    assert_eq!(sorted(&c.cmd_str(&["SINTER", "a", "b", "c"])), strs(&["3", "x"]));
    assert_eq!(c.cmd_str(&["SINTER", "a", "nokey"]), "*0\r\n");
    assert_eq!(sorted(&c.cmd_str(&["SUNION", "a", "nokey", "c"])), strs(&["1", "2", "3", "x", "z"]));
    assert_eq!(sorted(&c.cmd_str(&["SDIFF", "a", "b"])), strs(&["1"]));
    assert_eq!(sorted(&c.cmd_str(&["SDIFF", "b", "a", "c"])), strs(&["4", "y"]));
    assert_eq!(c.cmd_str(&["SDIFF", "nokey", "a"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SDIFF", "a", "a"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "2", "a", "b"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "2", "a", "b", "LIMIT", "2"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "2", "a", "b", "limit", "0"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "2", "a", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "0", "a"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "x", "a"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(
        c.cmd_str(&["SINTERCARD", "3", "a", "b"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(c.cmd_str(&["SINTERCARD", "1", "a", "LIMIT", "-1"]), "-ERR LIMIT can't be negative\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "1", "a", "LIMIT"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["SINTERCARD", "1", "a", "BAD", "1"]), "-ERR syntax error\r\n");

    // STORE forms replace the destination whatever it held, and drop its TTL.
    c.cmd(&["SET", "d", "string"]);
    c.cmd(&["EXPIRE", "d", "1000"]);
    assert_eq!(c.cmd_str(&["SINTERSTORE", "d", "a", "b"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "d"]), "+set\r\n");
    assert_eq!(c.cmd_str(&["TTL", "d"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["SUNIONSTORE", "d", "a", "c"]), ":5\r\n");
    assert_eq!(c.cmd_str(&["SDIFFSTORE", "d", "b", "a"]), ":2\r\n");
    assert_eq!(sorted(&c.cmd_str(&["SMEMBERS", "d"])), strs(&["4", "y"]));
    // The destination may be a source.
    assert_eq!(c.cmd_str(&["SUNIONSTORE", "d", "d", "c"]), ":5\r\n");
    // An empty result deletes the destination.
    assert_eq!(c.cmd_str(&["SINTERSTORE", "d", "a", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "d"]), ":0\r\n");
    c.cmd(&["SET", "d", "v"]);
    assert_eq!(c.cmd_str(&["SDIFFSTORE", "d", "a", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "d"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SUNIONSTORE", "d", "nokey"]), ":0\r\n");
    // Keys on different shards and on one hash tag alike.
    c.cmd(&["SADD", "{t}1", "a", "b"]);
    c.cmd(&["SADD", "{t}2", "b", "c"]);
    assert_eq!(c.cmd_str(&["SINTERSTORE", "{t}3", "{t}1", "{t}2"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SMEMBERS", "{t}3"]), bulks(&["b"]));
}

#[test]
fn sscan_cases() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SADD", "i", "1", "2", "10"]);
    assert_eq!(c.cmd_str(&["SSCAN", "i", "0"]), "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n10\r\n");
    // Compact sets answer in one page whatever the cursor and COUNT.
    assert_eq!(
        c.cmd_str(&["SSCAN", "i", "5", "COUNT", "1", "MATCH", "1*"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$2\r\n10\r\n"
    );
    assert_eq!(c.cmd_str(&["SSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.cmd_str(&["SSCAN", "nokey", "0", "COUNT", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.cmd_str(&["SSCAN", "nokey", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd_str(&["SSCAN", "i", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["SSCAN", "i", "0", "COUNT", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["SSCAN", "i", "0", "TYPE", "set"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["SSCAN", "i", "0", "MATCH"]), "-ERR syntax error\r\n");

    // A small string set is a hashtable to a 7.0 client, and pages like one.
    c.cmd(&["SADD", "p", "a", "b", "c", "d", "e"]);
    let reply = c.cmd_str(&["SSCAN", "p", "0", "COUNT", "2"]);
    assert!(reply.starts_with("*2\r\n$1\r\n3\r\n*2\r\n"), "{reply}");

    // A hashtable pages through its members; a full iteration sees every one exactly once.
    let many: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut cmd = vec!["SADD", "h"];
    cmd.extend(many.iter().map(String::as_str));
    c.cmd(&cmd);
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut pages = 0;
    loop {
        let reply = c.cmd_str(&["SSCAN", "h", &cursor, "COUNT", "50"]);
        let parts: Vec<&str> = reply.split("\r\n").collect();
        cursor = parts[2].to_string();
        seen.extend(sorted(&parts[3..].join("\r\n")));
        pages += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(pages > 10, "{pages} pages");
    seen.sort();
    let mut want = many.clone();
    want.sort();
    assert_eq!(seen, want);
    let reply = c.cmd_str(&["SSCAN", "h", "0", "COUNT", "2000", "MATCH", "m99*"]);
    assert_eq!(
        sorted(&reply.split_once("\r\n*").map(|(_, r)| format!("*{r}")).unwrap()),
        strs(&["m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998", "m999"])
    );
}

#[test]
fn keyspace_commands_carry_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SADD", "s", "1", "a"]);
    assert_eq!(c.cmd_str(&["COPY", "s", "t"]), ":1\r\n");
    c.cmd(&["SADD", "t", "b"]);
    assert_eq!(c.cmd_str(&["SCARD", "s"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["RENAME", "t", "u"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SCARD", "u"]), ":3\r\n");
    c.cmd(&["SET", "str", "v"]);
    let reply = c.cmd_str(&["SCAN", "0", "TYPE", "set", "COUNT", "100"]);
    assert_eq!(sorted(&reply.split_once("\r\n*").map(|(_, r)| format!("*{r}")).unwrap()), strs(&["s", "u"]));
    assert_eq!(c.cmd_str(&["COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b", "LIMIT", "1"]), bulks(&["a", "b"]));
}

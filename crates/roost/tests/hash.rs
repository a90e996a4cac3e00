//! Hash commands, exact replies, and the encodings OBJECT ENCODING shows.

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

#[test]
fn set_get_and_delete() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["HSET", "h", "a", "1", "b", "2"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["HSET", "h", "a", "x", "c", "3"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HGET", "h", "a"]), "$1\r\nx\r\n");
    assert_eq!(c.cmd_str(&["HGET", "h", "zz"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["HGET", "nokey", "a"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["HMSET", "h", "d", "4"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["HSETNX", "h", "d", "5"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HSETNX", "h", "e", "5"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HSETNX", "new", "f", "v"]), ":1\r\n");
    // A listpack keeps insertion order, with updates in place, as Redis's does.
    assert_eq!(c.cmd_str(&["HGETALL", "h"]), bulks(&["a", "x", "b", "2", "c", "3", "d", "4", "e", "5"]));
    assert_eq!(c.cmd_str(&["HKEYS", "h"]), bulks(&["a", "b", "c", "d", "e"]));
    assert_eq!(c.cmd_str(&["HVALS", "h"]), bulks(&["x", "2", "3", "4", "5"]));
    assert_eq!(c.cmd_str(&["HGETALL", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["HKEYS", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["HMGET", "h", "a", "zz", "e"]), "*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n5\r\n");
    assert_eq!(c.cmd_str(&["HMGET", "nokey", "a", "b"]), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(c.cmd_str(&["HLEN", "h"]), ":5\r\n");
    assert_eq!(c.cmd_str(&["HLEN", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HEXISTS", "h", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HEXISTS", "h", "zz"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HEXISTS", "nokey", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HSET", "h", "long", "hello world"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HSTRLEN", "h", "long"]), ":11\r\n");
    assert_eq!(c.cmd_str(&["HSTRLEN", "h", "zz"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HSTRLEN", "nokey", "zz"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HDEL", "h", "a", "a", "zz", "b"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["HDEL", "nokey", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HDEL", "h", "c", "d", "e", "long"]), ":4\r\n");
    // The emptied hash is gone.
    assert_eq!(c.cmd_str(&["EXISTS", "h"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "new"]), "+hash\r\n");
}

#[test]
fn arity_and_wrong_type() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["HSET", "h", "a"]), "-ERR wrong number of arguments for 'hset' command\r\n");
    assert_eq!(c.cmd_str(&["HSET", "h", "a", "1", "b"]), "-ERR wrong number of arguments for 'hset' command\r\n");
    assert_eq!(c.cmd_str(&["HMSET", "h", "a", "1", "b"]), "-ERR wrong number of arguments for 'hmset' command\r\n");
    assert_eq!(c.cmd_str(&["HGET", "h"]), "-ERR wrong number of arguments for 'hget' command\r\n");
    assert_eq!(c.cmd_str(&["HDEL", "h"]), "-ERR wrong number of arguments for 'hdel' command\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "h"]), ":0\r\n");
    c.cmd(&["SET", "s", "v"]);
    for cmd in [
        &["HSET", "s", "a", "1"][..],
        &["HSETNX", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HGETALL", "s"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HEXISTS", "s", "a"],
        &["HSTRLEN", "s", "a"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HSCAN", "s", "0"],
    ] {
        assert_eq!(c.cmd_str(cmd), WRONGTYPE, "{cmd:?}");
    }
    c.cmd(&["HSET", "h", "a", "1"]);
    assert_eq!(c.cmd_str(&["GET", "h"]), WRONGTYPE);
}

#[test]
fn counters() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["HINCRBY", "h", "n", "5"]), ":5\r\n");
    assert_eq!(c.cmd_str(&["HINCRBY", "h", "n", "-7"]), ":-2\r\n");
    assert_eq!(c.cmd_str(&["HINCRBY", "h", "n", "x"]), "-ERR value is not an integer or out of range\r\n");
    c.cmd(&["HSET", "h", "s", "abc", "big", "9223372036854775807", "lead", "01"]);
    assert_eq!(c.cmd_str(&["HINCRBY", "h", "s", "1"]), "-ERR hash value is not an integer\r\n");
    assert_eq!(c.cmd_str(&["HINCRBY", "h", "lead", "1"]), "-ERR hash value is not an integer\r\n");
    assert_eq!(c.cmd_str(&["HINCRBY", "h", "big", "1"]), "-ERR increment or decrement would overflow\r\n");
    assert_eq!(c.cmd_str(&["HINCRBY", "h", "big", "-1"]), ":9223372036854775806\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "h", "f", "10.50"]), "$4\r\n10.5\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "h", "f", "0.1"]), "$4\r\n10.6\r\n");
    // Long double sums print as Redis's do, tail digits included.
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "h", "f", "5.0e3"]), "$22\r\n5010.60000000000000009\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "h", "n", "2"]), "$1\r\n0\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "h", "f", "abc"]), "-ERR value is not a valid float\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "h", "f", "inf"]), "-ERR value is NaN or Infinity\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "h", "s", "1"]), "-ERR hash value is not a float\r\n");
    c.cmd(&["HSET", "h", "huge", "1e4932"]);
    assert_eq!(
        c.cmd_str(&["HINCRBYFLOAT", "h", "huge", "1.18e4932"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    // Failed increments on a missing key leave no empty hash behind.
    assert_eq!(c.cmd_str(&["HINCRBY", "nokey", "n", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "nokey", "n", "x"]), "-ERR value is not a valid float\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "nokey"]), ":0\r\n");
}

#[test]
fn random_fields() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["HRANDFIELD", "nokey"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "nokey", "3"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "nokey", "-3", "WITHVALUES"]), "*0\r\n");
    c.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "0"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "0", "WITHVALUES"]), "*0\r\n");
    let one = c.cmd_str(&["HRANDFIELD", "h"]);
    assert!(["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()), "{one}");
    // A count at least the size gives the whole hash.
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "5"]), bulks(&["a", "b", "c"]));
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "3", "withvalues"]), bulks(&["a", "1", "b", "2", "c", "3"]));
    // Negative counts repeat: exactly |count| fields.
    let r = c.cmd_str(&["HRANDFIELD", "h", "-10"]);
    assert!(r.starts_with("*10\r\n"), "{r}");
    let r = c.cmd_str(&["HRANDFIELD", "h", "-4", "WITHVALUES"]);
    assert!(r.starts_with("*8\r\n"), "{r}");
    // A positive count below the size gives distinct fields.
    let r = c.cmd_str(&["HRANDFIELD", "h", "2"]);
    let items: Vec<&str> = r.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).collect();
    assert_eq!(items.len(), 2);
    assert_ne!(items[0], items[1]);
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "2", "WITHVALUE"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "2", "WITHVALUES", "x"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        c.cmd_str(&["HRANDFIELD", "h", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"]), "-ERR value is out of range\r\n");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"]), "-ERR value is out of range\r\n");
    // RESP3: pairs nest in arrays of two, and an absent key without count is a null.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd_str(&["HRANDFIELD", "nokey"]), "_\r\n");
    assert_eq!(
        c.cmd_str(&["HRANDFIELD", "h", "3", "WITHVALUES"]),
        "*3\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    let r = c.cmd_str(&["HRANDFIELD", "h", "-2", "WITHVALUES"]);
    assert!(r.starts_with("*2\r\n*2\r\n"), "{r}");
    assert_eq!(
        c.cmd_str(&["HGETALL", "h"]),
        "%3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str(&["HGETALL", "nokey"]), "%0\r\n");
}

#[test]
fn random_fields_from_a_hashtable() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "4"]);
    let mut c = s.raw();
    for i in 0..50 {
        c.cmd(&["HSET", "h", &format!("f{i}"), &i.to_string()]);
    }
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "h"]), "$9\r\nhashtable\r\n");
    for count in ["5", "30", "49"] {
        let r = c.cmd_str(&["HRANDFIELD", "h", count]);
        let mut items: Vec<&str> = r.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).collect();
        assert_eq!(items.len().to_string(), count);
        items.sort();
        items.dedup();
        assert_eq!(items.len().to_string(), count, "fields repeat: {r}");
    }
    let r = c.cmd_str(&["HRANDFIELD", "h", "100"]);
    assert!(r.starts_with("*50\r\n"));
}

#[test]
fn scan() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["HSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    // Options of an absent key are not even read, as in Redis.
    assert_eq!(c.cmd_str(&["HSCAN", "nokey", "0", "COUNT", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.cmd_str(&["HSCAN", "nokey", "x"]), "-ERR invalid cursor\r\n");
    c.cmd(&["HSET", "h", "a1", "1", "b1", "2", "a2", "3"]);
    // A listpack comes back whole with cursor 0, whatever the cursor and COUNT.
    assert_eq!(
        c.cmd_str(&["HSCAN", "h", "0", "COUNT", "1"]),
        format!("*2\r\n$1\r\n0\r\n{}", bulks(&["a1", "1", "b1", "2", "a2", "3"]))
    );
    assert_eq!(
        c.cmd_str(&["HSCAN", "h", "77", "MATCH", "a*"]),
        format!("*2\r\n$1\r\n0\r\n{}", bulks(&["a1", "1", "a2", "3"]))
    );
    assert_eq!(c.cmd_str(&["HSCAN", "h", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["HSCAN", "h", "0", "COUNT", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["HSCAN", "h", "0", "TYPE", "hash"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["HSCAN", "h", "0", "MATCH"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str(&["HSCAN", "h", "-1"]),
        format!("*2\r\n$1\r\n0\r\n{}", bulks(&["a1", "1", "b1", "2", "a2", "3"]))
    );
}

#[test]
fn scan_a_hashtable_to_the_end() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "8"]);
    let mut c = s.raw();
    for i in 0..100 {
        c.cmd(&["HSET", "h", &format!("f{i}"), "v"]);
    }
    let mut cursor = "0".to_string();
    let mut seen = std::collections::BTreeSet::new();
    let mut calls = 0;
    loop {
        let r = c.cmd_str(&["HSCAN", "h", &cursor, "COUNT", "7", "MATCH", "f*"]);
        let parts: Vec<&str> = r.split("\r\n").collect();
        cursor = parts[2].to_string();
        for f in parts[4..].iter().skip(1).step_by(4) {
            seen.insert(f.to_string());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 100);
    assert!(calls > 10, "{calls} calls");
}

#[test]
fn encodings_and_conversions() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "3", "--hash-max-listpack-value", "8"]);
    let mut c = s.raw();
    let enc = |c: &mut RawClient, k: &str| c.cmd_str(&["OBJECT", "ENCODING", k]);
    c.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(enc(&mut c, "h"), "$8\r\nlistpack\r\n");
    c.cmd(&["HSET", "h", "c", "12345678"]);
    assert_eq!(enc(&mut c, "h"), "$8\r\nlistpack\r\n");
    c.cmd(&["HSET", "h", "d", "4"]);
    assert_eq!(enc(&mut c, "h"), "$9\r\nhashtable\r\n");
    // Never back, even when small again.
    c.cmd(&["HDEL", "h", "a", "b", "c"]);
    assert_eq!(enc(&mut c, "h"), "$9\r\nhashtable\r\n");
    assert_eq!(c.cmd_str(&["HGETALL", "h"]), bulks(&["d", "4"]));
    // A value or a field over the length limit converts.
    c.cmd(&["HSET", "v", "f", "123456789"]);
    assert_eq!(enc(&mut c, "v"), "$9\r\nhashtable\r\n");
    c.cmd(&["HSET", "f", "123456789", "v"]);
    assert_eq!(enc(&mut c, "f"), "$9\r\nhashtable\r\n");
    // HSETNX on an existing field changes nothing, not even the encoding.
    c.cmd(&["HSET", "n", "f", "v"]);
    assert_eq!(c.cmd_str(&["HSETNX", "n", "f", "123456789"]), ":0\r\n");
    assert_eq!(enc(&mut c, "n"), "$8\r\nlistpack\r\n");
    // Counters that produce a long value or use a long field convert too.
    assert_eq!(c.cmd_str(&["HINCRBY", "n", "123456789", "1"]), ":1\r\n");
    assert_eq!(enc(&mut c, "n"), "$9\r\nhashtable\r\n");
    c.cmd(&["HSET", "x", "f", "1"]);
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "x", "f", "0.000001"]), "$8\r\n1.000001\r\n");
    assert_eq!(enc(&mut c, "x"), "$8\r\nlistpack\r\n");
    assert_eq!(c.cmd_str(&["HINCRBYFLOAT", "x", "f", "0.0000001"]), "$9\r\n1.0000011\r\n");
    assert_eq!(enc(&mut c, "x"), "$9\r\nhashtable\r\n");
    // The thresholds change at run time.
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "hash-max-ziplist-entries", "100"]), "+OK\r\n");
    c.cmd(&["HSET", "y", "a", "1", "b", "2", "c", "3", "d", "4"]);
    assert_eq!(enc(&mut c, "y"), "$8\r\nlistpack\r\n");
    // Values survive COPY and RENAME in either encoding.
    assert_eq!(c.cmd_str(&["COPY", "h", "h2"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["RENAME", "y", "y2"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["HGET", "h2", "d"]), "$1\r\n4\r\n");
    assert_eq!(c.cmd_str(&["HGET", "y2", "d"]), "$1\r\n4\r\n");
    assert_eq!(enc(&mut c, "y2"), "$8\r\nlistpack\r\n");
}

#[test]
fn memory_usage_grows_with_the_hash() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["HSET", "h", "f1", "v1"]);
    let small = c.int(&["MEMORY", "USAGE", "h"]);
    for i in 0..600 {
        c.cmd(&["HSET", "h", &format!("field:{i}"), "some value"]);
    }
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "h"]), "$9\r\nhashtable\r\n");
    let big = c.int(&["MEMORY", "USAGE", "h"]);
    assert!(small < 120, "{small}");
    assert!(big > small + 600 * 20, "{small} {big}");
}

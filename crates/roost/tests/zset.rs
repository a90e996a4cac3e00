//! Sorted set commands: exact replies and errors, RESP3 shapes, encodings, blocking pops.

mod common;
use common::*;

use std::time::{Duration, Instant};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
    }
    s
}

fn err(msg: &str) -> String {
    format!("-ERR {msg}\r\n")
}

#[test]
fn add_score_rank_and_remove() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "1", "a", "5", "b"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "CH", "1", "a", "2", "b", "4", "d"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "NX", "9", "a", "9", "e"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "XX", "CH", "0", "a", "9", "f"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "GT", "CH", "-5", "a", "10", "e"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "LT", "CH", "100", "c", "1", "c"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "INCR", "2.5", "a"]), "$3\r\n2.5\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "GT", "INCR", "-1", "a"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "XX", "INCR", "1", "nosuch"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "nokey", "XX", "1", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "0x10", "hex"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZSCORE", "z", "hex"]), "$2\r\n16\r\n");
    assert_eq!(c.cmd_str(&["ZINCRBY", "z", "0.1", "hex"]), "$18\r\n16.100000000000001\r\n");
    assert_eq!(c.cmd_str(&["ZINCRBY", "new", "3", "m"]), "$1\r\n3\r\n");
    assert_eq!(c.cmd_str(&["ZSCORE", "z", "zz"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["ZSCORE", "nokey", "a"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["ZMSCORE", "z", "a", "zz", "b"]), "*3\r\n$3\r\n2.5\r\n$-1\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd_str(&["ZMSCORE", "nokey", "a", "b"]), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(c.cmd_str(&["ZCARD", "z"]), ":6\r\n");
    assert_eq!(c.cmd_str(&["ZCARD", "nokey"]), ":0\r\n");
    // c=1 b=2 a=2.5 d=4 e=10 hex=16.1 (f was never added)
    assert_eq!(c.cmd_str(&["ZRANK", "z", "c"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["ZRANK", "z", "a"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZREVRANK", "z", "a"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["ZRANK", "z", "zz"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["ZRANK", "nokey", "a"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["ZREM", "z", "a", "a", "zz", "b"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZREM", "nokey", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["ZREM", "z", "c", "d", "e", "hex", "x"]), ":4\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "z"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "new"]), "+zset\r\n");
}

#[test]
fn add_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a"]);
    assert_eq!(c.cmd_str(&["ZADD", "z", "1"]), err("wrong number of arguments for 'zadd' command"));
    assert_eq!(c.cmd_str(&["ZADD", "z", "1", "a", "2"]), err("syntax error"));
    assert_eq!(
        c.cmd_str(&["ZADD", "z", "NX", "XX", "1", "a"]),
        err("XX and NX options at the same time are not compatible")
    );
    let gtlt = err("GT, LT, and/or NX options at the same time are not compatible");
    assert_eq!(c.cmd_str(&["ZADD", "z", "GT", "LT", "1", "a"]), gtlt);
    assert_eq!(c.cmd_str(&["ZADD", "z", "NX", "LT", "1", "a"]), gtlt);
    assert_eq!(
        c.cmd_str(&["ZADD", "z", "INCR", "1", "a", "2", "b"]),
        err("INCR option supports a single increment-element pair")
    );
    for bad in ["x", "nan", "1e400", " 1", "1 ", ""] {
        assert_eq!(c.cmd_str(&["ZADD", "z", bad, "a"]), err("value is not a valid float"), "{bad:?}");
    }
    assert_eq!(c.cmd_str(&["ZADD", "z", "INCR", "+inf", "a"]), "$3\r\ninf\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "INCR", "-inf", "a"]), err("resulting score is not a number (NaN)"));
    assert_eq!(c.cmd_str(&["ZINCRBY", "z", "-inf", "a"]), err("resulting score is not a number (NaN)"));
    assert_eq!(c.cmd_str(&["ZINCRBY", "z", "x", "a"]), err("value is not a valid float"));
    c.cmd(&["SET", "s", "x"]);
    for cmd in [
        &["ZADD", "s", "1", "a"][..],
        &["ZINCRBY", "s", "1", "a"],
        &["ZSCORE", "s", "a"],
        &["ZCARD", "s"],
        &["ZRANGE", "s", "0", "1"],
        &["ZPOPMIN", "s", "0"],
        &["ZUNION", "1", "s"],
        &["ZRANDMEMBER", "s"],
        &["ZSCAN", "s", "0"],
        &["ZREMRANGEBYRANK", "s", "0", "1"],
    ] {
        assert_eq!(c.cmd_str(cmd), WRONGTYPE, "{cmd:?}");
    }
}

#[test]
fn ranges_by_rank_score_and_lex() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "-inf", "lo", "+inf", "hi"]);
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "1", "2"]), bulks(&["a", "b"]));
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "-2", "-1", "WITHSCORES"]), bulks(&["d", "4", "hi", "inf"]));
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "0", "1", "REV"]), bulks(&["hi", "d"]));
    assert_eq!(c.cmd_str(&["ZREVRANGE", "z", "0", "0", "WITHSCORES"]), bulks(&["hi", "inf"]));
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "5", "2"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "nokey", "0", "-1"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "(1", "3", "BYSCORE"]), bulks(&["b", "c"]));
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "3", "(1", "BYSCORE", "REV"]), bulks(&["c", "b"]));
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"]), bulks(&["a", "b"]));
    assert_eq!(c.cmd_str(&["ZRANGEBYSCORE", "z", "1", "2", "WITHSCORES"]), bulks(&["a", "1", "b", "2"]));
    assert_eq!(c.cmd_str(&["ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "3", "-5"]), bulks(&["c", "d", "hi"]));
    assert_eq!(c.cmd_str(&["ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "-1", "5"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["ZREVRANGEBYSCORE", "z", "(4", "1", "LIMIT", "1", "1"]), bulks(&["b"]));
    assert_eq!(c.cmd_str(&["ZRANGEBYSCORE", "z", "", "1"]), bulks(&["a"]));
    assert_eq!(c.cmd_str(&["ZCOUNT", "z", "(1", "+inf"]), ":4\r\n");
    assert_eq!(c.cmd_str(&["ZCOUNT", "z", "5", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["ZCOUNT", "nokey", "0", "1"]), ":0\r\n");
    c.cmd(&["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"]);
    assert_eq!(c.cmd_str(&["ZRANGEBYLEX", "l", "[b", "(d"]), bulks(&["b", "c"]));
    assert_eq!(c.cmd_str(&["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "2"]), bulks(&["b", "c"]));
    assert_eq!(c.cmd_str(&["ZREVRANGEBYLEX", "l", "+", "(b"]), bulks(&["d", "c"]));
    assert_eq!(c.cmd_str(&["ZRANGE", "l", "[c", "+", "BYLEX"]), bulks(&["c", "d"]));
    assert_eq!(c.cmd_str(&["ZRANGE", "l", "+", "[c", "BYLEX", "REV", "LIMIT", "0", "1"]), bulks(&["d"]));
    assert_eq!(c.cmd_str(&["ZLEXCOUNT", "l", "(a", "[c"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZLEXCOUNT", "l", "+", "-"]), ":0\r\n");
    // Errors.
    let float = err("min or max is not a float");
    let lex = err("min or max not valid string range item");
    assert_eq!(c.cmd_str(&["ZRANGEBYSCORE", "z", "x", "1"]), float);
    assert_eq!(c.cmd_str(&["ZCOUNT", "z", "1", "nan"]), float);
    assert_eq!(c.cmd_str(&["ZRANGEBYLEX", "l", "a", "+"]), lex);
    assert_eq!(c.cmd_str(&["ZLEXCOUNT", "l", "", "+"]), lex);
    assert_eq!(
        c.cmd_str(&["ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"]),
        err("syntax error, WITHSCORES not supported in combination with BYLEX")
    );
    assert_eq!(
        c.cmd_str(&["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"]),
        err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    );
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "0", "-1", "LIMIT", "0"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "0", "-1", "REV", "REV"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZRANGEBYSCORE", "z", "0", "1", "REV"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "0", "x"]), err("value is not an integer or out of range"));
    assert_eq!(c.cmd_str(&["ZRANGE", "z"]), err("wrong number of arguments for 'zrange' command"));
}

#[test]
fn range_store_and_removals() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(c.cmd_str(&["ZRANGESTORE", "dst", "z", "1", "2"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]), bulks(&["b", "2", "c", "3"]));
    assert_eq!(c.cmd_str(&["ZRANGESTORE", "dst", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "dst", "0", "-1"]), bulks(&["d"]));
    assert_eq!(c.cmd_str(&["ZRANGESTORE", "dst", "nokey", "0", "-1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "dst"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZREMRANGEBYRANK", "z", "0", "0"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZREMRANGEBYSCORE", "z", "(2", "3"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "0", "-1"]), bulks(&["b", "d"]));
    assert_eq!(c.cmd_str(&["ZREMRANGEBYRANK", "z", "x", "1"]), err("value is not an integer or out of range"));
    assert_eq!(c.cmd_str(&["ZREMRANGEBYSCORE", "z", "x", "1"]), err("min or max is not a float"));
    assert_eq!(c.cmd_str(&["ZREMRANGEBYRANK", "z", "0", "-1"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "z"]), ":0\r\n");
    c.cmd(&["ZADD", "l", "0", "a", "0", "b", "0", "c"]);
    assert_eq!(c.cmd_str(&["ZREMRANGEBYLEX", "l", "(a", "+"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZREMRANGEBYLEX", "l", "x", "+"]), err("min or max not valid string range item"));
    assert_eq!(c.cmd_str(&["ZREMRANGEBYLEX", "nokey", "-", "+"]), ":0\r\n");
}

#[test]
fn pops() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z"]), bulks(&["a", "1"]));
    assert_eq!(c.cmd_str(&["ZPOPMAX", "z", "2"]), bulks(&["d", "4", "c", "3"]));
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z", "0"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["ZPOPMIN", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z", "-1"]), err("value is out of range, must be positive"));
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z", "x"]), err("value is out of range, must be positive"));
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z", "1", "2"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z", "10"]), bulks(&["b", "2"]));
    assert_eq!(c.cmd_str(&["EXISTS", "z"]), ":0\r\n");
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        c.cmd_str(&["ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "2"]),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd_str(&["ZMPOP", "1", "nokey", "MIN"]), "*-1\r\n");
    assert_eq!(c.cmd_str(&["ZMPOP", "0", "z", "MIN"]), err("numkeys should be greater than 0"));
    assert_eq!(c.cmd_str(&["ZMPOP", "2", "z", "MIN"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZMPOP", "1", "z", "UP"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZMPOP", "1", "z", "MIN", "COUNT", "0"]), err("count should be greater than 0"));
    assert_eq!(c.cmd_str(&["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["BZPOPMIN", "nokey", "z", "0"]), bulks(&["z", "a", "1"]));
    assert_eq!(c.cmd_str(&["BZPOPMIN", "z", "x"]), err("timeout is not a float or out of range"));
    assert_eq!(c.cmd_str(&["BZPOPMIN", "z", "-1"]), err("timeout is negative"));
    assert_eq!(c.cmd_str(&["BZMPOP", "0", "0", "z", "MIN"]), err("numkeys should be greater than 0"));
    assert_eq!(c.cmd_str(&["BZPOPMAX", "nokey", "0.05"]), "*-1\r\n");
    assert_eq!(c.cmd_str(&["BZMPOP", "0.05", "1", "nokey", "MIN"]), "*-1\r\n");
    c.cmd(&["SET", "s", "x"]);
    assert_eq!(c.cmd_str(&["ZMPOP", "2", "s", "z", "MIN"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["BZPOPMIN", "s", "0"]), WRONGTYPE);
}

#[test]
fn set_operations() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    c.cmd(&["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    c.cmd(&["SADD", "set", "z", "v"]);
    assert_eq!(
        c.cmd_str(&["ZUNION", "2", "a", "b", "WITHSCORES"]),
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(
        c.cmd_str(&["ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX", "WITHSCORES"]),
        bulks(&["x", "2", "y", "5", "z", "10", "w", "15"])
    );
    assert_eq!(c.cmd_str(&["ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"]), bulks(&["y", "2", "z", "3"]));
    assert_eq!(c.cmd_str(&["ZINTER", "3", "a", "b", "set", "WITHSCORES"]), bulks(&["z", "24"]));
    assert_eq!(c.cmd_str(&["ZINTER", "2", "a", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["ZDIFF", "2", "a", "b", "WITHSCORES"]), bulks(&["x", "1"]));
    assert_eq!(c.cmd_str(&["ZDIFF", "2", "set", "a"]), bulks(&["v"]));
    assert_eq!(c.cmd_str(&["ZUNION", "1", "a", "WEIGHTS", "inf"]), bulks(&["x", "y", "z"]));
    assert_eq!(
        c.cmd_str(&["ZUNION", "2", "a", "a", "WEIGHTS", "inf", "-inf", "WITHSCORES"]),
        bulks(&["x", "0", "y", "0", "z", "0"])
    );
    assert_eq!(c.cmd_str(&["ZUNIONSTORE", "out", "2", "a", "b"]), ":4\r\n");
    assert_eq!(
        c.cmd_str(&["ZRANGE", "out", "0", "-1", "WITHSCORES"]),
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(c.cmd_str(&["ZINTERSTORE", "out", "2", "a", "b", "WEIGHTS", "1", "0"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZDIFFSTORE", "out", "2", "a", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "out"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["ZINTERCARD", "2", "a", "b"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZUNION", "0", "a"]), err("at least 1 input key is needed for 'zunion' command"));
    assert_eq!(
        c.cmd_str(&["ZINTERSTORE", "o", "0", "a"]),
        err("at least 1 input key is needed for 'zinterstore' command")
    );
    assert_eq!(c.cmd_str(&["ZUNION", "2", "a"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZUNION", "x", "a"]), err("value is not an integer or out of range"));
    assert_eq!(c.cmd_str(&["ZUNION", "1", "a", "WEIGHTS", "1", "2"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZUNION", "1", "a", "WEIGHTS", "x"]), err("weight value is not a float"));
    assert_eq!(c.cmd_str(&["ZUNION", "1", "a", "AGGREGATE", "avg"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZUNIONSTORE", "o", "1", "a", "WITHSCORES"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZDIFF", "1", "a", "WEIGHTS", "1"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZINTERCARD", "1", "a", "LIMIT", "-1"]), err("LIMIT can't be negative"));
    assert_eq!(c.cmd_str(&["ZINTERCARD", "1", "a", "WITHSCORES"]), err("syntax error"));
    c.cmd(&["SET", "str", "x"]);
    // The sources' types are checked before the options are read.
    assert_eq!(c.cmd_str(&["ZUNION", "2", "a", "str", "WEIGHTS", "x"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["ZUNIONSTORE", "str", "1", "a"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "str"]), "+zset\r\n");
}

#[test]
fn random_members_and_scan() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let one = c.cmd_str(&["ZRANDMEMBER", "z"]);
    assert!(["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()), "{one}");
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "nokey"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "z", "0"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "z", "5", "WITHSCORES"]), bulks(&["a", "1", "b", "2", "c", "3"]));
    assert!(c.cmd_str(&["ZRANDMEMBER", "z", "-5"]).starts_with("*5\r\n"));
    assert!(c.cmd_str(&["ZRANDMEMBER", "z", "2", "WITHSCORES"]).starts_with("*4\r\n"));
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "z", "1", "foo"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "z", "x"]), err("value is not an integer or out of range"));
    assert_eq!(
        c.cmd_str(&["ZRANDMEMBER", "z", "-9223372036854775808"]),
        err("value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"]), err("value is out of range"));
    assert_eq!(
        c.cmd_str(&["ZSCAN", "z", "0"]),
        "*2\r\n$1\r\n0\r\n".to_string() + &bulks(&["a", "1", "b", "2", "c", "3"])
    );
    assert_eq!(c.cmd_str(&["ZSCAN", "z", "0", "MATCH", "b*"]), "*2\r\n$1\r\n0\r\n".to_string() + &bulks(&["b", "2"]));
    assert_eq!(c.cmd_str(&["ZSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.cmd_str(&["ZSCAN", "z", "x"]), err("invalid cursor"));
    assert_eq!(c.cmd_str(&["ZSCAN", "z", "0", "COUNT", "0"]), err("syntax error"));
}

#[test]
fn resp3_shapes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"]);
    assert_eq!(c.cmd_str(&["ZSCORE", "z", "b"]), ",2.5\r\n");
    assert_eq!(c.cmd_str(&["ZSCORE", "z", "x"]), "_\r\n");
    assert_eq!(c.cmd_str(&["ZMSCORE", "z", "a", "x"]), "*2\r\n,1\r\n_\r\n");
    assert_eq!(c.cmd_str(&["ZINCRBY", "z", "0", "a"]), ",1\r\n");
    assert_eq!(c.cmd_str(&["ZRANK", "z", "x"]), "_\r\n");
    assert_eq!(
        c.cmd_str(&["ZRANGE", "z", "0", "1", "WITHSCORES"]),
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    assert_eq!(c.cmd_str(&["ZRANGE", "z", "0", "0"]), "*1\r\n$1\r\na\r\n");
    assert_eq!(c.cmd_str(&["ZUNION", "1", "z", "WITHSCORES"]).lines().next(), Some("*3"));
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "z", "1", "WITHSCORES"]).lines().take(2).collect::<Vec<_>>(), ["*1", "*2"]);
    // ZSCAN sends scores as bulk strings even in RESP3.
    assert_eq!(c.cmd_str(&["ZSCAN", "z", "0", "MATCH", "b"]), "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$3\r\n2.5\r\n");
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z"]), "*2\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(c.cmd_str(&["ZPOPMIN", "z", "1"]), "*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
    assert_eq!(c.cmd_str(&["ZMPOP", "1", "z", "MAX"]), "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    assert_eq!(c.cmd_str(&["ZMPOP", "1", "z", "MAX"]), "_\r\n");
    assert_eq!(c.cmd_str(&["ZADD", "z", "XX", "INCR", "1", "a"]), "_\r\n");
    c.cmd(&["ZADD", "z", "7", "q"]);
    assert_eq!(c.cmd_str(&["BZPOPMAX", "z", "0"]), "*3\r\n$1\r\nz\r\n$1\r\nq\r\n,7\r\n");
    assert_eq!(c.cmd_str(&["ZRANDMEMBER", "z"]), "_\r\n");
}

#[test]
fn encodings_follow_the_thresholds() {
    let s = TestServer::start(&["--zset-max-listpack-entries", "3", "--zset-max-listpack-value", "5"]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "z"]), "$8\r\nlistpack\r\n");
    c.cmd(&["ZADD", "z", "4", "d"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "z"]), "$8\r\nskiplist\r\n");
    c.cmd(&["ZREM", "z", "d", "c"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "z"]), "$8\r\nskiplist\r\n");
    c.cmd(&["ZADD", "w", "1", "abcdef"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "w"]), "$8\r\nskiplist\r\n");
    // Stored results take the form that fits them.
    c.cmd(&["ZUNIONSTORE", "u", "1", "z"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "u"]), "$8\r\nlistpack\r\n");
    c.cmd(&["ZRANGESTORE", "r", "w", "0", "-1"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "r"]), "$8\r\nskiplist\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "zset-max-ziplist-entries", "0"]), "+OK\r\n");
    c.cmd(&["ZADD", "zero", "1", "a"]);
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "zero"]), "$8\r\nskiplist\r\n");
    // Skiplist ranges work like listpack ones.
    for i in 0..200 {
        c.cmd(&["ZADD", "big", &(i % 50).to_string(), &format!("m{i:03}")]);
    }
    assert_eq!(c.cmd_str(&["ZCARD", "big"]), ":200\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "big", "0", "3"]), bulks(&["m000", "m050", "m100", "m150"]));
    assert_eq!(c.cmd_str(&["ZRANK", "big", "m199"]), ":199\r\n");
    assert_eq!(c.cmd_str(&["ZCOUNT", "big", "(10", "20"]), ":40\r\n");
    assert_eq!(c.cmd_str(&["ZREMRANGEBYSCORE", "big", "0", "(49"]), ":196\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "big", "0", "-1"]), bulks(&["m049", "m099", "m149", "m199"]));
}

#[test]
fn blocking_pop_is_woken_by_zadd_and_times_out() {
    let s = TestServer::start(&[]);
    let mut waiter = s.raw();
    let mut writer = s.raw();
    waiter.send(&encode(&[b"BZPOPMIN", b"nokey", b"z", b"0"]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked_clients(&mut writer) != 1 {
        assert!(Instant::now() < deadline, "the client never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(writer.cmd_str(&["ZADD", "z", "2", "b", "1", "a"]), ":2\r\n");
    assert_eq!(String::from_utf8_lossy(&waiter.read_reply()), bulks(&["z", "a", "1"]));
    assert_eq!(writer.cmd_str(&["ZRANGE", "z", "0", "-1"]), bulks(&["b"]));
    // BZMPOP is served the same way.
    waiter.send(&encode(&[b"BZMPOP", b"0", b"1", b"q", b"MAX", b"COUNT", b"5"]));
    while blocked_clients(&mut writer) != 1 {
        std::thread::sleep(Duration::from_millis(5));
    }
    writer.cmd(&["ZADD", "q", "1", "x", "2", "y"]);
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        "*2\r\n$1\r\nq\r\n*2\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n"
    );
    let start = Instant::now();
    assert_eq!(waiter.cmd_str(&["BZPOPMAX", "nokey", "0.1"]), "*-1\r\n");
    assert!(start.elapsed() >= Duration::from_millis(100));
}

/// Lex ranges over members that are not in lex order (mixed scores): Redis's answer depends on
/// its walk, and a small set gives the same one here.
#[test]
fn lex_ranges_over_mixed_scores_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let queries: &[&[&str]] = &[
        &["ZRANGEBYLEX", "z", "[b", "[c"],
        &["ZLEXCOUNT", "z", "[b", "[c"],
        &["ZRANGEBYLEX", "z", "(a", "+"],
        &["ZREVRANGEBYLEX", "z", "[c", "[b"],
        &["ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "1", "2"],
        &["ZRANGE", "z", "[c", "[a", "BYLEX", "REV"],
        &["ZRANGEBYLEX", "z", "[b", "(b"],
        &["ZRANGEBYLEX", "z", "-", "+"],
        &["ZREMRANGEBYLEX", "z", "[a", "[m"],
    ];
    for setup in [
        &["1", "a", "2", "b", "3", "c", "1", "d", "0", "x", "5", "b2"][..],
        &["1", "a", "2", "b", "3", "c", "1", "d"],
        &["3", "zz", "1", "a", "2", "m"],
    ] {
        for q in queries {
            let mut answers = Vec::new();
            for port in [roost.port, redis.port] {
                let mut c = RawClient::connect(port);
                c.cmd(&["DEL", "z"]);
                let mut zadd = vec!["ZADD", "z"];
                zadd.extend_from_slice(setup);
                c.cmd(&zadd);
                answers.push(c.cmd_str(q));
            }
            assert_eq!(answers[0], answers[1], "{setup:?} {q:?}");
        }
    }
}

//! String commands, exact replies.

mod common;
use common::*;

use std::time::Duration;

#[test]
fn set_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SET", "k", "v", "NX"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "w", "NX"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "w", "XX", "GET"]), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str(&["SET", "nokey", "w", "XX"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "x", "NX", "GET"]), "$1\r\nw\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "v", "NX", "XX"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "v", "EX", "10", "PX", "100"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "v", "EX", "0"]), "-ERR invalid expire time in 'set' command\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "v", "EX", "ten"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "v", "EX", "100"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "w", "KEEPTTL"]), "+OK\r\n");
    assert!(c.int(&["TTL", "k"]) > 0);
    assert_eq!(c.cmd_str(&["SET", "k", "x"]), "+OK\r\n");
    assert_eq!(c.int(&["TTL", "k"]), -1);
    assert_eq!(c.cmd_str(&["SET", "k", "v", "PXAT", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn set_px_expires() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SET", "k", "v", "PX", "50"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.cmd_str(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn set_over_a_key_whose_time_is_up_expires_it_first() {
    let s = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "old", "PX", "20"]), "+OK\r\n");
    let mut sub = s.raw();
    sub.cmd(&["SUBSCRIBE", "__keyspace@0__:k"]);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(c.cmd_str(&["SET", "k", "new"]), "+OK\r\n");
    // As in Redis: the old key expires (event and count), then the new one is set, without a TTL.
    assert_eq!(sub.read_reply(), b"*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$7\r\nexpired\r\n");
    assert_eq!(sub.read_reply(), b"*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n");
    assert!(c.cmd_str(&["INFO", "stats"]).contains("expired_keys:1\r\n"));
    assert_eq!(c.int(&["TTL", "k"]), -1);
    assert_eq!(c.cmd_str(&["GET", "k"]), "$3\r\nnew\r\n");
}

#[test]
fn active_expiry_removes_keys_nobody_touches() {
    let s = TestServer::start(&["--hz", "100"]);
    let mut c = s.raw();
    for i in 0..200 {
        assert_eq!(c.cmd_str(&["SET", &format!("k{i}"), "v", "PX", "30"]), "+OK\r\n");
    }
    assert_eq!(c.int(&["DBSIZE"]), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while c.int(&["DBSIZE"]) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.int(&["DBSIZE"]), 0);
    assert!(c.cmd_str(&["INFO", "stats"]).contains("expired_keys:200\r\n"));
}

#[test]
fn setnx_setex_psetex_getset_getdel() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.int(&["SETNX", "k", "1"]), 1);
    assert_eq!(c.int(&["SETNX", "k", "2"]), 0);
    assert_eq!(c.cmd_str(&["SETEX", "k", "100", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SETEX", "k", "-1", "v"]), "-ERR invalid expire time in 'setex' command\r\n");
    assert_eq!(c.cmd_str(&["PSETEX", "k", "0", "v"]), "-ERR invalid expire time in 'psetex' command\r\n");
    assert_eq!(c.cmd_str(&["PSETEX", "k", "100000", "p"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GETSET", "k", "n"]), "$1\r\np\r\n");
    assert_eq!(c.int(&["TTL", "k"]), -1);
    assert_eq!(c.cmd_str(&["GETSET", "new", "n"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["GETDEL", "k"]), "$1\r\nn\r\n");
    assert_eq!(c.cmd_str(&["GETDEL", "k"]), "$-1\r\n");
}

#[test]
fn getex_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd_str(&["GETEX", "k", "EX", "100"]), "$1\r\nv\r\n");
    assert!(c.int(&["TTL", "k"]) > 90);
    assert_eq!(c.cmd_str(&["GETEX", "k", "PERSIST"]), "$1\r\nv\r\n");
    assert_eq!(c.int(&["TTL", "k"]), -1);
    assert_eq!(c.cmd_str(&["GETEX", "k", "PERSIST", "EX", "1"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["GETEX", "k", "EX", "0"]), "-ERR invalid expire time in 'getex' command\r\n");
    assert_eq!(c.cmd_str(&["GETEX", "missing", "EX", "0"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["GETEX", "k", "PXAT", "1"]), "$1\r\nv\r\n");
    assert_eq!(c.int(&["EXISTS", "k"]), 0);
}

#[test]
fn mget_mset_msetnx() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["MSET", "a", "1", "b", "2"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["MSET", "a", "1", "b"]), "-ERR wrong number of arguments for 'mset' command\r\n");
    assert_eq!(c.cmd_str(&["MGET", "a", "nope", "b"]), "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
    assert_eq!(c.int(&["MSETNX", "c", "3", "a", "9"]), 0);
    assert_eq!(c.cmd_str(&["GET", "c"]), "$-1\r\n");
    assert_eq!(c.int(&["MSETNX", "c", "3", "d", "4"]), 1);
    assert_eq!(c.cmd_str(&["MGET", "c", "d"]), "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
}

#[test]
fn append_strlen_ranges() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.int(&["APPEND", "k", "Hello"]), 5);
    assert_eq!(c.int(&["APPEND", "k", " World"]), 11);
    assert_eq!(c.int(&["STRLEN", "k"]), 11);
    assert_eq!(c.int(&["STRLEN", "nokey"]), 0);
    assert_eq!(c.cmd_str(&["GETRANGE", "k", "0", "4"]), "$5\r\nHello\r\n");
    assert_eq!(c.cmd_str(&["GETRANGE", "k", "-5", "-1"]), "$5\r\nWorld\r\n");
    assert_eq!(c.cmd_str(&["GETRANGE", "k", "-1", "-5"]), "$0\r\n\r\n");
    assert_eq!(c.cmd_str(&["GETRANGE", "k", "5", "1000"]), "$6\r\n World\r\n");
    assert_eq!(c.cmd_str(&["SUBSTR", "k", "0", "0"]), "$1\r\nH\r\n");
    assert_eq!(c.cmd_str(&["GETRANGE", "nokey", "0", "-1"]), "$0\r\n\r\n");
    assert_eq!(c.int(&["SETRANGE", "k", "6", "Redis"]), 11);
    assert_eq!(c.cmd_str(&["GET", "k"]), "$11\r\nHello Redis\r\n");
    assert_eq!(c.int(&["SETRANGE", "pad", "3", "x"]), 4);
    assert_eq!(c.cmd_str(&["GET", "pad"]), "$4\r\n\0\0\0x\r\n");
    assert_eq!(c.int(&["SETRANGE", "empty", "10", ""]), 0);
    assert_eq!(c.int(&["EXISTS", "empty"]), 0);
    assert_eq!(c.cmd_str(&["SETRANGE", "k", "-1", "x"]), "-ERR offset is out of range\r\n");
    assert_eq!(
        c.cmd_str(&["SETRANGE", "k", "536870911", "xx"]),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
}

#[test]
fn counters() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.int(&["INCR", "n"]), 1);
    assert_eq!(c.int(&["INCRBY", "n", "10"]), 11);
    assert_eq!(c.int(&["DECR", "n"]), 10);
    assert_eq!(c.int(&["DECRBY", "n", "20"]), -10);
    c.cmd(&["SET", "s", "abc"]);
    assert_eq!(c.cmd_str(&["INCR", "s"]), "-ERR value is not an integer or out of range\r\n");
    c.cmd(&["SET", "max", "9223372036854775807"]);
    assert_eq!(c.cmd_str(&["INCR", "max"]), "-ERR increment or decrement would overflow\r\n");
    assert_eq!(c.cmd_str(&["DECRBY", "n", "-9223372036854775808"]), "-ERR decrement would overflow\r\n");
    c.cmd(&["SET", "sp", " 1"]);
    assert_eq!(c.cmd_str(&["INCR", "sp"]), "-ERR value is not an integer or out of range\r\n");
    c.cmd(&["SET", "t", "5", "EX", "100"]);
    assert_eq!(c.int(&["INCR", "t"]), 6);
    assert!(c.int(&["TTL", "t"]) > 0);
}

#[test]
fn incrbyfloat_formats_like_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SET", "f", "10.50"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["INCRBYFLOAT", "f", "0.1"]), "$4\r\n10.6\r\n");
    assert_eq!(c.cmd_str(&["INCRBYFLOAT", "f", "-5"]), "$3\r\n5.6\r\n");
    assert_eq!(c.cmd_str(&["SET", "e", "5.0e3"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["INCRBYFLOAT", "e", "2.0e2"]), "$4\r\n5200\r\n");
    assert_eq!(c.cmd_str(&["INCRBYFLOAT", "e", "abc"]), "-ERR value is not a valid float\r\n");
    assert_eq!(c.cmd_str(&["INCRBYFLOAT", "e", "inf"]), "-ERR increment would produce NaN or Infinity\r\n");
    c.cmd(&["SET", "s", "x"]);
    assert_eq!(c.cmd_str(&["INCRBYFLOAT", "s", "1"]), "-ERR value is not a valid float\r\n");
}

#[test]
fn lcs_forms() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
    assert_eq!(c.cmd_str(&["LCS", "key1", "key2"]), "$6\r\nmytext\r\n");
    assert_eq!(c.int(&["LCS", "key1", "key2", "LEN"]), 6);
    assert_eq!(
        c.cmd_str(&["LCS", "key1", "key2", "IDX"]),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        c.cmd_str(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        c.cmd_str(&["LCS", "key1", "key2", "LEN", "IDX"]),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(c.cmd_str(&["LCS", "nokey1", "nokey2"]), "$0\r\n\r\n");
}

#[test]
fn binary_safe_keys_and_values() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let key: &[u8] = b"k\x00\r\n\xff";
    let val: &[u8] = b"\x00\x01\r\n\xfe";
    assert_eq!(c.cmd_bytes(&[b"SET", key, val]), b"+OK\r\n");
    assert_eq!(c.cmd_bytes(&[b"GET", key]), b"$5\r\n\x00\x01\r\n\xfe\r\n");
    let big = vec![b'x'; 1_000_000];
    assert_eq!(c.cmd_bytes(&[b"SET", b"big", &big]), b"+OK\r\n");
    assert_eq!(c.int(&["STRLEN", "big"]), 1_000_000);
}

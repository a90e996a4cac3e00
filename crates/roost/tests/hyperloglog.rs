//! HyperLogLog commands: exact replies, errors, and the bytes GET shows (Redis's own layout).

mod common;
use common::*;

const NOT_HLL: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const CORRUPT: &str = "-INVALIDOBJ Corrupted HLL object detected\r\n";

/// An empty sparse HLL whose cached count is marked stale (what PFADD of a new key leaves).
const EMPTY_STALE: &[u8] = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff";

fn bulk(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

#[test]
fn add_and_count() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // Creating the key is a change even without elements.
    assert_eq!(c.cmd_str(&["PFADD", "h"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PFADD", "h"]), ":0\r\n");
    assert_eq!(c.cmd(&["GET", "h"]), bulk(EMPTY_STALE));
    assert_eq!(c.cmd_str(&["PFCOUNT", "h"]), ":0\r\n");
    // The count is cached in the header, valid again.
    assert_eq!(c.cmd(&["GET", "h"]), bulk(b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"));
    assert_eq!(c.cmd_str(&["PFADD", "h", "a", "b", "c"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PFADD", "h", "a", "b"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["PFCOUNT", "h"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["PFCOUNT", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "h"]), "+string\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "h"]), "$3\r\nraw\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "nokey"]), ":0\r\n");
}

#[test]
fn bytes_match_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let elements: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
    let mut args = vec!["PFADD", "h"];
    args.extend(elements.iter().map(String::as_str));
    assert_eq!(c.cmd_str(&args), ":1\r\n");
    // Recorded from redis-server 7.0.15 after the same PFADD, then after PFCOUNT.
    let hex = |h: &str| -> Vec<u8> {
        (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
    };
    let before =
        hex("48594c4c010000000000000000000080452580472e844fc9804412844a5184430d844103844eb984408880406a8441b1");
    let after = hex("48594c4c010000000a00000000000000452580472e844fc9804412844a5184430d844103844eb984408880406a8441b1");
    assert_eq!(c.cmd(&["GET", "h"]), bulk(&before));
    assert_eq!(c.cmd_str(&["PFCOUNT", "h"]), ":10\r\n");
    assert_eq!(c.cmd(&["GET", "h"]), bulk(&after));
}

#[test]
fn large_sets_go_dense_and_count_like_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let elements: Vec<String> = (0..100_000).map(|i| format!("e{i}")).collect();
    for chunk in elements.chunks(5000) {
        let mut args = vec!["PFADD", "h"];
        args.extend(chunk.iter().map(String::as_str));
        c.cmd(&args);
    }
    // redis-server 7.0.15 answers 100853 for the same elements.
    assert_eq!(c.cmd_str(&["PFCOUNT", "h"]), ":100853\r\n");
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", "h"]), "+dense\r\n");
    assert_eq!(c.cmd_str(&["STRLEN", "h"]), ":12304\r\n");
}

#[test]
fn union_count_and_merge() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["PFADD", "{t}a", "1", "2", "3"]);
    c.cmd(&["PFADD", "{t}b", "3", "4"]);
    c.cmd(&["PFADD", "other", "5"]);
    let a_before = c.cmd(&["GET", "{t}a"]);
    assert_eq!(c.cmd_str(&["PFCOUNT", "{t}a", "{t}b", "other", "nokey"]), ":5\r\n");
    // The union leaves its inputs (and their stale caches) alone.
    assert_eq!(c.cmd(&["GET", "{t}a"]), a_before);
    assert_eq!(c.cmd_str(&["PFMERGE", "dst", "{t}a", "{t}b", "other", "nokey"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["PFCOUNT", "dst"]), ":5\r\n");
    // The destination is an input too.
    assert_eq!(c.cmd_str(&["PFMERGE", "other", "{t}b"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["PFCOUNT", "other"]), ":3\r\n");
    // A merge of nothing creates an empty HLL.
    assert_eq!(c.cmd_str(&["PFMERGE", "empty"]), "+OK\r\n");
    assert_eq!(c.cmd(&["GET", "empty"]), bulk(EMPTY_STALE));
    // An existing destination keeps its TTL.
    c.cmd(&["EXPIRE", "dst", "100"]);
    assert_eq!(c.cmd_str(&["PFMERGE", "dst", "{t}a"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["PFADD", "dst", "zzz"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PFCOUNT", "dst"]), ":6\r\n");
    assert!(c.int(&["TTL", "dst"]) > 0);
}

#[test]
fn type_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "str", "hello"]);
    c.cmd(&["SET", "num", "12345"]);
    c.cmd(&["LPUSH", "list", "a"]);
    c.cmd(&["PFADD", "h", "a"]);
    for key in ["str", "num"] {
        assert_eq!(c.cmd_str(&["PFADD", key, "a"]), NOT_HLL);
        assert_eq!(c.cmd_str(&["PFCOUNT", key]), NOT_HLL);
        assert_eq!(c.cmd_str(&["PFCOUNT", "h", key]), NOT_HLL);
        assert_eq!(c.cmd_str(&["PFMERGE", "h", key]), NOT_HLL);
        assert_eq!(c.cmd_str(&["PFMERGE", key, "h"]), NOT_HLL);
        assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", key]), NOT_HLL);
    }
    assert_eq!(c.cmd_str(&["PFADD", "list", "a"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["PFCOUNT", "list"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["PFCOUNT", "h", "list"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["PFMERGE", "dst", "h", "list"]), WRONGTYPE);
    // A failed merge creates nothing.
    assert_eq!(c.cmd_str(&["EXISTS", "dst"]), ":0\r\n");
    // A dense header with the wrong length is not an HLL.
    let mut bad = b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
    bad.extend_from_slice(&[0; 100]);
    c.cmd_bytes(&[b"SET", b"bad", &bad]);
    assert_eq!(c.cmd_str(&["PFCOUNT", "bad"]), NOT_HLL);
}

#[test]
fn corrupt_values() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // A sparse code covering 64 registers instead of 16384.
    c.cmd_bytes(&[b"SET", b"c", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x3f"]);
    c.cmd(&["PFADD", "h", "a"]);
    assert_eq!(c.cmd_str(&["PFCOUNT", "c"]), CORRUPT);
    assert_eq!(c.cmd_str(&["PFCOUNT", "c", "h"]), CORRUPT);
    assert_eq!(c.cmd_str(&["PFMERGE", "h", "c"]), CORRUPT);
    assert_eq!(c.cmd_str(&["PFDEBUG", "GETREG", "c"]), CORRUPT);
    assert_eq!(c.cmd_str(&["PFDEBUG", "TODENSE", "c"]), CORRUPT);
    assert_eq!(c.cmd_str(&["PFDEBUG", "DECODE", "c"]), "$4\r\nz:64\r\n");
}

#[test]
fn debug_subcommands() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["PFADD", "h", "a", "b"]);
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", "h"]), "+sparse\r\n");
    // "a" lands in register 12711 with value 2 (as redis-server 7.0.15 says).
    let decoded = c.cmd_str(&["PFDEBUG", "DECODE", "h"]);
    assert!(decoded.contains("Z:12711 v:2,1"), "{decoded}");
    let regs = c.cmd_str(&["PFDEBUG", "GETREG", "h"]);
    assert!(regs.starts_with("*16384\r\n"));
    assert_eq!(regs.matches(":0\r\n").count(), 16382);
    // GETREG converted it.
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", "h"]), "+dense\r\n");
    assert_eq!(c.cmd_str(&["PFDEBUG", "TODENSE", "h"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["PFDEBUG", "DECODE", "h"]), "-ERR HLL encoding is not sparse\r\n");
    assert_eq!(c.cmd_str(&["PFCOUNT", "h"]), ":2\r\n");
    c.cmd(&["PFADD", "s", "x"]);
    assert_eq!(c.cmd_str(&["PFDEBUG", "todense", "s"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["PFDEBUG", "NOPE", "h"]), "-ERR Unknown PFDEBUG subcommand 'NOPE'\r\n");
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", "nokey"]), "-ERR The specified key does not exist\r\n");
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING"]), "-ERR wrong number of arguments for 'pfdebug' command\r\n");
    assert_eq!(c.cmd_str(&["PFSELFTEST"]), "+OK\r\n");
}

#[test]
fn arity_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for cmd in ["pfadd", "pfcount", "pfmerge"] {
        assert_eq!(
            c.cmd_str(&[&cmd.to_uppercase()]),
            format!("-ERR wrong number of arguments for '{cmd}' command\r\n")
        );
    }
    assert_eq!(c.cmd_str(&["PFSELFTEST", "x"]), "-ERR wrong number of arguments for 'pfselftest' command\r\n");
}

#[test]
fn sparse_limit_follows_config() {
    let s = TestServer::start(&["--hll-sparse-max-bytes", "40"]);
    let mut c = s.raw();
    c.cmd(&["PFADD", "h", "a", "b", "c"]);
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", "h"]), "+sparse\r\n");
    c.cmd(&["PFADD", "h", "d", "e", "f", "g", "h", "i", "j", "k", "l"]);
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", "h"]), "+dense\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]), "+OK\r\n");
    c.cmd(&["PFADD", "g", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]);
    assert_eq!(c.cmd_str(&["PFDEBUG", "ENCODING", "g"]), "+sparse\r\n");
}

//! Bitmap commands, exact replies. Each check runs against Roost and, as a guard on the
//! expectations themselves, against the real redis-server too.

mod common;
use common::*;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const BAD_OFFSET: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BAD_TYPE: &str =
    "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";

/// Runs `check` on a fresh Roost and a fresh redis-server.
fn on_both(check: fn(&mut RawClient)) {
    let roost = TestServer::start(&[]);
    check(&mut roost.raw());
    let redis = TestServer::start_redis();
    check(&mut redis.raw());
}

fn setbit_getbit(c: &mut RawClient) {
    assert_eq!(c.cmd_str(&["SETBIT", "k", "7", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "k", "7", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\n\x01\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "k", "1", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "k", "7", "0"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\n@\r\n");
    // Writing past the end grows the string with zero bytes, even when clearing a bit.
    assert_eq!(c.cmd_str(&["SETBIT", "k", "23", "0"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$3\r\n@\0\0\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "k"]), "$3\r\nraw\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "k", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "k", "0"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "k", "1000"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "nokey", "0"]), ":0\r\n");
    // An integer-encoded string is read through its digits: "1" is 0x31.
    assert_eq!(c.cmd_str(&["SET", "n", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "n", "2"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "n", "7"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "n", "6", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GET", "n"]), "$1\r\n3\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "n"]), "$3\r\nraw\r\n");
    // Errors: the offset is checked first, then the bit, then the key's type.
    assert_eq!(c.cmd_str(&["SETBIT", "k", "-1", "1"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["SETBIT", "k", "x", "2"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["SETBIT", "k", "4294967296", "1"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["SETBIT", "k", "#1", "1"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["SETBIT", "k", "0", "2"]), "-ERR bit is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "k", "0", "-1"]), "-ERR bit is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "k", "0", "x"]), "-ERR bit is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "k", "4294967296"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["GETBIT", "nokey", "x"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["LPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "l", "0", "1"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["SETBIT", "l", "0", "2"]), "-ERR bit is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "l", "0"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["SETBIT", "k", "0"]), "-ERR wrong number of arguments for 'setbit' command\r\n");
    assert_eq!(c.cmd_str(&["GETBIT", "k"]), "-ERR wrong number of arguments for 'getbit' command\r\n");
}

#[test]
fn setbit_and_getbit() {
    on_both(setbit_getbit);
}

#[test]
fn setbit_reaches_the_last_offset() {
    // 2^32-1 is the last bit of a 512 MB string, the default proto-max-bulk-len.
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SETBIT", "big", "4294967295", "1"]), ":0\r\n");
    assert_eq!(c.int(&["STRLEN", "big"]), 1 << 29);
    assert_eq!(c.cmd_str(&["GETBIT", "big", "4294967295"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "big", "1"]), ":4294967295\r\n");
    assert_eq!(c.cmd_str(&["DEL", "big"]), ":1\r\n");
}

fn bitcount_checks(c: &mut RawClient) {
    assert_eq!(c.cmd_str(&["SET", "s", "foobar"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s"]), ":26\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "0", "0"]), ":4\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "1", "1"]), ":6\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "1", "1", "BYTE"]), ":6\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "5", "30", "BIT"]), ":17\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "-2", "-1"]), ":7\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "-5", "-1", "bit"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "0", "1000"]), ":26\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "3", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "-1", "-2"]), ":0\r\n");
    // Both ends before the start in the wrong order is empty; in order, they clamp to byte 0.
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "-100", "-200"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "-200", "-100"]), ":4\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "-9223372036854775808", "9223372036854775807", "BIT"]), ":26\r\n");
    assert_eq!(c.cmd_str(&["SET", "n", "12"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "n"]), ":6\r\n");
    assert_eq!(c.cmd_str(&["SET", "e", ""]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "e"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "e", "0", "-1", "BIT"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "nokey"]), ":0\r\n");
    // Errors.
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "0"]), SYNTAX);
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "0", "1", "bits"]), SYNTAX);
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "0", "1", "BIT", "x"]), SYNTAX);
    // The wrong-order negative pair is answered before the unit is read.
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "-1", "-2", "bits"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "a", "1"]), NOT_INT);
    assert_eq!(c.cmd_str(&["BITCOUNT", "s", "0", "1.5"]), NOT_INT);
    // Redis 7.0 looks the key up before the range: a missing key is 0 whatever follows.
    assert_eq!(c.cmd_str(&["BITCOUNT", "nokey", "0"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "nokey", "a", "b", "c"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["LPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITCOUNT", "l", "a"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["BITCOUNT"]), "-ERR wrong number of arguments for 'bitcount' command\r\n");
}

#[test]
fn bitcount() {
    on_both(bitcount_checks);
}

fn bitpos_checks(c: &mut RawClient) {
    assert_eq!(c.cmd_str(&["SET", "k", "\u{7f}"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SETBIT", "k", "12", "1"]), ":0\r\n");
    // k = 0x7f 0x08
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "0"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "1"]), ":12\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "-1"]), ":12\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "0", "1", "1"]), ":8\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "2", "7", "BIT"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "8", "11", "bit"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "8", "-1", "BIT"]), ":12\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "0", "1", "7", "BIT"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "0", "0", "BYTE"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "5"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "1", "0"]), ":-1\r\n");
    // Only ones: with no end the string reads as followed by zeros, so the first clear bit is
    // the one just past it; an explicit end rules that out.
    assert_eq!(c.cmd_str(&["SET", "z", "\0\0\0"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "NOT", "f", "z"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "f", "0"]), ":24\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "f", "0", "1"]), ":24\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "f", "0", "1", "-1"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "f", "0", "0", "23", "BIT"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "f", "1"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "z", "1"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "z", "0", "-1"]), ":16\r\n");
    // A missing key is an endless run of zeros; an empty string has no bit at all.
    assert_eq!(c.cmd_str(&["BITPOS", "nokey", "0"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "nokey", "1"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "nokey", "1", "x", "y", "z"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["SET", "e", ""]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "e", "0"]), ":-1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "e", "1"]), ":-1\r\n");
    // Errors: the bit first, then the key, then start, unit and end in that order.
    assert_eq!(c.cmd_str(&["BITPOS", "k", "2"]), "-ERR The bit argument must be 1 or 0.\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "nokey", "-1"]), "-ERR The bit argument must be 1 or 0.\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k", "x"]), NOT_INT);
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "x"]), NOT_INT);
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "0", "x", "bad"]), SYNTAX);
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "0", "x", "bit"]), NOT_INT);
    assert_eq!(c.cmd_str(&["BITPOS", "k", "1", "0", "1", "bit", "x"]), SYNTAX);
    assert_eq!(c.cmd_str(&["LPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "l", "1"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["BITPOS", "l", "3"]), "-ERR The bit argument must be 1 or 0.\r\n");
    assert_eq!(c.cmd_str(&["BITPOS", "k"]), "-ERR wrong number of arguments for 'bitpos' command\r\n");
}

#[test]
fn bitpos() {
    on_both(bitpos_checks);
}

fn bitop_checks(c: &mut RawClient) {
    assert_eq!(c.cmd_str(&["SET", "a", "abc"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "b", "\u{1}\u{2}"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "AND", "d", "a", "b"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$3\r\n\x01\x02\0\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "or", "d", "a", "b"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$3\r\nabc\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "XOR", "d", "a", "b", "nokey"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$3\r\n``c\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "AND", "d", "a", "nokey"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$3\r\n\0\0\0\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "NOT", "d", "a"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "NOT", "d", "d"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$3\r\nabc\r\n");
    // The result is always a raw string, and replaces the destination with its TTL.
    assert_eq!(c.cmd_str(&["SET", "one", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["EXPIRE", "d", "100"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "OR", "d", "one"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GET", "d"]), "$1\r\n1\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "d"]), "$3\r\nraw\r\n");
    assert_eq!(c.cmd_str(&["TTL", "d"]), ":-1\r\n");
    // An empty result deletes the destination.
    assert_eq!(c.cmd_str(&["SET", "e", ""]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "OR", "d", "e", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "d"]), ":0\r\n");
    // Errors.
    assert_eq!(
        c.cmd_str(&["BITOP", "NOT", "d", "a", "b"]),
        "-ERR BITOP NOT must be called with a single source key.\r\n"
    );
    assert_eq!(c.cmd_str(&["BITOP", "NAND", "d", "a"]), SYNTAX);
    assert_eq!(c.cmd_str(&["LPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "AND", "d", "a", "l"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["BITOP", "AND", "l", "a"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "l"]), "+string\r\n");
    assert_eq!(c.cmd_str(&["BITOP", "AND", "d"]), "-ERR wrong number of arguments for 'bitop' command\r\n");
}

#[test]
fn bitop() {
    on_both(bitop_checks);
}

fn bitfield_checks(c: &mut RawClient) {
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "SET", "i8", "0", "100", "GET", "i8", "0"]), "*2\r\n:0\r\n:100\r\n");
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "INCRBY", "i8", "0", "100"]), "*1\r\n:-56\r\n");
    assert_eq!(
        c.cmd_str(&["BITFIELD", "k", "GET", "u8", "0", "GET", "u4", "0", "GET", "i4", "4"]),
        "*3\r\n:200\r\n:12\r\n:-8\r\n"
    );
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "k"]), "$3\r\nraw\r\n");
    // `#n` is the n-th field of the type's width.
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "SET", "u8", "#2", "65", "GET", "u8", "16"]), "*2\r\n:0\r\n:65\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$3\r\n\u{fffd}\0A\r\n");
    // Overflow modes.
    assert_eq!(
        c.cmd_str(&["BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "u2", "0", "5", "INCRBY", "i4", "2", "-100"]),
        "*2\r\n:3\r\n:-8\r\n"
    );
    assert_eq!(
        c.cmd_str(&["BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "1", "INCRBY", "u2", "0", "-1"]),
        "*2\r\n$-1\r\n:2\r\n"
    );
    assert_eq!(c.cmd_str(&["BITFIELD", "o", "OVERFLOW", "WRAP", "INCRBY", "u2", "0", "3"]), "*1\r\n:1\r\n");
    // An unsigned field takes a negative SET value as a huge one: SAT gives the maximum.
    assert_eq!(
        c.cmd_str(&["BITFIELD", "o", "OVERFLOW", "SAT", "SET", "u8", "8", "-1", "GET", "u8", "8"]),
        "*2\r\n:0\r\n:255\r\n"
    );
    assert_eq!(
        c.cmd_str(&["BITFIELD", "o", "SET", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1"])
            .lines()
            .nth(2),
        Some(":-9223372036854775808")
    );
    assert_eq!(
        c.cmd_str(&["BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1"]),
        "*1\r\n:-9223372036854775808\r\n"
    );
    assert_eq!(
        c.cmd_str(&["BITFIELD", "o", "SET", "u63", "1", "-1", "GET", "u63", "1"]),
        "*2\r\n:0\r\n:9223372036854775807\r\n"
    );
    // Redis's overflow check finds a SET of a value near i64::MIN too large, not too small.
    assert_eq!(
        c.cmd_str(&["BITFIELD", "m", "OVERFLOW", "SAT", "SET", "i4", "0", "-9223372036854775808", "GET", "i4", "0"]),
        "*2\r\n:0\r\n:7\r\n"
    );
    assert_eq!(
        c.cmd_str(&["BITFIELD", "m", "OVERFLOW", "SAT", "SET", "i4", "0", "-9223372036854775801"]),
        "*1\r\n:7\r\n"
    );
    assert_eq!(
        c.cmd_str(&["BITFIELD", "m", "OVERFLOW", "SAT", "SET", "i4", "0", "-9223372036854775800"]),
        "*1\r\n:7\r\n"
    );
    assert_eq!(c.cmd_str(&["BITFIELD", "m", "GET", "i4", "0"]), "*1\r\n:-8\r\n");
    // FAIL writes nothing but the key is still created, long enough for the field.
    assert_eq!(c.cmd_str(&["BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u2", "20", "8"]), "*1\r\n$-1\r\n");
    assert_eq!(c.cmd_str(&["GET", "f"]), "$3\r\n\0\0\0\r\n");
    // Reading past the end, or a missing key, gives zeros; an integer string reads its digits.
    assert_eq!(c.cmd_str(&["BITFIELD", "nokey", "GET", "i64", "1000"]), "*1\r\n:0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "nokey"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SET", "n", "7"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["BITFIELD", "n", "GET", "u16", "0"]), "*1\r\n:14080\r\n");
    assert_eq!(c.cmd_str(&["BITFIELD", "n"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["BITFIELD_RO", "n", "GET", "u8", "0", "GET", "i3", "#1"]), "*2\r\n:55\r\n:-3\r\n");
    assert_eq!(c.cmd_str(&["BITFIELD_RO", "n"]), "*0\r\n");
    // Errors, reported in argument order before anything runs.
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "u64", "0"]), BAD_TYPE);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i65", "0"]), BAD_TYPE);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i0", "0"]), BAD_TYPE);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "I8", "0"]), BAD_TYPE);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i08", "0"]), BAD_TYPE);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i8", "-1"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i8", "#-1"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i8", "4294967296"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i8", "#536870912"]), BAD_OFFSET);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "SET", "i8", "0", "x"]), NOT_INT);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "GET", "i8"]), SYNTAX);
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "FOO", "i8", "0"]), SYNTAX);
    assert_eq!(
        c.cmd_str(&["BITFIELD", "k", "OVERFLOW", "NOPE", "GET", "i8", "0"]),
        "-ERR Invalid OVERFLOW type specified\r\n"
    );
    assert_eq!(c.cmd_str(&["BITFIELD", "k", "SET", "i8", "0", "1", "GET", "u64", "0"]), BAD_TYPE);
    assert_eq!(c.cmd_str(&["GET", "k"]), "$3\r\n\u{fffd}\0A\r\n");
    assert_eq!(
        c.cmd_str(&["BITFIELD_RO", "k", "SET", "i8", "0", "1"]),
        "-ERR BITFIELD_RO only supports the GET subcommand\r\n"
    );
    assert_eq!(c.cmd_str(&["BITFIELD_RO", "k", "INCRBY", "x8", "0", "1"]), BAD_TYPE);
    assert_eq!(c.cmd_str(&["LPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["BITFIELD", "l"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["BITFIELD", "l", "INCRBY", "i8", "0", "1"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["BITFIELD_RO", "l", "GET", "i8", "0"]), WRONGTYPE);
    assert_eq!(
        c.cmd_str(&["BITFIELD_RO", "l", "SET", "i8", "0", "1"]),
        "-ERR BITFIELD_RO only supports the GET subcommand\r\n"
    );
    assert_eq!(c.cmd_str(&["BITFIELD"]), "-ERR wrong number of arguments for 'bitfield' command\r\n");
}

#[test]
fn bitfield() {
    on_both(bitfield_checks);
}

#[test]
fn command_info() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let info = c.cmd_str(&["COMMAND", "INFO", "bitop", "getbit"]);
    assert!(
        info.starts_with("*2\r\n*10\r\n$5\r\nbitop\r\n:-4\r\n*2\r\n+write\r\n+denyoom\r\n:2\r\n:-1\r\n:1\r\n"),
        "{info}"
    );
    assert!(info.contains("$6\r\ngetbit\r\n:3\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"), "{info}");
    assert!(info.contains("+@bitmap"), "{info}");
}

//! List commands, exact replies (expected values recorded from redis-server 7.0.15).

mod common;
use common::*;

fn check(c: &mut RawClient, cases: &[(&[&str], &str)]) {
    for (args, want) in cases {
        if args[0] == "HELLO" {
            // Switches the protocol; the reply carries a connection id that differs.
            c.cmd(args);
            continue;
        }
        assert_eq!(c.cmd_str(args), *want, "{args:?}");
    }
}

#[test]
fn push_and_len() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["LPUSH", "l", "a", "b", "c"], ":3\r\n"),
            (&["RPUSH", "l", "d", "1", "-5", "9223372036854775807"], ":7\r\n"),
            (&["LRANGE", "l", "0", "-1"], "*7\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\n1\r\n$2\r\n-5\r\n$19\r\n9223372036854775807\r\n"),
            (&["LLEN", "l"], ":7\r\n"),
            (&["LLEN", "nokey"], ":0\r\n"),
            (&["LPUSHX", "nokey", "a"], ":0\r\n"),
            (&["RPUSHX", "nokey", "a"], ":0\r\n"),
            (&["EXISTS", "nokey"], ":0\r\n"),
            (&["LPUSHX", "l", "x", "y"], ":9\r\n"),
            (&["RPUSHX", "l", "z"], ":10\r\n"),
            (&["LRANGE", "l", "0", "-1"], "*10\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\n1\r\n$2\r\n-5\r\n$19\r\n9223372036854775807\r\n$1\r\nz\r\n"),
            (&["SET", "s", "v"], "+OK\r\n"),
            (&["LPUSH", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["RPUSH", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LPUSHX", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["RPUSHX", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LLEN", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LPUSH", "l"], "-ERR wrong number of arguments for 'lpush' command\r\n"),
            (&["RPUSHX", "l"], "-ERR wrong number of arguments for 'rpushx' command\r\n"),
            (&["LLEN"], "-ERR wrong number of arguments for 'llen' command\r\n"),
            (&["TYPE", "l"], "+list\r\n"),
            (&["OBJECT", "ENCODING", "l"], "$9\r\nquicklist\r\n"),
        ],
    );
}

#[test]
fn pops() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["RPUSH", "l", "a", "b", "c", "d", "e"], ":5\r\n"),
            (&["LPOP", "l"], "$1\r\na\r\n"),
            (&["RPOP", "l"], "$1\r\ne\r\n"),
            (&["LPOP", "l", "2"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["RPOP", "l", "0"], "*0\r\n"),
            (&["RPOP", "l", "5"], "*1\r\n$1\r\nd\r\n"),
            (&["EXISTS", "l"], ":0\r\n"),
            (&["LPOP", "l"], "$-1\r\n"),
            (&["LPOP", "l", "0"], "*-1\r\n"),
            (&["LPOP", "l", "3"], "*-1\r\n"),
            (&["RPOP", "l", "-1"], "-ERR value is out of range, must be positive\r\n"),
            (&["RPOP", "l", "x"], "-ERR value is out of range, must be positive\r\n"),
            (&["LPOP", "l", "1", "2"], "-ERR wrong number of arguments for 'lpop' command\r\n"),
            (&["SET", "s", "v"], "+OK\r\n"),
            (&["LPOP", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LPOP", "s", "0"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["RPOP", "s", "-1"], "-ERR value is out of range, must be positive\r\n"),
            (&["HELLO", "3"], "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:59\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
            (&["RPUSH", "l", "a"], ":1\r\n"),
            (&["LPOP", "l", "0"], "*0\r\n"),
            (&["LPOP", "nokey"], "_\r\n"),
            (&["LPOP", "nokey", "0"], "_\r\n"),
            (&["RPOP", "nokey", "2"], "_\r\n"),
            (&["LPOP", "l", "2"], "*1\r\n$1\r\na\r\n"),
            (&["HELLO", "2"], "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:59\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
        ],
    );
}

#[test]
fn ranges_and_index() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["RPUSH", "l", "a", "b", "c", "d", "e", "100", "-7"], ":7\r\n"),
            (
                &["LRANGE", "l", "0", "-1"],
                "*7\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$3\r\n100\r\n$2\r\n-7\r\n",
            ),
            (&["LRANGE", "l", "1", "2"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["LRANGE", "l", "-3", "-1"], "*3\r\n$1\r\ne\r\n$3\r\n100\r\n$2\r\n-7\r\n"),
            (
                &["LRANGE", "l", "-100", "100"],
                "*7\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$3\r\n100\r\n$2\r\n-7\r\n",
            ),
            (&["LRANGE", "l", "5", "2"], "*0\r\n"),
            (&["LRANGE", "l", "7", "10"], "*0\r\n"),
            (&["LRANGE", "l", "-1", "-2"], "*0\r\n"),
            (&["LRANGE", "l", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
            (&["LRANGE", "l", "0", "y"], "-ERR value is not an integer or out of range\r\n"),
            (&["LRANGE", "nokey", "0", "-1"], "*0\r\n"),
            (&["LRANGE", "nokey", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
            (&["LINDEX", "l", "0"], "$1\r\na\r\n"),
            (&["LINDEX", "l", "-1"], "$2\r\n-7\r\n"),
            (&["LINDEX", "l", "5"], "$3\r\n100\r\n"),
            (&["LINDEX", "l", "7"], "$-1\r\n"),
            (&["LINDEX", "l", "-8"], "$-1\r\n"),
            (&["LINDEX", "l", "x"], "-ERR value is not an integer or out of range\r\n"),
            (&["LINDEX", "nokey", "x"], "$-1\r\n"),
            (&["SET", "s", "v"], "+OK\r\n"),
            (&["LRANGE", "s", "0", "-1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LINDEX", "s", "0"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ],
    );
}

#[test]
fn set_insert_rem_trim() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"], ":7\r\n"),
            (&["LSET", "l", "0", "A"], "+OK\r\n"),
            (&["LSET", "l", "-1", "Z"], "+OK\r\n"),
            (&["LSET", "l", "7", "x"], "-ERR index out of range\r\n"),
            (&["LSET", "l", "-8", "x"], "-ERR index out of range\r\n"),
            (&["LSET", "l", "x", "y"], "-ERR value is not an integer or out of range\r\n"),
            (&["LSET", "nokey", "0", "x"], "-ERR no such key\r\n"),
            (&["LSET", "nokey", "x", "x"], "-ERR no such key\r\n"),
            (&["LRANGE", "l", "0", "-1"], "*7\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nZ\r\n"),
            (&["LINSERT", "l", "BEFORE", "b", "X"], ":8\r\n"),
            (&["LINSERT", "l", "after", "c", "Y"], ":9\r\n"),
            (&["LINSERT", "l", "AFTER", "zz", "Y"], ":-1\r\n"),
            (&["LINSERT", "l", "MIDDLE", "b", "Y"], "-ERR syntax error\r\n"),
            (&["LINSERT", "nokey", "BEFORE", "b", "Y"], ":0\r\n"),
            (&["LINSERT", "nokey", "MIDDLE", "b", "Y"], "-ERR syntax error\r\n"),
            (&["LRANGE", "l", "0", "-1"], "*9\r\n$1\r\nA\r\n$1\r\nX\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nY\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nZ\r\n"),
            (&["LREM", "l", "0", "b"], ":2\r\n"),
            (&["LREM", "l", "-1", "c"], ":1\r\n"),
            (&["LREM", "l", "1", "X"], ":1\r\n"),
            (&["LREM", "l", "1", "nothing"], ":0\r\n"),
            (&["LREM", "l", "x", "a"], "-ERR value is not an integer or out of range\r\n"),
            (&["LREM", "nokey", "1", "a"], ":0\r\n"),
            (&["LRANGE", "l", "0", "-1"], "*5\r\n$1\r\nA\r\n$1\r\nc\r\n$1\r\nY\r\n$1\r\na\r\n$1\r\nZ\r\n"),
            (&["LTRIM", "l", "1", "-2"], "+OK\r\n"),
            (&["LRANGE", "l", "0", "-1"], "*3\r\n$1\r\nc\r\n$1\r\nY\r\n$1\r\na\r\n"),
            (&["LTRIM", "l", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
            (&["LTRIM", "nokey", "0", "1"], "+OK\r\n"),
            (&["LTRIM", "l", "5", "1"], "+OK\r\n"),
            (&["EXISTS", "l"], ":0\r\n"),
            (&["RPUSH", "r", "1", "2", "1"], ":3\r\n"),
            (&["LREM", "r", "0", "1"], ":2\r\n"),
            (&["LREM", "r", "0", "2"], ":1\r\n"),
            (&["EXISTS", "r"], ":0\r\n"),
            (&["SET", "s", "v"], "+OK\r\n"),
            (&["LSET", "s", "0", "x"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LINSERT", "s", "BEFORE", "a", "b"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LREM", "s", "0", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LTRIM", "s", "0", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ],
    );
}

#[test]
fn lpos() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"], ":8\r\n"),
            (&["LPOS", "l", "c"], ":2\r\n"),
            (&["LPOS", "l", "c", "RANK", "2"], ":6\r\n"),
            (&["LPOS", "l", "c", "RANK", "-1"], ":7\r\n"),
            (&["LPOS", "l", "c", "RANK", "-9223372036854775808"], ":7\r\n"),
            (&["LPOS", "l", "c", "COUNT", "2"], "*2\r\n:2\r\n:6\r\n"),
            (&["LPOS", "l", "c", "COUNT", "0"], "*3\r\n:2\r\n:6\r\n:7\r\n"),
            (&["LPOS", "l", "c", "RANK", "-1", "COUNT", "0"], "*3\r\n:7\r\n:6\r\n:2\r\n"),
            (&["LPOS", "l", "c", "RANK", "2", "COUNT", "0"], "*2\r\n:6\r\n:7\r\n"),
            (&["LPOS", "l", "c", "MAXLEN", "3"], ":2\r\n"),
            (&["LPOS", "l", "c", "MAXLEN", "3", "COUNT", "0"], "*1\r\n:2\r\n"),
            (&["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "2", "COUNT", "0"], "*2\r\n:7\r\n:6\r\n"),
            (&["LPOS", "l", "2"], ":4\r\n"),
            (&["LPOS", "l", "02"], "$-1\r\n"),
            (&["LPOS", "l", "zz"], "$-1\r\n"),
            (&["LPOS", "l", "zz", "COUNT", "1"], "*0\r\n"),
            (&["LPOS", "nokey", "zz"], "$-1\r\n"),
            (&["LPOS", "nokey", "zz", "COUNT", "1"], "*0\r\n"),
            (&["LPOS", "l", "c", "RANK", "0"], "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
            (&["LPOS", "l", "c", "RANK", "x"], "-ERR value is not an integer or out of range\r\n"),
            (&["LPOS", "l", "c", "COUNT", "-1"], "-ERR COUNT can't be negative\r\n"),
            (&["LPOS", "l", "c", "COUNT", "x"], "-ERR COUNT can't be negative\r\n"),
            (&["LPOS", "l", "c", "MAXLEN", "-1"], "-ERR MAXLEN can't be negative\r\n"),
            (&["LPOS", "l", "c", "MAXLEN", "x"], "-ERR MAXLEN can't be negative\r\n"),
            (&["LPOS", "l", "c", "RANK"], "-ERR syntax error\r\n"),
            (&["LPOS", "l", "c", "FOO", "1"], "-ERR syntax error\r\n"),
            (&["LPOS", "l", "c", "COUNT", "-1", "RANK", "0"], "-ERR COUNT can't be negative\r\n"),
            (&["SET", "s", "v"], "+OK\r\n"),
            (&["LPOS", "s", "c"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LPOS", "s", "c", "RANK", "0"], "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
        ],
    );
}

#[test]
fn moves() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["RPUSH", "a", "1", "2", "3"], ":3\r\n"),
            (&["LMOVE", "a", "b", "LEFT", "RIGHT"], "$1\r\n1\r\n"),
            (&["LMOVE", "a", "b", "right", "left"], "$1\r\n3\r\n"),
            (&["LRANGE", "b", "0", "-1"], "*2\r\n$1\r\n3\r\n$1\r\n1\r\n"),
            (&["LMOVE", "a", "a", "LEFT", "RIGHT"], "$1\r\n2\r\n"),
            (&["RPUSH", "a", "x", "y"], ":3\r\n"),
            (&["LMOVE", "a", "a", "LEFT", "RIGHT"], "$1\r\n2\r\n"),
            (&["LRANGE", "a", "0", "-1"], "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\n2\r\n"),
            (&["LMOVE", "a", "a", "RIGHT", "LEFT"], "$1\r\n2\r\n"),
            (&["LRANGE", "a", "0", "-1"], "*3\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
            (&["LMOVE", "a", "b", "UP", "LEFT"], "-ERR syntax error\r\n"),
            (&["LMOVE", "nokey", "b", "LEFT", "LEFT"], "$-1\r\n"),
            (&["RPOPLPUSH", "b", "a"], "$1\r\n1\r\n"),
            (&["RPOPLPUSH", "nokey", "a"], "$-1\r\n"),
            (&["RPOPLPUSH", "b", "b"], "$1\r\n3\r\n"),
            (&["LRANGE", "a", "0", "-1"], "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
            (&["LRANGE", "b", "0", "-1"], "*1\r\n$1\r\n3\r\n"),
            (&["SET", "s", "v"], "+OK\r\n"),
            (
                &["LMOVE", "a", "s", "LEFT", "LEFT"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (
                &["LMOVE", "s", "a", "LEFT", "LEFT"],
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            ),
            (&["RPOPLPUSH", "a", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LMOVE", "nokey", "s", "LEFT", "LEFT"], "$-1\r\n"),
            (&["RPOPLPUSH", "b", "c"], "$1\r\n3\r\n"),
            (&["EXISTS", "b"], ":0\r\n"),
            (&["LRANGE", "c", "0", "-1"], "*1\r\n$1\r\n3\r\n"),
        ],
    );
}

#[test]
fn lmpop() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["RPUSH", "l", "a", "b", "c"], ":3\r\n"),
            (&["LMPOP", "1", "l", "LEFT"], "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"),
            (&["LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "5"], "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
            (&["EXISTS", "l"], ":0\r\n"),
            (&["LMPOP", "1", "l", "LEFT"], "*-1\r\n"),
            (&["LMPOP", "0", "l", "LEFT"], "-ERR numkeys should be greater than 0\r\n"),
            (&["LMPOP", "-1", "l", "LEFT"], "-ERR numkeys should be greater than 0\r\n"),
            (&["LMPOP", "x", "l", "LEFT"], "-ERR numkeys should be greater than 0\r\n"),
            (&["LMPOP", "2", "l", "LEFT"], "-ERR syntax error\r\n"),
            (&["LMPOP", "1", "l", "UP"], "-ERR syntax error\r\n"),
            (&["LMPOP", "1", "l", "LEFT", "COUNT", "0"], "-ERR count should be greater than 0\r\n"),
            (&["LMPOP", "1", "l", "LEFT", "COUNT", "x"], "-ERR count should be greater than 0\r\n"),
            (&["LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"], "-ERR syntax error\r\n"),
            (&["LMPOP", "1", "l", "LEFT", "COUNT"], "-ERR syntax error\r\n"),
            (&["LMPOP", "1", "l", "LEFT", "FOO"], "-ERR syntax error\r\n"),
            (&["LMPOP", "9223372036854775807", "l", "LEFT"], "-ERR syntax error\r\n"),
            (&["LMPOP", "1", "l"], "-ERR wrong number of arguments for 'lmpop' command\r\n"),
            (&["SET", "s", "v"], "+OK\r\n"),
            (&["RPUSH", "l", "a"], ":1\r\n"),
            (&["LMPOP", "2", "s", "l", "LEFT"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LMPOP", "2", "nokey", "s", "LEFT"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            (&["LMPOP", "2", "l", "s", "LEFT"], "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"),
            (&["HELLO", "3"], "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:64\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
            (&["LMPOP", "1", "nokey", "LEFT"], "_\r\n"),
            (&["RPUSH", "l", "1", "2"], ":2\r\n"),
            (&["LMPOP", "1", "l", "RIGHT", "COUNT", "1"], "*2\r\n$1\r\nl\r\n*1\r\n$1\r\n2\r\n"),
            (&["HELLO", "2"], "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:64\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
        ],
    );
}

#[test]
fn keys_commands_on_lists() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &[
            (&["FLUSHALL"], "+OK\r\n"),
            (&["RPUSH", "l", "a", "1", "b"], ":3\r\n"),
            (&["TYPE", "l"], "+list\r\n"),
            (&["OBJECT", "ENCODING", "l"], "$9\r\nquicklist\r\n"),
            (&["COPY", "l", "l2"], ":1\r\n"),
            (&["RPUSH", "l2", "c"], ":4\r\n"),
            (&["LRANGE", "l", "0", "-1"], "*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n"),
            (&["LRANGE", "l2", "0", "-1"], "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\nc\r\n"),
            (&["RENAME", "l", "l3"], "+OK\r\n"),
            (&["LRANGE", "l3", "0", "-1"], "*3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n"),
            (&["EXPIRE", "l3", "100"], ":1\r\n"),
            (&["RPUSH", "l3", "x"], ":4\r\n"),
            (&["TTL", "l3"], ":100\r\n"),
            (&["LPOP", "l3", "10"], "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\nx\r\n"),
            (&["EXISTS", "l3"], ":0\r\n"),
            (&["RPUSH", "big", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"], ":1\r\n"),
            (&["OBJECT", "ENCODING", "big"], "$9\r\nquicklist\r\n"),
        ],
    );
}
#[test]
fn small_nodes_split_and_merge_through_commands() {
    let s = TestServer::start(&["--list-max-listpack-size", "3"]);
    let mut c = s.raw();
    let items: Vec<String> = (0..50).map(|i| format!("e{i}")).collect();
    let mut args = vec!["RPUSH", "l"];
    args.extend(items.iter().map(String::as_str));
    assert_eq!(c.int(&args), 50);
    assert_eq!(c.int(&["LINSERT", "l", "BEFORE", "e25", "mid"]), 51);
    assert_eq!(c.cmd_str(&["LRANGE", "l", "24", "26"]), "*3\r\n$3\r\ne24\r\n$3\r\nmid\r\n$3\r\ne25\r\n");
    assert_eq!(c.cmd_str(&["LSET", "l", "25", "a-much-longer-value-than-before"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["LINDEX", "l", "25"]), "$31\r\na-much-longer-value-than-before\r\n");
    assert_eq!(c.cmd_str(&["LTRIM", "l", "10", "-10"]), "+OK\r\n");
    assert_eq!(c.int(&["LLEN", "l"]), 32);
    assert_eq!(c.cmd_str(&["LPOS", "l", "e40"]), ":31\r\n");
    assert_eq!(c.cmd_str(&["OBJECT", "ENCODING", "l"]), "$9\r\nquicklist\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "list-max-listpack-size", "-1"]), "+OK\r\n");
    let big = "x".repeat(5000);
    assert_eq!(c.int(&["LPUSH", "l", &big]), 33);
    assert_eq!(c.cmd_str(&["LINDEX", "l", "0"]), format!("$5000\r\n{big}\r\n"));
    assert_eq!(c.cmd_str(&["RPOP", "l"]), "$3\r\ne40\r\n");
}

#[test]
fn timeline_push_trim_range() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for i in 0..1000u64 {
        let id = (1_600_000_000_000_000_000 + i).to_string();
        c.int(&["LPUSH", "tl", &id]);
        assert_eq!(c.cmd_str(&["LTRIM", "tl", "0", "799"]), "+OK\r\n");
    }
    assert_eq!(c.int(&["LLEN", "tl"]), 800);
    assert_eq!(
        c.cmd_str(&["LRANGE", "tl", "0", "1"]),
        "*2\r\n$19\r\n1600000000000000999\r\n$19\r\n1600000000000000998\r\n"
    );
    assert_eq!(c.cmd_str(&["LINDEX", "tl", "-1"]), "$19\r\n1600000000000000200\r\n");
}

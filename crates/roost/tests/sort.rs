//! SORT and SORT_RO: exact replies for each option and each error, checked against what
//! redis-server 7.0 answers for the same data.

mod common;
use common::*;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_DOUBLE: &str = "-ERR One or more scores can't be converted into double\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";

/// A flat array of bulks; "nil" stands for a null bulk.
fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        if *i == "nil" {
            s.push_str("$-1\r\n");
        } else {
            s.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
        }
    }
    s
}

fn setup() -> (TestServer, RawClient) {
    let s = TestServer::start(&[]);
    let c = s.raw();
    (s, c)
}

#[test]
fn numeric_sort_of_a_list() {
    let (_s, mut c) = setup();
    c.cmd(&["RPUSH", "n", "3", "1", "2", " 4", "", "1.0", "01", "0x10", "-5", "inf"]);
    // Equal values are ordered by their bytes: "" (0) first, then 01 < 1 < 1.0.
    let asc = ["-5", "", "01", "1", "1.0", "2", "3", " 4", "0x10", "inf"];
    assert_eq!(c.cmd_str(&["SORT", "n"]), bulks(&asc));
    assert_eq!(c.cmd_str(&["SORT", "n", "ASC"]), bulks(&asc));
    // DESC reverses the tie-break too.
    let desc: Vec<&str> = asc.iter().rev().copied().collect();
    assert_eq!(c.cmd_str(&["SORT", "n", "DESC"]), bulks(&desc));
    assert_eq!(c.cmd_str(&["SORT", "n", "desc", "asc"]), bulks(&asc));
    assert_eq!(c.cmd_str(&["sort", "n", "limit", "2", "3"]), bulks(&["01", "1", "1.0"]));
}

#[test]
fn values_that_are_not_numbers_are_errors() {
    let (_s, mut c) = setup();
    for bad in ["abc", "5 ", "1e400", "1e-400", "nan", "1x"] {
        c.cmd(&["DEL", "l"]);
        c.cmd(&["RPUSH", "l", "1", bad]);
        assert_eq!(c.cmd_str(&["SORT", "l"]), NOT_DOUBLE, "{bad:?}");
    }
    // ALPHA compares bytes instead.
    c.cmd(&["DEL", "l"]);
    c.cmd(&["RPUSH", "l", "b", "a", "B", "c", "10", "9"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "ALPHA"]), bulks(&["10", "9", "B", "a", "b", "c"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "ALPHA", "DESC"]), bulks(&["c", "b", "a", "B", "9", "10"]));
}

#[test]
fn limit_windows() {
    let (_s, mut c) = setup();
    c.cmd(&["RPUSH", "l", "5", "3", "1", "4", "2"]);
    let cases: &[(&str, &str, &[&str])] = &[
        ("0", "2", &["1", "2"]),
        ("1", "-1", &["2", "3", "4", "5"]),
        ("-3", "2", &["1", "2"]),
        ("3", "10", &["4", "5"]),
        ("4", "1", &["5"]),
        ("5", "1", &[]),
        ("100", "-1", &[]),
        ("0", "0", &[]),
        ("2", "0", &[]),
    ];
    for (offset, count, want) in cases {
        assert_eq!(c.cmd_str(&["SORT", "l", "LIMIT", offset, count]), bulks(want), "LIMIT {offset} {count}");
    }
    assert_eq!(c.cmd_str(&["SORT", "l", "LIMIT", "1", "2", "DESC"]), bulks(&["4", "3"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "LIMIT", "x", "2"]), NOT_INT);
    assert_eq!(c.cmd_str(&["SORT", "l", "LIMIT", "1", "2.5"]), NOT_INT);
    assert_eq!(c.cmd_str(&["SORT", "l", "LIMIT", "1"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SORT", "nokey", "LIMIT", "0", "5"]), "*0\r\n");
}

#[test]
fn by_patterns_weigh_elements() {
    let (_s, mut c) = setup();
    c.cmd(&["RPUSH", "l", "c", "a", "b", "d"]);
    c.cmd(&["MSET", "w_a", "3", "w_b", "1", "w_c", "2"]);
    // w_d is missing: a weight of 0.
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "w_*"]), bulks(&["d", "b", "c", "a"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "w_*", "DESC"]), bulks(&["a", "c", "b", "d"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "w_*", "LIMIT", "1", "2"]), bulks(&["b", "c"]));
    // Only the first '*' is replaced.
    c.cmd(&["SET", "x_a_*", "-1"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "x_*_*"]), bulks(&["a", "b", "c", "d"]));
    // A weight of another type counts as missing; a bad number is an error.
    c.cmd(&["RPUSH", "w_d", "9"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "w_*"]), bulks(&["d", "b", "c", "a"]));
    c.cmd(&["SET", "w_d", "heavy"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "w_*"]), NOT_DOUBLE);
    c.cmd(&["DEL", "w_d"]);

    // Hash fields through "->".
    c.cmd(&["HSET", "h_a", "f", "9", "g", "x"]);
    c.cmd(&["HSET", "h_b", "f", "-1"]);
    c.cmd(&["SET", "h_c", "7"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "h_*->f"]), bulks(&["b", "c", "d", "a"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "h_*->g", "ALPHA"]), bulks(&["c", "b", "d", "a"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "h_*->g"]), NOT_DOUBLE);

    // ALPHA weights: missing ones first, equal ones keep the list's order.
    c.cmd(&["MSET", "t_a", "x", "t_b", "x", "t_c", "y"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "t_*", "ALPHA"]), bulks(&["d", "a", "b", "c"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "t_*", "ALPHA", "DESC"]), bulks(&["c", "a", "b", "d"]));
}

#[test]
fn by_without_a_star_keeps_the_natural_order() {
    let (_s, mut c) = setup();
    c.cmd(&["RPUSH", "l", "c", "a", "b", "d"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "nosort"]), bulks(&["c", "a", "b", "d"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "nosort", "DESC"]), bulks(&["d", "b", "a", "c"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"]), bulks(&["b", "a"]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "nosort", "LIMIT", "3", "5"]), bulks(&["d"]));
    // A later BY with a star does not bring sorting back.
    c.cmd(&["MSET", "w_a", "3", "w_b", "1"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "nosort", "BY", "w_*"]), bulks(&["c", "a", "b", "d"]));

    // A sorted set keeps its score order.
    c.cmd(&["ZADD", "z", "3", "a", "1", "b", "2", "c", "2", "d"]);
    assert_eq!(c.cmd_str(&["SORT", "z", "BY", "nosort"]), bulks(&["b", "c", "d", "a"]));
    assert_eq!(c.cmd_str(&["SORT", "z", "BY", "nosort", "DESC"]), bulks(&["a", "d", "c", "b"]));
    assert_eq!(c.cmd_str(&["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"]), bulks(&["d", "c"]));
    assert_eq!(c.cmd_str(&["SORT", "z", "BY", "nosort", "LIMIT", "2", "9"]), bulks(&["d", "a"]));
}

#[test]
fn sets_and_sorted_sets_sort_by_their_members() {
    let (_s, mut c) = setup();
    c.cmd(&["SADD", "si", "5", "3", "-1", "10"]);
    assert_eq!(c.cmd_str(&["SORT", "si"]), bulks(&["-1", "3", "5", "10"]));
    assert_eq!(c.cmd_str(&["SORT", "si", "DESC", "LIMIT", "0", "2"]), bulks(&["10", "5"]));
    assert_eq!(c.cmd_str(&["SORT", "si", "ALPHA"]), bulks(&["-1", "10", "3", "5"]));
    c.cmd(&["SADD", "ss", "pear", "apple", "fig"]);
    assert_eq!(c.cmd_str(&["SORT", "ss"]), NOT_DOUBLE);
    assert_eq!(c.cmd_str(&["SORT", "ss", "ALPHA"]), bulks(&["apple", "fig", "pear"]));
    // A sorted set is sorted by its members, not its scores.
    c.cmd(&["ZADD", "z", "1", "30", "2", "20", "3", "100"]);
    assert_eq!(c.cmd_str(&["SORT", "z"]), bulks(&["20", "30", "100"]));
    assert_eq!(c.cmd_str(&["SORT", "z", "ALPHA"]), bulks(&["100", "20", "30"]));
    c.cmd(&["ZADD", "zs", "0", "c"]);
    assert_eq!(c.cmd_str(&["SORT", "zs"]), NOT_DOUBLE);
}

#[test]
fn get_patterns() {
    let (_s, mut c) = setup();
    c.cmd(&["RPUSH", "l", "2", "1", "3"]);
    c.cmd(&["MSET", "name_1", "one", "name_2", "two"]);
    c.cmd(&["HSET", "info_1", "age", "10"]);
    c.cmd(&["HSET", "info_3", "age", "30", "x", ""]);
    assert_eq!(c.cmd_str(&["SORT", "l", "GET", "name_*"]), bulks(&["one", "two", "nil"]));
    assert_eq!(
        c.cmd_str(&["SORT", "l", "GET", "#", "GET", "name_*", "GET", "info_*->age"]),
        bulks(&["1", "one", "10", "2", "two", "nil", "3", "nil", "30"])
    );
    // A pattern without '*' names nothing; "->" at the end is part of the key name.
    assert_eq!(c.cmd_str(&["SORT", "l", "GET", "name_1", "LIMIT", "0", "1"]), bulks(&["nil"]));
    c.cmd(&["SET", "k_1->", "arrow"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "GET", "k_*->", "LIMIT", "0", "1"]), bulks(&["arrow"]));
    // "->field" on a string, or a plain pattern on a hash, finds nothing.
    assert_eq!(
        c.cmd_str(&["SORT", "l", "GET", "name_*->age", "GET", "info_*", "LIMIT", "0", "1"]),
        bulks(&["nil", "nil"])
    );
    assert_eq!(c.cmd_str(&["SORT", "l", "DESC", "LIMIT", "0", "1", "GET", "info_*->x"]), bulks(&[""]));
    assert_eq!(c.cmd_str(&["SORT", "l", "BY", "nosort", "GET", "#"]), bulks(&["2", "1", "3"]));
}

#[test]
fn store_writes_a_list() {
    let (_s, mut c) = setup();
    c.cmd(&["RPUSH", "l", "2", "1", "3"]);
    c.cmd(&["SET", "name_1", "one"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "STORE", "dst"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["LRANGE", "dst", "0", "-1"]), bulks(&["1", "2", "3"]));
    // Missing GET values are stored as empty strings; each GET adds one element.
    assert_eq!(c.cmd_str(&["SORT", "l", "GET", "#", "GET", "name_*", "STORE", "dst"]), ":6\r\n");
    assert_eq!(c.cmd_str(&["LRANGE", "dst", "0", "-1"]), bulks(&["1", "one", "2", "", "3", ""]));
    // The destination is replaced whatever it held, its TTL included.
    c.cmd(&["SET", "str", "x", "EX", "100"]);
    assert_eq!(c.cmd_str(&["SORT", "l", "LIMIT", "0", "1", "STORE", "str"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["TYPE", "str"]), "+list\r\n");
    assert_eq!(c.cmd_str(&["TTL", "str"]), ":-1\r\n");
    // An empty result deletes the destination.
    assert_eq!(c.cmd_str(&["SORT", "nokey", "STORE", "dst"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "dst"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["SORT", "l", "LIMIT", "0", "0", "STORE", "str"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "str"]), ":0\r\n");
    // Storing over the sorted key itself.
    assert_eq!(c.cmd_str(&["SORT", "l", "DESC", "STORE", "l"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["LRANGE", "l", "0", "-1"]), bulks(&["3", "2", "1"]));
    // An error stores nothing.
    c.cmd(&["RPUSH", "bad", "x"]);
    assert_eq!(c.cmd_str(&["SORT", "bad", "STORE", "l"]), NOT_DOUBLE);
    assert_eq!(c.cmd_str(&["LLEN", "l"]), ":3\r\n");
    // The last STORE wins.
    assert_eq!(c.cmd_str(&["SORT", "l", "STORE", "a", "STORE", "b"]), ":3\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "a", "b"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["LRANGE", "b", "0", "-1"]), bulks(&["1", "2", "3"]));
}

#[test]
fn storing_a_set_without_sorting_sorts_it_by_bytes() {
    let (_s, mut c) = setup();
    c.cmd(&["SADD", "s", "z", "y", "x", "10", "2"]);
    assert_eq!(c.cmd_str(&["SORT", "s", "BY", "nosort", "STORE", "d"]), ":5\r\n");
    assert_eq!(c.cmd_str(&["LRANGE", "d", "0", "-1"]), bulks(&["10", "2", "x", "y", "z"]));
    assert_eq!(c.cmd_str(&["SORT", "s", "BY", "nosort", "DESC", "LIMIT", "0", "2", "STORE", "d"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["LRANGE", "d", "0", "-1"]), bulks(&["z", "y"]));
}

#[test]
fn store_wakes_a_blocked_client() {
    let (s, mut c) = setup();
    c.cmd(&["RPUSH", "l", "b", "a"]);
    let mut waiter = s.raw();
    waiter.send(&encode(&[b"BLPOP", b"dst", b"5"]));
    // Give the waiter time to block before the write.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(c.cmd_str(&["SORT", "l", "ALPHA", "STORE", "dst"]), ":2\r\n");
    assert_eq!(String::from_utf8_lossy(&waiter.read_reply()), bulks(&["dst", "a"]));
    assert_eq!(c.cmd_str(&["LRANGE", "dst", "0", "-1"]), bulks(&["b"]));
}

#[test]
fn sort_ro_reads_only() {
    let (_s, mut c) = setup();
    c.cmd(&["RPUSH", "l", "2", "1"]);
    assert_eq!(c.cmd_str(&["SORT_RO", "l"]), bulks(&["1", "2"]));
    assert_eq!(c.cmd_str(&["SORT_RO", "l", "BY", "nosort", "DESC", "GET", "#"]), bulks(&["1", "2"]));
    assert_eq!(c.cmd_str(&["SORT_RO", "l", "STORE", "dst"]), SYNTAX);
    assert_eq!(c.cmd_str(&["EXISTS", "dst"]), ":0\r\n");
}

#[test]
fn errors() {
    let (_s, mut c) = setup();
    c.cmd(&["SET", "str", "1"]);
    c.cmd(&["HSET", "h", "f", "1"]);
    c.cmd(&["RPUSH", "l", "1"]);
    assert_eq!(c.cmd_str(&["SORT", "str"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["SORT", "h"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["SORT_RO", "str"]), WRONGTYPE);
    // Options are checked before the key.
    assert_eq!(c.cmd_str(&["SORT", "str", "NOPE"]), SYNTAX);
    assert_eq!(c.cmd_str(&["SORT", "str", "LIMIT", "a", "1"]), NOT_INT);
    for bad in [&["SORT", "l", "BY"][..], &["SORT", "l", "GET"], &["SORT", "l", "STORE"], &["SORT", "l", "LIMIT", "0"]]
    {
        assert_eq!(c.cmd_str(bad), SYNTAX, "{bad:?}");
    }
    assert_eq!(c.cmd_str(&["SORT"]), "-ERR wrong number of arguments for 'sort' command\r\n");
    assert_eq!(c.cmd_str(&["SORT_RO"]), "-ERR wrong number of arguments for 'sort_ro' command\r\n");
    assert_eq!(c.cmd_str(&["SORT", "nokey"]), "*0\r\n");
}

#[test]
fn command_info_and_keys() {
    let (_s, mut c) = setup();
    assert_eq!(
        c.cmd_str(&[
            "COMMAND", "GETKEYS", "SORT", "l", "LIMIT", "0", "1", "GET", "store", "BY", "store", "STORE", "dst"
        ]),
        bulks(&["l", "dst"])
    );
    assert_eq!(c.cmd_str(&["COMMAND", "GETKEYS", "SORT", "l", "ALPHA"]), bulks(&["l"]));
    assert_eq!(c.cmd_str(&["COMMAND", "GETKEYS", "SORT_RO", "l", "ALPHA"]), bulks(&["l"]));
    let info = c.cmd_str(&["COMMAND", "INFO", "SORT", "SORT_RO"]);
    for word in [
        "sort\r\n",
        ":-2\r\n",
        "+write\r\n",
        "+denyoom\r\n",
        "+movablekeys\r\n",
        "@dangerous",
        "sort_ro",
        "+readonly\r\n",
    ] {
        assert!(info.contains(word), "{word:?} missing from {info:?}");
    }
}

//! Differential tests for bitmaps: random SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/BITFIELD streams
//! against Roost and a real redis-server, with GET, STRLEN and OBJECT ENCODING of the strings
//! they leave behind.

mod common;
use common::differential::*;
use common::*;

fn key(r: &mut Rng) -> String {
    // Few keys so commands meet each other's strings; a list for WRONGTYPE; two keys sharing a
    // hash tag so BITOP sometimes writes over one of its own sources.
    ["b0", "b1", "b2", "l0", "{t}a", "{t}b"][r.below(6) as usize].to_string()
}

/// Strings to start from: integers (stored as `int`), short and long ones (so the word-at-a-time
/// paths run), all-ones bytes (two-byte UTF-8 "ÿ" gives 0xC3 0xBF) and zero bytes.
fn value(r: &mut Rng) -> String {
    match r.below(10) {
        0 => r.below(100_000).to_string(),
        1 => format!("-{}", r.below(1000)),
        2 => "".into(),
        3 => "foobar".into(),
        4 => "ÿ".repeat(1 + r.below(20) as usize),
        5 => "\0".repeat(1 + r.below(30) as usize),
        6 => "\u{7f}".repeat(1 + r.below(20) as usize),
        7 => format!("{}{}", "\0".repeat(r.below(20) as usize), "\u{1}"),
        _ => format!("v{}", "x".repeat(r.below(40) as usize)),
    }
}

fn index(r: &mut Rng) -> String {
    match r.below(12) {
        0 => r.pick(&["-100", "-9223372036854775808", "9223372036854775807", "1000", "x", "1.5"]).into(),
        1..=4 => format!("-{}", r.below(30)),
        _ => r.below(30).to_string(),
    }
}

fn offset(r: &mut Rng) -> String {
    match r.below(20) {
        0 => r.pick(&["-1", "x", "4294967296", "#3", "1.0", ""]).into(),
        1 => (1000 + r.below(1000)).to_string(),
        _ => r.below(300).to_string(),
    }
}

fn field_type(r: &mut Rng) -> String {
    match r.below(20) {
        0 => r.pick(&["u64", "i65", "i0", "u0", "x8", "i", "I8", "U7", "i08", "u-1", ""]).into(),
        1..=3 => r.pick(&["i64", "u63", "i63", "u1", "i1", "i32", "u32"]).into(),
        _ => format!("{}{}", r.pick(&["i", "u"]), 1 + r.below(16)),
    }
}

fn field_offset(r: &mut Rng) -> String {
    match r.below(10) {
        0 => format!("#{}", r.below(12)),
        1 => r.pick(&["-1", "x", "#x", "#-1", "4294967296", "#4611686018427387904"]).into(),
        _ => r.below(200).to_string(),
    }
}

fn field_value(r: &mut Rng) -> String {
    match r.below(10) {
        0 => r
            .pick(&[
                "9223372036854775807",
                "-9223372036854775808",
                "-9223372036854775801",
                "x",
                "1.5",
                "18446744073709551615",
            ])
            .into(),
        1 => format!("-{}", r.below(300)),
        2 => (r.next() as i64).to_string(),
        _ => r.below(300).to_string(),
    }
}

/// BITFIELD operations: mostly valid, now and then a malformed one.
fn bitfield_ops(r: &mut Rng, c: &mut Vec<String>, reads_only: bool) {
    for _ in 0..=r.below(4) {
        let sub = if reads_only && r.below(8) != 0 { 0 } else { r.below(10) };
        match sub {
            0..=2 => c.extend([r.pick(&["GET", "get"]).into(), field_type(r), field_offset(r)]),
            3..=4 => c.extend(["SET".into(), field_type(r), field_offset(r), field_value(r)]),
            5..=7 => c.extend([r.pick(&["INCRBY", "incrby"]).into(), field_type(r), field_offset(r), field_value(r)]),
            8 => c.extend(["OVERFLOW".into(), r.pick(&["WRAP", "SAT", "FAIL", "sat", "fail", "bad"]).into()]),
            _ => c.push(r.pick(&["GET", "SET", "OVERFLOW", "BAD"]).into()),
        }
    }
}

fn bitmap_command(r: &mut Rng) -> Cmd {
    let k = key(r);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let mut c: Vec<String> = match r.below(30) {
        0..=3 => {
            let bit = if r.below(15) == 0 { r.pick(&["2", "-1", "x", ""]) } else { r.pick(&["0", "1", "1"]) };
            vec!["SETBIT".into(), k, offset(r), bit.into()]
        }
        4 | 5 => vec!["GETBIT".into(), k, offset(r)],
        6..=8 => {
            let mut c = vec!["BITCOUNT".to_string(), k];
            match r.below(6) {
                0 => {}
                1 => c.push(index(r)),
                _ => c.extend([index(r), index(r)]),
            }
            if c.len() == 4 && r.below(2) == 0 {
                c.push(r.pick(&["BIT", "BYTE", "bit", "byte", "bits"]).into());
                if r.below(15) == 0 {
                    c.push("extra".into());
                }
            }
            c
        }
        9..=11 => {
            let bit = if r.below(12) == 0 { r.pick(&["2", "-1", "x"]) } else { r.pick(&["0", "1"]) };
            let mut c = vec!["BITPOS".to_string(), k, bit.into()];
            for _ in 0..r.below(4) {
                c.push(index(r));
            }
            if c.len() == 5 && r.below(2) == 0 {
                c.push(r.pick(&["BIT", "BYTE", "bit", "Byte", "bad"]).into());
                if r.below(15) == 0 {
                    c.push("extra".into());
                }
            }
            c
        }
        12..=14 => {
            let op = if r.below(12) == 0 { "nand" } else { r.pick(&["AND", "OR", "XOR", "NOT", "and", "or"]) };
            let mut c = vec!["BITOP".to_string(), op.into(), k];
            let n = if op.eq_ignore_ascii_case("not") && r.below(6) != 0 { 1 } else { 1 + r.below(3) };
            for _ in 0..n {
                c.push(key(r));
            }
            c
        }
        15..=18 => {
            let mut c = vec!["BITFIELD".to_string(), k];
            bitfield_ops(r, &mut c, false);
            c
        }
        19 | 20 => {
            let mut c = vec!["BITFIELD_RO".to_string(), k];
            bitfield_ops(r, &mut c, true);
            c
        }
        21 | 22 => vec!["GET".into(), k],
        23 => vec!["STRLEN".into(), k],
        24 => vec!["OBJECT".into(), "ENCODING".into(), k],
        25 | 26 => vec!["SET".into(), k, value(r)],
        27 => s(&["LPUSH", "l0", "x"]),
        28 => vec!["EXISTS".into(), k],
        _ => vec!["DEL".into(), k],
    };
    // Now and then an argument too few, for the arity errors.
    if r.below(50) == 0 && c.len() > 1 {
        c.pop();
    }
    c
}

#[test]
fn random_bitmap_commands_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis_with(&[]);
    for seed in 1..=100u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let cmds: Vec<Cmd> = (0..400).map(|_| bitmap_command(&mut r)).collect();
        compare(&roost, &redis, cmds, seed);
    }
}

fn cmds(list: &[&[&str]]) -> Vec<Cmd> {
    list.iter().map(|c| c.iter().map(|s| s.to_string()).collect()).collect()
}

#[test]
fn bitmap_edge_cases_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis_with(&[]);
    let cases = cmds(&[
        &["SET", "s", "foobar"],
        &["SET", "n", "12345"],
        &["SET", "e", ""],
        &["LPUSH", "l", "x"],
        &["BITCOUNT", "s"],
        &["BITCOUNT", "n"],
        &["BITCOUNT", "s", "0"],
        &["BITCOUNT", "nokey", "0"],
        &["BITCOUNT", "nokey", "x", "y", "bad"],
        &["BITCOUNT", "s", "-100", "-200"],
        &["BITCOUNT", "s", "-200", "-100"],
        &["BITCOUNT", "s", "-9223372036854775808", "9223372036854775807", "BIT"],
        &["BITCOUNT", "s", "5", "30", "BIT"],
        &["BITCOUNT", "s", "-5", "-1", "bit"],
        &["BITCOUNT", "e", "0", "-1"],
        &["BITCOUNT", "l"],
        &["BITPOS", "s", "0"],
        &["BITPOS", "e", "0"],
        &["BITPOS", "e", "1"],
        &["BITPOS", "nokey", "0", "x"],
        &["BITPOS", "nokey", "1", "0", "1", "bad"],
        &["BITPOS", "s", "1", "x", "1", "bad"],
        &["BITPOS", "s", "1", "0", "x", "bad"],
        &["BITPOS", "s", "2"],
        &["BITPOS", "l", "2"],
        &["BITPOS", "l", "1"],
        &["SET", "ff", "ÿÿ"],
        &["SETBIT", "ff", "0", "1"],
        &["SETBIT", "ff", "2", "1"],
        &["SETBIT", "ff", "8", "1"],
        &["SETBIT", "ff", "10", "1"],
        &["SETBIT", "ff", "11", "1"],
        &["SETBIT", "ff", "15", "1"],
        &["GET", "ff"],
        &["BITPOS", "ff", "0"],
        &["BITPOS", "ff", "0", "0"],
        &["BITPOS", "ff", "0", "0", "-1"],
        &["BITPOS", "ff", "0", "3", "12", "BIT"],
        &["BITPOS", "ff", "1", "-100", "-200"],
        &["BITPOS", "ff", "0", "-100", "-200"],
        &["SETBIT", "n", "0", "1"],
        &["GET", "n"],
        &["OBJECT", "ENCODING", "n"],
        &["SETBIT", "fresh", "3", "0"],
        &["OBJECT", "ENCODING", "fresh"],
        &["GET", "fresh"],
        &["SETBIT", "l", "0", "1"],
        &["SETBIT", "l", "x", "1"],
        &["SETBIT", "l", "0", "x"],
        &["GETBIT", "l", "0"],
        &["GETBIT", "l", "x"],
        &["GETBIT", "n", "2"],
        &["GETBIT", "s", "#1"],
        &["BITOP", "NOT", "d", "s", "n"],
        &["BITOP", "NOT", "d", "l"],
        &["BITOP", "nand", "d", "l"],
        &["BITOP", "AND", "d", "s", "l"],
        &["BITOP", "AND", "d", "s", "nokey"],
        &["GET", "d"],
        &["BITOP", "OR", "d", "nokey", "e"],
        &["EXISTS", "d"],
        &["SET", "d", "x", "EX", "100"],
        &["BITOP", "XOR", "d", "s", "n"],
        &["TTL", "d"],
        &["OBJECT", "ENCODING", "d"],
        &["BITOP", "NOT", "d", "d"],
        &["GET", "d"],
        &["BITFIELD", "bf"],
        &["BITFIELD", "l"],
        &["BITFIELD", "l", "GET", "i8", "0"],
        &["BITFIELD", "l", "SET", "i8", "0", "x"],
        &["BITFIELD", "l", "SET", "i8", "0", "1"],
        &["BITFIELD_RO", "l", "SET", "i8", "0", "1"],
        &["BITFIELD_RO", "l", "GET", "i8", "0"],
        &["BITFIELD_RO", "nokey", "GET", "u8", "0", "INCRBY", "i65", "0", "1"],
        &["BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "u2", "100", "8"],
        &["GET", "bf"],
        &["BITFIELD", "bf", "SET", "u8", "0", "-1", "OVERFLOW", "SAT", "SET", "u8", "8", "-1", "GET", "u16", "0"],
        &["BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "u8", "0", "-1", "SET", "i8", "0", "-128"],
        &["BITFIELD", "bf", "INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "10"],
        &["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "9223372036854775807"],
        &["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-9223372036854775808"],
        &["BITFIELD", "bf", "INCRBY", "u63", "3", "-1", "GET", "u63", "3", "GET", "i64", "3"],
        &["BITFIELD", "bf", "SET", "i5", "#3", "100", "GET", "i5", "#3", "GET", "u5", "15"],
        &["BITFIELD", "bf", "GET", "i8", "#4611686018427387904"],
        &["BITFIELD", "bf", "GET", "i2", "#4611686018427387904"],
        &["BITFIELD", "bf", "GET", "i4", "#4611686018427387904"],
        &["BITFIELD", "bf", "GET", "i8", "0", "BAD"],
        &["BITFIELD", "bf", "GET", "i8"],
        &["BITFIELD", "bf", "OVERFLOW"],
        &["BITFIELD", "bf", "OVERFLOW", "nope", "GET", "i8", "0"],
        &["BITFIELD", "bf", "GET", "u64", "0"],
        &["BITFIELD", "bf", "GET", "i8", "-1"],
        &["BITFIELD", "bf", "GET", "i8", "4294967296"],
        &["BITFIELD", "bf", "SET", "i8", "0", "1", "GET", "x", "0"],
        &["GET", "bf"],
        &["OBJECT", "ENCODING", "bf"],
        &["BITFIELD_RO", "bf", "GET", "i8", "0", "GET", "u4", "#1"],
        &["BITFIELD_RO", "bf"],
        &["BITFIELD", "n", "GET", "u8", "0"],
        &["BITFIELD", "n", "INCRBY", "u8", "0", "1"],
        &["GET", "n"],
    ]);
    compare(&roost, &redis, cases, 0);
}

#[test]
fn offsets_are_bounded_by_proto_max_bulk_len() {
    let small = ["--proto-max-bulk-len", "1mb"];
    let roost = TestServer::start(&small);
    let redis = TestServer::start_redis_with(&small);
    let cases = cmds(&[
        &["SETBIT", "k", "8388608", "1"],
        &["SETBIT", "k", "8388607", "1"],
        &["STRLEN", "k"],
        &["GETBIT", "k", "8388607"],
        &["GETBIT", "k", "8388608"],
        &["BITCOUNT", "k"],
        &["BITPOS", "k", "1"],
        &["BITPOS", "k", "0", "-1"],
        &["BITFIELD", "f", "GET", "u8", "8388608"],
        &["BITFIELD", "f", "SET", "i64", "8388607", "-1"],
        &["STRLEN", "f"],
        &["BITFIELD", "f", "GET", "i16", "#524287", "GET", "i16", "#524288"],
        &["BITOP", "AND", "d", "k", "f"],
        &["BITCOUNT", "d"],
    ]);
    compare(&roost, &redis, cases, 0);
}

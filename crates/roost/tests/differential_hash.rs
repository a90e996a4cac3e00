//! Differential tests for hashes: random command streams against Roost and a real
//! redis-server, replies compared after `normalize` (which sorts what a hashtable orders its
//! own way). Encodings are compared too, through OBJECT ENCODING, at the default thresholds and
//! at small ones that make conversions frequent.

mod common;
use common::differential::*;
use common::*;

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];

fn key(r: &mut Rng) -> String {
    // Few keys so commands meet each other's hashes; one string; two sharing a hash tag.
    ["h0", "h1", "h2", "s0", "{t}a", "{t}b"][r.below(6) as usize].to_string()
}

/// `long` is a length just past the value limit under test, so conversions happen.
fn field(r: &mut Rng, long: usize) -> String {
    match r.below(12) {
        0 => "f".repeat(long),
        1 => "".into(),
        2 => r.below(5).to_string(),
        _ => format!("f{}", r.below(8)),
    }
}

fn value(r: &mut Rng, long: usize) -> String {
    match r.below(10) {
        0 => r.below(100).to_string(),
        1 => format!("-{}", r.below(1000)),
        2 => "9223372036854775807".into(),
        3 => "3.5".into(),
        4 => "".into(),
        5 => "0123".into(),
        6 => "v".repeat(long),
        7 => "1e10".into(),
        _ => format!("v{}", r.below(1000)),
    }
}

fn hash_command(r: &mut Rng, long: usize) -> Cmd {
    let k = key(r);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let mut c: Vec<String> = match r.below(34) {
        0..=3 => {
            let mut c = vec![r.pick(&["HSET", "HSET", "HMSET"]).to_string(), k];
            for _ in 0..=r.below(3) {
                c.push(field(r, long));
                c.push(value(r, long));
            }
            c
        }
        4 => vec!["HSETNX".into(), k, field(r, long), value(r, long)],
        5 | 6 => vec!["HGET".into(), k, field(r, long)],
        7 => vec!["HMGET".into(), k, field(r, long), field(r, long), field(r, long)],
        8 => vec!["HGETALL".into(), k],
        9 => vec!["HKEYS".into(), k],
        10 => vec!["HVALS".into(), k],
        11 | 12 => {
            let mut c = vec!["HDEL".to_string(), k];
            for _ in 0..=r.below(3) {
                c.push(field(r, long));
            }
            c
        }
        13 => vec!["HLEN".into(), k],
        14 => vec!["HEXISTS".into(), k, field(r, long)],
        15 | 16 => vec![
            "HINCRBY".into(),
            k,
            field(r, long),
            r.pick(&["1", "-1", "100", "x", "9223372036854775807", "-9223372036854775808", "1.5"]).into(),
        ],
        17 | 18 => vec![
            "HINCRBYFLOAT".into(),
            k,
            field(r, long),
            r.pick(&["0.1", "1.5", "-2.25", "1e3", "abc", "inf", "10", "3.0e-2", " 1"]).into(),
        ],
        19 => vec!["HSTRLEN".into(), k, field(r, long)],
        20 => vec!["HRANDFIELD".into(), k],
        21 => {
            let mut c = vec!["HRANDFIELD".to_string(), k, r.pick(&["0", "1", "2", "5", "100", "-1", "-7", "x"]).into()];
            if r.below(2) == 0 {
                c.push(r.pick(&["WITHVALUES", "withvalues", "WITHVALUE"]).into());
            }
            c
        }
        22 => s(&["HRANDFIELD", &k, "-9223372036854775808"]),
        23 => s(&["HRANDFIELD", &k, "4611686018427387904", "WITHVALUES"]),
        // COUNT above any hash here: a hashtable then answers whole in one call on both sides.
        24 => {
            let mut c = s(&["HSCAN", &k, "0", "COUNT", "1000"]);
            if r.below(2) == 0 {
                c.extend(s(&["MATCH", r.pick(&["f*", "*", "f[0-3]", "?", "v*"])]));
            }
            c
        }
        25 => s(&["HSCAN", &k, r.pick(&["x", "0"]), "COUNT", r.pick(&["0", "x", "-1"])]),
        26 => vec!["TYPE".into(), k],
        27 => vec!["OBJECT".into(), "ENCODING".into(), k],
        28 => {
            let mut c = vec!["COPY".to_string(), k, key(r)];
            if r.below(2) == 0 {
                c.push("REPLACE".into());
            }
            c
        }
        29 => vec!["RENAME".into(), k, key(r)],
        30 => vec!["DEBUG".into(), "DIGEST-VALUE".into(), k, key(r)],
        31 => s(&["DEBUG", "DIGEST"]),
        32 => vec!["SET".into(), k, value(r, long)],
        _ => vec!["DEL".into(), k],
    };
    // Now and then an argument too few, for the arity errors.
    if r.below(40) == 0 && c.len() > 1 {
        c.pop();
    }
    c
}

fn run_streams(roost: &TestServer, redis: &TestServer, long: usize, salt: u64) {
    for seed in 1..=40u64 {
        let mut r = Rng(seed.wrapping_mul(salt));
        let cmds: Vec<Cmd> = (0..400).map(|_| hash_command(&mut r, long)).collect();
        compare(roost, redis, cmds, seed);
    }
}

#[test]
fn random_hash_commands_match_redis() {
    let roost = TestServer::start(DEBUG);
    let redis = TestServer::start_redis_with(DEBUG);
    run_streams(&roost, &redis, 65, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn random_hash_commands_match_redis_with_small_thresholds() {
    let small = ["--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8"];
    let roost = TestServer::start(&[DEBUG, &small].concat());
    let redis = TestServer::start_redis_with(&[DEBUG, &small].concat());
    run_streams(&roost, &redis, 9, 0xD1B5_4A32_D192_ED03);
}

#[test]
fn hash_error_replies_match_redis() {
    let roost = TestServer::start(DEBUG);
    let redis = TestServer::start_redis_with(DEBUG);
    let cases: Vec<Cmd> = [
        &["HSET", "h", "a", "1", "n", "9223372036854775807", "s", "abc", "m", "-9223372036854775808"][..],
        &["HSET", "h", "a"],
        &["HSET", "h", "a", "1", "b"],
        &["HMSET", "h", "a", "1", "b"],
        &["HSETNX", "h", "a"],
        &["HGET", "h"],
        &["HMGET", "h"],
        &["HGETALL"],
        &["HDEL", "h"],
        &["HINCRBY", "h", "n", "1"],
        &["HINCRBY", "h", "m", "-1"],
        &["HINCRBY", "h", "s", "1"],
        &["HINCRBY", "h", "a", "1.0"],
        &["HINCRBYFLOAT", "h", "s", "1"],
        &["HINCRBYFLOAT", "h", "a", "nan"],
        &["HINCRBYFLOAT", "h", "a", "-inf"],
        &["HINCRBYFLOAT", "h", "a", ""],
        &["HINCRBYFLOAT", "h", "n", "1e4932"],
        &["HINCRBYFLOAT", "h", "n", "1.5"],
        &["HRANDFIELD", "h", "1", "2"],
        &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
        &["HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES", "x"],
        &["HSCAN", "h", "0", "TYPE", "hash"],
        &["HSCAN", "h", "0", "MATCH"],
        &["HSCAN", "h", "0", "NOPE", "1"],
        &["HSCAN", "h", "1.5"],
        &["HSCAN", "h", "18446744073709551616"],
        &["HSCAN", "nokey", "0", "BAD"],
        &["SET", "str", "x"],
        &["HGET", "str", "a"],
        &["HSET", "str", "a", "b"],
        &["HRANDFIELD", "str", "x"],
        &["HSCAN", "str", "x"],
        &["HSCAN", "str", "0", "BAD"],
        &["HINCRBY", "str", "a", "x"],
        &["HINCRBYFLOAT", "str", "a", "x"],
        &["DEBUG", "DIGEST-VALUE", "h", "str", "nokey"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    compare(&roost, &redis, cases, 0);
}

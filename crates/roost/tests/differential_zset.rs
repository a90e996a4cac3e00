//! Differential tests for sorted sets: random command streams against Roost and a real
//! redis-server, replies compared after `normalize` (which reduces random picks to their shape
//! and sorts skiplist scans). Encodings are compared through OBJECT ENCODING, and contents
//! through DEBUG DIGEST-VALUE, at the default thresholds and at small ones.

mod common;
use common::differential::*;
use common::*;

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];

/// Few keys so commands meet each other's sets: three sorted sets, a string, a plain set, two
/// sharing a hash tag. `l*` keys only ever get score 0, for the lex commands.
fn key(r: &mut Rng) -> String {
    ["z0", "z1", "z2", "s0", "st", "{t}a", "{t}b"][r.below(7) as usize].to_string()
}

fn lex_key(r: &mut Rng) -> String {
    ["l0", "l1"][r.below(2) as usize].to_string()
}

fn member(r: &mut Rng, long: usize) -> String {
    match r.below(14) {
        0 => "m".repeat(long),
        1 => "".into(),
        2 => r.below(5).to_string(),
        _ => format!("m{}", r.below(10)),
    }
}

fn score(r: &mut Rng) -> String {
    r.pick(&["0", "1", "2", "-1", "1.5", "-2.5", "3", "10", "+inf", "-inf", "1e3", "0x10", "-0", "7", "5", "x", "nan"])
        .into()
}

fn bound(r: &mut Rng) -> String {
    r.pick(&["-inf", "+inf", "0", "1", "(1", "2", "(2", "-1", "1.5", "(5", "10", "x", "", "(", "inf"]).into()
}

fn lex(r: &mut Rng) -> String {
    r.pick(&["-", "+", "[m1", "(m1", "[m5", "(m5", "[", "(", "[2", "m1", "[mz"]).into()
}

fn rank(r: &mut Rng) -> String {
    r.pick(&["0", "1", "2", "-1", "-2", "5", "-100", "100", "x"]).into()
}

fn zset_command(r: &mut Rng, long: usize) -> Cmd {
    let k = key(r);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let mut c: Vec<String> = match r.below(48) {
        0..=4 => {
            let mut c = vec!["ZADD".to_string(), k];
            for _ in 0..r.below(3) {
                c.push(r.pick(&["NX", "XX", "GT", "LT", "CH", "INCR"]).into());
            }
            for _ in 0..=r.below(3) {
                c.push(score(r));
                c.push(member(r, long));
            }
            c
        }
        5 => vec!["ZINCRBY".into(), k, score(r), member(r, long)],
        6 | 7 => {
            let mut c = vec!["ZREM".to_string(), k];
            for _ in 0..=r.below(3) {
                c.push(member(r, long));
            }
            c
        }
        8 => vec!["ZCARD".into(), k],
        9 => vec!["ZSCORE".into(), k, member(r, long)],
        10 => vec!["ZMSCORE".into(), k, member(r, long), member(r, long)],
        11 => vec![r.pick(&["ZRANK", "ZREVRANK"]).into(), k, member(r, long)],
        12 => vec!["ZCOUNT".into(), k, bound(r), bound(r)],
        13 | 14 => {
            let mut c = vec!["ZRANGE".to_string(), k, rank(r), rank(r)];
            match r.below(4) {
                0 => c = vec!["ZRANGE".to_string(), c[1].clone(), bound(r), bound(r), "BYSCORE".into()],
                1 => c = vec!["ZRANGE".to_string(), lex_key(r), lex(r), lex(r), "BYLEX".into()],
                _ => {}
            }
            for _ in 0..r.below(3) {
                match r.below(4) {
                    0 => c.push("REV".into()),
                    1 => c.push("WITHSCORES".into()),
                    2 => c.extend(s(&["LIMIT", r.pick(&["0", "1", "-1", "x"]), r.pick(&["1", "2", "-1", "0"])])),
                    _ => c.push(r.pick(&["BYSCORE", "BYLEX", "junk"]).into()),
                }
            }
            c
        }
        15 | 16 => {
            let mut c = vec![r.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]).to_string(), k, bound(r), bound(r)];
            if r.below(2) == 0 {
                c.push("WITHSCORES".into());
            }
            if r.below(2) == 0 {
                c.extend(s(&["LIMIT", r.pick(&["0", "1", "2", "-1"]), r.pick(&["1", "2", "-1", "0", "10"])]));
            }
            c
        }
        17 => {
            let mut c = vec![r.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]).to_string(), lex_key(r), lex(r), lex(r)];
            if r.below(2) == 0 {
                c.extend(s(&["LIMIT", r.pick(&["0", "1", "-1"]), r.pick(&["1", "2", "-1"])]));
            }
            c
        }
        18 => {
            let mut c = vec!["ZREVRANGE".to_string(), k, rank(r), rank(r)];
            if r.below(2) == 0 {
                c.push("WITHSCORES".into());
            }
            c
        }
        19 => {
            let mut c = vec!["ZRANGESTORE".to_string(), key(r), k, rank(r), rank(r)];
            if r.below(2) == 0 {
                c = vec!["ZRANGESTORE".to_string(), c[1].clone(), c[2].clone(), bound(r), bound(r), "BYSCORE".into()];
            }
            if r.below(3) == 0 {
                c.push("REV".into());
            }
            c
        }
        20 => vec!["ZREMRANGEBYRANK".into(), k, rank(r), rank(r)],
        21 => vec!["ZREMRANGEBYSCORE".into(), k, bound(r), bound(r)],
        22 => vec!["ZREMRANGEBYLEX".into(), lex_key(r), lex(r), lex(r)],
        23 => vec!["ZLEXCOUNT".into(), lex_key(r), lex(r), lex(r)],
        24 | 25 => {
            let mut c = vec![r.pick(&["ZPOPMIN", "ZPOPMAX"]).to_string(), k];
            if r.below(2) == 0 {
                c.push(r.pick(&["0", "1", "2", "10", "-1", "x"]).into());
            }
            c
        }
        26 => {
            let mut c = s(&["ZMPOP", "2", &k, &key(r), r.pick(&["MIN", "MAX", "min", "mid"])]);
            if r.below(2) == 0 {
                c.extend(s(&["COUNT", r.pick(&["1", "3", "0", "x"])]));
            }
            c
        }
        27..=30 => {
            let name = r.pick(&["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
            let mut c = vec![name.to_string()];
            if name.ends_with("STORE") {
                c.push(key(r));
            }
            let n = 1 + r.below(3) as usize;
            c.push(n.to_string());
            for _ in 0..n {
                c.push(key(r));
            }
            if r.below(2) == 0 {
                c.push("WEIGHTS".into());
                for _ in 0..n {
                    c.push(r.pick(&["1", "2", "0.5", "-1", "0", "inf", "x"]).into());
                }
            }
            if r.below(2) == 0 {
                c.extend(s(&["AGGREGATE", r.pick(&["SUM", "MIN", "MAX", "avg"])]));
            }
            if !name.ends_with("STORE") && r.below(2) == 0 {
                c.push("WITHSCORES".into());
            }
            c
        }
        31 => {
            let mut c = s(&["ZINTERCARD", r.pick(&["1", "2", "0"]), &k, &key(r)]);
            if r.below(2) == 0 {
                c.extend(s(&["LIMIT", r.pick(&["0", "1", "-1"])]));
            }
            c
        }
        32 => vec!["ZRANDMEMBER".into(), k],
        33 => {
            let mut c = vec!["ZRANDMEMBER".to_string(), k, r.pick(&["0", "1", "3", "100", "-1", "-5", "x"]).into()];
            if r.below(2) == 0 {
                c.push(r.pick(&["WITHSCORES", "withscores", "WITHSCORE"]).into());
            }
            c
        }
        34 => {
            let mut c = s(&["ZSCAN", &k, "0", "COUNT", "1000"]);
            if r.below(2) == 0 {
                c.extend(s(&["MATCH", r.pick(&["m*", "*", "m[0-3]", "?"])]));
            }
            c
        }
        35 => s(&["ZSCAN", &k, r.pick(&["x", "0"]), "COUNT", r.pick(&["0", "x", "-1"])]),
        36 => vec!["TYPE".into(), k],
        37 | 38 => vec!["OBJECT".into(), "ENCODING".into(), k],
        39 => vec!["DEBUG".into(), "DIGEST-VALUE".into(), k, key(r)],
        40 => vec!["SET".into(), k, "v".into()],
        41 => vec!["SADD".into(), k, member(r, long), member(r, long)],
        42..=44 => {
            let mut c = vec!["ZADD".to_string(), lex_key(r)];
            for _ in 0..=r.below(3) {
                c.push("0".into());
                c.push(member(r, long));
            }
            c
        }
        45 => vec!["ZRANGE".into(), lex_key(r), "0".into(), "-1".into()],
        46 => vec!["DEL".into(), k],
        _ => s(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]),
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
        let cmds: Vec<Cmd> = (0..400).map(|_| zset_command(&mut r, long)).collect();
        compare(roost, redis, cmds, seed);
    }
}

#[test]
fn random_zset_commands_match_redis() {
    let roost = TestServer::start(DEBUG);
    let redis = TestServer::start_redis_with(DEBUG);
    run_streams(&roost, &redis, 65, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn random_zset_commands_match_redis_with_small_thresholds() {
    let small = ["--zset-max-listpack-entries", "4", "--zset-max-listpack-value", "8"];
    let roost = TestServer::start(&[DEBUG, &small].concat());
    let redis = TestServer::start_redis_with(&[DEBUG, &small].concat());
    run_streams(&roost, &redis, 9, 0xD1B5_4A32_D192_ED03);
}

#[test]
fn zset_error_replies_match_redis() {
    let roost = TestServer::start(DEBUG);
    let redis = TestServer::start_redis_with(DEBUG);
    let cases: Vec<Cmd> = [
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "1.5", "d"][..],
        &["ZADD", "z", "NX", "XX", "1", "a"],
        &["ZADD", "z", "GT", "LT", "1", "a"],
        &["ZADD", "z", "GT", "NX", "1", "a"],
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        &["ZADD", "z", "1", "a", "2"],
        &["ZADD", "z", "x", "a"],
        &["ZADD", "z", "nan", "a"],
        &["ZADD", "z", "1e400", "a"],
        &["ZADD", "z", " 1", "a"],
        &["ZADD", "z", "INCR", "+inf", "a"],
        &["ZADD", "z", "INCR", "-inf", "a"],
        &["ZADD", "z", "XX", "INCR", "1", "nosuch"],
        &["ZADD", "z", "NX", "INCR", "1", "a"],
        &["ZINCRBY", "z", "x", "a"],
        &["ZRANGEBYSCORE", "z", "x", "1"],
        &["ZRANGEBYSCORE", "z", "1 ", "1"],
        &["ZRANGEBYSCORE", "z", "0", "10", "REV"],
        &["ZRANGEBYLEX", "z", "a", "+"],
        &["ZRANGEBYLEX", "z", "", "+"],
        &["ZRANGE", "z", "0", "-1", "BYLEX", "WITHSCORES"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0"],
        &["ZRANGE", "z", "0", "-1", "REV", "REV"],
        &["ZRANGE", "z", "(1", "5", "BYSCORE", "LIMIT", "x", "1"],
        &["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"],
        &["ZCOUNT", "z", "x", "1"],
        &["ZLEXCOUNT", "z", "x", "1"],
        &["ZREMRANGEBYRANK", "z", "x", "1"],
        &["ZPOPMIN", "z", "-1"],
        &["ZPOPMIN", "z", "1", "2"],
        &["ZMPOP", "0", "z", "MIN"],
        &["ZMPOP", "2", "z", "MIN"],
        &["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
        &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"],
        &["ZUNION", "0", "z"],
        &["ZUNIONSTORE", "d", "0", "z"],
        &["ZUNION", "2", "z"],
        &["ZUNION", "x", "z"],
        &["ZUNION", "1", "z", "WEIGHTS", "1", "2"],
        &["ZUNION", "1", "z", "WEIGHTS", "x"],
        &["ZUNION", "1", "z", "AGGREGATE", "foo"],
        &["ZUNIONSTORE", "d", "1", "z", "WITHSCORES"],
        &["ZDIFF", "1", "z", "WEIGHTS", "1"],
        &["ZINTERCARD", "0", "z"],
        &["ZINTERCARD", "1", "z", "LIMIT", "-1"],
        &["ZRANDMEMBER", "z", "-9223372036854775808"],
        &["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"],
        &["ZRANDMEMBER", "z", "1", "foo"],
        &["ZSCAN", "z", "x"],
        &["ZSCAN", "z", "0", "COUNT", "0"],
        &["BZPOPMIN", "z", "x"],
        &["BZPOPMIN", "z", "-1"],
        &["BZMPOP", "0", "0", "z", "MIN"],
        &["BZMPOP", "x", "1", "z", "MIN"],
        &["BZPOPMIN", "z", "nokey", "0"],
        &["BZPOPMAX", "nokey", "z", "0"],
        &["BZMPOP", "0", "2", "nokey", "z", "MAX", "COUNT", "2"],
        &["SET", "str", "x"],
        &["ZADD", "str", "1", "a"],
        &["ZPOPMIN", "str", "0"],
        &["ZUNION", "2", "z", "str", "WEIGHTS", "x"],
        &["ZRANGESTORE", "dst", "str", "0", "0"],
        &["TYPE", "str"],
        &["BZPOPMIN", "str", "0"],
        &["ZMPOP", "2", "nokey", "str", "MIN"],
        &["DEBUG", "DIGEST-VALUE", "z", "d", "str", "nokey"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    compare(&roost, &redis, cases, 0);
}

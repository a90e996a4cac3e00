//! Differential tests for sets: random command streams against Roost and a real redis-server.
//! Random picks (SPOP, SRANDMEMBER) are compared by shape only (see `normalize`), and a partial
//! SPOP is followed by SCARD and DEL so the two servers' sets never drift apart.

mod common;
use common::differential::*;
use common::*;

fn key(r: &mut Rng) -> String {
    // Few keys, so commands keep meeting each other's values; two share a hash tag.
    ["s0", "s1", "s2", "str", "{t}a", "{t}b"][r.below(6) as usize].to_string()
}

/// Members: small integers (intset), integers of every width, strings that look like integers
/// but are not canonical, and strings of various lengths.
fn member(r: &mut Rng) -> String {
    match r.below(9) {
        0 | 1 => r.below(20).to_string(),
        2 => format!("-{}", r.below(5)),
        3 => ["70000", "-2147483649", "9223372036854775807", "-9223372036854775808"][r.below(4) as usize].into(),
        4 => ["01", "-0", "+1", "9223372036854775808", ""][r.below(5) as usize].into(),
        5 => "x".repeat(r.below(70) as usize),
        _ => format!("m{}", r.below(15)),
    }
}

fn members(r: &mut Rng, c: &mut Cmd, at_least: u64) {
    for _ in 0..at_least + r.below(4) {
        c.push(member(r));
    }
}

fn s(items: &[&str]) -> Cmd {
    items.iter().map(|x| x.to_string()).collect()
}

fn keys(r: &mut Rng, c: &mut Cmd) {
    for _ in 0..1 + r.below(3) {
        c.push(key(r));
    }
}

fn set_command(r: &mut Rng) -> Vec<Cmd> {
    let k = key(r);
    let one = |c: Cmd| vec![c];
    match r.below(34) {
        0..=4 => {
            let mut c = s(&["SADD", &k]);
            members(r, &mut c, 1);
            one(c)
        }
        5 | 6 => {
            let mut c = s(&["SREM", &k]);
            members(r, &mut c, 1);
            one(c)
        }
        7 => one(s(&["SMEMBERS", &k])),
        8 => one(s(&["SISMEMBER", &k, &member(r)])),
        9 => {
            let mut c = s(&["SMISMEMBER", &k]);
            members(r, &mut c, 1);
            one(c)
        }
        10 => one(s(&["SCARD", &k])),
        // SPOP taking everything (or nothing, or failing) is deterministic as it stands.
        11 => one(s(&["SPOP", &k, r.pick(&["1000", "0", "-1", "x"])])),
        // A partial or single SPOP: its effect is random, so the key is measured and dropped.
        12 => {
            let mut pop = s(&["SPOP", &k]);
            if r.below(2) == 0 {
                pop.push(r.below(4).to_string());
            }
            vec![pop, s(&["SCARD", &k]), s(&["DEL", &k])]
        }
        13 => one(s(&["SRANDMEMBER", &k])),
        14 => one(s(&["SRANDMEMBER", &k, r.pick(&["0", "1", "3", "100", "-1", "-5", "x"])])),
        15 => one(s(&["SMOVE", &k, &key(r), &member(r)])),
        16 | 17 => {
            let name = r.pick(&["SINTER", "SUNION", "SDIFF"]);
            let mut c = s(&[name, &k]);
            keys(r, &mut c);
            one(c)
        }
        18 | 19 => {
            let name = r.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
            let mut c = s(&[name, &k]);
            keys(r, &mut c);
            one(c)
        }
        20 => {
            let n = 1 + r.below(3);
            let mut c = s(&["SINTERCARD", &n.to_string()]);
            for _ in 0..n {
                c.push(key(r));
            }
            if r.below(2) == 0 {
                c.push("LIMIT".into());
                c.push(r.pick(&["0", "1", "2", "-1", "x"]).into());
            }
            one(c)
        }
        21 => one(s(&["SINTERCARD", r.pick(&["0", "-1", "x", "5"]), &k, &key(r)])),
        22 => {
            let mut c = s(&["SSCAN", &k, "0", "COUNT", "1000"]);
            if r.below(2) == 0 {
                c.push("MATCH".into());
                c.push(r.pick(&["m*", "1*", "*x", "?"]).into());
            }
            one(c)
        }
        23 => one(s(&["SSCAN", &k, r.pick(&["x", "0"]), "COUNT", r.pick(&["0", "x", "-1"])])),
        24 => one(s(&["OBJECT", "ENCODING", &k])),
        25 => one(s(&["TYPE", &k])),
        26 => one(s(&["COPY", &k, &key(r), "REPLACE"])),
        27 => one(s(&["RENAME", &k, &key(r)])),
        28 => one(s(&["SCANALL", "TYPE", "set"])),
        29 => one(s(&["SET", "str", "v"])),
        30 => one(s(&["DEL", &k])),
        31 => one(s(&["EXPIRE", &k, "1000"])),
        32 => one(s(&["TTL", &k])),
        _ => one(s(&["EXISTS", &k])),
    }
}

fn run_streams(roost: &TestServer, redis: &TestServer, salt: u64) {
    for seed in 1..=40u64 {
        let mut r = Rng(seed.wrapping_mul(salt));
        let cmds: Vec<Cmd> = (0..300).flat_map(|_| set_command(&mut r)).collect();
        compare(roost, redis, cmds, seed);
    }
}

#[test]
fn random_set_commands_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    run_streams(&roost, &redis, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn random_set_commands_match_redis_with_small_intsets() {
    let small = ["--set-max-intset-entries", "3"];
    let roost = TestServer::start(&small);
    let redis = TestServer::start_redis_with(&small);
    run_streams(&roost, &redis, 0xD1B5_4A32_D192_ED03);
}

#[test]
fn set_error_replies_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let cases: Vec<Cmd> = [
        &["SADD", "s", "1", "2", "3"][..],
        &["SADD", "h", "a", "b"],
        &["SET", "str", "v"],
        &["SADD", "s"],
        &["SADD", "str", "1"],
        &["SREM", "str", "1"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "1"],
        &["SMISMEMBER", "str", "1"],
        &["SCARD", "str"],
        &["SPOP", "s", "-1"],
        &["SPOP", "s", "x"],
        &["SPOP", "nokey", "-1"],
        &["SPOP", "s", "1", "2"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "s", "x"],
        &["SRANDMEMBER", "s", "1", "2"],
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        &["SRANDMEMBER", "str", "1"],
        &["SMOVE", "s", "str", "1"],
        &["SMOVE", "str", "s", "1"],
        &["SMOVE", "nokey", "str", "1"],
        &["SMOVE", "s", "s", "1"],
        &["SINTER", "nokey", "str"],
        &["SUNION", "s", "str"],
        &["SDIFF", "nokey", "str"],
        &["SINTERSTORE", "d", "str"],
        &["SINTERCARD", "0", "s"],
        &["SINTERCARD", "-1", "s"],
        &["SINTERCARD", "x", "s"],
        &["SINTERCARD", "99999999999999999999", "s"],
        &["SINTERCARD", "3", "s", "h"],
        &["SINTERCARD", "1", "s", "LIMIT", "-1"],
        &["SINTERCARD", "1", "s", "LIMIT", "x"],
        &["SINTERCARD", "1", "s", "LIMIT"],
        &["SINTERCARD", "1", "s", "FOO"],
        &["SINTERCARD", "1", "str", "FOO"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SINTERCARD", "1", "s", "LIMIT", "2"],
        &["SSCAN", "s", "x"],
        &["SSCAN", "nokey", "x"],
        &["SSCAN", "nokey", "0", "COUNT", "0"],
        &["SSCAN", "s", "0", "COUNT", "0"],
        &["SSCAN", "s", "0", "COUNT", "x"],
        &["SSCAN", "s", "0", "TYPE", "set"],
        &["SSCAN", "s", "0", "MATCH"],
        &["SSCAN", "str", "0", "COUNT", "0"],
        &["SSCAN", "s", "18446744073709551616"],
        &["SUNIONSTORE", "str", "s"],
        &["TYPE", "str"],
        &["OBJECT", "ENCODING", "str"],
        &["OBJECT", "ENCODING", "h"],
    ]
    .iter()
    .map(|c| s(c))
    .collect();
    compare(&roost, &redis, cases, 0);
}

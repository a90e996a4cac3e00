//! Differential tests for lists: random command streams against Roost and a real redis-server,
//! replies compared byte for byte, once with default node sizes and once with tiny nodes so that
//! splits and merges happen on both sides.

mod common;
use common::differential::*;
use common::*;

fn key(r: &mut Rng) -> String {
    // Few keys so commands keep meeting each other's lists; two share a hash tag.
    r.pick(&["l0", "l1", "l2", "{t}a", "{t}b", "str"]).to_string()
}

fn value(r: &mut Rng) -> String {
    match r.below(10) {
        0 => r.below(5).to_string(),
        1 => format!("-{}", r.below(3)),
        2 => "1600000000000000001".into(),
        3 => "01".into(),
        4 => "".into(),
        5 => "y".repeat(100 + r.below(200) as usize),
        _ => format!("v{}", r.below(6)),
    }
}

fn index(r: &mut Rng) -> String {
    match r.below(8) {
        0 => "x".into(),
        1 => "9223372036854775807".into(),
        2 => "-9223372036854775808".into(),
        3 | 4 => format!("-{}", r.below(12)),
        _ => r.below(12).to_string(),
    }
}

fn side(r: &mut Rng) -> String {
    r.pick(&["LEFT", "RIGHT", "left", "right", "UP"]).to_string()
}

fn list_command(r: &mut Rng) -> Cmd {
    let k = key(r);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let mut c: Vec<String> = match r.below(32) {
        0..=3 => {
            let mut c = vec![r.pick(&["LPUSH", "RPUSH"]).to_string(), k];
            for _ in 0..=r.below(5) {
                c.push(value(r));
            }
            c
        }
        4 => vec![r.pick(&["LPUSHX", "RPUSHX"]).into(), k, value(r), value(r)],
        5 | 6 => vec![r.pick(&["LPOP", "RPOP"]).into(), k],
        7 => vec![r.pick(&["LPOP", "RPOP"]).into(), k, r.pick(&["0", "1", "3", "-1", "x", "100"]).into()],
        8 | 9 => vec!["LRANGE".into(), k, index(r), index(r)],
        10 => vec!["LINDEX".into(), k, index(r)],
        11 => vec!["LSET".into(), k, index(r), value(r)],
        12 | 13 => vec!["LINSERT".into(), k, r.pick(&["BEFORE", "AFTER", "after", "NEAR"]).into(), value(r), value(r)],
        14 | 15 => vec!["LREM".into(), k, r.pick(&["0", "1", "-1", "2", "-2", "x"]).into(), value(r)],
        16 => vec!["LTRIM".into(), k, index(r), index(r)],
        17 => vec!["LLEN".into(), k],
        18 | 19 => {
            let mut c = vec!["LPOS".to_string(), k, value(r)];
            for _ in 0..r.below(3) {
                match r.below(4) {
                    0 => c.extend(s(&["RANK", r.pick(&["1", "2", "-1", "-3", "0", "x"])])),
                    1 => c.extend(s(&["COUNT", r.pick(&["0", "1", "2", "-1"])])),
                    2 => c.extend(s(&["MAXLEN", r.pick(&["0", "2", "5", "-1"])])),
                    _ => c.push(r.pick(&["RANK", "BAD"]).into()),
                }
            }
            c
        }
        20 | 21 => vec!["LMOVE".into(), k, key(r), side(r), side(r)],
        22 => vec!["RPOPLPUSH".into(), k, key(r)],
        23 | 24 => {
            let n = r.below(3) + 1;
            let mut c = vec!["LMPOP".to_string(), r.pick(&["1", "2", "3", "0", "x"]).to_string()];
            for _ in 0..n {
                c.push(key(r));
            }
            c.push(side(r));
            if r.below(2) == 0 {
                c.extend(s(&["COUNT", r.pick(&["1", "2", "10", "0", "-1"])]));
            }
            c
        }
        25 => vec!["TYPE".into(), k],
        26 => vec!["COPY".into(), k, key(r)],
        27 => vec!["RENAME".into(), k, key(r)],
        28 => vec!["SET".into(), "str".into(), value(r)],
        29 => vec!["OBJECT".into(), "ENCODING".into(), k],
        30 => vec!["DEL".into(), k],
        _ => vec!["LRANGE".into(), k, "0".into(), "-1".into()],
    };
    if c[0] == "COPY" && r.below(2) == 0 {
        c.push("REPLACE".into());
    }
    c
}

fn run_seeds(extra_config: Option<&str>, salt: u64) {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    if let Some(size) = extra_config {
        for port in [roost.port, redis.port] {
            let mut c = RawClient::connect(port);
            assert_eq!(c.cmd_str(&["CONFIG", "SET", "list-max-listpack-size", size]), "+OK\r\n");
        }
    }
    for seed in 1..=40u64 {
        let mut r = Rng(seed.wrapping_mul(salt) | 1);
        let cmds: Vec<Cmd> = (0..500).map(|_| list_command(&mut r)).collect();
        compare(&roost, &redis, cmds, seed);
    }
}

#[test]
fn random_list_commands_match_redis() {
    run_seeds(None, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn random_list_commands_match_redis_with_tiny_nodes() {
    run_seeds(Some("3"), 0xD1B5_4A32_D192_ED03);
}

#[test]
fn random_list_commands_match_redis_with_small_byte_nodes() {
    run_seeds(Some("-1"), 0xA24B_AED4_963E_E407);
}

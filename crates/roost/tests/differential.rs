//! Differential tests: the same random command streams against Roost and a real redis-server,
//! replies compared byte for byte. A failure prints the shortest sequence found that still differs.

mod common;
use common::*;

/// A deterministic generator so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

type Cmd = Vec<String>;

fn key(r: &mut Rng) -> String {
    // Few keys, so commands keep meeting each other's values; one with a hash tag.
    ["k0", "k1", "k2", "k3", "{t}a", "{t}b"][r.below(6) as usize].to_string()
}

fn value(r: &mut Rng) -> String {
    match r.below(8) {
        0 => r.below(100).to_string(),
        1 => format!("-{}", r.below(1000)),
        2 => "9223372036854775807".into(),
        3 => "3.5".into(),
        4 => "".into(),
        5 => "0123".into(),
        6 => "x".repeat(r.below(60) as usize),
        _ => format!("v{}", r.below(1000)),
    }
}

fn int_arg(r: &mut Rng) -> String {
    match r.below(6) {
        0 => "-1".into(),
        1 => "0".into(),
        2 => "abc".into(),
        3 => "9223372036854775807".into(),
        _ => r.below(20).to_string(),
    }
}

fn string_command(r: &mut Rng) -> Cmd {
    let k = key(r);
    let v = value(r);
    let c: Vec<String> = match r.below(30) {
        0 => vec!["SET".into(), k, v],
        1 => {
            let mut c = vec!["SET".to_string(), k, v];
            for _ in 0..r.below(3) {
                let opt = r.pick(&["NX", "XX", "GET", "KEEPTTL", "EX", "PX", "EXAT", "PXAT", "BAD"]);
                c.push(opt.into());
                if matches!(opt, "EX" | "PX") {
                    c.push(["100000", "0", "-5", "x"][r.below(4) as usize].into());
                } else if matches!(opt, "EXAT" | "PXAT") {
                    c.push("99999999999".into());
                }
            }
            c
        }
        2 | 3 => vec!["GET".into(), k],
        4 => vec!["SETNX".into(), k, v],
        5 => vec!["SETEX".into(), k, int_arg(r), v],
        6 => vec!["GETSET".into(), k, v],
        7 => vec!["GETDEL".into(), k],
        8 => vec!["GETEX".into(), k, r.pick(&["PERSIST", "EX", "PX"]).into(), "100000".into()],
        9 => vec!["MGET".into(), k, key(r), key(r)],
        10 => vec!["MSET".into(), k, v, key(r), value(r)],
        11 => vec!["MSETNX".into(), k, v, key(r), value(r)],
        12 => vec!["APPEND".into(), k, v],
        13 => vec!["STRLEN".into(), k],
        14 => vec!["GETRANGE".into(), k, int_arg(r), int_arg(r)],
        15 => vec!["GETRANGE".into(), k, format!("-{}", r.below(10)), format!("-{}", r.below(10))],
        16 => vec!["SETRANGE".into(), k, int_arg(r), v],
        17 | 18 => vec!["INCR".into(), k],
        19 => vec!["DECR".into(), k],
        20 => vec!["INCRBY".into(), k, int_arg(r)],
        21 => vec!["DECRBY".into(), k, int_arg(r)],
        22 => vec!["INCRBYFLOAT".into(), k, r.pick(&["0.1", "1.5", "-2.25", "1e3", "abc", "10"]).into()],
        23 => vec!["SUBSTR".into(), k, int_arg(r), int_arg(r)],
        24 => vec!["LCS".into(), "{t}a".into(), "{t}b".into()],
        25 => vec!["LCS".into(), "{t}a".into(), "{t}b".into(), "IDX".into(), "WITHMATCHLEN".into()],
        26 => vec!["LCS".into(), "{t}a".into(), "{t}b".into(), "LEN".into()],
        27 => vec!["PSETEX".into(), k, int_arg(r), v],
        28 => vec!["MSET".into(), k],
        _ => vec!["ECHO".into(), v],
    };
    c
}

fn run(port: u16, cmds: &[Cmd]) -> Vec<Vec<u8>> {
    let mut c = RawClient::connect(port);
    assert_eq!(c.cmd(&["FLUSHALL"]), b"+OK\r\n");
    cmds.iter()
        .map(|cmd| {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            c.cmd_bytes(&args)
        })
        .collect()
}

/// Index of the first reply that differs, if any.
fn first_difference(roost: u16, redis: u16, cmds: &[Cmd]) -> Option<usize> {
    let a = run(roost, cmds);
    let b = run(redis, cmds);
    a.iter().zip(&b).position(|(x, y)| x != y)
}

/// Drops commands one at a time while the streams still differ (bounded passes).
fn shrink(roost: u16, redis: u16, mut cmds: Vec<Cmd>) -> Vec<Cmd> {
    for _ in 0..3 {
        let mut i = 0;
        let mut changed = false;
        while i < cmds.len() {
            let mut candidate = cmds.clone();
            candidate.remove(i);
            if first_difference(roost, redis, &candidate).is_some() {
                cmds = candidate;
                changed = true;
            } else {
                i += 1;
            }
        }
        if !changed {
            break;
        }
    }
    cmds
}

fn compare(roost: &TestServer, redis: &TestServer, cmds: Vec<Cmd>, seed: u64) {
    if let Some(at) = first_difference(roost.port, redis.port, &cmds) {
        let cmds = shrink(roost.port, redis.port, cmds[..=at].to_vec());
        let a = run(roost.port, &cmds);
        let b = run(redis.port, &cmds);
        let mut report = format!("seed {seed}: replies differ; shortest sequence found:\n");
        for (i, c) in cmds.iter().enumerate() {
            report.push_str(&format!(
                "  {:?}\n    roost: {:?}\n    redis: {:?}\n",
                c,
                String::from_utf8_lossy(&a[i]),
                String::from_utf8_lossy(&b[i])
            ));
        }
        panic!("{report}");
    }
}

#[test]
fn random_string_commands_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    for seed in 1..=40u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let cmds: Vec<Cmd> = (0..400).map(|_| string_command(&mut r)).collect();
        compare(&roost, &redis, cmds, seed);
    }
}

#[test]
fn error_replies_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let cases: Vec<Cmd> = [
        &["SET", "k"][..],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "EX", "9223372036854775807"],
        &["SET", "k", "v", "PX", "1", "EX", "1"],
        &["SET", "k", "v", "NX", "XX"],
        &["SET", "k", "v", "KEEPTTL", "EX", "5"],
        &["GETEX", "k", "PERSIST", "EX", "5"],
        &["GETEX", "k", "EX", "-1"],
        &["SETEX", "k", "0", "v"],
        &["PSETEX", "k", "-3", "v"],
        &["INCRBY", "k", "1.5"],
        &["INCRBYFLOAT", "k", "nan"],
        &["INCRBYFLOAT", "k", " 1"],
        &["SET", "big", "9223372036854775807"],
        &["INCR", "big"],
        &["DECRBY", "big", "-9223372036854775808"],
        &["SET", "neg", "-9223372036854775808"],
        &["DECR", "neg"],
        &["INCRBYFLOAT", "big", "1e4932"],
        &["SETRANGE", "k", "-1", "x"],
        &["SETRANGE", "k", "536870911", "xx"],
        &["GETRANGE", "k", "a", "1"],
        &["LCS", "a", "b", "LEN", "IDX"],
        &["LCS", "a", "b", "MINMATCHLEN"],
        &["LCS", "a", "b", "FOO"],
        &["MSETNX", "a", "1", "b"],
        &["ECHO"],
        &["ECHO", "a", "b"],
        &["SELECT", "-1"],
        &["NOPE"],
        &["nope", "x"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    compare(&roost, &redis, cases, 0);
}

//! Differential tests: the same random command streams against Roost and a real redis-server,
//! replies compared byte for byte. A failure prints the shortest sequence found that still differs.

mod common;
use common::differential::*;
use common::*;

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
        5 => vec!["SETEX".into(), k, r.pick(&["-1", "0", "abc", "1000"]).into(), v],
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
        // Only expiry times far away (or invalid): a few milliseconds would race the test itself.
        27 => vec!["PSETEX".into(), k, r.pick(&["-1", "0", "abc", "100000"]).into(), v],
        28 => vec!["MSET".into(), k],
        _ => vec!["ECHO".into(), v],
    };
    c
}

fn keys_command(r: &mut Rng) -> Cmd {
    let k = key(r);
    let c: Vec<String> = match r.below(26) {
        0 => vec!["DEL".into(), k, key(r)],
        1 => vec!["UNLINK".into(), k],
        2 => vec!["EXISTS".into(), k.clone(), key(r), k],
        3 => vec!["TYPE".into(), k],
        4 => vec!["RENAME".into(), k, key(r)],
        5 => vec!["RENAMENX".into(), k, key(r)],
        6 => {
            let mut c = vec!["COPY".to_string(), k, key(r)];
            if r.below(2) == 0 {
                c.push("REPLACE".into());
            }
            c
        }
        7 => vec!["MOVE".into(), k, r.pick(&["1", "0", "16", "x"]).into()],
        8 => vec!["EXPIRE".into(), k, r.pick(&["1000", "2000", "-1", "x"]).into()],
        9 => vec![
            r.pick(&["EXPIRE", "PEXPIRE"]).into(),
            k,
            r.pick(&["100000", "200000000"]).into(),
            r.pick(&["NX", "XX", "GT", "LT", "FOO"]).into(),
        ],
        10 => vec!["EXPIREAT".into(), k, r.pick(&["1", "99999999999", "4102444800"]).into()],
        11 => vec!["PEXPIREAT".into(), k, r.pick(&["1", "4102444800000"]).into(), r.pick(&["GT", "LT"]).into()],
        12 => vec![r.pick(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]).into(), k],
        13 => vec!["PERSIST".into(), k],
        14 => vec!["TOUCH".into(), k, key(r)],
        15 => vec!["KEYS".into(), r.pick(&["*", "k*", "{t}?", "k[0-1]", "*[^0]"]).into()],
        16 => vec!["DBSIZE".into()],
        17 => vec!["OBJECT".into(), "ENCODING".into(), k],
        18 => vec!["SCANALL".into()],
        19 => vec!["SCANALL".into(), "MATCH".into(), "k*".into()],
        20 => vec!["SCANALL".into(), "TYPE".into(), r.pick(&["string", "list"]).into()],
        21 => vec!["RANDOMKEY".into()],
        22 => vec!["SELECT".into(), r.pick(&["0", "1"]).into()],
        23 => vec!["SWAPDB".into(), "0".into(), "1".into()],
        24 => vec!["OBJECT".into(), "REFCOUNT".into(), k],
        _ => vec!["FLUSHDB".into()],
    };
    c
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
fn random_key_and_expiry_commands_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    for seed in 1..=40u64 {
        let mut r = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let cmds: Vec<Cmd> =
            (0..400).map(|_| if r.below(2) == 0 { string_command(&mut r) } else { keys_command(&mut r) }).collect();
        compare(&roost, &redis, cmds, seed);
    }
}

#[test]
fn expiry_in_time_matches_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    for port in [roost.port, redis.port] {
        let mut c = RawClient::connect(port);
        c.cmd(&["FLUSHALL"]);
        c.cmd(&["SET", "a", "1", "PX", "40"]);
        c.cmd(&["SET", "b", "1"]);
        c.cmd(&["PEXPIRE", "b", "40"]);
        c.cmd(&["SETEX", "c", "100", "v"]);
    }
    std::thread::sleep(std::time::Duration::from_millis(150));
    let probe: Vec<Cmd> =
        [&["GET", "a"][..], &["EXISTS", "b"], &["TTL", "a"], &["PTTL", "b"], &["DBSIZE"], &["KEYS", "*"]]
            .iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect();
    let read = |port: u16| -> Vec<Vec<u8>> {
        let mut c = RawClient::connect(port);
        probe
            .iter()
            .map(|cmd| {
                let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
                normalize(cmd, c.cmd_bytes(&args))
            })
            .collect()
    };
    assert_eq!(read(roost.port), read(redis.port));
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

//! `list-compress-depth`: long lists with tiny nodes, so interior nodes are compressed and
//! expanded all the time, checked against an in-memory model and against a real redis-server
//! started with the same settings.

mod common;
use common::differential::*;
use common::*;
use std::collections::VecDeque;

const SETTINGS: &[&str] = &["--list-compress-depth", "1", "--list-max-listpack-size", "4"];

/// Mostly compressible values (so nodes really are stored compressed), some integers, some
/// noise that is not.
fn value(r: &mut Rng) -> String {
    match r.below(8) {
        0 => r.below(1000).to_string(),
        1 => format!("{:x}{:x}", r.next(), r.next()),
        2 => "z".repeat(40 + r.below(200) as usize),
        _ => format!("item:{:03}:{}", r.below(20), "payload-".repeat(1 + r.below(4) as usize)),
    }
}

fn query<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[String]) -> T {
    let mut cmd = redis::cmd(&args[0]);
    for a in &args[1..] {
        cmd.arg(a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn long_lists_match_a_model() {
    let server = TestServer::start(SETTINGS);
    let mut c = server.redis();
    for seed in 1..=4u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut m: VecDeque<String> = VecDeque::new();
        let _: i64 = query(&mut c, &s(&["DEL", "l"]));
        for step in 0..3000 {
            let ctx = format!("seed {seed} step {step}");
            let len = m.len() as u64;
            match r.below(14) {
                // Pushes outweigh pops so the list grows to a few thousand elements.
                0..=3 => {
                    let vals: Vec<String> = (0..=r.below(4)).map(|_| value(&mut r)).collect();
                    let head = r.below(2) == 0;
                    let mut args = vec![if head { "LPUSH" } else { "RPUSH" }.to_string(), "l".into()];
                    args.extend(vals.iter().cloned());
                    let n: usize = query(&mut c, &args);
                    for v in vals {
                        if head {
                            m.push_front(v);
                        } else {
                            m.push_back(v);
                        }
                    }
                    assert_eq!(n, m.len(), "{ctx}");
                }
                4 => {
                    let got: Option<String> = query(&mut c, &s(&["LPOP", "l"]));
                    assert_eq!(got, m.pop_front(), "{ctx}");
                }
                5 => {
                    let got: Option<String> = query(&mut c, &s(&["RPOP", "l"]));
                    assert_eq!(got, m.pop_back(), "{ctx}");
                }
                6 | 7 if len > 0 => {
                    let i = r.below(len) as usize;
                    let pivot = m[i].clone();
                    let first = m.iter().position(|x| *x == pivot).unwrap();
                    let v = value(&mut r);
                    let after = r.below(2) == 0;
                    let where_ = if after { "AFTER" } else { "BEFORE" };
                    let n: i64 = query(&mut c, &s(&["LINSERT", "l", where_, &pivot, &v]));
                    m.insert(first + usize::from(after), v);
                    assert_eq!(n, m.len() as i64, "{ctx}");
                }
                8 if len > 0 => {
                    let i = r.below(len) as usize;
                    let v = value(&mut r);
                    let _: String = query(&mut c, &s(&["LSET", "l", &i.to_string(), &v]));
                    m[i] = v;
                }
                9 => {
                    let v = value(&mut r);
                    let removed: usize = query(&mut c, &s(&["LREM", "l", "2", &v]));
                    let mut expect = 0;
                    while expect < 2 {
                        let Some(p) = m.iter().position(|x| *x == v) else { break };
                        m.remove(p);
                        expect += 1;
                    }
                    assert_eq!(removed, expect, "{ctx}");
                }
                10 if len > 40 => {
                    // Trim a little off both ends: compressed nodes become end nodes.
                    let (a, b) = (r.below(3), len - 1 - r.below(3));
                    let _: String = query(&mut c, &s(&["LTRIM", "l", &a.to_string(), &b.to_string()]));
                    m = m.iter().skip(a as usize).take((b - a + 1) as usize).cloned().collect();
                }
                11 if len > 0 => {
                    let i = r.below(len) as usize;
                    let got: Option<String> = query(&mut c, &s(&["LINDEX", "l", &i.to_string()]));
                    assert_eq!(got.as_ref(), m.get(i), "{ctx}");
                }
                _ => {
                    let a = r.below(len + 1);
                    let b = a + r.below(60);
                    let got: Vec<String> = query(&mut c, &s(&["LRANGE", "l", &a.to_string(), &b.to_string()]));
                    let expect: Vec<String> = m.iter().skip(a as usize).take((b - a + 1) as usize).cloned().collect();
                    assert_eq!(got, expect, "{ctx}");
                }
            }
        }
        let all: Vec<String> = query(&mut c, &s(&["LRANGE", "l", "0", "-1"]));
        assert_eq!(all, m.iter().cloned().collect::<Vec<_>>(), "seed {seed}: whole list");
        assert!(m.len() > 600, "seed {seed}: the list stayed short ({})", m.len());
    }
}

/// Random list commands on a few long lists, replies compared with redis-server's.
fn list_command(r: &mut Rng) -> Cmd {
    let k = r.pick(&["a", "b", "{t}c"]).to_string();
    let idx = |r: &mut Rng| match r.below(4) {
        0 => format!("-{}", r.below(300)),
        _ => r.below(300).to_string(),
    };
    match r.below(20) {
        0..=5 => {
            let mut c = vec![r.pick(&["LPUSH", "RPUSH"]).to_string(), k];
            for _ in 0..=r.below(8) {
                c.push(value(r));
            }
            c
        }
        6 => vec![r.pick(&["LPOP", "RPOP"]).into(), k, r.pick(&["1", "3", "7"]).into()],
        7 | 8 => vec!["LINSERT".into(), k, r.pick(&["BEFORE", "AFTER"]).into(), value(r), value(r)],
        9 => vec!["LSET".into(), k, idx(r), value(r)],
        10 => vec!["LREM".into(), k, r.pick(&["0", "1", "-2"]).into(), value(r)],
        11 => vec!["LTRIM".into(), k, r.below(5).to_string(), format!("-{}", 1 + r.below(5))],
        12 => vec!["LINDEX".into(), k, idx(r)],
        13 => vec!["LPOS".into(), k, value(r), "RANK".into(), r.pick(&["1", "-1", "2"]).into()],
        14 => vec![
            "LMOVE".into(),
            k,
            r.pick(&["a", "b"]).into(),
            r.pick(&["LEFT", "RIGHT"]).into(),
            r.pick(&["LEFT", "RIGHT"]).into(),
        ],
        15 => vec!["LLEN".into(), k],
        16 => vec!["COPY".into(), k, "copy".into(), "REPLACE".into()],
        _ => {
            let a = idx(r);
            vec!["LRANGE".into(), k, a, idx(r)]
        }
    }
}

#[test]
fn replies_match_redis_with_the_same_settings() {
    let roost = TestServer::start(SETTINGS);
    let redis = TestServer::start_redis_with(SETTINGS);
    for seed in 1..=12u64 {
        let mut r = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let mut cmds: Vec<Cmd> = (0..1500).map(|_| list_command(&mut r)).collect();
        for k in ["a", "b", "{t}c", "copy"] {
            cmds.push(vec!["LRANGE".into(), k.into(), "0".into(), "-1".into()]);
        }
        compare(&roost, &redis, cmds, seed);
    }
}

#[test]
fn compression_shows_in_memory_usage() {
    let usage = |depth: &str| {
        let server = TestServer::start(&["--list-compress-depth", depth]);
        let mut c = server.raw();
        for chunk in 0..100 {
            let mut args = vec!["RPUSH".to_string(), "l".into()];
            args.extend((0..100).map(|i| format!("user:{}:session", (chunk * 100 + i) % 100)));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            c.cmd(&refs);
        }
        assert_eq!(c.int(&["LLEN", "l"]), 10_000);
        c.int(&["MEMORY", "USAGE", "l"])
    };
    let (plain, packed) = (usage("0"), usage("1"));
    assert!(packed * 3 < plain, "depth 1: {packed} bytes, depth 0: {plain} bytes");
}

#[test]
fn a_list_keeps_the_depth_it_was_created_with() {
    let server = TestServer::start(&["--list-max-listpack-size", "4"]);
    let mut c = server.raw();
    let fill = |c: &mut RawClient, key: &str| {
        for _ in 0..200 {
            c.cmd(&["RPUSH", key, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]);
        }
        c.int(&["MEMORY", "USAGE", key])
    };
    let before = fill(&mut c, "old");
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "list-compress-depth", "2"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "GET", "list-compress-depth"]), "*2\r\n$19\r\nlist-compress-depth\r\n$1\r\n2\r\n");
    let fresh = fill(&mut c, "new");
    assert!(fresh * 2 < before, "new list {fresh} bytes, old {before}");
    // More pushes to the old list leave it uncompressed.
    assert!(fill(&mut c, "old") > before);
}

//! Differential tests for SORT and SORT_RO: random lists, sets and sorted sets, random weight
//! and GET keys, and random option combinations, against Roost and a real redis-server.
//!
//! Two things have no defined order in Redis and are kept out of the streams: a set read with
//! BY nosort (its hashtable order) unless STORE makes Redis sort it, and ALPHA by a pattern
//! whose weights can tie (Redis's qsort order for equal weights depends on the order the set
//! was loaded in). ALPHA BY therefore only uses the `u_*` and `hh_*->f` weights, which are set
//! once per stream to distinct values for every element and never changed.

mod common;
use common::differential::*;
use common::*;

/// Every element any key holds: numbers, numbers with equal values, and words.
const ELEMS: &[&str] = &["1", "2", "3", "10", "-3", "1.5", "01", "", "0x10", " 4", "1e2", "a", "b", "abc", "x1"];

const LISTS: &[&str] = &["l0", "l1"];
const SETS: &[&str] = &["s0", "s1"];
const ZSETS: &[&str] = &["z0", "z1"];

/// An element for `key`: the keys ending in 0 hold only numbers, so numeric sorts of them
/// succeed; the others now and then get a word.
fn elem_for(r: &mut Rng, key: &str) -> String {
    if key.ends_with('0') {
        r.pick(&ELEMS[..11]).to_string()
    } else {
        elem(r)
    }
}

fn elem(r: &mut Rng) -> String {
    if r.below(4) == 0 {
        r.pick(ELEMS).to_string()
    } else {
        r.pick(&ELEMS[..11]).to_string()
    }
}

fn numeric_value(r: &mut Rng) -> String {
    r.pick(&["0", "1", "2", "-1", "2.5", "1e3", "", "07", "inf", "-inf", "x", "3 "]).to_string()
}

/// Weights that never tie: one distinct word (and hash field) per element.
fn fixed_weights() -> Vec<Cmd> {
    let mut mset = vec!["MSET".to_string()];
    let mut cmds = Vec::new();
    for (i, e) in ELEMS.iter().enumerate() {
        // Reversed so that weight order differs from element order.
        let w = format!("w{:02}", ELEMS.len() - i);
        mset.push(format!("u_{e}"));
        mset.push(w.clone());
        cmds.push(vec!["HSET".to_string(), format!("hh_{e}"), "f".into(), format!("{w}{i}")]);
    }
    cmds.push(mset);
    cmds
}

fn data_command(r: &mut Rng) -> Cmd {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    match r.below(12) {
        0..=2 => {
            let k = r.pick(LISTS);
            let mut c = s(&[r.pick(&["RPUSH", "LPUSH"]), k]);
            for _ in 0..=r.below(4) {
                c.push(elem_for(r, k));
            }
            c
        }
        3..=5 => {
            let k = r.pick(SETS);
            let mut c = s(&["SADD", k]);
            for _ in 0..=r.below(4) {
                c.push(elem_for(r, k));
            }
            c
        }
        6..=8 => {
            let k = r.pick(ZSETS);
            let mut c = s(&["ZADD", k]);
            for _ in 0..=r.below(3) {
                // Few distinct scores, so that score ties (ordered by member) are common.
                c.push(r.pick(&["1", "2", "2", "-1", "0"]).to_string());
                c.push(elem_for(r, k));
            }
            c
        }
        9 => vec!["SET".into(), format!("n_{}", elem(r)), numeric_value(r)],
        10 => vec!["HSET".into(), format!("nh_{}", elem(r)), "f".into(), numeric_value(r)],
        _ => match r.below(4) {
            0 => vec!["DEL".into(), format!("n_{}", elem(r))],
            1 => s(&["LPOP", r.pick(LISTS)]),
            2 => vec!["SREM".into(), r.pick(SETS).into(), elem(r)],
            _ => vec!["ZREM".into(), r.pick(ZSETS).into(), elem(r)],
        },
    }
}

fn sort_command(r: &mut Rng) -> Vec<Cmd> {
    let key = match r.below(10) {
        0..=2 => r.pick(LISTS),
        3..=5 => r.pick(SETS),
        6..=8 => r.pick(ZSETS),
        _ => r.pick(&["str", "hash", "nokey"]),
    };
    let is_set = key.starts_with('s') && key != "str";
    let readonly = r.below(5) == 0;
    let store = !readonly && r.below(3) == 0 || readonly && r.below(10) == 0;
    let alpha = r.below(3) == 0;
    let mut opts: Vec<Vec<String>> = Vec::new();
    if alpha {
        opts.push(vec!["ALPHA".into()]);
    }
    match r.below(6) {
        0 | 1 => {}
        2 if alpha => opts.push(vec!["BY".into(), r.pick(&["u_*", "hh_*->f"]).into()]),
        2 => opts.push(vec!["BY".into(), r.pick(&["n_*", "nh_*->f", "u_*", "*"]).into()]),
        // A set's own order is only defined when STORE makes Redis sort it.
        _ if is_set && !store => {}
        _ => opts.push(vec!["BY".into(), r.pick(&["nosort", "NOSORT", "n_"]).into()]),
    }
    if r.below(2) == 0 {
        opts.push(vec![r.pick(&["ASC", "DESC", "desc"]).into()]);
    }
    if r.below(2) == 0 {
        let offset = r.pick(&["0", "1", "2", "5", "-1", "20"]);
        let count = r.pick(&["0", "1", "2", "3", "-1", "10"]);
        opts.push(vec!["LIMIT".into(), offset.into(), count.into()]);
    }
    for _ in 0..r.below(3) {
        let p = r.pick(&["#", "n_*", "u_*", "hh_*->f", "nh_*->f", "u_*->f", "nokey", "*", "nh_*->"]);
        opts.push(vec!["GET".into(), p.into()]);
    }
    // Only elements of ELEMS may reach a sorted key, or ALPHA BY weights could tie; GET
    // results are stored elsewhere.
    let gets = opts.iter().any(|o| o[0] == "GET");
    let dst = if gets { "dst" } else { r.pick(&["dst", "dst", "l1"]) };
    if store {
        opts.push(vec!["STORE".into(), dst.into()]);
    }
    // The options in any order.
    for i in (1..opts.len()).rev() {
        let j = r.below(i as u64 + 1) as usize;
        opts.swap(i, j);
    }
    let mut c = vec![if readonly { "SORT_RO" } else { "SORT" }.to_string(), key.to_string()];
    c.extend(opts.into_iter().flatten());
    let mut cmds = vec![c];
    if store {
        cmds.push(vec!["LRANGE".into(), dst.into(), "0".into(), "-1".into()]);
        cmds.push(vec!["TYPE".into(), dst.into()]);
    }
    cmds
}

fn stream(seed: u64) -> Vec<Cmd> {
    let mut r = Rng(seed);
    let mut cmds = fixed_weights();
    cmds.push(vec!["SET".into(), "str".into(), "1".into()]);
    cmds.push(vec!["HSET".into(), "hash".into(), "f".into(), "1".into()]);
    for _ in 0..250 {
        if r.below(2) == 0 {
            cmds.push(data_command(&mut r));
        } else {
            cmds.extend(sort_command(&mut r));
        }
    }
    cmds
}

#[test]
fn random_sorts_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    for seed in 1..=40u64 {
        compare(&roost, &redis, stream(seed.wrapping_mul(0x2545_F491_4F6C_DD1D)), seed);
    }
}

#[test]
fn random_sorts_match_redis_with_small_encodings() {
    // Small thresholds: lists span several nodes, sets and sorted sets leave their compact forms.
    let small = ["--list-max-listpack-size", "2", "--set-max-intset-entries", "2", "--zset-max-listpack-entries", "2"];
    let roost = TestServer::start(&small);
    let redis = TestServer::start_redis_with(&small);
    for seed in 1..=20u64 {
        compare(&roost, &redis, stream(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)), seed);
    }
}

#[test]
fn sort_error_replies_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let cases: Vec<Cmd> = [
        &["RPUSH", "l", "3", "1", "x"][..],
        &["SET", "str", "1"],
        &["SORT", "l"],
        &["SORT", "l", "ALPHA"],
        &["SORT", "l", "LIMIT", "0"],
        &["SORT", "l", "LIMIT", "0", "x"],
        &["SORT", "l", "LIMIT", "x", "0", "NOPE"],
        &["SORT", "l", "NOPE", "LIMIT", "x", "0"],
        &["SORT", "l", "BY"],
        &["SORT", "l", "GET"],
        &["SORT", "l", "STORE"],
        &["SORT", "str"],
        &["SORT", "str", "BY", "nosort"],
        &["SORT_RO", "l", "ALPHA", "STORE", "d"],
        &["SORT_RO", "str"],
        &["SORT"],
        &["SORT_RO"],
        &["SORT", "l", "ALPHA", "LIMIT", "9223372036854775807", "9223372036854775807"],
        &["SORT", "l", "ALPHA", "LIMIT", "-9223372036854775808", "-9223372036854775808"],
        &["SORT", "l", "ALPHA", "LIMIT", "1", "9223372036854775807"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    compare(&roost, &redis, cases, 0);
}

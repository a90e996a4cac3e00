//! Differential tests for HyperLogLog: random PFADD/PFCOUNT/PFMERGE streams against Roost and
//! a real redis-server, comparing every reply and the raw value bytes through GET (so the sparse
//! code, the promotion to dense and the cached count must all match Redis byte for byte). Values
//! made by one server are also SET into the other and worked on there.

mod common;
use common::differential::*;
use common::*;

fn key(r: &mut Rng) -> String {
    // Few keys so merges meet each other's values; one plain string; two sharing a hash tag.
    ["h0", "h1", "h2", "s0", "{t}a", "{t}b"][r.below(6) as usize].to_string()
}

/// Elements from pools of different sizes, so some adds repeat and some are new.
fn element(r: &mut Rng) -> String {
    match r.below(4) {
        0 => format!("a{}", r.below(20)),
        1 => format!("b{}", r.below(2000)),
        2 => r.below(100_000).to_string(),
        _ => format!("c{}", r.next()),
    }
}

fn hll_command(r: &mut Rng, big: usize) -> Cmd {
    let k = key(r);
    let mut c: Vec<String> = match r.below(20) {
        0..=5 => {
            let mut c = vec!["PFADD".to_string(), k];
            for _ in 0..r.below(6) {
                c.push(element(r));
            }
            c
        }
        6 => {
            // A big batch: tens of thousands of distinct elements across a stream.
            let mut c = vec!["PFADD".to_string(), k];
            let base = r.next();
            c.extend((0..r.below(big as u64 + 1)).map(|i| format!("d{base}-{i}")));
            c
        }
        7..=9 => vec!["PFCOUNT".into(), k],
        10 | 11 => {
            let mut c = vec!["PFCOUNT".to_string(), k];
            for _ in 0..=r.below(3) {
                c.push(key(r));
            }
            c
        }
        12 | 13 => {
            let mut c = vec!["PFMERGE".to_string(), k];
            for _ in 0..r.below(4) {
                c.push(key(r));
            }
            c
        }
        14 | 15 => vec!["GET".into(), k],
        16 => vec!["PFDEBUG".into(), r.pick(&["ENCODING", "DECODE", "TODENSE"]).into(), k],
        17 => vec!["SET".into(), k, r.pick(&["x", "123", "HYLL", "HYLL\x01"]).into()],
        18 => vec!["EXPIRE".into(), k, "1000".into()],
        _ => vec!["DEL".into(), k],
    };
    if r.below(50) == 0 && c.len() > 1 {
        c.truncate(1);
    }
    c
}

fn run_streams(roost: &TestServer, redis: &TestServer, big: usize, salt: u64) {
    for seed in 1..=25u64 {
        let mut r = Rng(seed.wrapping_mul(salt));
        let mut cmds: Vec<Cmd> = (0..300).map(|_| hll_command(&mut r, big)).collect();
        // Finish with the bytes of every key, whatever the stream last did to them.
        for k in ["h0", "h1", "h2", "{t}a", "{t}b"] {
            cmds.push(vec!["GET".into(), k.into()]);
        }
        compare(roost, redis, cmds, seed);
    }
}

#[test]
fn random_hll_commands_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis_with(&[]);
    run_streams(&roost, &redis, 300, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn random_hll_commands_match_redis_with_small_sparse_limit() {
    let small = ["--hll-sparse-max-bytes", "120"];
    let roost = TestServer::start(&small);
    let redis = TestServer::start_redis_with(&small);
    run_streams(&roost, &redis, 60, 0xD1B5_4A32_D192_ED03);
}

/// Sends `cmds` pipelined, `batch` at a time, returning every reply.
fn pipelined(c: &mut RawClient, cmds: &[Vec<String>], batch: usize) -> Vec<Vec<u8>> {
    let mut replies = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(batch) {
        let mut out = Vec::new();
        for cmd in chunk {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            out.extend_from_slice(&encode(&args));
        }
        c.send(&out);
        for _ in chunk {
            replies.push(c.read_reply());
        }
    }
    replies
}

#[test]
fn large_sets_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis_with(&[]);
    let mut r = Rng(0x1234_5678_9ABC_DEF1);
    let mut cmds: Vec<Vec<String>> = vec![vec!["FLUSHALL".into()]];
    // Tens of thousands of elements a key, a few at a time, with counts and bytes along the way.
    for step in 0..4000 {
        let k = format!("big{}", r.below(3));
        let mut c = vec!["PFADD".to_string(), k.clone()];
        c.extend((0..r.below(20) + 1).map(|_| format!("x{}", r.below(60_000))));
        cmds.push(c);
        if step % 97 == 0 {
            cmds.push(vec!["PFCOUNT".into(), k.clone()]);
            cmds.push(vec!["GET".into(), k]);
        }
        if step % 501 == 0 {
            cmds.push(vec!["PFCOUNT".into(), "big0".into(), "big1".into(), "big2".into()]);
            cmds.push(vec!["PFMERGE".into(), format!("m{step}"), "big0".into(), "big2".into()]);
            cmds.push(vec!["GET".into(), format!("m{step}")]);
        }
    }
    for k in ["big0", "big1", "big2"] {
        cmds.push(vec!["PFCOUNT".into(), k.into()]);
        cmds.push(vec!["GET".into(), k.into()]);
    }
    cmds.push(vec!["PFMERGE".into(), "all".into(), "big0".into(), "big1".into(), "big2".into()]);
    cmds.push(vec!["PFCOUNT".into(), "all".into()]);
    cmds.push(vec!["GET".into(), "all".into()]);
    let a = pipelined(&mut roost.raw(), &cmds, 200);
    let b = pipelined(&mut redis.raw(), &cmds, 200);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            x == y,
            "command {i} {:?}: roost {:?} redis {:?}",
            &cmds[i][..cmds[i].len().min(3)],
            String::from_utf8_lossy(&x[..x.len().min(200)]),
            String::from_utf8_lossy(&y[..y.len().min(200)])
        );
    }
}

/// Makes HLLs (small, mid-sized, large) on `from`, carries them to `to` with GET/SET, then runs
/// the same commands on both copies: the replies and the resulting bytes must agree.
fn carry(from: &TestServer, to: &TestServer) {
    let mut f = from.raw();
    let mut t = to.raw();
    assert_eq!(f.cmd(&["FLUSHALL"]), b"+OK\r\n");
    assert_eq!(t.cmd(&["FLUSHALL"]), b"+OK\r\n");
    for (k, n) in [("small", 5), ("mid", 400), ("large", 20_000)] {
        let elems: Vec<String> = (0..n).map(|i| format!("{k}{i}")).collect();
        for chunk in elems.chunks(2000) {
            let mut args = vec!["PFADD", k];
            args.extend(chunk.iter().map(String::as_str));
            f.cmd(&args);
        }
        let bytes = f.cmd(&["GET", k]);
        let value = &bytes[bytes.iter().position(|&b| b == b'\n').unwrap() + 1..bytes.len() - 2];
        assert_eq!(t.cmd_bytes(&[b"SET", k.as_bytes(), value]), b"+OK\r\n");
    }
    let steps: &[&[&str]] = &[
        &["PFCOUNT", "small"],
        &["PFCOUNT", "mid"],
        &["PFCOUNT", "large"],
        &["GET", "small"],
        &["GET", "mid"],
        &["GET", "large"],
        &["PFADD", "small", "p", "q", "r"],
        &["PFADD", "mid", "p", "q", "r"],
        &["PFADD", "large", "p", "q", "r"],
        &["PFCOUNT", "small", "mid", "large"],
        &["PFMERGE", "small", "mid"],
        &["GET", "small"],
        &["PFMERGE", "m", "small", "large"],
        &["PFCOUNT", "m"],
        &["GET", "m"],
        &["PFDEBUG", "ENCODING", "mid"],
        &["PFDEBUG", "DECODE", "mid"],
    ];
    for step in steps {
        let x = f.cmd(step);
        let y = t.cmd(step);
        assert!(x == y, "{step:?}: {:?} vs {:?}", String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
    }
}

#[test]
fn values_move_between_servers() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis_with(&[]);
    carry(&redis, &roost);
    carry(&roost, &redis);
}

#[test]
fn error_replies_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis_with(&[]);
    let cases: Vec<Cmd> = [
        &["PFADD"][..],
        &["PFCOUNT"],
        &["PFMERGE"],
        &["PFDEBUG", "ENCODING"],
        &["PFSELFTEST", "x"],
        &["SET", "str", "hello"],
        &["SET", "int", "42"],
        &["LPUSH", "list", "a"],
        // Byte 15 (0xC2 of the two-byte U+0080) marks the count stale; the code then covers
        // 1 + 64 registers: corrupt.
        &["SET", "hyll", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\u{80}\x3f"],
        // A valid cache is answered without reading the (corrupt) code.
        &["SET", "cached", "HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x3f"],
        &["PFCOUNT", "cached"],
        &["SET", "dense", "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x3f"],
        &["PFADD", "str", "a"],
        &["PFADD", "int", "a"],
        &["PFADD", "list", "a"],
        &["PFADD", "hyll", "a"],
        &["PFADD", "dense", "a"],
        &["PFCOUNT", "str"],
        &["PFCOUNT", "list"],
        &["PFCOUNT", "hyll"],
        &["PFCOUNT", "dense"],
        &["PFADD", "h", "a"],
        &["PFCOUNT", "h", "str"],
        &["PFCOUNT", "h", "list"],
        &["PFCOUNT", "h", "hyll"],
        &["PFMERGE", "h", "str"],
        &["PFMERGE", "list", "h"],
        &["PFMERGE", "h", "hyll"],
        &["PFMERGE", "new", "h", "list"],
        &["EXISTS", "new"],
        &["PFDEBUG", "NOPE", "h"],
        &["PFDEBUG", "NOPE", "nokey"],
        &["PFDEBUG", "ENCODING", "str"],
        &["PFDEBUG", "GETREG", "hyll"],
        &["PFDEBUG", "DECODE", "hyll"],
        &["PFDEBUG", "TODENSE", "hyll"],
        &["PFDEBUG", "TODENSE", "h"],
        &["PFDEBUG", "DECODE", "h"],
        &["PFDEBUG", "TODENSE", "h"],
        &["PFSELFTEST"],
        &["GET", "h"],
        &["GET", "hyll"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    compare(&roost, &redis, cases, 0);
}

/// Elements whose register (found with PFDEBUG DECODE on the reference server) is below
/// `limit`, so a sketch of them has its registers side by side; with the value each offers.
fn clustered_elements(redis: &TestServer, limit: usize, candidates: usize) -> Vec<(String, u32)> {
    let mut cmds = Vec::new();
    for i in 0..candidates {
        let e = format!("y{i}");
        cmds.push(vec!["DEL".to_string(), "probe".into()]);
        cmds.push(vec!["PFADD".to_string(), "probe".into(), e]);
        cmds.push(vec!["PFDEBUG".to_string(), "DECODE".into(), "probe".into()]);
    }
    let replies = pipelined(&mut redis.raw(), &cmds, 600);
    let mut out = Vec::new();
    for i in 0..candidates {
        let text = String::from_utf8_lossy(&replies[3 * i + 2]).into_owned();
        // "$n\r\nZ:<register> v:.." or "$n\r\nv:.." when the register is 0.
        let body = text.split("\r\n").nth(1).unwrap_or("");
        let mut ops = body.split(' ');
        let (register, val) = match ops.next() {
            Some(first) if first.starts_with('v') => (0, first),
            Some(first) => (first[2..].parse::<usize>().unwrap_or(usize::MAX), ops.next().unwrap_or("")),
            None => (usize::MAX, ""),
        };
        let value = val.trim_start_matches("v:").split(',').next().and_then(|v| v.parse().ok()).unwrap_or(0);
        if register < limit {
            out.push((format!("y{i}"), value));
        }
    }
    out
}

/// The sparse code after every single add, from empty to dense: each split and merge of runs
/// must leave Redis's exact bytes. The elements land in a few hundred neighbouring registers,
/// so runs of equal values, and the merges between them, are common.
#[test]
fn sparse_edits_match_redis_one_add_at_a_time() {
    let roost = TestServer::start(&["--hll-sparse-max-bytes", "10000"]);
    let redis = TestServer::start_redis_with(&["--hll-sparse-max-bytes", "10000"]);
    let mut cmds: Vec<Vec<String>> = vec![vec!["FLUSHALL".into()]];
    let mut r = Rng(0xC0FF_EE00_1234_5677);
    let clustered = clustered_elements(&redis, 300, 40_000);
    assert!(clustered.len() > 500, "{}", clustered.len());
    for round in 0..4 {
        let k = format!("k{round}");
        for _ in 0..1500 {
            let e = match round {
                0 => clustered[r.below(clustered.len() as u64) as usize].0.clone(),
                // Mostly ones, so long runs of equal values build up and then get split.
                1 => loop {
                    let (e, v) = &clustered[r.below(clustered.len() as u64) as usize];
                    if *v == 1 || r.below(5) == 0 {
                        break e.clone();
                    }
                },
                _ => format!("y{}", r.below(1 << (10 + 2 * round))),
            };
            cmds.push(vec!["PFADD".into(), k.clone(), e]);
            cmds.push(vec!["GET".into(), k.clone()]);
        }
        cmds.push(vec!["PFCOUNT".into(), k.clone()]);
    }
    let a = pipelined(&mut roost.raw(), &cmds, 500);
    let b = pipelined(&mut redis.raw(), &cmds, 500);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(x == y, "command {i} {:?} differs", cmds[i]);
    }
}

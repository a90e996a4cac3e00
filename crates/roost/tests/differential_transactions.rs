//! Differential test for transactions: two clients interleave MULTI/EXEC/DISCARD/WATCH/UNWATCH
//! with writes, reads and refused commands, against Roost and a real redis-server; every reply
//! is compared.
//!
//! The writes drawn here always change their key. A write that changes nothing (SETNX on an
//! existing key, DEL of a missing one) still counts as a change for WATCH in Roost, while Redis
//! ignores it; docs/compatibility.md lists that difference.

mod common;
use common::differential::Rng;
use common::*;

type Step = (usize, Vec<String>);

fn key(r: &mut Rng) -> String {
    r.pick(&["k1", "k2", "{t}a", "{t}b"]).to_string()
}

fn step(r: &mut Rng) -> Step {
    let who = r.below(2) as usize;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let cmd = match r.below(20) {
        0..=2 => s(&["MULTI"]),
        3..=4 => s(&["EXEC"]),
        5 => s(&["DISCARD"]),
        6..=7 => {
            let mut c = s(&["WATCH"]);
            for _ in 0..=r.below(2) {
                c.push(key(r));
            }
            c
        }
        8 => s(&["UNWATCH"]),
        9..=10 => vec!["SET".into(), key(r), format!("v{}", r.below(5))],
        11 => vec!["APPEND".into(), key(r), "x".into()],
        12 => vec!["INCR".into(), "counter".into()],
        13 => vec!["RPUSH".into(), "list".into(), r.below(9).to_string()],
        14 => vec!["GET".into(), key(r)],
        15 => s(&["LRANGE", "list", "0", "-1"]),
        16 => s(&["GET", "counter"]),
        17 => vec![r.pick(&["NOSUCH", "SET"]).into()],
        18 => vec!["MSET".into(), key(r), "m".into(), key(r), "n".into()],
        _ => s(&["PING"]),
    };
    (who, cmd)
}

fn run(port: u16, steps: &[Step]) -> Vec<Vec<u8>> {
    let mut clients = [RawClient::connect(port), RawClient::connect(port)];
    assert_eq!(clients[0].cmd(&["FLUSHALL"]), b"+OK\r\n");
    steps
        .iter()
        .map(|(who, cmd)| {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            clients[*who].cmd_bytes(&args)
        })
        .collect()
}

#[test]
fn random_transactions_match_redis() {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    for seed in 1..=30u64 {
        let mut r = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
        let steps: Vec<Step> = (0..300).map(|_| step(&mut r)).collect();
        let a = run(roost.port, &steps);
        let b = run(redis.port, &steps);
        if let Some(at) = a.iter().zip(&b).position(|(x, y)| x != y) {
            let from = at.saturating_sub(15);
            let mut report = format!("seed {seed}: reply {at} differs; the steps before it:\n");
            for (i, (who, cmd)) in steps[from..=at].iter().enumerate() {
                report.push_str(&format!("  {} client {who}: {cmd:?}\n", from + i));
            }
            report.push_str(&format!(
                "roost: {:?}\nredis: {:?}\n",
                String::from_utf8_lossy(&a[at]),
                String::from_utf8_lossy(&b[at])
            ));
            panic!("{report}");
        }
    }
}

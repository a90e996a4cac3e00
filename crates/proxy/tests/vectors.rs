//! The measured nutcracker vectors: each yml is loaded as a configuration and every key of its
//! tsv must map to the server nutcracker sent it to. No network: only the mapping is computed.

use roost_proxy::config::Config;
use roost_proxy::distribution::{RingServer, Router};

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s:?}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

/// Returns (rows checked, per-server counts in server index order).
fn check_vector(name: &str) -> (usize, Vec<usize>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
    let yml = format!("{dir}/{name}-vector.yml");
    let config = Config::load_file(&yml).unwrap_or_else(|e| panic!("{yml}: {e}"));
    let pool = &config.pools[0];
    let ring: Vec<RingServer> =
        pool.servers.iter().map(|s| RingServer { name: s.name.as_bytes().to_vec(), weight: s.weight }).collect();
    let router = Router::new(pool.hash, pool.hash_tag, pool.distribution, ring);

    let tsv = std::fs::read_to_string(format!("{dir}/{name}-vector.tsv")).expect("tsv");
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let hex_col = header.iter().position(|h| *h == "key_hex");
    let server_col = header.iter().position(|h| *h == "server").expect("server column");
    let mut counts = vec![0usize; pool.servers.len()];
    let mut rows = 0;
    let mut wrong = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let key = match hex_col {
            Some(i) => unhex(cols[i]),
            None => cols[0].as_bytes().to_vec(),
        };
        let want = cols[server_col];
        let got = router.route(&key).expect("every server is live");
        counts[got] += 1;
        if pool.servers[got].name != want {
            wrong.push(format!("{line}: got {}", pool.servers[got].name));
        }
        rows += 1;
    }
    assert!(
        wrong.is_empty(),
        "{name}: {} of {rows} rows differ, first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    (rows, counts)
}

#[test]
fn ketama_vector() {
    let (rows, counts) = check_vector("ketama");
    assert_eq!(rows, 10_000);
    assert_eq!(counts, [3008, 3260, 3732]);
}

#[test]
fn modula_vector() {
    let (rows, counts) = check_vector("modula");
    assert_eq!(rows, 500);
    // fnv1a_64 mixes so badly that with 3 servers key:0..499 never reach server2.
    assert_eq!(counts[1], 0);
}

#[test]
fn modula_sorted_vector() {
    let (rows, counts) = check_vector("modula-sorted");
    assert_eq!(rows, 500);
    // Internal order server1, server2, server10 (weight 2).
    assert_eq!(counts, [125, 125, 250]);
}

#[test]
fn hashtag_vector() {
    let (rows, _) = check_vector("hashtag");
    assert_eq!(rows, 450);
}

#[test]
fn ketama_weighted_vector() {
    let (rows, counts) = check_vector("ketama-weighted");
    assert_eq!(rows, 1000);
    assert_eq!(counts, [200, 300, 500]);
}

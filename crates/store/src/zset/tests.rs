//! Both forms against a plain model (a sorted vector) on random operations.

use super::*;

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
}

fn limits(max_entries: usize, max_value: usize) -> ZSetLimits {
    ZSetLimits { max_entries, max_value }
}

/// The model: (member, score) sorted by (score, member).
fn model_insert(m: &mut Vec<(Vec<u8>, f64)>, member: &[u8], score: f64) -> bool {
    let existed = m.iter().position(|e| e.0 == member);
    if let Some(i) = existed {
        if m[i].1 == score {
            return false;
        }
        m.remove(i);
    }
    m.push((member.to_vec(), score));
    m.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    existed.is_none()
}

fn random_score(r: &mut Rng) -> f64 {
    match r.below(10) {
        0 => r.below(5) as f64 + 0.5,
        8 => (r.below(20_000) as f64 - 10_000.0) / 1000.0,
        9 => f64::from_bits(r.next() >> 2),
        1 => -(r.below(100) as f64),
        2 => f64::INFINITY,
        3 => f64::NEG_INFINITY,
        4 => 1e300,
        5 => -0.0,
        6 => (1u64 << 60) as f64,
        _ => r.below(10) as f64,
    }
}

fn check_same(z: &ZSet, m: &[(Vec<u8>, f64)]) {
    assert_eq!(z.len(), m.len());
    let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(a, b)| (a.into_owned(), b)).collect();
    assert_eq!(got.len(), m.len());
    for (g, e) in got.iter().zip(m) {
        assert_eq!(g.0, e.0);
        // A listpack keeps -0 as 0, like Redis's; otherwise scores are exact.
        assert!(g.1 == e.1 || (g.1.is_nan() && e.1.is_nan()));
    }
    for (i, (member, score)) in m.iter().enumerate() {
        assert_eq!(z.rank(member), Some((i, *score)));
    }
    if let ZSet::Skiplist(l) = z {
        l.check();
    }
}

fn run(seed: u64, lim: ZSetLimits, ops: usize) {
    let mut r = Rng(seed);
    let mut z = ZSet::new();
    let mut m: Vec<(Vec<u8>, f64)> = Vec::new();
    for step in 0..ops {
        let member = match r.below(10) {
            0 => vec![b'x'; 20],
            1 => Vec::new(),
            _ => format!("m{}", r.below(60)).into_bytes(),
        };
        match r.below(10) {
            0..=5 => {
                let s = random_score(&mut r);
                assert_eq!(z.insert(&member, s, &lim), model_insert(&mut m, &member, s), "step {step}");
            }
            6 | 7 => {
                let had = m.iter().position(|e| e.0 == member).map(|i| m.remove(i)).is_some();
                assert_eq!(z.remove(&member), had);
            }
            8 => {
                let (a, b) = (r.below(70) as usize, r.below(70) as usize);
                let rev = r.below(2) == 0;
                let mut want: Vec<(&[u8], f64)> =
                    m.iter().skip(a).take(b.saturating_sub(a)).map(|e| (e.0.as_slice(), e.1)).collect();
                if rev {
                    want.reverse();
                }
                let end = b.min(m.len());
                let got = z.range(a, b, rev);
                if rev && a < end {
                    let want_rev: Vec<(&[u8], f64)> = m[a..end].iter().rev().map(|e| (e.0.as_slice(), e.1)).collect();
                    assert_eq!(got, want_rev);
                } else {
                    assert_eq!(got, want);
                }
                let bound = random_score(&mut r);
                assert_eq!(z.count_while(|s, _| s < bound), m.iter().filter(|e| e.1 < bound).count());
            }
            _ => {
                if r.below(4) == 0 {
                    let (a, b) = (r.below(20) as usize, r.below(20) as usize);
                    let n = z.remove_range(a, b);
                    let end = b.min(m.len());
                    let want = end.saturating_sub(a);
                    if a < end {
                        m.drain(a..end);
                    }
                    assert_eq!(n, want);
                }
            }
        }
        if z.encoding() == "listpack" {
            assert!(m.len() <= lim.max_entries);
        }
        if step % 7 == 0 {
            check_same(&z, &m);
        }
    }
    check_same(&z, &m);
}

#[test]
fn both_forms_agree_with_a_model() {
    for seed in 1..40u64 {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), limits(128, 64), 600);
        run(seed.wrapping_mul(0xD1B5_4A32_D192_ED03), limits(8, 10), 600);
        run(seed.wrapping_mul(0x94D0_49BB_1331_11EB), limits(0, 0), 400);
    }
}

#[test]
fn converts_at_the_thresholds() {
    let lim = limits(3, 4);
    let mut z = ZSet::new();
    for (i, m) in ["a", "b", "c"].iter().enumerate() {
        z.insert(m.as_bytes(), i as f64, &lim);
    }
    assert_eq!(z.encoding(), "listpack");
    // Updating a score never converts; a fourth member does.
    z.insert(b"a", 10.0, &lim);
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"d", 1.0, &lim);
    assert_eq!(z.encoding(), "skiplist");
    // And it stays one, as in Redis, when it shrinks.
    z.remove(b"d");
    assert_eq!(z.encoding(), "skiplist");

    let mut z = ZSet::new();
    z.insert(b"abcd", 1.0, &lim);
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"abcde", 1.0, &lim);
    assert_eq!(z.encoding(), "skiplist");

    let items = vec![(b"x".to_vec(), 2.0), (b"y".to_vec(), 1.0)];
    assert_eq!(ZSet::from_entries(items.clone(), &lim).encoding(), "listpack");
    assert_eq!(ZSet::from_entries(items, &limits(1, 4)).encoding(), "skiplist");
}

#[test]
fn scores_round_trip_in_the_listpack() {
    let lim = limits(128, 64);
    let mut z = ZSet::new();
    let scores =
        [0.0, -0.0, 1.0, -1.0, 1.5, 9007199254740992.0, -9007199254740993.0, 1e300, f64::INFINITY, f64::MIN_POSITIVE];
    for (i, s) in scores.iter().enumerate() {
        z.insert(format!("m{i}").as_bytes(), *s, &lim);
    }
    for (i, s) in scores.iter().enumerate() {
        let want = if *s == 0.0 { 0.0f64 } else { *s };
        assert_eq!(z.score(format!("m{i}").as_bytes()).map(f64::to_bits), Some(want.to_bits()));
    }
    // Five short members with short scores fit inside the ZSet: no allocation of their own.
    let mut z = ZSet::new();
    for (m, s) in [("a", 1.0), ("b", 2.0), ("c1", 3.5), ("d", 4.0), ("e", 5.0)] {
        z.insert(m.as_bytes(), s, &lim);
    }
    assert_eq!(z.heap_size(), 0);
    assert_eq!(std::mem::size_of::<ZSet>(), 24);
    // Decimal scores round-trip exactly, whatever their digits.
    let mut z = ZSet::new();
    let decimals = [0.1, 0.25, -99.99, 1.1, 123456.789, 1e-5, 0.30000000000000004, 2.5e-10, -1.5];
    for (i, s) in decimals.iter().enumerate() {
        z.insert(format!("d{i}").as_bytes(), *s, &lim);
    }
    for (i, s) in decimals.iter().enumerate() {
        assert_eq!(z.score(format!("d{i}").as_bytes()).map(f64::to_bits), Some(s.to_bits()));
    }
}

#[test]
fn skiplist_scan_sees_everything_once() {
    let lim = limits(0, 0);
    let mut z = ZSet::new();
    for i in 0..1000 {
        z.insert(format!("m{i}").as_bytes(), (i % 17) as f64, &lim);
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    loop {
        cursor = z.scan(cursor, 10, |m, _| assert!(seen.insert(m.to_vec())));
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
}

/// A big list (many levels) under score moves, in-place updates, removals and re-inserts;
/// every link's cached score and offset is checked at the end.
#[test]
fn big_skiplist_keeps_its_links_consistent() {
    let mut r = Rng(7);
    let mut list = skiplist::SkipList::default();
    let mut scores = std::collections::HashMap::new();
    for _ in 0..40_000 {
        let member = format!("e{}", r.below(5_000)).into_bytes();
        if r.below(5) == 0 {
            assert_eq!(list.remove(&member), scores.remove(&member));
        } else {
            // Small moves often stay between the neighbours and are updated in place.
            let score = match scores.get(&member) {
                Some(&s) if r.below(2) == 0 => s + 1e-9,
                _ => r.below(1_000) as f64,
            };
            assert_eq!(list.insert(&member, score), scores.insert(member, score).is_none());
        }
    }
    assert_eq!(list.len(), scores.len());
    list.check();
}

use super::*;

/// xorshift64: deterministic, so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn value(r: &mut Rng) -> Vec<u8> {
    match r.below(7) {
        0 => r.below(200).to_string().into_bytes(),
        1 => format!("-{}", r.below(100_000)).into_bytes(),
        2 => (1_700_000_000_000_000_000u64 + r.below(1_000_000)).to_string().into_bytes(),
        3 => vec![b'x'; r.below(300) as usize],
        4 => b"0123".to_vec(),
        _ => format!("v{}", r.below(20)).into_bytes(),
    }
}

fn contents(l: &List) -> Vec<Vec<u8>> {
    l.iter().map(|c| c.into_owned()).collect()
}

fn check(l: &List, model: &VecDeque<Vec<u8>>, fill: i64, ctx: &str) {
    check_compression(l, ctx);
    assert_eq!(l.len(), model.len(), "{ctx}");
    assert_eq!(contents(l), model.iter().cloned().collect::<Vec<_>>(), "{ctx}");
    let mut back = Vec::new();
    l.walk(true, |e| {
        back.push(e.to_vec());
        true
    });
    back.reverse();
    assert_eq!(back, contents(l), "{ctx}: reverse walk");
    let counted: usize = l.nodes.iter().map(Node::count).sum();
    assert_eq!(counted, l.len(), "{ctx}: node counts");
    for n in &l.nodes {
        assert!(n.count() > 0, "{ctx}: empty node kept");
        assert!(n.count() == 1 || fits(fill, n.bytes(), n.count()), "{ctx}: node over the limit");
    }
}

/// The depth's layout holds exactly: end nodes plain, interior nodes compressed unless
/// compressing them would not pay.
fn check_compression(l: &List, ctx: &str) {
    let d = l.compress_depth();
    let n = l.nodes.len();
    for (i, node) in l.nodes.iter().enumerate() {
        let interior = d > 0 && i >= d && i + d < n;
        if !interior {
            assert!(!node.is_compressed(), "{ctx}: node {i} of {n} compressed at depth {d}");
        } else if !node.is_compressed() {
            assert!(!node.clone().compress(), "{ctx}: interior node {i} of {n} left plain at depth {d}");
        }
    }
}

fn run_model(seed: u64, fill: i64, steps: usize) {
    assert_eq!(run_model_at(seed, fill, 0, steps), 0);
}

/// Returns how many compressed nodes the steps saw in total.
fn run_model_at(seed: u64, fill: i64, depth: usize, steps: usize) -> usize {
    let mut compressed = 0;
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut l = List::with_compress_depth(depth);
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    for step in 0..steps {
        let mut op = r.below(12);
        // With compression on, trim less often so lists grow long enough to have an interior.
        if depth > 0 && op == 9 && r.below(4) > 0 {
            op = 2;
        }
        let ctx = format!("seed {seed} fill {fill} depth {depth} step {step} op {op}");
        match op {
            0 | 1 => {
                let v = value(&mut r);
                l.push(End::Head, &v, fill);
                m.push_front(v);
            }
            2 | 3 => {
                let v = value(&mut r);
                l.push(End::Tail, &v, fill);
                m.push_back(v);
            }
            4 => assert_eq!(l.pop(End::Head), m.pop_front(), "{ctx}"),
            5 => assert_eq!(l.pop(End::Tail), m.pop_back(), "{ctx}"),
            6 => {
                let i = r.below(m.len() as u64 + 1) as usize;
                let v = value(&mut r);
                l.insert(i, &v, fill);
                m.insert(i, v);
            }
            7 => {
                let i = r.below(m.len() as u64 + 2) as usize;
                let v = value(&mut r);
                let ok = l.set(i, &v, fill);
                assert_eq!(ok, i < m.len(), "{ctx}");
                if ok {
                    m[i] = v;
                }
            }
            8 => {
                let v = value(&mut r);
                let count = r.below(5) as i64 - 2;
                let removed = l.remove_matching(&Needle::new(&v), count, fill);
                let mut expect = 0;
                let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                if count >= 0 {
                    let mut i = 0;
                    while i < m.len() && expect < limit {
                        if m[i] == v {
                            m.remove(i);
                            expect += 1;
                        } else {
                            i += 1;
                        }
                    }
                } else {
                    let mut i = m.len();
                    while i > 0 && expect < limit {
                        i -= 1;
                        if m[i] == v {
                            m.remove(i);
                            expect += 1;
                        }
                    }
                }
                assert_eq!(removed, expect, "{ctx}");
            }
            9 => {
                let n = m.len() as u64;
                let (a, b) = (r.below(n + 2) as usize, r.below(n + 2) as usize);
                l.trim(a, b, fill);
                if a > b || a >= m.len() {
                    m.clear();
                } else {
                    let b = b.min(m.len() - 1);
                    m = m.iter().skip(a).take(b - a + 1).cloned().collect();
                }
            }
            10 => {
                let n = m.len() as u64;
                let (a, b) = (r.below(n + 1) as usize, r.below(n + 3) as usize);
                let mut got = Vec::new();
                l.for_range(a, b, |e| got.push(e.to_vec()));
                let expect: Vec<Vec<u8>> = if a > b || a >= m.len() {
                    Vec::new()
                } else {
                    m.iter().skip(a).take(b.min(m.len() - 1) - a + 1).cloned().collect()
                };
                assert_eq!(got, expect, "{ctx}");
                let i = r.below(n + 1) as usize;
                assert_eq!(l.get_with(i, |e| e.to_vec()), m.get(i).cloned(), "{ctx}");
            }
            _ => {
                let v = value(&mut r);
                assert_eq!(l.position(&Needle::new(&v)), m.iter().position(|x| *x == v), "{ctx}");
            }
        }
        check(&l, &m, fill, &ctx);
        compressed += l.compressed_node_count();
    }
    compressed
}

#[test]
fn matches_a_vecdeque_model_with_tiny_nodes() {
    for seed in 1..=30 {
        for fill in [1, 2, 3, 5] {
            run_model(seed, fill, 400);
        }
    }
}

#[test]
fn matches_a_vecdeque_model_with_byte_limits() {
    for seed in 1..=10 {
        for fill in [-1, -2, -5, 0] {
            run_model(seed, fill, 1500);
        }
    }
}

#[test]
fn matches_a_vecdeque_model_while_compressing() {
    let mut total = 0;
    for seed in 1..=20 {
        for depth in [1, 2] {
            for fill in [1, 2, 4, 5] {
                let seen = run_model_at(seed, fill, depth, 600);
                assert!(seen > 0, "seed {seed} depth {depth} fill {fill}: nothing was compressed");
                total += seen;
            }
        }
    }
    // On average, several compressed nodes at every step.
    assert!(total > 160 * 600, "{total}");
}

/// Values that compress well, so the interior really is compressed throughout.
#[test]
fn compressed_interior_follows_the_ends() {
    for depth in [1usize, 2, 3] {
        let mut l = List::with_compress_depth(depth);
        let mut m = VecDeque::new();
        for i in 0..400 {
            let v = format!("element-{:04}-{}", i % 7, "z".repeat(20)).into_bytes();
            if i % 3 == 0 {
                l.push(End::Head, &v, 4);
                m.push_front(v);
            } else {
                l.push(End::Tail, &v, 4);
                m.push_back(v);
            }
        }
        check(&l, &m, 4, "built");
        assert_eq!(l.compressed_node_count(), l.node_count() - 2 * depth);
        // Pop everything back through the plain ends, alternating sides.
        let mut k = 0;
        while !m.is_empty() {
            if k % 2 == 0 {
                assert_eq!(l.pop(End::Head), m.pop_front());
            } else {
                assert_eq!(l.pop(End::Tail), m.pop_back());
            }
            k += 1;
            check(&l, &m, 4, &format!("depth {depth} pop {k}"));
        }
    }
}

#[test]
fn compressed_lists_are_smaller() {
    let build = |depth| {
        let mut l = List::with_compress_depth(depth);
        for i in 0..10_000 {
            l.push(End::Tail, format!("user:{}:session", i % 100).as_bytes(), -2);
        }
        l
    };
    let (plain, packed) = (build(0), build(1));
    assert_eq!(plain.compressed_node_count(), 0);
    assert_eq!(packed.compressed_node_count(), packed.node_count() - 2);
    assert!(packed.heap_size() * 2 < plain.heap_size(), "{} vs {}", packed.heap_size(), plain.heap_size());
    assert!(plain.iter().eq(packed.iter()));
}

#[test]
fn nodes_split_by_count_and_by_bytes() {
    let mut l = List::new();
    for i in 0..10 {
        l.push(End::Tail, format!("{i}").as_bytes(), 4);
    }
    assert_eq!(l.node_count(), 3);
    let mut l = List::new();
    for _ in 0..100 {
        l.push(End::Tail, &[b'x'; 100], -1);
    }
    // 101 bytes each, 4 KB per node.
    assert_eq!(l.node_count(), 3);
    assert_eq!(l.encoding(), "quicklist");
}

#[test]
fn timeline_of_ids_is_one_compact_node() {
    let mut l = List::new();
    for i in 0..1000u64 {
        l.push(End::Head, (1_600_000_000_000_000_000 + i * 7919).to_string().as_bytes(), -2);
        l.trim(0, 799, -2);
    }
    assert_eq!(l.len(), 800);
    assert_eq!(l.node_count(), 1);
    // 9 bytes per 19-digit ID: one tag byte and eight of integer.
    assert!(l.heap_size() <= 800 * 9 + 64 + 2 * std::mem::size_of::<Node>(), "{}", l.heap_size());
    let mut first = Vec::new();
    l.for_range(0, 1, |e| first.push(e.to_vec()));
    assert_eq!(first[0], (1_600_000_000_000_000_000u64 + 999 * 7919).to_string().into_bytes());
}

#[test]
fn merges_after_removals() {
    let mut l = List::new();
    for i in 0..40 {
        l.push(End::Tail, format!("e{}", i % 4).as_bytes(), 8);
    }
    assert_eq!(l.node_count(), 5);
    assert_eq!(l.remove_matching(&Needle::new(b"e1"), 0, 8), 10);
    assert_eq!(l.node_count(), 5);
    assert_eq!(l.remove_matching(&Needle::new(b"e2"), 0, 8), 10);
    assert_eq!(l.len(), 20);
    // Five nodes of four fill two and a half nodes of eight.
    assert_eq!(l.node_count(), 3);
}

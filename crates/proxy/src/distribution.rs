//! Key -> server index, as nutcracker maps it: hash tags, the empty-key rule, and the ketama,
//! modula and random continuums, rebuilt from the live servers when one is ejected.
//!
//! Owns: the mapping arithmetic only. Which servers are live is the caller's decision.

use std::cell::Cell;

use crate::hash::{md5_digest, HashKind};

/// Points per server on a ketama ring when all weights are equal (40 md5 digests of 4 points).
const KETAMA_POINTS_PER_SERVER: f32 = 160.0;
const KETAMA_POINTS_PER_HASH: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    Ketama,
    Modula,
    Random,
}

impl Distribution {
    pub fn from_name(name: &str) -> Option<Distribution> {
        match name {
            "ketama" => Some(Distribution::Ketama),
            "modula" => Some(Distribution::Modula),
            "random" => Some(Distribution::Random),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Distribution::Ketama => "ketama",
            Distribution::Modula => "modula",
            Distribution::Random => "random",
        }
    }
}

/// A server as the continuum sees it: its ring name and weight, at its index in the sorted list.
#[derive(Debug, Clone)]
pub struct RingServer {
    pub name: Vec<u8>,
    pub weight: u32,
}

/// Ketama ring points, per server, for `n` live servers of total weight `total`. Done in C float
/// arithmetic in nutcracker's order: the float32 rounding is what gives 156 instead of 160 points
/// for some server counts, and keys follow it.
pub fn ketama_points(weight: u32, total: u64, n: usize) -> u32 {
    let pct = weight as f32 / total as f32;
    let x = pct * KETAMA_POINTS_PER_SERVER / 4.0 * n as f32;
    // The epsilon is a C double literal; the sum is converted back to float before floorf.
    let x = (f64::from(x) + 0.000_000_000_1) as f32;
    (x.floor() * 4.0) as u32
}

/// A ketama ring: its points, sorted, and an index by a hash's top bits.
#[derive(Debug, Clone)]
pub struct Ring {
    /// Sorted (point, server index).
    points: Vec<(u32, u32)>,
    /// For each run of hashes sharing their top bits, where its candidate points start (one
    /// entry more, the end). A 500-server ring has 80,000 points: the index takes a lookup to
    /// a couple of cache lines instead of a 17-step binary search through 640 KB.
    starts: Vec<u32>,
    /// 32 minus the bits indexed.
    shift: u32,
}

impl Ring {
    pub fn new(points: Vec<(u32, u32)>) -> Ring {
        // About one point per run, up to 2^16 runs.
        let bits = points.len().max(1).ilog2().min(16);
        let shift = 32 - bits;
        let mut starts = Vec::with_capacity((1 << bits) + 1);
        let mut at = 0;
        for run in 0..1u64 << bits {
            let first_hash = run << shift;
            while at < points.len() && u64::from(points[at].0) < first_hash {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(points.len() as u32);
        Ring { points, starts, shift }
    }

    pub fn points(&self) -> &[(u32, u32)] {
        &self.points
    }

    /// The server of the first point at or after `hash`, wrapping past the last to the first.
    fn dispatch(&self, hash: u32) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let run = (u64::from(hash) >> self.shift) as usize;
        let (from, to) = (self.starts[run] as usize, self.starts[run + 1] as usize);
        let i = from + self.points[from..to].partition_point(|p| p.0 < hash);
        let i = if i == self.points.len() { 0 } else { i };
        Some(self.points[i].1 as usize)
    }
}

/// A built continuum over the live servers.
#[derive(Debug, Clone)]
pub enum Continuum {
    Ketama(Ring),
    /// nutcracker's modula continuum lists each live server `weight` times in index order; this
    /// keeps it as runs (cumulative end, server index) so huge weights cost no memory.
    Modula(Vec<(u64, u32)>),
    /// Live server indexes.
    Random(Vec<u32>),
}

impl Continuum {
    /// Builds from every server (in index order) whose `live` flag is set.
    pub fn build(dist: Distribution, servers: &[RingServer], live: &[bool]) -> Continuum {
        let is_live = |i: usize| live.get(i).copied().unwrap_or(true);
        match dist {
            Distribution::Ketama => {
                let n = (0..servers.len()).filter(|&i| is_live(i)).count();
                let total: u64 =
                    servers.iter().enumerate().filter(|(i, _)| is_live(*i)).map(|(_, s)| u64::from(s.weight)).sum();
                let mut points = Vec::with_capacity(n * KETAMA_POINTS_PER_SERVER as usize);
                let mut seed = Vec::new();
                for (index, s) in servers.iter().enumerate().filter(|(i, _)| is_live(*i)) {
                    let count = ketama_points(s.weight, total, n);
                    for i in 0..count / KETAMA_POINTS_PER_HASH {
                        seed.clear();
                        seed.extend_from_slice(&s.name);
                        seed.push(b'-');
                        seed.extend_from_slice(i.to_string().as_bytes());
                        let d = md5_digest(&seed);
                        for a in 0..4 {
                            let v = u32::from_le_bytes([d[4 * a], d[4 * a + 1], d[4 * a + 2], d[4 * a + 3]]);
                            points.push((v, index as u32));
                        }
                    }
                }
                // Ties keep insertion order; no ring measured so far has two equal points.
                points.sort_by_key(|p| p.0);
                Continuum::Ketama(Ring::new(points))
            }
            Distribution::Modula => {
                let mut end = 0u64;
                let mut runs = Vec::new();
                for (index, s) in servers.iter().enumerate().filter(|(i, _)| is_live(*i)) {
                    end += u64::from(s.weight);
                    runs.push((end, index as u32));
                }
                Continuum::Modula(runs)
            }
            Distribution::Random => {
                Continuum::Random((0..servers.len()).filter(|&i| is_live(i)).map(|i| i as u32).collect())
            }
        }
    }

    /// The server index for a key hash; `None` when no server is live.
    pub fn dispatch(&self, hash: u32) -> Option<usize> {
        match self {
            Continuum::Ketama(ring) => ring.dispatch(hash),
            Continuum::Modula(runs) => {
                let total = runs.last()?.0;
                let slot = u64::from(hash) % total;
                let i = runs.partition_point(|r| r.0 <= slot);
                runs.get(i).map(|r| r.1 as usize)
            }
            Continuum::Random(live) => {
                if live.is_empty() {
                    return None;
                }
                Some(live[(next_random() as usize) % live.len()] as usize)
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Continuum::Ketama(ring) => ring.points.len(),
            Continuum::Modula(v) => v.last().map_or(0, |r| r.0 as usize),
            Continuum::Random(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

thread_local! {
    static RANDOM_STATE: Cell<u64> = Cell::new(random_seed());
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(1);
    // Mix in a stack address so threads started in the same nanosecond still differ.
    let local = 0u8;
    (t as u64) ^ ((&local as *const u8 as u64).rotate_left(32)) | 1
}

/// xorshift64*: the random distribution only needs a spread, not nutcracker's random() sequence
/// (which is seeded from the clock and so is not reproducible either).
fn next_random() -> u32 {
    RANDOM_STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    })
}

/// The part of a key that is hashed: the content of the first `L...R` tag if it is non-empty,
/// else the whole key (Redis Cluster's rule).
pub fn hash_tag_of(key: &[u8], tag: Option<[u8; 2]>) -> &[u8] {
    let Some([l, r]) = tag else { return key };
    let Some(i) = key.iter().position(|&b| b == l) else { return key };
    match key[i + 1..].iter().position(|&b| b == r) {
        Some(j) if j > 0 => &key[i + 1..i + 1 + j],
        _ => key,
    }
}

/// A pool's mapping: hash function, hash tag, and the current continuum.
#[derive(Debug, Clone)]
pub struct Router {
    pub hash: HashKind,
    pub hash_tag: Option<[u8; 2]>,
    pub distribution: Distribution,
    servers: Vec<RingServer>,
    continuum: Continuum,
}

impl Router {
    pub fn new(
        hash: HashKind,
        hash_tag: Option<[u8; 2]>,
        distribution: Distribution,
        servers: Vec<RingServer>,
    ) -> Router {
        let continuum = Continuum::build(distribution, &servers, &[]);
        Router { hash, hash_tag, distribution, servers, continuum }
    }

    /// Rebuilds the continuum from the servers whose flag is set (ejected ones are not).
    pub fn rebuild(&mut self, live: &[bool]) {
        self.continuum = Continuum::build(self.distribution, &self.servers, live);
    }

    pub fn continuum(&self) -> &Continuum {
        &self.continuum
    }

    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// The hash nutcracker dispatches on: the empty key is 0, not the hash of no bytes.
    pub fn key_hash(&self, key: &[u8]) -> u32 {
        let k = hash_tag_of(key, self.hash_tag);
        if k.is_empty() {
            0
        } else {
            self.hash.hash(k)
        }
    }

    /// The server index for a key; `None` when no server is live. A pool of one server never
    /// hashes (nutcracker's shortcut), and so ignores ejection for the mapping.
    pub fn route(&self, key: &[u8]) -> Option<usize> {
        if self.servers.len() == 1 {
            return if self.continuum.is_empty() { None } else { Some(0) };
        }
        self.continuum.dispatch(self.key_hash(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(names: &[&str], weights: &[u32]) -> Vec<RingServer> {
        names.iter().zip(weights).map(|(n, &w)| RingServer { name: n.as_bytes().to_vec(), weight: w }).collect()
    }

    #[test]
    fn float32_point_counts() {
        assert_eq!(ketama_points(1, 3, 3), 160);
        assert_eq!(ketama_points(1, 25, 25), 156);
        for n in [47, 50, 55, 61, 71, 94, 100, 107, 109, 110, 115, 122, 142, 159, 163, 188, 193, 200] {
            assert_eq!(ketama_points(1, n, n as usize), 156, "{n} servers");
        }
        for n in [2, 3, 24, 26, 48, 500] {
            assert_eq!(ketama_points(1, n, n as usize), 160, "{n} servers");
        }
        assert_eq!(ketama_points(1, 25, 5), 28);
        assert_eq!(ketama_points(21, 25, 5), 672);
        assert_eq!([1, 2, 3].map(|w| ketama_points(w, 6, 3)), [80, 160, 240]);
    }

    #[test]
    fn ring_of_the_worked_example() {
        let r = Router::new(
            HashKind::Fnv1a64,
            None,
            Distribution::Ketama,
            named(&["server1", "server2", "server3"], &[1, 1, 1]),
        );
        let Continuum::Ketama(ring) = r.continuum() else { panic!("ketama expected") };
        let points = ring.points();
        assert_eq!(points.len(), 480);
        assert_eq!(&points[..3], &[(0x00957bcf, 2), (0x00a31052, 1), (0x01944b4e, 0)]);
        for v in [0x8eb4f527, 0x2e44ab5c, 0xab749c05, 0x0ef879ae] {
            assert!(points.contains(&(v, 0)));
        }
        assert_eq!(r.route(b"key:0"), Some(2));
    }

    #[test]
    fn dispatch_wraps_past_the_last_point() {
        let c = Continuum::Ketama(Ring::new(vec![(10, 0), (20, 1)]));
        assert_eq!(c.dispatch(0), Some(0));
        assert_eq!(c.dispatch(10), Some(0));
        assert_eq!(c.dispatch(11), Some(1));
        assert_eq!(c.dispatch(21), Some(0));
        assert_eq!(Continuum::Ketama(Ring::new(vec![])).dispatch(5), None);
    }

    #[test]
    fn the_indexed_ring_finds_what_a_search_of_every_point_finds() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u32
        };
        for len in [1, 2, 3, 7, 480, 4096, 80_000, 200_000] {
            let mut points: Vec<(u32, u32)> = (0..len).map(|i| (next(), i)).collect();
            points.extend([(0, len), (u32::MAX, len + 1)].into_iter().take(if len > 3 { 2 } else { 0 }));
            points.sort_by_key(|p| p.0);
            let ring = Ring::new(points.clone());
            let searched = |hash: u32| {
                let i = points.partition_point(|p| p.0 < hash);
                points[if i == points.len() { 0 } else { i }].1 as usize
            };
            let mut hashes: Vec<u32> = (0..2000).map(|_| next()).collect();
            hashes.extend([0, 1, u32::MAX, u32::MAX - 1, 1 << 31]);
            hashes.extend(points.iter().take(50).flat_map(|p| [p.0, p.0.wrapping_add(1), p.0.wrapping_sub(1)]));
            for hash in hashes {
                assert_eq!(ring.dispatch(hash), Some(searched(hash)), "{len} points, hash {hash:#x}");
            }
        }
    }

    #[test]
    fn ejecting_an_equal_weight_server_moves_only_its_keys() {
        let mut r = Router::new(
            HashKind::Fnv1a64,
            None,
            Distribution::Ketama,
            named(&["server1", "server2", "server3"], &[1, 1, 1]),
        );
        let before: Vec<Option<usize>> = (0..2000).map(|i| r.route(format!("key:{i}").as_bytes())).collect();
        r.rebuild(&[true, false, true]);
        let mut moved = 0;
        for (i, was) in before.iter().enumerate() {
            let now = r.route(format!("key:{i}").as_bytes());
            assert_ne!(now, Some(1));
            if *was == Some(1) {
                moved += 1;
            } else {
                assert_eq!(now, *was, "key:{i} moved although its server stayed");
            }
        }
        assert!(moved > 0);
        r.rebuild(&[false, false, false]);
        assert_eq!(r.route(b"key:1"), None);
    }

    #[test]
    fn modula_repeats_by_weight_in_index_order() {
        let servers = named(&["server1", "server2", "server10"], &[1, 1, 2]);
        let mut r = Router::new(HashKind::Fnv1a64, None, Distribution::Modula, servers);
        // The continuum [0, 1, 2, 2], indexed by hash % 4.
        let picks: Vec<Option<usize>> = (0..8).map(|h| r.continuum().dispatch(h)).collect();
        assert_eq!(picks, [0, 1, 2, 2, 0, 1, 2, 2].map(Some));
        assert_eq!(r.continuum().len(), 4);
        r.rebuild(&[true, false, true]);
        let picks: Vec<Option<usize>> = (0..6).map(|h| r.continuum().dispatch(h)).collect();
        assert_eq!(picks, [0, 2, 2, 0, 2, 2].map(Some));
        r.rebuild(&[false, false, false]);
        assert_eq!(r.continuum().dispatch(7), None);
    }

    #[test]
    fn huge_weights_cost_no_memory() {
        let servers = named(&["a", "b"], &[i32::MAX as u32, i32::MAX as u32]);
        let r = Router::new(HashKind::Fnv1a64, None, Distribution::Modula, servers.clone());
        assert_eq!(r.continuum().dispatch(u32::MAX), Some(0));
        let k = Router::new(HashKind::Fnv1a64, None, Distribution::Ketama, servers);
        assert_eq!(k.continuum().len(), 320);
    }

    #[test]
    fn random_picks_only_live_servers() {
        let mut r = Router::new(HashKind::Fnv1a64, None, Distribution::Random, named(&["a", "b", "c"], &[1, 5, 1]));
        r.rebuild(&[false, true, true]);
        let mut seen = [0u32; 3];
        for i in 0..300 {
            seen[r.route(format!("k{i}").as_bytes()).unwrap()] += 1;
        }
        assert_eq!(seen[0], 0);
        assert!(seen[1] > 0 && seen[2] > 0);
    }

    #[test]
    fn hash_tags_follow_the_cluster_rule() {
        let t = Some(*b"{}");
        assert_eq!(hash_tag_of(b"user:{42}:x", t), b"42");
        assert_eq!(hash_tag_of(b"x{}{y}", t), b"x{}{y}");
        assert_eq!(hash_tag_of(b"a{{b}}", t), b"{b");
        assert_eq!(hash_tag_of(b"}1{x}", t), b"x");
        assert_eq!(hash_tag_of(b"open{only", t), b"open{only");
        assert_eq!(hash_tag_of(b"$a$b", Some(*b"$$")), b"a");
        assert_eq!(hash_tag_of(b"{a}", None), b"{a}");
    }

    #[test]
    fn the_empty_key_hashes_to_zero() {
        let r = Router::new(HashKind::Fnv1a64, Some(*b"{}"), Distribution::Ketama, named(&["a", "b"], &[1, 1]));
        assert_eq!(r.key_hash(b""), 0);
        assert_eq!(r.key_hash(b"{}"), HashKind::Fnv1a64.hash(b"{}"));
        let Continuum::Ketama(ring) = r.continuum() else { panic!("ketama expected") };
        assert_eq!(r.route(b""), Some(ring.points()[0].1 as usize));
    }

    #[test]
    fn one_server_never_hashes() {
        let mut r = Router::new(HashKind::Md5, None, Distribution::Modula, named(&["only"], &[3]));
        assert_eq!(r.route(b"anything"), Some(0));
        r.rebuild(&[false]);
        assert_eq!(r.route(b"anything"), None);
    }
}

//! The pool's hottest keys: which keys took the most requests over the last stats interval, the
//! signal that shows why one shard runs hot while the others idle.
//!
//! Each worker counts a sample of the keys it routes with the space-saving algorithm (a fixed
//! number of counters; a new key replaces the least-counted one and inherits its count, so a
//! heavy hitter is never lost), and publishes its top keys once per interval. The stats port
//! merges the workers' lists.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use foldhash::fast::FixedState;

/// Keys reported per pool.
pub const TOP_K: usize = 16;
/// Counters per worker and pool.
const CAPACITY: usize = 256;
/// One request in this many is counted: the estimate stays good for hot keys and the cost
/// stays off most requests.
pub const SAMPLE_EVERY: u32 = 8;
/// Longer keys are counted by this prefix, which bounds the counters' memory.
const MAX_KEY: usize = 128;

/// A key and its estimated requests in the interval.
pub type HotKey = (Vec<u8>, u64);

/// The map from a key's hash to its counter is keyed by that hash already.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub struct HotKeyCounter {
    /// The counters, side by side so that finding the least is one pass over a small array;
    /// a counter's key buffer is reused when the counter changes hands.
    counts: Vec<u64>,
    keys: Vec<Vec<u8>>,
    /// Each counter's key hash, so that handing a counter over costs no second hash.
    hashes: Vec<u64>,
    /// No counter is below this: the least count found so far, which only grows until the
    /// counters start over.
    floor: u64,
    /// Where the search for a counter at `floor` resumes. Under a flood of distinct keys each
    /// replacement lifts one counter off the floor, so the next one is found a step or two on,
    /// instead of by a pass over all the counters per sampled request.
    cursor: usize,
    /// A key's 64-bit hash -> its counter. Two keys with one hash share nothing: the second is
    /// not counted (a chance of one in 2^64 per pair).
    slot_of: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    hasher: FixedState,
    /// xorshift32 state. The sample is random, not every n-th request: a client alternating
    /// two keys would otherwise have one of them never sampled.
    rng: u32,
}

impl Default for HotKeyCounter {
    fn default() -> Self {
        HotKeyCounter {
            counts: Vec::with_capacity(CAPACITY),
            keys: Vec::with_capacity(CAPACITY),
            hashes: Vec::with_capacity(CAPACITY),
            floor: 0,
            cursor: 0,
            slot_of: HashMap::default(),
            hasher: FixedState::with_seed(0x5eed),
            rng: 0x9e37_79b9,
        }
    }
}

impl HotKeyCounter {
    /// Counts `key` if it falls in the sample.
    pub fn sample(&mut self, key: &[u8]) {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        if x.is_multiple_of(SAMPLE_EVERY) {
            self.add(&key[..key.len().min(MAX_KEY)]);
        }
    }

    /// Space-saving: a counted key's counter goes up; a new key takes a free counter, or the
    /// least one's, inheriting its count.
    fn add(&mut self, key: &[u8]) {
        let hash = self.hasher.hash_one(key);
        if let Some(&slot) = self.slot_of.get(&hash) {
            if self.keys[slot] == key {
                self.counts[slot] += 1;
            }
            return;
        }
        if self.counts.len() < CAPACITY {
            self.counts.push(1);
            self.keys.push(key.to_vec());
            self.hashes.push(hash);
            self.slot_of.insert(hash, self.counts.len() - 1);
            return;
        }
        let least = self.least();
        self.slot_of.remove(&self.hashes[least]);
        self.hashes[least] = hash;
        self.keys[least].clear();
        self.keys[least].extend_from_slice(key);
        self.counts[least] += 1;
        self.slot_of.insert(hash, least);
    }

    /// A counter with the least count: the next one at `floor` from the cursor on, or, when none
    /// is left there, one at the new least count.
    fn least(&mut self) -> usize {
        let n = self.counts.len();
        let found = (self.cursor..n).chain(0..self.cursor).find(|&i| self.counts[i] == self.floor);
        let at = found.unwrap_or_else(|| {
            // The smallest count, then its place: two simple passes the compiler turns into
            // vector instructions.
            self.floor = self.counts.iter().copied().min().unwrap_or(0);
            self.counts.iter().position(|&c| c == self.floor).unwrap_or(0)
        });
        self.cursor = (at + 1) % n;
        at
    }

    /// The top keys of the interval just ended (counts scaled back up from the sample); the
    /// counters start over.
    pub fn take_top(&mut self) -> Vec<HotKey> {
        self.slot_of.clear();
        self.hashes.clear();
        (self.floor, self.cursor) = (0, 0);
        let counts = std::mem::take(&mut self.counts);
        let mut all: Vec<HotKey> =
            self.keys.drain(..).zip(counts).map(|(k, c)| (k, c.saturating_mul(u64::from(SAMPLE_EVERY)))).collect();
        sort_top(&mut all);
        all
    }
}

/// Most requests first (ties by key, for a stable listing), cut to `TOP_K`.
fn sort_top(keys: &mut Vec<HotKey>) {
    keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    keys.truncate(TOP_K);
}

/// Sums the workers' lists into the pool's top keys.
pub fn merge<'a>(lists: impl Iterator<Item = &'a Vec<HotKey>>) -> Vec<HotKey> {
    let mut sum: HashMap<&[u8], u64> = HashMap::new();
    for list in lists {
        for (k, c) in list {
            *sum.entry(k.as_slice()).or_default() += c;
        }
    }
    let mut all: Vec<HotKey> = sum.into_iter().map(|(k, c)| (k.to_vec(), c)).collect();
    sort_top(&mut all);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heavy_hitter_survives_a_flood_of_distinct_keys() {
        let mut c = HotKeyCounter::default();
        for i in 0..100_000u32 {
            c.sample(format!("cold:{i}").as_bytes());
            if i % 4 == 0 {
                c.sample(b"hot");
            }
        }
        // Strict alternation must not hide either key from the sample.
        let mut alt = HotKeyCounter::default();
        for _ in 0..10_000 {
            alt.sample(b"a");
            alt.sample(b"b");
        }
        let both = alt.take_top();
        assert_eq!(both.len(), 2);
        assert!(both.iter().all(|(_, n)| (8_000..=12_000).contains(n)), "{both:?}");
        let top = c.take_top();
        assert_eq!(top[0].0, b"hot");
        // 25,000 requests; the estimate comes from a 1-in-8 sample.
        assert!((20_000..=30_000).contains(&top[0].1), "{}", top[0].1);
        assert!(top.len() <= TOP_K);
        assert!(c.take_top().is_empty(), "counters start over");
    }

    #[test]
    fn the_counter_handed_over_is_always_a_least_one() {
        let mut c = HotKeyCounter::default();
        for i in 0..CAPACITY {
            c.add(format!("fill:{i}").as_bytes());
        }
        let mut rng = 12345u32;
        for round in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            // Hits on counted keys raise counters anywhere, as between replacements.
            if rng.is_multiple_of(3) {
                c.counts[rng as usize % CAPACITY] += 1;
                continue;
            }
            let least = c.least();
            let smallest = *c.counts.iter().min().unwrap();
            assert_eq!(c.counts[least], smallest, "round {round}");
            c.counts[least] += 1;
        }
    }

    #[test]
    fn long_keys_are_counted_by_prefix() {
        let mut c = HotKeyCounter::default();
        let long = vec![b'x'; 1000];
        for _ in 0..SAMPLE_EVERY * 100 {
            c.sample(&long);
        }
        let top = c.take_top();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].0.len(), MAX_KEY);
    }

    #[test]
    fn merge_sums_across_workers() {
        let a = vec![(b"k1".to_vec(), 10), (b"k2".to_vec(), 5)];
        let b = vec![(b"k2".to_vec(), 8)];
        assert_eq!(merge([&a, &b].into_iter()), vec![(b"k2".to_vec(), 13), (b"k1".to_vec(), 10)]);
    }
}

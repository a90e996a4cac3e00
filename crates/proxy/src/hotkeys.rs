//! The pool's hottest keys: which keys took the most requests over the last stats interval, the
//! signal that shows why one shard runs hot while the others idle.
//!
//! Each worker counts a sample of the keys it routes with the space-saving algorithm (a fixed
//! number of counters; a new key replaces the least-counted one and inherits its count, so a
//! heavy hitter is never lost), and publishes its top keys once per interval. The stats port
//! merges the workers' lists.

use std::collections::HashMap;

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

pub struct HotKeyCounter {
    counts: HashMap<Vec<u8>, u64>,
    /// xorshift32 state. The sample is random, not every n-th request: a client alternating
    /// two keys would otherwise have one of them never sampled.
    rng: u32,
}

impl Default for HotKeyCounter {
    fn default() -> Self {
        HotKeyCounter { counts: HashMap::new(), rng: 0x9e37_79b9 }
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

    fn add(&mut self, key: &[u8]) {
        if let Some(c) = self.counts.get_mut(key) {
            *c += 1;
            return;
        }
        let mut inherited = 0;
        if self.counts.len() >= CAPACITY {
            let least = self.counts.iter().min_by_key(|(_, &c)| c).map(|(k, &c)| (k.clone(), c));
            if let Some((k, c)) = least {
                self.counts.remove(&k);
                inherited = c;
            }
        }
        self.counts.insert(key.to_vec(), inherited + 1);
    }

    /// The top keys of the interval just ended (counts scaled back up from the sample); the
    /// counters start over.
    pub fn take_top(&mut self) -> Vec<HotKey> {
        let mut all: Vec<HotKey> =
            self.counts.drain().map(|(k, c)| (k, c.saturating_mul(u64::from(SAMPLE_EVERY)))).collect();
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

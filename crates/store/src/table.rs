//! One database's slice of one shard: keys, values and expiry times.
//!
//! Keys sit in an insertion-ordered map whose deletions move the last key into the hole. That
//! gives O(1) random sampling (RANDOMKEY, active expiry) and a SCAN that walks positions from the
//! end down: a key present for the whole scan is always reached, because the only key a deletion
//! moves comes from a position the scan has either already visited or has yet to reach below.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use foldhash::fast::RandomState;
use indexmap::{IndexMap, IndexSet};

use crate::value::{Key, Value};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Unix seconds, refreshed by [`tick_clock`] from a periodic task: access times are stamped on
/// every command, and a cached value saves a clock read on each.
static CLOCK_SECS: AtomicU32 = AtomicU32::new(0);

pub fn now_secs() -> u32 {
    match CLOCK_SECS.load(Ordering::Relaxed) {
        0 => tick_clock(),
        secs => secs,
    }
}

/// Refreshes the cached seconds clock; returns the new value.
pub fn tick_clock() -> u32 {
    let secs = (now_ms() / 1000) as u32;
    CLOCK_SECS.store(secs, Ordering::Relaxed);
    secs
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub value: Value,
    /// Unix time in milliseconds at which the key expires; 0 means never.
    pub expire_at: u64,
    /// Last access, in Unix seconds (OBJECT IDLETIME, LRU eviction).
    pub access: u32,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry { value, expire_at: 0, access: now_secs() }
    }

    pub fn is_expired(&self, now: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now
    }
}

#[derive(Default)]
pub struct Table {
    map: IndexMap<Key, Entry, RandomState>,
    /// Keys with an expiry time, for sampling by the active expiry cycle.
    volatile: IndexSet<Key, RandomState>,
    /// Keys removed because their time was up (INFO's expired_keys).
    pub expired: u64,
}

impl Table {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// The live entry for `key`; an expired one is removed on the way.
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let idx = self.map.get_index_of(key)?;
        if self.map[idx].expire_at != 0 && self.map[idx].is_expired(now_ms()) {
            self.expire_at_index(idx);
            return None;
        }
        Some(&mut self.map[idx])
    }

    /// Like `get`, also recording the access time (what a command touching the key does).
    pub fn touch(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let e = self.get(key)?;
        e.access = now_secs();
        Some(e)
    }

    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    fn expire_at_index(&mut self, idx: usize) {
        if let Some((k, _)) = self.map.swap_remove_index(idx) {
            self.volatile.swap_remove(k.as_bytes());
            self.expired += 1;
        }
    }

    /// Stores `value` under `key` with the given expiry (0 = none), replacing any old value.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64) {
        let entry = Entry { value, expire_at, access: now_secs() };
        match self.map.get_index_of(key) {
            Some(idx) => {
                let old = std::mem::replace(&mut self.map[idx], entry);
                match (old.expire_at != 0, expire_at != 0) {
                    (true, false) => {
                        self.volatile.swap_remove(key);
                    }
                    (false, true) => {
                        self.volatile.insert(Key::new(key));
                    }
                    _ => {}
                }
            }
            None => {
                self.map.insert(Key::new(key), entry);
                if expire_at != 0 {
                    self.volatile.insert(Key::new(key));
                }
            }
        }
    }

    /// Inserts a whole entry (RENAME, MOVE, COPY), keeping its expiry.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry) {
        let expire_at = entry.expire_at;
        self.set(key, entry.value, expire_at);
        if let Some(e) = self.map.get_mut(key) {
            e.access = entry.access;
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (_, _, entry) = self.map.swap_remove_full(key)?;
        if entry.expire_at != 0 {
            self.volatile.swap_remove(key);
            if entry.is_expired(now_ms()) {
                self.expired += 1;
                return None;
            }
        }
        Some(entry)
    }

    /// Sets or clears (0) the expiry of an existing key. Returns false if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64) -> bool {
        let Some(e) = self.get(key) else { return false };
        let had = e.expire_at != 0;
        e.expire_at = expire_at;
        match (had, expire_at != 0) {
            (true, false) => {
                self.volatile.swap_remove(key);
            }
            (false, true) => {
                self.volatile.insert(Key::new(key));
            }
            _ => {}
        }
        true
    }

    pub fn clear(&mut self) -> Table {
        std::mem::take(self)
    }

    /// Removes up to `samples` randomly chosen expired keys; returns (sampled, expired).
    pub fn expire_sample(&mut self, samples: usize, rng: &mut impl FnMut() -> u64, now: u64) -> (usize, usize) {
        let mut sampled = 0;
        let mut expired = 0;
        while sampled < samples && !self.volatile.is_empty() {
            sampled += 1;
            let i = (rng() % self.volatile.len() as u64) as usize;
            let Some(idx) = self.volatile.get_index(i).and_then(|k| self.map.get_index_of(k.as_bytes())) else {
                self.volatile.swap_remove_index(i);
                continue;
            };
            if self.map[idx].is_expired(now) {
                self.expire_at_index(idx);
                expired += 1;
            }
        }
        (sampled, expired)
    }

    /// A random live key.
    pub fn random_key(&mut self, rng: &mut impl FnMut() -> u64) -> Option<Key> {
        // Bounded: a table full of expired keys gives up after a few tries instead of spinning.
        for _ in 0..100 {
            if self.map.is_empty() {
                return None;
            }
            let i = (rng() % self.map.len() as u64) as usize;
            if self.map[i].is_expired(now_ms()) {
                self.expire_at_index(i);
                continue;
            }
            return self.map.get_index(i).map(|(k, _)| k.clone());
        }
        None
    }

    /// Visits positions below `from` (clamped to the length) downwards, at most `count` keys;
    /// returns the position to continue from (0 = done).
    pub fn scan(&self, from: usize, count: usize, mut visit: impl FnMut(&Key, &Entry)) -> usize {
        let mut pos = from.min(self.map.len());
        let mut seen = 0;
        while pos > 0 && seen < count {
            pos -= 1;
            let (k, e) = self.map.get_index(pos).expect("position below length");
            visit(k, e);
            seen += 1;
        }
        pos
    }

    /// Estimated bytes `key` costs this table (MEMORY USAGE): its map slot (stored hash, key,
    /// entry), its share of the hash index, the heap bytes of key and value, and its slot in the
    /// volatile set if it has an expiry. None if the key is absent.
    pub fn memory_usage(&mut self, key: &[u8]) -> Option<usize> {
        // The hash index keeps one usize plus a control byte per bucket, at most 7/8 full.
        const INDEX_BYTES: usize = (std::mem::size_of::<usize>() + 1) * 8 / 7;
        const SLOT_BYTES: usize = std::mem::size_of::<(u64, Key, Entry)>() + INDEX_BYTES;
        self.get(key)?;
        let (_, k, e) = self.map.get_full(key)?;
        let mut total = SLOT_BYTES + k.heap_size() + e.value.heap_size();
        if e.expire_at != 0 {
            total += std::mem::size_of::<(u64, Key)>() + INDEX_BYTES + k.heap_size();
        }
        Some(total)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::StrValue;

    fn v(s: &str) -> Value {
        Value::Str(StrValue::from_bytes(s.as_bytes()))
    }

    #[test]
    fn lazy_expiry_removes_on_access() {
        let mut t = Table::default();
        t.set(b"a", v("1"), 1);
        t.set(b"b", v("2"), 0);
        assert!(t.get(b"a").is_none());
        assert_eq!(t.len(), 1);
        assert_eq!(t.volatile_len(), 0);
        assert_eq!(t.expired, 1);
    }

    #[test]
    fn memory_usage_counts_heap_and_expiry() {
        let mut t = Table::default();
        t.set(b"short", v("x"), 0);
        t.set(b"a-key-longer-than-the-inline-limit", v(&"y".repeat(100)), 0);
        let short = t.memory_usage(b"short").unwrap();
        let long = t.memory_usage(b"a-key-longer-than-the-inline-limit").unwrap();
        assert!(short >= std::mem::size_of::<Key>() + std::mem::size_of::<Entry>());
        assert!(long >= short + 34 + 100);
        t.set_expire(b"short", now_ms() + 100_000);
        assert!(t.memory_usage(b"short").unwrap() > short);
        assert_eq!(t.memory_usage(b"missing"), None);
        t.set_expire(b"short", 1);
        assert_eq!(t.memory_usage(b"short"), None);
    }

    #[test]
    fn scan_reaches_every_stable_key_despite_deletions() {
        let mut t = Table::default();
        for i in 0..100 {
            t.set(format!("k{i}").as_bytes(), v("x"), 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut pos = t.len();
        let mut round = 0;
        loop {
            pos = t.scan(pos, 7, |k, _| {
                seen.insert(k.as_bytes().to_vec());
            });
            // Delete some keys between calls: odd ones, which are allowed to be missed.
            for i in (round * 10..round * 10 + 10).filter(|i| i % 2 == 1) {
                t.remove(format!("k{i}").as_bytes());
            }
            round += 1;
            if pos == 0 {
                break;
            }
        }
        for i in (0..100).filter(|i| i % 2 == 0) {
            assert!(seen.contains(format!("k{i}").as_bytes()), "missed k{i}");
        }
    }
}

//! One database's slice of one shard: keys, values and expiry times.
//!
//! Keys sit in an insertion-ordered map whose deletions move the last key into the hole. That
//! gives O(1) random sampling (RANDOMKEY, active expiry) and a SCAN that walks positions from the
//! end down: a key present for the whole scan is always reached, because the only key a deletion
//! moves comes from a position the scan has either already visited or has yet to reach below.

use foldhash::fast::RandomState;
use indexmap::IndexMap;

use crate::clock::{expiry_now_ms, has_expired, now_secs};
use crate::events;
use crate::snapshot::{give_copies, Pending, SnapshotCopy, MAX_COPY_BYTES};
use crate::value::{Key, Value};

#[derive(Clone, Debug)]
pub struct Entry {
    pub value: Value,
    /// Last access, in Unix seconds (OBJECT IDLETIME, LRU eviction).
    pub access: u32,
    /// The key has an expiry time, kept in the table's `expires` map: most keys have none, so
    /// they don't pay 8 bytes for it.
    pub volatile: bool,
    /// While a snapshot is owed this key's table: the key has already gone to the snapshot, or
    /// is newer than it; either way the capture skips it. Cleared by the capture.
    pub(crate) in_snapshot: bool,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry::with_access(value, now_secs())
    }

    /// An entry keeping a known access time (RENAME, RESTORE's IDLETIME).
    pub fn with_access(value: Value, access: u32) -> Entry {
        Entry { value, access, volatile: false, in_snapshot: false }
    }
}

#[derive(Default)]
pub struct Table {
    map: IndexMap<Key, Entry, RandomState>,
    /// Expiry times (Unix ms) of the keys that have one; also what active expiry samples.
    expires: IndexMap<Key, u64, RandomState>,
    /// Keys removed because their time was up (INFO's expired_keys).
    pub expired: u64,
    /// No expiry time in `expires` is earlier than this (0 when unknown): until then, reading a
    /// key with a TTL needs no second lookup to know it is alive. Cache keys with TTLs are the
    /// common case this serves.
    expiry_floor: u64,
    /// The database this table belongs to, for reports of added and expired keys; the shard
    /// sets it whenever it hands the table out, so a SWAPDB never leaves it stale.
    pub(crate) db: usize,
    /// Set while a running snapshot is owed this table's keys as they were at its instant
    /// (`snapshot.rs`): every change first hands the old key to it.
    pending: Option<Pending>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    /// The expiry time of `key` in Unix ms, 0 if it has none (or is absent). No side effects.
    pub fn expire_at(&self, key: &[u8]) -> u64 {
        self.expires.get(key).copied().unwrap_or(0)
    }

    /// Whether `key` is present but its time is up (not yet removed). No side effects.
    pub fn is_expired(&self, key: &[u8], now: u64) -> bool {
        matches!(self.expires.get(key), Some(&at) if has_expired(at, now))
    }

    /// `is_expired`, skipping the lookup while no expiry time of the table has come yet.
    fn may_have_expired(&self, key: &[u8], now: u64) -> bool {
        now >= self.expiry_floor && self.is_expired(key, now)
    }

    /// The entry for `key` as stored, expired or not, without touching it: for DEBUG.
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    /// The position of the live entry for `key`; an expired one is removed on the way.
    fn live_index(&mut self, key: &[u8]) -> Option<usize> {
        let idx = self.map.get_index_of(key)?;
        if self.map[idx].volatile && self.may_have_expired(key, expiry_now_ms()) {
            self.expire_at_index(idx);
            return None;
        }
        Some(idx)
    }

    /// The live entry for `key`, to change; an expired one is removed on the way.
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let idx = self.live_index(key)?;
        self.preserve(idx);
        Some(&mut self.map[idx])
    }

    /// Like `get`, also recording the access time (what a command touching the key does).
    pub fn touch(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let e = self.get(key)?;
        e.access = now_secs();
        Some(e)
    }

    /// Like `touch`, for a command that only reads the value: a running snapshot need not be
    /// given the key first (the access time is not part of a snapshot).
    pub fn read(&mut self, key: &[u8]) -> Option<&Entry> {
        let idx = self.live_index(key)?;
        let e = &mut self.map[idx];
        e.access = now_secs();
        Some(e)
    }

    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.live_index(key).is_some()
    }

    fn expire_at_index(&mut self, idx: usize) {
        self.preserve(idx);
        if let Some((k, _)) = self.map.swap_remove_index(idx) {
            self.expires.swap_remove(k.as_bytes());
            self.expired += 1;
            events::expired(self.db, k.as_bytes());
        }
    }

    /// Grows the key map by half when it is full, instead of the doubling the map would do on
    /// its own: the entries vector is most of a table's memory.
    fn reserve_one(&mut self) {
        if self.map.len() == self.map.capacity() {
            self.map.reserve_exact((self.map.len() / 2).max(4));
        }
    }

    /// Makes room for `keys` more keys at once, if the memory can be had.
    pub fn reserve(&mut self, keys: usize) {
        let _ = self.map.try_reserve_exact(keys);
    }

    /// Shrinks the key map when it has more unused room than growing leaves (half again its
    /// keys): what `reserve` made and no key took.
    pub fn release_unused_room(&mut self) {
        let len = self.map.len();
        if self.map.capacity() > len + len / 2 + 4 {
            self.map.shrink_to(len);
        }
    }

    fn update_expiry(&mut self, key: &[u8], had: bool, expire_at: u64) {
        match (had, expire_at != 0) {
            (true, false) => {
                self.expires.swap_remove(key);
            }
            (_, true) => {
                self.expiry_floor = if self.expires.is_empty() { expire_at } else { self.expiry_floor.min(expire_at) };
                self.store_expiry(key, expire_at);
            }
            (false, false) => {}
        }
    }

    fn store_expiry(&mut self, key: &[u8], expire_at: u64) {
        match self.expires.get_mut(key) {
            Some(at) => *at = expire_at,
            None => {
                self.expires.insert(Key::new(key), expire_at);
            }
        }
    }

    /// Stores `value` under `key` with the given expiry (0 = none), replacing any old value. An
    /// old key whose time is up goes as an expired key does before the new one is added, so a
    /// caller needs no lookup of its own first.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64) {
        let entry = Entry { value, access: now_secs(), volatile: expire_at != 0, in_snapshot: self.pending.is_some() };
        let had = match self.live_index(key) {
            Some(idx) => {
                self.preserve(idx);
                std::mem::replace(&mut self.map[idx], entry).volatile
            }
            None => {
                self.reserve_one();
                self.map.insert(Key::new(key), entry);
                events::added(self.db, key);
                false
            }
        };
        self.update_expiry(key, had, expire_at);
    }

    /// Inserts a whole entry (RENAME, MOVE), keeping its access time and giving it `expire_at`.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry, expire_at: u64) {
        let access = entry.access;
        self.set(key, entry.value, expire_at);
        if let Some(e) = self.map.get_mut(key) {
            e.access = access;
        }
    }

    /// Removes a live key, returning its entry; an expired one counts as expired and gives None.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.take(key).map(|(e, _)| e)
    }

    /// Removes a live key, returning its entry and expiry time (0 = none).
    pub fn take(&mut self, key: &[u8]) -> Option<(Entry, u64)> {
        self.preserve(self.map.get_index_of(key)?);
        let (_, _, entry) = self.map.swap_remove_full(key)?;
        let mut expire_at = 0;
        if entry.volatile {
            expire_at = self.expires.swap_remove(key).unwrap_or(0);
            if has_expired(expire_at, expiry_now_ms()) {
                self.expired += 1;
                events::expired(self.db, key);
                return None;
            }
        }
        Some((entry, expire_at))
    }

    /// Sets or clears (0) the expiry of an existing key. Returns false if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64) -> bool {
        let Some(e) = self.get(key) else { return false };
        let had = e.volatile;
        e.volatile = expire_at != 0;
        self.update_expiry(key, had, expire_at);
        true
    }

    pub fn clear(&mut self) -> Table {
        self.capture();
        std::mem::take(self)
    }

    /// Marks the table as owing its keys to a snapshot that has just begun.
    pub(crate) fn arm(&mut self, pending: Pending) {
        self.pending = Some(pending);
    }

    /// Hands the key at `idx` to the snapshot this table owes, if it has not gone yet: called
    /// before anything may change or remove it.
    #[inline]
    fn preserve(&mut self, idx: usize) {
        if self.pending.is_some() && !self.map[idx].in_snapshot {
            self.preserve_now(idx);
        }
    }

    #[cold]
    fn preserve_now(&mut self, idx: usize) {
        self.map[idx].in_snapshot = true;
        let Some(pending) = &self.pending else { return };
        let (key, entry) = self.map.get_index(idx).expect("index of a present key");
        let expire_at = if entry.volatile { self.expire_at(key.as_bytes()) } else { 0 };
        pending.sink.changing(pending.db, (key, entry, expire_at));
    }

    /// Gives the snapshot this table owes every key not given yet: the table owes nothing more.
    pub(crate) fn capture(&mut self) {
        let Some(sink) = self.pending.as_ref().map(|p| p.sink.clone()) else { return };
        let mut copies = Vec::new();
        while !self.capture_step(usize::MAX, &mut copies) {}
        give_copies(sink.as_ref(), &mut copies);
    }

    /// Gives the snapshot this table owes up to `budget` more keys, walking positions down from
    /// the top, so that the driver can let go of the lock between steps; true once the table
    /// owes nothing more. Small values are copied into `copies` for the caller to give once
    /// it has let go of the lock (copying is much quicker than encoding, so the lock is held
    /// briefly); large ones are given at once, as copying them could cost more memory than a
    /// snapshot may take.
    ///
    /// Between steps, writers may change, add and remove keys. Every position at or above the
    /// walk's next one holds a marked key (given, or newer than the instant): a removal moves
    /// only the last key, a marked one, into its hole, and additions go on top, marked. So the
    /// positions still to walk hold every key not given yet, and a marked key moved among them
    /// is skipped.
    pub(crate) fn capture_step(&mut self, budget: usize, copies: &mut Vec<SnapshotCopy>) -> bool {
        let Some(pending) = &mut self.pending else { return true };
        let top = pending.next_position.min(self.map.len());
        let from = top.saturating_sub(budget);
        let (map, expires) = (&self.map, &self.expires);
        let expiry = |k: &Key, e: &Entry| if e.volatile { expires.get(k.as_bytes()).copied().unwrap_or(0) } else { 0 };
        let mut large = (from..top).rev().filter_map(|i| {
            let (k, e) = map.get_index(i)?;
            if e.in_snapshot {
                return None;
            }
            if e.value.heap_size() <= MAX_COPY_BYTES {
                copies.push(SnapshotCopy { db: pending.db, key: k.clone(), entry: e.clone(), expire_at: expiry(k, e) });
                return None;
            }
            Some((k, e, expiry(k, e)))
        });
        pending.sink.keys(pending.db, &mut large);
        pending.next_position = from;
        if from > 0 {
            for i in from..top {
                self.map[i].in_snapshot = true;
            }
            return false;
        }
        self.pending = None;
        for entry in self.map.values_mut() {
            entry.in_snapshot = false;
        }
        true
    }

    /// Removes up to `samples` randomly chosen expired keys; returns (sampled, expired).
    pub fn expire_sample(&mut self, samples: usize, rng: &mut impl FnMut() -> u64, now: u64) -> (usize, usize) {
        let mut sampled = 0;
        let mut expired = 0;
        while sampled < samples && !self.expires.is_empty() {
            sampled += 1;
            let i = (rng() % self.expires.len() as u64) as usize;
            let Some((k, &at)) = self.expires.get_index(i) else { break };
            if !has_expired(at, now) {
                continue;
            }
            match self.map.get_index_of(k.as_bytes()) {
                Some(idx) => self.expire_at_index(idx),
                None => {
                    self.expires.swap_remove_index(i);
                }
            }
            expired += 1;
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
            let (k, e) = self.map.get_index(i)?;
            if e.volatile && self.is_expired(k.as_bytes(), expiry_now_ms()) {
                self.expire_at_index(i);
                continue;
            }
            return Some(k.clone());
        }
        None
    }

    /// Visits positions below `from` (clamped to the length) downwards, at most `count` keys,
    /// with each key's expiry time (0 = none); returns the position to continue from (0 = done).
    pub fn scan(&self, from: usize, count: usize, mut visit: impl FnMut(&Key, &Entry, u64)) -> usize {
        let mut pos = from.min(self.map.len());
        let mut seen = 0;
        while pos > 0 && seen < count {
            pos -= 1;
            let (k, e) = self.map.get_index(pos).expect("position below length");
            visit(k, e, if e.volatile { self.expire_at(k.as_bytes()) } else { 0 });
            seen += 1;
        }
        pos
    }

    /// Bytes `key` takes in this table: its slot in the map and index, its heap bytes, and its
    /// slot in the expiry map if it has one.
    pub fn memory_usage(&mut self, key: &[u8]) -> Option<usize> {
        // The hash index keeps one usize plus a control byte per bucket, at most 7/8 full.
        const INDEX_BYTES: usize = (std::mem::size_of::<usize>() + 1) * 8 / 7;
        const SLOT_BYTES: usize = std::mem::size_of::<(u64, Key, Entry)>() + INDEX_BYTES;
        let idx = self.live_index(key)?;
        let (k, e) = self.map.get_index(idx)?;
        let mut total = SLOT_BYTES + k.heap_size() + e.value.heap_size();
        if e.volatile {
            total += std::mem::size_of::<(u64, Key, u64)>() + INDEX_BYTES + k.heap_size();
        }
        Some(total)
    }

    /// Every stored entry with its expiry time (0 = none), expired ones included.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry, u64)> {
        self.map.iter().map(|(k, e)| (k, e, if e.volatile { self.expire_at(k.as_bytes()) } else { 0 }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_ms;

    #[test]
    fn room_reserved_and_not_taken_is_given_back() {
        let v = || Value::Str(crate::value::StrValue::from_bytes(b"v"));
        let mut t = Table::default();
        t.reserve(10_000);
        assert!(t.map.capacity() >= 10_000);
        for i in 0..100u32 {
            t.set(&i.to_be_bytes(), v(), 0);
        }
        t.release_unused_room();
        assert!(t.map.capacity() < 200, "capacity {}", t.map.capacity());
        assert_eq!(t.len(), 100);
        // A table with no more room than growing leaves keeps it.
        let before = t.map.capacity();
        t.release_unused_room();
        assert_eq!(t.map.capacity(), before);
    }

    #[test]
    fn keys_expire_whatever_order_their_times_were_set_in() {
        let v = || Value::Str(crate::value::StrValue::from_bytes(b"v"));
        let now = now_ms();
        let mut t = Table::default();
        t.set(b"later", v(), now + 60_000);
        assert!(t.get(b"later").is_some());
        // An earlier time set afterwards, directly and by changing a key's TTL, still counts.
        t.set(b"past", v(), now - 1);
        assert!(t.get(b"past").is_none());
        t.set(b"moved", v(), now + 60_000);
        assert!(t.set_expire(b"moved", now - 1));
        assert!(t.get(b"moved").is_none());
        assert!(t.get(b"later").is_some());
        // Once every TTL is gone, a new one starts the bound afresh.
        assert!(t.set_expire(b"later", 0));
        t.set(b"again", v(), now - 1);
        assert!(t.get(b"again").is_none());
    }
    use crate::value::StrValue;

    fn v(s: &str) -> Value {
        Value::Str(StrValue::from_bytes(s.as_bytes()))
    }

    #[test]
    fn a_key_lives_through_the_millisecond_its_time_names() {
        let mut t = Table::default();
        t.set(b"k", v("1"), 5_000);
        assert!(!t.is_expired(b"k", 4_999));
        assert!(!t.is_expired(b"k", 5_000));
        assert!(t.is_expired(b"k", 5_001));
        let mut rng = || 0;
        assert_eq!(t.expire_sample(1, &mut rng, 5_000), (1, 0));
        assert_eq!(t.expire_sample(1, &mut rng, 5_001), (1, 1));
        assert_eq!(t.len(), 0);
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
            pos = t.scan(pos, 7, |k, _, _| {
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

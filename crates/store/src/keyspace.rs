//! Shards: the unit of locking. A key's shard is its hash slot modulo [`SHARDS`], so keys sharing
//! a `{hash tag}` share a shard and multi-key commands on them take one lock.
//!
//! A shard's lock is re-entrant for its thread: a transaction holds the shards of all its
//! commands for the whole EXEC ([`Keyspace::hold_keys`]) and each command inside locks its own
//! shards again as it always does. The `RefCell` inside turns a second simultaneous borrow on
//! one thread into a panic instead of aliasing.

use std::cell::{RefCell, RefMut};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use parking_lot::{ReentrantMutex, ReentrantMutexGuard};

use crate::clock::{expiry_now_ms, now_ms};
use crate::limits::EncodingLimits;
use crate::snapshot::{give_copies, ShardSink, Snapshots, CAPTURE_STEP};
use crate::table::Table;
use crate::value::Key;
use roost_resp::slot::key_slot;

/// A power of two well above any worker count, dividing the 16384 hash slots evenly.
pub const SHARDS: usize = 1024;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

/// One shard: its slice of every database.
#[derive(Default)]
pub struct Shard {
    dbs: Vec<Table>,
}

impl Shard {
    /// This shard's table of database `db`, created on first use.
    pub fn db(&mut self, db: usize) -> &mut Table {
        if self.dbs.len() <= db {
            self.dbs.resize_with(db + 1, Table::default);
        }
        let table = &mut self.dbs[db];
        table.db = db;
        table
    }

    pub fn db_ref(&self, db: usize) -> Option<&Table> {
        self.dbs.get(db)
    }

    pub fn tables(&self) -> &[Table] {
        &self.dbs
    }

    pub fn tables_mut(&mut self) -> &mut [Table] {
        for (db, t) in self.dbs.iter_mut().enumerate() {
            t.db = db;
        }
        &mut self.dbs
    }
}

type ShardLock = ReentrantMutex<RefCell<Shard>>;

/// One locked shard.
pub struct ShardGuard<'a> {
    // Declared first so it is dropped first: the borrow ends before the lock is released.
    shard: RefMut<'a, Shard>,
    _lock: ReentrantMutexGuard<'a, RefCell<Shard>>,
}

impl<'a> ShardGuard<'a> {
    fn lock(mutex: &'a ShardLock) -> ShardGuard<'a> {
        let lock = mutex.lock();
        // SAFETY: the cell lives as long as the mutex ('a); the guard stored beside the borrow
        // keeps this thread the owner until the borrow has been dropped, and only the owner
        // thread can reach the cell, whose own flag rules out a second borrow.
        let cell: &'a RefCell<Shard> = unsafe { &*mutex.data_ptr() };
        ShardGuard { shard: cell.borrow_mut(), _lock: lock }
    }
}

impl Deref for ShardGuard<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        &self.shard
    }
}

impl DerefMut for ShardGuard<'_> {
    fn deref_mut(&mut self) -> &mut Shard {
        &mut self.shard
    }
}

/// Shards held (locked, not borrowed) for the length of a transaction: other threads wait for
/// them, while the holding thread's commands lock them again freely.
pub struct ShardHold<'a> {
    _locks: Vec<ReentrantMutexGuard<'a, RefCell<Shard>>>,
}

pub struct Keyspace {
    shards: Box<[ShardLock]>,
    databases: usize,
    snapshots: Snapshots,
    /// When values switch from their compact encodings to the full ones.
    pub limits: EncodingLimits,
}

/// Several shards locked at once, in ascending order, for a multi-key command.
pub struct Locked<'a> {
    guards: Vec<(usize, ShardGuard<'a>)>,
}

impl Locked<'_> {
    /// The table of `db` holding `key`. The key's shard must be among the locked ones.
    pub fn table(&mut self, db: usize, key: &[u8]) -> &mut Table {
        let idx = Keyspace::shard_index(key);
        let pos = self.guards.binary_search_by_key(&idx, |(i, _)| *i).expect("key's shard was locked");
        self.guards[pos].1.db(db)
    }
}

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        Keyspace {
            shards: (0..SHARDS).map(|_| ReentrantMutex::new(RefCell::new(Shard::default()))).collect(),
            databases,
            snapshots: Snapshots::default(),
            limits: EncodingLimits::default(),
        }
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    /// Makes room in `db` for about `keys` more keys, spread over the shards as keys are: what a
    /// loader does with a file's size hint, so that its tables don't grow step by step (each
    /// step moving every entry). Room that cannot be had is not made. Returns whether any was.
    pub fn reserve(&self, db: usize, keys: usize) -> bool {
        if keys < SHARDS * 8 {
            // Not worth a table in every shard.
            return false;
        }
        // Keys fall into shards about evenly: the mean plus two standard deviations leaves few
        // tables to grow once more, and little unused room in the rest.
        let mean = keys / SHARDS;
        let per_shard = mean + 2 * mean.isqrt() + 1;
        for idx in 0..SHARDS {
            self.lock_shard(idx).db(db).reserve(per_shard);
        }
        true
    }

    /// Gives back room tables were given by `reserve` and did not fill.
    pub fn release_unused_room(&self) {
        for idx in 0..SHARDS {
            self.lock_shard(idx).tables_mut().iter_mut().for_each(Table::release_unused_room);
        }
    }

    pub fn shard_index(key: &[u8]) -> usize {
        key_slot(key) as usize & (SHARDS - 1)
    }

    /// Every shard lock goes through here, so that a running snapshot captures a shard before
    /// its first locker after the snapshot began can change it.
    pub fn lock_shard(&self, idx: usize) -> ShardGuard<'_> {
        let mut guard = ShardGuard::lock(&self.shards[idx]);
        self.snapshots.on_lock(idx, &mut guard);
        guard
    }

    /// Starts a point-in-time snapshot whose shards go to `sink` (see `snapshot.rs`); false if
    /// one is already running. [`Keyspace::drive_snapshot`] must then be run to finish it.
    pub fn begin_snapshot(&self, sink: Arc<dyn ShardSink>) -> bool {
        self.snapshots.begin(sink)
    }

    pub fn snapshot_running(&self) -> bool {
        self.snapshots.running()
    }

    /// Captures every shard, then ends the snapshot. Meant for a background thread: it holds
    /// one shard at a time, for one short step of the capture (`CAPTURE_STEP` keys), and
    /// encodes what it copied with no lock held.
    pub fn drive_snapshot(&self) {
        let Some(sink) = self.snapshots.sink() else { return };
        let mut copies = Vec::with_capacity(CAPTURE_STEP);
        let mut given = 0;
        for idx in 0..SHARDS {
            loop {
                sink.pace(given);
                let done =
                    self.lock_shard(idx).tables_mut().iter_mut().all(|t| t.capture_step(CAPTURE_STEP, &mut copies));
                given = copies.len();
                give_copies(sink.as_ref(), &mut copies);
                if done {
                    break;
                }
            }
        }
        self.snapshots.finish();
    }

    pub fn lock_key(&self, key: &[u8]) -> ShardGuard<'_> {
        self.lock_shard(Self::shard_index(key))
    }

    /// Locks the shards of all `keys`, each once, in ascending order (so two commands never wait
    /// on each other in a cycle).
    pub fn lock_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Locked<'_> {
        let mut idx: Vec<usize> = keys.into_iter().map(Self::shard_index).collect();
        idx.sort_unstable();
        idx.dedup();
        Locked { guards: idx.into_iter().map(|i| (i, self.lock_shard(i))).collect() }
    }

    /// Every shard, locked in order: for commands that must see or change all at one instant.
    pub fn lock_all(&self) -> Vec<ShardGuard<'_>> {
        (0..SHARDS).map(|i| self.lock_shard(i)).collect()
    }

    /// Holds the shards of `keys` (ascending, each once) until the hold is dropped. While it
    /// lasts, this thread may lock those shards again; it must not lock any other shard, or it
    /// could wait on a thread that waits on one of the held ones.
    pub fn hold_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> ShardHold<'_> {
        let mut idx: Vec<usize> = keys.into_iter().map(Self::shard_index).collect();
        idx.sort_unstable();
        idx.dedup();
        ShardHold { _locks: idx.into_iter().map(|i| self.shards[i].lock()).collect() }
    }

    /// Number of keys in `db` (expired keys not yet collected are counted, as Redis does).
    pub fn dbsize(&self, db: usize) -> usize {
        (0..SHARDS).map(|i| self.lock_shard(i).db_ref(db).map_or(0, Table::len)).sum()
    }

    /// (keys, keys with expiry) per database, for INFO keyspace.
    pub fn db_stats(&self) -> Vec<(usize, usize)> {
        let mut stats = vec![(0, 0); self.databases];
        for i in 0..SHARDS {
            let s = self.lock_shard(i);
            for (db, t) in s.tables().iter().enumerate() {
                stats[db].0 += t.len();
                stats[db].1 += t.volatile_len();
            }
        }
        stats
    }

    pub fn expired_total(&self) -> u64 {
        (0..SHARDS).map(|i| self.lock_shard(i).tables().iter().map(|t| t.expired).sum::<u64>()).sum()
    }

    /// Empties one database (or all with `None`). The old tables are returned so the caller can
    /// drop them elsewhere (FLUSHALL ASYNC) instead of on a worker thread.
    pub fn flush(&self, db: Option<usize>) -> Vec<Table> {
        let mut old = Vec::new();
        for i in 0..SHARDS {
            let mut s = self.lock_shard(i);
            match db {
                Some(db) => {
                    if let Some(t) = s.tables_mut().get_mut(db) {
                        if !t.is_empty() {
                            let expired = t.expired;
                            old.push(t.clear());
                            t.expired = expired;
                        }
                    }
                }
                None => {
                    for t in s.tables_mut() {
                        if !t.is_empty() {
                            let expired = t.expired;
                            old.push(t.clear());
                            t.expired = expired;
                        }
                    }
                }
            }
        }
        old
    }

    /// Exchanges two databases atomically: every shard is locked before any is changed.
    pub fn swap_dbs(&self, a: usize, b: usize) {
        let mut all = self.lock_all();
        for s in all.iter_mut() {
            s.db(a.max(b));
            s.tables_mut().swap(a, b);
        }
    }

    /// One SCAN step over `db`. The cursor packs the shard in its low bits and, above them, the
    /// position within the shard to continue below (0 = the shard's top).
    pub fn scan(&self, db: usize, cursor: u64, count: usize, mut visit: impl FnMut(&Key)) -> u64 {
        let mut shard = (cursor & (SHARDS as u64 - 1)) as usize;
        let mut pos = (cursor >> SHARD_BITS) as usize;
        let mut budget = count.max(1);
        // Empty shards cost a little too, so a sparse keyspace still returns promptly.
        let mut empty_visits = budget * 10;
        let now = expiry_now_ms();
        loop {
            let guard = self.lock_shard(shard);
            let mut visited = 0;
            let next = match guard.db_ref(db) {
                Some(t) if !t.is_empty() => {
                    let from = if pos == 0 { usize::MAX } else { pos };
                    t.scan(from, budget, |k, _, expire_at| {
                        visited += 1;
                        if expire_at == 0 || expire_at > now {
                            visit(k);
                        }
                    })
                }
                _ => 0,
            };
            drop(guard);
            if visited == 0 {
                empty_visits = empty_visits.saturating_sub(1);
            }
            budget = budget.saturating_sub(visited);
            if next > 0 {
                return ((next as u64) << SHARD_BITS) | shard as u64;
            }
            shard += 1;
            pos = 0;
            if shard == SHARDS {
                return 0;
            }
            if budget == 0 || empty_visits == 0 {
                return shard as u64;
            }
        }
    }

    /// A random key of `db`, or None if it is empty.
    pub fn random_key(&self, db: usize, rng: &mut impl FnMut() -> u64) -> Option<Key> {
        let start = (rng() as usize) & (SHARDS - 1);
        for i in 0..SHARDS {
            let mut s = self.lock_shard((start + i) & (SHARDS - 1));
            if let Some(t) = s.tables_mut().get_mut(db) {
                if let Some(k) = t.random_key(rng) {
                    return Some(k);
                }
            }
        }
        None
    }

    /// One pass of active expiry over shards starting at `*next_shard`, until `deadline_ms`.
    /// Returns the number of keys removed.
    pub fn active_expire(&self, next_shard: &mut usize, deadline_ms: u64, rng: &mut impl FnMut() -> u64) -> usize {
        const SAMPLES: usize = 20;
        let mut removed = 0;
        for _ in 0..SHARDS {
            let idx = *next_shard;
            *next_shard = (*next_shard + 1) & (SHARDS - 1);
            let mut s = self.lock_shard(idx);
            for t in s.tables_mut() {
                // Keep sampling a table while more than a quarter of its samples were expired.
                loop {
                    let (sampled, expired) = t.expire_sample(SAMPLES, rng, now_ms());
                    removed += expired;
                    if sampled == 0 || expired * 4 <= sampled {
                        break;
                    }
                }
            }
            drop(s);
            if now_ms() >= deadline_ms {
                break;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{StrValue, Value};

    #[test]
    fn scan_across_shards_returns_every_key_once_when_quiet() {
        let ks = Keyspace::new(16);
        for i in 0..5000 {
            let k = format!("key:{i}");
            ks.lock_key(k.as_bytes()).db(0).set(k.as_bytes(), Value::Str(StrValue::from_bytes(b"v")), 0);
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = ks.scan(0, cursor, 10, |k| seen.push(k.as_bytes().to_vec()));
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!(before, 5000);
        assert_eq!(seen.len(), 5000);
        assert!(calls > 100);
    }

    #[test]
    fn held_shards_are_reentrant_for_the_holder_and_closed_to_others() {
        let ks = std::sync::Arc::new(Keyspace::new(16));
        let hold = ks.hold_keys([&b"a"[..], b"b"]);
        // The holder locks the held shards again, as commands inside EXEC do.
        ks.lock_key(b"a").db(0).set(b"a", Value::Str(StrValue::from_bytes(b"1")), 0);
        ks.lock_keys([&b"a"[..], b"b"]).table(0, b"b").set(b"b", Value::Str(StrValue::from_bytes(b"2")), 0);
        let other = {
            let ks = ks.clone();
            std::thread::spawn(move || ks.lock_key(b"a").db(0).len())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!other.is_finished(), "another thread got a held shard");
        drop(hold);
        assert_eq!(other.join().unwrap(), 1);
    }

    #[test]
    fn swapdb_and_flush() {
        let ks = Keyspace::new(16);
        ks.lock_key(b"a").db(0).set(b"a", Value::Str(StrValue::from_bytes(b"1")), 0);
        ks.swap_dbs(0, 3);
        assert_eq!(ks.dbsize(0), 0);
        assert_eq!(ks.dbsize(3), 1);
        ks.flush(Some(3));
        assert_eq!(ks.dbsize(3), 0);
    }
}

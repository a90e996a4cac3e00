//! Fork-less, point-in-time snapshots of the whole keyspace, copied on write key by key.
//!
//! A snapshot begins at one instant T with a new epoch number and a sink. The first time any
//! thread locks a shard after T, the lock *arms* the shard before handing it to its caller:
//! each of its tables is marked as owing its contents at T to the sink. From then until the
//! shard is captured, a table gives a key to the sink the moment before anything changes or
//! removes it (and marks the key as given), and marks every key it creates (they are newer than
//! T). A background driver captures the shards one at a time, in short steps under the lock:
//! every key not marked goes to the sink, and the marks are cleared at the end.
//!
//! Why the result is the keyspace at T: every change needs the shard's lock, and the lock arms
//! the shard before any change after T. So a key present at T reaches the sink exactly once,
//! with its value at T: either just before its first change (unchanged until then) or at the
//! capture (never changed before it). A key created after T is marked and skipped. Tables
//! created after T (a new database's first key, a flush's fresh table) are never armed and so
//! never captured; tables moved by SWAPDB carry the database number they had at T.
//!
//! Cost: a writer pays for encoding the keys it changes before the driver reaches their shard,
//! one key each; the driver encodes the rest. Nothing is copied beyond what the sink keeps,
//! and no process is forked.
//!
//! Cross-shard consistency: a command that changes several shards holds all their locks while
//! it changes them (`Keyspace::lock_keys`, EXEC's holds), so it is wholly after T or wholly
//! before. Callers that need an exact instant across running commands start the snapshot while
//! the world is stopped (no command between its lock and its unlock).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::keyspace::{Shard, SHARDS};
use crate::table::Entry;
use crate::value::Key;

/// One key as it was at the snapshot's instant: name, entry and expiry time (0 = none).
pub type SnapshotKey<'a> = (&'a Key, &'a Entry, u64);

/// Where a snapshot's keys go. `keys` runs on a writer about to change a key (under its
/// shard's lock), or on the driver (with copies it took, or under the lock for large values):
/// it must not lock shards itself and should be quick (encode into a buffer and hand it on).
pub trait ShardSink: Send + Sync {
    /// Keys of database `db`.
    fn keys(&self, db: usize, keys: &mut dyn Iterator<Item = SnapshotKey<'_>>);

    /// One key about to change, on the thread changing it (a command's, under the shard's
    /// lock): the place to encode quickly rather than compactly. By default, as `keys`.
    fn changing(&self, db: usize, key: SnapshotKey<'_>) {
        self.keys(db, &mut std::iter::once(key));
    }

    /// Called by the driver between its steps, holding no lock, with the number of keys it
    /// gave since the last call: where a sink whose consumer has fallen behind may wait for it,
    /// so that the driver's output stays bounded.
    fn pace(&self, _given: usize) {}
}

/// What an armed table owes: its keys at T, to `sink`, as database `db` (its number at T).
pub(crate) struct Pending {
    pub(crate) sink: Arc<dyn ShardSink>,
    pub(crate) db: usize,
    /// The capture's progress: positions from here up have been walked (`usize::MAX` before it
    /// starts). See `Table::capture_step`.
    pub(crate) next_position: usize,
}

/// How many positions the driver walks per hold of a shard's lock: copying that many small
/// values takes a few microseconds, the longest a command on that shard then waits for it.
pub(crate) const CAPTURE_STEP: usize = 128;

/// Values up to this size are copied under the lock and encoded after it; larger ones are
/// encoded under the lock, so that the copies stay within a step's worth of small values.
pub(crate) const MAX_COPY_BYTES: usize = 16 << 10;

/// A key copied by the driver, to give to the sink once the shard's lock is released.
pub(crate) struct SnapshotCopy {
    pub(crate) db: usize,
    pub(crate) key: Key,
    pub(crate) entry: Entry,
    pub(crate) expire_at: u64,
}

/// Gives `copies` to the sink, a run of the same database at a time, and empties it.
pub(crate) fn give_copies(sink: &dyn ShardSink, copies: &mut Vec<SnapshotCopy>) {
    let mut rest = &copies[..];
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|c| c.db == first.db).count();
        let mut keys = rest[..run].iter().map(|c| (&c.key, &c.entry, c.expire_at));
        sink.keys(first.db, &mut keys);
        rest = &rest[run..];
    }
    copies.clear();
}

pub(crate) struct Snapshots {
    /// The running snapshot's epoch; 0 when none runs. Read on every shard lock.
    epoch: AtomicU64,
    last_epoch: AtomicU64,
    /// Per shard, the epoch it was last armed for.
    armed: Box<[AtomicU64]>,
    sink: RwLock<Option<Arc<dyn ShardSink>>>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots {
            epoch: AtomicU64::new(0),
            last_epoch: AtomicU64::new(0),
            armed: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            sink: RwLock::new(None),
        }
    }
}

impl Snapshots {
    /// Starts a snapshot; false if one is already running.
    pub(crate) fn begin(&self, sink: Arc<dyn ShardSink>) -> bool {
        let mut slot = self.sink.write();
        if slot.is_some() {
            return false;
        }
        *slot = Some(sink);
        let epoch = self.last_epoch.fetch_add(1, Ordering::Relaxed) + 1;
        self.epoch.store(epoch, Ordering::Release);
        true
    }

    pub(crate) fn running(&self) -> bool {
        self.epoch.load(Ordering::Acquire) != 0
    }

    /// Called with shard `idx` locked: arms it if the running snapshot hasn't yet.
    #[inline]
    pub(crate) fn on_lock(&self, idx: usize, shard: &mut Shard) {
        let epoch = self.epoch.load(Ordering::Acquire);
        if epoch != 0 && self.armed[idx].load(Ordering::Acquire) != epoch {
            self.arm(idx, shard, epoch);
        }
    }

    #[cold]
    fn arm(&self, idx: usize, shard: &mut Shard, epoch: u64) {
        let sink = self.sink.read().clone();
        if let Some(sink) = sink {
            for (db, table) in shard.tables_mut().iter_mut().enumerate() {
                table.arm(Pending { sink: sink.clone(), db, next_position: usize::MAX });
            }
        }
        self.armed[idx].store(epoch, Ordering::Release);
    }

    /// The running snapshot's sink.
    pub(crate) fn sink(&self) -> Option<Arc<dyn ShardSink>> {
        self.sink.read().clone()
    }

    /// Ends the running snapshot; the driver has captured every shard.
    pub(crate) fn finish(&self) {
        self.epoch.store(0, Ordering::Release);
        *self.sink.write() = None;
    }
}
#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Mutex;

    use super::*;
    use crate::{Keyspace, StrValue, Value};

    type DbKey = (usize, Vec<u8>);

    /// Collects every key given to it as (db, key) -> value, and how often each was given.
    #[derive(Default)]
    struct Collect {
        seen: Mutex<HashMap<DbKey, Vec<u8>>>,
        given: AtomicUsize,
        twice: AtomicUsize,
    }

    impl ShardSink for Collect {
        fn keys(&self, db: usize, keys: &mut dyn Iterator<Item = SnapshotKey<'_>>) {
            let mut seen = self.seen.lock().unwrap();
            for (key, entry, _) in keys {
                if let Value::Str(s) = &entry.value {
                    if seen.insert((db, key.as_bytes().to_vec()), s.to_vec()).is_some() {
                        self.twice.fetch_add(1, Ordering::Relaxed);
                    }
                }
                self.given.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    impl Collect {
        fn values(&self, db: usize) -> HashMap<Vec<u8>, Vec<u8>> {
            let seen = self.seen.lock().unwrap();
            seen.iter().filter(|((d, _), _)| *d == db).map(|((_, k), v)| (k.clone(), v.clone())).collect()
        }
    }

    fn set(ks: &Keyspace, key: &[u8], value: &[u8]) {
        set_in(ks, 0, key, value);
    }

    fn set_in(ks: &Keyspace, db: usize, key: &[u8], value: &[u8]) {
        ks.lock_key(key).db(db).set(key, Value::Str(StrValue::from_bytes(value)), 0);
    }

    /// Writers change every key and add new ones while the snapshot runs; the snapshot holds
    /// exactly the values of the instant it began, each shard captured once.
    #[test]
    fn a_snapshot_is_the_instant_it_began_despite_concurrent_writes() {
        let ks = Arc::new(Keyspace::new(16));
        const KEYS: usize = 20_000;
        for i in 0..KEYS {
            set(&ks, format!("k{i}").as_bytes(), b"before");
        }
        let sink = Arc::new(Collect::default());
        assert!(ks.begin_snapshot(sink.clone()));
        assert!(!ks.begin_snapshot(Arc::new(Collect::default())), "one snapshot at a time");
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (ks, stop) = (ks.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut i = w;
                    while !stop.load(Ordering::Relaxed) && i < 3 * KEYS {
                        let key = format!("k{}", i % KEYS);
                        // Changed twice, deleted, re-created: still its value at the instant.
                        set(&ks, key.as_bytes(), b"after");
                        if i % 7 == 0 {
                            ks.lock_key(key.as_bytes()).db(0).remove(key.as_bytes());
                        }
                        set(&ks, key.as_bytes(), b"again");
                        set(&ks, format!("new{i}").as_bytes(), b"after");
                        i += 3;
                    }
                })
            })
            .collect();
        let driver = {
            let ks = ks.clone();
            std::thread::spawn(move || ks.drive_snapshot())
        };
        driver.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        assert!(!ks.snapshot_running());
        assert_eq!(sink.twice.load(Ordering::Relaxed), 0, "each key is given once");
        let seen = sink.values(0);
        assert_eq!(seen.len(), KEYS, "keys added after the instant are not in it");
        assert!(seen.values().all(|v| v == b"before"), "no change after the instant is in it");
        // The next snapshot sees the writes.
        let again = Arc::new(Collect::default());
        assert!(ks.begin_snapshot(again.clone()));
        ks.drive_snapshot();
        assert!(again.values(0).len() > KEYS);
    }

    /// Whole-table changes during a snapshot: a flushed database and swapped databases are
    /// still written as they were, under their numbers at the instant.
    #[test]
    fn flushes_and_swaps_after_the_instant_do_not_reach_the_snapshot() {
        let ks = Keyspace::new(16);
        for i in 0..2_000 {
            set_in(&ks, 0, format!("zero{i}").as_bytes(), b"0");
            set_in(&ks, 1, format!("one{i}").as_bytes(), b"1");
            set_in(&ks, 2, format!("two{i}").as_bytes(), b"2");
        }
        let sink = Arc::new(Collect::default());
        assert!(ks.begin_snapshot(sink.clone()));
        // Touch a few keys so some shards are armed by writers, not only by the flush.
        set_in(&ks, 2, b"two7", b"changed");
        drop(ks.flush(Some(2)));
        set_in(&ks, 2, b"late", b"x");
        ks.swap_dbs(0, 1);
        set_in(&ks, 0, b"one3", b"changed");
        set_in(&ks, 5, b"new-db", b"x");
        ks.drive_snapshot();
        assert_eq!(sink.twice.load(Ordering::Relaxed), 0);
        for (db, prefix, value) in [(0, "zero", b"0"), (1, "one", b"1"), (2, "two", b"2")] {
            let seen = sink.values(db);
            assert_eq!(seen.len(), 2_000, "database {db}");
            assert!(seen.iter().all(|(k, v)| k.starts_with(prefix.as_bytes()) && v == value), "database {db}");
        }
        assert!(sink.values(5).is_empty());
        // Nothing is left marked: the next snapshot has every current key.
        let again = Arc::new(Collect::default());
        assert!(ks.begin_snapshot(again.clone()));
        ks.drive_snapshot();
        assert_eq!(again.values(0).len(), 2_000);
        assert_eq!(again.values(0).get(&b"one3"[..]).map(Vec::as_slice), Some(&b"changed"[..]));
        assert_eq!(again.values(2).len(), 1);
        assert_eq!(again.values(5).len(), 1);
    }

    /// The driver's walk lets go of the lock between steps: removals, additions and changes in
    /// between still leave exactly the keys of the instant in the snapshot, each once.
    #[test]
    fn a_capture_in_steps_survives_changes_between_steps() {
        use crate::Table;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..20 {
            let mut table = Table::default();
            let mut at_instant = HashMap::new();
            for i in 0..500 {
                let key = format!("k{i}");
                // Some values too large to copy, which the walk gives under the lock.
                let value = if i % 50 == 0 { vec![b'L'; MAX_COPY_BYTES + 1] } else { b"before".to_vec() };
                table.set(key.as_bytes(), Value::Str(StrValue::from_bytes(&value)), 0);
                at_instant.insert(key.into_bytes(), value);
            }
            let sink = Arc::new(Collect::default());
            table.arm(Pending { sink: sink.clone(), db: 0, next_position: usize::MAX });
            let step = 1 + round % 7;
            let mut steps = 0;
            let mut copies = Vec::new();
            while !table.capture_step(step, &mut copies) {
                steps += 1;
                assert!(steps < 10_000, "the walk ends");
                for _ in 0..rand(6) {
                    let key = format!("k{}", rand(800));
                    match rand(3) {
                        0 => {
                            table.remove(key.as_bytes());
                        }
                        1 => table.set(key.as_bytes(), Value::Str(StrValue::from_bytes(b"after")), 0),
                        _ => {
                            table.get(key.as_bytes());
                        }
                    }
                }
                // Copies taken under the lock are given after the changes that followed it.
                give_copies(sink.as_ref(), &mut copies);
            }
            give_copies(sink.as_ref(), &mut copies);
            assert_eq!(sink.twice.load(Ordering::Relaxed), 0, "round {round}");
            assert_eq!(sink.values(0), at_instant, "round {round}");
            assert!(table.iter().all(|(_, e, _)| !e.in_snapshot), "marks are cleared");
        }
    }
}

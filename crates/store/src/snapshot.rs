//! Fork-less, point-in-time snapshots of the whole keyspace.
//!
//! A snapshot begins at one instant T: it takes a new epoch number and a sink. From then on,
//! every shard is handed to the sink exactly once, as it was at T: the first time any thread
//! locks a shard after T, the lock's holder gives the shard to the sink *before* the lock is
//! returned to its caller, so no change made after T can reach a shard that has not been
//! captured yet (every change needs the lock, and the capture happens inside it). A background
//! driver locks the shards nobody touched. Writers pay for capturing the shard they touch
//! first (one shard is 1/1024 of the data); nothing waits for the whole dataset, nothing is
//! copied beyond what the sink keeps, and no process is forked.
//!
//! Cross-shard consistency: a command that changes several shards holds all their locks while
//! it changes them (`Keyspace::lock_keys`, EXEC's holds), so each of its shards is captured
//! either before all of its changes or after all of them only if T came after it finished.
//! Callers that need an exact instant across running commands start the snapshot while the
//! world is stopped (no command between its lock and its unlock).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::keyspace::{Shard, SHARDS};

/// Where captured shards go. `shard` runs on whichever thread locked the shard first after the
/// snapshot began, under that shard's lock: it must not lock shards itself, and should be quick
/// (encode into a buffer and hand the buffer on).
pub trait ShardSink: Send + Sync {
    fn shard(&self, idx: usize, shard: &Shard);
}

pub(crate) struct Snapshots {
    /// The running snapshot's epoch; 0 when none runs. Read on every shard lock.
    epoch: AtomicU64,
    last_epoch: AtomicU64,
    /// Per shard, the epoch it was last captured for.
    captured: Box<[AtomicU64]>,
    remaining: AtomicUsize,
    sink: RwLock<Option<Arc<dyn ShardSink>>>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots {
            epoch: AtomicU64::new(0),
            last_epoch: AtomicU64::new(0),
            captured: (0..SHARDS).map(|_| AtomicU64::new(0)).collect(),
            remaining: AtomicUsize::new(0),
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
        self.remaining.store(SHARDS, Ordering::Relaxed);
        let epoch = self.last_epoch.fetch_add(1, Ordering::Relaxed) + 1;
        self.epoch.store(epoch, Ordering::Release);
        true
    }

    pub(crate) fn running(&self) -> bool {
        self.epoch.load(Ordering::Acquire) != 0
    }

    /// Called with shard `idx` locked: captures it if the running snapshot hasn't yet.
    #[inline]
    pub(crate) fn on_lock(&self, idx: usize, shard: &Shard) {
        let epoch = self.epoch.load(Ordering::Acquire);
        if epoch != 0 && self.captured[idx].load(Ordering::Acquire) != epoch {
            self.capture(idx, shard, epoch);
        }
    }

    #[cold]
    fn capture(&self, idx: usize, shard: &Shard, epoch: u64) {
        let sink = self.sink.read().clone();
        if let Some(sink) = sink {
            sink.shard(idx, shard);
        }
        self.captured[idx].store(epoch, Ordering::Release);
        self.remaining.fetch_sub(1, Ordering::AcqRel);
    }

    /// Ends the running snapshot once every shard has been captured.
    pub(crate) fn finish(&self) {
        debug_assert_eq!(self.remaining.load(Ordering::Acquire), 0);
        self.epoch.store(0, Ordering::Release);
        *self.sink.write() = None;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;

    use super::*;
    use crate::{Keyspace, StrValue, Value};

    /// Collects every captured key and value as text.
    #[derive(Default)]
    struct Collect {
        seen: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
        shards: AtomicUsize,
    }

    impl ShardSink for Collect {
        fn shard(&self, _idx: usize, shard: &Shard) {
            let mut seen = self.seen.lock().unwrap();
            for table in shard.tables() {
                for (key, entry, _) in table.iter() {
                    if let Value::Str(s) = &entry.value {
                        seen.insert(key.as_bytes().to_vec(), s.to_vec());
                    }
                }
            }
            self.shards.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn set(ks: &Keyspace, key: &[u8], value: &[u8]) {
        ks.lock_key(key).db(0).set(key, Value::Str(StrValue::from_bytes(value)), 0);
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
                        set(&ks, format!("k{}", i % KEYS).as_bytes(), b"after");
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
        assert_eq!(sink.shards.load(Ordering::Relaxed), SHARDS);
        let seen = sink.seen.lock().unwrap();
        assert_eq!(seen.len(), KEYS, "keys added after the instant are not in it");
        assert!(seen.values().all(|v| v == b"before"), "no change after the instant is in it");
        // The next snapshot sees the writes.
        let again = Arc::new(Collect::default());
        assert!(ks.begin_snapshot(again.clone()));
        ks.drive_snapshot();
        assert!(again.seen.lock().unwrap().len() > KEYS);
    }
}

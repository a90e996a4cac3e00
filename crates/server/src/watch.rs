//! WATCH: which clients watch which keys, and marking them when a key changes.
//!
//! The registry is split like the keyspace (one part per shard), and a key is registered while
//! its shard is locked: a write, done under that same lock, either precedes the WATCH (and needs
//! no mark) or follows it and finds the registration. Writers look only when someone watches.
//!
//! Deletions by expiry are not announced here: the watcher remembers whether the key was alive
//! when watched and EXEC checks whether it still is (see [`Watching::changed`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use foldhash::fast::RandomState;
use parking_lot::Mutex;

use roost_store::{expiry_now_ms, Keyspace, SHARDS};

type Flags = Vec<Arc<AtomicBool>>;

/// Watchers per database, then per key.
type Part = HashMap<usize, HashMap<Vec<u8>, Flags, RandomState>, RandomState>;

pub struct Watches {
    /// Registered (client, key) pairs: writers skip the registry while it is 0.
    count: AtomicUsize,
    parts: Box<[Mutex<Part>]>,
}

impl Default for Watches {
    fn default() -> Watches {
        Watches { count: AtomicUsize::new(0), parts: (0..SHARDS).map(|_| Mutex::new(Part::default())).collect() }
    }
}

/// One client's watched keys.
pub struct Watching {
    /// Raised by a writer of any watched key.
    pub touched: Arc<AtomicBool>,
    /// (db, key, alive when watched)
    pub keys: Vec<(usize, Vec<u8>, bool)>,
}

impl Watches {
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Ordering::SeqCst) != 0
    }

    /// Marks every client watching `key` in `db`.
    pub fn touch(&self, db: usize, key: &[u8]) {
        if !self.any() {
            return;
        }
        let part = self.parts[Keyspace::shard_index(key)].lock();
        if let Some(flags) = part.get(&db).and_then(|keys| keys.get(key)) {
            for f in flags {
                f.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Marks the watchers of `a` and `b` whose key exists in either database (after SWAPDB
    /// exchanged them, existing in either now is the same as having existed in either before).
    pub fn touch_swapped(&self, keyspace: &Keyspace, a: usize, b: usize) {
        if !self.any() {
            return;
        }
        let now = expiry_now_ms();
        for (idx, part) in self.parts.iter().enumerate() {
            // Shard before registry part, the order WATCH takes them in.
            let mut shard = keyspace.lock_shard(idx);
            let part = part.lock();
            if part.is_empty() {
                continue;
            }
            for db in [a, b] {
                let Some(keys) = part.get(&db) else { continue };
                for (key, flags) in keys {
                    let exists =
                        [a, b].iter().any(|&d| shard.db(d).peek(key).is_some() && !shard.db(d).is_expired(key, now));
                    if exists {
                        for f in flags {
                            f.store(true, Ordering::SeqCst);
                        }
                    }
                }
            }
        }
    }

    /// Adds `key` of `db` to `watching`; the caller holds the key's shard lock and tells
    /// whether the key is alive now.
    pub fn watch(&self, watching: &mut Watching, db: usize, key: &[u8], alive: bool) {
        if watching.keys.iter().any(|(d, k, _)| *d == db && k == key) {
            return;
        }
        let mut part = self.parts[Keyspace::shard_index(key)].lock();
        part.entry(db).or_default().entry(key.to_vec()).or_default().push(watching.touched.clone());
        self.count.fetch_add(1, Ordering::SeqCst);
        watching.keys.push((db, key.to_vec(), alive));
    }

    /// Removes every registration of `watching`.
    pub fn unwatch_all(&self, watching: &mut Watching) {
        for (db, key, _) in watching.keys.drain(..) {
            let mut part = self.parts[Keyspace::shard_index(&key)].lock();
            let Some(keys) = part.get_mut(&db) else { continue };
            if let Some(flags) = keys.get_mut(&key) {
                if let Some(pos) = flags.iter().position(|f| Arc::ptr_eq(f, &watching.touched)) {
                    flags.swap_remove(pos);
                    self.count.fetch_sub(1, Ordering::SeqCst);
                }
                if flags.is_empty() {
                    keys.remove(&key);
                }
            }
            if keys.is_empty() {
                part.remove(&db);
            }
        }
        watching.touched.store(false, Ordering::SeqCst);
    }
}

impl Watching {
    pub fn new() -> Watching {
        Watching { touched: Arc::new(AtomicBool::new(false)), keys: Vec::new() }
    }

    /// Whether EXEC must fail: a writer marked a key, or a key alive when watched is gone or
    /// expired now (deleted by expiry, which marks nobody). Call with the keys' shards held.
    pub fn changed(&self, keyspace: &Keyspace) -> bool {
        if self.touched.load(Ordering::SeqCst) {
            return true;
        }
        let now = expiry_now_ms();
        self.keys.iter().filter(|(_, _, alive)| *alive).any(|(db, key, _)| {
            let mut shard = keyspace.lock_key(key);
            let table = shard.db(*db);
            table.peek(key).is_none() || table.is_expired(key, now)
        })
    }
}

impl Default for Watching {
    fn default() -> Watching {
        Watching::new()
    }
}

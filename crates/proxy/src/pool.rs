//! A pool's state shared by every worker thread: server health (failure counts, ejection and
//! retry times), the current continuum, and the counters the stats port reports.
//!
//! Failure accounting is nutcracker's: every close of a server connection (refused connect,
//! EOF, reset, timeout) is one failure when `auto_eject_hosts` is on; `server_failure_limit`
//! consecutive failures eject the server for `server_retry_timeout` and rebuild the ring from
//! the live servers; any reply resets the count; an ejected server is re-added, without a
//! health check, once its retry time has passed and a request comes.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::PoolConfig;
use crate::distribution::{RingServer, Router};
use crate::hotkeys::{self, HotKey};

/// Milliseconds on a monotonic clock, never 0 (0 means "not set" in the atomics below).
pub fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

pub fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Upper bounds (microseconds) of the reply latency histogram's buckets; one more bucket
/// catches everything slower.
pub const LATENCY_BOUNDS_US: [u64; 12] =
    [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000];

/// Time from queueing a request on a server connection to its reply.
#[derive(Default)]
pub struct Latency {
    pub buckets: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
    pub sum_us: AtomicU64,
}

impl Latency {
    pub fn observe(&self, us: u64) {
        let i = LATENCY_BOUNDS_US.partition_point(|&b| b < us);
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }
}

/// Per-server counters, named as nutcracker's stats name them, plus the latency histogram.
#[derive(Default)]
pub struct ServerStats {
    pub server_eof: AtomicU64,
    pub server_err: AtomicU64,
    pub server_timedout: AtomicU64,
    pub server_connections: AtomicI64,
    pub server_ejected_at: AtomicU64,
    pub requests: AtomicU64,
    pub request_bytes: AtomicU64,
    pub responses: AtomicU64,
    pub response_bytes: AtomicU64,
    pub in_queue: AtomicI64,
    pub in_queue_bytes: AtomicI64,
    pub out_queue: AtomicI64,
    pub out_queue_bytes: AtomicI64,
    pub latency: Latency,
}

pub struct ServerState {
    pub failure_count: AtomicU32,
    /// When an ejected server may come back (now_ms scale); 0 while it is live.
    pub next_retry: AtomicU64,
    /// Bumped when a connection's death is counted, so the N workers' connections to one server
    /// that all see the same EOF count it once, as nutcracker's single connection would.
    pub epoch: AtomicU64,
    pub stats: ServerStats,
}

/// Per-pool counters, named as nutcracker's stats name them.
#[derive(Default)]
pub struct PoolStats {
    pub client_eof: AtomicU64,
    pub client_err: AtomicU64,
    pub client_connections: AtomicI64,
    pub server_ejects: AtomicU64,
    pub forward_error: AtomicU64,
    pub fragments: AtomicU64,
}

pub struct PoolShared {
    pub index: usize,
    pub cfg: PoolConfig,
    pub servers: Vec<ServerState>,
    pub stats: PoolStats,
    /// Clients connected now, for `client_connections`.
    pub clients: AtomicUsize,
    router: RwLock<Arc<Router>>,
    /// Bumped at every rebuild; workers cache the router and compare.
    generation: AtomicU64,
    /// When the next ejected server's retry time passes (0: none ejected).
    next_rebuild: AtomicU64,
    rebuild_lock: Mutex<()>,
    /// Each worker's top keys of the last interval, by worker number.
    hot_keys: Mutex<std::collections::HashMap<usize, Vec<HotKey>>>,
}

impl PoolShared {
    pub fn new(index: usize, cfg: PoolConfig) -> PoolShared {
        let ring =
            cfg.servers.iter().map(|s| RingServer { name: s.name.as_bytes().to_vec(), weight: s.weight }).collect();
        let router = Router::new(cfg.hash, cfg.hash_tag, cfg.distribution, ring);
        let servers = cfg
            .servers
            .iter()
            .map(|_| ServerState {
                failure_count: AtomicU32::new(0),
                next_retry: AtomicU64::new(0),
                epoch: AtomicU64::new(0),
                stats: ServerStats::default(),
            })
            .collect();
        PoolShared {
            index,
            cfg,
            servers,
            stats: PoolStats::default(),
            clients: AtomicUsize::new(0),
            router: RwLock::new(Arc::new(router)),
            generation: AtomicU64::new(1),
            next_rebuild: AtomicU64::new(0),
            rebuild_lock: Mutex::new(()),
            hot_keys: Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Relaxed)
    }

    pub fn router(&self) -> Arc<Router> {
        match self.router.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-adds servers whose retry time has passed; called before routing each request.
    pub fn maybe_rebuild(&self) {
        let due = self.next_rebuild.load(Relaxed);
        if due != 0 && now_ms() >= due {
            self.rebuild();
        }
    }

    fn rebuild(&self) {
        let _guard = self.rebuild_lock.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_ms();
        let mut next = 0u64;
        let live: Vec<bool> = self
            .servers
            .iter()
            .map(|s| {
                let retry = s.next_retry.load(Relaxed);
                if retry == 0 {
                    return true;
                }
                if now >= retry {
                    s.next_retry.store(0, Relaxed);
                    return true;
                }
                next = if next == 0 { retry } else { next.min(retry) };
                false
            })
            .collect();
        let mut router = Router::clone(&self.router());
        router.rebuild(&live);
        match self.router.write() {
            Ok(mut r) => *r = Arc::new(router),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(router),
        }
        self.next_rebuild.store(next, Relaxed);
        self.generation.fetch_add(1, Relaxed);
    }

    /// A reply came from the server: it is healthy.
    pub fn server_ok(&self, idx: usize) {
        let s = &self.servers[idx];
        if s.failure_count.load(Relaxed) != 0 {
            s.failure_count.store(0, Relaxed);
        }
    }

    /// A connection to the server closed or could not open. `epoch` is the server epoch the
    /// connection started in (`None` for a failed connect, which always counts). Returns
    /// whether this ejected the server.
    pub fn server_failure(&self, idx: usize, epoch: Option<u64>) -> bool {
        let s = &self.servers[idx];
        if let Some(e) = epoch {
            if s.epoch.compare_exchange(e, e + 1, Relaxed, Relaxed).is_err() {
                return false;
            }
        }
        if !self.cfg.auto_eject_hosts {
            return false;
        }
        let failures = s.failure_count.fetch_add(1, Relaxed) + 1;
        if failures < self.cfg.server_failure_limit.max(1) {
            return false;
        }
        s.failure_count.store(0, Relaxed);
        let retry_ms = self.cfg.server_retry_timeout.as_millis() as u64;
        s.next_retry.store(now_ms() + retry_ms.max(1), Relaxed);
        s.stats.server_ejected_at.store(unix_secs(), Relaxed);
        self.stats.server_ejects.fetch_add(1, Relaxed);
        self.rebuild();
        true
    }

    pub fn publish_hot_keys(&self, worker: usize, top: Vec<HotKey>) {
        self.hot_keys.lock().unwrap_or_else(|p| p.into_inner()).insert(worker, top);
    }

    /// The pool's hottest keys over the last interval, all workers together.
    pub fn hot_keys(&self) -> Vec<HotKey> {
        let lists = self.hot_keys.lock().unwrap_or_else(|p| p.into_inner());
        hotkeys::merge(lists.values())
    }

    pub fn is_ejected(&self, idx: usize) -> bool {
        self.servers[idx].next_retry.load(Relaxed) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn pool(limit: u32, retry_ms: u32) -> PoolShared {
        let text = format!(
            "a:\n  listen: 127.0.0.1:1\n  auto_eject_hosts: true\n  server_failure_limit: {limit}\n  \
             server_retry_timeout: {retry_ms}\n  servers:\n   - 127.0.0.1:7001:1 server1\n   \
             - 127.0.0.1:7002:1 server2\n   - 127.0.0.1:7003:1 server3\n"
        );
        PoolShared::new(0, Config::load_str(&text, "t").unwrap().pools.remove(0))
    }

    fn server2_key(p: &PoolShared) -> Vec<u8> {
        (0..1000).map(|i| format!("key:{i}").into_bytes()).find(|k| p.router().route(k) == Some(1)).unwrap()
    }

    #[test]
    fn ejects_after_the_failure_limit_and_returns_after_the_retry_time() {
        let p = pool(3, 150);
        let key = server2_key(&p);
        assert!(!p.server_failure(1, None));
        assert!(!p.server_failure(1, None));
        let gen = p.generation();
        assert!(p.server_failure(1, None));
        assert!(p.is_ejected(1));
        assert!(p.generation() > gen);
        assert_ne!(p.router().route(&key), Some(1));
        assert_eq!(p.stats.server_ejects.load(Relaxed), 1);
        p.maybe_rebuild();
        assert!(p.is_ejected(1), "retry time not passed yet");
        std::thread::sleep(std::time::Duration::from_millis(200));
        p.maybe_rebuild();
        assert!(!p.is_ejected(1));
        assert_eq!(p.router().route(&key), Some(1));
    }

    #[test]
    fn latency_buckets_are_upper_bounds() {
        let l = Latency::default();
        for us in [0, 100, 101, 999_999, 5_000_000] {
            l.observe(us);
        }
        let counts: Vec<u64> = l.buckets.iter().map(|b| b.load(Relaxed)).collect();
        assert_eq!(counts[0], 2);
        assert_eq!(counts[1], 1);
        assert_eq!(counts[11], 1);
        assert_eq!(counts[12], 1);
        assert_eq!(l.sum_us.load(Relaxed), 100 + 101 + 999_999 + 5_000_000);
    }

    #[test]
    fn a_reply_resets_the_count() {
        let p = pool(2, 1000);
        assert!(!p.server_failure(0, None));
        p.server_ok(0);
        assert!(!p.server_failure(0, None));
        assert!(p.server_failure(0, None));
    }

    #[test]
    fn one_death_seen_by_several_connections_counts_once() {
        let p = pool(2, 1000);
        let e = p.servers[2].epoch.load(Relaxed);
        assert!(!p.server_failure(2, Some(e)));
        assert!(!p.server_failure(2, Some(e)));
        assert_eq!(p.servers[2].failure_count.load(Relaxed), 1);
        assert!(p.server_failure(2, None));
    }
}

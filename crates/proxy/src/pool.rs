//! A pool's state shared by every worker thread: server health (failure counts, ejection and
//! retry times), the current continuum, and the counters the stats port reports.
//!
//! Failure accounting is nutcracker's: every close of a server connection (refused connect,
//! EOF, reset, timeout) is one failure when `auto_eject_hosts` is on; `server_failure_limit`
//! consecutive failures eject the server for `server_retry_timeout` and rebuild the ring from
//! the live servers; any reply resets the count; an ejected server is re-added, without a
//! health check, once its retry time has passed and a request comes. With
//! `health_check_interval` (a Roost key) an ejected server that answers PING comes back sooner
//! (`health.rs`); the retry time stays as the fallback.
//!
//! A config reload replaces a pool's view (configuration, server list, continuum) in one step;
//! servers whose entry is unchanged carry their state over.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::{PoolConfig, ServerConfig};
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
    /// Health-check probes sent, and those that got no `+PONG`.
    pub health_checks: AtomicU64,
    pub health_check_failures: AtomicU64,
}

/// One backend as the pool knows it, shared by every worker thread and kept across config
/// reloads for as long as its entry (address, weight and name) is unchanged.
pub struct Server {
    pub cfg: ServerConfig,
    pub failure_count: AtomicU32,
    /// When an ejected server may come back (now_ms scale); 0 while it is live.
    pub next_retry: AtomicU64,
    /// Bumped when a connection's death is counted, so the N workers' connections to one server
    /// that all see the same EOF count it once, as nutcracker's single connection would.
    pub epoch: AtomicU64,
    /// A health-check probe is out; one at a time, so a black-holed server never piles them up.
    pub probing: AtomicBool,
    pub stats: ServerStats,
}

impl Server {
    pub fn new(cfg: ServerConfig) -> Server {
        Server {
            cfg,
            failure_count: AtomicU32::new(0),
            next_retry: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            stats: ServerStats::default(),
        }
    }

    pub fn is_ejected(&self) -> bool {
        self.next_retry.load(Relaxed) != 0
    }

    /// A reply came from the server: it is healthy.
    pub fn replied(&self) {
        if self.failure_count.load(Relaxed) != 0 {
            self.failure_count.store(0, Relaxed);
        }
    }
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

/// A pool's configuration, its servers in index order and the continuum over the live ones.
/// Never changed in place: ejection, re-admission and reload each publish a new one, so a
/// worker holding one always sees a consistent triple.
pub struct PoolView {
    pub cfg: Arc<PoolConfig>,
    pub servers: Arc<[Arc<Server>]>,
    pub router: Router,
}

impl PoolView {
    pub fn is_ejected(&self, idx: usize) -> bool {
        self.servers.get(idx).is_some_and(|s| s.is_ejected())
    }
}

/// Which servers a reload keeps, adds and drops, by name, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServerChanges {
    pub kept: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// A pool's state shared by every worker thread. It lives as long as a pool of its name is in
/// the configuration; a reload swaps its view, never the object.
pub struct PoolShared {
    pub name: String,
    pub stats: PoolStats,
    /// Clients connected now, for `client_connections`.
    pub clients: AtomicUsize,
    view: RwLock<Arc<PoolView>>,
    /// Bumped after every new view; workers cache the view and compare, so the request path
    /// reads one atomic and takes the lock only when something changed.
    generation: AtomicU64,
    /// When the next ejected server's retry time passes (0: none ejected).
    next_rebuild: AtomicU64,
    /// Serialises view changes (ejection, re-admission, reload) so none is lost.
    rebuild_lock: Mutex<()>,
    /// Set when a reload drops the pool: its health check stops.
    removed: AtomicBool,
    /// Each worker's top keys of the last interval, by worker number.
    hot_keys: Mutex<std::collections::HashMap<usize, Vec<HotKey>>>,
}

fn router_for(cfg: &PoolConfig) -> Router {
    let ring = cfg.servers.iter().map(|s| RingServer { name: s.name.as_bytes().to_vec(), weight: s.weight }).collect();
    Router::new(cfg.hash, cfg.hash_tag, cfg.distribution, ring)
}

impl PoolShared {
    pub fn new(cfg: PoolConfig) -> PoolShared {
        let router = router_for(&cfg);
        let servers: Arc<[Arc<Server>]> = cfg.servers.iter().map(|s| Arc::new(Server::new(s.clone()))).collect();
        PoolShared {
            name: cfg.name.clone(),
            stats: PoolStats::default(),
            clients: AtomicUsize::new(0),
            view: RwLock::new(Arc::new(PoolView { cfg: Arc::new(cfg), servers, router })),
            generation: AtomicU64::new(1),
            next_rebuild: AtomicU64::new(0),
            rebuild_lock: Mutex::new(()),
            removed: AtomicBool::new(false),
            hot_keys: Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Relaxed)
    }

    pub fn view(&self) -> Arc<PoolView> {
        match self.view.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The current continuum (a copy; for tests and tools, not the request path).
    pub fn router(&self) -> Router {
        self.view().router.clone()
    }

    pub fn is_ejected(&self, idx: usize) -> bool {
        self.view().is_ejected(idx)
    }

    /// Re-adds servers whose retry time has passed; called before routing each request.
    pub fn maybe_rebuild(&self) {
        let due = self.next_rebuild.load(Relaxed);
        if due != 0 && now_ms() >= due {
            self.rebuild();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.rebuild_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rebuild(&self) {
        let _guard = self.lock();
        let v = self.view();
        self.publish(v.cfg.clone(), v.servers.clone(), v.router.clone());
    }

    /// Rebuilds `router` from the live servers and makes it the view. The caller holds
    /// `rebuild_lock`.
    fn publish(&self, cfg: Arc<PoolConfig>, servers: Arc<[Arc<Server>]>, mut router: Router) {
        let now = now_ms();
        let mut next = 0u64;
        let live: Vec<bool> = servers
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
        router.rebuild(&live);
        let view = Arc::new(PoolView { cfg, servers, router });
        match self.view.write() {
            Ok(mut v) => *v = view,
            Err(poisoned) => *poisoned.into_inner() = view,
        }
        self.next_rebuild.store(next, Relaxed);
        // After the store: a worker that sees the new number then reads the new view.
        self.generation.fetch_add(1, Relaxed);
    }

    /// Installs a reloaded configuration of this pool. Servers whose entry is unchanged keep
    /// their state (connections, failure count, ejection, counters); the ring is rebuilt from the
    /// new list.
    pub fn reconfigure(&self, cfg: PoolConfig) -> ServerChanges {
        let _guard = self.lock();
        let old = self.view();
        let old_cfgs: Vec<ServerConfig> = old.servers.iter().map(|s| s.cfg.clone()).collect();
        let diff = crate::reload::diff_servers(&old_cfgs, &cfg.servers);
        let mut changes = ServerChanges::default();
        let servers: Arc<[Arc<Server>]> = cfg
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| match diff.kept.iter().find(|k| k.1 == i) {
                Some(&(o, _)) => {
                    changes.kept.push(s.name.clone());
                    old.servers[o].clone()
                }
                None => {
                    changes.added.push(s.name.clone());
                    Arc::new(Server::new(s.clone()))
                }
            })
            .collect();
        changes.removed = diff.removed.iter().map(|&o| old_cfgs[o].name.clone()).collect();
        let router = router_for(&cfg);
        self.publish(Arc::new(cfg), servers, router);
        changes
    }

    /// A connection to the server closed or could not open. `epoch` is the server epoch the
    /// connection started in (`None` for a failed connect, which always counts). Returns
    /// whether this ejected the server.
    pub fn server_failure(&self, s: &Server, epoch: Option<u64>) -> bool {
        if let Some(e) = epoch {
            if s.epoch.compare_exchange(e, e + 1, Relaxed, Relaxed).is_err() {
                return false;
            }
        }
        // Failures are rare: reading the view here costs nothing on the request path.
        let cfg = self.view().cfg.clone();
        if !cfg.auto_eject_hosts {
            return false;
        }
        let failures = s.failure_count.fetch_add(1, Relaxed) + 1;
        if failures < cfg.server_failure_limit.max(1) {
            return false;
        }
        s.failure_count.store(0, Relaxed);
        let retry_ms = cfg.server_retry_timeout.as_millis() as u64;
        s.next_retry.store(now_ms() + retry_ms.max(1), Relaxed);
        s.stats.server_ejected_at.store(unix_secs(), Relaxed);
        self.stats.server_ejects.fetch_add(1, Relaxed);
        self.rebuild();
        true
    }

    /// The health check saw the server answer: it rejoins the ring now rather than at its
    /// retry time. Returns false if it was not ejected (the retry time won the race).
    pub fn readmit(&self, s: &Server) -> bool {
        let _guard = self.lock();
        if !s.is_ejected() {
            return false;
        }
        s.next_retry.store(0, Relaxed);
        s.failure_count.store(0, Relaxed);
        let v = self.view();
        self.publish(v.cfg.clone(), v.servers.clone(), v.router.clone());
        true
    }

    pub fn mark_removed(&self) {
        self.removed.store(true, Relaxed);
    }

    pub fn is_removed(&self) -> bool {
        self.removed.load(Relaxed)
    }

    pub fn publish_hot_keys(&self, worker: usize, top: Vec<HotKey>) {
        self.hot_keys.lock().unwrap_or_else(|p| p.into_inner()).insert(worker, top);
    }

    /// The pool's hottest keys over the last interval, all workers together.
    pub fn hot_keys(&self) -> Vec<HotKey> {
        let lists = self.hot_keys.lock().unwrap_or_else(|p| p.into_inner());
        hotkeys::merge(lists.values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cfg(limit: u32, retry_ms: u32, servers: &[&str]) -> PoolConfig {
        let mut text = format!(
            "a:\n  listen: 127.0.0.1:1\n  auto_eject_hosts: true\n  server_failure_limit: {limit}\n  \
             server_retry_timeout: {retry_ms}\n  servers:\n"
        );
        for s in servers {
            text.push_str(&format!("   - {s}\n"));
        }
        Config::load_str(&text, "t").unwrap().pools.remove(0)
    }

    const THREE: [&str; 3] = ["127.0.0.1:7001:1 server1", "127.0.0.1:7002:1 server2", "127.0.0.1:7003:1 server3"];

    fn pool(limit: u32, retry_ms: u32) -> PoolShared {
        PoolShared::new(cfg(limit, retry_ms, &THREE))
    }

    fn server(p: &PoolShared, idx: usize) -> Arc<Server> {
        p.view().servers[idx].clone()
    }

    fn server2_key(p: &PoolShared) -> Vec<u8> {
        (0..1000).map(|i| format!("key:{i}").into_bytes()).find(|k| p.router().route(k) == Some(1)).unwrap()
    }

    #[test]
    fn ejects_after_the_failure_limit_and_returns_after_the_retry_time() {
        let p = pool(3, 150);
        let key = server2_key(&p);
        let s = server(&p, 1);
        assert!(!p.server_failure(&s, None));
        assert!(!p.server_failure(&s, None));
        let gen = p.generation();
        assert!(p.server_failure(&s, None));
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
    fn readmission_rebuilds_the_ring_before_the_retry_time() {
        let p = pool(1, 60_000);
        let key = server2_key(&p);
        let s = server(&p, 1);
        assert!(p.server_failure(&s, None));
        assert_ne!(p.router().route(&key), Some(1));
        let gen = p.generation();
        assert!(p.readmit(&s));
        assert!(!p.is_ejected(1));
        assert!(p.generation() > gen);
        assert_eq!(p.router().route(&key), Some(1));
        assert!(!p.readmit(&s), "a live server is not re-admitted twice");
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
        let s = server(&p, 0);
        assert!(!p.server_failure(&s, None));
        s.replied();
        assert!(!p.server_failure(&s, None));
        assert!(p.server_failure(&s, None));
    }

    #[test]
    fn one_death_seen_by_several_connections_counts_once() {
        let p = pool(2, 1000);
        let s = server(&p, 2);
        let e = s.epoch.load(Relaxed);
        assert!(!p.server_failure(&s, Some(e)));
        assert!(!p.server_failure(&s, Some(e)));
        assert_eq!(s.failure_count.load(Relaxed), 1);
        assert!(p.server_failure(&s, None));
    }

    #[test]
    fn reconfigure_keeps_unchanged_servers_and_their_ejection() {
        let p = pool(1, 60_000);
        let s1 = server(&p, 0);
        let s3 = server(&p, 2);
        assert!(p.server_failure(&s3, None));
        s1.stats.requests.fetch_add(5, Relaxed);
        // server2 changes weight (a new server), server3 stays, server4 is new.
        let changes = p.reconfigure(cfg(
            1,
            60_000,
            &[
                "127.0.0.1:7001:1 server1",
                "127.0.0.1:7002:2 server2",
                "127.0.0.1:7003:1 server3",
                "127.0.0.1:7004:1 server4",
            ],
        ));
        assert_eq!(changes.kept, ["server1", "server3"]);
        assert_eq!(changes.added, ["server2", "server4"]);
        assert_eq!(changes.removed, ["server2"]);
        let v = p.view();
        assert_eq!(v.servers.len(), 4);
        assert!(Arc::ptr_eq(&v.servers[0], &s1));
        assert!(Arc::ptr_eq(&v.servers[2], &s3));
        assert_eq!(v.servers[0].stats.requests.load(Relaxed), 5);
        assert!(v.is_ejected(2), "ejection survives the reload");
        assert_eq!(v.servers[1].cfg.weight, 2);
        // The ring is the new list's, still without the ejected server.
        let mut want = router_for(&v.cfg);
        want.rebuild(&[true, true, false, true]);
        for i in 0..500 {
            let k = format!("k{i}");
            assert_eq!(v.router.route(k.as_bytes()), want.route(k.as_bytes()), "{k}");
        }
    }
}

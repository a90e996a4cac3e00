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
//!
//! With `backend: redis-cluster` the view also holds the slot table, and its server list is the
//! configured seeds followed by the nodes learned from the cluster (`cluster.rs`); a new slot
//! map is published the same way, so a worker sees nodes and slots that belong together.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::cluster::{SlotTable, Topology};
use crate::config::{BackendKind, PoolConfig, ServerAddr, ServerConfig};
use crate::distribution::{Distribution, RingServer, Router};
use crate::hash::HashKind;
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
    pub fn add(&self, batch: &LatencyBatch) {
        for (bucket, &n) in self.buckets.iter().zip(&batch.buckets) {
            if n != 0 {
                bucket.fetch_add(n, Relaxed);
            }
        }
        self.sum_us.fetch_add(batch.sum_us, Relaxed);
    }
}

/// Latencies of one batch of replies, gathered without atomics and added to a `Latency` at once.
#[derive(Default)]
pub struct LatencyBatch {
    buckets: [u64; LATENCY_BOUNDS_US.len() + 1],
    sum_us: u64,
}

impl LatencyBatch {
    pub fn observe(&mut self, us: u64) {
        self.buckets[LATENCY_BOUNDS_US.partition_point(|&b| b < us)] += 1;
        self.sum_us += us;
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

/// A pool's configuration, its servers in index order and the continuum over the live ones
/// (and, for a Redis Cluster pool, the slot table). Never replaced piecemeal: ejection,
/// re-admission, reload and a new slot map each publish a new one, so a worker holding one
/// always sees a consistent whole.
pub struct PoolView {
    pub cfg: Arc<PoolConfig>,
    /// The configured servers first, in configuration order; for a Redis Cluster pool the nodes
    /// learned from the cluster follow.
    pub servers: Arc<[Arc<Server>]>,
    pub router: Router,
    /// `Some` for `backend: redis-cluster`: slot -> index in `servers`.
    pub slots: Option<Arc<SlotTable>>,
}

impl PoolView {
    pub fn is_ejected(&self, idx: usize) -> bool {
        self.servers.get(idx).is_some_and(|s| s.is_ejected())
    }

    /// The node to send a request for `slot` to: its owner, or, while the table does not know
    /// one (before the first `CLUSTER SLOTS`, or for an unserved slot), any live node, whose
    /// `MOVED` then names the owner. `None`: the owner is ejected, or no node is live.
    pub fn slot_node(&self, slot: u16) -> Option<usize> {
        let table = self.slots.as_ref()?;
        match table.owner(slot).filter(|&i| i < self.servers.len()) {
            Some(i) if self.is_ejected(i) => None,
            Some(i) => Some(i),
            None => self.servers.iter().position(|s| !s.is_ejected()),
        }
    }

    /// The index of the node at `host:port`, if the view has it.
    pub fn node_index(&self, host: &str, port: u16) -> Option<usize> {
        self.servers.iter().position(|s| is_at(&s.cfg.addr, host, port))
    }
}

fn is_at(addr: &ServerAddr, host: &str, port: u16) -> bool {
    matches!(addr, ServerAddr::Tcp { host: h, port: p } if h == host && *p == port)
}

/// A cluster node learned from the cluster rather than the configuration: named `host:port`,
/// weight 1 (weights mean nothing to slot routing).
fn node_config(host: &str, port: u16) -> ServerConfig {
    ServerConfig {
        pname: format!("{host}:{port}:1"),
        name: format!("{host}:{port}"),
        addr: ServerAddr::Tcp { host: host.to_string(), port },
        weight: 1,
    }
}

/// How a new slot map changed a Redis Cluster pool, for the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TopologyChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Slots whose owner differs from the previous table (unknown counts as different).
    pub moved_slots: usize,
    pub assigned_slots: usize,
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
    /// Wakes the pool's slot-map refresh task (`cluster.rs`). A `Notify` keeps at most one
    /// pending wake-up, so any number of MOVED replies cost one `CLUSTER SLOTS`.
    refresh: tokio::sync::Notify,
    /// A refresh is asked for and has not started: further MOVED replies need not touch the
    /// `Notify` (whose waiter list is behind a lock) during a migration's burst of them.
    refresh_pending: AtomicBool,
    /// Each worker's top keys of the last interval, by worker number.
    hot_keys: Mutex<std::collections::HashMap<usize, Vec<HotKey>>>,
}

fn router_for(cfg: &PoolConfig) -> Router {
    let ring = cfg.servers.iter().map(|s| RingServer { name: s.name.as_bytes().to_vec(), weight: s.weight }).collect();
    Router::new(cfg.hash, cfg.hash_tag, cfg.distribution, ring)
}

/// A Redis Cluster pool routes by slot; its continuum only has to exist and track liveness,
/// so it is the cheapest one to rebuild.
fn cluster_router(servers: &[Arc<Server>]) -> Router {
    let ring = servers.iter().map(|s| RingServer { name: s.cfg.name.as_bytes().to_vec(), weight: 1 }).collect();
    Router::new(HashKind::Fnv1a64, None, Distribution::Modula, ring)
}

impl PoolShared {
    pub fn new(cfg: PoolConfig) -> PoolShared {
        let servers: Arc<[Arc<Server>]> = cfg.servers.iter().map(|s| Arc::new(Server::new(s.clone()))).collect();
        let (router, slots) = match cfg.backend {
            BackendKind::Twemproxy => (router_for(&cfg), None),
            BackendKind::RedisCluster => (cluster_router(&servers), Some(Arc::new(SlotTable::unassigned()))),
        };
        PoolShared {
            name: cfg.name.clone(),
            stats: PoolStats::default(),
            clients: AtomicUsize::new(0),
            view: RwLock::new(Arc::new(PoolView { cfg: Arc::new(cfg), servers, router, slots })),
            generation: AtomicU64::new(1),
            next_rebuild: AtomicU64::new(0),
            rebuild_lock: Mutex::new(()),
            removed: AtomicBool::new(false),
            refresh: tokio::sync::Notify::new(),
            refresh_pending: AtomicBool::new(false),
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
        self.publish(v.cfg.clone(), v.servers.clone(), v.router.clone(), v.slots.clone());
    }

    /// Rebuilds `router` from the live servers and makes it the view. The caller holds
    /// `rebuild_lock`.
    fn publish(
        &self,
        cfg: Arc<PoolConfig>,
        servers: Arc<[Arc<Server>]>,
        mut router: Router,
        slots: Option<Arc<SlotTable>>,
    ) {
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
        let view = Arc::new(PoolView { cfg, servers, router, slots });
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
    ///
    /// A Redis Cluster pool also keeps the nodes it learned and their slots (a slot whose node
    /// is gone becomes unknown), and asks the cluster for a fresh slot map.
    pub fn reconfigure(&self, cfg: PoolConfig) -> ServerChanges {
        let _guard = self.lock();
        let old = self.view();
        // The configured servers lead the list in both modes; learned nodes follow them.
        let old_cfgs = &old.cfg.servers;
        let diff = crate::reload::diff_servers(old_cfgs, &cfg.servers);
        let mut changes = ServerChanges::default();
        let mut servers: Vec<Arc<Server>> = cfg
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
        if cfg.backend == BackendKind::Twemproxy {
            let router = router_for(&cfg);
            self.publish(Arc::new(cfg), servers.into(), router, None);
            return changes;
        }
        if old.slots.is_some() {
            for learned in old.servers.iter().skip(old_cfgs.len()) {
                if !servers.iter().any(|s| s.cfg.addr == learned.cfg.addr) {
                    servers.push(learned.clone());
                }
            }
        }
        let table = match &old.slots {
            Some(t) => t.remap(|o| old.servers.get(o).and_then(|s| servers.iter().position(|n| Arc::ptr_eq(n, s)))),
            None => SlotTable::unassigned(),
        };
        let router = cluster_router(&servers);
        self.publish(Arc::new(cfg), servers.into(), router, Some(Arc::new(table)));
        self.request_refresh();
        changes
    }

    /// Asks the refresh task for a new slot map; any number of requests before it runs count
    /// as one.
    pub fn request_refresh(&self) {
        if !self.refresh_pending.swap(true, Relaxed) {
            self.refresh.notify_one();
        }
    }

    /// Waits for `request_refresh` (or a stale wake-up: check with `take_refresh_request`).
    pub async fn refresh_requested(&self) {
        self.refresh.notified().await;
    }

    /// Whether a refresh was asked for since the last call. Requests made after this ask for
    /// another refresh: they may have seen a change the coming query started too early to see.
    pub fn take_refresh_request(&self) -> bool {
        self.refresh_pending.swap(false, Relaxed)
    }

    /// Installs a slot map read from `CLUSTER SLOTS`. Nodes already known keep their state and
    /// connections; learned nodes the map no longer names are dropped (configured seeds stay).
    /// A pool no longer in cluster mode (a reload raced the query) is left alone.
    pub fn install_topology(&self, topology: &Topology) -> Option<TopologyChanges> {
        let _guard = self.lock();
        let old = self.view();
        let old_table = old.slots.as_ref()?;
        let seeds = old.cfg.servers.len().min(old.servers.len());
        let mut servers: Vec<Arc<Server>> = old.servers[..seeds].to_vec();
        let mut changes = TopologyChanges::default();
        let mut index_of_node = Vec::with_capacity(topology.nodes.len());
        for (host, port) in &topology.nodes {
            let idx = match servers.iter().position(|s| is_at(&s.cfg.addr, host, *port)) {
                Some(i) => i,
                None => {
                    let server = match old.servers[seeds..].iter().find(|s| is_at(&s.cfg.addr, host, *port)) {
                        Some(s) => s.clone(),
                        None => {
                            changes.added.push(format!("{host}:{port}"));
                            Arc::new(Server::new(node_config(host, *port)))
                        }
                    };
                    servers.push(server);
                    servers.len() - 1
                }
            };
            index_of_node.push(idx);
        }
        changes.removed = old.servers[seeds..]
            .iter()
            .filter(|o| !servers.iter().any(|s| Arc::ptr_eq(s, o)))
            .map(|o| o.cfg.name.clone())
            .collect();
        let table = SlotTable::from_ranges(
            topology.ranges.iter().filter_map(|&(a, b, n)| index_of_node.get(n).map(|&i| (a, b, i))),
        );
        for slot in 0..crate::cluster::SLOT_COUNT as u16 {
            let new = table.owner(slot).map(|i| &servers[i]);
            if new.is_some() {
                changes.assigned_slots += 1;
            }
            let before = old_table.owner(slot).and_then(|i| old.servers.get(i));
            let same = matches!((before, new), (Some(a), Some(b)) if Arc::ptr_eq(a, b));
            if !same {
                changes.moved_slots += 1;
            }
        }
        // The same nodes in the same order keep the list itself, so workers need not carry
        // their connections over to a new one after every refresh.
        let same = servers.len() == old.servers.len()
            && servers.iter().zip(old.servers.iter()).all(|(a, b)| Arc::ptr_eq(a, b));
        let servers: Arc<[Arc<Server>]> = if same { old.servers.clone() } else { servers.into() };
        let router = cluster_router(&servers);
        self.publish(old.cfg.clone(), servers, router, Some(Arc::new(table)));
        Some(changes)
    }

    /// Adds a cluster node named by a redirection before the next slot map lists it. Slot
    /// owners keep their indexes (the node is appended).
    pub fn add_node(&self, host: &str, port: u16) {
        let _guard = self.lock();
        let old = self.view();
        let Some(table) = &old.slots else { return };
        if old.node_index(host, port).is_some() {
            return;
        }
        let mut servers = old.servers.to_vec();
        servers.push(Arc::new(Server::new(node_config(host, port))));
        let router = cluster_router(&servers);
        self.publish(old.cfg.clone(), servers.into(), router, Some(Arc::new(table.copy())));
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
        let view = self.view();
        if view.slots.is_some() {
            // A cluster node that stops answering may have failed over: ask who owns what now.
            self.request_refresh();
        }
        let cfg = view.cfg.clone();
        drop(view);
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
        self.publish(v.cfg.clone(), v.servers.clone(), v.router.clone(), v.slots.clone());
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

    fn cluster_pool(seeds: &[&str]) -> PoolShared {
        let mut text = String::from("a:\n  listen: 127.0.0.1:1\n  redis: true\n  backend: redis-cluster\n  servers:\n");
        for s in seeds {
            text.push_str(&format!("   - {s}\n"));
        }
        PoolShared::new(Config::load_str(&text, "t").unwrap().pools.remove(0))
    }

    fn topology(nodes: &[(&str, u16)], ranges: &[(u16, u16, usize)]) -> Topology {
        Topology { nodes: nodes.iter().map(|&(h, p)| (h.to_string(), p)).collect(), ranges: ranges.to_vec() }
    }

    fn names(v: &PoolView) -> Vec<String> {
        v.servers.iter().map(|s| s.cfg.name.clone()).collect()
    }

    #[test]
    fn a_cluster_pool_sends_unknown_slots_to_any_node_until_it_has_a_map() {
        let p = cluster_pool(&["127.0.0.1:7000:1 seed"]);
        let v = p.view();
        assert_eq!(v.slot_node(0), Some(0));
        assert_eq!(v.slot_node(16383), Some(0));
        assert!(p.view().router.route(b"k").is_some(), "the continuum exists but is not used");
    }

    #[test]
    fn slot_maps_reuse_known_nodes_and_drop_vanished_ones() {
        let p = cluster_pool(&["127.0.0.1:7000:1 seed"]);
        let seed = server(&p, 0);
        let c = p
            .install_topology(&topology(
                &[("127.0.0.1", 7000), ("127.0.0.1", 7001), ("127.0.0.1", 7002)],
                &[(0, 5460, 0), (5461, 10922, 1), (10923, 16383, 2)],
            ))
            .unwrap();
        assert_eq!(c.added, ["127.0.0.1:7001", "127.0.0.1:7002"], "the seed is the node at its address");
        assert_eq!((c.assigned_slots, c.moved_slots), (16384, 16384));
        let v = p.view();
        assert_eq!(names(&v), ["seed", "127.0.0.1:7001", "127.0.0.1:7002"]);
        assert!(Arc::ptr_eq(&v.servers[0], &seed));
        assert_eq!((v.slot_node(0), v.slot_node(6000), v.slot_node(16000)), (Some(0), Some(1), Some(2)));
        let n2 = v.servers[2].clone();
        n2.stats.requests.fetch_add(3, Relaxed);

        // 7001 leaves, its slots go to 7002; a new node 7003 takes one range.
        let c = p
            .install_topology(&topology(
                &[("127.0.0.1", 7002), ("127.0.0.1", 7003), ("127.0.0.1", 7000)],
                &[(0, 100, 2), (101, 10922, 0), (10923, 16383, 1)],
            ))
            .unwrap();
        assert_eq!(c.added, ["127.0.0.1:7003"]);
        assert_eq!(c.removed, ["127.0.0.1:7001"]);
        assert_eq!(c.moved_slots, 10923 - 101 + 5461, "slots 101..=10922 to 7002 and 10923.. to 7003");
        let v = p.view();
        assert_eq!(names(&v), ["seed", "127.0.0.1:7002", "127.0.0.1:7003"]);
        assert!(Arc::ptr_eq(&v.servers[1], &n2), "a known node keeps its state");
        assert_eq!((v.slot_node(50), v.slot_node(6000), v.slot_node(16000)), (Some(0), Some(1), Some(2)));
        let again = topology(&[("127.0.0.1", 7000)], &[(0, 16383, 0)]);
        let c = p.install_topology(&again).unwrap();
        assert_eq!(c.removed, ["127.0.0.1:7002", "127.0.0.1:7003"]);
        let v = p.view();
        p.install_topology(&again).unwrap();
        assert!(Arc::ptr_eq(&p.view().servers, &v.servers), "an unchanged node list is kept as is");
    }

    #[test]
    fn a_redirection_to_a_new_node_appends_it_and_keeps_the_slots() {
        let p = cluster_pool(&["127.0.0.1:7000:1 seed"]);
        p.install_topology(&topology(&[("127.0.0.1", 7000)], &[(0, 16383, 0)])).unwrap();
        p.add_node("10.0.0.9", 7009);
        p.add_node("10.0.0.9", 7009);
        let v = p.view();
        assert_eq!(names(&v), ["seed", "10.0.0.9:7009"]);
        assert_eq!(v.node_index("10.0.0.9", 7009), Some(1));
        assert_eq!(v.slot_node(99), Some(0));
        v.slots.as_ref().unwrap().set(99, 1);
        assert_eq!(v.slot_node(99), Some(1));
    }

    #[test]
    fn an_ejected_owner_refuses_its_slots_and_asks_for_a_map() {
        let text = "a:\n  listen: 127.0.0.1:1\n  redis: true\n  backend: redis-cluster\n  auto_eject_hosts: true\n  \
                    server_failure_limit: 1\n  servers:\n   - 127.0.0.1:7000:1 seed\n";
        let p = PoolShared::new(Config::load_str(text, "t").unwrap().pools.remove(0));
        p.install_topology(&topology(&[("127.0.0.1", 7000), ("127.0.0.1", 7001)], &[(0, 99, 1)])).unwrap();
        assert!(!p.refresh_pending.load(Relaxed));
        assert!(p.server_failure(&server(&p, 1), None));
        assert!(p.refresh_pending.load(Relaxed), "a failure may be a failover");
        let v = p.view();
        assert_eq!(v.slot_node(50), None, "no other node can serve the slot");
        assert_eq!(v.slot_node(500), Some(0), "an unserved slot goes to a live node");
    }

    #[test]
    fn reloading_a_cluster_pool_keeps_learned_nodes_and_their_slots() {
        let p = cluster_pool(&["127.0.0.1:7000:1 seed", "127.0.0.1:7100:1 spare"]);
        p.install_topology(&topology(&[("127.0.0.1", 7000), ("127.0.0.1", 7001)], &[(0, 8191, 0), (8192, 16383, 1)]))
            .unwrap();
        let learned = server(&p, 2);
        let mut text = String::from("a:\n  listen: 127.0.0.1:1\n  redis: true\n  backend: redis-cluster\n");
        text.push_str("  servers:\n   - 127.0.0.1:7100:1 spare\n");
        let changes = p.reconfigure(Config::load_str(&text, "t").unwrap().pools.remove(0));
        assert_eq!(changes.removed, ["seed"]);
        let v = p.view();
        assert_eq!(names(&v), ["spare", "127.0.0.1:7001"]);
        assert!(Arc::ptr_eq(&v.servers[1], &learned));
        assert_eq!(v.slot_node(9000), Some(1));
        assert_eq!(v.slot_node(10), Some(0), "the removed seed's slots go to any node until the next map");
        // And back to nutcracker mode: the configured servers only, no slots.
        let text = "a:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n   - 127.0.0.1:7100:1 spare\n";
        p.reconfigure(Config::load_str(text, "t").unwrap().pools.remove(0));
        let v = p.view();
        assert_eq!(names(&v), ["spare"]);
        assert!(v.slots.is_none());
    }

    #[test]
    fn latency_buckets_are_upper_bounds() {
        let l = Latency::default();
        let mut batch = LatencyBatch::default();
        for us in [0, 100, 101, 999_999, 5_000_000] {
            batch.observe(us);
        }
        l.add(&batch);
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

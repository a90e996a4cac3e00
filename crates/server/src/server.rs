//! State shared by every worker thread: the keyspace, configuration, client registry, statistics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use roost_config::Config;
use roost_store::{now_ms, Keyspace};

use crate::blocking::Blocking;
use crate::client::ClientHandle;
use crate::command::CommandTable;
use crate::commands::TABLE;
use crate::gate::Gate;
use crate::metrics::InstantMetrics;
use crate::stats::{GlobalStats, WorkerStats};
use crate::watch::Watches;

/// Configuration values read on every request, mirrored out of `Config` so the hot path reads
/// an atomic instead of taking the configuration lock.
pub struct LiveConfig {
    pub proto_max_bulk_len: AtomicU64,
    pub client_query_buffer_limit: AtomicU64,
    pub maxclients: AtomicU64,
    pub timeout_secs: AtomicU64,
    pub tcp_keepalive_secs: AtomicU64,
    pub hz: AtomicU64,
    pub requirepass: RwLock<Option<Vec<u8>>>,
    pub password_required: AtomicBool,
}

impl LiveConfig {
    fn from(config: &Config) -> LiveConfig {
        let live = LiveConfig {
            proto_max_bulk_len: AtomicU64::new(0),
            client_query_buffer_limit: AtomicU64::new(0),
            maxclients: AtomicU64::new(0),
            timeout_secs: AtomicU64::new(0),
            tcp_keepalive_secs: AtomicU64::new(0),
            hz: AtomicU64::new(10),
            requirepass: RwLock::new(None),
            password_required: AtomicBool::new(false),
        };
        live.refresh(config);
        live
    }

    pub fn refresh(&self, c: &Config) {
        self.proto_max_bulk_len.store(c.proto_max_bulk_len(), Ordering::Relaxed);
        self.client_query_buffer_limit.store(c.client_query_buffer_limit(), Ordering::Relaxed);
        self.maxclients.store(c.maxclients(), Ordering::Relaxed);
        self.timeout_secs.store(c.timeout_secs(), Ordering::Relaxed);
        self.tcp_keepalive_secs.store(c.tcp_keepalive_secs(), Ordering::Relaxed);
        self.hz.store(c.hz().clamp(1, 500) as u64, Ordering::Relaxed);
        let pass = c.requirepass();
        self.password_required.store(pass.is_some(), Ordering::Relaxed);
        *self.requirepass.write() = pass;
    }
}

/// CLIENT PAUSE state.
#[derive(Default)]
pub struct Pause {
    /// Unix ms until which clients are paused; 0 when not paused.
    pub until_ms: AtomicU64,
    /// True when only writes are paused.
    pub writes_only: AtomicBool,
    pub lifted: Notify,
}

impl Pause {
    /// Whether a command with these properties must wait now.
    pub fn holds(&self, is_write: bool) -> bool {
        let until = self.until_ms.load(Ordering::Acquire);
        if until == 0 {
            return false;
        }
        if now_ms() >= until {
            return false;
        }
        is_write || !self.writes_only.load(Ordering::Relaxed)
    }
}

pub struct Server {
    pub keyspace: Keyspace,
    pub config: RwLock<Config>,
    pub live: LiveConfig,
    pub commands: CommandTable,
    pub clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    pub client_count: AtomicUsize,
    next_client_id: AtomicU64,
    pub workers: Vec<Arc<WorkerStats>>,
    pub stats: GlobalStats,
    pub started: Instant,
    pub started_unix_ms: u64,
    pub run_id: String,
    pub pause: Pause,
    pub active_expire: AtomicBool,
    pub threads: usize,
    pub tcp_port: AtomicU64,
    /// Set by SHUTDOWN; the listener and housekeeping stop and the process exits.
    pub shutdown: Notify,
    pub shutting_down: AtomicBool,
    pub instant: InstantMetrics,
    pub blocking: Blocking,
    pub gate: Gate,
    pub watches: Watches,
    /// Time spent in active expiry, for INFO's expire_cycle_cpu_milliseconds.
    pub expire_cycle_ms: AtomicU64,
    /// Subscriptions, message delivery and the keyspace notification classes.
    pub pubsub: crate::pubsub::PubSub,
    /// Lua scripting: the engine and the state of the script in progress.
    pub scripting: crate::scripting::Scripting,
    /// CLIENT TRACKING: who read which keys, and the broadcasting prefixes.
    pub tracking: crate::tracking::Tracking,
    /// The append-only file: the log writes go to, its writer and its state.
    pub aof: crate::aof::Aof,
    /// RDB saves: whether one runs, when the last ended and how.
    pub save: crate::persist::SaveState,
}

impl Server {
    pub fn new(config: Config, threads: usize) -> Result<Server, String> {
        let commands = CommandTable::new(TABLE, &config.renamed_commands())?;
        let workers = (0..threads).map(|_| Arc::new(WorkerStats::new(commands.len()))).collect();
        let server = Server {
            keyspace: Keyspace::new(config.databases()),
            live: LiveConfig::from(&config),
            tcp_port: AtomicU64::new(config.port() as u64),
            config: RwLock::new(config),
            commands,
            clients: Mutex::new(BTreeMap::new()),
            client_count: AtomicUsize::new(0),
            next_client_id: AtomicU64::new(1),
            workers,
            stats: GlobalStats::default(),
            started: Instant::now(),
            started_unix_ms: now_ms(),
            run_id: random_hex(40),
            pause: Pause::default(),
            active_expire: AtomicBool::new(true),
            threads,
            shutdown: Notify::new(),
            shutting_down: AtomicBool::new(false),
            instant: InstantMetrics::default(),
            blocking: Blocking::default(),
            gate: Gate::default(),
            watches: Watches::default(),
            expire_cycle_ms: AtomicU64::new(0),
            pubsub: crate::pubsub::PubSub::new(),
            scripting: crate::scripting::Scripting::new(roost_config::REDIS_VERSION)?,
            tracking: Default::default(),
            aof: crate::aof::Aof::new(),
            save: crate::persist::SaveState::new(now_ms() / 1000),
        };
        server.apply_config(&server.config.read());
        Ok(server)
    }

    /// Carries configuration values into the places that read them without the config lock:
    /// the hot-path atomics and the keyspace's encoding thresholds.
    pub fn apply_config(&self, config: &Config) {
        self.live.refresh(config);
        self.pubsub.apply_config(config);
        self.tracking.apply_config(config);
        self.aof.apply_config(config);
        for name in roost_store::EncodingLimits::DIRECTIVES {
            if let Some(v) = config.get_one(name).and_then(|v| v.parse().ok()) {
                self.keyspace.limits.set(name, v);
            }
        }
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn register(&self, handle: Arc<ClientHandle>) {
        self.clients.lock().insert(handle.id, handle);
    }

    pub fn unregister(&self, id: u64) {
        if self.clients.lock().remove(&id).is_some() {
            self.client_count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub fn client(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.clients.lock().get(&id).cloned()
    }

    pub fn total_commands(&self) -> u64 {
        self.workers.iter().map(|w| w.commands.iter().map(|c| c.calls.load(Ordering::Relaxed)).sum::<u64>()).sum()
    }

    /// Sum of a per-worker counter.
    pub fn sum(&self, f: impl Fn(&WorkerStats) -> u64) -> u64 {
        self.workers.iter().map(|w| f(w)).sum()
    }
}

/// A small, fast, non-cryptographic generator (xorshift64*), one per worker.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn seeded() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let addr = &t as *const u64 as u64;
        Rng::new(t ^ addr.rotate_left(32) ^ std::process::id() as u64)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

pub fn random_hex(len: usize) -> String {
    let mut rng = Rng::seeded();
    (0..len).map(|_| char::from_digit((rng.next_u64() % 16) as u32, 16).unwrap_or('0')).collect()
}

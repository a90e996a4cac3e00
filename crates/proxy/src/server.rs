//! The running proxy: listeners for every pool, worker threads (each a single-threaded runtime
//! with its own backend connections), the stats port, the pid file and signals. The main thread
//! runs the stats port, the health checks, Redis Cluster slot-map refreshes and configuration
//! reloads (`reload.rs`); the workers only serve clients.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use socket2::{Domain, SockAddr, Socket, Type};
use tokio::io::AsyncWriteExt;

use crate::client::{self, ClientOptions, WorkerPool};
use crate::config::{io_reason, Config, ListenAddr};
use crate::health;
use crate::log;
use crate::pool::PoolShared;
use crate::reload::Running;
use crate::stats;

/// How the proxy runs, beyond the configuration file.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    pub stats_addr: String,
    pub stats_port: u16,
    pub stats_interval_ms: u64,
    pub pid_file: Option<String>,
    /// The file SIGHUP re-reads; `None`: SIGHUP only reopens the log.
    pub conf_path: Option<String>,
    pub client: ClientOptions,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: 0,
            stats_addr: "0.0.0.0".into(),
            stats_port: 22222,
            stats_interval_ms: 30_000,
            pid_file: None,
            conf_path: None,
            client: ClientOptions::default(),
        }
    }
}

/// Connections accepted since start, and open now, over all pools (for the stats).
pub static TOTAL_CONNECTIONS: AtomicU64 = AtomicU64::new(0);
pub static CURR_CONNECTIONS: AtomicU64 = AtomicU64::new(0);

pub(crate) enum Listener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

pub(crate) fn bind(listen: &ListenAddr, backlog: u32) -> std::io::Result<Listener> {
    let backlog = backlog.min(i32::MAX as u32) as i32;
    match listen {
        ListenAddr::Tcp(addr) => {
            let s = Socket::new(Domain::for_address(*addr), Type::STREAM, None)?;
            s.set_reuse_address(true)?;
            s.bind(&(*addr).into())?;
            s.listen(backlog)?;
            s.set_nonblocking(true)?;
            Ok(Listener::Tcp(s.into()))
        }
        ListenAddr::Unix { path, perm } => {
            // A socket left by an earlier run would make bind fail; anything else at the path is
            // left alone (bind then reports it).
            use std::os::unix::fs::FileTypeExt;
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                let _ = std::fs::remove_file(path);
            }
            let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
            s.bind(&SockAddr::unix(path)?)?;
            s.listen(backlog)?;
            s.set_nonblocking(true)?;
            if let Some(mode) = perm {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))?;
            }
            Ok(Listener::Unix(s.into()))
        }
    }
}

impl Listener {
    pub(crate) fn try_clone(&self) -> std::io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }
}

/// What the main thread tells a worker; pools already served need no message, since a worker
/// sees their new configuration through the pool's generation counter.
pub(crate) enum WorkerMsg {
    /// Accept this pool's clients from this listener (replacing the one it had, if any).
    Listen(Arc<PoolShared>, Listener),
    /// The pool left the configuration: stop accepting. Its connected clients are served, with
    /// its last configuration, until they disconnect.
    Remove(Arc<PoolShared>),
}

/// Refuses what the proxy cannot serve although nutcracker's checks accept it.
pub(crate) fn check_supported(config: &Config) -> Result<(), String> {
    match config.pools.iter().find(|p| !p.redis) {
        Some(p) => Err(format!(
            "pool '{}' uses the memcache protocol (redis: false), which roost proxy does not speak; set redis: true",
            p.name
        )),
        None => Ok(()),
    }
}

/// Runs the proxy until SIGINT/SIGTERM; SIGHUP reloads the configuration file. Errors are
/// startup failures (bind, threads).
pub fn run(config: Config, opts: RunOptions) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let mut signals = {
        let _context = rt.enter();
        Signals::register()?
    };
    check_supported(&config)?;
    let pools: Vec<Arc<PoolShared>> = config.pools.iter().map(|p| Arc::new(PoolShared::new(p.clone()))).collect();
    let mut listeners = Vec::with_capacity(pools.len());
    for p in &config.pools {
        let l = bind(&p.listen, p.backlog)
            .map_err(|e| format!("failed to listen on '{}' of pool '{}': {}", p.listen_pname, p.name, io_reason(&e)))?;
        log::notice(format_args!(
            "pool '{}' listening on '{}' with {} servers",
            p.name,
            p.listen_pname,
            p.servers.len()
        ));
        listeners.push((p.listen.clone(), l));
    }
    let stats_listener = std::net::TcpListener::bind((opts.stats_addr.as_str(), opts.stats_port))
        .map_err(|e| format!("failed to listen on stats {}:{}: {}", opts.stats_addr, opts.stats_port, io_reason(&e)))?;
    stats_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    if let Some(path) = &opts.pid_file {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| format!("failed to write pid file '{path}': {}", io_reason(&e)))?;
    }

    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        opts.threads
    };
    let mut workers = Vec::with_capacity(threads);
    for t in 0..threads {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for (p, (_, l)) in pools.iter().zip(&listeners) {
            let l = l.try_clone().map_err(|e| e.to_string())?;
            let _ = tx.send(WorkerMsg::Listen(p.clone(), l));
        }
        let client_opts = opts.client.clone();
        // tokio's interval rejects a zero period.
        let hot_key_interval = std::time::Duration::from_millis(opts.stats_interval_ms.max(10));
        std::thread::Builder::new()
            .name(format!("proxy-worker-{t}"))
            .spawn(move || worker(t, rx, client_opts, hot_key_interval))
            .map_err(|e| format!("failed to start worker thread: {e}"))?;
        workers.push(tx);
    }
    log::notice(format_args!("proxy started with {threads} worker threads, pid {}", std::process::id()));

    let registry = Arc::new(RwLock::new(pools.clone()));
    let mut running = Running { conf_path: opts.conf_path.clone(), config, pools, registry, listeners, workers };
    let stats_opts = opts.clone();
    let result = rt.block_on(async move {
        let stats_listener = tokio::net::TcpListener::from_std(stats_listener).map_err(|e| e.to_string())?;
        tokio::spawn(serve_stats(stats_listener, running.registry.clone(), stats_opts));
        for p in &running.pools {
            tokio::spawn(health::run(p.clone()));
            tokio::spawn(crate::cluster::run(p.clone()));
        }
        while signals.next().await == Signal::Reload {
            log::reopen();
            running.reload();
        }
        log::notice(format_args!("signal received, exiting"));
        Ok::<(), String>(())
    });
    if let Some(path) = &opts.pid_file {
        let _ = std::fs::remove_file(path);
    }
    result
}

#[derive(Debug, PartialEq, Eq)]
enum Signal {
    Reload,
    Exit,
}

/// SIGTERM, SIGINT and SIGHUP, registered before anything is announced (listeners, pid file)
/// so that a signal sent right after start-up still goes through the orderly exit.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must run inside a runtime context.
    fn register() -> Result<Signals, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let reg = |k: SignalKind| signal(k).map_err(|e| format!("failed to install signal handler: {e}"));
        Ok(Signals {
            term: reg(SignalKind::terminate())?,
            int: reg(SignalKind::interrupt())?,
            hup: reg(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Exit,
            _ = self.int.recv() => Signal::Exit,
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}

/// How long the stats port waits for an HTTP request line before answering the nutcracker way
/// (JSON straight away to a client that sends nothing).
const STATS_REQUEST_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

async fn serve_stats(listener: tokio::net::TcpListener, registry: Arc<RwLock<Vec<Arc<PoolShared>>>>, opts: RunOptions) {
    let started = crate::pool::unix_secs();
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let pools = registry.read().unwrap_or_else(|p| p.into_inner()).clone();
                tokio::spawn(answer_stats(s, pools, started, opts.clone()));
            }
            Err(e) => {
                log::warn(format_args!("stats accept failed: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// nutcracker's JSON to a silent client; over HTTP, `GET /metrics` gets Prometheus text and any
/// other path the JSON.
async fn answer_stats(mut s: tokio::net::TcpStream, pools: Vec<Arc<PoolShared>>, started: u64, opts: RunOptions) {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 512];
    let n = match tokio::time::timeout(STATS_REQUEST_WAIT, s.read(&mut head)).await {
        Ok(Ok(n)) => n,
        _ => 0,
    };
    let request = &head[..n];
    let reply = if let Some(rest) = request.strip_prefix(b"GET ") {
        let path = rest.split(|&b| b == b' ' || b == b'\r' || b == b'\n').next().unwrap_or_default();
        let (body, kind) = if path == b"/metrics" {
            (stats::render_prometheus(&pools), "text/plain; version=0.0.4")
        } else if path == b"/hotkeys" {
            (stats::render_hot_keys(&pools), "application/json")
        } else {
            (stats::render(&pools, started, &opts), "application/json")
        };
        format!("HTTP/1.0 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n{body}", body.len())
    } else {
        stats::render(&pools, started, &opts)
    };
    let _ = s.write_all(reply.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// A pool a worker accepts clients for.
struct Served {
    wp: Rc<WorkerPool>,
    accept: Option<tokio::task::JoinHandle<()>>,
    hot_keys: tokio::task::JoinHandle<()>,
}

fn worker(
    id: usize,
    mut inbox: tokio::sync::mpsc::UnboundedReceiver<WorkerMsg>,
    options: ClientOptions,
    hot_key_interval: std::time::Duration,
) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            log::warn(format_args!("worker runtime failed to start: {e}"));
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let mut served: Vec<Served> = Vec::new();
        while let Some(msg) = inbox.recv().await {
            match msg {
                WorkerMsg::Listen(shared, listener) => {
                    let i = match served.iter().position(|s| Arc::ptr_eq(&s.wp.shared, &shared)) {
                        Some(i) => i,
                        None => {
                            let wp = Rc::new(WorkerPool::new(shared.clone(), options.clone()));
                            if wp.view().cfg.preconnect {
                                wp.preconnect();
                            }
                            let hot_keys = tokio::task::spawn_local(publish_hot_keys(id, wp.clone(), hot_key_interval));
                            served.push(Served { wp, accept: None, hot_keys });
                            served.len() - 1
                        }
                    };
                    if let Some(old) = served[i].accept.take() {
                        old.abort();
                    }
                    served[i].accept = accept(served[i].wp.clone(), listener);
                }
                WorkerMsg::Remove(shared) => served.retain(|s| {
                    if !Arc::ptr_eq(&s.wp.shared, &shared) {
                        return true;
                    }
                    // Aborting the accept loop drops this worker's copy of the listener.
                    if let Some(a) = &s.accept {
                        a.abort();
                    }
                    s.hot_keys.abort();
                    false
                }),
            }
        }
        // The main thread has gone: the process is exiting.
        std::future::pending::<()>().await;
    });
}

fn accept(wp: Rc<WorkerPool>, listener: Listener) -> Option<tokio::task::JoinHandle<()>> {
    let started = match listener {
        Listener::Tcp(l) => tokio::net::TcpListener::from_std(l).map(|l| tokio::task::spawn_local(accept_tcp(wp, l))),
        Listener::Unix(l) => {
            tokio::net::UnixListener::from_std(l).map(|l| tokio::task::spawn_local(accept_unix(wp, l)))
        }
    };
    started.map_err(|e| log::warn(format_args!("listener setup failed: {e}"))).ok()
}

/// Every stats interval, hands this worker's top keys to the pool and starts counting anew.
async fn publish_hot_keys(worker: usize, wp: Rc<WorkerPool>, every: std::time::Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        let top = wp.hot_keys.borrow_mut().take_top();
        wp.shared.publish_hot_keys(worker, top);
    }
}

/// Counts a new client against `client_connections`; false when the pool is full.
fn admit(wp: &WorkerPool) -> bool {
    let limit = wp.view().cfg.client_connections as usize;
    let now = wp.shared.clients.fetch_add(1, Relaxed) + 1;
    if limit > 0 && now > limit {
        wp.shared.clients.fetch_sub(1, Relaxed);
        return false;
    }
    TOTAL_CONNECTIONS.fetch_add(1, Relaxed);
    CURR_CONNECTIONS.fetch_add(1, Relaxed);
    wp.shared.stats.client_connections.fetch_add(1, Relaxed);
    true
}

fn release(wp: &WorkerPool) {
    wp.shared.clients.fetch_sub(1, Relaxed);
    CURR_CONNECTIONS.fetch_sub(1, Relaxed);
    wp.shared.stats.client_connections.fetch_sub(1, Relaxed);
}

const MAX_CLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

/// Serves one accepted client, or tells it the pool is full (client_connections).
async fn serve_admitted<R, W>(wp: Rc<WorkerPool>, rd: R, mut wr: W)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    if !admit(&wp) {
        let _ = wr.write_all(MAX_CLIENTS_REPLY).await;
        return;
    }
    client::serve(wp.clone(), rd, wr).await;
    release(&wp);
}

async fn accept_tcp(wp: Rc<WorkerPool>, listener: tokio::net::TcpListener) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                log::warn(format_args!("accept on pool '{}' failed: {e}", wp.shared.name));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if wp.view().cfg.tcpkeepalive {
            let _ = socket2::SockRef::from(&stream).set_keepalive(true);
        }
        let (rd, wr) = stream.into_split();
        tokio::task::spawn_local(serve_admitted(wp.clone(), rd, wr));
    }
}

async fn accept_unix(wp: Rc<WorkerPool>, listener: tokio::net::UnixListener) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                log::warn(format_args!("accept on pool '{}' failed: {e}", wp.shared.name));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let (rd, wr) = stream.into_split();
        tokio::task::spawn_local(serve_admitted(wp.clone(), rd, wr));
    }
}

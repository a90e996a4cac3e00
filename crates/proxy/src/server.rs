//! The running proxy: listeners for every pool, worker threads (each a single-threaded runtime
//! with its own backend connections), the stats port, the pid file and signals.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use socket2::{Domain, SockAddr, Socket, Type};
use tokio::io::AsyncWriteExt;

use crate::client::{self, ClientOptions, WorkerPool};
use crate::config::{io_reason, Config, ListenAddr};
use crate::log;
use crate::pool::PoolShared;
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
            client: ClientOptions::default(),
        }
    }
}

/// Connections accepted since start, and open now, over all pools (for the stats).
pub static TOTAL_CONNECTIONS: AtomicU64 = AtomicU64::new(0);
pub static CURR_CONNECTIONS: AtomicU64 = AtomicU64::new(0);

enum Listener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

fn bind(listen: &ListenAddr, backlog: u32) -> std::io::Result<Listener> {
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
    fn try_clone(&self) -> std::io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }
}

/// Runs the proxy until SIGINT/SIGTERM. Errors are startup failures (bind, threads).
pub fn run(config: Config, opts: RunOptions) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let signals = {
        let _context = rt.enter();
        Signals::register()?
    };
    if let Some(p) = config.pools.iter().find(|p| !p.redis) {
        return Err(format!(
            "pool '{}' uses the memcache protocol (redis: false), which roost proxy does not speak; set redis: true",
            p.name
        ));
    }
    let pools: Vec<Arc<PoolShared>> =
        config.pools.into_iter().enumerate().map(|(i, p)| Arc::new(PoolShared::new(i, p))).collect();
    let mut listeners = Vec::with_capacity(pools.len());
    for p in &pools {
        let l = bind(&p.cfg.listen, p.cfg.backlog).map_err(|e| {
            format!("failed to listen on '{}' of pool '{}': {}", p.cfg.listen_pname, p.cfg.name, io_reason(&e))
        })?;
        log::notice(format_args!(
            "pool '{}' listening on '{}' with {} servers",
            p.cfg.name,
            p.cfg.listen_pname,
            p.cfg.servers.len()
        ));
        listeners.push(l);
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
    for t in 0..threads {
        let mine: Vec<(Arc<PoolShared>, Listener)> = pools
            .iter()
            .zip(&listeners)
            .map(|(p, l)| l.try_clone().map(|l| (p.clone(), l)))
            .collect::<std::io::Result<_>>()
            .map_err(|e| e.to_string())?;
        let client_opts = opts.client.clone();
        // tokio's interval rejects a zero period.
        let hot_key_interval = std::time::Duration::from_millis(opts.stats_interval_ms.max(10));
        std::thread::Builder::new()
            .name(format!("proxy-worker-{t}"))
            .spawn(move || worker(t, mine, client_opts, hot_key_interval))
            .map_err(|e| format!("failed to start worker thread: {e}"))?;
    }
    log::notice(format_args!("proxy started with {threads} worker threads, pid {}", std::process::id()));

    let stats_opts = opts.clone();
    let result = rt.block_on(async move {
        let stats_listener = tokio::net::TcpListener::from_std(stats_listener).map_err(|e| e.to_string())?;
        tokio::spawn(serve_stats(stats_listener, pools, stats_opts));
        signals.wait_for_shutdown().await;
        Ok::<(), String>(())
    });
    if let Some(path) = &opts.pid_file {
        let _ = std::fs::remove_file(path);
    }
    result
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

    async fn wait_for_shutdown(mut self) {
        loop {
            tokio::select! {
                _ = self.term.recv() => break,
                _ = self.int.recv() => break,
                // nutcracker reopens its log on SIGHUP; appending to the same path needs no reopen.
                _ = self.hup.recv() => log::notice(format_args!("SIGHUP received")),
            }
        }
        log::notice(format_args!("signal received, exiting"));
    }
}

/// How long the stats port waits for an HTTP request line before answering the nutcracker way
/// (JSON straight away to a client that sends nothing).
const STATS_REQUEST_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

async fn serve_stats(listener: tokio::net::TcpListener, pools: Vec<Arc<PoolShared>>, opts: RunOptions) {
    let pools = Arc::new(pools);
    let started = crate::pool::unix_secs();
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                tokio::spawn(answer_stats(s, pools.clone(), started, opts.clone()));
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
async fn answer_stats(mut s: tokio::net::TcpStream, pools: Arc<Vec<Arc<PoolShared>>>, started: u64, opts: RunOptions) {
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

fn worker(
    id: usize,
    pools: Vec<(Arc<PoolShared>, Listener)>,
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
        for (shared, listener) in pools {
            let wp = Rc::new(WorkerPool::new(shared.clone(), options.clone()));
            if shared.cfg.preconnect {
                wp.preconnect();
            }
            tokio::task::spawn_local(publish_hot_keys(id, wp.clone(), hot_key_interval));
            match listener {
                Listener::Tcp(l) => match tokio::net::TcpListener::from_std(l) {
                    Ok(l) => {
                        tokio::task::spawn_local(accept_tcp(wp, l));
                    }
                    Err(e) => log::warn(format_args!("listener setup failed: {e}")),
                },
                Listener::Unix(l) => match tokio::net::UnixListener::from_std(l) {
                    Ok(l) => {
                        tokio::task::spawn_local(accept_unix(wp, l));
                    }
                    Err(e) => log::warn(format_args!("listener setup failed: {e}")),
                },
            }
        }
        std::future::pending::<()>().await;
    });
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
    let limit = wp.shared.cfg.client_connections as usize;
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
                log::warn(format_args!("accept on pool '{}' failed: {e}", wp.shared.cfg.name));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if wp.shared.cfg.tcpkeepalive {
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
                log::warn(format_args!("accept on pool '{}' failed: {e}", wp.shared.cfg.name));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let (rd, wr) = stream.into_split();
        tokio::task::spawn_local(serve_admitted(wp.clone(), rd, wr));
    }
}

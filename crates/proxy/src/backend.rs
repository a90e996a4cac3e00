//! One pipelined connection to a backend server, owned by one worker thread.
//!
//! Requests from every client of the worker are queued on it and written in batches; replies
//! come back in the same order and are handed to the waiting clients. The connection opens on
//! its first request (or at start with `preconnect`), sends `AUTH` and then `SELECT` (in that
//! order, unlike nutcracker, so `redis_db` works with `redis_auth`), and on any failure (refused
//! connect, EOF, reset, timeout, garbage) fails everything queued on it with nutcracker's error
//! and counts one failure for auto-ejection.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::config::{PoolConfig, ServerAddr};
use crate::log;
use crate::pool::{PoolShared, Server, ServerStats};
use crate::reply::{encode_command, reply_len, Malformed};

/// Bytes read from a backend per read call.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes gathered before writing, so a burst of small requests becomes one write.
const WRITE_HIGH_WATER: usize = 256 * 1024;

/// What a client gets back for one forwarded request.
#[derive(Debug)]
pub enum Reply {
    /// The backend's reply, as bytes.
    Data(Vec<u8>),
    /// The proxy's own failure reason, sent as `-ERR <reason>`.
    Failed(&'static str),
}

pub struct BackendRequest {
    pub data: Vec<u8>,
    pub reply: oneshot::Sender<Reply>,
    /// The pool's `timeout` when the request was routed, so a reloaded value applies to the next
    /// request even on a connection opened before the reload.
    pub timeout: Option<Duration>,
}

/// What a connection is set up with; a change to these needs new connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub connect_timeout: Option<Duration>,
    pub redis_auth: Option<String>,
    pub redis_db: u32,
}

impl Link {
    pub fn of(cfg: &PoolConfig) -> Link {
        Link { connect_timeout: cfg.timeout, redis_auth: cfg.redis_auth.clone(), redis_db: cfg.redis_db }
    }

    /// Whether connections opened for `self` still serve a pool configured as `other`.
    pub fn same_handshake(&self, other: &Link) -> bool {
        self.redis_auth == other.redis_auth && self.redis_db == other.redis_db
    }
}

/// A worker's handle on one backend connection task.
pub type BackendHandle = mpsc::UnboundedSender<BackendRequest>;

/// nutcracker's strerror texts for the failures a client can see.
pub mod reason {
    pub const REFUSED: &str = "Connection refused";
    pub const TIMED_OUT: &str = "Connection timed out";
    pub const RESET: &str = "Connection reset by peer";
    pub const INVALID: &str = "Invalid argument";
    pub const HOST_DOWN: &str = "Host is down";
}

fn reason_of(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound => reason::REFUSED,
        io::ErrorKind::TimedOut => reason::TIMED_OUT,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => reason::RESET,
        _ => reason::INVALID,
    }
}

pub type Reader = Box<dyn AsyncRead + Unpin + Send>;
pub type Writer = Box<dyn AsyncWrite + Unpin + Send>;

pub async fn connect(addr: &ServerAddr) -> Result<(Reader, Writer), &'static str> {
    match addr {
        ServerAddr::Tcp { host, port } => {
            let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host.as_str(), *port)).await {
                Ok(a) => a.collect(),
                Err(_) => return Err(reason::HOST_DOWN),
            };
            let mut last = reason::HOST_DOWN;
            for a in addrs {
                match tokio::net::TcpStream::connect(a).await {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        let (r, w) = s.into_split();
                        return Ok((Box::new(r), Box::new(w)));
                    }
                    Err(e) => last = reason_of(&e),
                }
            }
            Err(last)
        }
        ServerAddr::Unix { path } => match tokio::net::UnixStream::connect(path).await {
            Ok(s) => {
                let (r, w) = s.into_split();
                Ok((Box::new(r), Box::new(w)))
            }
            Err(e) => Err(reason_of(&e)),
        },
    }
}

/// A request written (or to be written) and not yet answered.
struct InFlight {
    /// `None` for the proxy's own AUTH/SELECT, whose replies are dropped.
    reply: Option<oneshot::Sender<Reply>>,
    deadline: Option<Instant>,
    queued_at: Instant,
}

/// Starts a connection task for `server` and returns its handle. Must run inside a LocalSet.
pub fn spawn(pool: Arc<PoolShared>, server: Arc<Server>, link: Link) -> BackendHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::task::spawn_local(run(pool, server, link, rx));
    tx
}

fn fail_all(inflight: &mut VecDeque<InFlight>, rx: &mut mpsc::UnboundedReceiver<BackendRequest>, why: &'static str) {
    for f in inflight.drain(..) {
        if let Some(tx) = f.reply {
            let _ = tx.send(Reply::Failed(why));
        }
    }
    // Everything already queued fails too; the receiver is dropped right after, so later sends
    // fail and the worker opens a new connection.
    rx.close();
    while let Ok(req) = rx.try_recv() {
        let _ = req.reply.send(Reply::Failed(why));
    }
}

async fn run(pool: Arc<PoolShared>, state: Arc<Server>, link: Link, mut rx: mpsc::UnboundedReceiver<BackendRequest>) {
    let server = &state.cfg;
    let stats = &state.stats;
    let connected = match link.connect_timeout {
        Some(t) => tokio::time::timeout(t, connect(&server.addr)).await.unwrap_or(Err(reason::TIMED_OUT)),
        None => connect(&server.addr).await,
    };
    let (mut rd, mut wr) = match connected {
        Ok(c) => c,
        Err(why) => {
            log::warn(format_args!("connect to server '{}' ({}) failed: {why}", server.name, server.addr));
            stats.server_err.fetch_add(1, Relaxed);
            if pool.server_failure(&state, None) {
                log::warn(format_args!("server '{}' ejected from pool '{}'", server.name, pool.name));
            }
            fail_all(&mut VecDeque::new(), &mut rx, why);
            return;
        }
    };
    let epoch = state.epoch.load(Relaxed);
    stats.server_connections.fetch_add(1, Relaxed);

    let mut wbuf: Vec<u8> = Vec::new();
    let mut inflight: VecDeque<InFlight> = VecDeque::new();
    if let Some(pw) = &link.redis_auth {
        encode_command(&mut wbuf, [&b"AUTH"[..], pw.as_bytes()].into_iter());
        inflight.push_back(InFlight { reply: None, deadline: None, queued_at: Instant::now() });
    }
    if link.redis_db != 0 {
        encode_command(&mut wbuf, [&b"SELECT"[..], link.redis_db.to_string().as_bytes()].into_iter());
        inflight.push_back(InFlight { reply: None, deadline: None, queued_at: Instant::now() });
    }
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut written = 0usize;
    let mut open = true;

    let outcome: Option<&'static str> = loop {
        // The oldest request's deadline: replies come in order, so it is the one that can be
        // late first (after a reload changes `timeout`, a younger request may wait up to the
        // older deadline).
        let deadline = inflight.iter().find_map(|f| f.deadline);
        let want_write = written < wbuf.len();
        let can_take = open && wbuf.len() < WRITE_HIGH_WATER;
        if !open && inflight.is_empty() && !want_write {
            break None;
        }
        tokio::select! {
            biased;
            r = rd.read_buf(&mut rbuf) => match r {
                Ok(0) => {
                    stats.server_eof.fetch_add(1, Relaxed);
                    break Some(reason::RESET);
                }
                Ok(_) => {
                    match deliver(&state, &mut rbuf, &mut inflight) {
                        Ok(()) => {}
                        Err(Malformed) => {
                            stats.server_err.fetch_add(1, Relaxed);
                            break Some(reason::INVALID);
                        }
                    }
                    if rbuf.capacity() - rbuf.len() < 4096 {
                        rbuf.reserve(READ_CHUNK);
                    }
                }
                Err(e) => {
                    stats.server_err.fetch_add(1, Relaxed);
                    break Some(reason_of(&e));
                }
            },
            w = wr.write(&wbuf[written..]), if want_write => match w {
                Ok(0) => break Some(reason::RESET),
                Ok(n) => {
                    written += n;
                    if written == wbuf.len() {
                        wbuf.clear();
                        written = 0;
                    }
                }
                Err(e) => {
                    stats.server_err.fetch_add(1, Relaxed);
                    break Some(reason_of(&e));
                }
            },
            m = rx.recv(), if can_take => match m {
                Some(req) => {
                    let now = Instant::now();
                    queue(&mut wbuf, &mut inflight, req, now, stats);
                    // Gather what else is already waiting into the same write.
                    while wbuf.len() < WRITE_HIGH_WATER {
                        match rx.try_recv() {
                            Ok(req) => queue(&mut wbuf, &mut inflight, req, now, stats),
                            Err(_) => break,
                        }
                    }
                }
                None => open = false,
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                stats.server_timedout.fetch_add(1, Relaxed);
                break Some(reason::TIMED_OUT);
            }
        }
    };
    stats.server_connections.fetch_sub(1, Relaxed);
    // None: the worker dropped its handle and everything was answered.
    let Some(outcome) = outcome else { return };
    log::info(format_args!("closing connection to server '{}': {outcome}", server.name));
    let pending = inflight.iter().filter(|f| f.reply.is_some()).count() as i64;
    stats.out_queue.fetch_sub(pending, Relaxed);
    if pool.server_failure(&state, Some(epoch)) {
        log::warn(format_args!("server '{}' ejected from pool '{}'", server.name, pool.name));
    }
    fail_all(&mut inflight, &mut rx, outcome);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn queue(
    wbuf: &mut Vec<u8>,
    inflight: &mut VecDeque<InFlight>,
    req: BackendRequest,
    queued_at: Instant,
    stats: &ServerStats,
) {
    let deadline = req.timeout.map(|t| queued_at + t);
    stats.requests.fetch_add(1, Relaxed);
    stats.request_bytes.fetch_add(req.data.len() as u64, Relaxed);
    stats.out_queue.fetch_add(1, Relaxed);
    wbuf.extend_from_slice(&req.data);
    inflight.push_back(InFlight { reply: Some(req.reply), deadline, queued_at });
}

/// Hands every complete reply in `rbuf` to its request, in order.
fn deliver(server: &Server, rbuf: &mut Vec<u8>, inflight: &mut VecDeque<InFlight>) -> Result<(), Malformed> {
    let stats = &server.stats;
    let now = Instant::now();
    let mut pos = 0;
    let mut got_any = false;
    while let Some(len) = reply_len(&rbuf[pos..])? {
        // A reply nobody asked for means the stream is out of step.
        let f = inflight.pop_front().ok_or(Malformed)?;
        got_any = true;
        if let Some(tx) = f.reply {
            stats.responses.fetch_add(1, Relaxed);
            stats.response_bytes.fetch_add(len as u64, Relaxed);
            stats.out_queue.fetch_sub(1, Relaxed);
            stats.latency.observe(now.saturating_duration_since(f.queued_at).as_micros() as u64);
            let _ = tx.send(Reply::Data(rbuf[pos..pos + len].to_vec()));
        }
        pos += len;
    }
    if got_any {
        server.replied();
    }
    rbuf.drain(..pos);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_nutcracker_texts() {
        use crate::config::io_reason;
        assert_eq!(reason_of(&io::Error::from(io::ErrorKind::ConnectionRefused)), "Connection refused");
        assert_eq!(reason_of(&io::Error::from(io::ErrorKind::ConnectionReset)), "Connection reset by peer");
        assert_eq!(reason_of(&io::Error::from(io::ErrorKind::TimedOut)), "Connection timed out");
        assert_eq!(io_reason(&io::Error::from_raw_os_error(111)), "Connection refused");
    }
}

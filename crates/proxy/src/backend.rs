//! One pipelined connection to a backend server, owned by one worker thread.
//!
//! Every client of the worker appends its encoded requests straight to the connection's output
//! buffer, each with a ticket that says where its reply goes (`replies.rs`): no allocation,
//! channel or task switch per request. The connection task writes whatever gathered in one
//! write, frames the replies as they come back in the same order and copies each into its
//! client's reply queue; a client is woken once per batch, not once per reply. The connection
//! opens on its first request (or at start with `preconnect`), sends `AUTH` and then `SELECT`
//! (in that order, unlike nutcracker, so `redis_db` works with `redis_auth`), and on any
//! failure (refused connect, EOF, reset, timeout, garbage) fails everything queued on it with
//! nutcracker's error and counts one failure for auto-ejection.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::config::{PoolConfig, ServerAddr};
use crate::log;
use crate::pool::{LatencyBatch, PoolShared, Server, ServerStats};
use crate::replies::Ticket;
use crate::reply::{encode_command, reply_len, Malformed};

/// Bytes read from a backend per read call.
const READ_CHUNK: usize = 64 * 1024;
/// Scheduler rounds a connection lets pass, while clients keep adding requests, before it
/// writes them. Each write costs the backend a wake-up, a read and a reply write of its own, so
/// a request that comes one round later is cheaper in the same write; a round is one pass over
/// the worker's ready sockets, microseconds, and the wait ends at the first round that adds
/// nothing.
const GATHER_ROUNDS: usize = 4;

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

/// A request queued or written and not yet answered.
struct InFlight {
    /// Where the reply goes; `None` for a reply nobody reads (the handshake, `ASKING`).
    to: Option<Ticket>,
    /// In the server's request counters: everything but the handshake.
    counted: bool,
    deadline: Option<Instant>,
    queued_at: Instant,
}

/// What the worker's clients and the connection task share (one thread, so a `RefCell`).
#[derive(Default)]
struct Queue {
    /// Requests the task has not taken yet; their `InFlight`s are the last ones of `inflight`.
    wbuf: Vec<u8>,
    inflight: VecDeque<InFlight>,
    /// Requests in `wbuf` and their bytes, added to the server's counters when the task takes
    /// them, so that a batch costs one atomic add per counter.
    queued: u64,
    queued_bytes: u64,
    /// The connection failed: sending is refused, and the worker opens a new one.
    closed: bool,
    /// The worker dropped its handle (a reload): answer what is queued, then close.
    retired: bool,
    /// The connection task, parked until a request comes.
    task: Option<Waker>,
}

#[derive(Default)]
struct Conn(RefCell<Queue>);

/// A worker's handle on one backend connection. Dropping it lets the connection close once
/// everything queued on it is answered.
pub struct BackendHandle(Rc<Conn>);

impl Drop for BackendHandle {
    fn drop(&mut self) {
        let mut q = self.0 .0.borrow_mut();
        q.retired = true;
        if let Some(w) = q.task.take() {
            w.wake();
        }
    }
}

impl BackendHandle {
    pub fn is_closed(&self) -> bool {
        self.0 .0.borrow().closed
    }

    /// Queues a request whose bytes `encode` appends. A closed connection gives the ticket back.
    /// `timeout` is the pool's when the request was routed, so a reloaded value applies to the
    /// next request even on a connection opened before the reload.
    pub fn send(
        &self,
        encode: impl FnOnce(&mut Vec<u8>),
        to: Option<Ticket>,
        timeout: Option<Duration>,
        now: Instant,
    ) -> Result<(), Option<Ticket>> {
        let mut q = self.0 .0.borrow_mut();
        if q.closed {
            return Err(to);
        }
        let before = q.wbuf.len();
        encode(&mut q.wbuf);
        q.queued += 1;
        q.queued_bytes += (q.wbuf.len() - before) as u64;
        q.inflight.push_back(InFlight { to, counted: true, deadline: timeout.map(|t| now + t), queued_at: now });
        if let Some(w) = q.task.take() {
            w.wake();
        }
        Ok(())
    }
}

impl Conn {
    /// Puts `AUTH` and `SELECT` before everything queued while connecting.
    fn handshake(&self, link: &Link) {
        let mut first = Vec::new();
        let mut n = 0;
        if let Some(pw) = &link.redis_auth {
            encode_command(&mut first, [&b"AUTH"[..], pw.as_bytes()].into_iter());
            n += 1;
        }
        if link.redis_db != 0 {
            encode_command(&mut first, [&b"SELECT"[..], link.redis_db.to_string().as_bytes()].into_iter());
            n += 1;
        }
        let mut q = self.0.borrow_mut();
        first.extend_from_slice(&q.wbuf);
        q.wbuf = first;
        let now = Instant::now();
        for _ in 0..n {
            q.inflight.push_front(InFlight { to: None, counted: false, deadline: None, queued_at: now });
        }
    }

    /// Swaps what clients queued into `out` (empty) and counts it.
    fn take(&self, out: &mut Vec<u8>, stats: &ServerStats) {
        let mut q = self.0.borrow_mut();
        if q.wbuf.is_empty() {
            return;
        }
        std::mem::swap(out, &mut q.wbuf);
        stats.requests.fetch_add(q.queued, Relaxed);
        stats.request_bytes.fetch_add(q.queued_bytes, Relaxed);
        stats.out_queue.fetch_add(q.queued as i64, Relaxed);
        q.queued = 0;
        q.queued_bytes = 0;
    }

    /// Waits up to `GATHER_ROUNDS` scheduler rounds while each adds requests.
    async fn gather(&self) {
        for _ in 0..GATHER_ROUNDS {
            let before = self.0.borrow().wbuf.len();
            tokio::task::yield_now().await;
            if self.0.borrow().wbuf.len() == before {
                break;
            }
        }
    }

    /// Ready when there is something to take, or when a retired connection has nothing left.
    fn poll_requests(&self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let mut q = self.0.borrow_mut();
        if !q.wbuf.is_empty() || (q.retired && q.inflight.is_empty()) {
            return Poll::Ready(());
        }
        if !q.task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            q.task = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Refuses further requests and fails everything queued.
    fn fail(&self, stats: &ServerStats, why: &'static str) {
        let (inflight, untaken) = {
            let mut q = self.0.borrow_mut();
            q.closed = true;
            q.wbuf = Vec::new();
            let untaken = std::mem::take(&mut q.queued);
            q.queued_bytes = 0;
            (std::mem::take(&mut q.inflight), untaken)
        };
        let taken = inflight.iter().filter(|f| f.counted).count() as i64 - untaken as i64;
        stats.out_queue.fetch_sub(taken, Relaxed);
        for f in inflight {
            if let Some(t) = f.to {
                t.fail(why);
            }
        }
    }
}

/// Starts a connection task for `server` and returns its handle. Must run inside a LocalSet.
pub fn spawn(pool: Arc<PoolShared>, server: Arc<Server>, link: Link) -> BackendHandle {
    let conn = Rc::new(Conn::default());
    tokio::task::spawn_local(run(pool, server, link, conn.clone()));
    BackendHandle(conn)
}

async fn run(pool: Arc<PoolShared>, state: Arc<Server>, link: Link, conn: Rc<Conn>) {
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
            conn.fail(stats, why);
            return;
        }
    };
    let epoch = state.epoch.load(Relaxed);
    stats.server_connections.fetch_add(1, Relaxed);
    conn.handshake(&link);

    // Clients append to the shared buffer while this one is being written.
    let mut out: Vec<u8> = Vec::new();
    let mut written = 0usize;
    let mut rbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    // One timer for the connection, moved as the oldest request changes: moving a timer later
    // is cheap, making a new one per wake-up is not.
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;

    let outcome: Option<&'static str> = loop {
        if written == out.len() {
            out.clear();
            written = 0;
            conn.take(&mut out, stats);
        }
        // The oldest request's deadline: replies come in order, so it is the one that can be
        // late first (after a reload changes `timeout`, a younger request may wait up to the
        // older deadline).
        let deadline = {
            let q = conn.0.borrow();
            if q.retired && q.inflight.is_empty() {
                break None;
            }
            q.inflight.iter().find_map(|f| f.deadline)
        };
        if deadline != armed {
            if let Some(d) = deadline {
                timer.as_mut().reset(d);
            }
            armed = deadline;
        }
        let idle = written == out.len();
        tokio::select! {
            biased;
            r = rd.read_buf(&mut rbuf) => match r {
                Ok(0) => {
                    stats.server_eof.fetch_add(1, Relaxed);
                    break Some(reason::RESET);
                }
                Ok(_) => {
                    if deliver(&state, &conn, &mut rbuf).is_err() {
                        stats.server_err.fetch_add(1, Relaxed);
                        break Some(reason::INVALID);
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
            w = wr.write(&out[written..]), if !idle => match w {
                Ok(0) => break Some(reason::RESET),
                Ok(n) => written += n,
                Err(e) => {
                    stats.server_err.fetch_add(1, Relaxed);
                    break Some(reason_of(&e));
                }
            },
            () = poll_fn(|cx| conn.poll_requests(cx)), if idle => conn.gather().await,
            () = &mut timer, if deadline.is_some() => {
                stats.server_timedout.fetch_add(1, Relaxed);
                break Some(reason::TIMED_OUT);
            }
        }
    };
    stats.server_connections.fetch_sub(1, Relaxed);
    // None: the worker dropped its handle and everything was answered.
    let Some(outcome) = outcome else { return };
    log::info(format_args!("closing connection to server '{}': {outcome}", server.name));
    if pool.server_failure(&state, Some(epoch)) {
        log::warn(format_args!("server '{}' ejected from pool '{}'", server.name, pool.name));
    }
    conn.fail(stats, outcome);
}

/// Hands every complete reply in `rbuf` to its request, in order, and counts them as a batch.
fn deliver(server: &Server, conn: &Conn, rbuf: &mut Vec<u8>) -> Result<(), Malformed> {
    let now = Instant::now();
    let mut pos = 0;
    let mut replies = 0u64;
    let mut bytes = 0u64;
    let mut latency = LatencyBatch::default();
    let mut q = conn.0.borrow_mut();
    let framed = loop {
        let len = match reply_len(&rbuf[pos..]) {
            Ok(Some(len)) => len,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        // A reply nobody asked for means the stream is out of step.
        let Some(f) = q.inflight.pop_front() else { break Err(Malformed) };
        if f.counted {
            replies += 1;
            bytes += len as u64;
            latency.observe(now.saturating_duration_since(f.queued_at).as_micros() as u64);
        }
        if let Some(t) = f.to {
            t.deliver(&rbuf[pos..pos + len]);
        }
        pos += len;
    };
    drop(q);
    if pos > 0 {
        let stats = &server.stats;
        stats.responses.fetch_add(replies, Relaxed);
        stats.response_bytes.fetch_add(bytes, Relaxed);
        stats.out_queue.fetch_sub(replies as i64, Relaxed);
        stats.latency.add(&latency);
        server.replied();
    }
    rbuf.drain(..pos);
    framed
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

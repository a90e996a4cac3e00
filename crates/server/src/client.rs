//! Clients: the per-connection state a command sees, and the shared handle other threads use to
//! list, describe, pause or kill a connection (CLIENT LIST / KILL).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

use roost_store::now_secs;

/// What other threads may read or change of a connection.
pub struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i32,
    pub created: Instant,
    pub meta: Mutex<ClientMeta>,
    /// Unix seconds of the last read from the client (CLIENT LIST's idle).
    pub last_interaction_secs: AtomicU64,
    /// Statistics slot of the last command run (CLIENT LIST's `cmd=`).
    pub last_cmd: AtomicUsize,
    pub query_buf: AtomicUsize,
    pub query_buf_free: AtomicUsize,
    pub output_len: AtomicUsize,
    pub killed: AtomicBool,
    pub kill_signal: Notify,
    /// Messages other clients send this one (pub/sub, invalidations), written out by its own
    /// connection between replies, never inside one.
    /// The client's WATCH mark while it watches keys (CLIENT LIST's `d` flag when raised).
    pub watch_touched: Mutex<Option<std::sync::Arc<AtomicBool>>>,
    /// Waiting in a blocking command (CLIENT LIST's `b` flag).
    pub blocked: AtomicBool,
    /// Commands queued since MULTI, -1 outside a transaction (CLIENT LIST's `multi=`).
    pub multi_queued: std::sync::atomic::AtomicI64,
    pub outbox: Mutex<Vec<u8>>,
    pub outbox_signal: Notify,
    /// The protocol the client speaks now (3 after HELLO 3), for whoever formats messages to it.
    pub resp3: AtomicBool,
    /// Channels + patterns + shard channels subscribed to (mirrors `ClientState::subscriptions`
    /// for other threads: tracking redirection needs to know whether a client is subscribed).
    pub subscriptions: AtomicUsize,
    /// Its CLIENT TRACKING mode, for the writers that send it invalidations.
    pub tracking: crate::tracking::Shared,
}

#[derive(Clone, Default)]
pub struct ClientMeta {
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub db: usize,
    pub resp: u8,
    pub no_evict: bool,
    pub user: &'static str,
}

impl ClientHandle {
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i32) -> ClientHandle {
        ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            meta: Mutex::new(ClientMeta { resp: 2, user: "default", ..Default::default() }),
            last_interaction_secs: AtomicU64::new(now_secs() as u64),
            last_cmd: AtomicUsize::new(usize::MAX),
            query_buf: AtomicUsize::new(0),
            query_buf_free: AtomicUsize::new(0),
            output_len: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            kill_signal: Notify::new(),
            watch_touched: Mutex::new(None),
            blocked: AtomicBool::new(false),
            multi_queued: std::sync::atomic::AtomicI64::new(-1),
            outbox: Mutex::new(Vec::new()),
            outbox_signal: Notify::new(),
            resp3: AtomicBool::new(false),
            subscriptions: AtomicUsize::new(0),
            tracking: Default::default(),
        }
    }

    /// Queues `bytes` (whole RESP messages) for this client; returns the bytes now waiting, so
    /// the sender can enforce output buffer limits.
    pub fn push_out(&self, bytes: &[u8]) -> usize {
        let mut outbox = self.outbox.lock();
        let was_empty = outbox.is_empty();
        outbox.extend_from_slice(bytes);
        let waiting = outbox.len();
        drop(outbox);
        if was_empty {
            self.outbox_signal.notify_one();
        }
        waiting
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill_signal.notify_one();
    }

    pub fn idle_secs(&self) -> u64 {
        (now_secs() as u64).saturating_sub(self.last_interaction_secs.load(Ordering::Relaxed))
    }
}

/// CLIENT REPLY modes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command.
    SkipNext,
    /// The command being run is the skipped one (CLIENT REPLY ON during it still answers).
    Skip,
}

/// State owned by the connection's task; commands change it through `Ctx`.
pub struct ClientState {
    pub db: usize,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    /// Close the connection once the pending replies are written (QUIT, protocol errors, KILL).
    pub close_after_reply: bool,
    /// Set by a blocking command that found nothing: the connection waits, then runs it again.
    pub block: Option<crate::blocking::BlockRequest>,
    /// Set by MIGRATE once its keys are serialised: the connection sends them, then finishes
    /// the command (see `commands::migrate`).
    pub migrate: Option<Box<crate::commands::migrate::Job>>,
    /// The command runs again because a key it waits on was written: keys of another type
    /// then mean "not ready" rather than WRONGTYPE, as Redis serves blocked clients.
    pub block_retry: bool,
    /// The IDs a blocked XREAD waits after, `$` resolved when it first ran.
    pub block_stream_ids: Vec<roost_store::stream::StreamId>,
    /// Commands queued since MULTI; None outside a transaction.
    pub multi: Option<Box<crate::commands::transaction::Queued>>,
    /// Channels, patterns and shard channels subscribed to: in RESP2 a subscribed client may
    /// only (un)subscribe, PING, QUIT and RESET, and no client is closed for idling while
    /// subscribed.
    pub subscriptions: usize,
    pub watching: Option<Box<crate::watch::Watching>>,
    pub tracking: crate::tracking::Local,
}

impl ClientState {
    pub fn new(authenticated: bool) -> ClientState {
        ClientState {
            db: 0,
            authenticated,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            block: None,
            migrate: None,
            block_retry: false,
            block_stream_ids: Vec::new(),
            multi: None,
            subscriptions: 0,
            watching: None,
            tracking: Default::default(),
        }
    }
}

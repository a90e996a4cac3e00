//! One client connection: requests parsed with the protocol crate's parser, routed by key to
//! the worker's backend connections, split and merged where needed, and answered strictly in
//! request order.
//!
//! A reader half parses, takes the request's place in the client's reply queue (`replies.rs`)
//! and appends the request to its backend connection's buffer; the backend copies the reply
//! into that place. A writer half writes whatever the queue has ready in one batch. The queue
//! is the client's backpressure: a client that pipelines faster than backends answer, or reads
//! its replies slower, stops being read.
//!
//! In a Redis Cluster pool a request goes to its slot's node, and a request keeps its bytes so
//! that the writer can send it again where a `-MOVED`/`-ASK` points; the client only sees the
//! final reply, still in request order.

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use roost_resp::{parse_i64, Args, Limits, RequestParser};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::backend::{self, reason, BackendHandle, Link};
use crate::cluster::{key_slot, parse_redirect, RedirectKind, CROSSSLOT};
use crate::command::{other_keys, route_of, LocalCommand, Route, SplitKind, KEYLESS_ROUTING_KEY};
use crate::config::ServerAddr;
use crate::hotkeys::HotKeyCounter;
use crate::pool::{PoolShared, PoolView};
use crate::replies::{Merge, Redirected, Replies, Resend, Step, Ticket};
use crate::reply::{encode_command, push_bulk, push_err};

/// A write buffer that grew past this for a big reply is let go once written.
const WRITE_BUFFER_KEEP: usize = 1024 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// Options that change client-visible behaviour.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// nutcracker's behaviour for unsupported commands: close the connection without a reply.
    pub close_on_unsupported: bool,
}

/// A pool's view as a worker caches it: `Rc` so that handing it to each request costs no atomic
/// operation on a cache line every worker shares.
pub type ViewRef = Rc<Arc<PoolView>>;

/// A pool as one worker thread sees it: the shared state plus this worker's backend connections.
pub struct WorkerPool {
    pub shared: Arc<PoolShared>,
    /// The view this worker routes with and the pool generation it was read at.
    view: RefCell<(u64, ViewRef)>,
    /// Per server of the cached view, by index: this worker's connections (up to
    /// `server_connections`), opened on demand.
    conns: RefCell<Vec<Vec<Option<BackendHandle>>>>,
    /// Hands each new client its connection slot.
    next_client: std::cell::Cell<usize>,
    /// A sample of the keys this worker routed in the current stats interval.
    pub hot_keys: RefCell<HotKeyCounter>,
    pub options: ClientOptions,
}

impl WorkerPool {
    pub fn new(shared: Arc<PoolShared>, options: ClientOptions) -> WorkerPool {
        let view = shared.view();
        let n = view.servers.len();
        WorkerPool {
            view: RefCell::new((shared.generation(), Rc::new(view))),
            shared,
            conns: RefCell::new((0..n).map(|_| Vec::new()).collect()),
            next_client: std::cell::Cell::new(0),
            hot_keys: RefCell::new(HotKeyCounter::default()),
            options,
        }
    }

    /// Opens one connection to every server (`preconnect`); failures are only counted and logged.
    pub fn preconnect(&self) {
        let view = self.view();
        let mut conns = self.conns.borrow_mut();
        for (c, server) in conns.iter_mut().zip(view.servers.iter()) {
            if c.is_empty() {
                c.push(Some(backend::spawn(self.shared.clone(), server.clone(), Link::of(&view.cfg))));
            }
        }
    }

    /// The pool's current view. Costs two atomic loads unless an ejection, re-admission or
    /// reload published a new one since the last call.
    pub fn view(&self) -> ViewRef {
        self.shared.maybe_rebuild();
        let gen = self.shared.generation();
        let mut cached = self.view.borrow_mut();
        if cached.0 != gen {
            let new = self.shared.view();
            // Ejection and re-admission keep both; only a reload replaces them.
            if !Arc::ptr_eq(&new.servers, &cached.1.servers) || !Arc::ptr_eq(&new.cfg, &cached.1.cfg) {
                self.remap(&cached.1, &new);
            }
            *cached = (gen, Rc::new(new));
        }
        cached.1.clone()
    }

    /// Carries this worker's connections over to a reloaded server list: kept servers keep
    /// theirs, the rest are dropped (each closes once its queued requests are answered). A new
    /// password or database needs new connections for every server.
    fn remap(&self, old: &PoolView, new: &PoolView) {
        let mut conns = self.conns.borrow_mut();
        let mut old_conns = std::mem::take(&mut *conns);
        let same_handshake = Link::of(&old.cfg).same_handshake(&Link::of(&new.cfg));
        let per_server = new.cfg.server_connections.max(1) as usize;
        *conns = new
            .servers
            .iter()
            .map(|s| match old.servers.iter().position(|o| Arc::ptr_eq(o, s)) {
                Some(i) if same_handshake => {
                    let mut list = old_conns.get_mut(i).map(std::mem::take).unwrap_or_default();
                    list.truncate(per_server);
                    list
                }
                _ => Vec::new(),
            })
            .collect();
    }

    /// A slot for a new client: its requests to a server always take the same connection, so
    /// they run on the server in the order the client sent them (nutcracker spreads one
    /// client's pipeline over its connections and loses that order).
    pub fn client_slot(&self) -> usize {
        let slot = self.next_client.get();
        self.next_client.set(slot.wrapping_add(1));
        slot
    }

    /// Queues a request, whose bytes `encode` appends, on the client's connection to server
    /// `idx` of `view`; its reply goes to `to`.
    fn forward(
        &self,
        view: &PoolView,
        idx: usize,
        slot: usize,
        now: Instant,
        to: Option<Ticket>,
        encode: impl FnOnce(&mut Vec<u8>),
    ) {
        let spawn = || backend::spawn(self.shared.clone(), view.servers[idx].clone(), Link::of(&view.cfg));
        let timeout = view.cfg.timeout;
        let mut conns = self.conns.borrow_mut();
        // The view always comes from `view()` in the same synchronous step, so the lists match
        // it; a mismatch would only cost an uncached connection, never a wrong server.
        let cached = conns.len() == view.servers.len();
        let sent = match conns.get_mut(idx) {
            Some(list) if cached => {
                let i = slot % view.cfg.server_connections.max(1) as usize;
                if list.len() <= i {
                    list.resize_with(i + 1, || None);
                }
                // A connection that failed is replaced.
                let conn = match &mut list[i] {
                    Some(h) if !h.is_closed() => h,
                    other => other.insert(spawn()),
                };
                conn.send(encode, to, timeout, now)
            }
            _ => spawn().send(encode, to, timeout, now),
        };
        // Only a failed connection refuses, and the one picked is open: this never loses a
        // request should that change.
        if let Err(Some(t)) = sent {
            t.fail(reason::REFUSED);
        }
    }

    /// The current view and the index of the cluster node at `host:port` in it, adding the
    /// node to the pool when a redirection names one the slot map did not list yet. `None`
    /// when the pool is no longer a cluster pool.
    fn cluster_node(&self, host: &str, port: u16) -> Option<(ViewRef, usize)> {
        let view = self.view();
        if let Some(i) = view.node_index(host, port) {
            return Some((view, i));
        }
        view.slots.as_ref()?;
        self.shared.add_node(host, port);
        let view = self.view();
        view.node_index(host, port).map(|i| (view, i))
    }
}

fn error_reply(msg: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(msg.len() + 3);
    v.push(b'-');
    v.extend_from_slice(msg.as_bytes());
    v.extend_from_slice(b"\r\n");
    v
}

fn proxy_failure(reason: &str) -> Vec<u8> {
    let mut v = Vec::new();
    push_err(&mut v, reason);
    v
}

fn wrong_arity(name: &[u8]) -> Vec<u8> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    error_reply(&format!("ERR wrong number of arguments for '{name}' command"))
}

/// Per-connection state the reader keeps.
struct Session {
    authenticated: bool,
    /// Which of each server's connections this client uses.
    slot: usize,
    replies: Rc<Replies>,
    /// When the requests being dispatched were read: their timeouts run from here.
    now: Instant,
}

impl Session {
    /// Answers the request with the proxy's own failure, counted as a forwarding error.
    fn refuse(&self, wp: &WorkerPool) {
        wp.shared.stats.forward_error.fetch_add(1, Relaxed);
        self.replies.ready(&proxy_failure(reason::REFUSED));
    }
}

/// Handles one request; false when the connection is to close after it.
fn dispatch(wp: &WorkerPool, session: &mut Session, args: &Args) -> bool {
    let name = args.get(0);
    let route = route_of(name);
    let view = wp.view();
    let cfg = &view.cfg;
    if let Some(Route::Local(LocalCommand::Auth)) = route {
        let reply = auth(cfg.redis_auth.as_deref(), session, args);
        session.replies.ready(&reply);
        return true;
    }
    if !session.authenticated {
        session.replies.ready(b"-NOAUTH Authentication required\r\n");
        return true;
    }
    let Some(route) = route else {
        if wp.options.close_on_unsupported {
            session.replies.close(b"");
            return false;
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        session.replies.ready(&error_reply(&format!("ERR command '{name}' is not supported by the proxy")));
        return true;
    };
    let key: &[u8] = match route {
        Route::Local(LocalCommand::Ping) => {
            match args.len() {
                1 => session.replies.ready(b"+PONG\r\n"),
                2 => {
                    let mut v = Vec::new();
                    push_bulk(&mut v, args.get(1));
                    session.replies.ready(&v);
                }
                _ => session.replies.ready(&wrong_arity(name)),
            }
            return true;
        }
        Route::Local(LocalCommand::Quit) => {
            session.replies.close(b"+OK\r\n");
            return false;
        }
        Route::Local(LocalCommand::Auth) => {
            let reply = auth(cfg.redis_auth.as_deref(), session, args);
            session.replies.ready(&reply);
            return true;
        }
        Route::Split(kind) if view.slots.is_some() => {
            split_by_slot(wp, &view, session, kind, args);
            return true;
        }
        Route::Split(kind) => {
            split(wp, &view, session, kind, args);
            return true;
        }
        Route::Key(i) => {
            if args.len() <= i {
                session.replies.ready(&wrong_arity(name));
                return true;
            }
            args.get(i)
        }
        Route::Script => {
            let numkeys = if args.len() >= 3 { parse_i64(args.get(2)).unwrap_or(0) } else { 0 };
            if numkeys >= 1 && args.len() >= 4 {
                args.get(3)
            } else {
                // No key to route by: any backend gives the right answer or error.
                KEYLESS_ROUTING_KEY
            }
        }
        Route::Keyless => KEYLESS_ROUTING_KEY,
    };
    if key != KEYLESS_ROUTING_KEY {
        wp.hot_keys.borrow_mut().sample(key);
    }
    if view.slots.is_some() {
        to_slot_owner(wp, &view, session, args, key);
        return true;
    }
    let Some(idx) = view.router.route(key) else {
        session.refuse(wp);
        return true;
    };
    let ticket = session.replies.expect_one();
    wp.forward(&view, idx, session.slot, session.now, Some(ticket), |w| encode_command(w, args.iter()));
    true
}

/// A command forwarded whole in a Redis Cluster pool: all its keys must be in one slot, as a
/// cluster node requires, and it goes to that slot's node.
fn to_slot_owner(wp: &WorkerPool, view: &ViewRef, session: &Session, args: &Args, key: &[u8]) {
    let slot = key_slot(key);
    let mut cross = false;
    other_keys(args, |k| cross |= key_slot(k) != slot);
    if cross {
        session.replies.ready(&error_reply(CROSSSLOT));
        return;
    }
    let Some(idx) = view.slot_node(slot) else { return session.refuse(wp) };
    let mut data = Vec::new();
    encode_command(&mut data, args.iter());
    to_nodes(wp, view, session, vec![(idx, data)], None);
}

/// Forwards the parts of a request to cluster nodes, each keeping its bytes to be sent again
/// where a redirection points (one copy of each part per request).
fn to_nodes(wp: &WorkerPool, view: &ViewRef, session: &Session, parts: Vec<(usize, Vec<u8>)>, merge: Option<Merge>) {
    let resends =
        parts.iter().map(|(node, data)| Some(Resend { data: data.clone(), view: view.clone(), node: *node })).collect();
    let tickets = session.replies.expect_legs(resends, merge);
    for ((idx, data), t) in parts.into_iter().zip(tickets) {
        wp.forward(view, idx, session.slot, session.now, Some(t), |w| w.extend_from_slice(&data));
    }
}

/// AUTH answered by the proxy with `redis_auth`'s semantics. `AUTH default <pw>` is accepted as
/// the two-argument form of the same password.
fn auth(password: Option<&str>, session: &mut Session, args: &Args) -> Vec<u8> {
    let given = match args.len() {
        2 => args.get(1),
        3 if args.get(1) == b"default" => args.get(2),
        3 => return error_reply("WRONGPASS invalid username-password pair or user is disabled."),
        _ => return error_reply("ERR wrong number of arguments for 'auth' command"),
    };
    match password {
        None => error_reply("ERR Client sent AUTH, but no password is set"),
        Some(pw) if pw.as_bytes() == given => {
            session.authenticated = true;
            b"+OK\r\n".to_vec()
        }
        Some(_) => {
            session.authenticated = false;
            error_reply("ERR invalid password")
        }
    }
}

/// MGET/DEL/UNLINK/TOUCH/EXISTS/MSET: keys grouped by server in their original order, one
/// sub-request per server with the command name in lower case, as nutcracker sends them.
fn split(wp: &WorkerPool, view: &PoolView, session: &Session, kind: SplitKind, args: &Args) {
    let name = args.get(0);
    let Some((step, nkeys)) = split_shape(kind, args) else { return session.replies.ready(&wrong_arity(name)) };
    let router = &view.router;
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut hot = wp.hot_keys.borrow_mut();
    for k in 0..nkeys {
        let key = args.get(1 + k * step);
        hot.sample(key);
        let Some(idx) = router.route(key) else {
            drop(hot);
            return session.refuse(wp);
        };
        match groups.iter_mut().find(|g| g.0 == idx) {
            Some(g) => g.1.push(k),
            None => groups.push((idx, vec![k])),
        }
    }
    drop(hot);
    if groups.len() == 1 {
        let ticket = session.replies.expect_one();
        wp.forward(view, groups[0].0, session.slot, session.now, Some(ticket), |w| encode_command(w, args.iter()));
        return;
    }
    wp.shared.stats.fragments.fetch_add(groups.len() as u64, Relaxed);
    let lower = name.to_ascii_lowercase();
    let (nodes, keys): (Vec<usize>, Vec<Vec<usize>>) = groups.into_iter().unzip();
    let tickets = session
        .replies
        .expect_legs(nodes.iter().map(|_| None).collect(), Some(Merge { kind, nkeys, keys: keys.clone() }));
    for ((idx, keys), t) in nodes.into_iter().zip(keys).zip(tickets) {
        wp.forward(view, idx, session.slot, session.now, Some(t), |w| sub_request(w, &lower, args, step, &keys));
    }
}

/// (arguments per key, number of keys) of a split command; `None`: wrong argument count.
fn split_shape(kind: SplitKind, args: &Args) -> Option<(usize, usize)> {
    let step = if kind == SplitKind::Mset { 2 } else { 1 };
    let nargs = args.len() - 1;
    (nargs != 0 && nargs.is_multiple_of(step)).then_some((step, nargs / step))
}

/// Appends the part of a split command for the keys at `keys`, named in lower case as
/// nutcracker names its fragments.
fn sub_request(out: &mut Vec<u8>, lower_name: &[u8], args: &Args, step: usize, keys: &[usize]) {
    let mut sub: Vec<&[u8]> = Vec::with_capacity(1 + keys.len() * step);
    sub.push(lower_name);
    for &k in keys {
        for j in 0..step {
            sub.push(args.get(1 + k * step + j));
        }
    }
    encode_command(out, sub.into_iter());
}

/// A split command in a Redis Cluster pool: keys grouped by slot rather than by node, since a
/// node refuses a multi-key command whose keys span slots even when it owns them all.
fn split_by_slot(wp: &WorkerPool, view: &ViewRef, session: &Session, kind: SplitKind, args: &Args) {
    let name = args.get(0);
    let Some((step, nkeys)) = split_shape(kind, args) else { return session.replies.ready(&wrong_arity(name)) };
    let mut by_slot: Vec<(u16, usize)> = Vec::with_capacity(nkeys);
    let mut hot = wp.hot_keys.borrow_mut();
    for k in 0..nkeys {
        let key = args.get(1 + k * step);
        hot.sample(key);
        by_slot.push((key_slot(key), k));
    }
    drop(hot);
    // Stable: keys of one slot keep their order in the part.
    by_slot.sort_by_key(|&(slot, _)| slot);
    let mut groups: Vec<(u16, Vec<usize>)> = Vec::new();
    for (slot, k) in by_slot {
        match groups.last_mut() {
            Some(g) if g.0 == slot => g.1.push(k),
            _ => groups.push((slot, vec![k])),
        }
    }
    let mut nodes = Vec::with_capacity(groups.len());
    for (slot, _) in &groups {
        let Some(idx) = view.slot_node(*slot) else { return session.refuse(wp) };
        nodes.push(idx);
    }
    if groups.len() == 1 {
        let mut data = Vec::new();
        encode_command(&mut data, args.iter());
        return to_nodes(wp, view, session, vec![(nodes[0], data)], None);
    }
    wp.shared.stats.fragments.fetch_add(groups.len() as u64, Relaxed);
    let lower = name.to_ascii_lowercase();
    let mut parts = Vec::with_capacity(groups.len());
    let mut keys = Vec::with_capacity(groups.len());
    for ((_, k), idx) in groups.into_iter().zip(nodes) {
        let mut data = Vec::new();
        sub_request(&mut data, &lower, args, step, &k);
        parts.push((idx, data));
        keys.push(k);
    }
    to_nodes(wp, view, session, parts, Some(Merge { kind, nkeys, keys }));
}

/// Sends redirected cluster requests where `-MOVED`/`-ASK` points, up to `MAX_REDIRECTS` times
/// each; the client sees a redirection only when the bound is hit (or when it cannot be
/// followed). `MOVED` also points the slot at its new node for every later request and asks
/// for a fresh slot map; `ASK` is for this one request, preceded by `ASKING` on the same
/// connection.
fn follow(wp: &WorkerPool, replies: &Rc<Replies>, client_slot: usize) {
    let now = Instant::now();
    for Redirected { seq, leg, reply, mut resend } in replies.take_redirects() {
        let Some((kind, slot, view, target)) = redirect_target(wp, &reply, &resend) else {
            replies.settle(seq, leg, &reply);
            continue;
        };
        match kind {
            RedirectKind::Moved => {
                if let Some(table) = &view.slots {
                    table.set(slot, target);
                }
                wp.shared.request_refresh();
            }
            // Both go out in this synchronous step on the client's connection to the node, so
            // nothing can come between ASKING and the request. ASKING's +OK is dropped.
            RedirectKind::Ask => {
                wp.forward(&view, target, client_slot, now, None, |w| encode_command(w, [&b"ASKING"[..]].into_iter()))
            }
        }
        let ticket = replies.ticket(seq, leg);
        wp.forward(&view, target, client_slot, now, Some(ticket), |w| w.extend_from_slice(&resend.data));
        resend.view = view;
        resend.node = target;
        replies.resume(seq, leg, resend);
    }
}

/// Where a redirection points: its kind, slot, the current view and the node's index in it.
fn redirect_target(wp: &WorkerPool, reply: &[u8], resend: &Resend) -> Option<(RedirectKind, u16, ViewRef, usize)> {
    let r = parse_redirect(reply)?;
    let host = if r.host.is_empty() {
        match resend.view.servers.get(resend.node).map(|s| &s.cfg.addr) {
            Some(ServerAddr::Tcp { host, .. }) => host.clone(),
            _ => return None,
        }
    } else {
        r.host.to_string()
    };
    let (view, target) = wp.cluster_node(&host, r.port)?;
    Some((r.kind, r.slot, view, target))
}

/// Serves one client until it closes, QUITs or breaks the protocol.
pub async fn serve<R, W>(wp: Rc<WorkerPool>, rd: R, wr: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let replies = Replies::new();
    let slot = wp.client_slot();
    let reader = async {
        read_requests(&wp, &replies, slot, rd).await;
        replies.finish_reading();
    };
    tokio::join!(reader, write_replies(&wp, &replies, slot, wr));
    replies.abandon();
}

async fn read_requests<R: AsyncRead + Unpin>(wp: &WorkerPool, replies: &Rc<Replies>, slot: usize, mut rd: R) {
    let stats = &wp.shared.stats;
    let mut session = Session {
        authenticated: wp.view().cfg.redis_auth.is_none(),
        slot,
        replies: replies.clone(),
        now: Instant::now(),
    };
    let mut parser = RequestParser::new();
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        loop {
            let limits = Limits { max_bulk_len: 512 * 1024 * 1024, authenticated: session.authenticated };
            match parser.next(&buf, &limits) {
                Ok(true) => {
                    let args = parser.args(&buf);
                    if args.is_empty() {
                        continue;
                    }
                    if !replies.has_room() {
                        if !poll_fn(|cx| replies.poll_room(cx)).await {
                            return;
                        }
                        session.now = Instant::now();
                    }
                    if !dispatch(wp, &mut session, &args) {
                        return;
                    }
                }
                Ok(false) => {
                    replies.end_batch();
                    break;
                }
                Err(e) => {
                    stats.client_err.fetch_add(1, Relaxed);
                    replies.ready(&error_reply(&format!("ERR {e}")));
                    replies.close(b"");
                    return;
                }
            }
        }
        let consumed = parser.request_start();
        if consumed > 0 {
            buf.drain(..consumed);
            parser.consumed(consumed);
        }
        let want = parser.bulk_bytes_missing(buf.len()).clamp(READ_CHUNK, 16 * 1024 * 1024);
        if buf.capacity() - buf.len() < READ_CHUNK {
            buf.reserve(want);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => {
                stats.client_eof.fetch_add(1, Relaxed);
                return;
            }
            Ok(_) => session.now = Instant::now(),
            Err(_) => {
                stats.client_err.fetch_add(1, Relaxed);
                return;
            }
        }
    }
}

async fn write_replies<W: AsyncWrite + Unpin>(wp: &WorkerPool, replies: &Rc<Replies>, slot: usize, mut wr: W) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match poll_fn(|cx| replies.poll_writer(cx, &mut buf)).await {
            Step::Write => {
                if wr.write_all(&buf).await.is_err() {
                    replies.abandon();
                    return;
                }
                buf.clear();
                if buf.capacity() > WRITE_BUFFER_KEEP {
                    buf = Vec::new();
                }
            }
            Step::Follow => follow(wp, replies, slot),
            Step::Done => break,
        }
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_resp::OwnedArgs;

    #[test]
    fn auth_follows_redis_auth_semantics() {
        let mut s = Session { authenticated: false, slot: 0, replies: Replies::new(), now: Instant::now() };
        let args = OwnedArgs::from_slices([&b"AUTH"[..], b"pw"]);
        assert_eq!(auth(None, &mut s, &args.args()), b"-ERR Client sent AUTH, but no password is set\r\n");
        assert_eq!(auth(Some("other"), &mut s, &args.args()), b"-ERR invalid password\r\n");
        assert!(!s.authenticated);
        assert_eq!(auth(Some("pw"), &mut s, &args.args()), b"+OK\r\n");
        assert!(s.authenticated);
        let two = OwnedArgs::from_slices([&b"AUTH"[..], b"default", b"pw"]);
        assert_eq!(auth(Some("pw"), &mut s, &two.args()), b"+OK\r\n");
    }
}

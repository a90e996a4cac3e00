//! One client connection: requests parsed with the protocol crate's parser, routed by key to
//! the worker's backend connections, split and merged where needed, and answered strictly in
//! request order.
//!
//! A reader half parses and dispatches; a writer half awaits each request's reply in order and
//! writes whatever is finished in one batch. The bounded queue between them is the client's
//! backpressure: a client that pipelines faster than backends answer stops being read.
//!
//! In a Redis Cluster pool a request goes to its slot's node, and a request keeps its bytes so
//! that the writer can send it again where a `-MOVED`/`-ASK` points; the client only sees the
//! final reply, still in request order.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use roost_resp::{parse_i64, Args, Limits, RequestParser};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use crate::backend::{self, reason, BackendHandle, BackendRequest, Link, Reply};
use crate::cluster::{self, key_slot, parse_redirect, RedirectKind, CROSSSLOT, MAX_REDIRECTS};
use crate::command::{other_keys, route_of, LocalCommand, Route, SplitKind, KEYLESS_ROUTING_KEY};
use crate::config::ServerAddr;
use crate::hotkeys::HotKeyCounter;
use crate::pool::{PoolShared, PoolView};
use crate::reply::{array_elements, encode_command, integer, is_error, push_bulk, push_err};

/// Requests a client may have outstanding before the proxy stops reading from it.
const MAX_PENDING: usize = 1024;
/// Replies gathered before a write.
const WRITE_BATCH: usize = 64 * 1024;
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
            conns: RefCell::new(vec![Vec::new(); n]),
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

    fn connection(&self, view: &PoolView, idx: usize, slot: usize) -> BackendHandle {
        let spawn = || backend::spawn(self.shared.clone(), view.servers[idx].clone(), Link::of(&view.cfg));
        let mut conns = self.conns.borrow_mut();
        // The view always comes from `view()` in the same synchronous step, so the lists match
        // it; a mismatch would only cost an uncached connection, never a wrong server.
        if conns.len() != view.servers.len() {
            return spawn();
        }
        let Some(list) = conns.get_mut(idx) else { return spawn() };
        let i = slot % view.cfg.server_connections.max(1) as usize;
        if list.len() <= i {
            list.resize(i + 1, None);
        }
        match &list[i] {
            Some(h) if !h.is_closed() => h.clone(),
            _ => {
                let h = spawn();
                list[i] = Some(h.clone());
                h
            }
        }
    }

    /// Queues a request on the client's connection to server `idx` of `view`.
    fn forward(&self, view: &PoolView, idx: usize, slot: usize, data: Vec<u8>) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        let mut req = BackendRequest { data, reply: tx, timeout: view.cfg.timeout };
        // A connection that died since it was picked is replaced once.
        for _ in 0..2 {
            match self.connection(view, idx, slot).send(req) {
                Ok(()) => return rx,
                Err(mpsc::error::SendError(back)) => req = back,
            }
        }
        let _ = req.reply.send(Reply::Failed(reason::REFUSED));
        rx
    }

    /// Forwards a request to a cluster node, keeping what is needed to send it again after a
    /// redirection (one copy of the request per request).
    fn forward_to_node(&self, view: &ViewRef, idx: usize, client_slot: usize, data: Vec<u8>) -> Leg {
        let rx = self.forward(view, idx, client_slot, data.clone());
        Leg { rx, resend: Some(Box::new(Resend { data, view: view.clone(), node: idx, client_slot })) }
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

/// One request's reply from one backend.
struct Leg {
    rx: oneshot::Receiver<Reply>,
    /// Set in a Redis Cluster pool: how to send the request again where a node redirects it.
    resend: Option<Box<Resend>>,
}

impl Leg {
    fn direct(rx: oneshot::Receiver<Reply>) -> Leg {
        Leg { rx, resend: None }
    }
}

struct Resend {
    data: Vec<u8>,
    /// The view and node the request went to: an empty host in a redirection means that node.
    view: ViewRef,
    node: usize,
    client_slot: usize,
}

/// One request's place in the reply order.
enum Pending {
    Ready(Vec<u8>),
    One(Leg),
    Split {
        kind: SplitKind,
        nkeys: usize,
        parts: Vec<(Leg, Vec<usize>)>,
    },
    /// Close after everything before it is written, and after these bytes (QUIT's `+OK`).
    Close(&'static [u8]),
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

fn wrong_arity(name: &[u8]) -> Pending {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    Pending::Ready(error_reply(&format!("ERR wrong number of arguments for '{name}' command")))
}

/// Per-connection state the reader keeps.
struct Session {
    authenticated: bool,
    /// Which of each server's connections this client uses.
    slot: usize,
}

/// Decides what to do with one request.
fn dispatch(wp: &WorkerPool, session: &mut Session, args: &Args) -> Pending {
    let name = args.get(0);
    let route = route_of(name);
    let view = wp.view();
    let cfg = &view.cfg;
    if let Some(Route::Local(LocalCommand::Auth)) = route {
        return Pending::Ready(auth(cfg.redis_auth.as_deref(), session, args));
    }
    if !session.authenticated {
        return Pending::Ready(error_reply("NOAUTH Authentication required"));
    }
    let Some(route) = route else {
        if wp.options.close_on_unsupported {
            return Pending::Close(b"");
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        return Pending::Ready(error_reply(&format!("ERR command '{name}' is not supported by the proxy")));
    };
    let key: &[u8] = match route {
        Route::Local(LocalCommand::Ping) => {
            return match args.len() {
                1 => Pending::Ready(b"+PONG\r\n".to_vec()),
                2 => {
                    let mut v = Vec::new();
                    push_bulk(&mut v, args.get(1));
                    Pending::Ready(v)
                }
                _ => wrong_arity(name),
            };
        }
        Route::Local(LocalCommand::Quit) => return Pending::Close(b"+OK\r\n"),
        Route::Local(LocalCommand::Auth) => return Pending::Ready(auth(cfg.redis_auth.as_deref(), session, args)),
        Route::Split(kind) if view.slots.is_some() => return split_by_slot(wp, &view, session.slot, kind, args),
        Route::Split(kind) => return split(wp, &view, session.slot, kind, args),
        Route::Key(i) => {
            if args.len() <= i {
                return wrong_arity(name);
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
        return to_slot_owner(wp, &view, session.slot, args, key);
    }
    let Some(idx) = view.router.route(key) else {
        wp.shared.stats.forward_error.fetch_add(1, Relaxed);
        return Pending::Ready(proxy_failure(reason::REFUSED));
    };
    let mut data = Vec::new();
    encode_command(&mut data, args.iter());
    Pending::One(Leg::direct(wp.forward(&view, idx, session.slot, data)))
}

/// A command forwarded whole in a Redis Cluster pool: all its keys must be in one slot, as a
/// cluster node requires, and it goes to that slot's node.
fn to_slot_owner(wp: &WorkerPool, view: &ViewRef, client_slot: usize, args: &Args, key: &[u8]) -> Pending {
    let slot = key_slot(key);
    let mut cross = false;
    other_keys(args, |k| cross |= key_slot(k) != slot);
    if cross {
        return Pending::Ready(error_reply(CROSSSLOT));
    }
    let Some(idx) = view.slot_node(slot) else {
        wp.shared.stats.forward_error.fetch_add(1, Relaxed);
        return Pending::Ready(proxy_failure(reason::REFUSED));
    };
    let mut data = Vec::new();
    encode_command(&mut data, args.iter());
    Pending::One(wp.forward_to_node(view, idx, client_slot, data))
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
fn split(wp: &WorkerPool, view: &PoolView, slot: usize, kind: SplitKind, args: &Args) -> Pending {
    let name = args.get(0);
    let Some((step, nkeys)) = split_shape(kind, args) else { return wrong_arity(name) };
    let router = &view.router;
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut hot = wp.hot_keys.borrow_mut();
    for k in 0..nkeys {
        let key = args.get(1 + k * step);
        hot.sample(key);
        let Some(idx) = router.route(key) else {
            wp.shared.stats.forward_error.fetch_add(1, Relaxed);
            return Pending::Ready(proxy_failure(reason::REFUSED));
        };
        match groups.iter_mut().find(|g| g.0 == idx) {
            Some(g) => g.1.push(k),
            None => groups.push((idx, vec![k])),
        }
    }
    drop(hot);
    if groups.len() == 1 {
        let mut data = Vec::new();
        encode_command(&mut data, args.iter());
        return Pending::One(Leg::direct(wp.forward(view, groups[0].0, slot, data)));
    }
    wp.shared.stats.fragments.fetch_add(groups.len() as u64, Relaxed);
    let lower = name.to_ascii_lowercase();
    let parts = groups
        .into_iter()
        .map(|(idx, keys)| {
            let data = sub_request(&lower, args, step, &keys);
            (Leg::direct(wp.forward(view, idx, slot, data)), keys)
        })
        .collect();
    Pending::Split { kind, nkeys, parts }
}

/// (arguments per key, number of keys) of a split command; `None`: wrong argument count.
fn split_shape(kind: SplitKind, args: &Args) -> Option<(usize, usize)> {
    let step = if kind == SplitKind::Mset { 2 } else { 1 };
    let nargs = args.len() - 1;
    (nargs != 0 && nargs.is_multiple_of(step)).then_some((step, nargs / step))
}

/// The part of a split command for the keys at `keys`, named in lower case as nutcracker
/// names its fragments.
fn sub_request(lower_name: &[u8], args: &Args, step: usize, keys: &[usize]) -> Vec<u8> {
    let mut sub: Vec<&[u8]> = Vec::with_capacity(1 + keys.len() * step);
    sub.push(lower_name);
    for &k in keys {
        for j in 0..step {
            sub.push(args.get(1 + k * step + j));
        }
    }
    let mut data = Vec::new();
    encode_command(&mut data, sub.into_iter());
    data
}

/// MGET/DEL/UNLINK/TOUCH/EXISTS/MSET in a Redis Cluster pool: one part per slot, not per node,
/// since a node refuses a multi-key command whose keys span slots even when it owns them all.
fn split_by_slot(wp: &WorkerPool, view: &ViewRef, client_slot: usize, kind: SplitKind, args: &Args) -> Pending {
    let name = args.get(0);
    let Some((step, nkeys)) = split_shape(kind, args) else { return wrong_arity(name) };
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
        let Some(idx) = view.slot_node(*slot) else {
            wp.shared.stats.forward_error.fetch_add(1, Relaxed);
            return Pending::Ready(proxy_failure(reason::REFUSED));
        };
        nodes.push(idx);
    }
    if groups.len() == 1 {
        let mut data = Vec::new();
        encode_command(&mut data, args.iter());
        return Pending::One(wp.forward_to_node(view, nodes[0], client_slot, data));
    }
    wp.shared.stats.fragments.fetch_add(groups.len() as u64, Relaxed);
    let lower = name.to_ascii_lowercase();
    let parts = groups
        .into_iter()
        .zip(nodes)
        .map(|((_, keys), idx)| {
            let data = sub_request(&lower, args, step, &keys);
            (wp.forward_to_node(view, idx, client_slot, data), keys)
        })
        .collect();
    Pending::Split { kind, nkeys, parts }
}

async fn reply_bytes(rx: oneshot::Receiver<Reply>) -> Result<Vec<u8>, Vec<u8>> {
    match rx.await {
        Ok(Reply::Data(d)) => Ok(d),
        Ok(Reply::Failed(why)) => Err(proxy_failure(why)),
        Err(_) => Err(proxy_failure(reason::RESET)),
    }
}

/// A leg's final reply: its first one, or where the cluster's redirections lead.
async fn settle(wp: &WorkerPool, leg: Leg) -> Result<Vec<u8>, Vec<u8>> {
    let first = reply_bytes(leg.rx).await;
    match (first, leg.resend) {
        (Ok(d), Some(r)) if cluster::is_redirect(&d) => follow(wp, d, *r).await,
        (first, _) => first,
    }
}

/// Sends a redirected request where `-MOVED`/`-ASK` points, up to `MAX_REDIRECTS` times; the
/// client sees a redirection only when the bound is hit (or when it cannot be followed).
/// `MOVED` also points the slot at its new node for every later request and asks for a fresh
/// slot map; `ASK` is for this one request, preceded by `ASKING` on the same connection.
async fn follow(wp: &WorkerPool, mut reply: Vec<u8>, resend: Resend) -> Result<Vec<u8>, Vec<u8>> {
    let Resend { data, mut view, mut node, client_slot } = resend;
    for _ in 0..MAX_REDIRECTS {
        let Some(r) = parse_redirect(&reply) else { break };
        let host = if r.host.is_empty() {
            match view.servers.get(node).map(|s| &s.cfg.addr) {
                Some(ServerAddr::Tcp { host, .. }) => host.clone(),
                _ => break,
            }
        } else {
            r.host.to_string()
        };
        let Some((v, target)) = wp.cluster_node(&host, r.port) else { break };
        let rx = match r.kind {
            RedirectKind::Moved => {
                if let Some(table) = &v.slots {
                    table.set(r.slot, target);
                }
                wp.shared.request_refresh();
                wp.forward(&v, target, client_slot, data.clone())
            }
            RedirectKind::Ask => {
                // Both go out in this synchronous step on the client's connection to the node,
                // so nothing can come between ASKING and the request. ASKING's +OK is dropped.
                let mut asking = Vec::new();
                encode_command(&mut asking, [&b"ASKING"[..]].into_iter());
                drop(wp.forward(&v, target, client_slot, asking));
                wp.forward(&v, target, client_slot, data.clone())
            }
        };
        reply = reply_bytes(rx).await?;
        view = v;
        node = target;
    }
    Ok(reply)
}

/// A split command's part: its final reply (or the proxy's error) and the key positions it
/// answers for.
type SettledPart = (Result<Vec<u8>, Vec<u8>>, Vec<usize>);

/// Merges the parts of a split command. Any failed part fails the whole command with one error
/// (partial results are never returned), as in nutcracker, but the connection stays open.
fn merge(kind: SplitKind, nkeys: usize, parts: Vec<SettledPart>, out: &mut Vec<u8>) {
    let mut replies = Vec::with_capacity(parts.len());
    let mut failure: Option<Vec<u8>> = None;
    for (result, keys) in parts {
        match result {
            Ok(d) if is_error(&d) => {
                failure.get_or_insert(d);
            }
            Ok(d) => replies.push((d, keys)),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(f) = failure {
        out.extend_from_slice(&f);
        return;
    }
    match kind {
        SplitKind::Mget => {
            let mut slots: Vec<Option<(usize, usize, usize)>> = vec![None; nkeys];
            for (p, (d, keys)) in replies.iter().enumerate() {
                let Some(spans) = array_elements(d, keys.len()) else {
                    push_err(out, reason::INVALID);
                    return;
                };
                for (&k, (s, e)) in keys.iter().zip(spans) {
                    slots[k] = Some((p, s, e));
                }
            }
            out.push(b'*');
            out.extend_from_slice(nkeys.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
            for (p, s, e) in slots.into_iter().flatten() {
                out.extend_from_slice(&replies[p].0[s..e]);
            }
        }
        SplitKind::Sum => {
            let mut total: i64 = 0;
            for (d, _) in &replies {
                match integer(d) {
                    Some(n) => total = total.saturating_add(n),
                    None => {
                        push_err(out, reason::INVALID);
                        return;
                    }
                }
            }
            out.push(b':');
            out.extend_from_slice(total.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        SplitKind::Mset => {
            if replies.iter().all(|(d, _)| d.as_slice() == b"+OK\r\n") {
                out.extend_from_slice(b"+OK\r\n");
            } else {
                push_err(out, reason::INVALID);
            }
        }
    }
}

/// Serves one client until it closes, QUITs or breaks the protocol.
pub async fn serve<R, W>(wp: Rc<WorkerPool>, rd: R, wr: W)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, rx) = mpsc::channel(MAX_PENDING);
    tokio::join!(read_requests(&wp, rd, tx), write_replies(&wp, rx, wr));
}

async fn read_requests<R: AsyncRead + Unpin>(wp: &WorkerPool, mut rd: R, tx: mpsc::Sender<Pending>) {
    let stats = &wp.shared.stats;
    let mut session = Session { authenticated: wp.view().cfg.redis_auth.is_none(), slot: wp.client_slot() };
    let mut parser = RequestParser::new();
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        loop {
            let limits = Limits { max_bulk_len: 512 * 1024 * 1024, authenticated: session.authenticated };
            let pending = match parser.next(&buf, &limits) {
                Ok(true) => {
                    let args = parser.args(&buf);
                    if args.is_empty() {
                        continue;
                    }
                    dispatch(wp, &mut session, &args)
                }
                Ok(false) => break,
                Err(e) => {
                    stats.client_err.fetch_add(1, Relaxed);
                    let _ = tx.send(Pending::Ready(error_reply(&format!("ERR {e}")))).await;
                    let _ = tx.send(Pending::Close(b"")).await;
                    return;
                }
            };
            let close = matches!(pending, Pending::Close(_));
            if tx.send(pending).await.is_err() {
                return;
            }
            if close {
                return;
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
            Ok(_) => {}
            Err(_) => {
                stats.client_err.fetch_add(1, Relaxed);
                return;
            }
        }
    }
}

async fn write_replies<W: AsyncWrite + Unpin>(wp: &WorkerPool, mut rx: mpsc::Receiver<Pending>, mut wr: W) {
    let mut out: Vec<u8> = Vec::with_capacity(WRITE_BATCH);
    loop {
        let item = match rx.try_recv() {
            Ok(item) => item,
            Err(TryRecvError::Empty) => {
                if !out.is_empty() {
                    if wr.write_all(&out).await.is_err() {
                        return;
                    }
                    out.clear();
                }
                match rx.recv().await {
                    Some(item) => item,
                    None => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match item {
            Pending::Ready(bytes) => out.extend_from_slice(&bytes),
            Pending::One(Leg { mut rx, resend }) => {
                let done = match rx.try_recv() {
                    Ok(r) => Some(Ok(r)),
                    Err(oneshot::error::TryRecvError::Empty) => None,
                    Err(oneshot::error::TryRecvError::Closed) => Some(Err(())),
                };
                let result = match done {
                    Some(r) => r,
                    None => {
                        // Don't hold finished replies back while waiting for a slow one.
                        if !out.is_empty() {
                            if wr.write_all(&out).await.is_err() {
                                return;
                            }
                            out.clear();
                        }
                        rx.await.map_err(|_| ())
                    }
                };
                match (result, resend) {
                    (Ok(Reply::Data(d)), Some(r)) if cluster::is_redirect(&d) => {
                        if !out.is_empty() {
                            if wr.write_all(&out).await.is_err() {
                                return;
                            }
                            out.clear();
                        }
                        match follow(wp, d, *r).await {
                            Ok(d) | Err(d) => out.extend_from_slice(&d),
                        }
                    }
                    (Ok(Reply::Data(d)), _) => out.extend_from_slice(&d),
                    (Ok(Reply::Failed(why)), _) => push_err(&mut out, why),
                    (Err(()), _) => push_err(&mut out, reason::RESET),
                }
            }
            Pending::Split { kind, nkeys, parts } => {
                if !out.is_empty() {
                    if wr.write_all(&out).await.is_err() {
                        return;
                    }
                    out.clear();
                }
                let mut settled = Vec::with_capacity(parts.len());
                for (leg, keys) in parts {
                    settled.push((settle(wp, leg).await, keys));
                }
                merge(kind, nkeys, settled, &mut out);
            }
            Pending::Close(last) => {
                out.extend_from_slice(last);
                break;
            }
        }
        if out.len() >= WRITE_BATCH {
            if wr.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
    if !out.is_empty() {
        let _ = wr.write_all(&out).await;
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_resp::OwnedArgs;

    #[test]
    fn auth_follows_redis_auth_semantics() {
        let mut s = Session { authenticated: false, slot: 0 };
        let args = OwnedArgs::from_slices([&b"AUTH"[..], b"pw"]);
        assert_eq!(auth(None, &mut s, &args.args()), b"-ERR Client sent AUTH, but no password is set\r\n");
        assert_eq!(auth(Some("other"), &mut s, &args.args()), b"-ERR invalid password\r\n");
        assert!(!s.authenticated);
        assert_eq!(auth(Some("pw"), &mut s, &args.args()), b"+OK\r\n");
        assert!(s.authenticated);
        let two = OwnedArgs::from_slices([&b"AUTH"[..], b"default", b"pw"]);
        assert_eq!(auth(Some("pw"), &mut s, &two.args()), b"+OK\r\n");
    }

    fn ready(bytes: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        Ok(bytes.to_vec())
    }

    fn merged(kind: SplitKind, nkeys: usize, parts: Vec<SettledPart>) -> Vec<u8> {
        let mut out = Vec::new();
        merge(kind, nkeys, parts, &mut out);
        out
    }

    #[test]
    fn mget_parts_merge_in_key_order() {
        let out = merged(
            SplitKind::Mget,
            4,
            vec![
                (ready(b"*2\r\n$1\r\nc\r\n$-1\r\n"), vec![0, 2]),
                (ready(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"), vec![1, 3]),
            ],
        );
        assert_eq!(out, b"*4\r\n$1\r\nc\r\n$1\r\na\r\n$-1\r\n$1\r\nb\r\n");
    }

    #[test]
    fn sums_and_mset() {
        assert_eq!(
            merged(SplitKind::Sum, 3, vec![(ready(b":1\r\n"), vec![0]), (ready(b":2\r\n"), vec![1, 2])]),
            b":3\r\n"
        );
        assert_eq!(
            merged(SplitKind::Mset, 2, vec![(ready(b"+OK\r\n"), vec![0]), (ready(b"+OK\r\n"), vec![1])]),
            b"+OK\r\n"
        );
    }

    #[test]
    fn one_failed_part_fails_the_whole_command() {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(Reply::Failed(reason::REFUSED));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let failed = rt.block_on(reply_bytes(rx));
        let out = merged(SplitKind::Mget, 2, vec![(ready(b"*1\r\n$1\r\na\r\n"), vec![0]), (failed, vec![1])]);
        assert_eq!(out, b"-ERR Connection refused\r\n");
        let out = merged(SplitKind::Sum, 2, vec![(ready(b"-NOAUTH x\r\n"), vec![0]), (ready(b":1\r\n"), vec![1])]);
        assert_eq!(out, b"-NOAUTH x\r\n");
    }
}

//! Server-assisted client-side caching (CLIENT TRACKING): which clients read which keys, the
//! prefixes of clients in broadcasting mode, and the invalidation messages that writes,
//! flushes, expiry and the `tracking-table-max-keys` limit send them.
//!
//! The table of read keys is split in parts so writers on different workers rarely meet on a
//! lock, and writers look at it only while it holds a key or some client broadcasts: with
//! nobody tracking a write costs one relaxed load. As in Redis, the table is keyed by the key
//! name alone (a write in any database invalidates), an entry is dropped once it has been
//! invalidated, and entries of clients that stopped tracking or left stay until then.
//!
//! A tracking client remembers a command's keys before the command reads them: a write racing
//! with the read then either precedes the registration (and the read sees its value) or finds
//! it and invalidates, so no client keeps a value some write made stale.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use foldhash::fast::RandomState;
use parking_lot::{Mutex, RwLock};

use roost_config::Config;
use roost_resp::{write_int, Args};
use roost_store::Keyspace;

use crate::client::{ClientHandle, ClientState, ReplyMode};
use crate::command::{flags, CommandSpec};
use crate::ctx::Ctx;
use crate::server::{Rng, Server};

const PARTS: usize = 256;

/// Set once a client has turned tracking on: from then on the store reports expired keys, which
/// invalidate like writes (Redis likewise keeps its table once tracking was first used).
static EXPIRY_REPORTS: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The tracking client whose command runs on this thread. A key that expires while that
    /// command reads it stays remembered for it: the value it gets is the one after expiry, as
    /// Redis remembers keys once a command has run.
    static READER: Cell<u64> = const { Cell::new(0) };
}

/// At most this many keys leave the table beyond those one command added, per command: the
/// limit is reached again over the next commands instead of in one long pause.
const EVICTION_EFFORT: usize = 100;

/// A client that read a key or asked for a prefix. Ids are never reused, so the id tells a
/// client apart from a later one; the handle is gone once the connection has closed.
struct Reader {
    id: u64,
    handle: Weak<ClientHandle>,
}

impl Reader {
    fn of(handle: &Arc<ClientHandle>) -> Reader {
        Reader { id: handle.id, handle: Arc::downgrade(handle) }
    }
}

type Part = HashMap<Vec<u8>, Vec<Reader>, RandomState>;

/// The server-wide tracking state.
pub struct Tracking {
    /// Keys in the table plus clients in BCAST mode: writers skip everything while it is 0.
    interest: AtomicUsize,
    keys: AtomicUsize,
    /// (key, client) pairs in the table.
    items: AtomicUsize,
    /// Clients with tracking on.
    clients: AtomicUsize,
    bcast_clients: AtomicUsize,
    /// `tracking-table-max-keys`; 0 means no limit.
    max_keys: AtomicU64,
    parts: Box<[Mutex<Part>]>,
    /// Prefix -> clients broadcasting on it, in byte order (the order of Redis's messages).
    prefixes: RwLock<BTreeMap<Vec<u8>, Vec<Reader>>>,
}

impl Default for Tracking {
    fn default() -> Tracking {
        Tracking {
            interest: AtomicUsize::new(0),
            keys: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            clients: AtomicUsize::new(0),
            bcast_clients: AtomicUsize::new(0),
            max_keys: AtomicU64::new(1_000_000),
            parts: (0..PARTS).map(|_| Mutex::new(Part::default())).collect(),
            prefixes: RwLock::new(BTreeMap::new()),
        }
    }
}

/// A client's tracking mode as other threads need it (they deliver its invalidations).
#[derive(Default)]
pub struct Shared {
    mode: Mutex<Mode>,
}

#[derive(Default)]
struct Mode {
    on: bool,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    /// The redirection target was gone when a message had to be sent.
    broken: bool,
    /// Client id invalidations go to instead; 0 for none.
    redirect: u64,
    redirect_to: Weak<ClientHandle>,
    /// BCAST prefixes, sorted.
    prefixes: Vec<Vec<u8>>,
}

/// What CLIENT LIST shows of a client's tracking: its flags and `redir=`.
pub struct ListInfo {
    pub on: bool,
    pub broken: bool,
    pub bcast: bool,
    pub redirect: i64,
}

impl Shared {
    pub fn list_info(&self) -> ListInfo {
        let m = self.mode.lock();
        ListInfo { on: m.on, broken: m.broken, bcast: m.bcast, redirect: if m.on { m.redirect as i64 } else { -1 } }
    }
}

/// The connection's own tracking state (only its thread reads it).
#[derive(Default)]
pub struct Local {
    /// Checked before every command: the only cost tracking adds for clients not tracking.
    pub on: bool,
    bcast: bool,
    optin: bool,
    optout: bool,
    /// CLIENT CACHING was given for the next command (or transaction).
    caching: bool,
    /// The last top-level command used the CACHING flag up; it is cleared when the next starts.
    clear_caching: bool,
    /// Statistics slot of the EXEC whose queued commands are running, to tell them apart from
    /// the client's next request.
    unit: Option<usize>,
}

/// Options of CLIENT TRACKING ON.
#[derive(Default)]
pub struct Options<'a> {
    pub redirect: u64,
    pub redirect_to: Option<Arc<ClientHandle>>,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub prefixes: Vec<&'a [u8]>,
}

/// CLIENT TRACKINGINFO's content.
pub struct Info {
    pub flags: Vec<&'static str>,
    pub redirect: i64,
    pub prefixes: Vec<Vec<u8>>,
}

/// What an invalidation message carries.
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    /// Everything: FLUSHDB / FLUSHALL.
    Flush,
}

impl Tracking {
    /// Whether a write has anything to look at (keys in the table, or broadcasting clients).
    #[inline]
    pub fn any(&self) -> bool {
        self.interest.load(Ordering::Relaxed) != 0
    }

    pub fn apply_config(&self, config: &Config) {
        if let Some(v) = config.get_one("tracking-table-max-keys").and_then(|v| v.parse().ok()) {
            self.max_keys.store(v, Ordering::Relaxed);
        }
    }

    /// INFO: tracking_clients.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// INFO: tracking_total_keys.
    pub fn total_keys(&self) -> usize {
        self.keys.load(Ordering::Relaxed)
    }

    /// INFO: tracking_total_items.
    pub fn total_items(&self) -> usize {
        self.items.load(Ordering::Relaxed)
    }

    /// INFO: tracking_total_prefixes.
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.read().len()
    }

    fn part(&self, key: &[u8]) -> &Mutex<Part> {
        &self.parts[Keyspace::shard_index(key) % PARTS]
    }

    fn remember<'k>(&self, handle: &Arc<ClientHandle>, keys: impl Iterator<Item = &'k [u8]>) -> usize {
        let mut added = 0;
        for key in keys {
            let mut part = self.part(key).lock();
            match part.get_mut(key) {
                Some(readers) => {
                    if !readers.iter().any(|r| r.id == handle.id) {
                        readers.push(Reader::of(handle));
                        self.items.fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => {
                    part.insert(key.to_vec(), vec![Reader::of(handle)]);
                    self.interest.fetch_add(1, Ordering::Relaxed);
                    self.keys.fetch_add(1, Ordering::Relaxed);
                    self.items.fetch_add(1, Ordering::Relaxed);
                    added += 1;
                }
            }
        }
        added
    }

    /// Takes `key` out of the table, returning who had read it.
    fn take(&self, key: &[u8]) -> Option<Vec<Reader>> {
        let readers = self.part(key).lock().remove(key)?;
        self.interest.fetch_sub(1, Ordering::Relaxed);
        self.keys.fetch_sub(1, Ordering::Relaxed);
        self.items.fetch_sub(readers.len(), Ordering::Relaxed);
        Some(readers)
    }

    /// Sends every client that read `key` an invalidation and forgets them (a client in NOLOOP
    /// mode is spared its own writes). `keep`: a client reading the key right now, which stays
    /// remembered.
    fn invalidate_key(&self, key: &[u8], writer: Option<u64>, keep: u64) {
        let Some(readers) = self.take(key) else { return };
        if keep != 0 {
            if let Some(r) = readers.iter().find(|r| r.id == keep) {
                if let Some(h) = r.handle.upgrade() {
                    self.remember(&h, std::iter::once(key));
                }
            }
        }
        for r in readers {
            if let Some(target) = r.handle.upgrade() {
                deliver(&target, Payload::Keys(&[key]), writer, true);
            }
        }
    }

    /// Sends the broadcasting clients whose prefixes match the keys written. Each prefix gets
    /// one message with its keys in byte order, as Redis groups them.
    fn broadcast(&self, keys: &[&[u8]], writer: Option<u64>) {
        // (keys under one prefix, the clients broadcasting on it)
        type Batch<'k> = (Vec<&'k [u8]>, Vec<Arc<ClientHandle>>);
        let mut batches: Vec<Batch> = Vec::new();
        {
            let prefixes = self.prefixes.read();
            for (prefix, clients) in prefixes.iter() {
                let mut matched: Vec<&[u8]> = keys.iter().copied().filter(|k| k.starts_with(prefix)).collect();
                if matched.is_empty() {
                    continue;
                }
                matched.sort_unstable();
                matched.dedup();
                let targets = clients.iter().filter_map(|c| c.handle.upgrade()).collect();
                batches.push((matched, targets));
            }
        }
        for (matched, targets) in batches {
            for target in targets {
                deliver(&target, Payload::Keys(&matched), writer, false);
            }
        }
    }

    /// Keys written by `writer` (None: by the server itself, as on expiry).
    fn written(&self, keys: &[&[u8]], writer: Option<u64>, keep: u64) {
        for key in keys {
            self.invalidate_key(key, writer, keep);
        }
        if self.bcast_clients.load(Ordering::Relaxed) != 0 {
            self.broadcast(keys, writer);
        }
    }

    /// Brings the table back under `tracking-table-max-keys` by invalidating keys picked at
    /// random, with a bounded effort per call.
    fn limit(&self, rng: &mut Rng, extra_effort: usize) {
        let max = self.max_keys.load(Ordering::Relaxed) as usize;
        if max == 0 {
            return;
        }
        let mut effort = EVICTION_EFFORT + extra_effort;
        while self.keys.load(Ordering::Relaxed) > max && effort > 0 {
            effort -= 1;
            let start = rng.next_u64() as usize % PARTS;
            let victim = (0..PARTS).find_map(|i| self.parts[(start + i) % PARTS].lock().keys().next().cloned());
            let Some(victim) = victim else { break };
            self.invalidate_key(&victim, None, 0);
        }
    }

    /// Forgets every key (FLUSHDB/FLUSHALL).
    fn clear(&self) {
        for part in self.parts.iter() {
            let mut part = part.lock();
            if part.is_empty() {
                continue;
            }
            let items: usize = part.values().map(Vec::len).sum();
            let keys = part.len();
            part.clear();
            self.interest.fetch_sub(keys, Ordering::Relaxed);
            self.keys.fetch_sub(keys, Ordering::Relaxed);
            self.items.fetch_sub(items, Ordering::Relaxed);
        }
    }
}

/// Sends one invalidation to `target` (or where it redirects). `default_mode`: a message about
/// keys the target read, which clients in BCAST mode don't get.
fn deliver(target: &ClientHandle, payload: Payload, writer: Option<u64>, default_mode: bool) {
    let (redirect, dest) = {
        let mut mode = target.tracking.mode.lock();
        if !mode.on || (default_mode && mode.bcast) || (mode.noloop && writer == Some(target.id)) {
            return;
        }
        if mode.redirect == 0 {
            (false, None)
        } else {
            match mode.redirect_to.upgrade().filter(|h| !h.killed.load(Ordering::Acquire)) {
                Some(h) => (true, Some(h)),
                None => {
                    mode.broken = true;
                    let id = mode.redirect;
                    drop(mode);
                    // Only a RESP3 connection can be told, in band, that its messages are lost.
                    if target.resp3.load(Ordering::Relaxed) {
                        let mut msg = b">2\r\n$21\r\ntracking-redir-broken\r\n:".to_vec();
                        write_int(&mut msg, id as i64);
                        msg.extend_from_slice(b"\r\n");
                        target.push_out(&msg);
                    }
                    return;
                }
            }
        }
    };
    let to: &ClientHandle = dest.as_deref().unwrap_or(target);
    let mut msg = Vec::with_capacity(64);
    if to.resp3.load(Ordering::Relaxed) {
        msg.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else if redirect && to.subscriptions.load(Ordering::Relaxed) > 0 {
        // A subscribed RESP2 connection takes it as a Pub/Sub message on this channel.
        msg.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    } else {
        // A RESP2 connection can't carry pushes between replies: nothing to send.
        return;
    }
    match payload {
        Payload::Keys(keys) => {
            msg.push(b'*');
            write_int(&mut msg, keys.len() as i64);
            msg.extend_from_slice(b"\r\n");
            for key in keys {
                msg.push(b'$');
                write_int(&mut msg, key.len() as i64);
                msg.extend_from_slice(b"\r\n");
                msg.extend_from_slice(key);
                msg.extend_from_slice(b"\r\n");
            }
        }
        // The null is in the tracking client's protocol, whoever receives it (as Redis does).
        Payload::Flush => {
            msg.extend_from_slice(if target.resp3.load(Ordering::Relaxed) { b"_\r\n" } else { b"$-1\r\n" })
        }
    }
    to.push_out(&msg);
}

/// Whether `a` and `b` overlap: one is a prefix of the other.
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// A prefix as Redis prints it in an error: up to its first NUL byte.
fn shown(prefix: &[u8]) -> String {
    let end = prefix.iter().position(|&c| c == 0).unwrap_or(prefix.len());
    String::from_utf8_lossy(&prefix[..end]).into_owned()
}

/// Checks new BCAST prefixes against the client's own and against each other; the error is
/// Redis's text for the first overlap found.
pub fn check_prefixes(handle: &ClientHandle, new: &[&[u8]]) -> Result<(), String> {
    let mode = handle.tracking.mode.lock();
    for (i, p) in new.iter().enumerate() {
        if let Some(old) = mode.prefixes.iter().find(|old| overlaps(old, p)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                shown(p),
                shown(old)
            ));
        }
        if let Some(other) = new[i + 1..].iter().find(|q| overlaps(p, q)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                shown(p),
                shown(other)
            ));
        }
    }
    Ok(())
}

/// Turns tracking on (or changes its options while on) for the calling client.
pub fn enable(ctx: &mut Ctx, options: Options) {
    let server = ctx.server;
    let handle = ctx.handle;
    let mut new_prefixes: Vec<Vec<u8>> = Vec::new();
    let was_on;
    {
        let mut mode = handle.tracking.mode.lock();
        was_on = mode.on;
        let was_bcast = mode.bcast;
        mode.on = true;
        mode.broken = false;
        mode.redirect = options.redirect;
        mode.redirect_to = options.redirect_to.as_ref().map(Arc::downgrade).unwrap_or_default();
        mode.optin = options.optin;
        mode.optout = options.optout;
        mode.noloop = options.noloop;
        mode.bcast = options.bcast;
        if options.bcast {
            let wanted: Vec<&[u8]> = if options.prefixes.is_empty() { vec![b""] } else { options.prefixes };
            for p in wanted {
                if let Err(at) = mode.prefixes.binary_search_by(|q| q.as_slice().cmp(p)) {
                    mode.prefixes.insert(at, p.to_vec());
                    new_prefixes.push(p.to_vec());
                }
            }
            if !was_bcast {
                server.tracking.bcast_clients.fetch_add(1, Ordering::Relaxed);
                server.tracking.interest.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if !new_prefixes.is_empty() {
        let mut table = server.tracking.prefixes.write();
        for p in new_prefixes {
            table.entry(p).or_default().push(Reader::of(handle));
        }
    }
    if !was_on {
        server.tracking.clients.fetch_add(1, Ordering::Relaxed);
    }
    if !EXPIRY_REPORTS.swap(true, Ordering::SeqCst) {
        let flags = server.pubsub.notify_flags.load(Ordering::Relaxed);
        crate::notify::apply_flags(&server.pubsub, flags);
    }
    let local = &mut ctx.client.tracking;
    local.on = true;
    local.bcast = options.bcast;
    local.optin = options.optin;
    local.optout = options.optout;
    // The running command may be one of a transaction's: the commands after it in the same
    // EXEC must not be taken for the client's next request.
    local.unit = Some(handle.last_cmd.load(Ordering::Relaxed));
    local.clear_caching = false;
}

/// Turns tracking off: CLIENT TRACKING OFF, RESET, and the connection closing.
pub fn disable(server: &Server, handle: &ClientHandle, client: &mut ClientState) {
    client.tracking = Local::default();
    let (was_on, was_bcast, prefixes) = {
        let mut mode = handle.tracking.mode.lock();
        let m = std::mem::take(&mut *mode);
        (m.on, m.bcast, m.prefixes)
    };
    if was_bcast {
        let mut table = server.tracking.prefixes.write();
        for p in prefixes {
            if let Some(clients) = table.get_mut(&p) {
                clients.retain(|c| c.id != handle.id);
                if clients.is_empty() {
                    table.remove(&p);
                }
            }
        }
        drop(table);
        server.tracking.bcast_clients.fetch_sub(1, Ordering::Relaxed);
        server.tracking.interest.fetch_sub(1, Ordering::Relaxed);
    }
    if was_on {
        server.tracking.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sets the CACHING flag for the next command (CLIENT CACHING YES|NO).
pub fn set_caching(ctx: &mut Ctx) {
    ctx.client.tracking.caching = true;
}

/// Whether CLIENT CACHING YES (`true`) or NO may be used now: tracking is on in OPTIN (YES) or
/// OPTOUT (NO) mode. None when tracking is off.
pub fn caching_allowed(ctx: &Ctx, yes: bool) -> Option<bool> {
    let t = &ctx.client.tracking;
    t.on.then_some(if yes { t.optin } else { t.optout })
}

/// The current mode, for the checks CLIENT TRACKING ON makes before changing it:
/// (on, bcast, optin, optout).
pub fn current(ctx: &Ctx) -> (bool, bool, bool, bool) {
    let t = &ctx.client.tracking;
    (t.on, t.bcast, t.optin, t.optout)
}

/// CLIENT GETREDIR: the redirection (0 for none), -1 with tracking off.
pub fn redirect(ctx: &Ctx) -> i64 {
    let mode = ctx.handle.tracking.mode.lock();
    if mode.on {
        mode.redirect as i64
    } else {
        -1
    }
}

/// CLIENT TRACKINGINFO.
pub fn info(ctx: &Ctx) -> Info {
    let mode = ctx.handle.tracking.mode.lock();
    let caching = ctx.client.tracking.caching;
    let mut flags = vec![if mode.on { "on" } else { "off" }];
    if mode.bcast {
        flags.push("bcast");
    }
    if mode.optin {
        flags.push("optin");
        if caching {
            flags.push("caching-yes");
        }
    }
    if mode.optout {
        flags.push("optout");
        if caching {
            flags.push("caching-no");
        }
    }
    if mode.noloop {
        flags.push("noloop");
    }
    if mode.broken {
        flags.push("broken_redirect");
    }
    Info { flags, redirect: if mode.on { mode.redirect as i64 } else { -1 }, prefixes: mode.prefixes.clone() }
}

/// Before a command of a tracking client runs: messages for it that are waiting go out ahead
/// of this reply, the CACHING flag of the previous command expires, and the keys this command
/// reads are remembered.
pub fn before_command(ctx: &mut Ctx, spec: &CommandSpec, stat: usize, args: &Args) {
    READER.with(|r| r.set(0));
    let t = &mut ctx.client.tracking;
    let is_exec = spec.name == "exec";
    let nested = !is_exec && t.unit.is_some_and(|u| u == ctx.handle.last_cmd.load(Ordering::Relaxed));
    if !nested {
        if t.clear_caching {
            t.caching = false;
        }
        t.unit = is_exec.then_some(stat);
        // CACHING applies to the next command, or to the whole transaction it is followed by;
        // any CLIENT subcommand in between leaves it alone, as in Redis.
        let multi = ctx.client.multi.is_some();
        t.clear_caching = !(spec.name.starts_with("client|")
            || spec.name == "multi"
            || (multi && !matches!(spec.name, "exec" | "discard")));
        if ctx.client.reply_mode == ReplyMode::On {
            let mut outbox = ctx.handle.outbox.lock();
            if !outbox.is_empty() {
                ctx.reply.out.extend_from_slice(&outbox);
                outbox.clear();
            }
        }
    }
    let t = &ctx.client.tracking;
    if t.bcast
        || !spec.has(flags::READONLY)
        || spec.has(flags::PUBSUB)
        || matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
        || (t.optin && !t.caching)
        || (t.optout && t.caching)
    {
        return;
    }
    let positions = spec.key_positions(args);
    if positions.is_empty() {
        return;
    }
    READER.with(|r| r.set(ctx.handle.id));
    let tracking = &ctx.server.tracking;
    let added = tracking.remember(ctx.handle, positions.iter().map(|&i| args.get(i)));
    if added > 0 {
        tracking.limit(ctx.rng, added);
    }
}

/// After a successful write: invalidates the keys the command names for every client that
/// read them, and tells broadcasting clients. Call only when [`Tracking::any`].
pub fn keys_written(ctx: &mut Ctx, spec: &CommandSpec, args: &Args) {
    // A blocking command about to wait has changed nothing yet.
    if ctx.client.block.is_some() {
        return;
    }
    let positions = spec.key_positions(args);
    if positions.is_empty() {
        return;
    }
    let keys: Vec<&[u8]> = positions.iter().map(|&i| args.get(i)).collect();
    ctx.server.tracking.written(&keys, Some(ctx.handle.id), 0);
}

/// Whether the store must report expired keys to [`key_expired`].
pub fn wants_expired() -> bool {
    EXPIRY_REPORTS.load(Ordering::SeqCst)
}

/// A key deleted by the server itself (expiry): invalidates it like a write by nobody.
pub fn key_expired(server: &Server, key: &[u8]) {
    if server.tracking.any() {
        server.tracking.written(&[key], None, READER.with(Cell::get));
    }
}

/// After FLUSHDB/FLUSHALL: every tracking client is told to drop everything, and the table
/// starts empty (Redis does both for either command).
pub fn flushed(ctx: &mut Ctx) {
    let tracking = &ctx.server.tracking;
    if tracking.clients() > 0 {
        let targets: Vec<Arc<ClientHandle>> = ctx.server.clients.lock().values().cloned().collect();
        for target in targets {
            deliver(&target, Payload::Flush, None, false);
        }
    }
    tracking.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_overlap_when_one_starts_the_other() {
        assert!(overlaps(b"a", b"ab"));
        assert!(overlaps(b"ab", b"a"));
        assert!(overlaps(b"", b"x"));
        assert!(overlaps(b"same", b"same"));
        assert!(!overlaps(b"ab", b"ac"));
    }

    #[test]
    fn prefixes_print_up_to_their_first_nul() {
        assert_eq!(shown(b"a\0b"), "a");
        assert_eq!(shown(b"plain"), "plain");
    }
}

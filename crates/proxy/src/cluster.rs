//! Redis Cluster as a pool's backend (`backend: redis-cluster`, a Roost extension).
//!
//! Owns: Redis Cluster's key -> slot function (CRC-16/XMODEM of the key, or of its first
//! non-empty `{hash tag}`, mod 16384), the slot table, reading `CLUSTER SLOTS` and the
//! `-MOVED`/`-ASK` redirections, and the per-pool task that refreshes the slot map.
//! Never: client connections. Requests and their redirections travel over the workers' own
//! pipelined backend connections (`client.rs`); this module only tells them where to go.
//!
//! The slot map is learned from a seed (`servers:`, tried in order, then any node already
//! known) at start, after a reload, and whenever a worker sees `MOVED` or loses a node, at most
//! one query at a time and not more often than every `MIN_REFRESH_INTERVAL`. A reply that does
//! not parse leaves the running table in place.

use std::sync::atomic::{AtomicU16, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend::connect;
use crate::config::ServerAddr;
use crate::log;
use crate::pool::PoolShared;
use crate::reply::{encode_command, reply_len};

pub const SLOT_COUNT: usize = roost_resp::slot::SLOTS;
/// Redirections followed for one request before the last one is handed to the client: a slot
/// that moves more often than this while a request chases it is a cluster in trouble.
pub const MAX_REDIRECTS: usize = 5;
/// The shortest time between two `CLUSTER SLOTS` queries of one pool.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(100);
/// Redis's own text for keys of one request in several slots.
pub const CROSSSLOT: &str = "CROSSSLOT Keys in a request don't hash to the same slot";

/// How long a query may take when the pool sets no `timeout`.
const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed refresh (every node refused or answered nonsense), when to try again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);
/// How often an idle task looks whether its pool was removed or changed mode.
const IDLE_RECHECK: Duration = Duration::from_secs(1);
/// A `CLUSTER SLOTS` reply larger than this is not one (a thousand-node cluster's is < 1 MB).
const MAX_REPLY: usize = 64 * 1024 * 1024;
/// A slot with no known owner.
const UNASSIGNED: u16 = u16::MAX;

pub use roost_resp::slot::key_slot;

/// Slot -> node index (into the pool view's server list). Entries are atomics so that a
/// worker told `MOVED` can point the slot at its new owner at once, without a lock and without
/// copying the table; the refresh that follows publishes a complete new table anyway.
pub struct SlotTable {
    owners: Box<[AtomicU16]>,
}

impl SlotTable {
    pub fn unassigned() -> SlotTable {
        SlotTable { owners: (0..SLOT_COUNT).map(|_| AtomicU16::new(UNASSIGNED)).collect() }
    }

    /// From `(first slot, last slot, node index)` ranges; later ranges win where they overlap.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u16, u16, usize)>) -> SlotTable {
        let t = SlotTable::unassigned();
        for (first, last, node) in ranges {
            let Ok(node) = u16::try_from(node) else { continue };
            for slot in first..=last.min(SLOT_COUNT as u16 - 1) {
                t.set_raw(slot, node);
            }
        }
        t
    }

    pub fn owner(&self, slot: u16) -> Option<usize> {
        match self.owners.get(slot as usize)?.load(Relaxed) {
            UNASSIGNED => None,
            i => Some(i as usize),
        }
    }

    /// Points `slot` at node `node` (ignored for nodes beyond the table's index range).
    pub fn set(&self, slot: u16, node: usize) {
        if let Ok(n) = u16::try_from(node) {
            if n != UNASSIGNED {
                self.set_raw(slot, n);
            }
        }
    }

    fn set_raw(&self, slot: u16, node: u16) {
        if let Some(o) = self.owners.get(slot as usize) {
            o.store(node, Relaxed);
        }
    }

    pub fn copy(&self) -> SlotTable {
        self.remap(Some)
    }

    /// A copy with every owner index passed through `map` (`None`: the slot becomes unknown).
    pub fn remap(&self, map: impl Fn(usize) -> Option<usize>) -> SlotTable {
        let t = SlotTable::unassigned();
        for slot in 0..SLOT_COUNT as u16 {
            if let Some(n) = self.owner(slot).and_then(&map) {
                t.set(slot, n);
            }
        }
        t
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// The slot has moved for good: update the table, resend there.
    Moved,
    /// The slot is being migrated and this key is already on the target: resend there once,
    /// after `ASKING`, and keep the table.
    Ask,
}

/// A parsed `-MOVED <slot> <host>:<port>` or `-ASK <slot> <host>:<port>` reply. An empty host
/// means the node that sent the redirection (Redis 7 with an unknown endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect<'a> {
    pub kind: RedirectKind,
    pub slot: u16,
    pub host: &'a str,
    pub port: u16,
}

/// Whether a reply is a redirection at all (cheap: the request path asks it of every error).
pub fn is_redirect(reply: &[u8]) -> bool {
    reply.starts_with(b"-MOVED ") || reply.starts_with(b"-ASK ")
}

/// Reads a redirection; `None` for any other reply, or one that does not parse.
pub fn parse_redirect(reply: &[u8]) -> Option<Redirect<'_>> {
    let (kind, rest) = if let Some(r) = reply.strip_prefix(b"-MOVED ") {
        (RedirectKind::Moved, r)
    } else {
        (RedirectKind::Ask, reply.strip_prefix(b"-ASK ")?)
    };
    let rest = std::str::from_utf8(rest.strip_suffix(b"\r\n")?).ok()?;
    let mut parts = rest.split(' ');
    let slot: u16 = parts.next()?.parse().ok().filter(|&s| (s as usize) < SLOT_COUNT)?;
    let endpoint = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    // From the right: an IPv6 address has colons of its own.
    let (host, port) = endpoint.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|&p| p > 0)?;
    Some(Redirect { kind, slot, host, port })
}

/// A slot map as `CLUSTER SLOTS` gives it: the masters (`host`, `port`) and which slot ranges
/// each serves (`first`, `last`, index into `nodes`). Replicas are not used: the proxy sends
/// everything to masters, so it never needs `READONLY`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    pub nodes: Vec<(String, u16)>,
    pub ranges: Vec<(u16, u16, usize)>,
}

/// The RESP values a `CLUSTER SLOTS` reply is made of; everything else is `Other`.
#[derive(Debug)]
enum Value<'a> {
    Int(i64),
    Str(&'a [u8]),
    Error(&'a [u8]),
    Array(Vec<Value<'a>>),
    Other,
}

/// Reads one complete value at the start of `buf`. Bounded in depth and by the input: every
/// element consumes at least three bytes, so a hostile count cannot make it allocate more
/// than the input justifies.
fn value(buf: &[u8], depth: usize) -> Result<(Value<'_>, usize), String> {
    const MAX_DEPTH: usize = 8;
    let line_end = buf.windows(2).position(|w| w == b"\r\n").ok_or("truncated reply")?;
    let head = buf.get(1..line_end).ok_or("empty reply")?;
    let after = line_end + 2;
    let num = |h: &[u8]| -> Result<i64, String> {
        std::str::from_utf8(h).ok().and_then(|s| s.parse().ok()).ok_or_else(|| "bad number".to_string())
    };
    match buf[0] {
        b':' => Ok((Value::Int(num(head)?), after)),
        b'+' => Ok((Value::Str(head), after)),
        b'-' => Ok((Value::Error(head), after)),
        b'$' => {
            let n = num(head)?;
            if n < 0 {
                return Ok((Value::Other, after));
            }
            let end = after.checked_add(n as usize).ok_or("bad length")?;
            let s = buf.get(after..end).ok_or("truncated string")?;
            if buf.get(end..end + 2) != Some(b"\r\n") {
                return Err("bad string terminator".into());
            }
            Ok((Value::Str(s), end + 2))
        }
        b'*' | b'%' | b'~' => {
            let n = num(head)?;
            if n < 0 {
                return Ok((Value::Other, after));
            }
            if depth >= MAX_DEPTH {
                return Err("nested too deeply".into());
            }
            // Maps (RESP3) hold key and value per entry.
            let count = if buf[0] == b'%' { (n as usize).saturating_mul(2) } else { n as usize };
            if count > buf.len() / 3 {
                return Err("element count larger than the reply".into());
            }
            let mut items = Vec::with_capacity(count);
            let mut pos = after;
            for _ in 0..count {
                let (v, used) = value(&buf[pos..], depth + 1)?;
                items.push(v);
                pos += used;
            }
            Ok((Value::Array(items), pos))
        }
        b'_' | b'#' | b',' | b'(' => Ok((Value::Other, after)),
        other => Err(format!("unexpected reply type {:?}", other as char)),
    }
}

/// Parses a `CLUSTER SLOTS` reply. `asked` is the host the query went to, which an empty
/// node address stands for. Any malformed entry fails the whole reply: a half-read map would
/// send keys to wrong nodes, while the old table at worst costs redirections.
pub fn parse_cluster_slots(reply: &[u8], asked: Option<&str>) -> Result<Topology, String> {
    let (v, used) = value(reply, 0)?;
    if used != reply.len() {
        return Err("trailing bytes after the reply".into());
    }
    let entries = match v {
        Value::Array(items) => items,
        Value::Error(e) => return Err(format!("node answered -{}", String::from_utf8_lossy(e))),
        _ => return Err("reply is not an array".into()),
    };
    let mut t = Topology::default();
    for (i, entry) in entries.iter().enumerate() {
        let bad = |why: &str| format!("entry {i}: {why}");
        let Value::Array(fields) = entry else { return Err(bad("not an array")) };
        let slot = |f: Option<&Value>| match f {
            Some(Value::Int(n)) if (0..SLOT_COUNT as i64).contains(n) => Some(*n as u16),
            _ => None,
        };
        let (Some(first), Some(last)) = (slot(fields.first()), slot(fields.get(1))) else {
            return Err(bad("slot range is not two numbers below 16384"));
        };
        if first > last {
            return Err(bad("slot range ends before it starts"));
        }
        let Some(Value::Array(master)) = fields.get(2) else { return Err(bad("no master node")) };
        let host = match master.first() {
            Some(Value::Str(h)) => std::str::from_utf8(h).map_err(|_| bad("node address is not text"))?,
            _ => return Err(bad("node address missing")),
        };
        let port = match master.get(1) {
            Some(Value::Int(p)) if (1..=65535).contains(p) => *p as u16,
            _ => return Err(bad("node port missing or out of range")),
        };
        // "?" is Redis 7's unknown endpoint: nobody can be sent there, the slots stay unknown.
        if host == "?" {
            continue;
        }
        let host = match (host, asked) {
            ("", Some(a)) => a,
            ("", None) => return Err(bad("empty node address and no host to stand for it")),
            (h, _) => h,
        };
        let node = match t.nodes.iter().position(|(h, p)| h == host && *p == port) {
            Some(n) => n,
            None => {
                t.nodes.push((host.to_string(), port));
                t.nodes.len() - 1
            }
        };
        t.ranges.push((first, last, node));
    }
    if t.ranges.is_empty() {
        // A node that is not (yet) part of a cluster answers with an empty list; taking that
        // would forget every owner.
        return Err("no slot is assigned".into());
    }
    Ok(t)
}

/// Keeps a Redis Cluster pool's slot map current until a reload removes the pool. Runs on the
/// main thread's runtime, as the health check does: the workers only ever ask (`request_refresh`)
/// and never wait for it.
pub async fn run(pool: Arc<PoolShared>) {
    // The first map is fetched at once; until it arrives requests go to any node and follow
    // its MOVED.
    let mut due = true;
    while !pool.is_removed() {
        if pool.view().slots.is_none() {
            // Not in cluster mode; a reload may switch it, and then a map is needed at once.
            due = true;
            tokio::time::sleep(IDLE_RECHECK).await;
            continue;
        }
        if !due {
            // The flag, not the wake-up, decides: a wake-up can be stale, and a lost one only
            // delays the refresh to the next recheck.
            let _ = tokio::time::timeout(IDLE_RECHECK, pool.refresh_requested()).await;
            if !pool.take_refresh_request() {
                continue;
            }
        } else {
            pool.take_refresh_request();
        }
        match refresh(&pool).await {
            Ok(()) => {
                due = false;
                tokio::time::sleep(MIN_REFRESH_INTERVAL).await;
            }
            Err(e) => {
                log::warn(format_args!(
                    "pool '{}': no slot map from any node, keeping the current one: {e}",
                    pool.name
                ));
                due = true;
                tokio::time::sleep(RETRY_AFTER_FAILURE).await;
            }
        }
    }
}

/// Asks the seeds in order, then the other known nodes, for `CLUSTER SLOTS`, and installs the
/// first map that parses.
async fn refresh(pool: &PoolShared) -> Result<(), String> {
    let view = pool.view();
    let timeout = view.cfg.timeout.unwrap_or(DEFAULT_QUERY_TIMEOUT);
    let auth = view.cfg.redis_auth.clone();
    let mut candidates: Vec<ServerAddr> = view.cfg.servers.iter().map(|s| s.addr.clone()).collect();
    for s in view.servers.iter() {
        if !candidates.contains(&s.cfg.addr) {
            candidates.push(s.cfg.addr.clone());
        }
    }
    drop(view);
    let mut errors = Vec::new();
    for addr in candidates {
        let reply = match tokio::time::timeout(
            timeout,
            query(&addr, auth.as_deref(), &[b"CLUSTER", b"SLOTS"], MAX_REPLY),
        )
        .await
        {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                errors.push(format!("{addr}: {e}"));
                continue;
            }
            Err(_) => {
                errors.push(format!("{addr}: timed out"));
                continue;
            }
        };
        let asked = match &addr {
            ServerAddr::Tcp { host, .. } => Some(host.as_str()),
            ServerAddr::Unix { .. } => None,
        };
        match parse_cluster_slots(&reply, asked) {
            Ok(t) => {
                if let Some(c) = pool.install_topology(&t) {
                    let changed = c.moved_slots > 0 || !c.added.is_empty() || !c.removed.is_empty();
                    let say = |m: std::fmt::Arguments<'_>| if changed { log::notice(m) } else { log::info(m) };
                    say(format_args!(
                        "pool '{}': slot map from {addr}: {} masters, {} slots assigned, {} changed owner; nodes added: {}; removed: {}",
                        pool.name,
                        t.nodes.len(),
                        c.assigned_slots,
                        c.moved_slots,
                        if c.added.is_empty() { "none".into() } else { c.added.join(", ") },
                        if c.removed.is_empty() { "none".into() } else { c.removed.join(", ") },
                    ));
                }
                return Ok(());
            }
            Err(e) => {
                log::warn(format_args!("pool '{}': malformed CLUSTER SLOTS reply from {addr}: {e}", pool.name));
                errors.push(format!("{addr}: {e}"));
            }
        }
    }
    Err(errors.join("; "))
}

/// Sends one command on a connection of its own (after `AUTH` with a password) and returns its
/// reply's bytes; a reply longer than `max_reply` is refused. The slot-map refresh and the
/// health check both talk to servers this way.
pub(crate) async fn query(
    addr: &ServerAddr,
    auth: Option<&str>,
    cmd: &[&[u8]],
    max_reply: usize,
) -> Result<Vec<u8>, String> {
    let (mut rd, mut wr) = connect(addr).await.map_err(str::to_string)?;
    let mut req = Vec::new();
    if let Some(pw) = auth {
        encode_command(&mut req, [&b"AUTH"[..], pw.as_bytes()].into_iter());
    }
    encode_command(&mut req, cmd.iter().copied());
    wr.write_all(&req).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut replies: Vec<Vec<u8>> = Vec::new();
    let want = if auth.is_some() { 2 } else { 1 };
    while replies.len() < want {
        match reply_len(&buf) {
            Ok(Some(n)) => {
                replies.push(buf.drain(..n).collect());
                continue;
            }
            Ok(None) => {}
            Err(_) => return Err("unparseable reply".into()),
        }
        if buf.len() > max_reply {
            return Err("reply too long".into());
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => return Err("connection closed".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if auth.is_some() && replies[0] != b"+OK\r\n" {
        return Err(format!("AUTH answered {}", String::from_utf8_lossy(replies[0].trim_ascii_end())));
    }
    replies.pop().ok_or_else(|| "no reply".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from Redis's CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"123456789"), 0x31c3 & 0x3fff);
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn hash_tags_follow_redis_rules() {
        // The first '{', the first '}' after it, and only a non-empty content counts.
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"{user1000}.followers"), key_slot(b"{user1000}.following"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"), "an empty first tag means the whole key");
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"{bar"), roost_resp::slot::crc16(b"{bar") & 0x3fff, "no closing brace: the whole key");
    }

    #[test]
    fn slot_table_ranges_updates_and_remaps() {
        let t = SlotTable::from_ranges([(0, 5460, 0), (5461, 10922, 1), (10923, 16383, 2)]);
        assert_eq!(t.owner(0), Some(0));
        assert_eq!(t.owner(5461), Some(1));
        assert_eq!(t.owner(16383), Some(2));
        assert_eq!(t.owner(16384), None, "beyond the table");
        t.set(42, 2);
        assert_eq!(t.owner(42), Some(2));
        t.set(42, 70_000);
        assert_eq!(t.owner(42), Some(2), "indexes a table cannot hold are ignored");
        let r = t.remap(|i| (i != 1).then_some(i + 10));
        assert_eq!((r.owner(0), r.owner(6000), r.owner(16000)), (Some(10), None, Some(12)));
        assert_eq!(SlotTable::unassigned().owner(7), None);
        let c = t.copy();
        t.set(1, 1);
        assert_eq!((c.owner(1), t.owner(1)), (Some(0), Some(1)), "a copy is independent");
    }

    #[test]
    fn redirections_parse() {
        assert_eq!(
            parse_redirect(b"-MOVED 3999 127.0.0.1:6381\r\n"),
            Some(Redirect { kind: RedirectKind::Moved, slot: 3999, host: "127.0.0.1", port: 6381 })
        );
        assert_eq!(
            parse_redirect(b"-ASK 16383 ::1:7000\r\n"),
            Some(Redirect { kind: RedirectKind::Ask, slot: 16383, host: "::1", port: 7000 })
        );
        assert_eq!(parse_redirect(b"-MOVED 1 :7000\r\n").map(|r| r.host), Some(""));
        for bad in [
            &b"-MOVED 16384 h:1\r\n"[..],
            b"-MOVED x h:1\r\n",
            b"-MOVED 1 h\r\n",
            b"-MOVED 1 h:0\r\n",
            b"-MOVED 1 h:99999\r\n",
            b"-MOVED 1 h:1 extra\r\n",
            b"-MOVED 1 h:1",
            b"-ERR MOVED 1 h:1\r\n",
            b"+MOVED 1 h:1\r\n",
            b"-MOVED 1 \xff:1\r\n",
        ] {
            assert_eq!(parse_redirect(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(is_redirect(b"-ASK 1 h:1\r\n") && !is_redirect(b"-ASKING\r\n"));
    }

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    fn node(host: &str, port: u16, id: &str) -> String {
        format!("*3\r\n{}:{port}\r\n{}", bulk(host), bulk(id))
    }

    #[test]
    fn cluster_slots_reply_parses_into_masters_and_ranges() {
        // Two ranges on one master (with a replica), one on another, Redis 7's metadata map.
        let reply = format!(
            "*3\r\n*4\r\n:0\r\n:5460\r\n{}{}*3\r\n:5461\r\n:10922\r\n*4\r\n{}:7001\r\n{}*0\r\n*3\r\n:10923\r\n:16383\r\n{}",
            node("127.0.0.1", 7000, "a"),
            node("127.0.0.1", 7100, "r"),
            bulk("10.0.0.2"),
            bulk("b"),
            node("127.0.0.1", 7000, "a"),
        );
        let t = parse_cluster_slots(reply.as_bytes(), Some("seed")).unwrap();
        assert_eq!(t.nodes, [("127.0.0.1".to_string(), 7000), ("10.0.0.2".to_string(), 7001)]);
        assert_eq!(t.ranges, [(0, 5460, 0), (5461, 10922, 1), (10923, 16383, 0)]);
        let table = SlotTable::from_ranges(t.ranges.iter().copied());
        assert_eq!(table.owner(key_slot(b"foo")), Some(0));
    }

    #[test]
    fn empty_and_unknown_node_addresses() {
        let reply =
            format!("*2\r\n*3\r\n:0\r\n:10\r\n{}*3\r\n:11\r\n:20\r\n{}", node("", 7000, "a"), node("?", 7001, "b"));
        let t = parse_cluster_slots(reply.as_bytes(), Some("10.1.1.1")).unwrap();
        assert_eq!(t.nodes, [("10.1.1.1".to_string(), 7000)]);
        assert_eq!(t.ranges, [(0, 10, 0)]);
        assert!(parse_cluster_slots(reply.as_bytes(), None).is_err());
    }

    #[test]
    fn malformed_cluster_slots_replies_are_refused() {
        let ok_node = node("h", 1, "x");
        for (reply, why) in [
            ("*0\r\n".to_string(), "no slot is assigned"),
            ("-ERR This instance has cluster support disabled\r\n".into(), "cluster support disabled"),
            ("+OK\r\n".into(), "not an array"),
            (format!("*1\r\n*3\r\n:0\r\n:16384\r\n{ok_node}"), "below 16384"),
            (format!("*1\r\n*3\r\n:9\r\n:1\r\n{ok_node}"), "ends before"),
            ("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n".into(), "port"),
            ("*1\r\n*2\r\n:0\r\n:1\r\n".into(), "no master"),
            ("*1\r\n:5\r\n".into(), "not an array"),
            ("*2\r\n*0\r\n".into(), "truncated"),
            ("*99999999\r\n".into(), "larger than the reply"),
            (format!("*1\r\n*3\r\n:0\r\n:1\r\n{ok_node}junk"), "trailing"),
            ("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$5\r\nh\r\n:1\r\n".into(), ""),
            ("?\r\n".into(), "unexpected"),
        ] {
            let r = parse_cluster_slots(reply.as_bytes(), Some("h"));
            let e = r.expect_err(&reply);
            assert!(e.contains(why), "{reply:?}: {e}");
        }
        let deep = "*1\r\n".repeat(100) + ":1\r\n";
        assert!(parse_cluster_slots(deep.as_bytes(), None).unwrap_err().contains("deeply"));
    }
}

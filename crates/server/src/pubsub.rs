//! Pub/Sub: who listens to which channel, pattern and shard channel, and the delivery of
//! messages to subscribers on any worker.
//!
//! Channels and shard channels live in maps split into independently locked parts by a hash of
//! the channel name, so publishers to different channels never wait on each other. Patterns are
//! few in practice and every publish must try them all, so they sit in one list behind a
//! read-mostly lock, skipped entirely while nobody has a pattern subscription.
//!
//! A message goes into each subscriber's outbox (its connection writes it between replies), in
//! the protocol that subscriber speaks now. One publisher's messages reach a subscriber in the
//! order published, because each is appended to the outbox before PUBLISH returns.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use foldhash::fast::RandomState;
use parking_lot::{Mutex, RwLock};

use roost_config::Config;
use roost_resp::write_int;
use roost_resp::ReplyBuf;
use roost_store::{glob, now_ms};

use crate::client::{ClientHandle, ClientState};
use crate::server::Server;

/// Parts of each channel map; a power of two well above the worker count.
const PARTS: usize = 64;

/// One subscribed client as the registry holds it: shared by all its subscriptions.
pub struct Subscriber {
    pub handle: Arc<ClientHandle>,
    /// When its waiting output first went over the soft limit (Unix ms); 0 while under it.
    soft_since_ms: AtomicU64,
}

type Subscribers = Vec<Arc<Subscriber>>;
type ChannelPart = RwLock<HashMap<Box<[u8]>, Subscribers, RandomState>>;

/// Channel name -> subscribers, split in parts by a hash of the name.
struct ChannelMap {
    parts: Box<[ChannelPart]>,
    hasher: RandomState,
    /// Channels with at least one subscriber (INFO, PUBSUB NUMSUB needs no total).
    count: AtomicUsize,
}

impl ChannelMap {
    fn new() -> ChannelMap {
        ChannelMap {
            parts: (0..PARTS).map(|_| RwLock::new(HashMap::with_hasher(RandomState::default()))).collect(),
            hasher: RandomState::default(),
            count: AtomicUsize::new(0),
        }
    }

    fn part(&self, channel: &[u8]) -> &ChannelPart {
        &self.parts[self.hasher.hash_one(channel) as usize & (PARTS - 1)]
    }

    fn add(&self, channel: &[u8], sub: &Arc<Subscriber>) {
        let mut part = self.part(channel).write();
        match part.get_mut(channel) {
            Some(list) => list.push(sub.clone()),
            None => {
                part.insert(channel.into(), vec![sub.clone()]);
                self.count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn remove(&self, channel: &[u8], id: u64) {
        let mut part = self.part(channel).write();
        if let Some(list) = part.get_mut(channel) {
            list.retain(|s| s.handle.id != id);
            if list.is_empty() {
                part.remove(channel);
                self.count.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn subscribers(&self, channel: &[u8]) -> usize {
        self.part(channel).read().get(channel).map_or(0, Vec::len)
    }

    /// Active channel names matching `pattern` (all with None).
    fn names(&self, pattern: Option<&[u8]>) -> Vec<Box<[u8]>> {
        let mut out = Vec::new();
        for part in self.parts.iter() {
            for name in part.read().keys() {
                if pattern.is_none_or(|p| glob::matches(p, name, false)) {
                    out.push(name.clone());
                }
            }
        }
        out
    }
}

/// What one client is subscribed to, for unsubscribing from everything and CLIENT LIST.
#[derive(Default)]
struct ClientSubs {
    sub: Option<Arc<Subscriber>>,
    /// Sets, as in Redis, so UNSUBSCRIBE without arguments answers in no particular order.
    channels: HashSet<Box<[u8]>, RandomState>,
    /// A list, as in Redis: PUNSUBSCRIBE without arguments answers in subscription order.
    patterns: Vec<Box<[u8]>>,
    shard_channels: HashSet<Box<[u8]>, RandomState>,
}

impl ClientSubs {
    fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }
}

/// Which of the three subscription kinds a command works on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// The `pubsub` class of client-output-buffer-limit, mirrored from the configuration.
#[derive(Default)]
struct BufferLimit {
    hard: AtomicU64,
    soft: AtomicU64,
    soft_secs: AtomicU64,
}

/// The registry of every subscription on the server.
pub struct PubSub {
    channels: ChannelMap,
    shard_channels: ChannelMap,
    /// Distinct patterns in order of first subscription, each with its subscribers.
    patterns: RwLock<Vec<(Box<[u8]>, Subscribers)>>,
    /// Distinct patterns subscribed to; 0 lets PUBLISH skip the pattern list and its lock.
    pattern_count: AtomicUsize,
    /// Per-client subscriptions, split by client id.
    clients: Box<[Mutex<HashMap<u64, ClientSubs, RandomState>>]>,
    limit: BufferLimit,
    /// Keyspace notification classes in effect (`notify` bits), 0 when no notification is
    /// sent: command handlers test this with one relaxed load.
    pub notify_flags: AtomicU32,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new()
    }
}

impl PubSub {
    pub fn new() -> PubSub {
        PubSub {
            channels: ChannelMap::new(),
            shard_channels: ChannelMap::new(),
            patterns: RwLock::new(Vec::new()),
            pattern_count: AtomicUsize::new(0),
            clients: (0..PARTS).map(|_| Mutex::new(HashMap::with_hasher(RandomState::default()))).collect(),
            limit: BufferLimit::default(),
            notify_flags: AtomicU32::new(0),
        }
    }

    /// Takes the values this module reads without the configuration lock.
    pub fn apply_config(&self, config: &Config) {
        let [_, _, pubsub] = config.client_output_buffer_limits();
        self.limit.hard.store(pubsub.hard_bytes, Ordering::Relaxed);
        self.limit.soft.store(pubsub.soft_bytes, Ordering::Relaxed);
        self.limit.soft_secs.store(pubsub.soft_seconds.max(0) as u64, Ordering::Relaxed);
        crate::notify::apply_flags(self, config.notify_keyspace_events());
    }

    fn client_part(&self, id: u64) -> &Mutex<HashMap<u64, ClientSubs, RandomState>> {
        &self.clients[id as usize & (PARTS - 1)]
    }

    /// Channels with subscribers, distinct patterns, shard channels with subscribers.
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.channels.count.load(Ordering::Relaxed),
            self.pattern_count.load(Ordering::Relaxed),
            self.shard_channels.count.load(Ordering::Relaxed),
        )
    }

    /// (channels, patterns, shard channels) one client is subscribed to.
    pub fn client_counts(&self, id: u64) -> (usize, usize, usize) {
        match self.client_part(id).lock().get(&id) {
            Some(c) => (c.channels.len(), c.patterns.len(), c.shard_channels.len()),
            None => (0, 0, 0),
        }
    }

    /// Subscribes `handle` to `name`; false if it already was. Returns the count Redis reports
    /// after it: channels + patterns, or shard channels for a shard subscription.
    fn subscribe(&self, handle: &Arc<ClientHandle>, kind: Kind, name: &[u8]) -> (bool, usize) {
        let mut part = self.client_part(handle.id).lock();
        let subs = part.entry(handle.id).or_default();
        let sub = subs
            .sub
            .get_or_insert_with(|| Arc::new(Subscriber { handle: handle.clone(), soft_since_ms: AtomicU64::new(0) }))
            .clone();
        let added = match kind {
            Kind::Channel => {
                let added = subs.channels.insert(name.into());
                if added {
                    self.channels.add(name, &sub);
                }
                added
            }
            Kind::Shard => {
                let added = subs.shard_channels.insert(name.into());
                if added {
                    self.shard_channels.add(name, &sub);
                }
                added
            }
            Kind::Pattern => {
                let added = !subs.patterns.iter().any(|p| &**p == name);
                if added {
                    subs.patterns.push(name.into());
                    let mut patterns = self.patterns.write();
                    match patterns.iter_mut().find(|(p, _)| &**p == name) {
                        Some((_, list)) => list.push(sub),
                        None => {
                            patterns.push((name.into(), vec![sub]));
                            self.pattern_count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                added
            }
        };
        handle.subscriptions.store(subs.total(), Ordering::Relaxed);
        (added, reported_count(subs, kind))
    }

    /// Unsubscribes `handle` from `name`; returns the count Redis reports after it.
    fn unsubscribe(&self, handle: &ClientHandle, kind: Kind, name: &[u8]) -> usize {
        let mut part = self.client_part(handle.id).lock();
        let Some(subs) = part.get_mut(&handle.id) else { return 0 };
        match kind {
            Kind::Channel => {
                if subs.channels.remove(name) {
                    self.channels.remove(name, handle.id);
                }
            }
            Kind::Shard => {
                if subs.shard_channels.remove(name) {
                    self.shard_channels.remove(name, handle.id);
                }
            }
            Kind::Pattern => {
                if let Some(pos) = subs.patterns.iter().position(|p| &**p == name) {
                    subs.patterns.remove(pos);
                    let mut patterns = self.patterns.write();
                    if let Some(i) = patterns.iter().position(|(p, _)| &**p == name) {
                        patterns[i].1.retain(|s| s.handle.id != handle.id);
                        if patterns[i].1.is_empty() {
                            patterns.remove(i);
                            self.pattern_count.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        let count = reported_count(subs, kind);
        let total = subs.total();
        handle.subscriptions.store(total, Ordering::Relaxed);
        if total == 0 {
            part.remove(&handle.id);
        }
        count
    }

    /// The names `handle` is subscribed to of one kind.
    fn subscribed(&self, id: u64, kind: Kind) -> Vec<Box<[u8]>> {
        let part = self.client_part(id).lock();
        let Some(subs) = part.get(&id) else { return Vec::new() };
        match kind {
            Kind::Channel => subs.channels.iter().cloned().collect(),
            Kind::Pattern => subs.patterns.clone(),
            Kind::Shard => subs.shard_channels.iter().cloned().collect(),
        }
    }

    /// Drops every subscription of a client (RESET, disconnection) without replying.
    pub fn forget_client(&self, handle: &ClientHandle) {
        let Some(subs) = self.client_part(handle.id).lock().remove(&handle.id) else { return };
        for c in &subs.channels {
            self.channels.remove(c, handle.id);
        }
        for c in &subs.shard_channels {
            self.shard_channels.remove(c, handle.id);
        }
        if !subs.patterns.is_empty() {
            let mut patterns = self.patterns.write();
            for name in &subs.patterns {
                if let Some(i) = patterns.iter().position(|(p, _)| p == name) {
                    patterns[i].1.retain(|s| s.handle.id != handle.id);
                    if patterns[i].1.is_empty() {
                        patterns.remove(i);
                        self.pattern_count.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            }
        }
        handle.subscriptions.store(0, Ordering::Relaxed);
    }

    pub fn numsub(&self, channel: &[u8], shard: bool) -> usize {
        if shard {
            self.shard_channels.subscribers(channel)
        } else {
            self.channels.subscribers(channel)
        }
    }

    pub fn channel_names(&self, pattern: Option<&[u8]>, shard: bool) -> Vec<Box<[u8]>> {
        if shard {
            self.shard_channels.names(pattern)
        } else {
            self.channels.names(pattern)
        }
    }

    /// Queues one message for a subscriber (or, if it is the client publishing, writes it into
    /// that client's own reply ahead of PUBLISH's answer), enforcing the output buffer limit.
    /// A subscriber closed for its output is added to `dropped`, for the caller to unsubscribe
    /// once it holds no registry lock.
    fn deliver(
        &self,
        sub: &Subscriber,
        msg: &mut Message,
        me: &mut Option<(u64, &mut ReplyBuf)>,
        dropped: &mut Vec<Arc<ClientHandle>>,
    ) {
        let h = &sub.handle;
        if let Some((id, reply)) = me {
            if *id == h.id {
                reply.out.extend_from_slice(msg.bytes(reply.resp3));
                return;
            }
        }
        if h.killed.load(Ordering::Relaxed) {
            return;
        }
        let waiting = h.push_out(msg.bytes(h.resp3.load(Ordering::Relaxed)));
        if self.over_limit(sub, waiting as u64) {
            dropped.push(h.clone());
        }
    }

    /// Unsubscribes clients closed for their output at once, as Redis frees them before the
    /// next publish (their connection may take longer to notice).
    fn drop_closed(&self, dropped: Vec<Arc<ClientHandle>>) {
        for h in dropped {
            self.forget_client(&h);
        }
    }

    /// Redis's rule for the pubsub class: over the hard limit the client goes at once; over the
    /// soft limit it goes once it has stayed over for longer than the soft seconds.
    fn over_limit(&self, sub: &Subscriber, waiting: u64) -> bool {
        let hard = self.limit.hard.load(Ordering::Relaxed);
        let soft = self.limit.soft.load(Ordering::Relaxed);
        let over_hard = hard > 0 && waiting >= hard;
        let mut over_soft = false;
        if soft > 0 && waiting >= soft {
            let now = now_ms();
            match sub.soft_since_ms.load(Ordering::Relaxed) {
                0 => sub.soft_since_ms.store(now, Ordering::Relaxed),
                since => over_soft = now.saturating_sub(since) > self.limit.soft_secs.load(Ordering::Relaxed) * 1000,
            }
        } else if soft > 0 {
            sub.soft_since_ms.store(0, Ordering::Relaxed);
        }
        if over_hard || over_soft {
            let h = &sub.handle;
            crate::log::log(
                crate::log::WARNING,
                &format!(
                    "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    h.id, h.addr
                ),
            );
            // What is queued will never be written: free it now rather than when the
            // connection notices.
            h.kill();
            std::mem::take(&mut *h.outbox.lock());
            return true;
        }
        false
    }

    /// Sends `message` to the subscribers of `channel` and of the patterns matching it; returns
    /// how many received it. `me` is the publishing client, when there is one.
    pub fn publish_from(&self, channel: &[u8], message: &[u8], mut me: Option<(u64, &mut ReplyBuf)>) -> usize {
        let mut receivers = 0;
        let mut dropped = Vec::new();
        {
            let part = self.channels.part(channel).read();
            if let Some(list) = part.get(channel) {
                let parts: [&[u8]; 3] = [b"message", channel, message];
                let mut msg = Message::new(&parts);
                for sub in list {
                    self.deliver(sub, &mut msg, &mut me, &mut dropped);
                }
                receivers += list.len();
            }
        }
        if self.pattern_count.load(Ordering::Relaxed) > 0 {
            let patterns = self.patterns.read();
            for (pattern, list) in patterns.iter() {
                if !glob::matches(pattern, channel, false) {
                    continue;
                }
                let parts: [&[u8]; 4] = [b"pmessage", pattern, channel, message];
                let mut msg = Message::new(&parts);
                for sub in list {
                    self.deliver(sub, &mut msg, &mut me, &mut dropped);
                }
                receivers += list.len();
            }
        }
        if !dropped.is_empty() {
            self.drop_closed(dropped);
        }
        receivers
    }

    /// SPUBLISH: shard channel subscribers only.
    pub fn spublish_from(&self, channel: &[u8], message: &[u8], mut me: Option<(u64, &mut ReplyBuf)>) -> usize {
        let mut dropped = Vec::new();
        let receivers = {
            let part = self.shard_channels.part(channel).read();
            let Some(list) = part.get(channel) else { return 0 };
            let parts: [&[u8]; 3] = [b"smessage", channel, message];
            let mut msg = Message::new(&parts);
            for sub in list {
                self.deliver(sub, &mut msg, &mut me, &mut dropped);
            }
            list.len()
        };
        if !dropped.is_empty() {
            self.drop_closed(dropped);
        }
        receivers
    }
}

/// The count a (un)subscribe confirmation carries: shard subscriptions are counted apart.
fn reported_count(subs: &ClientSubs, kind: Kind) -> usize {
    match kind {
        Kind::Shard => subs.shard_channels.len(),
        Kind::Channel | Kind::Pattern => subs.channels.len() + subs.patterns.len(),
    }
}

/// One message, encoded for each protocol at most once however many subscribers get it.
struct Message<'a> {
    parts: &'a [&'a [u8]],
    resp2: Option<Vec<u8>>,
    resp3: Option<Vec<u8>>,
}

impl<'a> Message<'a> {
    fn new(parts: &'a [&'a [u8]]) -> Message<'a> {
        Message { parts, resp2: None, resp3: None }
    }

    fn bytes(&mut self, resp3: bool) -> &[u8] {
        let parts = self.parts;
        let slot = if resp3 { &mut self.resp3 } else { &mut self.resp2 };
        slot.get_or_insert_with(|| encode(resp3, parts))
    }
}

/// A RESP2 array or RESP3 push of bulk strings (a missing one, `None`, is a null).
fn encode(resp3: bool, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    out.push(if resp3 { b'>' } else { b'*' });
    write_int(&mut out, parts.len() as i64);
    out.extend_from_slice(b"\r\n");
    for p in parts {
        out.push(b'$');
        write_int(&mut out, p.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Where a message to the client running a command goes: straight into its reply, ahead of
/// the command's answer, when the command runs on the client's own connection state (which
/// then shows its subscriptions); a command run for a script has a reply of its own, so the
/// message goes the way of any other client's.
pub fn own_reply<'a>(client: &ClientState, id: u64, reply: &'a mut ReplyBuf) -> Option<(u64, &'a mut ReplyBuf)> {
    (client.subscriptions > 0).then_some((id, reply))
}

/// Publishes `message` on `channel` for every subscriber (from keyspace notifications, client
/// tracking and other parts of the server); returns the number of receivers.
pub fn publish(server: &Server, channel: &[u8], message: &[u8]) -> usize {
    server.pubsub.publish_from(channel, message, None)
}

/// Writes a (un)subscribe confirmation: `[word, name or null, count]`.
fn confirm(reply: &mut ReplyBuf, word: &[u8], name: Option<&[u8]>, count: usize) {
    if reply.resp3 {
        reply.push(3);
    } else {
        reply.array(3);
    }
    reply.bulk(word);
    match name {
        Some(n) => reply.bulk(n),
        None => reply.null(),
    }
    reply.int(count as i64);
}

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per argument, in order. Returns the
/// client's total subscription count after it.
pub fn subscribe_all(
    pubsub: &PubSub,
    handle: &Arc<ClientHandle>,
    reply: &mut ReplyBuf,
    kind: Kind,
    names: &[&[u8]],
) -> usize {
    for name in names {
        let (_, count) = pubsub.subscribe(handle, kind, name);
        confirm(reply, kind.subscribe_word(), Some(name), count);
    }
    handle.subscriptions.load(Ordering::Relaxed)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the named ones, or with no names every one of
/// that kind (a single confirmation with a null name when there was none). Returns the
/// client's total subscription count after it.
pub fn unsubscribe_all(
    pubsub: &PubSub,
    handle: &Arc<ClientHandle>,
    reply: &mut ReplyBuf,
    kind: Kind,
    names: &[&[u8]],
) -> usize {
    if names.is_empty() {
        let current = pubsub.subscribed(handle.id, kind);
        if current.is_empty() {
            let (c, p, s) = pubsub.client_counts(handle.id);
            let count = if kind == Kind::Shard { s } else { c + p };
            confirm(reply, kind.unsubscribe_word(), None, count);
        }
        for name in &current {
            let count = pubsub.unsubscribe(handle, kind, name);
            confirm(reply, kind.unsubscribe_word(), Some(name), count);
        }
    } else {
        for name in names {
            let count = pubsub.unsubscribe(handle, kind, name);
            confirm(reply, kind.unsubscribe_word(), Some(name), count);
        }
    }
    handle.subscriptions.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_protocols() {
        assert_eq!(encode(false, &[b"message", b"ch", b"hi"]), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
        assert_eq!(encode(true, &[b"smessage", b"", b"x"]), b">3\r\n$8\r\nsmessage\r\n$0\r\n\r\n$1\r\nx\r\n");
    }

    fn client(id: u64) -> Arc<ClientHandle> {
        let addr = "127.0.0.1:1".parse().unwrap();
        Arc::new(ClientHandle::new(id, addr, addr, -1))
    }

    fn limits(p: &PubSub, hard: u64, soft: u64, soft_secs: u64) {
        p.limit.hard.store(hard, Ordering::Relaxed);
        p.limit.soft.store(soft, Ordering::Relaxed);
        p.limit.soft_secs.store(soft_secs, Ordering::Relaxed);
    }

    #[test]
    fn counts_follow_subscriptions() {
        let p = PubSub::new();
        let (a, b) = (client(1), client(2));
        assert_eq!(p.subscribe(&a, Kind::Channel, b"c"), (true, 1));
        assert_eq!(p.subscribe(&a, Kind::Channel, b"c"), (false, 1));
        assert_eq!(p.subscribe(&a, Kind::Pattern, b"c*"), (true, 2));
        assert_eq!(p.subscribe(&a, Kind::Shard, b"s"), (true, 1));
        assert_eq!(p.subscribe(&b, Kind::Pattern, b"c*"), (true, 1));
        assert_eq!(p.counts(), (1, 1, 1));
        assert_eq!(p.client_counts(1), (1, 1, 1));
        assert_eq!(a.subscriptions.load(Ordering::Relaxed), 3);
        assert_eq!(p.publish_from(b"c", b"m", None), 3);
        assert_eq!(p.spublish_from(b"s", b"m", None), 1);
        assert_eq!(p.unsubscribe(&a, Kind::Pattern, b"c*"), 1);
        // The pattern stays while another client holds it.
        assert_eq!(p.counts(), (1, 1, 1));
        p.forget_client(&a);
        assert_eq!(p.counts(), (0, 1, 0));
        assert_eq!(a.subscriptions.load(Ordering::Relaxed), 0);
        p.forget_client(&b);
        assert_eq!(p.counts(), (0, 0, 0));
        assert_eq!(p.publish_from(b"c", b"m", None), 0);
    }

    #[test]
    fn messages_queue_in_each_subscribers_protocol() {
        let p = PubSub::new();
        let (a, b) = (client(1), client(2));
        b.resp3.store(true, Ordering::Relaxed);
        p.subscribe(&a, Kind::Channel, b"ch");
        p.subscribe(&b, Kind::Pattern, b"c?");
        assert_eq!(p.publish_from(b"ch", b"hi", None), 2);
        assert_eq!(&*a.outbox.lock(), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
        assert_eq!(&*b.outbox.lock(), b">4\r\n$8\r\npmessage\r\n$2\r\nc?\r\n$2\r\nch\r\n$2\r\nhi\r\n");
    }

    #[test]
    fn the_publisher_gets_its_own_message_in_its_reply() {
        let p = PubSub::new();
        let a = client(1);
        p.subscribe(&a, Kind::Channel, b"ch");
        let mut reply = ReplyBuf::new();
        reply.resp3 = true;
        assert_eq!(p.publish_from(b"ch", b"me", Some((1, &mut reply))), 1);
        assert!(reply.out.starts_with(b">3\r\n$7\r\nmessage"));
        assert!(a.outbox.lock().is_empty());
    }

    #[test]
    fn hard_limit_closes_and_unsubscribes_at_once() {
        let p = PubSub::new();
        limits(&p, 100, 0, 0);
        let a = client(1);
        p.subscribe(&a, Kind::Channel, b"ch");
        assert_eq!(p.publish_from(b"ch", &[b'x'; 40], None), 1);
        assert!(!a.killed.load(Ordering::Relaxed));
        assert_eq!(p.publish_from(b"ch", &[b'x'; 40], None), 1);
        assert!(a.killed.load(Ordering::Relaxed));
        assert!(a.outbox.lock().is_empty());
        assert_eq!(p.numsub(b"ch", false), 0);
        assert_eq!(p.publish_from(b"ch", b"x", None), 0);
    }

    #[test]
    fn soft_limit_closes_only_after_its_seconds() {
        let p = PubSub::new();
        limits(&p, 0, 50, 0);
        let a = client(1);
        p.subscribe(&a, Kind::Channel, b"ch");
        p.publish_from(b"ch", &[b'x'; 60], None);
        // Over the soft limit from now on, but not yet for longer than its (zero) seconds.
        assert!(!a.killed.load(Ordering::Relaxed));
        std::thread::sleep(std::time::Duration::from_millis(5));
        p.publish_from(b"ch", b"x", None);
        assert!(a.killed.load(Ordering::Relaxed));

        // Dropping back under the soft limit restarts the clock.
        limits(&p, 0, 50, 1);
        let b = client(2);
        p.subscribe(&b, Kind::Channel, b"ch2");
        p.publish_from(b"ch2", &[b'x'; 60], None);
        b.outbox.lock().clear();
        p.publish_from(b"ch2", b"x", None);
        assert_eq!(b.soft_since(&p), 0);
        assert!(!b.killed.load(Ordering::Relaxed));
    }

    impl ClientHandle {
        fn soft_since(&self, p: &PubSub) -> u64 {
            let part = p.client_part(self.id).lock();
            part.get(&self.id).and_then(|c| c.sub.as_ref()).map_or(0, |s| s.soft_since_ms.load(Ordering::Relaxed))
        }
    }

    #[test]
    fn message_is_encoded_once_per_protocol() {
        let parts: [&[u8]; 3] = [b"message", b"c", b"m"];
        let mut m = Message::new(&parts);
        let a = m.bytes(false).as_ptr();
        assert_eq!(m.bytes(false).as_ptr(), a);
        assert!(m.bytes(true).starts_with(b">3"));
    }
}

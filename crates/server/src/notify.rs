//! Keyspace notifications: the `notify-keyspace-events` classes in effect and the messages a
//! change to a key sends on `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`.
//!
//! Command handlers call [`notify`] where Redis announces a change; with notifications off (the
//! default) that is one relaxed load. Keys the store creates or expires on its own account
//! (`new` and `expired` events) come through the store's listener, installed at startup.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};

use roost_config::notify::{EXPIRED, KEYEVENT, KEYSPACE, KEY_MISS, NEW};
use roost_resp::{write_int, ReplyBuf};
use roost_store::events::{self, KeyEvent};

use crate::ctx::Ctx;
use crate::pubsub::PubSub;
use crate::server::Server;

/// The event classes handlers announce under (`notify-keyspace-events` letters).
pub mod class {
    pub use roost_config::notify::{EVICTED, GENERIC, HASH, KEY_MISS, LIST, SET, STREAM, STRING, ZSET};
}

/// Stores the classes from `notify-keyspace-events`. Without K or E nothing is ever sent, so
/// that case is stored as 0 and every check fails at once.
pub(crate) fn apply_flags(pubsub: &PubSub, flags: u32) {
    let effective = if flags & (KEYSPACE | KEYEVENT) == 0 { 0 } else { flags };
    pubsub.notify_flags.store(effective, Ordering::Relaxed);
    refresh_reports(pubsub);
}

/// Tells the store which events to report: `new` for notifications, `expired` for
/// notifications, tracking invalidations and the AOF's DELs.
pub(crate) fn refresh_reports(pubsub: &PubSub) {
    let effective = pubsub.notify_flags.load(Ordering::Relaxed);
    let expired = effective & EXPIRED != 0 || crate::tracking::wants_expired() || crate::aof::wants_expired();
    events::report(effective & NEW != 0, expired);
}

/// The server the store's listener announces to (one per process).
static SERVER: OnceLock<Weak<Server>> = OnceLock::new();

/// Makes keys the store adds or expires on its own account announce themselves (`new`,
/// `expired`) on `server`.
pub fn install(server: &Arc<Server>) {
    if SERVER.set(Arc::downgrade(server)).is_ok() {
        events::set_listener(|event, db, key| {
            let Some(server) = SERVER.get().and_then(Weak::upgrade) else { return };
            if event == KeyEvent::Expired {
                crate::tracking::key_expired(&server, key);
                crate::aof::key_expired(&server, db, key);
            }
            let flags = server.pubsub.notify_flags.load(Ordering::Relaxed);
            match event {
                KeyEvent::Added if flags & NEW != 0 => emit(&server, flags, "new", key, db),
                KeyEvent::Expired if flags & EXPIRED != 0 => emit(&server, flags, "expired", key, db),
                _ => {}
            }
        });
    }
}

/// Announces `event` on `key` of the client's database, if `class` is enabled. A message to
/// the client running the command (subscribed in RESP3) goes straight into its reply, so the
/// call's place decides the order the client sees: before or after the command's answer,
/// wherever Redis announces that event, never in the middle of an answer.
#[inline]
pub fn notify(ctx: &mut Ctx, class: u32, event: &str, key: &[u8]) {
    crate::aof::changed();
    let flags = ctx.server.pubsub.notify_flags.load(Ordering::Relaxed);
    if flags & class != 0 {
        let db = ctx.client.db;
        emit_to(ctx, flags, event, key, db);
    }
}

/// Like [`notify`] for a key of another database (MOVE, COPY ... DB).
#[inline]
pub fn notify_db(ctx: &mut Ctx, class: u32, event: &str, key: &[u8], db: usize) {
    crate::aof::changed();
    let flags = ctx.server.pubsub.notify_flags.load(Ordering::Relaxed);
    if flags & class != 0 {
        emit_to(ctx, flags, event, key, db);
    }
}

/// Like [`notify`] where the command still holds shard locks (its reply buffer is out of
/// reach): every subscriber, the running client included, gets the message in its outbox.
#[inline]
pub fn notify_locked(ctx: &Ctx, class: u32, event: &str, key: &[u8]) {
    if class != KEY_MISS {
        crate::aof::changed();
    }
    let flags = ctx.server.pubsub.notify_flags.load(Ordering::Relaxed);
    if flags & class != 0 {
        emit(ctx.server, flags, event, key, ctx.client.db);
    }
}

/// Counts a read lookup of `key` as a keyspace hit or miss; a miss is also announced as a
/// `keymiss` event, as Redis does for every read lookup that finds nothing.
#[inline]
pub fn count_lookup(ctx: &Ctx, found: bool, key: &[u8]) {
    ctx.count_lookup(found);
    if !found {
        notify_locked(ctx, KEY_MISS, "keymiss", key);
    }
}

/// [`count_lookup`] for a lookup known to have missed.
#[inline]
pub fn miss(ctx: &Ctx, key: &[u8]) {
    count_lookup(ctx, false, key);
}

/// Whether any of `class` is announced now: for handlers that would do extra work (such as
/// remembering which keys they touched) only to announce it.
#[inline]
pub fn enabled(ctx: &Ctx, class: u32) -> bool {
    ctx.server.pubsub.notify_flags.load(Ordering::Relaxed) & class != 0
}

#[cold]
fn emit_to(ctx: &mut Ctx, flags: u32, event: &str, key: &[u8], db: usize) {
    let me = crate::pubsub::own_reply(ctx.client, ctx.handle.id, ctx.reply);
    publish_event(ctx.server, flags, event, key, db, me);
}

#[cold]
fn emit(server: &Server, flags: u32, event: &str, key: &[u8], db: usize) {
    publish_event(server, flags, event, key, db, None);
}

/// Sends the keyspace and keyevent messages `flags` ask for.
fn publish_event(
    server: &Server,
    flags: u32,
    event: &str,
    key: &[u8],
    db: usize,
    mut me: Option<(u64, &mut ReplyBuf)>,
) {
    let mut channel = Vec::with_capacity(24 + key.len().max(event.len()));
    if flags & KEYSPACE != 0 {
        channel.extend_from_slice(b"__keyspace@");
        write_int(&mut channel, db as i64);
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(key);
        let me = me.as_mut().map(|(id, reply)| (*id, &mut **reply));
        server.pubsub.publish_from(&channel, event.as_bytes(), me);
    }
    if flags & KEYEVENT != 0 {
        channel.clear();
        channel.extend_from_slice(b"__keyevent@");
        write_int(&mut channel, db as i64);
        channel.extend_from_slice(b"__:");
        channel.extend_from_slice(event.as_bytes());
        server.pubsub.publish_from(&channel, key, me);
    }
}

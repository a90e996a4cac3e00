//! Consumer groups: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use roost_resp::{Args, ReplyBuf};
use roost_store::now_ms;
use roost_store::stream::{Group, PendingEntry, Stream, StreamId};

use super::{
    parse_bound, parse_id, parse_read_args, reply_entry, reply_id, reply_stream_key, reply_streams_header, stream_at,
    streams_keys, ONE_KEY, STREAM, WRITE_FAST,
};
use crate::blocking::BlockRequest;
use crate::command::{flags::*, CommandSpec, Keys};
use crate::commands::introspection::{reply_help, subcommand_syntax_error};
use crate::commands::{is, parse_int, BASE};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{class, notify};

const XGROUP_SUB: CommandSpec = CommandSpec {
    keys: Keys::Range { first: 2, last: 2, step: 1 },
    group: "stream",
    flags: WRITE,
    key_flags: &["RW", "UPDATE"],
    acl: &["@write", "@stream", "@slow"],
    ..BASE
};

pub const XGROUP: CommandSpec = CommandSpec {
    name: "xgroup",
    arity: -2,
    group: "stream",
    since: "5.0.0",
    summary: "A container for consumer groups commands",
    complexity: "Depends on subcommand.",
    acl: &["@slow"],
    subcommands: &[
        CommandSpec {
            name: "xgroup|create",
            arity: -5,
            flags: WRITE | DENYOOM,
            key_flags: &["RW", "INSERT"],
            since: "5.0.0",
            summary: "Create a consumer group.",
            run: create,
            ..XGROUP_SUB
        },
        CommandSpec {
            name: "xgroup|setid",
            arity: -5,
            since: "5.0.0",
            summary: "Set a consumer group to an arbitrary last delivered ID value.",
            run: setid,
            ..XGROUP_SUB
        },
        CommandSpec {
            name: "xgroup|destroy",
            arity: 4,
            key_flags: &["RW", "DELETE"],
            since: "5.0.0",
            summary: "Destroy a consumer group.",
            complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).",
            run: destroy,
            ..XGROUP_SUB
        },
        CommandSpec {
            name: "xgroup|createconsumer",
            arity: 5,
            flags: WRITE | DENYOOM,
            key_flags: &["RW", "INSERT"],
            since: "6.2.0",
            summary: "Create a consumer in a consumer group.",
            run: createconsumer,
            ..XGROUP_SUB
        },
        CommandSpec {
            name: "xgroup|delconsumer",
            arity: 5,
            key_flags: &["RW", "DELETE"],
            since: "5.0.0",
            summary: "Delete a consumer from a consumer group.",
            run: delconsumer,
            ..XGROUP_SUB
        },
        CommandSpec {
            name: "xgroup|help",
            arity: 2,
            flags: LOADING | STALE,
            keys: Keys::None,
            key_flags: &[],
            since: "5.0.0",
            summary: "Show helpful text about the different subcommands",
            acl: &["@stream", "@slow"],
            run: help,
            ..XGROUP_SUB
        },
    ],
    ..BASE
};

pub const XREADGROUP: CommandSpec = CommandSpec {
    name: "xreadgroup",
    arity: -7,
    flags: WRITE | BLOCKING | MOVABLEKEYS,
    keys: Keys::Custom(streams_keys),
    key_flags: &["RW", "ACCESS"],
    acl: &["@write", "@stream", "@slow", "@blocking"],
    summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
    complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
    run: xreadgroup,
    ..STREAM
};
pub const XACK: CommandSpec = CommandSpec {
    name: "xack",
    arity: -4,
    flags: WRITE | FAST,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
    complexity: "O(1) for each message ID processed.",
    run: xack,
    ..STREAM
};
pub const XPENDING: CommandSpec = CommandSpec {
    name: "xpending",
    arity: -3,
    flags: READONLY,
    keys: ONE_KEY,
    key_flags: &["RO", "ACCESS"],
    acl: &["@read", "@stream", "@slow"],
    summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
    complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
    run: xpending,
    ..STREAM
};
pub const XCLAIM: CommandSpec = CommandSpec {
    name: "xclaim",
    arity: -6,
    flags: WRITE | FAST,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
    complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.",
    run: xclaim,
    ..STREAM
};
pub const XAUTOCLAIM: CommandSpec = CommandSpec {
    name: "xautoclaim",
    arity: -6,
    since: "6.2.0",
    summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
    complexity: "O(1) if COUNT is small.",
    run: xautoclaim,
    ..XCLAIM
};

pub(super) fn no_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

fn no_key_or_group(key: &[u8], group: &[u8], suffix: &str) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{suffix}",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

/// ENTRIESREAD's value: a count, or -1 for unknown.
fn parse_entries_read(arg: &[u8]) -> Result<Option<u64>, CmdError> {
    let n = parse_int(arg)?;
    match n {
        -1 => Ok(None),
        n if n < 0 => Err(CmdError::msg("ERR value for ENTRIESREAD must be positive or -1")),
        n => Ok(Some(n as u64)),
    }
}

/// The position argument of XGROUP CREATE/SETID: an ID or `$` (the stream's last ID).
fn group_position(arg: &[u8], stream: Option<&Stream>) -> Result<StreamId, CmdError> {
    if arg == b"$" {
        return Ok(stream.map_or(StreamId::MIN, |s| s.last_id));
    }
    parse_id(arg, 0)
}

fn create(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(2), args.get(3));
    let mut mkstream = false;
    let mut entries_read = None;
    let mut i = 5;
    while i < args.len() {
        if is(args.get(i), "mkstream") {
            mkstream = true;
            i += 1;
        } else if is(args.get(i), "entriesread") && i + 1 < args.len() {
            entries_read = parse_entries_read(args.get(i + 1))?;
            i += 2;
        } else {
            return Err(subcommand_syntax_error(args));
        }
    }
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let existing = stream_at(table, key)?;
    let position = group_position(args.get(4), existing.as_deref())?;
    let stream = match existing {
        Some(s) => s,
        None if mkstream => {
            table.set(key, roost_store::Value::Stream(Box::default()), 0);
            stream_at(table, key)?.expect("just created")
        }
        None => {
            return Err(CmdError::msg("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
        }
    };
    if stream.groups.contains_key(name) {
        return Err(CmdError::msg("BUSYGROUP Consumer Group name already exists"));
    }
    stream.groups.insert(name.into(), Group::new(position, entries_read));
    drop(shard);
    ctx.reply.ok();
    notify(ctx, class::STREAM, "xgroup-create", key);
    Ok(())
}

fn setid(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(2), args.get(3));
    let mut entries_read = None;
    match args.len() {
        5 => {}
        7 if is(args.get(5), "entriesread") => entries_read = parse_entries_read(args.get(6))?,
        _ => return Err(subcommand_syntax_error(args)),
    }
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(stream) = stream_at(shard.db(ctx.client.db), key)? else {
        return Err(CmdError::msg("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
    };
    let position = group_position(args.get(4), Some(stream))?;
    let Some(group) = stream.groups.get_mut(name) else {
        return Err(no_group(key, name));
    };
    group.last_id = position;
    group.entries_read = entries_read;
    drop(shard);
    ctx.reply.ok();
    notify(ctx, class::STREAM, "xgroup-setid", key);
    Ok(())
}

/// Runs `f` on the group `name` of the stream at `key`, which must both exist.
fn with_group<T>(
    ctx: &mut Ctx,
    key: &[u8],
    name: &[u8],
    f: impl FnOnce(&mut Stream, &mut Ctx) -> Result<T, CmdError>,
) -> Result<T, CmdError> {
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(stream) = stream_at(shard.db(ctx.client.db), key)? else {
        return Err(CmdError::msg("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
    };
    if !stream.groups.contains_key(name) {
        return Err(no_group(key, name));
    }
    f(stream, ctx)
}

fn destroy(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(2), args.get(3));
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(stream) = stream_at(shard.db(ctx.client.db), key)? else {
        return Err(CmdError::msg("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
    };
    let gone = stream.groups.remove(name).is_some();
    drop(shard);
    ctx.reply.int(gone as i64);
    if gone {
        notify(ctx, class::STREAM, "xgroup-destroy", key);
    }
    Ok(())
}

fn createconsumer(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name, consumer) = (args.get(2), args.get(3), args.get(4));
    let now = now_ms();
    let created = with_group(ctx, key, name, |stream, _| {
        let group = stream.groups.get_mut(name).expect("checked");
        Ok(group.consumer(consumer, now).1)
    })?;
    ctx.reply.int(created as i64);
    if created {
        notify(ctx, class::STREAM, "xgroup-createconsumer", key);
    }
    Ok(())
}

fn delconsumer(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name, consumer) = (args.get(2), args.get(3), args.get(4));
    let pending = with_group(ctx, key, name, |stream, _| {
        Ok(stream.groups.get_mut(name).expect("checked").remove_consumer(consumer))
    })?;
    ctx.reply.int(pending.unwrap_or(0) as i64);
    if pending.is_some() {
        notify(ctx, class::STREAM, "xgroup-delconsumer", key);
    }
    Ok(())
}

fn help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    const LINES: &[&str] = &[
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    ];
    reply_help(ctx, args, LINES);
    Ok(())
}

/// Delivers the new entries after the group's position to `consumer`, moving the position and
/// the entries-read counter as Redis 7.0 does, and replies them under `key`. False (and no
/// reply) when there was nothing new. The consumer comes into being only when served, as in
/// Redis; `created` says whether it did.
#[allow(clippy::too_many_arguments)]
fn deliver_new(
    stream: &mut Stream,
    key: &[u8],
    name: &[u8],
    consumer: &[u8],
    read: (usize, bool),
    now: u64,
    out: &mut ReplyBuf,
    created: &mut bool,
) -> bool {
    let (count, noack) = read;
    let Some(from) = stream.groups[name].last_id.next() else { return false };
    let ids: Vec<StreamId> = {
        let entries: Vec<_> = stream.range(from, StreamId::MAX, false).take(count).collect();
        if entries.is_empty() {
            return false;
        }
        reply_stream_key(out, key);
        out.array(entries.len());
        for (id, fields) in &entries {
            reply_entry(out, *id, fields);
        }
        entries.iter().map(|(id, _)| *id).collect()
    };
    let group = stream.groups.get_mut(name).expect("group exists");
    *created = group.consumer(consumer, now).1;
    group.consumers.get_mut(consumer).expect("just made").seen_time = now;
    for id in ids {
        let entries_read = match stream.groups[name].entries_read {
            Some(n) if !stream.has_tombstones_from(id) => Some(n + 1),
            _ => stream.entries_read_at(id),
        };
        let group = stream.groups.get_mut(name).expect("group exists");
        group.entries_read = entries_read;
        group.last_id = id;
        if !noack {
            group.deliver(id, consumer, now, true);
            // An entry delivered anew (the group's position was moved back) starts counting
            // its deliveries again, as in Redis.
            group.pending.get_mut(&id).expect("just delivered").delivery_count = 1;
        }
    }
    true
}

/// Replies the consumer's own pending entries after `after` (XREADGROUP with an ID): deleted
/// entries come back as a nil body, delivered ones count one more delivery.
fn deliver_history(
    stream: &mut Stream,
    name: &[u8],
    consumer: &[u8],
    after: StreamId,
    count: usize,
    now: u64,
    out: &mut ReplyBuf,
) {
    let group = &stream.groups[name];
    let ids: Vec<StreamId> = match (group.consumers.get(consumer), after.next()) {
        (Some(c), Some(from)) => c.pending.range(from..).take(count).copied().collect(),
        _ => Vec::new(),
    };
    out.array(ids.len());
    let mut delivered = Vec::with_capacity(ids.len());
    for id in ids {
        match stream.range(id, id, false).next() {
            Some((id, fields)) => {
                reply_entry(out, id, &fields);
                delivered.push(id);
            }
            None => {
                out.array(2);
                reply_id(out, id);
                out.null_array();
            }
        }
    }
    let group = stream.groups.get_mut(name).expect("group exists");
    for id in delivered {
        group.deliver(id, consumer, now, true);
    }
}

fn xreadgroup(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let read = parse_read_args(args, true)?;
    let (group_at, consumer_at) = read.group.expect("parse requires GROUP");
    let (name, consumer) = (args.get(group_at), args.get(consumer_at));
    let keys: Vec<&[u8]> = (0..read.streams).map(|k| args.get(read.keys_at + k)).collect();
    let retry = ctx.client.block_retry;
    // Per stream in order, as Redis: its type, its group, then its ID. `None` is `>`.
    let mut ids: Vec<Option<StreamId>> = Vec::with_capacity(keys.len());
    for (k, key) in keys.iter().enumerate() {
        let found = {
            let mut shard = ctx.server.keyspace.lock_key(key);
            match stream_at(shard.db(ctx.client.db), key) {
                Ok(Some(s)) => Some(s.groups.contains_key(name)),
                Ok(None) => None,
                // A blocked reader whose key became another type learns the stream is gone.
                Err(_) if retry => None,
                Err(e) => return Err(e),
            }
        };
        match found {
            Some(true) => {}
            None if retry => return Err(CmdError::msg("UNBLOCKED the stream key no longer exists")),
            Some(false) if retry => {
                return Err(CmdError::msg("NOGROUP the consumer group this client was blocked on no longer exists"))
            }
            _ => return Err(no_key_or_group(key, name, " in XREADGROUP with GROUP option")),
        }
        let arg = args.get(read.keys_at + read.streams + k);
        ids.push(match arg {
            b">" => None,
            b"$" => return Err(CmdError::msg("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")),
            _ => Some(parse_id(arg, 0)?),
        });
    }
    let count = if read.count == 0 { usize::MAX } else { read.count };
    let now = now_ms();
    let mut body = ReplyBuf { out: Vec::new(), resp3: ctx.reply.resp3 };
    let mut served = 0;
    let mut wrote = Vec::new();
    for (key, id) in keys.iter().zip(&ids) {
        let mut shard = ctx.server.keyspace.lock_key(key);
        let stream = stream_at(shard.db(ctx.client.db), key)?.expect("checked above");
        match id {
            Some(after) => {
                let group = stream.groups.get_mut(name).expect("checked above");
                let created = group.consumer(consumer, now).1;
                group.consumers.get_mut(consumer).expect("just made").seen_time = now;
                if created {
                    wrote.push((*key, "xgroup-createconsumer"));
                }
                served += 1;
                reply_stream_key(&mut body, key);
                deliver_history(stream, name, consumer, *after, count, now, &mut body);
            }
            None => {
                let mut created = false;
                if deliver_new(stream, key, name, consumer, (count, read.noack), now, &mut body, &mut created) {
                    served += 1;
                }
                if created {
                    wrote.push((*key, "xgroup-createconsumer"));
                }
            }
        }
    }
    if served > 0 {
        reply_streams_header(ctx.reply, served);
        ctx.reply.out.extend_from_slice(&body.out);
    } else if let Some(deadline_ms) = read.deadline {
        ctx.client.block = Some(BlockRequest { keys: keys.iter().map(|k| k.to_vec()).collect(), deadline_ms });
    } else {
        ctx.reply.null_array();
    }
    for (key, event) in wrote {
        notify(ctx, class::STREAM, event, key);
    }
    Ok(())
}

fn xack(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(1), args.get(2));
    let mut shard = ctx.server.keyspace.lock_key(key);
    // A missing key or group answers 0 before the IDs are looked at, as in Redis.
    let acked = match stream_at(shard.db(ctx.client.db), key)?.and_then(|s| s.groups.get_mut(name)) {
        Some(group) => {
            let ids = args.tail(3).iter().map(|a| parse_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
            ids.iter().filter(|&&id| group.ack(id)).count()
        }
        None => 0,
    };
    drop(shard);
    ctx.reply.int(acked as i64);
    Ok(())
}

fn xpending(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(1), args.get(2));
    if args.len() > 3 && args.len() < 6 {
        return Err(CmdError::Syntax);
    }
    struct Extended<'a> {
        min_idle: u64,
        start: StreamId,
        end: StreamId,
        count: usize,
        consumer: Option<&'a [u8]>,
    }
    let extended = if args.len() >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(args.get(3), "idle") {
            min_idle = parse_int(args.get(4))?.max(0) as u64;
            if args.len() < 8 {
                return Err(CmdError::Syntax);
            }
            at = 5;
        }
        let count = parse_int(args.get(at + 2))?.max(0) as usize;
        let start = parse_bound(args.get(at), true)?;
        let end = parse_bound(args.get(at + 1), false)?;
        let consumer = (at + 3 < args.len()).then(|| args.get(at + 3));
        Some(Extended { min_idle, start, end, count, consumer })
    } else {
        None
    };
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(group) = stream_at(shard.db(ctx.client.db), key)?.and_then(|s| s.groups.get(name)) else {
        return Err(no_key_or_group(key, name, ""));
    };
    let now = now_ms();
    let reply = &mut *ctx.reply;
    match extended {
        None => {
            reply.array(4);
            reply.int(group.pending.len() as i64);
            match (group.pending.first_key_value(), group.pending.last_key_value()) {
                (Some((first, _)), Some((last, _))) => {
                    reply_id(reply, *first);
                    reply_id(reply, *last);
                    let owners: Vec<(&[u8], usize)> = group
                        .consumers
                        .iter()
                        .filter(|(_, c)| !c.pending.is_empty())
                        .map(|(n, c)| (&**n, c.pending.len()))
                        .collect();
                    reply.array(owners.len());
                    for (n, pending) in owners {
                        reply.array(2);
                        reply.bulk(n);
                        reply.bulk_int(pending as i64);
                    }
                }
                _ => {
                    reply.null();
                    reply.null();
                    reply.null_array();
                }
            }
        }
        Some(x) => {
            let rows: Vec<(StreamId, &PendingEntry)> = if x.start > x.end {
                Vec::new()
            } else {
                let idle_ok = |p: &PendingEntry| now.saturating_sub(p.delivery_time) >= x.min_idle;
                match x.consumer {
                    Some(c) => match group.consumers.get(c) {
                        Some(owner) => owner
                            .pending
                            .range(x.start..=x.end)
                            .map(|id| (*id, &group.pending[id]))
                            .filter(|(_, p)| idle_ok(p))
                            .take(x.count)
                            .collect(),
                        None => Vec::new(),
                    },
                    None => group
                        .pending
                        .range(x.start..=x.end)
                        .map(|(id, p)| (*id, p))
                        .filter(|(_, p)| idle_ok(p))
                        .take(x.count)
                        .collect(),
                }
            };
            reply.array(rows.len());
            for (id, p) in rows {
                reply.array(4);
                reply_id(reply, id);
                reply.bulk(&p.consumer);
                reply.int(now.saturating_sub(p.delivery_time) as i64);
                reply.int(p.delivery_count as i64);
            }
        }
    }
    Ok(())
}

/// XCLAIM's options after the IDs.
struct ClaimOptions {
    idle: Option<u64>,
    time: Option<u64>,
    retry_count: Option<u64>,
    force: bool,
    justid: bool,
    last_id: Option<StreamId>,
}

fn xclaim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name, consumer) = (args.get(1), args.get(2), args.get(3));
    let mut shard = ctx.server.keyspace.lock_key(key);
    // The key and group are looked up before any argument is parsed, as in Redis.
    let Some(stream) = stream_at(shard.db(ctx.client.db), key)?.filter(|s| s.groups.contains_key(name)) else {
        return Err(no_key_or_group(key, name, ""));
    };
    let min_idle = parse_int(args.get(4))
        .map_err(|_| CmdError::msg("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0) as u64;
    let mut ids = Vec::new();
    let mut i = 5;
    while i < args.len() {
        match StreamId::parse(args.get(i), 0) {
            Some(id) => ids.push(id),
            None => break,
        }
        i += 1;
    }
    let now = now_ms();
    let mut opts =
        ClaimOptions { idle: None, time: None, retry_count: None, force: false, justid: false, last_id: None };
    while i < args.len() {
        let arg = args.get(i);
        let more = i + 1 < args.len();
        if is(arg, "force") {
            opts.force = true;
        } else if is(arg, "justid") {
            opts.justid = true;
        } else if is(arg, "idle") && more {
            i += 1;
            opts.idle = Some(
                parse_int(args.get(i)).map_err(|_| CmdError::msg("ERR Invalid IDLE option argument for XCLAIM"))?.max(0)
                    as u64,
            );
        } else if is(arg, "time") && more {
            i += 1;
            opts.time = Some(
                parse_int(args.get(i)).map_err(|_| CmdError::msg("ERR Invalid TIME option argument for XCLAIM"))?.max(0)
                    as u64,
            );
        } else if is(arg, "retrycount") && more {
            i += 1;
            opts.retry_count = Some(
                parse_int(args.get(i))
                    .map_err(|_| CmdError::msg("ERR Invalid RETRYCOUNT option argument for XCLAIM"))?
                    .max(0) as u64,
            );
        } else if is(arg, "lastid") && more {
            i += 1;
            opts.last_id = Some(parse_id(args.get(i), 0)?);
        } else {
            return Err(CmdError::msg(format!("ERR Unrecognized XCLAIM option '{}'", String::from_utf8_lossy(arg))));
        }
        i += 1;
    }
    // TIME is an absolute delivery time; IDLE counts back from now.
    let delivery_time = match (opts.time, opts.idle) {
        (Some(t), _) => Some(t.min(now)),
        (None, Some(idle)) => Some(now.saturating_sub(idle)),
        (None, None) => None,
    };
    let group = stream.groups.get_mut(name).expect("checked");
    if let Some(last) = opts.last_id {
        if last > group.last_id {
            group.last_id = last;
        }
    }
    let mut created = false;
    let mut claimed: Vec<StreamId> = Vec::new();
    let mut gone = false;
    for id in ids {
        let exists = stream.contains(id);
        let group = stream.groups.get_mut(name).expect("checked");
        let delivered = group.pending.get(&id).map(|p| p.delivery_time);
        if !exists {
            // The entry was deleted from the stream: it leaves the PEL.
            gone |= group.ack(id);
            continue;
        }
        match delivered {
            // FORCE makes a pending entry for an entry nobody holds; min-idle does not apply.
            None if opts.force => {
                group
                    .pending
                    .insert(id, PendingEntry { consumer: consumer.into(), delivery_time: now, delivery_count: 1 });
            }
            None => continue,
            Some(t) if min_idle > 0 && now.saturating_sub(t) < min_idle => continue,
            Some(_) => {}
        }
        // The consumer comes into being with its first claim.
        created |= group.consumer(consumer, now).1;
        group.deliver(id, consumer, delivery_time.unwrap_or(now), false);
        let p = group.pending.get_mut(&id).expect("just delivered");
        if let Some(n) = opts.retry_count {
            p.delivery_count = n;
        } else if !opts.justid {
            p.delivery_count += 1;
        }
        claimed.push(id);
    }
    if let Some(c) = stream.groups.get_mut(name).and_then(|g| g.consumers.get_mut(consumer)) {
        c.seen_time = now;
    }
    let reply = &mut *ctx.reply;
    reply.array(claimed.len());
    for id in &claimed {
        if opts.justid {
            reply_id(reply, *id);
        } else {
            let (id, fields) = stream.range(*id, *id, false).next().expect("exists");
            reply_entry(reply, id, &fields);
        }
    }
    drop(shard);
    if created {
        notify(ctx, class::STREAM, "xgroup-createconsumer", key);
    }
    if !claimed.is_empty() || gone {
        notify(ctx, class::STREAM, "xclaim", key);
    }
    Ok(())
}

fn xautoclaim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name, consumer) = (args.get(1), args.get(2), args.get(3));
    let min_idle = parse_int(args.get(4))
        .map_err(|_| CmdError::msg("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0) as u64;
    let start = parse_bound(args.get(5), true)?;
    let mut count: usize = 100;
    let mut justid = false;
    let mut i = 6;
    while i < args.len() {
        if is(args.get(i), "count") && i + 1 < args.len() {
            let n = parse_int(args.get(i + 1)).unwrap_or(0);
            const MAX: i64 = i64::MAX / 16;
            if !(1..=MAX).contains(&n) {
                return Err(CmdError::msg("ERR COUNT must be > 0"));
            }
            count = n as usize;
            i += 2;
        } else if is(args.get(i), "justid") {
            justid = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = now_ms();
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(stream) = stream_at(shard.db(ctx.client.db), key)?.filter(|s| s.groups.contains_key(name)) else {
        return Err(no_key_or_group(key, name, ""));
    };
    let mut created = false;
    // Redis looks at no more than ten times COUNT pending entries per call; deleted entries
    // count against COUNT too.
    let mut attempts = count.saturating_mul(10);
    let mut remaining = count;
    let candidates: Vec<StreamId> = stream.groups[name].pending.range(start..).map(|(id, _)| *id).collect();
    let mut next = StreamId::MIN;
    let mut claimed = Vec::new();
    let mut gone = Vec::new();
    let mut iter = candidates.into_iter();
    while attempts > 0 && remaining > 0 {
        let Some(id) = iter.next() else { break };
        attempts -= 1;
        let exists = stream.contains(id);
        let group = stream.groups.get_mut(name).expect("checked");
        if !exists {
            group.ack(id);
            gone.push(id);
            remaining -= 1;
            continue;
        }
        let delivered = group.pending[&id].delivery_time;
        if min_idle > 0 && now.saturating_sub(delivered) < min_idle {
            continue;
        }
        created |= group.consumer(consumer, now).1;
        group.deliver(id, consumer, now, !justid);
        claimed.push(id);
        remaining -= 1;
    }
    if let Some(id) = iter.next() {
        next = id;
    }
    if let Some(c) = stream.groups.get_mut(name).and_then(|g| g.consumers.get_mut(consumer)) {
        c.seen_time = now;
    }
    let reply = &mut *ctx.reply;
    reply.array(3);
    reply_id(reply, next);
    reply.array(claimed.len());
    for id in &claimed {
        if justid {
            reply_id(reply, *id);
        } else {
            let (id, fields) = stream.range(*id, *id, false).next().expect("exists");
            reply_entry(reply, id, &fields);
        }
    }
    reply.array(gone.len());
    for id in &gone {
        reply_id(reply, *id);
    }
    drop(shard);
    if created {
        notify(ctx, class::STREAM, "xgroup-createconsumer", key);
    }
    if !claimed.is_empty() || !gone.is_empty() {
        notify(ctx, class::STREAM, "xautoclaim", key);
    }
    Ok(())
}

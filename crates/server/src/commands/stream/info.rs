//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS.

use roost_resp::{Args, ReplyBuf};
use roost_store::now_ms;
use roost_store::stream::{Group, Stream, StreamId};

use super::group::no_group;
use super::{reply_entry, reply_id, stream_at};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::commands::introspection::{reply_help, subcommand_syntax_error};
use crate::commands::{is, parse_int, BASE};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

const XINFO_SUB: CommandSpec = CommandSpec {
    arity: 3,
    flags: READONLY,
    keys: Keys::Range { first: 2, last: 2, step: 1 },
    key_flags: &["RO", "ACCESS"],
    acl: &["@read", "@stream", "@slow"],
    group: "stream",
    since: "5.0.0",
    ..BASE
};

pub const XINFO: CommandSpec = CommandSpec {
    name: "xinfo",
    arity: -2,
    group: "stream",
    since: "5.0.0",
    summary: "A container for stream introspection commands",
    complexity: "Depends on subcommand.",
    acl: &["@slow"],
    subcommands: &[
        CommandSpec {
            name: "xinfo|stream",
            arity: -3,
            summary: "Get information about a stream",
            run: stream_info,
            ..XINFO_SUB
        },
        CommandSpec { name: "xinfo|groups", summary: "List the consumer groups of a stream", run: groups, ..XINFO_SUB },
        CommandSpec {
            name: "xinfo|consumers",
            arity: 4,
            summary: "List the consumers in a consumer group",
            run: consumers,
            ..XINFO_SUB
        },
        CommandSpec {
            name: "xinfo|help",
            arity: 2,
            flags: LOADING | STALE,
            keys: Keys::None,
            key_flags: &[],
            acl: &["@stream", "@slow"],
            summary: "Show helpful text about the different subcommands",
            run: help,
            ..XINFO_SUB
        },
    ],
    ..BASE
};

fn entry_or_nil(reply: &mut ReplyBuf, entry: Option<(StreamId, roost_store::stream::Fields<'_>)>) {
    match entry {
        Some((id, fields)) => reply_entry(reply, id, &fields),
        None => reply.null(),
    }
}

fn maybe_int(reply: &mut ReplyBuf, n: Option<i64>) {
    match n {
        Some(n) => reply.int(n),
        None => reply.null(),
    }
}

/// The figures both forms of XINFO STREAM open with. A Redis stream is a radix tree of blocks;
/// here the blocks sit in an ordered map, so the tree's node count is given as the one a tree
/// of this many keys has at least.
fn stream_header(reply: &mut ReplyBuf, s: &Stream) {
    reply.bulk(b"length");
    reply.int(s.len() as i64);
    reply.bulk(b"radix-tree-keys");
    reply.int(s.block_count() as i64);
    reply.bulk(b"radix-tree-nodes");
    reply.int(s.block_count() as i64 + 1);
    reply.bulk(b"last-generated-id");
    reply_id(reply, s.last_id);
    reply.bulk(b"max-deleted-entry-id");
    reply_id(reply, s.max_deleted_id);
    reply.bulk(b"entries-added");
    reply.int(s.entries_added as i64);
    reply.bulk(b"recorded-first-entry-id");
    reply_id(reply, s.first_id().unwrap_or(StreamId::MIN));
}

fn stream_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(2);
    // The key is looked up before the options are read, as in Redis.
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(s) = stream_at(shard.db(ctx.client.db), key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let full: Option<usize> = match args.len() {
        3 => None,
        4 if is(args.get(3), "full") => Some(10),
        6 if is(args.get(3), "full") && is(args.get(4), "count") => Some(parse_int(args.get(5))?.max(0) as usize),
        _ => return Err(subcommand_syntax_error(args)),
    };
    let reply = &mut *ctx.reply;
    let Some(count) = full else {
        reply.map(10);
        stream_header(reply, s);
        reply.bulk(b"groups");
        reply.int(s.groups.len() as i64);
        reply.bulk(b"first-entry");
        entry_or_nil(reply, s.first_entry());
        reply.bulk(b"last-entry");
        entry_or_nil(reply, s.last_entry());
        return Ok(());
    };
    // COUNT 0 means everything.
    let limit = if count == 0 { usize::MAX } else { count };
    reply.map(9);
    stream_header(reply, s);
    reply.bulk(b"entries");
    let entries: Vec<_> = s.range(StreamId::MIN, StreamId::MAX, false).take(limit).collect();
    reply.array(entries.len());
    for (id, fields) in &entries {
        reply_entry(reply, *id, fields);
    }
    reply.bulk(b"groups");
    reply.array(s.groups.len());
    for (name, g) in &s.groups {
        full_group(reply, s, name, g, limit);
    }
    Ok(())
}

fn full_group(reply: &mut ReplyBuf, s: &Stream, name: &[u8], g: &Group, limit: usize) {
    reply.map(7);
    reply.bulk(b"name");
    reply.bulk(name);
    reply.bulk(b"last-delivered-id");
    reply_id(reply, g.last_id);
    reply.bulk(b"entries-read");
    maybe_int(reply, g.entries_read.map(|n| n as i64));
    reply.bulk(b"lag");
    maybe_int(reply, s.lag(g.last_id, g.entries_read));
    reply.bulk(b"pel-count");
    reply.int(g.pending.len() as i64);
    reply.bulk(b"pending");
    let pending: Vec<_> = g.pending.iter().take(limit).collect();
    reply.array(pending.len());
    for (id, p) in pending {
        reply.array(4);
        reply_id(reply, *id);
        reply.bulk(&p.consumer);
        reply.int(p.delivery_time as i64);
        reply.int(p.delivery_count as i64);
    }
    reply.bulk(b"consumers");
    reply.array(g.consumers.len());
    for (cname, c) in &g.consumers {
        reply.map(4);
        reply.bulk(b"name");
        reply.bulk(cname);
        reply.bulk(b"seen-time");
        reply.int(c.seen_time as i64);
        reply.bulk(b"pel-count");
        reply.int(c.pending.len() as i64);
        reply.bulk(b"pending");
        let owned: Vec<_> = c.pending.iter().take(limit).collect();
        reply.array(owned.len());
        for id in owned {
            let p = &g.pending[id];
            reply.array(3);
            reply_id(reply, *id);
            reply.int(p.delivery_time as i64);
            reply.int(p.delivery_count as i64);
        }
    }
}

fn groups(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(2);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(s) = stream_at(shard.db(ctx.client.db), key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let reply = &mut *ctx.reply;
    reply.array(s.groups.len());
    for (name, g) in &s.groups {
        reply.map(6);
        reply.bulk(b"name");
        reply.bulk(name);
        reply.bulk(b"consumers");
        reply.int(g.consumers.len() as i64);
        reply.bulk(b"pending");
        reply.int(g.pending.len() as i64);
        reply.bulk(b"last-delivered-id");
        reply_id(reply, g.last_id);
        reply.bulk(b"entries-read");
        maybe_int(reply, g.entries_read.map(|n| n as i64));
        reply.bulk(b"lag");
        maybe_int(reply, s.lag(g.last_id, g.entries_read));
    }
    Ok(())
}

fn consumers(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, name) = (args.get(2), args.get(3));
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(s) = stream_at(shard.db(ctx.client.db), key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let Some(g) = s.groups.get(name) else {
        return Err(no_group(key, name));
    };
    let now = now_ms();
    let reply = &mut *ctx.reply;
    reply.array(g.consumers.len());
    for (cname, c) in &g.consumers {
        reply.map(3);
        reply.bulk(b"name");
        reply.bulk(cname);
        reply.bulk(b"pending");
        reply.int(c.pending.len() as i64);
        reply.bulk(b"idle");
        reply.int(now.saturating_sub(c.seen_time) as i64);
    }
    Ok(())
}

fn help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    const LINES: &[&str] = &[
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    ];
    reply_help(ctx, args, LINES);
    Ok(())
}

//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB's
//! introspection subcommands. The registry and delivery are in `crate::pubsub`.

use std::sync::atomic::Ordering;

use roost_resp::Args;

use super::BASE;
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::pubsub::{self, Kind};

const PUBSUB_ACL: &[&str] = &["@pubsub"];
/// Shard channels are declared as keys (for cluster slot routing), flagged as not really keys.
const SHARD_KEYS: Keys = Keys::Range { first: 1, last: -1, step: 1 };

const SUBSCRIBER: CommandSpec = CommandSpec {
    arity: -2,
    flags: PUBSUB | NOSCRIPT | LOADING | STALE,
    acl: PUBSUB_ACL,
    group: "pubsub",
    since: "2.0.0",
    ..BASE
};

pub const SUBSCRIBE: CommandSpec = CommandSpec {
    name: "subscribe",
    summary: "Listen for messages published to the given channels",
    complexity: "O(N) where N is the number of channels to subscribe to.",
    run: subscribe,
    ..SUBSCRIBER
};
pub const UNSUBSCRIBE: CommandSpec = CommandSpec {
    name: "unsubscribe",
    arity: -1,
    summary: "Stop listening for messages posted to the given channels",
    complexity: "O(N) where N is the number of clients already subscribed to a channel.",
    run: unsubscribe,
    ..SUBSCRIBER
};
pub const PSUBSCRIBE: CommandSpec = CommandSpec {
    name: "psubscribe",
    summary: "Listen for messages published to channels matching the given patterns",
    complexity: "O(N) where N is the number of patterns the client is already subscribed to.",
    run: psubscribe,
    ..SUBSCRIBER
};
pub const PUNSUBSCRIBE: CommandSpec = CommandSpec {
    name: "punsubscribe",
    arity: -1,
    summary: "Stop listening for messages posted to channels matching the given patterns",
    complexity: "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).",
    run: punsubscribe,
    ..SUBSCRIBER
};
pub const SSUBSCRIBE: CommandSpec = CommandSpec {
    name: "ssubscribe",
    keys: SHARD_KEYS,
    key_flags: &["NOT_KEY"],
    since: "7.0.0",
    summary: "Listen for messages published to the given shard channels",
    complexity: "O(N) where N is the number of shard channels to subscribe to.",
    run: ssubscribe,
    ..SUBSCRIBER
};
pub const SUNSUBSCRIBE: CommandSpec = CommandSpec {
    name: "sunsubscribe",
    arity: -1,
    keys: SHARD_KEYS,
    key_flags: &["NOT_KEY"],
    since: "7.0.0",
    summary: "Stop listening for messages posted to the given shard channels",
    complexity: "O(N) where N is the number of clients already subscribed to a shard channel.",
    run: sunsubscribe,
    ..SUBSCRIBER
};
pub const PUBLISH: CommandSpec = CommandSpec {
    name: "publish",
    arity: 3,
    flags: PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
    acl: PUBSUB_ACL,
    group: "pubsub",
    since: "2.0.0",
    summary: "Post a message to a channel",
    complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
    run: publish,
    ..BASE
};
pub const SPUBLISH: CommandSpec = CommandSpec {
    name: "spublish",
    keys: Keys::Range { first: 1, last: 1, step: 1 },
    key_flags: &["NOT_KEY"],
    since: "7.0.0",
    summary: "Post a message to a shard channel",
    complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.",
    run: spublish,
    ..PUBLISH
};

const INTROSPECT: CommandSpec = CommandSpec {
    arity: -2,
    flags: PUBSUB | LOADING | STALE,
    acl: PUBSUB_ACL,
    group: "pubsub",
    since: "2.8.0",
    ..BASE
};

pub const PUBSUB_CMD: CommandSpec = CommandSpec {
    name: "pubsub",
    arity: -2,
    group: "pubsub",
    since: "2.8.0",
    summary: "A container for Pub/Sub commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "pubsub|channels",
            summary: "List active channels",
            complexity: "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
            run: channels,
            ..INTROSPECT
        },
        CommandSpec {
            name: "pubsub|numsub",
            summary: "Get the count of subscribers for channels",
            complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
            run: numsub,
            ..INTROSPECT
        },
        CommandSpec {
            name: "pubsub|numpat",
            arity: 2,
            summary: "Get the count of unique patterns pattern subscriptions",
            complexity: "O(1)",
            run: numpat,
            ..INTROSPECT
        },
        CommandSpec {
            name: "pubsub|shardchannels",
            since: "7.0.0",
            summary: "List active shard channels",
            complexity: "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
            run: shardchannels,
            ..INTROSPECT
        },
        CommandSpec {
            name: "pubsub|shardnumsub",
            since: "7.0.0",
            summary: "Get the count of subscribers for shard channels",
            complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
            run: shardnumsub,
            ..INTROSPECT
        },
        CommandSpec {
            name: "pubsub|help",
            arity: 2,
            flags: LOADING | STALE,
            acl: &[],
            since: "6.2.0",
            summary: "Show helpful text about the different subcommands",
            complexity: "O(1)",
            run: help,
            ..INTROSPECT
        },
    ],
    ..BASE
};

fn names<'a>(args: &'a Args) -> Vec<&'a [u8]> {
    args.iter().skip(1).collect()
}

fn subscribe_kind(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let total = pubsub::subscribe_all(&ctx.server.pubsub, ctx.handle, ctx.reply, kind, &names(args));
    ctx.client.subscriptions = total;
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let total = pubsub::unsubscribe_all(&ctx.server.pubsub, ctx.handle, ctx.reply, kind, &names(args));
    ctx.client.subscriptions = total;
    Ok(())
}

fn subscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Shard)
}

fn publish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let me = pubsub::own_reply(ctx.client, ctx.handle.id, ctx.reply);
    let n = ctx.server.pubsub.publish_from(args.get(1), args.get(2), me);
    ctx.reply.int(n as i64);
    Ok(())
}

fn spublish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let me = pubsub::own_reply(ctx.client, ctx.handle.id, ctx.reply);
    let n = ctx.server.pubsub.spublish_from(args.get(1), args.get(2), me);
    ctx.reply.int(n as i64);
    Ok(())
}

/// CHANNELS and SHARDCHANNELS take at most one pattern; Redis answers more with this error
/// rather than the arity one.
fn optional_pattern<'a>(args: &'a Args) -> Result<Option<&'a [u8]>, CmdError> {
    match args.len() {
        2 => Ok(None),
        3 => Ok(Some(args.get(2))),
        _ => Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(args.get(1))
        ))),
    }
}

fn list_channels(ctx: &mut Ctx, args: &Args, shard: bool) -> CmdResult {
    let pattern = optional_pattern(args)?;
    let found = ctx.server.pubsub.channel_names(pattern, shard);
    ctx.reply.array(found.len());
    for name in &found {
        ctx.reply.bulk(name);
    }
    Ok(())
}

fn count_subscribers(ctx: &mut Ctx, args: &Args, shard: bool) -> CmdResult {
    // A flat array of channel, count pairs in both protocols, as Redis answers.
    ctx.reply.array((args.len() - 2) * 2);
    for channel in args.iter().skip(2) {
        ctx.reply.bulk(channel);
        ctx.reply.int(ctx.server.pubsub.numsub(channel, shard) as i64);
    }
    Ok(())
}

fn channels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    list_channels(ctx, args, false)
}

fn shardchannels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    list_channels(ctx, args, true)
}

fn numsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    count_subscribers(ctx, args, false)
}

fn shardnumsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    count_subscribers(ctx, args, true)
}

fn numpat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let (_, patterns, _) = ctx.server.pubsub.counts();
    ctx.reply.int(patterns as i64);
    Ok(())
}

pub const HELP_LINES: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.reply.array(HELP_LINES.len());
    for line in HELP_LINES {
        ctx.reply.simple(line.as_bytes());
    }
    Ok(())
}

/// Drops every subscription of the client running `ctx` (RESET).
pub fn forget(ctx: &mut Ctx) {
    if ctx.client.subscriptions > 0 || ctx.handle.subscriptions.load(Ordering::Relaxed) > 0 {
        ctx.server.pubsub.forget_client(ctx.handle);
        ctx.client.subscriptions = 0;
    }
}

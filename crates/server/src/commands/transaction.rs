//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Commands after MULTI are checked (name, arity, permissions) and queued; EXEC runs them with
//! nothing else interleaved. When every queued command names its keys, EXEC holds those keys'
//! shards (and the watched keys' shards) for its whole length; a command that reaches beyond
//! its declared keys (KEYS, FLUSHALL, SORT ... BY, scripts) makes EXEC stop the world instead.

use std::sync::atomic::Ordering;

use roost_resp::{Args, OwnedArgs};

use super::{is, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::connection::run_command;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::watch::Watching;

const TX: CommandSpec = CommandSpec {
    arity: 1,
    flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
    acl: &["@fast", "@transaction"],
    group: "transactions",
    since: "1.2.0",
    ..BASE
};

pub const MULTI: CommandSpec = CommandSpec { name: "multi", summary: "Starts a transaction.", run: multi, ..TX };

pub const EXEC: CommandSpec = CommandSpec {
    name: "exec",
    flags: NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
    acl: &["@slow", "@transaction"],
    summary: "Executes all commands in a transaction.",
    complexity: "Depends on commands in the transaction",
    run: exec,
    ..TX
};

pub const DISCARD: CommandSpec =
    CommandSpec { name: "discard", since: "2.0.0", summary: "Discards a transaction.", run: discard, ..TX };

pub const WATCH: CommandSpec = CommandSpec {
    name: "watch",
    arity: -2,
    keys: Keys::Range { first: 1, last: -1, step: 1 },
    key_flags: &["RO"],
    since: "2.2.0",
    summary: "Monitors changes to keys to determine the execution of a transaction.",
    complexity: "O(1) for every key.",
    run: watch,
    ..TX
};

pub const UNWATCH: CommandSpec = CommandSpec {
    name: "unwatch",
    since: "2.2.0",
    summary: "Forgets about watched keys of a transaction.",
    run: unwatch,
    ..TX
};

/// A transaction being queued.
#[derive(Default)]
pub struct Queued {
    pub commands: Vec<(&'static CommandSpec, usize, OwnedArgs)>,
    /// A command was refused while queuing: EXEC will answer EXECABORT.
    pub aborted: bool,
}

impl Queued {
    /// Bytes held by the queued arguments (CLIENT LIST's multi-mem).
    pub fn footprint(&self) -> usize {
        self.commands.iter().map(|(_, _, a)| a.footprint()).sum()
    }
}

/// The commands that still run while a transaction is being queued.
pub fn runs_inside_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Whether EXEC of `queued` must stop the world rather than hold its commands' shards.
pub fn needs_world(queued: &Queued) -> bool {
    queued.commands.iter().any(|(spec, _, args)| reaches_beyond_keys(spec, &args.args()))
}

fn reaches_beyond_keys(spec: &CommandSpec, args: &Args) -> bool {
    if spec.has(EXCLUSIVE) {
        return true;
    }
    let base = spec.name.split('|').next().unwrap_or(spec.name);
    match base {
        // Patterns name keys only known while sorting.
        "sort" | "sort_ro" => args.iter().skip(2).any(|a| is(a, "by") || is(a, "get")),
        "swapdb" => true,
        _ => match spec.keys {
            Keys::None => !keyspace_free(spec, base),
            _ => false,
        },
    }
}

/// Keyless commands that never touch the keyspace.
fn keyspace_free(spec: &CommandSpec, base: &str) -> bool {
    matches!(spec.group, "connection" | "pubsub" | "transactions")
        || matches!(base, "time" | "lastsave" | "config" | "command" | "script" | "function")
}

fn multi(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Box::default());
    ctx.handle.multi_queued.store(0, Ordering::Relaxed);
    ctx.reply.ok();
    Ok(())
}

fn discard(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    ctx.handle.multi_queued.store(-1, Ordering::Relaxed);
    unwatch_all(ctx);
    ctx.reply.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let Some(queued) = ctx.client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    ctx.handle.multi_queued.store(-1, Ordering::Relaxed);
    if queued.aborted {
        unwatch_all(ctx);
        return Err(CmdError::msg("EXECABORT Transaction discarded because of previous errors."));
    }
    // The queued commands, and the check of the watched keys, judge expiry by EXEC's start.
    roost_store::CommandTime::freeze();
    let server = ctx.server;
    // With the world stopped nothing else runs; otherwise hold the shards of every key the
    // commands name, plus the watched keys EXEC is about to check.
    let hold = if server.gate.is_stopped() {
        None
    } else {
        let mut keys: Vec<&[u8]> = Vec::new();
        for (spec, _, args) in &queued.commands {
            let args = args.args();
            keys.extend(spec.key_positions(&args).into_iter().map(|i| args.get(i)));
        }
        if let Some(w) = &ctx.client.watching {
            keys.extend(w.keys.iter().map(|(_, k, _)| k.as_slice()));
        }
        Some(server.keyspace.hold_keys(keys))
    };
    let changed = ctx.client.watching.as_ref().is_some_and(|w| w.changed(&server.keyspace));
    unwatch_all(ctx);
    if changed {
        ctx.reply.null_array();
        return Ok(());
    }
    ctx.reply.array(queued.commands.len());
    // The commands' records reach the AOF together, wrapped, before the shards are let go.
    let wrap = crate::aof::Wrap::begin(server);
    for (spec, stat, args) in &queued.commands {
        run_command(ctx, spec, *stat, &args.args());
        // Blocking commands inside a transaction answer at once, as if their time were up.
        if ctx.client.block.take().is_some() {
            crate::blocking::answer_without_waiting(spec, ctx.reply);
        }
    }
    wrap.end(server);
    drop(hold);
    Ok(())
}

fn watch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    let watching = match ctx.client.watching.take() {
        Some(w) => ctx.client.watching.insert(w),
        None => {
            let w = Box::new(Watching::new());
            *ctx.handle.watch_touched.lock() = Some(w.touched.clone());
            ctx.client.watching.insert(w)
        }
    };
    for key in args.iter().skip(1) {
        // Registered under the key's shard lock, so a write is either before it or sees it.
        let mut shard = ctx.server.keyspace.lock_key(key);
        let table = shard.db(db);
        let alive = table.peek(key).is_some() && !table.is_expired(key, roost_store::expiry_now_ms());
        ctx.server.watches.watch(watching, db, key, alive);
    }
    ctx.reply.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    unwatch_all(ctx);
    ctx.reply.ok();
    Ok(())
}

/// Forgets every key the client watches (EXEC, DISCARD, UNWATCH, RESET, disconnection).
pub fn unwatch_all(ctx: &mut Ctx) {
    if let Some(mut w) = ctx.client.watching.take() {
        ctx.server.watches.unwatch_all(&mut w);
        *ctx.handle.watch_touched.lock() = None;
    }
}

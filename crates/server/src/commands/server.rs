//! Server commands on the whole keyspace or process: DBSIZE, FLUSHDB, FLUSHALL, TIME, SHUTDOWN.

use std::sync::atomic::Ordering;

use roost_resp::Args;

use super::{is, BASE};
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::log::{log, WARNING};

pub const DBSIZE: CommandSpec = CommandSpec {
    name: "dbsize",
    arity: 1,
    flags: READONLY | FAST,
    acl: &["@keyspace", "@read", "@fast"],
    group: "server",
    summary: "Returns the number of keys in the database.",
    run: dbsize,
    ..BASE
};
pub const FLUSHDB: CommandSpec = CommandSpec {
    name: "flushdb",
    arity: -1,
    flags: WRITE,
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    group: "server",
    summary: "Removes all keys from the current database.",
    complexity: "O(N) where N is the total number of keys in all databases",
    run: flushdb,
    ..BASE
};
pub const FLUSHALL: CommandSpec =
    CommandSpec { name: "flushall", summary: "Removes all keys from all databases.", run: flushall, ..FLUSHDB };
pub const TIME: CommandSpec = CommandSpec {
    name: "time",
    arity: 1,
    flags: LOADING | STALE | FAST,
    acl: &["@fast"],
    group: "server",
    since: "2.6.0",
    summary: "Returns the server time.",
    run: time,
    ..BASE
};
pub const SHUTDOWN: CommandSpec = CommandSpec {
    name: "shutdown",
    arity: -1,
    flags: ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
    acl: &["@admin", "@slow", "@dangerous"],
    group: "server",
    summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.",
    complexity:
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
    run: shutdown,
    ..BASE
};

fn dbsize(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.server.keyspace.dbsize(ctx.client.db);
    ctx.reply.int(n as i64);
    Ok(())
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC.
fn flush_mode_async(args: &Args) -> Result<bool, CmdError> {
    match args.len() {
        1 => Ok(false),
        2 if is(args.get(1), "async") => Ok(true),
        2 if is(args.get(1), "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

fn flush(ctx: &mut Ctx, args: &Args, db: Option<usize>) -> CmdResult {
    let background = flush_mode_async(args)?;
    let old = ctx.server.keyspace.flush(db);
    if background && !old.is_empty() {
        // Freeing millions of values takes time; do it off the worker thread.
        let _ = std::thread::Builder::new().name("roost-lazyfree".into()).spawn(move || drop(old));
    } else {
        drop(old);
    }
    ctx.reply.ok();
    Ok(())
}

fn flushdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = ctx.client.db;
    flush(ctx, args, Some(db))?;
    crate::tracking::flushed(ctx);
    Ok(())
}

fn flushall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    flush(ctx, args, None)?;
    crate::tracking::flushed(ctx);
    Ok(())
}

fn time(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    ctx.reply.array(2);
    ctx.reply.bulk_int(now.as_secs() as i64);
    ctx.reply.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

fn shutdown(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut force) = (false, false, false, false);
    for a in args.iter().skip(1) {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "force") {
            // Exit even when the final save fails.
            force = true;
        } else if is(a, "now") {
            // Nothing to wait for: there are no replicas.
        } else if is(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && args.len() > 2) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    log(WARNING, "User requested shutdown...");
    if !nosave {
        if let Err(e) = crate::persist::final_save(ctx.server, save) {
            log(WARNING, &e);
            if !force {
                return Err(CmdError::msg("ERR Errors trying to SHUTDOWN. Check logs."));
            }
        }
    }
    ctx.server.shutting_down.store(true, Ordering::Relaxed);
    if ctx.server.aof.is_on() {
        // Even with NOSAVE, as Redis does: the AOF is written out and fsynced before exiting.
        log(crate::log::NOTICE, "Calling fsync() on the AOF file.");
        ctx.server.aof.flush_now();
    }
    log(WARNING, "Roost is now ready to exit, bye bye...");
    // Like Redis, the client gets no reply: the connection closes as the process exits.
    std::process::exit(0);
}

//! RDB snapshots: SAVE, BGSAVE [SCHEDULE], LASTSAVE. The work is in `persist.rs`.

use roost_resp::Args;

use super::{is, BASE};
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::persist::{self, SaveError};

pub const SAVE: CommandSpec = CommandSpec {
    name: "save",
    arity: 1,
    // EXCLUSIVE: the snapshot's instant is taken with every other worker stopped between commands.
    flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI | EXCLUSIVE,
    acl: &["@admin", "@slow", "@dangerous"],
    group: "server",
    summary: "Synchronously save the dataset to disk",
    complexity: "O(N) where N is the total number of keys in all databases",
    run: save,
    ..BASE
};
pub const BGSAVE: CommandSpec = CommandSpec {
    name: "bgsave",
    arity: -1,
    flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING | EXCLUSIVE,
    summary: "Asynchronously save the dataset to disk",
    complexity: "O(1)",
    since: "1.0.0",
    run: bgsave,
    ..SAVE
};
pub const LASTSAVE: CommandSpec = CommandSpec {
    name: "lastsave",
    arity: 1,
    flags: LOADING | STALE | FAST,
    acl: &["@admin", "@fast", "@dangerous"],
    summary: "Get the UNIX time stamp of the last successful save to disk",
    complexity: "O(1)",
    run: lastsave,
    ..SAVE
};

fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    match persist::save_now(ctx.server) {
        Ok(()) => ctx.reply.ok(),
        Err(e) if e.starts_with("Background save") => return Err(CmdError::msg(format!("ERR {e}"))),
        Err(_) => return Err(CmdError::msg("ERR")),
    }
    Ok(())
}

fn bgsave(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if is(args.get(1), "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    match persist::start_save(ctx.server, persist::SavePace::Background, |_| {}) {
        Ok(()) => ctx.reply.simple(b"Background saving started"),
        Err(SaveError::InProgress) => return Err(CmdError::msg("ERR Background save already in progress")),
        Err(SaveError::Busy) if schedule => {
            ctx.server.save.scheduled.store(true, std::sync::atomic::Ordering::Relaxed);
            ctx.reply.simple(b"Background saving scheduled")
        }
        Err(SaveError::Busy) => {
            return Err(CmdError::msg("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."))
        }
    }
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.reply.int(ctx.server.save.last_save.load(std::sync::atomic::Ordering::Relaxed) as i64);
    Ok(())
}

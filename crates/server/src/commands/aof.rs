//! Append-only file commands: BGREWRITEAOF. The file itself lives in `crate::aof`.

use roost_resp::Args;

use super::BASE;
use crate::aof::rewrite::RewriteError;
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

pub const BGREWRITEAOF: CommandSpec = CommandSpec {
    name: "bgrewriteaof",
    arity: 1,
    // EXCLUSIVE: the rewrite's instant is taken with every other worker between commands.
    flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING | EXCLUSIVE,
    acl: &["@admin", "@slow", "@dangerous"],
    group: "server",
    since: "1.0.0",
    summary: "Asynchronously rewrites the append-only file to disk.",
    run: bgrewriteaof,
    ..BASE
};

fn bgrewriteaof(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    match crate::aof::rewrite::start(ctx.server) {
        Ok(()) => ctx.reply.simple(b"Background append only file rewriting started"),
        Err(RewriteError::Scheduled) => ctx.reply.simple(b"Background append only file rewriting scheduled"),
        Err(RewriteError::AlreadyRunning) => {
            return Err(CmdError::msg("ERR Background append only file rewriting already in progress"))
        }
        Err(RewriteError::Failed(e)) => {
            crate::log::log(crate::log::WARNING, &format!("Can't rewrite the append only file: {e}"));
            return Err(CmdError::msg(
                "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
            ));
        }
    }
    Ok(())
}

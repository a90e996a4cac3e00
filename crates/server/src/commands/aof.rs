//! Append-only file commands: BGREWRITEAOF. The file itself lives in `crate::aof`.

use roost_resp::Args;

use super::BASE;
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

pub const BGREWRITEAOF: CommandSpec = CommandSpec {
    name: "bgrewriteaof",
    arity: 1,
    flags: ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
    acl: &["@admin", "@slow", "@dangerous"],
    group: "server",
    since: "1.0.0",
    summary: "Asynchronously rewrites the append-only file to disk.",
    run: bgrewriteaof,
    ..BASE
};

/// The rewrite needs a fork-less point-in-time snapshot to build its base from; until that
/// exists the incremental files only grow (docs/persistence.md).
fn bgrewriteaof(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    Err(CmdError::msg("ERR BGREWRITEAOF is not supported yet: Roost does not rewrite the append-only file"))
}

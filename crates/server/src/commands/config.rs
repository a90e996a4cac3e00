//! CONFIG GET | SET | RESETSTAT | REWRITE | HELP. The directives themselves live in the config
//! crate; this file applies changes to the running server.

use roost_resp::Args;
use roost_store::glob;

use super::BASE;
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

const ADMIN_ACL: &[&str] = &["@admin", "@slow", "@dangerous"];
const CONFIG_SUB: CommandSpec =
    CommandSpec { flags: ADMIN | NOSCRIPT | LOADING | STALE, acl: ADMIN_ACL, group: "server", since: "2.0.0", ..BASE };

pub const CONFIG: CommandSpec = CommandSpec {
    name: "config",
    arity: -2,
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands.",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "config|get",
            arity: -3,
            summary: "Returns the effective values of configuration parameters.",
            complexity: "O(N) when N is the number of configuration parameters provided",
            run: get,
            ..CONFIG_SUB
        },
        CommandSpec {
            name: "config|set",
            arity: -4,
            flags: ADMIN | NOSCRIPT | LOADING | STALE,
            summary: "Sets configuration parameters in-flight.",
            complexity: "O(N) when N is the number of configuration parameters provided",
            run: set,
            ..CONFIG_SUB
        },
        CommandSpec {
            name: "config|resetstat",
            arity: 2,
            summary: "Resets the server's statistics.",
            run: resetstat,
            ..CONFIG_SUB
        },
        CommandSpec {
            name: "config|rewrite",
            arity: 2,
            summary: "Persists the effective configuration to file.",
            run: rewrite,
            ..CONFIG_SUB
        },
        CommandSpec {
            name: "config|help",
            arity: 2,
            flags: LOADING | STALE,
            acl: &["@slow"],
            summary: "Returns helpful text about the different subcommands.",
            run: help,
            ..CONFIG_SUB
        },
    ],
    ..BASE
};

fn get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let patterns: Vec<&[u8]> = args.iter().skip(2).collect();
    let matcher = |pattern: &[u8], name: &[u8]| glob::matches(pattern, name, true);
    let pairs = ctx.server.config.read().get(&patterns, &matcher);
    ctx.reply.map(pairs.len());
    for (name, value) in pairs {
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.bulk(value.as_bytes());
    }
    Ok(())
}

fn set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len()).step_by(2).map(|i| (args.get(i), args.get(i + 1))).collect();
    // appendonly yes needs its files before the directive changes (and may be refused).
    let aof_wanted = crate::aof::config_set_value(&pairs);
    let switched_on = aof_wanted == Some(true) && !ctx.server.aof.is_on();
    if switched_on {
        crate::aof::switch(ctx.server, true).map_err(CmdError::msg)?;
    }
    let applied = (|| -> CmdResult {
        let mut config = ctx.server.config.write();
        let changed = config.set_for_client(&pairs, ctx.handle.addr.ip().is_loopback()).map_err(CmdError::msg)?;
        if changed.contains(&"dir") {
            // Files named relative to `dir` (dbfilename, logfile) follow it, as in Redis.
            std::env::set_current_dir(config.dir()).map_err(|e| {
                CmdError::msg(format!("ERR CONFIG SET failed (possibly related to argument 'dir') - {e}"))
            })?;
        }
        if changed.iter().any(|n| *n == "loglevel" || *n == "logfile") {
            crate::log::configure(&config.loglevel(), &config.logfile()).map_err(|e| {
                CmdError::msg(format!("ERR CONFIG SET failed (possibly related to argument 'logfile') - {e}"))
            })?;
        }
        ctx.server.apply_config(&config);
        Ok(())
    })();
    if applied.is_err() && switched_on {
        let _ = crate::aof::switch(ctx.server, false);
    }
    applied?;
    if aof_wanted == Some(false) {
        crate::aof::switch(ctx.server, false).map_err(CmdError::msg)?;
    }
    ctx.reply.ok();
    Ok(())
}

fn resetstat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    for w in &ctx.server.workers {
        w.reset();
    }
    ctx.server.stats.reset();
    ctx.reply.ok();
    Ok(())
}

fn rewrite(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.server.config.read().rewrite().map_err(CmdError::msg)?;
    ctx.reply.ok();
    Ok(())
}

pub const HELP_LINES: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
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

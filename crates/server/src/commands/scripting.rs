//! Scripting commands: EVAL, EVALSHA and their read-only forms, SCRIPT, FCALL, FCALL_RO and
//! FUNCTION. The engine (Lua, caches, libraries) lives in the scripting crate; this file parses
//! arguments, decides read-only mode and runs scripts with the server as their host.

use roost_resp::{Args, ReplyBuf};
use roost_scripting::RestorePolicy;
use roost_store::{glob, rdb};

use super::{is, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::scripting::{KillError, ScriptHost};

const SCRIPTING_ACL: &[&str] = &["@slow", "@scripting"];
const WRITE_ACL: &[&str] = &["@write", "@slow", "@scripting"];

/// MAY_REPLICATE (which COMMAND INFO does not show): a script may write, so CLIENT PAUSE WRITE
/// holds it, as Redis holds scripts that are not flagged no-writes.
const EVAL_BASE: CommandSpec = CommandSpec {
    arity: -3,
    flags: NOSCRIPT | STALE | SKIP_MONITOR | MOVABLEKEYS | MAY_REPLICATE | EXCLUSIVE,
    keys: Keys::Custom(numkeys_keys),
    key_flags: &["RW", "ACCESS", "UPDATE"],
    acl: SCRIPTING_ACL,
    group: "scripting",
    since: "2.6.0",
    complexity: "Depends on the script that is executed.",
    ..BASE
};

pub const EVAL: CommandSpec =
    CommandSpec { name: "eval", summary: "Execute a Lua script server side", run: eval, ..EVAL_BASE };
pub const EVALSHA: CommandSpec =
    CommandSpec { name: "evalsha", summary: "Execute a Lua script server side", run: evalsha, ..EVAL_BASE };
pub const EVAL_RO: CommandSpec = CommandSpec {
    name: "eval_ro",
    flags: READONLY | NOSCRIPT | STALE | SKIP_MONITOR | MOVABLEKEYS | EXCLUSIVE,
    key_flags: &["RO", "ACCESS"],
    since: "7.0.0",
    summary: "Execute a read-only Lua script server side",
    run: eval_ro,
    ..EVAL_BASE
};
pub const EVALSHA_RO: CommandSpec = CommandSpec {
    name: "evalsha_ro",
    summary: "Execute a read-only Lua script server side",
    run: evalsha_ro,
    ..EVAL_RO
};
pub const FCALL: CommandSpec = CommandSpec {
    name: "fcall",
    since: "7.0.0",
    summary: "Invoke a function",
    complexity: "Depends on the function that is executed.",
    run: fcall,
    ..EVAL_BASE
};
pub const FCALL_RO: CommandSpec = CommandSpec {
    name: "fcall_ro",
    summary: "Invoke a read-only function",
    complexity: "Depends on the function that is executed.",
    run: fcall_ro,
    ..EVAL_RO
};

const SUB: CommandSpec = CommandSpec { flags: NOSCRIPT, acl: SCRIPTING_ACL, group: "scripting", ..BASE };

pub const SCRIPT: CommandSpec = CommandSpec {
    name: "script",
    arity: -2,
    acl: &["@slow"],
    group: "scripting",
    since: "2.6.0",
    summary: "A container for Lua scripts management commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "script|load",
            arity: 3,
            flags: NOSCRIPT | STALE,
            since: "2.6.0",
            summary: "Load the specified Lua script into the script cache.",
            complexity: "O(N) with N being the length in bytes of the script body.",
            run: script_load,
            ..SUB
        },
        CommandSpec {
            name: "script|exists",
            arity: -3,
            since: "2.6.0",
            summary: "Check existence of scripts in the script cache.",
            complexity:
                "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
            run: script_exists,
            ..SUB
        },
        CommandSpec {
            name: "script|flush",
            arity: -2,
            since: "2.6.0",
            summary: "Remove all the scripts from the script cache.",
            complexity: "O(N) with N being the number of scripts in cache",
            run: script_flush,
            ..SUB
        },
        CommandSpec {
            name: "script|kill",
            arity: 2,
            flags: NOSCRIPT | ALLOW_BUSY,
            since: "2.6.0",
            summary: "Kill the script currently in execution.",
            run: script_kill,
            ..SUB
        },
        CommandSpec {
            name: "script|debug",
            arity: 3,
            since: "3.2.0",
            summary: "Set the debug mode for executed scripts.",
            run: script_debug,
            ..SUB
        },
        CommandSpec {
            name: "script|help",
            arity: 2,
            flags: LOADING | STALE,
            since: "5.0.0",
            summary: "Show helpful text about the different subcommands",
            run: script_help,
            ..SUB
        },
    ],
    ..BASE
};

const FSUB: CommandSpec = CommandSpec { since: "7.0.0", ..SUB };

pub const FUNCTION: CommandSpec = CommandSpec {
    name: "function",
    arity: -2,
    acl: &["@slow"],
    group: "scripting",
    since: "7.0.0",
    summary: "A container for function commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "function|load",
            arity: -3,
            flags: WRITE | DENYOOM | NOSCRIPT,
            acl: WRITE_ACL,
            summary: "Create a function with the given arguments (name, code, description)",
            complexity: "O(1) (considering compilation time is redundant)",
            run: function_load,
            ..FSUB
        },
        CommandSpec {
            name: "function|delete",
            arity: 3,
            flags: WRITE | NOSCRIPT,
            acl: WRITE_ACL,
            summary: "Delete a function by name",
            run: function_delete,
            ..FSUB
        },
        CommandSpec {
            name: "function|flush",
            arity: -2,
            flags: WRITE | NOSCRIPT,
            acl: WRITE_ACL,
            summary: "Deleting all functions",
            complexity: "O(N) where N is the number of functions deleted",
            run: function_flush,
            ..FSUB
        },
        CommandSpec {
            name: "function|kill",
            arity: 2,
            flags: NOSCRIPT | ALLOW_BUSY,
            summary: "Kill the function currently in execution.",
            run: function_kill,
            ..FSUB
        },
        CommandSpec {
            name: "function|list",
            arity: -2,
            summary: "List information about all the functions",
            complexity: "O(N) where N is the number of functions",
            run: function_list,
            ..FSUB
        },
        CommandSpec {
            name: "function|dump",
            arity: 2,
            summary: "Dump all functions into a serialized binary payload",
            complexity: "O(N) where N is the number of functions",
            run: function_dump,
            ..FSUB
        },
        CommandSpec {
            name: "function|restore",
            arity: -3,
            flags: WRITE | DENYOOM | NOSCRIPT,
            acl: WRITE_ACL,
            summary: "Restore all the functions on the given payload",
            complexity: "O(N) where N is the number of functions on the payload",
            run: function_restore,
            ..FSUB
        },
        CommandSpec {
            name: "function|stats",
            arity: 2,
            flags: NOSCRIPT | ALLOW_BUSY,
            summary: "Return information about the function currently running (name, description, duration)",
            run: function_stats,
            ..FSUB
        },
        CommandSpec {
            name: "function|help",
            arity: 2,
            flags: LOADING | STALE,
            summary: "Show helpful text about the different subcommands",
            run: function_help,
            ..FSUB
        },
    ],
    ..BASE
};

/// Keys of EVAL-like commands: numkeys at position 2, the keys after it.
fn numkeys_keys(args: &Args) -> Vec<usize> {
    let n = args
        .len()
        .checked_sub(3)
        .and_then(|room| roost_resp::parse_i64(args.get(2)).filter(|n| *n >= 0).map(|n| (n as usize).min(room)))
        .unwrap_or(0);
    (3..3 + n).collect()
}

/// A script's keys and its other arguments.
type KeysAndArgs<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Splits `numkeys key... arg...` (numkeys at position 2). `bad` is the error for a numkeys
/// that is not a number (EVAL and FCALL word it differently).
fn split_keys<'a>(args: &Args<'a>, bad: CmdError) -> Result<KeysAndArgs<'a>, CmdError> {
    let n = roost_resp::parse_i64(args.get(2)).ok_or(bad)?;
    if n < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    if n as u64 > (args.len() - 3) as u64 {
        return Err(CmdError::msg("ERR Number of keys can't be greater than number of args"));
    }
    let n = n as usize;
    let keys = (3..3 + n).map(|i| args.get(i)).collect();
    let rest = (3 + n..args.len()).map(|i| args.get(i)).collect();
    Ok((keys, rest))
}

const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const WRITE_FLAG_WITH_RO: &str = "ERR Can not execute a script with write flag using *_ro command.";

fn eval(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

fn eval_generic(ctx: &mut Ctx, args: &Args, by_sha: bool, ro: bool) -> CmdResult {
    let (keys, argv) = split_keys(args, CmdError::NotInteger)?;
    let scripting = &ctx.server.scripting;
    let mut engine = scripting.engine.lock();
    let info = if by_sha {
        engine.script(args.get(1)).ok_or(CmdError::msg("NOSCRIPT No matching script. Please use EVAL."))?
    } else {
        let loaded = engine.load_script(args.get(1));
        scripting.note_counts(&engine);
        loaded.map_err(CmdError::msg)?
    };
    if ro && info.flags.declared && !info.flags.no_writes {
        return Err(CmdError::msg(WRITE_FLAG_WITH_RO));
    }
    let read_only = ro || info.flags.no_writes;
    let mut out = ReplyBuf { out: Vec::new(), resp3: ctx.reply.resp3 };
    scripting.begin(true, None);
    let db = ctx.client.db;
    {
        let mut host = ScriptHost { db, ctx: &mut *ctx, read_only };
        engine.eval(&info.sha, &keys, &argv, &mut host, &mut out);
    }
    ctx.server.scripting.end();
    ctx.server.scripting.note_memory(&engine);
    drop(engine);
    finish(ctx, db, out);
    Ok(())
}

/// Hands the script's reply to the client and undoes what the script's SELECT showed of it.
fn finish(ctx: &mut Ctx, db: usize, out: ReplyBuf) {
    ctx.handle.meta.lock().db = db;
    if out.out.first() == Some(&b'-') {
        let line = out.out.split(|&c| c == b'\r').next().unwrap_or(&[]);
        ctx.server.stats.count_error(&String::from_utf8_lossy(&line[1..]));
    }
    ctx.reply.out.extend_from_slice(&out.out);
}

fn fcall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_generic(ctx, args, true)
}

fn fcall_generic(ctx: &mut Ctx, args: &Args, ro: bool) -> CmdResult {
    let scripting = &ctx.server.scripting;
    let mut engine = scripting.engine.lock();
    let flags = engine.function(args.get(1)).ok_or(CmdError::msg("ERR Function not found"))?;
    let (keys, rest) = split_keys(args, CmdError::msg("ERR Bad number of keys provided"))?;
    if ro && !flags.no_writes {
        return Err(CmdError::msg(WRITE_FLAG_WITH_RO));
    }
    let read_only = ro || flags.no_writes;
    let mut out = ReplyBuf { out: Vec::new(), resp3: ctx.reply.resp3 };
    scripting.begin(false, Some((args.get(1).to_vec(), args.iter().map(|a| a.to_vec()).collect())));
    let db = ctx.client.db;
    {
        let mut host = ScriptHost { db, ctx: &mut *ctx, read_only };
        engine.fcall(args.get(1), &keys, &rest, &mut host, &mut out);
    }
    ctx.server.scripting.end();
    ctx.server.scripting.note_memory(&engine);
    drop(engine);
    finish(ctx, db, out);
    Ok(())
}

fn script_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut engine = ctx.server.scripting.engine.lock();
    let loaded = engine.load_script(args.get(2));
    ctx.server.scripting.note_counts(&engine);
    drop(engine);
    let info = loaded.map_err(CmdError::msg)?;
    ctx.reply.bulk(info.sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let engine = ctx.server.scripting.engine.lock();
    let found: Vec<bool> = args.iter().skip(2).map(|sha| engine.script_exists(sha)).collect();
    drop(engine);
    ctx.reply.array(found.len());
    for f in found {
        ctx.reply.int(f as i64);
    }
    Ok(())
}

/// The optional ASYNC|SYNC of SCRIPT FLUSH and FUNCTION FLUSH.
fn flush_mode(args: &Args, error: &'static str) -> CmdResult {
    match args.len() {
        2 => Ok(()),
        3 if is(args.get(2), "async") || is(args.get(2), "sync") => Ok(()),
        _ => Err(CmdError::msg(error)),
    }
}

fn script_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    flush_mode(args, "ERR SCRIPT FLUSH only support SYNC|ASYNC option")?;
    let mut engine = ctx.server.scripting.engine.lock();
    engine.flush_scripts();
    ctx.server.scripting.note_counts(&engine);
    ctx.reply.ok();
    Ok(())
}

fn kill(ctx: &mut Ctx, eval: bool) -> CmdResult {
    match ctx.server.scripting.request_kill(eval) {
        Ok(()) => {
            ctx.reply.ok();
            Ok(())
        }
        Err(KillError::NotBusy) => Err(CmdError::msg("NOTBUSY No scripts in execution right now.")),
        Err(KillError::WrongKind) if eval => Err(CmdError::msg(
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
        )),
        Err(KillError::WrongKind) => Err(CmdError::msg(BUSY_EVAL)),
        Err(KillError::Unkillable) => Err(CmdError::msg(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        )),
    }
}

fn script_kill(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    kill(ctx, true)
}

fn script_debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if is(args.get(2), "no") {
        ctx.reply.ok();
        return Ok(());
    }
    if is(args.get(2), "yes") || is(args.get(2), "sync") {
        return Err(CmdError::msg("ERR SCRIPT DEBUG is not supported"));
    }
    Err(CmdError::msg("ERR Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn help(ctx: &mut Ctx, lines: &[&str]) {
    ctx.reply.array(lines.len());
    for l in lines {
        ctx.reply.simple(l.as_bytes());
    }
}

fn script_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    help(
        ctx,
        &[
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

fn function_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut replace = false;
    let mut code = None;
    for i in 2..args.len() {
        if is(args.get(i), "replace") && i + 1 < args.len() {
            replace = true;
        } else if i + 1 == args.len() {
            code = Some(args.get(i));
        } else {
            return Err(CmdError::msg(format!("ERR Unknown option given: {}", String::from_utf8_lossy(args.get(i)))));
        }
    }
    let Some(code) = code else {
        return Err(CmdError::msg("ERR Function code was not given"));
    };
    let db = ctx.client.db;
    let mut engine = ctx.server.scripting.engine.lock();
    let mut host = ScriptHost { db, ctx: &mut *ctx, read_only: true };
    let loaded = engine.load_library(code, replace, &mut host);
    ctx.server.scripting.note_counts(&engine);
    drop(engine);
    let name = loaded.map_err(CmdError::msg)?;
    ctx.reply.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut engine = ctx.server.scripting.engine.lock();
    let deleted = engine.delete_library(args.get(2));
    ctx.server.scripting.note_counts(&engine);
    if !deleted {
        return Err(CmdError::msg("ERR Library not found"));
    }
    ctx.reply.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    flush_mode(args, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option")?;
    let mut engine = ctx.server.scripting.engine.lock();
    engine.flush_functions();
    ctx.server.scripting.note_counts(&engine);
    ctx.reply.ok();
    Ok(())
}

fn function_kill(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    kill(ctx, false)
}

fn function_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if is(a, "withcode") && !with_code {
            with_code = true;
        } else if is(a, "libraryname") && pattern.is_none() {
            if i + 1 >= args.len() {
                return Err(CmdError::msg("ERR library name argument was not given"));
            }
            pattern = Some(args.get(i + 1));
            i += 1;
        } else {
            return Err(CmdError::msg(format!("ERR Unknown argument {}", String::from_utf8_lossy(a))));
        }
        i += 1;
    }
    let matches = |name: &[u8]| pattern.is_none_or(|p| glob::matches(p, name, true));
    let engine = ctx.server.scripting.engine.lock();
    engine.list_functions(&matches, with_code, ctx.reply);
    Ok(())
}

fn function_dump(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    // Library code is an RDB string like any other: compressed under `rdbcompression`.
    let compress = ctx.server.config.read().get_one("rdbcompression").is_none_or(|v| v == "yes");
    let codes = ctx.server.scripting.library_codes();
    ctx.reply.bulk(&rdb::functions_payload(&codes, compress));
    Ok(())
}

fn function_restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let policy = match args.len() {
        3 => RestorePolicy::Append,
        4 if is(args.get(3), "append") => RestorePolicy::Append,
        4 if is(args.get(3), "replace") => RestorePolicy::Replace,
        4 if is(args.get(3), "flush") => RestorePolicy::Flush,
        _ => {
            return Err(CmdError::msg(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let codes = rdb::read_functions_payload(args.get(2))
        .ok_or_else(|| CmdError::msg("ERR DUMP payload version or checksum are wrong"))?;
    let db = ctx.client.db;
    let mut engine = ctx.server.scripting.engine.lock();
    let mut host = ScriptHost { db, ctx: &mut *ctx, read_only: true };
    let restored = engine.restore_functions(codes, policy, &mut host);
    ctx.server.scripting.note_counts(&engine);
    drop(engine);
    restored.map_err(CmdError::msg)?;
    ctx.reply.ok();
    Ok(())
}

fn function_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let scripting = &ctx.server.scripting;
    if scripting.running() == Some(true) {
        return Err(CmdError::msg(BUSY_EVAL));
    }
    let current = scripting.current_function();
    let (libs, funcs) = scripting.library_counts();
    ctx.reply.map(2);
    ctx.reply.bulk(b"running_script");
    match current {
        None => ctx.reply.null(),
        Some((name, cmd, ms)) => {
            ctx.reply.map(3);
            ctx.reply.bulk(b"name");
            ctx.reply.bulk(&name);
            ctx.reply.bulk(b"command");
            ctx.reply.array(cmd.len());
            for a in &cmd {
                ctx.reply.bulk(a);
            }
            ctx.reply.bulk(b"duration_ms");
            ctx.reply.int(ms as i64);
        }
    }
    ctx.reply.bulk(b"engines");
    ctx.reply.map(1);
    ctx.reply.bulk(b"LUA");
    ctx.reply.map(2);
    ctx.reply.bulk(b"libraries_count");
    ctx.reply.int(libs as i64);
    ctx.reply.bulk(b"functions_count");
    ctx.reply.int(funcs as i64);
    Ok(())
}

fn function_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    help(
        ctx,
        &[
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

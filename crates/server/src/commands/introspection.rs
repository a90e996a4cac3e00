//! COMMAND and its subcommands: what the server knows about its own commands. Every answer is
//! read from the command table, so a command added to the table is described without more work.

use roost_resp::{Args, ReplyBuf};
use roost_store::glob;

use super::{is, BASE};
use crate::command::{find_subcommand, flags, flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::server::Server;

const SUB: CommandSpec =
    CommandSpec { flags: LOADING | STALE, acl: &["@slow", "@connection"], group: "server", since: "2.8.13", ..BASE };

pub const COMMAND: CommandSpec = CommandSpec {
    name: "command",
    arity: -1,
    summary: "Get array of Redis command details",
    complexity: "O(N) where N is the total number of Redis commands",
    run: command_all,
    subcommands: &[
        CommandSpec {
            name: "command|count",
            arity: 2,
            summary: "Get total number of Redis commands",
            run: count,
            ..SUB
        },
        CommandSpec {
            name: "command|docs",
            arity: -2,
            since: "7.0.0",
            summary: "Get array of specific Redis command documentation",
            complexity: "O(N) where N is the number of commands to look up",
            run: docs,
            ..SUB
        },
        CommandSpec {
            name: "command|getkeys",
            arity: -4,
            summary: "Extract keys given a full Redis command",
            complexity: "O(N) where N is the number of arguments to the command",
            run: getkeys,
            ..SUB
        },
        CommandSpec {
            name: "command|getkeysandflags",
            arity: -4,
            since: "7.0.0",
            summary: "Extract keys and access flags given a full Redis command",
            complexity: "O(N) where N is the number of arguments to the command",
            run: getkeysandflags,
            ..SUB
        },
        CommandSpec {
            name: "command|help",
            arity: 2,
            since: "5.0.0",
            summary: "Show helpful text about the different subcommands",
            run: help,
            ..SUB
        },
        CommandSpec {
            name: "command|info",
            arity: -2,
            summary: "Get array of specific Redis command details, or all when no argument is given.",
            complexity: "O(N) where N is the number of commands to look up",
            run: info,
            ..SUB
        },
        CommandSpec {
            name: "command|list",
            arity: -2,
            since: "7.0.0",
            summary: "Get an array of Redis command names",
            complexity: "O(N) where N is the total number of Redis commands",
            run: list,
            ..SUB
        },
    ],
    ..SUB
};

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
];

/// A container's HELP reply: the usage line naming the command as it was called, `lines`, and
/// the closing HELP entry every container has.
pub fn reply_help(ctx: &mut Ctx, args: &Args, lines: &[&str]) {
    let name = String::from_utf8_lossy(args.get(0)).to_ascii_uppercase();
    let r = &mut *ctx.reply;
    r.array(lines.len() + 3);
    r.simple(format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").as_bytes());
    for line in lines {
        r.simple(line.as_bytes());
    }
    r.simple(b"HELP");
    r.simple(b"    Prints this help.");
}

/// The error of a subcommand a container parses itself and finds unknown or malformed.
pub fn subcommand_syntax_error(args: &Args) -> CmdError {
    let sub: String = String::from_utf8_lossy(args.get(1)).chars().take(128).collect();
    let name = String::from_utf8_lossy(args.get(0)).to_ascii_uppercase();
    CmdError::msg(format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {name} HELP."))
}

fn help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_help(ctx, args, HELP);
    Ok(())
}

/// ACL categories in the order Redis lists them.
const CATEGORIES: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// A command's ACL categories: those its entry names plus those its flags imply (writes are
/// @write, admin commands @admin and @dangerous, whatever is not @fast is @slow, ...), in Redis's
/// order. Deriving the implied ones keeps COMMAND INFO and ACL filters right even when an entry
/// lists only the categories particular to it.
pub fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    let mut has: Vec<&'static str> = spec.acl.to_vec();
    let mut add = |c: &'static str| {
        if !has.contains(&c) {
            has.push(c);
        }
    };
    if spec.has(WRITE) {
        add("@write");
    }
    if spec.has(READONLY) && !spec.acl.contains(&"@scripting") {
        add("@read");
    }
    if spec.has(ADMIN) {
        add("@admin");
        add("@dangerous");
    }
    if spec.has(PUBSUB) {
        add("@pubsub");
    }
    if spec.has(FAST) {
        add("@fast");
    }
    if spec.has(BLOCKING) {
        add("@blocking");
    }
    if !has.contains(&"@fast") {
        has.push("@slow");
    }
    let mut out: Vec<&'static str> = CATEGORIES.iter().copied().filter(|c| has.contains(c)).collect();
    // Categories Redis does not know keep their place at the end rather than vanish.
    out.extend(has.iter().copied().filter(|c| !CATEGORIES.contains(c)));
    out
}

/// Command flags as COMMAND INFO shows them. Redis keeps may_replicate to itself, and reports
/// movablekeys for every command whose keys must be found by parsing.
pub fn shown_flags(spec: &CommandSpec) -> Vec<&'static str> {
    let movable = spec.has(MOVABLEKEYS) || matches!(spec.keys, Keys::Custom(_));
    let mut out = Vec::new();
    for &(bit, name) in flags::NAMES {
        if bit == MAY_REPLICATE {
            continue;
        }
        if bit == NO_MULTI && spec.has(NO_ASYNC_LOADING) {
            out.push("no_async_loading");
        }
        if spec.has(bit) || (bit == MOVABLEKEYS && movable) {
            out.push(name);
        }
    }
    if spec.has(NO_ASYNC_LOADING) && !out.contains(&"no_async_loading") {
        out.push("no_async_loading");
    }
    out
}

/// Key-spec flags as Redis prints them: the access kinds in capitals, the rest in lower case.
fn key_flag(f: &str) -> String {
    if ["RO", "RW", "OW", "RM"].iter().any(|k| k.eq_ignore_ascii_case(f)) {
        f.to_ascii_uppercase()
    } else {
        f.to_ascii_lowercase()
    }
}

/// The top-level commands clients can call (renamed ones under their original entry), in
/// table order so replies are stable.
fn visible_commands(server: &Server) -> Vec<&'static CommandSpec> {
    let mut v: Vec<(usize, &'static CommandSpec)> =
        server.commands.visible().map(|(_, spec)| (server.commands.stat_index(spec), spec)).collect();
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, spec)| spec).collect()
}

/// A command or `container|subcommand` by name, as COMMAND INFO and DOCS look names up.
fn lookup_by_name(server: &Server, name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&c| c == b'|');
    let base = parts.next()?;
    let sub = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (spec, _) = server.commands.get(base)?;
    match sub {
        None => Some(spec),
        Some(sub) => find_subcommand(spec, sub),
    }
}

fn reply_key_specs(r: &mut ReplyBuf, spec: &CommandSpec) {
    if matches!(spec.keys, Keys::None) {
        r.set(0);
        return;
    }
    r.set(1);
    r.map(3);
    r.bulk(b"flags");
    r.set(spec.key_flags.len());
    for f in spec.key_flags {
        r.simple(key_flag(f).as_bytes());
    }
    match spec.keys {
        Keys::Range { first, last, step } => {
            r.bulk(b"begin_search");
            r.map(2);
            r.bulk(b"type");
            r.bulk(b"index");
            r.bulk(b"spec");
            r.map(1);
            r.bulk(b"index");
            r.int(first as i64);
            r.bulk(b"find_keys");
            r.map(2);
            r.bulk(b"type");
            r.bulk(b"range");
            r.bulk(b"spec");
            r.map(3);
            r.bulk(b"lastkey");
            // A key spec counts the last key from the first one; a negative one from the end.
            r.int(if last < 0 { last as i64 } else { (last - first) as i64 });
            r.bulk(b"keystep");
            r.int(step as i64);
            r.bulk(b"limit");
            r.int(0);
        }
        // Keys found by parsing have no declarative description.
        Keys::Custom(_) | Keys::None => {
            for part in [&b"begin_search"[..], b"find_keys"] {
                r.bulk(part);
                r.map(2);
                r.bulk(b"type");
                r.bulk(b"unknown");
                r.bulk(b"spec");
                r.map(0);
            }
        }
    }
}

/// One command's COMMAND INFO entry: Redis 7's ten fields, subcommands nested the same way.
pub fn reply_command_info(r: &mut ReplyBuf, spec: &CommandSpec) {
    r.array(10);
    r.bulk(spec.name.as_bytes());
    r.int(spec.arity as i64);
    let shown = shown_flags(spec);
    r.set(shown.len());
    for f in shown {
        r.simple(f.as_bytes());
    }
    let (first, last, step) = spec.key_range();
    r.int(first as i64);
    r.int(last as i64);
    r.int(step as i64);
    let cats = acl_categories(spec);
    r.set(cats.len());
    for c in cats {
        r.simple(c.as_bytes());
    }
    // Roost's table has no command tips.
    r.set(0);
    reply_key_specs(r, spec);
    if spec.subcommands.is_empty() {
        r.set(0);
    } else {
        r.array(spec.subcommands.len());
        for sub in spec.subcommands {
            reply_command_info(r, sub);
        }
    }
}

/// One command's COMMAND DOCS map. The table carries no argument or history documentation, so
/// those keys are left out rather than made up.
fn reply_command_docs(r: &mut ReplyBuf, spec: &CommandSpec) {
    let fields = 1
        + usize::from(!spec.summary.is_empty())
        + usize::from(!spec.since.is_empty())
        + usize::from(!spec.complexity.is_empty())
        + usize::from(!spec.subcommands.is_empty());
    r.map(fields);
    if !spec.summary.is_empty() {
        r.bulk(b"summary");
        r.bulk(spec.summary.as_bytes());
    }
    if !spec.since.is_empty() {
        r.bulk(b"since");
        r.bulk(spec.since.as_bytes());
    }
    r.bulk(b"group");
    r.bulk(spec.group.as_bytes());
    if !spec.complexity.is_empty() {
        r.bulk(b"complexity");
        r.bulk(spec.complexity.as_bytes());
    }
    if !spec.subcommands.is_empty() {
        r.bulk(b"subcommands");
        r.map(spec.subcommands.len());
        for sub in spec.subcommands {
            r.bulk(sub.name.as_bytes());
            reply_command_docs(r, sub);
        }
    }
}

fn command_all(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let all = visible_commands(ctx.server);
    ctx.reply.array(all.len());
    for spec in all {
        reply_command_info(ctx.reply, spec);
    }
    Ok(())
}

fn count(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.reply.int(ctx.server.commands.visible().count() as i64);
    Ok(())
}

fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.reply.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match lookup_by_name(ctx.server, name) {
            Some(spec) => reply_command_info(ctx.reply, spec),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

fn docs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let found: Vec<&'static CommandSpec> = if args.len() == 2 {
        visible_commands(ctx.server)
    } else {
        // Unknown names are left out, not answered with nulls.
        args.iter().skip(2).filter_map(|name| lookup_by_name(ctx.server, name)).collect()
    };
    ctx.reply.map(found.len());
    for spec in found {
        ctx.reply.bulk(spec.name.as_bytes());
        reply_command_docs(ctx.reply, spec);
    }
    Ok(())
}

enum ListFilter<'a> {
    None,
    Module,
    AclCategory(&'a [u8]),
    Pattern(&'a [u8]),
}

impl ListFilter<'_> {
    fn accepts(&self, spec: &CommandSpec) -> bool {
        match self {
            ListFilter::None => true,
            // No command comes from a module.
            ListFilter::Module => false,
            ListFilter::AclCategory(cat) => {
                acl_categories(spec).iter().any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(cat))
            }
            ListFilter::Pattern(p) => glob::matches(p, spec.name.as_bytes(), true),
        }
    }
}

fn list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut filter = ListFilter::None;
    let mut i = 2;
    while i < args.len() {
        if !(is(args.get(i), "filterby") && args.len() - 1 - i == 2) {
            return Err(CmdError::Syntax);
        }
        let (kind, arg) = (args.get(i + 1), args.get(i + 2));
        filter = if is(kind, "module") {
            ListFilter::Module
        } else if is(kind, "aclcat") {
            ListFilter::AclCategory(arg)
        } else if is(kind, "pattern") {
            ListFilter::Pattern(arg)
        } else {
            return Err(CmdError::Syntax);
        };
        i += 3;
    }
    let mut names: Vec<&'static str> = Vec::new();
    for spec in visible_commands(ctx.server) {
        if filter.accepts(spec) {
            names.push(spec.name);
        }
        names.extend(spec.subcommands.iter().filter(|s| filter.accepts(s)).map(|s| s.name));
    }
    ctx.reply.array(names.len());
    for n in names {
        ctx.reply.bulk(n.as_bytes());
    }
    Ok(())
}

/// The command described by a full command line (`args`), and the positions of its keys in it,
/// with Redis's errors for lines that name no command or no keys.
fn keys_of(ctx: &Ctx, line: &Args) -> Result<(&'static CommandSpec, Vec<usize>), CmdError> {
    let invalid = || CmdError::msg("ERR Invalid command specified");
    let (base, _) = ctx.server.commands.get(line.get(0)).ok_or_else(invalid)?;
    let spec = if line.len() == 1 || base.subcommands.is_empty() {
        base
    } else {
        find_subcommand(base, line.get(1)).ok_or_else(invalid)?
    };
    if matches!(spec.keys, Keys::None) {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    if !spec.arity_ok(line.len()) {
        return Err(CmdError::msg("ERR Invalid number of arguments specified for command"));
    }
    let positions = spec.key_positions(line);
    // Scripts may legitimately name no keys; any other keyed command must name some.
    if positions.is_empty() && spec.group != "scripting" {
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    Ok((spec, positions))
}

fn getkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let line = args.tail(2);
    let (_, positions) = keys_of(ctx, &line)?;
    ctx.reply.array(positions.len());
    for p in positions {
        ctx.reply.bulk(line.get(p));
    }
    Ok(())
}

fn getkeysandflags(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let line = args.tail(2);
    let (spec, positions) = keys_of(ctx, &line)?;
    let r = &mut *ctx.reply;
    r.array(positions.len());
    for p in positions {
        r.array(2);
        r.bulk(line.get(p));
        r.set(spec.key_flags.len());
        for f in spec.key_flags {
            r.simple(key_flag(f).as_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_categories_follow_redis_order() {
        let spec = CommandSpec { flags: ADMIN | NOSCRIPT, acl: &["@connection"], ..BASE };
        assert_eq!(acl_categories(&spec), vec!["@admin", "@slow", "@dangerous", "@connection"]);
        let spec = CommandSpec { flags: READONLY | FAST, acl: &["@string"], ..BASE };
        assert_eq!(acl_categories(&spec), vec!["@read", "@string", "@fast"]);
    }

    #[test]
    fn key_flags_case() {
        assert_eq!(key_flag("RW"), "RW");
        assert_eq!(key_flag("ACCESS"), "access");
        assert_eq!(key_flag("VARIABLE_FLAGS"), "variable_flags");
    }
}

//! Connection commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, SWAPDB, RESET.

use std::sync::atomic::Ordering;

use roost_config::REDIS_VERSION;
use roost_resp::Args;

use super::{is, parse_int, BASE};
use crate::client::ReplyMode;
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

const CONN: &[&str] = &["@fast", "@connection"];

pub const PING: CommandSpec = CommandSpec {
    name: "ping",
    arity: -1,
    flags: FAST | SENTINEL,
    acl: CONN,
    group: "connection",
    summary: "Returns the server's liveliness response.",
    run: ping,
    ..BASE
};
pub const ECHO: CommandSpec = CommandSpec {
    name: "echo",
    arity: 2,
    flags: FAST,
    acl: CONN,
    group: "connection",
    summary: "Returns the given string.",
    run: echo,
    ..BASE
};
pub const QUIT: CommandSpec = CommandSpec {
    name: "quit",
    arity: -1,
    flags: ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
    acl: CONN,
    group: "connection",
    summary: "Closes the connection.",
    run: quit,
    ..BASE
};
pub const HELLO: CommandSpec = CommandSpec {
    name: "hello",
    arity: -1,
    flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
    acl: CONN,
    group: "connection",
    since: "6.0.0",
    summary: "Handshakes with the Redis server.",
    run: hello,
    ..BASE
};
pub const AUTH: CommandSpec = CommandSpec {
    name: "auth",
    arity: -2,
    flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
    acl: CONN,
    group: "connection",
    summary: "Authenticates the connection.",
    complexity: "O(N) where N is the number of passwords defined for the user",
    run: auth,
    ..BASE
};
pub const SELECT: CommandSpec = CommandSpec {
    name: "select",
    arity: 2,
    flags: LOADING | STALE | FAST,
    acl: CONN,
    group: "connection",
    summary: "Changes the selected database.",
    run: select,
    ..BASE
};
pub const SWAPDB: CommandSpec = CommandSpec {
    name: "swapdb",
    arity: 3,
    flags: WRITE | FAST,
    acl: &["@keyspace", "@write", "@fast", "@dangerous"],
    group: "server",
    since: "4.0.0",
    summary: "Swaps two Redis databases.",
    complexity: "O(N) where N is the count of clients watching or blocking on keys from both databases.",
    run: swapdb,
    ..BASE
};
pub const RESET: CommandSpec = CommandSpec {
    name: "reset",
    arity: 1,
    flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
    acl: CONN,
    group: "connection",
    since: "6.2.0",
    summary: "Resets the connection.",
    run: reset,
    keys: Keys::None,
    ..BASE
};

fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.client.subscriptions > 0 && !ctx.reply.resp3 && args.len() <= 2 {
        // A RESP2 subscriber can only tell replies from messages by their shape.
        ctx.reply.array(2);
        ctx.reply.bulk(b"pong");
        ctx.reply.bulk(if args.len() == 2 { args.get(1) } else { b"" });
        return Ok(());
    }
    match args.len() {
        1 => ctx.reply.simple(b"PONG"),
        2 => ctx.reply.bulk(args.get(1)),
        _ => return Err(CmdError::WrongArity("ping".into())),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.reply.bulk(args.get(1));
    Ok(())
}

fn quit(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.reply.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

/// Checks a username/password pair against the default user (the only user until ACLs exist).
fn check_credentials(ctx: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &*ctx.server.live.requirepass.read() {
        Some(expected) => expected.as_slice() == pass,
        // The default user without a password ("nopass") accepts any.
        None => true,
    }
}

fn auth(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, pass) = if args.len() == 2 { (&b"default"[..], args.get(1)) } else { (args.get(1), args.get(2)) };
    if args.len() == 2 && !ctx.server.live.password_required.load(Ordering::Relaxed) {
        return Err(CmdError::NoPassword);
    }
    if !check_credentials(ctx, user, pass) {
        return Err(CmdError::WrongPass);
    }
    ctx.client.authenticated = true;
    ctx.reply.ok();
    Ok(())
}

/// Client names may not contain spaces, newlines or other characters outside '!'..='~'.
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if args.len() >= 2 {
        let v = parse_int(args.get(1))
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        proto = Some(v as u8);
        i = 2;
    }
    let mut credentials = None;
    let mut name = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(args.get(i), "auth") && more >= 2 {
            credentials = Some((args.get(i + 1), args.get(i + 2)));
            i += 3;
        } else if is(args.get(i), "setname") && more >= 1 {
            name = Some(args.get(i + 1));
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args.get(i))
            )));
        }
    }
    if let Some((user, pass)) = credentials {
        if !check_credentials(ctx, user, pass) {
            return Err(CmdError::WrongPass);
        }
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = name {
        if !valid_client_name(name) {
            return Err(CmdError::msg("ERR Client names cannot contain spaces, newlines or special characters."));
        }
        ctx.handle.meta.lock().name = name.to_vec();
    }
    if let Some(p) = proto {
        ctx.reply.resp3 = p == 3;
        ctx.handle.meta.lock().resp = p;
        ctx.handle.resp3.store(p == 3, Ordering::Relaxed);
    }
    let r = &mut *ctx.reply;
    r.map(7);
    r.bulk(b"server");
    r.bulk(b"redis");
    r.bulk(b"version");
    r.bulk(REDIS_VERSION.as_bytes());
    r.bulk(b"proto");
    r.int(if r.resp3 { 3 } else { 2 });
    r.bulk(b"id");
    r.int(ctx.handle.id as i64);
    r.bulk(b"mode");
    r.bulk(b"standalone");
    r.bulk(b"role");
    r.bulk(b"master");
    r.bulk(b"modules");
    r.array(0);
    Ok(())
}

/// A database index argument: an integer within `databases`.
pub fn db_index(ctx: &Ctx, arg: &[u8], not_int: CmdError) -> Result<usize, CmdError> {
    let v = parse_int(arg).map_err(|_| not_int)?;
    if v < 0 || v as usize >= ctx.server.keyspace.databases() || v > i32::MAX as i64 {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(v as usize)
}

fn select(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let db = db_index(ctx, args.get(1), CmdError::NotInteger)?;
    ctx.client.db = db;
    ctx.handle.meta.lock().db = db;
    ctx.reply.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let a = db_index(ctx, args.get(1), CmdError::msg("ERR invalid first DB index"))?;
    let b = db_index(ctx, args.get(2), CmdError::msg("ERR invalid second DB index"))?;
    if a != b {
        ctx.server.keyspace.swap_dbs(a, b);
        ctx.server.watches.touch_swapped(&ctx.server.keyspace, a, b);
    }
    ctx.reply.ok();
    Ok(())
}

fn reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.client.multi = None;
    ctx.handle.multi_queued.store(-1, Ordering::Relaxed);
    crate::commands::transaction::unwatch_all(ctx);
    crate::commands::pubsub::forget(ctx);
    crate::tracking::disable(ctx.server, ctx.handle, ctx.client);
    ctx.client.db = 0;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.authenticated = !ctx.server.live.password_required.load(Ordering::Relaxed);
    ctx.reply.resp3 = false;
    {
        let mut meta = ctx.handle.meta.lock();
        meta.db = 0;
        meta.resp = 2;
        ctx.handle.resp3.store(false, Ordering::Relaxed);
        meta.name.clear();
        meta.no_evict = false;
    }
    ctx.reply.simple(b"RESET");
    Ok(())
}

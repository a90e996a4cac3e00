//! CLIENT and its subcommands: naming, listing, killing and pausing connections, reply modes.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use roost_resp::{Args, ReplyBuf};
use roost_store::now_ms;

use super::connection::valid_client_name;
use super::introspection::{reply_help, subcommand_syntax_error};
use super::{is, parse_int, BASE};
use crate::blocking::{UNBLOCKED_ERROR, UNBLOCKED_TIMEOUT};
use crate::client::{ClientHandle, ReplyMode};
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::server::Server;

const CONN: &[&str] = &["@slow", "@connection"];
const CONN_ADMIN: &[&str] = &["@admin", "@slow", "@dangerous", "@connection"];
const SUB: CommandSpec = CommandSpec { flags: NOSCRIPT | LOADING | STALE, acl: CONN, group: "connection", ..BASE };
const ADMIN_SUB: CommandSpec = CommandSpec { flags: ADMIN | NOSCRIPT | LOADING | STALE, acl: CONN_ADMIN, ..SUB };

pub const CLIENT: CommandSpec = CommandSpec {
    name: "client",
    arity: -2,
    acl: &["@slow"],
    group: "connection",
    since: "2.4.0",
    summary: "A container for client connection commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "client|id",
            arity: 2,
            since: "5.0.0",
            summary: "Returns the client ID for the current connection",
            run: id,
            ..SUB
        },
        CommandSpec {
            name: "client|setname",
            arity: 3,
            since: "2.6.9",
            summary: "Set the current connection name",
            run: setname,
            ..SUB
        },
        CommandSpec {
            name: "client|getname",
            arity: 2,
            since: "2.6.9",
            summary: "Get the current connection name",
            run: getname,
            ..SUB
        },
        CommandSpec {
            name: "client|list",
            arity: -2,
            since: "2.4.0",
            summary: "Get the list of client connections",
            complexity: "O(N) where N is the number of client connections",
            run: list,
            ..ADMIN_SUB
        },
        CommandSpec {
            name: "client|info",
            arity: 2,
            since: "6.2.0",
            summary: "Returns information about the current client connection.",
            run: info,
            ..SUB
        },
        CommandSpec {
            name: "client|kill",
            arity: -3,
            since: "2.4.0",
            summary: "Kill the connection of a client",
            complexity: "O(N) where N is the number of client connections",
            run: kill,
            ..ADMIN_SUB
        },
        CommandSpec {
            name: "client|pause",
            arity: -3,
            since: "2.9.50",
            summary: "Stop processing commands from clients for some time",
            run: pause,
            ..ADMIN_SUB
        },
        CommandSpec {
            name: "client|unblock",
            arity: -3,
            since: "5.0.0",
            summary: "Unblocks a client blocked by a blocking command from a different connection",
            complexity: "O(log N) where N is the number of client connections",
            run: unblock,
            ..ADMIN_SUB
        },
        CommandSpec {
            name: "client|unpause",
            arity: 2,
            since: "6.2.0",
            summary: "Resume processing of clients that were paused",
            complexity: "O(N) Where N is the number of paused clients",
            run: unpause,
            ..ADMIN_SUB
        },
        CommandSpec {
            name: "client|reply",
            arity: 3,
            since: "3.2.0",
            summary: "Instruct the server whether to reply to commands",
            run: reply,
            ..SUB
        },
        CommandSpec {
            name: "client|no-evict",
            arity: 3,
            since: "7.0.0",
            summary: "Set client eviction mode for the current connection",
            run: no_evict,
            ..ADMIN_SUB
        },
        CommandSpec {
            name: "client|tracking",
            arity: -3,
            since: "6.0.0",
            summary: "Enable or disable server assisted client side caching support",
            complexity: "O(1). Some options may introduce additional complexity.",
            run: super::tracking::tracking,
            ..SUB
        },
        CommandSpec {
            name: "client|caching",
            arity: 3,
            since: "6.0.0",
            summary: "Instruct the server about tracking or not keys in the next request",
            run: super::tracking::caching,
            ..SUB
        },
        CommandSpec {
            name: "client|getredir",
            arity: 2,
            since: "6.0.0",
            summary: "Get tracking notifications redirection client ID if any",
            run: super::tracking::getredir,
            ..SUB
        },
        CommandSpec {
            name: "client|trackinginfo",
            arity: 2,
            since: "6.2.0",
            summary: "Return information about server assisted client side caching for the current connection",
            run: super::tracking::trackinginfo,
            ..SUB
        },
        // Redis 7.2's: clients (redis-py, go-redis, ...) send it on connect.
        CommandSpec {
            name: "client|setinfo",
            arity: 4,
            since: "7.2.0",
            summary: "Sets information specific to the client or connection.",
            run: setinfo,
            ..SUB
        },
        CommandSpec {
            name: "client|help",
            arity: 2,
            flags: LOADING | STALE,
            since: "5.0.0",
            summary: "Show helpful text about the different subcommands",
            run: help,
            ..SUB
        },
    ],
    ..BASE
};

const HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

fn help(ctx: &mut Ctx, args: &Args) -> CmdResult {
    reply_help(ctx, args, HELP);
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking wait.
fn unblock(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let id = parse_int(args.get(2))?;
    let how = match args.len() {
        3 => UNBLOCKED_TIMEOUT,
        4 if is(args.get(3), "timeout") => UNBLOCKED_TIMEOUT,
        4 if is(args.get(3), "error") => UNBLOCKED_ERROR,
        4 => return Err(CmdError::msg("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
        _ => return Err(subcommand_syntax_error(args)),
    };
    let done = id >= 0 && ctx.server.blocking.unblock(id as u64, how);
    ctx.reply.int(done as i64);
    Ok(())
}

fn id(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.reply.int(ctx.handle.id as i64);
    Ok(())
}

fn setname(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = args.get(2);
    if !valid_client_name(name) {
        return Err(CmdError::msg("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    ctx.handle.meta.lock().name = name.to_vec();
    ctx.reply.ok();
    Ok(())
}

fn getname(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let name = ctx.handle.meta.lock().name.clone();
    if name.is_empty() {
        ctx.reply.null();
    } else {
        ctx.reply.bulk(&name);
    }
    Ok(())
}

fn setinfo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let attr = args.get(2);
    let value = args.get(3);
    let lib_name = if is(attr, "lib-name") {
        true
    } else if is(attr, "lib-ver") {
        false
    } else {
        return Err(CmdError::msg(format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(attr))));
    };
    if !valid_client_name(value) {
        return Err(CmdError::msg(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        )));
    }
    let mut meta = ctx.handle.meta.lock();
    if lib_name {
        meta.lib_name = value.to_vec();
    } else {
        meta.lib_ver = value.to_vec();
    }
    drop(meta);
    ctx.reply.ok();
    Ok(())
}

fn reply(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mode = args.get(2);
    if is(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.reply.ok();
    } else if is(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if is(mode, "skip") {
        // SKIP never overrides OFF: a silenced connection stays silent.
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

fn no_evict(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let on = if is(args.get(2), "on") {
        true
    } else if is(args.get(2), "off") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    ctx.handle.meta.lock().no_evict = on;
    ctx.reply.ok();
    Ok(())
}

/// Client classes as CLIENT LIST TYPE and CLIENT KILL TYPE name them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

impl ClientType {
    pub fn by_name(name: &[u8]) -> Option<ClientType> {
        if is(name, "normal") {
            Some(ClientType::Normal)
        } else if is(name, "slave") || is(name, "replica") {
            Some(ClientType::Replica)
        } else if is(name, "pubsub") {
            Some(ClientType::Pubsub)
        } else if is(name, "master") {
            Some(ClientType::Master)
        } else {
            None
        }
    }

    /// A subscribed connection is a pubsub client (CLIENT LIST/KILL TYPE, output buffer limit
    /// class); every other one is normal until Roost has replication.
    pub fn of(handle: &ClientHandle) -> ClientType {
        if handle.subscriptions.load(Ordering::Relaxed) > 0 {
            ClientType::Pubsub
        } else {
            ClientType::Normal
        }
    }
}

fn unknown_type(name: &[u8]) -> CmdError {
    CmdError::msg(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(name)))
}

/// What only the connection running CLIENT LIST/INFO knows about itself: its request and its
/// reply buffer (other connections' buffers live inside their own tasks).
pub struct Caller<'a> {
    pub args: &'a Args<'a>,
    pub reply: &'a ReplyBuf,
}

/// Bytes the request occupied in the query buffer, as a multibulk request.
fn request_len(args: &Args) -> usize {
    let digits = |n: usize| n.to_string().len();
    let mut len = 1 + digits(args.len()) + 2;
    for a in args.iter() {
        len += 1 + digits(a.len()) + 2 + a.len() + 2;
    }
    len
}

/// A connection's reply buffer starts at (and is trimmed back to) this capacity; it is what we
/// report for connections whose buffer we cannot see.
const REPLY_BUF_INITIAL: usize = 16 * 1024;

/// One CLIENT LIST line (without the newline): Redis 7.0's fields in its order, then the
/// lib-name and lib-ver fields Redis 7.2 appends. Clients parse these lines as space-separated
/// `key=value` pairs, so the two trailing fields are harmless to 7.0-era parsers.
pub fn client_info_line(server: &Server, h: &ClientHandle, caller: Option<&Caller>) -> String {
    let meta = h.meta.lock().clone();
    let mut flags = String::new();
    let (sub, psub, ssub) = server.pubsub.client_counts(h.id);
    if sub + psub + ssub > 0 {
        flags.push('P');
    }
    let multi = h.multi_queued.load(Ordering::Relaxed);
    if multi >= 0 {
        flags.push('x');
    }
    if h.blocked.load(Ordering::Relaxed) {
        flags.push('b');
    }
    let tracking = h.tracking.list_info();
    if tracking.on {
        flags.push('t');
    }
    if tracking.broken {
        flags.push('R');
    }
    if tracking.bcast {
        flags.push('B');
    }
    if h.watch_touched.lock().as_ref().is_some_and(|t| t.load(Ordering::Relaxed)) {
        flags.push('d');
    }
    if meta.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let (qbuf, argv_mem, obl, rbs, rbp, idle, events) = match caller {
        // The running request is still in the caller's query buffer, as in Redis.
        Some(c) => (
            request_len(c.args),
            c.args.iter().map(<[u8]>::len).sum::<usize>(),
            c.reply.out.len(),
            c.reply.out.capacity(),
            c.reply.out.len(),
            0,
            "r",
        ),
        None => {
            let pending = h.output_len.load(Ordering::Relaxed);
            let events = if pending > 0 { "rw" } else { "r" };
            (h.query_buf.load(Ordering::Relaxed), 0, pending, REPLY_BUF_INITIAL, 0, h.idle_secs(), events)
        }
    };
    let qbuf_free = h.query_buf_free.load(Ordering::Relaxed);
    let tot_mem = std::mem::size_of::<ClientHandle>() + qbuf + qbuf_free + argv_mem + rbs;
    let cmd = match h.last_cmd.load(Ordering::Relaxed) {
        usize::MAX => "NULL",
        i => server.commands.all.get(i).map_or("NULL", |c| c.name),
    };
    let mut line = String::with_capacity(320);
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
         qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl={} oll=0 omem=0 tot-mem={} events={} \
         cmd={} user={} redir={} resp={} lib-name={} lib-ver={}",
        h.id,
        h.addr,
        h.laddr,
        h.fd,
        String::from_utf8_lossy(&meta.name),
        h.created.elapsed().as_secs(),
        idle,
        flags,
        meta.db,
        sub,
        psub,
        ssub,
        multi,
        qbuf,
        qbuf_free,
        argv_mem,
        rbs,
        rbp,
        obl,
        tot_mem,
        events,
        cmd,
        meta.user,
        tracking.redirect,
        meta.resp,
        String::from_utf8_lossy(&meta.lib_name),
        String::from_utf8_lossy(&meta.lib_ver),
    );
    line
}

/// The registered clients, in id (creation) order, leaving out those already killed.
fn live_clients(server: &Server) -> Vec<Arc<ClientHandle>> {
    server.clients.lock().values().filter(|h| !h.killed.load(Ordering::Acquire)).cloned().collect()
}

fn append_line(out: &mut String, ctx: &Ctx, h: &ClientHandle, args: &Args) {
    if h.id == ctx.handle.id {
        let caller = Caller { args, reply: ctx.reply };
        out.push_str(&client_info_line(ctx.server, h, Some(&caller)));
    } else {
        out.push_str(&client_info_line(ctx.server, h, None));
    }
    out.push('\n');
}

fn list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut out = String::new();
    if args.len() == 4 && is(args.get(2), "type") {
        let wanted = ClientType::by_name(args.get(3)).ok_or_else(|| unknown_type(args.get(3)))?;
        for h in live_clients(ctx.server).iter().filter(|h| ClientType::of(h) == wanted) {
            append_line(&mut out, ctx, h, args);
        }
    } else if args.len() > 3 && is(args.get(2), "id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for a in args.iter().skip(3) {
            ids.push(parse_int(a).map_err(|_| CmdError::msg("ERR Invalid client ID"))?);
        }
        // In the order asked, repeats included, as Redis does.
        for id in ids {
            if let Some(h) = u64::try_from(id).ok().and_then(|id| ctx.server.client(id)) {
                if !h.killed.load(Ordering::Acquire) {
                    append_line(&mut out, ctx, &h, args);
                }
            }
        }
    } else if args.len() != 2 {
        return Err(CmdError::Syntax);
    } else {
        for h in live_clients(ctx.server) {
            append_line(&mut out, ctx, &h, args);
        }
    }
    ctx.reply.verbatim(b"txt", out.as_bytes());
    Ok(())
}

fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut out = String::new();
    let handle = Arc::clone(ctx.handle);
    append_line(&mut out, ctx, &handle, args);
    ctx.reply.verbatim(b"txt", out.as_bytes());
    Ok(())
}

/// CLIENT KILL's filters; every one given must match.
#[derive(Default)]
struct KillFilter<'a> {
    id: Option<u64>,
    kind: Option<ClientType>,
    user: Option<&'a [u8]>,
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    skip_me: bool,
}

impl KillFilter<'_> {
    fn matches(&self, h: &ClientHandle, me: u64) -> bool {
        if self.addr.is_some_and(|a| h.addr.to_string().as_bytes() != a) {
            return false;
        }
        if self.laddr.is_some_and(|a| h.laddr.to_string().as_bytes() != a) {
            return false;
        }
        if self.kind.is_some_and(|k| ClientType::of(h) != k) {
            return false;
        }
        if self.id.is_some_and(|id| h.id != id) {
            return false;
        }
        if self.user.is_some_and(|u| h.meta.lock().user.as_bytes() != u) {
            return false;
        }
        !(self.skip_me && h.id == me)
    }
}

/// Whether an ACL user of this name exists. Until ACLs arrive the default user is the only one.
fn user_exists(name: &[u8]) -> bool {
    name == b"default"
}

fn parse_kill_filter<'a>(args: &Args<'a>) -> Result<KillFilter<'a>, CmdError> {
    let mut f = KillFilter { skip_me: true, ..Default::default() };
    let mut i = 2;
    while i < args.len() {
        let (opt, more) = (args.get(i), i + 1 < args.len());
        if !more {
            return Err(CmdError::Syntax);
        }
        let value = args.get(i + 1);
        if is(opt, "id") {
            let id = parse_int(value)
                .ok()
                .filter(|&v| v >= 1)
                .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?;
            f.id = Some(id as u64);
        } else if is(opt, "type") {
            f.kind = Some(ClientType::by_name(value).ok_or_else(|| unknown_type(value))?);
        } else if is(opt, "addr") {
            f.addr = Some(value);
        } else if is(opt, "laddr") {
            f.laddr = Some(value);
        } else if is(opt, "user") {
            if !user_exists(value) {
                return Err(CmdError::msg(format!("ERR No such user '{}'", String::from_utf8_lossy(value))));
            }
            f.user = Some(value);
        } else if is(opt, "skipme") {
            f.skip_me = if is(value, "yes") {
                true
            } else if is(value, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(f)
}

fn kill(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // `CLIENT KILL ip:port` is the old form: it may kill the caller and answers OK or an error.
    let old_form = args.len() == 3;
    let filter = if old_form {
        KillFilter { addr: Some(args.get(2)), skip_me: false, ..Default::default() }
    } else {
        parse_kill_filter(args)?
    };
    let me = ctx.handle.id;
    let mut killed = 0;
    for h in live_clients(ctx.server) {
        if !filter.matches(&h, me) {
            continue;
        }
        if h.id == me {
            // Our own reply still goes out; the connection closes right after it.
            ctx.client.close_after_reply = true;
        } else {
            h.kill();
        }
        killed += 1;
    }
    if !old_form {
        ctx.reply.int(killed);
    } else if killed == 0 {
        return Err(CmdError::msg("ERR No such client"));
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

/// Starts or extends a pause. Like Redis, a pause only ever gets stronger while it lasts: the
/// later end time and the wider mode (ALL over WRITE) win.
pub fn pause_clients(server: &Server, end_ms: u64, writes_only: bool) {
    let p = &server.pause;
    let now = now_ms();
    let current = p.until_ms.load(Ordering::Acquire);
    if current > now {
        if !writes_only {
            p.writes_only.store(false, Ordering::Relaxed);
        }
        p.until_ms.fetch_max(end_ms, Ordering::AcqRel);
    } else if end_ms > now {
        p.writes_only.store(writes_only, Ordering::Relaxed);
        p.until_ms.store(end_ms, Ordering::Release);
    }
}

/// Ends any pause and wakes the connections waiting on it.
pub fn unpause_clients(server: &Server) {
    server.pause.until_ms.store(0, Ordering::Release);
    server.pause.lifted.notify_waiters();
    // A waiter between its check and its wait would miss notify_waiters; the stored permit
    // wakes it (or at worst makes a later waiter check the pause once more).
    server.pause.lifted.notify_one();
}

fn pause(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(subcommand_syntax_error(args));
    }
    let mut writes_only = false;
    if args.len() == 4 {
        if is(args.get(3), "write") {
            writes_only = true;
        } else if !is(args.get(3), "all") {
            return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL"));
        }
    }
    let timeout = parse_int(args.get(2)).map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    // Redis adds the current time with two's-complement wrap-around, so a timeout near i64::MAX
    // ends in the past and pauses nothing; 0 likewise pauses nothing.
    if timeout > 0 {
        let end = timeout.wrapping_add(now_ms() as i64);
        if end > 0 {
            pause_clients(ctx.server, end as u64, writes_only);
        }
    }
    ctx.reply.ok();
    Ok(())
}

fn unpause(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    unpause_clients(ctx.server);
    ctx.reply.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        assert_eq!(ClientType::by_name(b"SLAVE"), Some(ClientType::Replica));
        assert_eq!(ClientType::by_name(b"replica"), Some(ClientType::Replica));
        assert_eq!(ClientType::by_name(b"Normal"), Some(ClientType::Normal));
        assert_eq!(ClientType::by_name(b"nope"), None);
    }
}

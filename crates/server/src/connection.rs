//! One client connection: read, parse every complete request, execute, write all replies at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use roost_resp::{Args, Limits, OwnedArgs, ReplyBuf, RequestParser};
use roost_store::{now_ms, now_secs, CommandTime};

use crate::blocking::{BlockRequest, UNBLOCKED_ERROR, UNBLOCKED_TIMEOUT};
use crate::client::{ClientHandle, ClientState, ReplyMode};
use crate::command::{find_subcommand, flags, CommandSpec};
use crate::commands::{migrate, transaction};
use crate::ctx::Ctx;
use crate::error::CmdError;
use crate::gate::{Gate, Holder, Passage};
use crate::server::{Rng, Server};
use crate::stats::WorkerStats;

const READ_CHUNK: usize = 16 * 1024;
/// Big arguments are read in steps of at most this much, so a client announcing a huge length
/// cannot make us reserve memory it never sends.
const MAX_READ_RESERVE: usize = 1024 * 1024;

pub async fn serve(server: Arc<Server>, stats: Arc<WorkerStats>, mut stream: TcpStream, handle: Arc<ClientHandle>) {
    let mut input: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new();
    let mut reply = ReplyBuf::new();
    let mut client = ClientState::new(!server.live.password_required.load(Ordering::Relaxed));
    let mut rng = Rng::seeded();
    // Bytes read while the client is blocked (the input buffer is borrowed by the blocked request).
    let mut pending: Vec<u8> = Vec::new();
    // This connection stopped the world for a command of the current batch.
    let mut world_held = false;
    // The context a command runs in, borrowed from this connection's state (the clock is
    // declared later, so it is named at each use).
    macro_rules! ctx {
        ($clock:ident) => {
            Ctx {
                server: &server,
                client: &mut client,
                handle: &handle,
                reply: &mut reply,
                stats: &stats,
                rng: &mut rng,
                clock: &mut $clock,
            }
        };
    }

    'conn: loop {
        let missing = parser.bulk_bytes_missing(input.len());
        input.reserve(missing.clamp(READ_CHUNK, MAX_READ_RESERVE));
        let timeout = match client.subscriptions {
            0 => server.live.timeout_secs.load(Ordering::Relaxed),
            _ => 0,
        };
        let read = read_some(&stream, &mut input);
        let n = tokio::select! {
            r = read => r,
            _ = handle.kill_signal.notified() => break 'conn,
            _ = idle_deadline(timeout) => break 'conn,
            _ = handle.outbox_signal.notified() => {
                let messages = std::mem::take(&mut *handle.outbox.lock());
                if !messages.is_empty() {
                    // A subscriber killed for not reading must not stay parked on a full socket.
                    let written = tokio::select! {
                        r = stream.write_all(&messages) => r.is_ok(),
                        _ = handle.kill_signal.notified() => false,
                    };
                    if !written {
                        break 'conn;
                    }
                    stats.net_output_bytes.fetch_add(messages.len() as u64, Ordering::Relaxed);
                }
                continue 'conn;
            }
        };
        let n = match n {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if handle.killed.load(Ordering::Acquire) {
            break;
        }
        stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
        stats.reads.fetch_add(1, Ordering::Relaxed);
        handle.last_interaction_secs.store(now_secs() as u64, Ordering::Relaxed);
        if input.len() as u64 > server.live.client_query_buffer_limit.load(Ordering::Relaxed) {
            // Redis closes such a client without a reply; there is no safe place to put one.
            break;
        }

        let mut clock = Instant::now();
        // Where this thread's AOF records ended before the batch: the batch's own writes are
        // the ones past it.
        let aof_mark = if server.aof.is_on() { crate::aof::thread_mark() } else { 0 };
        loop {
            let limits = Limits {
                max_bulk_len: server.live.proto_max_bulk_len.load(Ordering::Relaxed),
                authenticated: client.authenticated,
            };
            match parser.next(&input, &limits) {
                Ok(false) => break,
                Ok(true) => {
                    let args = parser.args(&input);
                    if args.is_empty() {
                        continue;
                    }
                    if server.pause.until_ms.load(Ordering::Relaxed) != 0 {
                        Gate::leave(&stats);
                        let_go_of_world(&server, &handle, &mut world_held);
                        tokio::select! {
                            _ = wait_while_paused(&server, &args) => {}
                            _ = handle.kill_signal.notified() => break 'conn,
                        }
                        clock = Instant::now();
                    }
                    if !stats.active.load(Ordering::Relaxed) {
                        Gate::enter(&stats);
                    }
                    if !server.gate.open_for(handle.id) {
                        match park(&server, &stats, &handle, &mut client, &mut reply, &args).await {
                            Admission::Run => {}
                            Admission::Refused => continue,
                            Admission::Close => break 'conn,
                        }
                        clock = Instant::now();
                    }
                    let mut ctx = ctx!(clock);
                    if let Outcome::NeedsWorld(holder) = execute(&mut ctx, &args) {
                        server.gate.stop_world(handle.id, &stats, &server.workers, holder).await;
                        let mut ctx = ctx!(clock);
                        execute(&mut ctx, &args);
                        // Kept until the batch ends: the next scripts of a pipeline run without
                        // stopping the world again each time.
                        world_held = true;
                    }
                    if let Some(request) = client.block.take() {
                        Gate::leave(&stats);
                        let_go_of_world(&server, &handle, &mut world_held);
                        if !flush_before_wait(&server, &handle, &stats, &mut stream, &mut reply, aof_mark).await {
                            break 'conn;
                        }
                        let mut parts = Parts {
                            server: &server,
                            handle: &handle,
                            stats: &stats,
                            client: &mut client,
                            reply: &mut reply,
                            rng: &mut rng,
                            stream: &stream,
                            pending: &mut pending,
                        };
                        if !wait_until_served(&mut parts, &args, request).await {
                            break 'conn;
                        }
                        // Requests that arrived during the wait join the input after the current one.
                        input.extend_from_slice(&pending);
                        pending.clear();
                        clock = Instant::now();
                    }
                    if let Some(job) = client.migrate.take() {
                        Gate::leave(&stats);
                        let_go_of_world(&server, &handle, &mut world_held);
                        if !flush_before_wait(&server, &handle, &stats, &mut stream, &mut reply, aof_mark).await {
                            break 'conn;
                        }
                        let outcome = tokio::select! {
                            o = migrate::run(&job) => o,
                            _ = handle.kill_signal.notified() => break 'conn,
                        };
                        // The deletions are writes like any other: they wait for a stopped
                        // world to start again.
                        Gate::enter(&stats);
                        while !server.gate.open_for(handle.id) {
                            Gate::leave(&stats);
                            tokio::select! {
                                _ = server.gate.wait_free(handle.id) => {}
                                _ = handle.kill_signal.notified() => break 'conn,
                            }
                            Gate::enter(&stats);
                        }
                        clock = Instant::now();
                        let mut ctx = ctx!(clock);
                        migrate::finish(&mut ctx, job, outcome);
                    }
                    if client.close_after_reply {
                        break;
                    }
                }
                Err(e) => {
                    reply.error(format!("ERR {e}").as_bytes());
                    client.close_after_reply = true;
                    break;
                }
            }
        }
        Gate::leave(&stats);
        let_go_of_world(&server, &handle, &mut world_held);
        let consumed = parser.request_start();
        input.drain(..consumed);
        parser.consumed(consumed);
        handle.query_buf.store(input.len(), Ordering::Relaxed);
        handle.query_buf_free.store(input.capacity() - input.len(), Ordering::Relaxed);

        {
            // Messages that arrived during the batch follow its replies in the same write.
            let mut outbox = handle.outbox.lock();
            if !outbox.is_empty() {
                reply.out.extend_from_slice(&outbox);
                outbox.clear();
            }
        }
        if !reply.out.is_empty() {
            // appendfsync always: no reply leaves before the writes it follows are on disk.
            // The wait is asynchronous: the worker serves its other connections meanwhile.
            if let Some(target) = server.aof.durable_target(aof_mark) {
                tokio::select! {
                    _ = server.aof.wait_durable(target) => {}
                    _ = handle.kill_signal.notified() => break,
                }
            }
            handle.output_len.store(reply.out.len(), Ordering::Relaxed);
            if stream.write_all(&reply.out).await.is_err() {
                break;
            }
            stats.net_output_bytes.fetch_add(reply.out.len() as u64, Ordering::Relaxed);
            stats.writes.fetch_add(1, Ordering::Relaxed);
            reply.out.clear();
            handle.output_len.store(0, Ordering::Relaxed);
            if reply.out.capacity() > 1024 * 1024 {
                reply.out = Vec::with_capacity(READ_CHUNK);
            }
        }
        if input.capacity() > 4 * MAX_READ_RESERVE && input.len() < READ_CHUNK {
            input.shrink_to(READ_CHUNK);
        }
        if client.close_after_reply {
            break;
        }
    }
    Gate::leave(&stats);
    let_go_of_world(&server, &handle, &mut world_held);
    if let Some(mut watching) = client.watching.take() {
        server.watches.unwatch_all(&mut watching);
    }
    server.pubsub.forget_client(&handle);
    crate::tracking::disable(&server, &handle, &mut client);
    server.unregister(handle.id);
}

/// Sends the replies of the batch so far (once durable, with appendfsync always), as Redis
/// would have before the client blocks. False: the client is gone or killed.
async fn flush_before_wait(
    server: &Server,
    handle: &ClientHandle,
    stats: &WorkerStats,
    stream: &mut TcpStream,
    reply: &mut ReplyBuf,
    aof_mark: u64,
) -> bool {
    if reply.out.is_empty() {
        return true;
    }
    if let Some(target) = server.aof.durable_target(aof_mark) {
        tokio::select! {
            _ = server.aof.wait_durable(target) => {}
            _ = handle.kill_signal.notified() => return false,
        }
    }
    if stream.write_all(&reply.out).await.is_err() {
        return false;
    }
    stats.net_output_bytes.fetch_add(reply.out.len() as u64, Ordering::Relaxed);
    reply.out.clear();
    true
}

/// Gives the world back before the connection waits for anything (or leaves).
fn let_go_of_world(server: &Server, handle: &ClientHandle, held: &mut bool) {
    if std::mem::take(held) {
        server.gate.release(handle.id);
    }
}

enum Admission {
    Run,
    /// Answered without running (-BUSY).
    Refused,
    Close,
}

/// Another client has the world stopped: wait (this worker's other clients go on) until the
/// command may run, or answer -BUSY once a script has run too long.
async fn park(
    server: &Server,
    stats: &WorkerStats,
    handle: &ClientHandle,
    client: &mut ClientState,
    reply: &mut ReplyBuf,
    args: &Args<'_>,
) -> Admission {
    // SCRIPT KILL is allowed while SCRIPT LOAD is not: the subcommand decides.
    let allow_busy = server.commands.get(args.get(0)).is_some_and(|(spec, _)| {
        let spec = match (spec.subcommands.is_empty(), args.len() >= 2) {
            (false, true) => find_subcommand(spec, args.get(1)).unwrap_or(spec),
            _ => spec,
        };
        spec.has(flags::ALLOW_BUSY)
    });
    let threshold: u64 =
        server.config.read().get_one("busy-reply-threshold").and_then(|v| v.parse().ok()).unwrap_or(5000);
    loop {
        Gate::leave(stats);
        let passage = tokio::select! {
            p = server.gate.pass(handle.id, allow_busy, threshold) => p,
            _ = handle.kill_signal.notified() => return Admission::Close,
        };
        Gate::enter(stats);
        match passage {
            // Checked again with the flag raised: the world may have been taken meanwhile.
            Passage::Run if server.gate.open_for(handle.id) => return Admission::Run,
            Passage::Run => continue,
            Passage::RunBesideScript => return Admission::Run,
            Passage::Busy(text) => {
                reply.error(text.as_bytes());
                server.stats.count_error(text);
                if let Some(queued) = client.multi.as_mut() {
                    queued.aborted = true;
                }
                return Admission::Refused;
            }
        }
    }
}

/// The pieces of a connection a command runs with, for running one again after a wait.
struct Parts<'a> {
    server: &'a Arc<Server>,
    handle: &'a Arc<ClientHandle>,
    stats: &'a Arc<WorkerStats>,
    client: &'a mut ClientState,
    reply: &'a mut ReplyBuf,
    rng: &'a mut Rng,
    stream: &'a TcpStream,
    pending: &'a mut Vec<u8>,
}

/// Blocks the client on the keys of `request` until a write lets its command through, its
/// timeout passes, CLIENT UNBLOCK ends the wait, or it is killed (false: close the connection).
async fn wait_until_served(p: &mut Parts<'_>, args: &Args<'_>, request: BlockRequest) -> bool {
    let waiter = p.server.blocking.register(p.handle.id, p.client.db, &request.keys);
    p.handle.blocked.store(true, Ordering::Relaxed);
    // The deadline was fixed when the command first ran; retries don't extend it.
    let deadline = (request.deadline_ms > 0)
        .then(|| tokio::time::Instant::now() + Duration::from_millis(request.deadline_ms.saturating_sub(now_ms())));
    let keep = 'wait: loop {
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        let timed_out = tokio::select! {
            _ = waiter.woken() => false,
            _ = timer => true,
            _ = p.handle.kill_signal.notified() => break false,
            // The socket is still watched, as Redis does, so a client that hangs up while blocked
            // is noticed; what it sends meanwhile waits its turn.
            ready = p.stream.readable() => {
                if ready.is_err() {
                    break false;
                }
                match p.stream.try_read_buf(p.pending) {
                    Ok(0) => break false,
                    Ok(_) if p.pending.len() as u64 > p.server.live.client_query_buffer_limit.load(Ordering::Relaxed) => break false,
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => break false,
                }
            }
        };
        let how = waiter.unblocked();
        if timed_out || how == UNBLOCKED_TIMEOUT {
            // Every blocking command of Redis answers a timeout with a null array.
            p.reply.null_array();
            break true;
        }
        if how == UNBLOCKED_ERROR {
            p.reply.error(b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
            break true;
        }
        Gate::enter(p.stats);
        while !p.server.gate.open_for(p.handle.id) {
            Gate::leave(p.stats);
            tokio::select! {
                _ = p.server.gate.wait_free(p.handle.id) => {}
                _ = p.handle.kill_signal.notified() => break 'wait false,
            }
            Gate::enter(p.stats);
        }
        let mut clock = Instant::now();
        let mut ctx = Ctx {
            server: p.server,
            client: p.client,
            handle: p.handle,
            reply: p.reply,
            stats: p.stats,
            rng: p.rng,
            clock: &mut clock,
        };
        ctx.client.block_retry = true;
        execute(&mut ctx, args);
        p.client.block_retry = false;
        Gate::leave(p.stats);
        match p.client.block.take() {
            // Someone else was faster: keep the place in the queues and wait on.
            Some(_) => {}
            None => break true,
        }
    };
    p.server.blocking.unregister(&waiter);
    p.handle.blocked.store(false, Ordering::Relaxed);
    keep
}

/// Reads what the socket holds into `input`'s spare room. A read that leaves room unfilled has
/// drained the socket, so the stream is marked not ready there and then: the next wait goes
/// straight to the poller instead of first spending a system call on a read that would only
/// say "nothing yet". (The runtime keeps any readiness event that arrived meanwhile.)
async fn read_some(stream: &TcpStream, input: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    loop {
        stream.readable().await?;
        let mut got = 0;
        let result = stream.try_io(tokio::io::Interest::READABLE, || {
            let spare = input.spare_capacity_mut();
            let room = spare.len();
            // SAFETY: the kernel writes at most `room` bytes into the spare capacity, and only
            // the bytes it reports written are then counted as initialised.
            let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), room) };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = n as usize;
            unsafe { input.set_len(input.len() + n) };
            got = n;
            if n > 0 && n < room {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        match result {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && got > 0 => return Ok(got),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

async fn idle_deadline(timeout_secs: u64) {
    if timeout_secs == 0 {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(Duration::from_secs(timeout_secs)).await;
}

/// CLIENT PAUSE: the command waits (its connection reads nothing more) until the pause ends.
async fn wait_while_paused(server: &Server, args: &Args<'_>) {
    let is_write = match server.commands.get(args.get(0)) {
        Some((spec, _)) => spec.has(flags::WRITE) || spec.has(flags::MAY_REPLICATE),
        None => false,
    };
    // Bounded by the pause deadline; re-checked when CLIENT UNPAUSE signals.
    while server.pause.holds(is_write) {
        let until = server.pause.until_ms.load(Ordering::Acquire);
        let wait = Duration::from_millis(until.saturating_sub(now_ms()).max(1));
        let _ = tokio::time::timeout(wait, server.pause.lifted.notified()).await;
    }
}

/// A write may have given blocked clients what they wait for: those waiting on its keys (or,
/// for a write without keys such as SWAPDB, everyone) try again.
fn wake_blocked(server: &Server, spec: &CommandSpec, args: &Args) {
    let positions = spec.key_positions(args);
    if positions.is_empty() {
        server.blocking.everything_written();
    }
    for i in positions {
        server.blocking.key_written(args.get(i));
    }
}

/// What became of a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Done,
    /// Not run: it must run with the world stopped; stop it and execute the request again.
    NeedsWorld(Holder),
}

/// Resolves, checks and runs one request, writing its reply (or error) into the reply buffer.
pub fn execute(ctx: &mut Ctx, args: &Args) -> Outcome {
    let start_len = ctx.reply.out.len();
    if ctx.client.reply_mode == ReplyMode::SkipNext {
        ctx.client.reply_mode = ReplyMode::Skip;
    }
    if let Outcome::NeedsWorld(holder) = dispatch(ctx, args) {
        if ctx.client.reply_mode == ReplyMode::Skip {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
        return Outcome::NeedsWorld(holder);
    }
    // A reply is kept only if replies are on once the command has run: CLIENT REPLY ON answers
    // even from OFF or a skipped slot, while OFF and SKIP never answer.
    if ctx.client.reply_mode != ReplyMode::On {
        ctx.reply.out.truncate(start_len);
    }
    if ctx.client.reply_mode == ReplyMode::Skip {
        ctx.client.reply_mode = ReplyMode::On;
    }
    Outcome::Done
}

/// Refuses a request before it runs; inside MULTI that dooms the transaction.
fn reject(ctx: &mut Ctx, err: CmdError, stat: Option<usize>) {
    if let Some(queued) = ctx.client.multi.as_mut() {
        queued.aborted = true;
    }
    let text = err.text();
    ctx.reply.error(text.as_bytes());
    ctx.server.stats.count_error(&text);
    if let Some(i) = stat {
        ctx.stats.commands[i].rejected.fetch_add(1, Ordering::Relaxed);
    }
}

fn dispatch(ctx: &mut Ctx, args: &Args) -> Outcome {
    let Some((mut spec, mut stat)) = ctx.server.commands.get(args.get(0)) else {
        let mut shown = String::new();
        for a in args.iter().skip(1) {
            if shown.len() >= 128 {
                break;
            }
            let room = 128 - shown.len();
            let a = String::from_utf8_lossy(a);
            let a: String = a.chars().take(room).collect();
            shown.push_str(&format!("'{a}' "));
        }
        let name = String::from_utf8_lossy(args.get(0));
        let name: String = name.chars().take(128).collect();
        reject(
            ctx,
            CmdError::Msg(format!("ERR unknown command '{name}', with args beginning with: {shown}").into()),
            None,
        );
        return Outcome::Done;
    };
    if !spec.subcommands.is_empty() && args.len() >= 2 {
        match find_subcommand(spec, args.get(1)) {
            Some(sub) => {
                spec = sub;
                stat = ctx.server.commands.stat_index(sub);
            }
            None => {
                let sub = String::from_utf8_lossy(args.get(1));
                let sub: String = sub.chars().take(128).collect();
                let err = CmdError::UnknownSubcommand(sub, spec.name.to_ascii_uppercase());
                reject(ctx, err, None);
                return Outcome::Done;
            }
        }
    }
    ctx.handle.last_cmd.store(stat, Ordering::Relaxed);
    if !spec.arity_ok(args.len()) {
        reject(ctx, CmdError::WrongArity(spec.name.to_string()), Some(stat));
        return Outcome::Done;
    }
    if !ctx.client.authenticated && !spec.has(flags::NO_AUTH) {
        reject(ctx, CmdError::NoAuth, Some(stat));
        return Outcome::Done;
    }
    if ctx.client.subscriptions > 0 && !ctx.reply.resp3 && !allowed_when_subscribed(spec) {
        let name = spec.name;
        let err = format!(
            "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        reject(ctx, CmdError::msg(err), Some(stat));
        return Outcome::Done;
    }
    if let Some(queued) = ctx.client.multi.as_mut() {
        if spec.has(flags::NO_MULTI) {
            reject(ctx, CmdError::msg("ERR Command not allowed inside a transaction"), Some(stat));
            return Outcome::Done;
        }
        if !transaction::runs_inside_multi(spec) {
            queued.commands.push((spec, stat, OwnedArgs::from_args(args)));
            ctx.handle.multi_queued.store(queued.commands.len() as i64, Ordering::Relaxed);
            ctx.reply.simple(b"QUEUED");
            return Outcome::Done;
        }
    }
    if let Some(holder) = world_needed(ctx, spec, args) {
        if !ctx.server.gate.owned_by(ctx.handle.id) {
            return Outcome::NeedsWorld(holder);
        }
    }
    run_command(ctx, spec, stat, args);
    Outcome::Done
}

/// The commands a RESP2 client may send while subscribed.
fn allowed_when_subscribed(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Whether this command must run with every other worker stopped, and for what.
fn world_needed(ctx: &Ctx, spec: &CommandSpec, args: &Args) -> Option<Holder> {
    if spec.has(flags::EXCLUSIVE) {
        return Some(match spec.name {
            "fcall" | "fcall_ro" => Holder::Function,
            "eval" | "evalsha" | "eval_ro" | "evalsha_ro" => Holder::Eval,
            // SAVE, BGSAVE, BGREWRITEAOF: others wait, they are not told a script is busy.
            _ => Holder::Transaction,
        });
    }
    if spec.name == "config|set" && crate::aof::config_set_switches(args) {
        // Switching the AOF on must see no write in flight: see aof::switch.
        return Some(Holder::Transaction);
    }
    if spec.name == "shutdown" && !args.iter().skip(1).any(|a| a.eq_ignore_ascii_case(b"nosave")) {
        // Its final save is the last instant clients see acknowledged: no command runs beside.
        return Some(Holder::Transaction);
    }
    if spec.name == "exec" {
        if let Some(queued) = &ctx.client.multi {
            if !queued.aborted && transaction::needs_world(queued) {
                return Some(Holder::Transaction);
            }
        }
    }
    None
}

/// Whether the running command was called by EXEC or a script rather than by its client: such
/// a command cannot make the connection wait.
pub(crate) fn nested() -> bool {
    CommandTime::depth() > 1
}

/// Runs a command already resolved and checked (name, subcommand, arity, permissions): the
/// common end of client requests, queued transaction commands and commands called by scripts.
pub(crate) fn run_command(ctx: &mut Ctx, spec: &'static CommandSpec, stat: usize, args: &Args) {
    // Also what `nested` counts, and what holds expiry's time still for the command.
    let _command = CommandTime::enter();
    if ctx.client.tracking.on {
        crate::tracking::before_command(ctx, spec, stat, args);
    }
    // With the AOF on, a write holds its keys' shards until its record is in the log (so the
    // file has writes to a key in the order they happened); with it off this is one load.
    let server = ctx.server;
    // stop-writes-on-bgsave-error: after a failed save, writes (and PING, as in Redis) are
    // refused until a save succeeds. One load while saves succeed.
    let refused = !server.save.last_ok()
        && (spec.has(flags::WRITE) || spec.name == "ping")
        && crate::persist::refuses_writes(server);
    let (aof, result) = match server.aof.is_on() {
        _ if refused => (None, Err(crate::error::CmdError::msg(crate::persist::MISCONF))),
        false => (None, (spec.run)(ctx, args)),
        true => match crate::aof::before(server, ctx, spec, args) {
            Ok(pending) => (pending, (spec.run)(ctx, args)),
            Err(e) => (None, Err(e)),
        },
    };
    let now = Instant::now();
    let ns = now.saturating_duration_since(*ctx.clock).as_nanos() as u64;
    *ctx.clock = now;
    let counters = &ctx.stats.commands[stat];
    counters.calls.fetch_add(1, Ordering::Relaxed);
    counters.usec.fetch_add(ns / 1000, Ordering::Relaxed);
    counters.latency.record(ns);
    if spec.has(flags::WRITE) && result.is_ok() && !spec.has(flags::DEFERRED_WRITE) {
        ctx.stats.dirty.fetch_add(1, Ordering::Relaxed);
        if ctx.server.watches.any() {
            for i in spec.key_positions(args) {
                ctx.server.watches.touch(ctx.client.db, args.get(i));
            }
        }
        // A blocking command that is about to wait changed nothing, and waking the queue it
        // just joined would only wake itself.
        if ctx.server.blocking.blocked_clients() > 0 && ctx.client.block.is_none() {
            wake_blocked(ctx.server, spec, args);
        }
        if ctx.server.tracking.any() {
            crate::tracking::keys_written(ctx, spec, args);
        }
    }
    if let Some(pending) = aof {
        crate::aof::after(server, ctx, spec, args, pending, result.is_ok());
    }
    if let Err(e) = result {
        let text = e.text();
        ctx.reply.error(text.as_bytes());
        ctx.server.stats.count_error(&text);
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}

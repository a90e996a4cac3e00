//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XREAD (blocking with
//! BLOCK), and through `stream/` the consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
//! XAUTOCLAIM) and XINFO.

mod group;
mod info;

pub use group::{XACK, XAUTOCLAIM, XCLAIM, XGROUP, XPENDING, XREADGROUP};
pub use info::XINFO;

use roost_resp::{Args, ReplyBuf};
use roost_store::stream::{BlockLimits, Fields, Stream, StreamId, Trim};
use roost_store::{now_ms, EncodingLimits, Entry, Table, Value};

use super::{is, parse_int, BASE};
use crate::blocking::BlockRequest;
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{class, notify};

const ONE_KEY: Keys = Keys::Range { first: 1, last: 1, step: 1 };
const READ_FAST: &[&str] = &["@read", "@stream", "@fast"];
const READ_SLOW: &[&str] = &["@read", "@stream", "@slow"];
const WRITE_FAST: &[&str] = &["@write", "@stream", "@fast"];

const STREAM: CommandSpec = CommandSpec { group: "stream", since: "5.0.0", keys: ONE_KEY, ..BASE };

pub const XADD: CommandSpec = CommandSpec {
    name: "xadd",
    arity: -5,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    summary: "Appends a new entry to a stream",
    complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
    run: xadd,
    ..STREAM
};
pub const XLEN: CommandSpec = CommandSpec {
    name: "xlen",
    arity: 2,
    flags: READONLY | FAST,
    key_flags: &["RO"],
    acl: READ_FAST,
    summary: "Return the number of entries in a stream",
    run: xlen,
    ..STREAM
};
pub const XRANGE: CommandSpec = CommandSpec {
    name: "xrange",
    arity: -4,
    flags: READONLY,
    key_flags: &["RO", "ACCESS"],
    acl: READ_SLOW,
    summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval",
    complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
    run: xrange,
    ..STREAM
};
pub const XREVRANGE: CommandSpec = CommandSpec {
    name: "xrevrange",
    summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
    run: xrevrange,
    ..XRANGE
};
pub const XDEL: CommandSpec = CommandSpec {
    name: "xdel",
    arity: -3,
    flags: WRITE | FAST,
    key_flags: &["RW", "DELETE"],
    acl: WRITE_FAST,
    summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
    complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
    run: xdel,
    ..STREAM
};
pub const XTRIM: CommandSpec = CommandSpec {
    name: "xtrim",
    arity: -4,
    flags: WRITE,
    key_flags: &["RW", "DELETE"],
    acl: &["@write", "@stream", "@slow"],
    summary: "Trims the stream to (approximately if '~' is passed) a certain size",
    complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.",
    since: "5.0.0",
    run: xtrim,
    ..STREAM
};
pub const XSETID: CommandSpec = CommandSpec {
    name: "xsetid",
    arity: -3,
    flags: WRITE | DENYOOM | FAST,
    key_flags: &["RW", "UPDATE"],
    acl: WRITE_FAST,
    summary: "An internal command for replicating stream values",
    run: xsetid,
    ..STREAM
};
pub const XREAD: CommandSpec = CommandSpec {
    name: "xread",
    arity: -4,
    flags: READONLY | BLOCKING | MOVABLEKEYS,
    keys: Keys::Custom(streams_keys),
    key_flags: &["RO", "ACCESS"],
    acl: &["@read", "@stream", "@slow", "@blocking"],
    summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
    complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.",
    run: xread,
    ..STREAM
};

/// The keys of XREAD and XREADGROUP: the first half of what follows STREAMS.
pub fn streams_keys(args: &Args) -> Vec<usize> {
    match (1..args.len()).find(|&i| is(args.get(i), "streams")) {
        Some(at) => {
            let n = (args.len() - at - 1) / 2;
            (at + 1..at + 1 + n).collect()
        }
        None => Vec::new(),
    }
}

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// The stream at `key`, WRONGTYPE for another type.
pub fn stream_at<'t>(table: &'t mut Table, key: &[u8]) -> Result<Option<&'t mut Stream>, CmdError> {
    match table.touch(key) {
        None => Ok(None),
        Some(Entry { value: Value::Stream(s), .. }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// An ID as a command argument: `ms-seq` or `ms` (with `missing_seq`).
pub fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, missing_seq).ok_or(CmdError::msg(INVALID_ID))
}

/// An interval bound of XRANGE and XPENDING: `-`, `+`, an ID, or `(` and an ID (exclusive).
pub fn parse_bound(arg: &[u8], start: bool) -> Result<StreamId, CmdError> {
    match arg {
        b"-" => return Ok(StreamId::MIN),
        b"+" => return Ok(StreamId::MAX),
        _ => {}
    }
    let missing_seq = if start { 0 } else { u64::MAX };
    if let Some(rest) = arg.strip_prefix(b"(") {
        let id = parse_id(rest, missing_seq)?;
        return if start {
            id.next().ok_or(CmdError::msg("ERR invalid start ID for the interval"))
        } else {
            id.prev().ok_or(CmdError::msg("ERR invalid end ID for the interval"))
        };
    }
    parse_id(arg, missing_seq)
}

pub fn reply_id(reply: &mut ReplyBuf, id: StreamId) {
    let mut buf = [0u8; 41];
    reply.bulk(format_id(id, &mut buf));
}

/// `ms-seq` without allocating.
pub fn format_id(id: StreamId, buf: &mut [u8; 41]) -> &[u8] {
    let mut digits = [0u8; 20];
    let ms = roost_resp::uint_digits(id.ms, &mut digits);
    buf[..ms.len()].copy_from_slice(ms);
    let mut len = ms.len();
    buf[len] = b'-';
    len += 1;
    let seq = roost_resp::uint_digits(id.seq, &mut digits);
    buf[len..len + seq.len()].copy_from_slice(seq);
    &buf[..len + seq.len()]
}

/// One entry as Redis replies it: its ID, then its fields and values side by side.
pub fn reply_entry(reply: &mut ReplyBuf, id: StreamId, fields: &Fields<'_>) {
    reply.array(2);
    reply_id(reply, id);
    reply.array(fields.len() * 2);
    for (f, v) in fields {
        reply.bulk(f);
        reply.bulk(v);
    }
}

pub fn block_limits(ctx: &Ctx) -> BlockLimits {
    let limits = &ctx.server.keyspace.limits;
    BlockLimits {
        max_entries: EncodingLimits::get(&limits.stream_node_max_entries).max(0) as u64,
        max_bytes: EncodingLimits::get(&limits.stream_node_max_bytes).max(0) as u64,
    }
}

/// The trimming options of XADD and XTRIM.
#[derive(Default)]
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    limit: Option<i64>,
}

impl TrimArgs {
    /// Reads one option at `args[i]` if it is a trimming option; the index after it.
    fn parse_one(&mut self, args: &Args, i: usize) -> Result<Option<usize>, CmdError> {
        let arg = args.get(i);
        let strategy = is(arg, "maxlen") || is(arg, "minid");
        if strategy && i + 1 < args.len() {
            if self.trim.is_some() {
                return Err(CmdError::msg(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let mut at = i + 1;
            let modifier = args.get(at);
            if (modifier == b"~" || modifier == b"=") && at + 1 < args.len() {
                self.approx = modifier == b"~";
                at += 1;
            }
            self.trim = Some(if is(arg, "maxlen") {
                let n = parse_int(args.get(at))?;
                if n < 0 {
                    return Err(CmdError::msg("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_id(args.get(at), 0)?)
            });
            return Ok(Some(at + 1));
        }
        if is(arg, "limit") && i + 1 < args.len() {
            let n = parse_int(args.get(i + 1))?;
            if n < 0 {
                return Err(CmdError::msg("ERR The LIMIT argument must be >= 0."));
            }
            self.limit = Some(n);
            return Ok(Some(i + 2));
        }
        Ok(None)
    }

    fn check(&self) -> CmdResult {
        if self.limit.is_some() && self.trim.is_none() {
            return Err(CmdError::msg("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"));
        }
        if self.limit.is_some() && !self.approx {
            return Err(CmdError::msg("ERR syntax error, LIMIT cannot be used without the special ~ option"));
        }
        Ok(())
    }

    /// The cap on entries removed: given, or for `~` a hundred blocks' worth, as Redis.
    fn limit(&self, ctx: &Ctx) -> u64 {
        match self.limit {
            Some(n) => n as u64,
            None if self.approx => {
                let per_block = EncodingLimits::get(&ctx.server.keyspace.limits.stream_node_max_entries);
                (per_block.saturating_mul(100)).clamp(1, 1_000_000) as u64
            }
            None => 0,
        }
    }

    fn apply(&self, stream: &mut Stream, limit: u64) -> u64 {
        match self.trim {
            Some(trim) => stream.trim(trim, self.approx, limit),
            None => 0,
        }
    }
}

/// What XADD was asked for as the new entry's ID.
enum NewId {
    Auto,
    /// `ms-*`.
    Ms(u64),
    Exact(StreamId),
}

fn parse_new_id(arg: &[u8]) -> Result<NewId, CmdError> {
    if arg == b"*" {
        return Ok(NewId::Auto);
    }
    if let Some(ms) = arg.strip_suffix(b"-*") {
        return match StreamId::parse(ms, 0) {
            Some(id) if !ms.contains(&b'-') => Ok(NewId::Ms(id.ms)),
            _ => Err(CmdError::msg(INVALID_ID)),
        };
    }
    Ok(NewId::Exact(parse_id(arg, 0)?))
}

const TOP_ITEM: &str = "ERR The ID specified in XADD is equal or smaller than the target stream top item";

/// The ID XADD gives the new entry of a stream whose last ID is `last`.
fn next_id(wanted: &NewId, last: StreamId) -> Result<StreamId, CmdError> {
    if last == StreamId::MAX {
        return Err(CmdError::msg("ERR The stream has exhausted the last possible ID, unable to add more items"));
    }
    match *wanted {
        NewId::Auto => {
            let now = now_ms();
            Ok(if now > last.ms { StreamId::new(now, 0) } else { last.next().expect("below the maximum") })
        }
        NewId::Ms(ms) if ms == last.ms => match last.seq.checked_add(1) {
            Some(seq) => Ok(StreamId::new(ms, seq)),
            None => Err(CmdError::msg(TOP_ITEM)),
        },
        NewId::Ms(ms) if ms > last.ms => Ok(StreamId::new(ms, 0)),
        NewId::Exact(id) if id > last => Ok(id),
        _ => Err(CmdError::msg(TOP_ITEM)),
    }
}

fn xadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut trim = TrimArgs::default();
    let mut nomkstream = false;
    let mut i = 2;
    loop {
        if i >= args.len() {
            return Err(CmdError::WrongArity("xadd".into()));
        }
        if is(args.get(i), "nomkstream") {
            nomkstream = true;
            i += 1;
            continue;
        }
        match trim.parse_one(args, i)? {
            Some(next) => i = next,
            None => break,
        }
    }
    let wanted = parse_new_id(args.get(i))?;
    trim.check()?;
    let pairs = args.len() - i - 1;
    if pairs < 2 || !pairs.is_multiple_of(2) {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    if let NewId::Exact(StreamId::MIN) = wanted {
        return Err(CmdError::msg("ERR The ID specified in XADD must be greater than 0-0"));
    }
    let fields = (i + 1..args.len()).step_by(2).map(|f| (args.get(f), args.get(f + 1)));
    let limits = block_limits(ctx);
    let limit = trim.limit(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let table = shard.db(ctx.client.db);
    let stream = match stream_at(table, key)? {
        Some(s) => s,
        None if nomkstream => {
            drop(shard);
            ctx.reply.null();
            return Ok(());
        }
        None => {
            next_id(&wanted, StreamId::MIN)?;
            table.set(key, Value::Stream(Box::default()), 0);
            stream_at(table, key)?.expect("just created")
        }
    };
    let id = next_id(&wanted, stream.last_id)?;
    stream.append(id, fields, limits);
    let trimmed = trim.apply(stream, limit);
    drop(shard);
    reply_id(ctx.reply, id);
    notify(ctx, class::STREAM, "xadd", key);
    if trimmed > 0 {
        notify(ctx, class::STREAM, "xtrim", key);
    }
    Ok(())
}

fn xtrim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut trim = TrimArgs::default();
    let mut i = 2;
    while i < args.len() {
        match trim.parse_one(args, i)? {
            Some(next) => i = next,
            None => return Err(CmdError::Syntax),
        }
    }
    trim.check()?;
    if trim.trim.is_none() {
        return Err(CmdError::Syntax);
    }
    let limit = trim.limit(ctx);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let removed = match stream_at(shard.db(ctx.client.db), key)? {
        Some(stream) => trim.apply(stream, limit),
        None => 0,
    };
    drop(shard);
    ctx.reply.int(removed as i64);
    if removed > 0 {
        notify(ctx, class::STREAM, "xtrim", key);
    }
    Ok(())
}

fn xlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let len = stream_at(shard.db(ctx.client.db), key)?.map_or(0, |s| s.len());
    drop(shard);
    ctx.reply.int(len as i64);
    Ok(())
}

fn range(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    let key = args.get(1);
    let (first, second) = (args.get(2), args.get(3));
    let (start, end) = if rev {
        (parse_bound(second, true)?, parse_bound(first, false)?)
    } else {
        (parse_bound(first, true)?, parse_bound(second, false)?)
    };
    let mut count: Option<usize> = None;
    let mut i = 4;
    while i < args.len() {
        if is(args.get(i), "count") && i + 1 < args.len() {
            count = Some(parse_int(args.get(i + 1))?.max(0) as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(stream) = stream_at(shard.db(ctx.client.db), key)? else {
        drop(shard);
        ctx.reply.array(0);
        return Ok(());
    };
    // COUNT 0 (or negative) answers a null array, as Redis does.
    if count == Some(0) {
        drop(shard);
        ctx.reply.null_array();
        return Ok(());
    }
    let entries: Vec<(StreamId, Fields<'_>)> =
        stream.range(start, end, rev).take(count.unwrap_or(usize::MAX)).collect();
    ctx.reply.array(entries.len());
    for (id, fields) in &entries {
        reply_entry(ctx.reply, *id, fields);
    }
    Ok(())
}

fn xrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range(ctx, args, true)
}

fn xdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    // A missing key answers 0 before the IDs are looked at, as in Redis.
    let deleted = match stream_at(shard.db(ctx.client.db), key)? {
        Some(stream) => {
            let ids = args.tail(2).iter().map(|a| parse_id(a, 0)).collect::<Result<Vec<_>, _>>()?;
            ids.iter().filter(|&&id| stream.delete(id)).count()
        }
        None => 0,
    };
    drop(shard);
    ctx.reply.int(deleted as i64);
    if deleted > 0 {
        notify(ctx, class::STREAM, "xdel", key);
    }
    Ok(())
}

fn xsetid(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = args.get(1);
    let id = parse_id(args.get(2), 0)?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted: Option<StreamId> = None;
    let mut i = 3;
    while i < args.len() {
        if is(args.get(i), "entriesadded") && i + 1 < args.len() {
            let n = parse_int(args.get(i + 1))?;
            if n < 0 {
                return Err(CmdError::msg("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if is(args.get(i), "maxdeletedid") && i + 1 < args.len() {
            let m = parse_id(args.get(i + 1), 0)?;
            if id < m {
                return Err(CmdError::msg(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            max_deleted = Some(m);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let mut shard = ctx.server.keyspace.lock_key(key);
    let Some(stream) = stream_at(shard.db(ctx.client.db), key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if !stream.is_empty() {
        if stream.last_entry().is_some_and(|(top, _)| id < top) {
            return Err(CmdError::msg("ERR The ID specified in XSETID is smaller than the target stream top item"));
        }
        if entries_added.is_some_and(|n| n < stream.len()) {
            return Err(CmdError::msg(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    stream.last_id = id;
    if let Some(n) = entries_added {
        stream.entries_added = n;
    }
    if let Some(m) = max_deleted {
        stream.max_deleted_id = m;
    }
    drop(shard);
    ctx.reply.ok();
    notify(ctx, class::STREAM, "xsetid", key);
    Ok(())
}

/// The options XREAD and XREADGROUP share, and where their keys and IDs are.
pub struct ReadArgs {
    pub count: usize,
    /// Unix ms of the end of the wait (0: for ever); None without BLOCK.
    pub deadline: Option<u64>,
    pub noack: bool,
    pub group: Option<(usize, usize)>,
    /// Index of the first key; the IDs follow the keys.
    pub keys_at: usize,
    pub streams: usize,
}

pub fn parse_read_args(args: &Args, with_group: bool) -> Result<ReadArgs, CmdError> {
    let mut out = ReadArgs { count: 0, deadline: None, noack: false, group: None, keys_at: 0, streams: 0 };
    let mut i = 1;
    while i < args.len() {
        let arg = args.get(i);
        let more = i + 1 < args.len();
        if is(arg, "count") && more {
            out.count = parse_int(args.get(i + 1))?.max(0) as usize;
            i += 2;
        } else if is(arg, "block") && more {
            let ms = parse_int(args.get(i + 1))
                .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::msg("ERR timeout is negative"));
            }
            out.deadline = Some(if ms == 0 { 0 } else { now_ms().saturating_add(ms as u64) });
            i += 2;
        } else if is(arg, "streams") && more {
            let rest = args.len() - i - 1;
            if !rest.is_multiple_of(2) {
                // Redis words it so for XREADGROUP too.
                return Err(CmdError::msg(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            out.keys_at = i + 1;
            out.streams = rest / 2;
            break;
        } else if with_group && is(arg, "group") && i + 2 < args.len() {
            out.group = Some((i + 1, i + 2));
            i += 3;
        } else if with_group && is(arg, "noack") {
            out.noack = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if out.streams == 0 {
        return Err(CmdError::Syntax);
    }
    if with_group && out.group.is_none() {
        return Err(CmdError::msg("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(out)
}

/// Starts the reply of XREAD/XREADGROUP: an array of [key, entries] pairs, or a map in RESP3.
pub fn reply_streams_header(reply: &mut ReplyBuf, n: usize) {
    if reply.resp3 {
        reply.map(n);
    } else {
        reply.array(n);
    }
}

pub fn reply_stream_key(reply: &mut ReplyBuf, key: &[u8]) {
    if !reply.resp3 {
        reply.array(2);
    }
    reply.bulk(key);
}

fn xread(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let read = parse_read_args(args, false)?;
    let keys: Vec<&[u8]> = (0..read.streams).map(|k| args.get(read.keys_at + k)).collect();
    let retry = ctx.client.block_retry;
    // After the first try, `$` keeps meaning the last ID as it was when the client blocked.
    let ids: Vec<StreamId> = if retry && ctx.client.block_stream_ids.len() == keys.len() {
        ctx.client.block_stream_ids.clone()
    } else {
        // Per stream in order, as Redis: its type, then its ID.
        let mut ids = Vec::with_capacity(keys.len());
        for (k, key) in keys.iter().enumerate() {
            let last = {
                let mut shard = ctx.server.keyspace.lock_key(key);
                stream_at(shard.db(ctx.client.db), key)?.map(|s| s.last_id)
            };
            let arg = args.get(read.keys_at + read.streams + k);
            ids.push(match arg {
                b"$" => last.unwrap_or(StreamId::MIN),
                b">" => {
                    return Err(CmdError::msg(
                        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                    ))
                }
                _ => parse_id(arg, 0)?,
            });
        }
        ids
    };
    let count = if read.count == 0 { usize::MAX } else { read.count };
    let mut body = ReplyBuf { out: Vec::new(), resp3: ctx.reply.resp3 };
    let mut served = 0;
    for (key, &after) in keys.iter().zip(&ids) {
        let mut shard = ctx.server.keyspace.lock_key(key);
        let stream = match stream_at(shard.db(ctx.client.db), key) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(_) if retry => continue,
            Err(e) => return Err(e),
        };
        let Some(from) = after.next() else { continue };
        if stream.last_id < from {
            continue;
        }
        let entries: Vec<(StreamId, Fields<'_>)> = stream.range(from, StreamId::MAX, false).take(count).collect();
        if entries.is_empty() {
            continue;
        }
        served += 1;
        reply_stream_key(&mut body, key);
        body.array(entries.len());
        for (id, fields) in &entries {
            reply_entry(&mut body, *id, fields);
        }
    }
    if served > 0 {
        reply_streams_header(ctx.reply, served);
        ctx.reply.out.extend_from_slice(&body.out);
        return Ok(());
    }
    match read.deadline {
        Some(deadline_ms) => {
            ctx.client.block_stream_ids = ids;
            ctx.client.block = Some(BlockRequest { keys: keys.iter().map(|k| k.to_vec()).collect(), deadline_ms });
        }
        None => ctx.reply.null_array(),
    }
    Ok(())
}

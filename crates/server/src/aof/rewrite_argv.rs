//! What a write command leaves in the file: the command itself, or a deterministic form of it,
//! as Redis propagates. Replaying the file later must give the same data, so relative times
//! become absolute, random picks become the picked members, float arithmetic becomes its result,
//! blocking forms become the non-blocking ones, and generated stream IDs become the IDs.
//!
//! Absolute times are read back from the key after the command ran (its shards are still held),
//! so the file holds exactly the deadline the key got.

use roost_resp::Args;
use roost_store::{Keyspace, Value};

use crate::command::CommandSpec;
use crate::server::Server;

pub(super) enum Rewritten {
    Verbatim,
    Commands(Vec<Vec<Vec<u8>>>),
    Nothing,
}

fn is(a: &[u8], word: &str) -> bool {
    a.eq_ignore_ascii_case(word.as_bytes())
}

fn cmd<'p>(parts: impl IntoIterator<Item = &'p [u8]>) -> Vec<Vec<u8>> {
    parts.into_iter().map(<[u8]>::to_vec).collect()
}

/// (exists, expiry in Unix ms or 0) of `key` now.
fn key_state(ks: &Keyspace, db: usize, key: &[u8]) -> (bool, u64) {
    let mut shard = ks.lock_key(key);
    let table = shard.db(db);
    let exists = table.peek(key).is_some() && !table.is_expired(key, roost_store::expiry_now_ms());
    (exists, if exists { table.expire_at(key) } else { 0 })
}

/// "the key now expires at": PEXPIREAT, or DEL when the deadline had already passed and the
/// key is gone, or SET ... PXAT for the SET family.
fn with_deadline(ks: &Keyspace, db: usize, key: &[u8], as_set: Option<&[u8]>) -> Rewritten {
    match (key_state(ks, db, key), as_set) {
        ((false, _), _) => Rewritten::Commands(vec![cmd([&b"DEL"[..], key])]),
        ((true, 0), Some(value)) => Rewritten::Commands(vec![cmd([&b"SET"[..], key, value])]),
        ((true, 0), None) => Rewritten::Commands(vec![cmd([&b"PERSIST"[..], key])]),
        ((true, at), Some(value)) => {
            let at = at.to_string();
            Rewritten::Commands(vec![cmd([&b"SET"[..], key, value, b"PXAT", at.as_bytes()])])
        }
        ((true, at), None) => {
            let at = at.to_string();
            Rewritten::Commands(vec![cmd([&b"PEXPIREAT"[..], key, at.as_bytes()])])
        }
    }
}

/// `announced`: the command announced a keyspace event (for XREADGROUP, that it created its
/// consumer).
pub(super) fn rewrite(
    server: &Server,
    db: usize,
    spec: &CommandSpec,
    args: &Args,
    reply: &[u8],
    announced: bool,
) -> Rewritten {
    let ks = &server.keyspace;
    let arg = |i: usize| if i < args.len() { args.get(i) } else { &b""[..] };
    match spec.name {
        "set" => {
            let relative = args.iter().skip(3).any(|a| is(a, "ex") || is(a, "px") || is(a, "exat"));
            if relative {
                with_deadline(ks, db, arg(1), Some(arg(2)))
            } else {
                Rewritten::Verbatim
            }
        }
        "setex" | "psetex" => with_deadline(ks, db, arg(1), Some(arg(3))),
        "getex" => {
            let mut it = args.iter().skip(2);
            if it.any(|a| is(a, "ex") || is(a, "px") || is(a, "exat") || is(a, "pxat") || is(a, "persist")) {
                with_deadline(ks, db, arg(1), None)
            } else {
                Rewritten::Nothing
            }
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => with_deadline(ks, db, arg(1), None),
        // Redis runs these as the simpler command and propagates that.
        "getset" => Rewritten::Commands(vec![cmd([&b"SET"[..], arg(1), arg(2)])]),
        "getdel" => Rewritten::Commands(vec![cmd([&b"DEL"[..], arg(1)])]),
        "geoadd" => geoadd(args),
        "incrbyfloat" => match parse(reply).and_then(Resp::bytes) {
            Some(v) => Rewritten::Commands(vec![cmd([&b"SET"[..], arg(1), &v, b"KEEPTTL"])]),
            None => Rewritten::Verbatim,
        },
        "hincrbyfloat" => match parse(reply).and_then(Resp::bytes) {
            Some(v) => Rewritten::Commands(vec![cmd([&b"HSET"[..], arg(1), arg(2), &v])]),
            None => Rewritten::Verbatim,
        },
        "spop" => spop(ks, db, args, reply),
        "blpop" | "brpop" => match parse(reply).map(Resp::items).as_deref() {
            Some([k, _]) => {
                let pop: &[u8] = if spec.name == "blpop" { b"LPOP" } else { b"RPOP" };
                k.bytes_ref().map_or(Rewritten::Verbatim, |k| Rewritten::Commands(vec![cmd([pop, k])]))
            }
            _ => Rewritten::Nothing,
        },
        "brpoplpush" => Rewritten::Commands(vec![cmd([&b"RPOPLPUSH"[..], arg(1), arg(2)])]),
        "blmove" => Rewritten::Commands(vec![cmd([&b"LMOVE"[..], arg(1), arg(2), arg(3), arg(4)])]),
        "lmpop" | "blmpop" => {
            let left = args.iter().any(|a| is(a, "left"));
            let pop: &[u8] = if left { b"LPOP" } else { b"RPOP" };
            popped_from(reply, pop)
        }
        "bzpopmin" | "bzpopmax" => match parse(reply).map(Resp::items).as_deref() {
            Some([k, _, _]) => {
                let pop: &[u8] = if spec.name == "bzpopmin" { b"ZPOPMIN" } else { b"ZPOPMAX" };
                k.bytes_ref().map_or(Rewritten::Verbatim, |k| Rewritten::Commands(vec![cmd([pop, k])]))
            }
            _ => Rewritten::Nothing,
        },
        "zmpop" | "bzmpop" => {
            let min = args.iter().any(|a| is(a, "min"));
            let pop: &[u8] = if min { b"ZPOPMIN" } else { b"ZPOPMAX" };
            popped_from(reply, pop)
        }
        "xadd" | "xtrim" => xadd(ks, db, args, reply, spec.name == "xadd"),
        "xreadgroup" => xreadgroup(ks, db, args, reply, announced),
        // XACK announces nothing; it changed something when it acknowledged anything.
        "xack" if reply.starts_with(b":0\r\n") => Rewritten::Nothing,
        "xclaim" | "xautoclaim" => xclaim(ks, db, args, reply, spec.name == "xautoclaim"),
        "restore" => {
            let absttl = args.iter().skip(4).any(|a| is(a, "absttl"));
            if arg(2) == b"0" || absttl {
                return Rewritten::Verbatim;
            }
            let (exists, at) = key_state(ks, db, arg(1));
            if !exists {
                return Rewritten::Commands(vec![cmd([&b"DEL"[..], arg(1)])]);
            }
            let mut out: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
            out[2] = at.to_string().into_bytes();
            out.push(b"ABSTTL".to_vec());
            Rewritten::Commands(vec![out])
        }
        _ => Rewritten::Verbatim,
    }
}

/// SPOP: the members it picked leave by SREM (in batches, as Redis does); a set popped whole
/// leaves by DEL.
fn spop(ks: &Keyspace, db: usize, args: &Args, reply: &[u8]) -> Rewritten {
    let key = args.get(1);
    let members: Vec<Vec<u8>> = match parse(reply) {
        Some(r @ Resp::Bulk(_)) => r.bytes().into_iter().collect(),
        Some(r) => r.items().into_iter().filter_map(Resp::bytes).collect(),
        None => return Rewritten::Verbatim,
    };
    if members.is_empty() {
        return Rewritten::Nothing;
    }
    if args.len() > 2 && !key_state(ks, db, key).0 {
        return Rewritten::Commands(vec![cmd([&b"DEL"[..], key])]);
    }
    let cmds = members
        .chunks(1024)
        .map(|chunk| {
            let mut c = vec![b"SREM".to_vec(), key.to_vec()];
            c.extend(chunk.iter().cloned());
            c
        })
        .collect();
    Rewritten::Commands(cmds)
}

/// GEOADD is a ZADD of geohash scores, and Redis writes it as that (`zadd`, lowercase, as it
/// builds it): the options as given, then score and member pairs.
fn geoadd(args: &Args) -> Rewritten {
    let mut out = vec![b"zadd".to_vec(), args.get(1).to_vec()];
    let mut i = 2;
    while i < args.len() && (is(args.get(i), "nx") || is(args.get(i), "xx") || is(args.get(i), "ch")) {
        out.push(args.get(i).to_vec());
        i += 1;
    }
    let number = |a: &[u8]| std::str::from_utf8(a).ok().and_then(|s| s.trim().parse::<f64>().ok());
    while i + 2 < args.len() {
        let (Some(lon), Some(lat)) = (number(args.get(i)), number(args.get(i + 1))) else {
            return Rewritten::Verbatim;
        };
        let Some(score) = roost_store::geo::score(lon, lat) else { return Rewritten::Verbatim };
        out.push(score.to_string().into_bytes());
        out.push(args.get(i + 2).to_vec());
        i += 3;
    }
    Rewritten::Commands(vec![out])
}

/// LMPOP/ZMPOP and their blocking forms answer [key, [popped...]]: the file gets
/// `<pop> key <how many>`.
fn popped_from(reply: &[u8], pop: &[u8]) -> Rewritten {
    match parse(reply).map(Resp::items).as_deref() {
        Some([k, popped]) => {
            let n = match popped {
                Resp::Array(items) => items.len(),
                // A RESP3 map of member -> score.
                Resp::Map(items) => items.len() / 2,
                _ => 0,
            };
            match k.bytes_ref() {
                Some(k) if n > 0 => Rewritten::Commands(vec![cmd([pop, k, n.to_string().as_bytes()])]),
                _ => Rewritten::Nothing,
            }
        }
        _ => Rewritten::Nothing,
    }
}

/// XADD with a generated ID gets that ID; an approximate trim (`~`) becomes the exact trim it
/// turned out to be (`=` the length or first ID left), so replay trims the same entries.
fn xadd(ks: &Keyspace, db: usize, args: &Args, reply: &[u8], is_xadd: bool) -> Rewritten {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    out.push(args.get(0).to_vec());
    out.push(args.get(1).to_vec());
    let mut i = 2;
    let mut changed = false;
    while i < args.len() {
        let a = args.get(i);
        if is(a, "nomkstream") {
            out.push(a.to_vec());
            i += 1;
        } else if is(a, "maxlen") || is(a, "minid") {
            out.push(a.to_vec());
            i += 1;
            let mut approx = false;
            if i < args.len() && (args.get(i) == b"~" || args.get(i) == b"=") {
                approx = args.get(i) == b"~";
                out.push(b"=".to_vec());
                i += 1;
            }
            if i >= args.len() {
                return Rewritten::Verbatim;
            }
            let threshold = args.get(i).to_vec();
            i += 1;
            if approx {
                changed = true;
                let mut shard = ks.lock_key(args.get(1));
                let (len, first) = match shard.db(db).peek(args.get(1)).map(|e| &e.value) {
                    Some(Value::Stream(s)) => (s.len(), s.first_id()),
                    _ => (0, None),
                };
                if is(a, "maxlen") {
                    out.push(len.to_string().into_bytes());
                } else {
                    out.push(first.map_or(threshold, |id| id.to_string().into_bytes()));
                }
            } else {
                out.push(threshold);
            }
            if i + 1 < args.len() && is(args.get(i), "limit") {
                // LIMIT only goes with `~`; the exact form trims everything it names.
                changed |= approx;
                if !approx {
                    out.push(args.get(i).to_vec());
                    out.push(args.get(i + 1).to_vec());
                }
                i += 2;
            }
        } else {
            break;
        }
    }
    if is_xadd && i < args.len() {
        let id = args.get(i);
        if id == b"*" || id.ends_with(b"-*") {
            match parse(reply).and_then(Resp::bytes) {
                Some(new_id) => out.push(new_id),
                None => return Rewritten::Nothing,
            }
            changed = true;
            i += 1;
        }
    }
    if !changed {
        return Rewritten::Verbatim;
    }
    out.extend(args.iter().skip(i).map(<[u8]>::to_vec));
    Rewritten::Commands(vec![out])
}

/// The ID of a delivered or claimed entry in a reply: a bare ID (JUSTID) or [ID, fields].
fn entry_id(r: Resp) -> Option<Vec<u8>> {
    match r {
        Resp::Bulk(id) => Some(id),
        Resp::Array(mut entry) if !entry.is_empty() => entry.swap_remove(0).bytes(),
        _ => None,
    }
}

/// Redis's idempotent form of "this entry is now pending for this consumer", from the group's
/// pending entry as the command left it: `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n
/// FORCE JUSTID LASTID last`. `last` None takes the group's last delivered ID.
fn pending_as_xclaim(
    ks: &Keyspace,
    db: usize,
    key: &[u8],
    group: &[u8],
    ids: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Vec<Vec<Vec<u8>>> {
    let mut shard = ks.lock_key(key);
    let Some(Value::Stream(s)) = shard.db(db).peek(key).map(|e| &e.value) else { return Vec::new() };
    let Some(g) = s.groups.get(group) else { return Vec::new() };
    let mut out = Vec::with_capacity(ids.len());
    for (id, last) in ids {
        let Some(parsed) = roost_store::stream::StreamId::parse(id, 0) else { continue };
        match g.pending.get(&parsed) {
            Some(p) => out.push(vec![
                b"XCLAIM".to_vec(),
                key.to_vec(),
                group.to_vec(),
                p.consumer.to_vec(),
                b"0".to_vec(),
                id.clone(),
                b"TIME".to_vec(),
                p.delivery_time.to_string().into_bytes(),
                b"RETRYCOUNT".to_vec(),
                p.delivery_count.to_string().into_bytes(),
                b"FORCE".to_vec(),
                b"JUSTID".to_vec(),
                b"LASTID".to_vec(),
                last.clone().unwrap_or_else(|| g.last_id.to_string().into_bytes()),
            ]),
            // Gone from the pending list (its entry was deleted): so it must be on replay.
            None => out.push(vec![b"XACK".to_vec(), key.to_vec(), group.to_vec(), id.clone()]),
        }
    }
    out
}

/// XREADGROUP is written as Redis 7.0 writes it: an XCLAIM per newly delivered entry (keeping its
/// delivery time and count, so idle times survive a reload), or with NOACK the consumer's
/// creation and the group's new position (XGROUP CREATECONSUMER, XGROUP SETID ... ENTRIESREAD).
/// Re-deliveries from the consumer's history are not written, as in Redis.
fn xreadgroup(ks: &Keyspace, db: usize, args: &Args, reply: &[u8], created: bool) -> Rewritten {
    let group = args.get(2);
    let noack = args.iter().any(|a| is(a, "noack"));
    let Some(streams) = args.iter().position(|a| is(a, "streams")) else { return Rewritten::Nothing };
    let rest: Vec<&[u8]> = args.iter().skip(streams + 1).collect();
    let keys = &rest[..rest.len() / 2];
    let wanted = &rest[rest.len() / 2..];
    let Some(parsed) = parse(reply) else { return Rewritten::Nothing };
    // RESP2: [[key, entries], ...]; RESP3: a map of key -> entries.
    let per_key: Vec<(Vec<u8>, Vec<Resp>)> = match parsed {
        Resp::Array(items) => items
            .into_iter()
            .filter_map(|kv| {
                let mut kv = kv.items().into_iter();
                Some((kv.next()?.bytes()?, kv.next()?.items()))
            })
            .collect(),
        Resp::Map(items) => {
            let mut it = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if let Some(k) = k.bytes() {
                    out.push((k, v.items()));
                }
            }
            out
        }
        _ => return Rewritten::Nothing,
    };
    let mut cmds = Vec::new();
    for (key, entries) in per_key {
        let new_entries = keys.iter().position(|k| *k == key.as_slice()).is_some_and(|i| wanted[i] == b">");
        let ids: Vec<Vec<u8>> = entries.into_iter().filter_map(entry_id).collect();
        if ids.is_empty() || !new_entries {
            continue;
        }
        if noack {
            if created && cmds.is_empty() {
                let consumer = args.get(3).to_vec();
                cmds.push(vec![b"XGROUP".to_vec(), b"CREATECONSUMER".to_vec(), key.clone(), group.to_vec(), consumer]);
            }
            let mut shard = ks.lock_key(&key);
            if let Some(Value::Stream(s)) = shard.db(db).peek(&key).map(|e| &e.value) {
                if let Some(g) = s.groups.get(group) {
                    let read = g.entries_read.map_or(-1, |n| n as i64);
                    cmds.push(vec![
                        b"XGROUP".to_vec(),
                        b"SETID".to_vec(),
                        key.clone(),
                        group.to_vec(),
                        g.last_id.to_string().into_bytes(),
                        b"ENTRIESREAD".to_vec(),
                        read.to_string().into_bytes(),
                    ]);
                }
            }
            continue;
        }
        // New entries move the group's last ID along one by one.
        let with_last: Vec<(Vec<u8>, Option<Vec<u8>>)> = ids.into_iter().map(|id| (id.clone(), Some(id))).collect();
        cmds.extend(pending_as_xclaim(ks, db, &key, group, &with_last));
    }
    if cmds.is_empty() {
        Rewritten::Nothing
    } else {
        Rewritten::Commands(cmds)
    }
}

/// XCLAIM and XAUTOCLAIM claim by idle time, which differs on replay: the file gets Redis's
/// per-entry XCLAIM of exactly what was claimed, and an XACK for each entry XAUTOCLAIM found
/// deleted and dropped from the pending list.
fn xclaim(ks: &Keyspace, db: usize, args: &Args, reply: &[u8], auto: bool) -> Rewritten {
    let Some(parsed) = parse(reply) else { return Rewritten::Verbatim };
    let (claimed, deleted) = if auto {
        let mut parts = parsed.items().into_iter().skip(1);
        let claimed = parts.next().map(Resp::items).unwrap_or_default();
        let deleted = parts.next().map(Resp::items).unwrap_or_default();
        (claimed, deleted)
    } else {
        (parsed.items(), Vec::new())
    };
    let ids: Vec<(Vec<u8>, Option<Vec<u8>>)> = claimed.into_iter().filter_map(entry_id).map(|id| (id, None)).collect();
    let mut cmds = pending_as_xclaim(ks, db, args.get(1), args.get(2), &ids);
    let gone: Vec<Vec<u8>> = deleted.into_iter().filter_map(Resp::bytes).collect();
    if !gone.is_empty() {
        let mut ack = vec![b"XACK".to_vec(), args.get(1).to_vec(), args.get(2).to_vec()];
        ack.extend(gone);
        cmds.push(ack);
    }
    if cmds.is_empty() {
        Rewritten::Nothing
    } else {
        Rewritten::Commands(cmds)
    }
}

/// A reply, as far as the rewrites need to read one.
#[derive(Debug)]
enum Resp {
    Bulk(Vec<u8>),
    Array(Vec<Resp>),
    Map(Vec<Resp>),
    Other,
}

impl Resp {
    fn bytes(self) -> Option<Vec<u8>> {
        match self {
            Resp::Bulk(b) => Some(b),
            _ => None,
        }
    }

    fn bytes_ref(&self) -> Option<&[u8]> {
        match self {
            Resp::Bulk(b) => Some(b),
            _ => None,
        }
    }

    fn items(self) -> Vec<Resp> {
        match self {
            Resp::Array(v) | Resp::Map(v) => v,
            _ => Vec::new(),
        }
    }
}

fn parse(reply: &[u8]) -> Option<Resp> {
    let mut pos = 0;
    parse_at(reply, &mut pos, 0)
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    Some(&rest[..end])
}

fn parse_at(buf: &[u8], pos: &mut usize, depth: usize) -> Option<Resp> {
    if depth > 8 {
        return None;
    }
    let kind = *buf.get(*pos)?;
    *pos += 1;
    let head = line(buf, pos)?;
    let n = || std::str::from_utf8(head).ok()?.parse::<i64>().ok();
    match kind {
        b'$' | b'=' => {
            let len = n()?;
            if len < 0 {
                return Some(Resp::Other);
            }
            let len = len as usize;
            let data = buf.get(*pos..*pos + len)?;
            *pos += len + 2;
            // A verbatim string starts with its three-letter format and a colon.
            let data = if kind == b'=' { data.get(4..).unwrap_or(&[]) } else { data };
            Some(Resp::Bulk(data.to_vec()))
        }
        b'+' | b',' | b'(' => Some(Resp::Bulk(head.to_vec())),
        b'*' | b'~' | b'>' => {
            let len = n()?;
            if len < 0 {
                return Some(Resp::Other);
            }
            let mut items = Vec::with_capacity(len.min(1024) as usize);
            for _ in 0..len {
                items.push(parse_at(buf, pos, depth + 1)?);
            }
            Some(Resp::Array(items))
        }
        b'%' => {
            let len = n()?;
            let mut items = Vec::with_capacity((len.clamp(0, 512) * 2) as usize);
            for _ in 0..len.max(0) * 2 {
                items.push(parse_at(buf, pos, depth + 1)?);
            }
            Some(Resp::Map(items))
        }
        _ => Some(Resp::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_of_the_rewritten_commands_parse() {
        let r = parse(b"*2\r\n$1\r\nl\r\n$1\r\na\r\n").unwrap();
        assert_eq!(r.items().len(), 2);
        let r = parse(b"*2\r\n$1\r\nz\r\n%1\r\n$1\r\na\r\n,1\r\n").unwrap();
        match r.items().pop() {
            Some(Resp::Map(m)) => assert_eq!(m.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(parse(b"*3\r\n$1\r\n").is_none());
        assert!(matches!(parse(b"$-1\r\n"), Some(Resp::Other)));
    }
}

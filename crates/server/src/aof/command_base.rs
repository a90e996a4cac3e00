//! A base file written as commands (`aof-use-rdb-preamble no`): each key as the commands that
//! rebuild it, in the forms Redis 7.0 writes, so either server loads the other's base.
//!
//! Collections go out in commands of at most 64 elements (pairs for hashes and sorted sets), a
//! key's expiry as a `PEXPIREAT` after it, a stream as its entries, its ID state and its groups
//! with their pending entries. Function libraries come first, then each database after a SELECT.

use roost_resp::{format_double, write_int};
use roost_store::stream::{Stream, StreamId};
use roost_store::Value;

use super::encode;

/// Elements (or pairs) per command, as in Redis: a long list becomes several RPUSHes.
const ITEMS_PER_COMMAND: usize = 64;

/// `SELECT db`.
pub(crate) fn put_select(out: &mut Vec<u8>, db: usize) {
    let mut digits = Vec::with_capacity(4);
    write_int(&mut digits, db as i64);
    encode(out, [b"SELECT".as_slice(), &digits].into_iter());
}

/// `FUNCTION LOAD code`.
pub(crate) fn put_function(out: &mut Vec<u8>, code: &[u8]) {
    encode(out, [b"FUNCTION".as_slice(), b"LOAD", code].into_iter());
}

/// The commands that rebuild `key` holding `value`, then its expiry (`expire_at`, Unix ms, 0
/// for none).
pub(crate) fn put_key(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_at: u64) {
    match value {
        Value::Str(s) => {
            let mut scratch = [0u8; 20];
            return put_string(out, key, s.bytes(&mut scratch), expire_at);
        }
        Value::List(list) => put_batched(out, b"RPUSH", key, list.len(), list.iter().map(|e| [e])),
        Value::Set(set) => put_batched(out, b"SADD", key, set.len(), set.iter().map(|m| [m])),
        Value::Hash(hash) => put_batched(out, b"HMSET", key, hash.len(), hash.iter().map(|(f, v)| [f, v])),
        Value::ZSet(zset) => {
            let pairs = zset.iter().map(|(member, score)| {
                let mut text = Vec::with_capacity(24);
                format_double(score, &mut text);
                [text.into(), member]
            });
            put_batched(out, b"ZADD", key, zset.len(), pairs)
        }
        Value::Stream(stream) => put_stream(out, key, stream),
    }
    put_expiry(out, key, expire_at);
}

/// `SET key value`, then its expiry.
pub(crate) fn put_string(out: &mut Vec<u8>, key: &[u8], value: &[u8], expire_at: u64) {
    encode(out, [b"SET".as_slice(), key, value].into_iter());
    put_expiry(out, key, expire_at);
}

fn put_expiry(out: &mut Vec<u8>, key: &[u8], expire_at: u64) {
    if expire_at != 0 {
        let mut ms = Vec::with_capacity(20);
        write_int(&mut ms, expire_at as i64);
        encode(out, [b"PEXPIREAT".as_slice(), key, &ms].into_iter());
    }
}

/// `name key item...` commands of at most `ITEMS_PER_COMMAND` groups of `N` items each.
fn put_batched<'v, const N: usize>(
    out: &mut Vec<u8>,
    name: &[u8],
    key: &[u8],
    len: usize,
    groups: impl Iterator<Item = [std::borrow::Cow<'v, [u8]>; N]>,
) {
    let mut left = len;
    let mut in_command = 0;
    for group in groups {
        if in_command == 0 {
            let count = left.min(ITEMS_PER_COMMAND);
            put_header(out, 2 + count * N);
            put_bulk(out, name);
            put_bulk(out, key);
            in_command = count;
            left -= count;
        }
        for item in &group {
            put_bulk(out, item);
        }
        in_command -= 1;
    }
}

fn put_header(out: &mut Vec<u8>, parts: usize) {
    out.push(b'*');
    write_int(out, parts as i64);
    out.extend_from_slice(b"\r\n");
}

fn put_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    write_int(out, bytes.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn id_text(id: StreamId) -> Vec<u8> {
    id.to_string().into_bytes()
}

/// A stream: one XADD per entry (an empty stream is made by an XADD trimmed to nothing), XSETID
/// for the ID state deletions leave, then each group with XGROUP CREATE, and each consumer with
/// its pending entries as forced XCLAIMs keeping delivery time and count (XGROUP
/// CREATECONSUMER for one with none).
fn put_stream(out: &mut Vec<u8>, key: &[u8], stream: &Stream) {
    if stream.is_empty() {
        encode(out, [b"XADD".as_slice(), key, b"MAXLEN", b"0", b"0-1", b"x", b"y"].into_iter());
    } else {
        for (id, fields) in stream.range(StreamId::MIN, StreamId::MAX, false) {
            put_header(out, 3 + fields.len() * 2);
            put_bulk(out, b"XADD");
            put_bulk(out, key);
            put_bulk(out, &id_text(id));
            for (field, value) in fields {
                put_bulk(out, field);
                put_bulk(out, value);
            }
        }
    }
    let mut added = Vec::with_capacity(20);
    write_int(&mut added, stream.entries_added as i64);
    let (last, max_deleted) = (id_text(stream.last_id), id_text(stream.max_deleted_id));
    encode(out, [b"XSETID".as_slice(), key, &last, b"ENTRIESADDED", &added, b"MAXDELETEDID", &max_deleted].into_iter());
    for (name, group) in &stream.groups {
        let mut read = Vec::with_capacity(20);
        write_int(&mut read, group.entries_read.map_or(-1, |n| n as i64));
        let last = id_text(group.last_id);
        encode(out, [b"XGROUP".as_slice(), b"CREATE", key, name, &last, b"ENTRIESREAD", &read].into_iter());
        for (consumer_name, consumer) in &group.consumers {
            if consumer.pending.is_empty() {
                encode(out, [b"XGROUP".as_slice(), b"CREATECONSUMER", key, name, consumer_name].into_iter());
                continue;
            }
            for id in &consumer.pending {
                let Some(entry) = group.pending.get(id) else { continue };
                let (mut time, mut count) = (Vec::with_capacity(20), Vec::with_capacity(20));
                write_int(&mut time, entry.delivery_time as i64);
                write_int(&mut count, entry.delivery_count as i64);
                let id = id_text(*id);
                let parts: [&[u8]; 12] = [
                    b"XCLAIM",
                    key,
                    name,
                    consumer_name,
                    b"0",
                    &id,
                    b"TIME",
                    &time,
                    b"RETRYCOUNT",
                    &count,
                    b"JUSTID",
                    b"FORCE",
                ];
                encode(out, parts.into_iter());
            }
        }
    }
}

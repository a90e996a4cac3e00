//! Values into RDB bytes, choosing the type and encoding Redis 7.0 would for the same value, so
//! that a DUMP of a value built the same way is the same payload on either server.

use super::listpack::Writer as Lp;
use super::{crc64::crc64, intset, kind, lzf, put_len, RDB_VERSION};
use crate::hash::Hash;
use crate::limits::EncodingLimits;
use crate::list::List;
use crate::set::Set;
use crate::stream::{Stream, StreamId};
use crate::value::{canonical_int, StrValue, Value};
use crate::zset::ZSet;

/// What shapes the bytes besides the value: `rdbcompression`, and the node limits Redis would
/// have split a list or a stream by (`list-max-listpack-size`, `stream-node-max-*`).
#[derive(Clone, Copy, Debug)]
pub struct EncodeOptions {
    pub compress: bool,
    pub list_fill: i64,
    pub stream_node_max_bytes: u64,
    pub stream_node_max_entries: u64,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions::new(true, &EncodingLimits::default())
    }
}

impl EncodeOptions {
    pub fn new(compress: bool, limits: &EncodingLimits) -> EncodeOptions {
        EncodeOptions {
            compress,
            list_fill: EncodingLimits::get(&limits.list_max_listpack_size),
            stream_node_max_bytes: EncodingLimits::get(&limits.stream_node_max_bytes).max(0) as u64,
            stream_node_max_entries: EncodingLimits::get(&limits.stream_node_max_entries).max(0) as u64,
        }
    }
}

/// Integers RDB stores in 1, 2 or 4 bytes after a marker byte.
fn put_small_int(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.extend_from_slice(&[0xC0, b as u8]);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xC1);
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push(0xC2);
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// A string as Redis stores one: as an integer when it is a short canonical one, LZF-compressed
/// when compression is on, it is over 20 bytes and compressing saves at least 4, else as is.
pub(crate) fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = canonical_int(s) {
            if put_small_int(out, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        let stored = lzf::compress_then(s, s.len() - 4, |packed| {
            out.push(0xC3);
            put_len(out, packed.len() as u64);
            put_len(out, s.len() as u64);
            out.extend_from_slice(packed);
        });
        if stored.is_some() {
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// An integer-encoded string value: the small-integer form, or its decimal digits.
fn put_int_string(out: &mut Vec<u8>, v: i64) {
    if !put_small_int(out, v) {
        let digits = v.to_string();
        put_len(out, digits.len() as u64);
        out.extend_from_slice(digits.as_bytes());
    }
}

/// The type byte `value` is written under.
pub fn object_type(value: &Value) -> u8 {
    match value {
        Value::Str(_) => kind::STRING,
        Value::List(_) => kind::LIST_QUICKLIST_2,
        Value::Set(s) if s.intset_parts().is_some() => kind::SET_INTSET,
        Value::Set(_) => kind::SET,
        Value::ZSet(z) if matches!(**z, ZSet::Listpack(_)) => kind::ZSET_LISTPACK,
        Value::ZSet(_) => kind::ZSET_2,
        Value::Hash(Hash::Listpack(_)) => kind::HASH_LISTPACK,
        Value::Hash(_) => kind::HASH,
        Value::Stream(_) => kind::STREAM_LISTPACKS_2,
    }
}

/// Writes the type byte and the value, as RDB has them after a key (and DUMP before its
/// trailer).
pub fn write_object(out: &mut Vec<u8>, value: &Value, opts: &EncodeOptions) {
    out.push(object_type(value));
    write_payload(out, value, opts);
}

/// The value without its type byte.
pub(crate) fn write_payload(out: &mut Vec<u8>, value: &Value, opts: &EncodeOptions) {
    match value {
        Value::Str(StrValue::Int(v)) => put_int_string(out, *v),
        Value::Str(s) => {
            let mut scratch = [0u8; 20];
            put_string(out, s.bytes(&mut scratch), opts.compress);
        }
        Value::List(l) => put_list(out, l, opts),
        Value::Set(s) => put_set(out, s, opts),
        Value::ZSet(z) => put_zset(out, z, opts),
        Value::Hash(h) => put_hash(out, h, opts),
        Value::Stream(s) => put_stream(out, s, opts),
    }
}

/// DUMP's payload: the object, the RDB version (2 bytes LE) and a CRC64 (LE) of all before it.
pub fn dump_payload(value: &Value, opts: &EncodeOptions) -> Vec<u8> {
    let mut out = Vec::new();
    write_object(&mut out, value, opts);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// FUNCTION DUMP's payload: one function-library record per library's code (compressed as a
/// string is when `compress`), then the RDB version and the checksum, as DUMP's.
pub fn functions_payload(codes: &[Vec<u8>], compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(super::opcode::FUNCTION2);
        put_string(&mut out, code, compress);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Elements of at least this size live alone in a plain node (Redis's packed threshold).
const PLAIN_THRESHOLD: usize = 1 << 30;
/// Node byte caps for `list-max-listpack-size` -1..-5, and the cap that also applies when the
/// limit is an element count.
const NODE_BYTES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
const SAFETY_LIMIT: usize = 8192;

/// Redis's allowance for an element's bytes beyond its length when deciding whether it fits a
/// node: an estimate (listpack overhead is at most this), not the exact size.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;

/// Whether a node of `node_bytes` listpack bytes and `count` elements takes one more element of
/// `sz` bytes when pushed at the tail, by Redis's test: with a byte limit (negative fill) the
/// estimated size must stay within it; with an element limit the count must, and the size
/// within the safety limit. Using Redis's estimate rather than the exact size is what puts
/// node boundaries where Redis puts them.
fn node_takes(fill: i64, node_bytes: usize, count: usize, sz: usize) -> bool {
    let new_sz = node_bytes + sz + SIZE_ESTIMATE_OVERHEAD;
    if fill < 0 {
        let level = ((-fill) as usize - 1).min(NODE_BYTES.len() - 1);
        return new_sz <= NODE_BYTES[level];
    }
    let max_count = if fill == 0 { 1 } else { fill as usize };
    new_sz <= SAFETY_LIMIT && count < max_count
}

fn put_list(out: &mut Vec<u8>, list: &List, opts: &EncodeOptions) {
    // Two passes: the first finds the nodes (container, element count) so their number can be
    // written before them; the second writes each node as it is built, so only one node's
    // bytes are ever held. Container 2 is a listpack, 1 a plain node with one huge element.
    let fill = opts.list_fill.min(1 << 15);
    let mut plan: Vec<(u8, usize)> = Vec::new();
    let mut cur: Option<Lp> = None;
    for e in list.iter() {
        if e.len() >= PLAIN_THRESHOLD {
            if let Some(lp) = cur.take() {
                plan.push((2, lp.len()));
            }
            plan.push((1, 1));
            continue;
        }
        let fits = cur.as_ref().is_some_and(|lp| node_takes(fill, lp.bytes(), lp.len(), e.len()));
        if !fits {
            if let Some(lp) = cur.take() {
                plan.push((2, lp.len()));
            }
            cur = Some(Lp::new());
        }
        if let Some(lp) = cur.as_mut() {
            lp.push(&e);
        }
    }
    if let Some(lp) = cur.take() {
        plan.push((2, lp.len()));
    }
    put_len(out, plan.len() as u64);
    let mut elems = list.iter();
    for (container, count) in plan {
        put_len(out, u64::from(container));
        if container == 1 {
            let e = elems.next().unwrap_or_default();
            put_string(out, &e, opts.compress);
            continue;
        }
        let mut lp = Lp::new();
        for e in elems.by_ref().take(count) {
            lp.push(&e);
        }
        put_string(out, &lp.finish(), opts.compress);
    }
}

fn put_set(out: &mut Vec<u8>, set: &Set, opts: &EncodeOptions) {
    if let Some((width, data)) = set.intset_parts() {
        put_string(out, &intset::build(width, data), opts.compress);
        return;
    }
    put_len(out, set.len() as u64);
    for m in set.iter() {
        put_string(out, &m, opts.compress);
    }
}

fn put_hash(out: &mut Vec<u8>, hash: &Hash, opts: &EncodeOptions) {
    match hash {
        Hash::Listpack(_) => {
            let mut lp = Lp::new();
            hash.for_each(|f, v| {
                lp.push(f);
                lp.push(v);
            });
            put_string(out, &lp.finish(), opts.compress);
        }
        Hash::Table(_) => {
            put_len(out, hash.len() as u64);
            hash.for_each(|f, v| {
                put_string(out, f, opts.compress);
                put_string(out, v, opts.compress);
            });
        }
    }
}

/// The integer a score is stored as in a sorted set's listpack, if it is one: integral and
/// within ±2^62, the range Redis 7.0 converts without loss.
fn score_as_int(s: f64) -> Option<i64> {
    const LIMIT: f64 = (1u64 << 62) as f64;
    (s.fract() == 0.0 && (-LIMIT..=LIMIT).contains(&s)).then_some(s as i64)
}

/// A double as C's `%.17g` prints it: 17 significant digits, trailing zeros dropped, the
/// exponent form below 1e-4 or from 1e17 on.
pub(crate) fn fmt_g17(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{v:.16e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(mant), exp.abs())
    } else {
        let prec = (16 - exp) as usize;
        strip(&format!("{v:.prec$}"))
    }
}

fn put_zset(out: &mut Vec<u8>, z: &ZSet, opts: &EncodeOptions) {
    match z {
        ZSet::Listpack(_) => {
            let mut lp = Lp::new();
            for (m, s) in z.iter() {
                lp.push(&m);
                match score_as_int(s) {
                    Some(i) => lp.push_int(i),
                    None => lp.push(fmt_g17(s).as_bytes()),
                }
            }
            put_string(out, &lp.finish(), opts.compress);
        }
        ZSet::Skiplist(_) => {
            // Highest first, as Redis writes them: loading then inserts each at the head.
            let all = z.range(0, z.len(), true);
            put_len(out, all.len() as u64);
            for (m, s) in all {
                put_string(out, m, opts.compress);
                out.extend_from_slice(&s.to_bits().to_le_bytes());
            }
        }
    }
}

/// The 16 bytes of a stream ID as Redis keys its nodes and PEL entries: big-endian ms, seq.
fn id_bytes(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

const STREAM_ITEM_DELETED: i64 = 1;
const STREAM_ITEM_SAMEFIELDS: i64 = 2;
const STREAM_NODE_MAX: u64 = 1 << 30;

/// One stream node being built in Redis's layout: a master entry (live count, deleted count,
/// the first entry's field names, a 0 terminator), then the entries, each ending with its
/// element count.
struct StreamNode {
    master: StreamId,
    fields: Vec<Vec<u8>>,
    /// Bytes the master entry's field names take in the listpack.
    fields_bytes: usize,
    /// The entries' elements, written after the master entry once the counts are known.
    body: Lp,
    live: i64,
    deleted: i64,
}

impl StreamNode {
    /// Bytes of the listpack as Redis would have it at this point of the appends (every entry
    /// still counted live), which is what its node-size test looks at.
    fn bytes(&self) -> usize {
        let n = self.live + self.deleted;
        let master = Lp::int_size(n) + Lp::int_size(0) + Lp::int_size(self.fields.len() as i64) + Lp::int_size(0);
        master + self.fields_bytes + self.body.bytes()
    }

    fn finish(self) -> Vec<u8> {
        let mut lp = Lp::new();
        lp.push_int(self.live);
        lp.push_int(self.deleted);
        lp.push_int(self.fields.len() as i64);
        for f in &self.fields {
            lp.push(f);
        }
        lp.push_int(0);
        let head = lp.finish();
        let body = self.body.finish();
        // Splice the two: header and elements of the master part, then the entries' elements.
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(&head[..head.len() - 1]);
        out.extend_from_slice(&body[6..]);
        let total = out.len() as u32;
        out[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::from_le_bytes([head[4], head[5]]) as usize + u16::from_le_bytes([body[4], body[5]]) as usize;
        let count = if count >= u16::MAX as usize { u16::MAX } else { count as u16 };
        out[4..6].copy_from_slice(&count.to_le_bytes());
        out
    }
}

/// Lays the stream's entries out in nodes with Redis's rule for opening a new one, so a stream
/// appended to the same way gets the same nodes on both servers, and hands each node to `emit`.
/// A node whose entries are all deleted is one Redis would have dropped, and is skipped.
fn stream_nodes(s: &Stream, opts: &EncodeOptions, mut emit: impl FnMut(StreamNode)) {
    let max_bytes = match opts.stream_node_max_bytes {
        0 => STREAM_NODE_MAX,
        n => n.min(STREAM_NODE_MAX),
    } as usize;
    let mut cur: Option<StreamNode> = None;
    for (id, deleted, fields) in s.stored_entries() {
        let total: usize = fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        let full = cur.as_ref().is_none_or(|n| {
            n.bytes() + total >= max_bytes
                || (opts.stream_node_max_entries > 0 && (n.live + n.deleted) as u64 >= opts.stream_node_max_entries)
        });
        if full {
            if let Some(n) = cur.take().filter(|n| n.live > 0) {
                emit(n);
            }
            let mut names = Lp::new();
            for (f, _) in &fields {
                names.push(f);
            }
            cur = Some(StreamNode {
                master: id,
                fields: fields.iter().map(|(f, _)| f.to_vec()).collect(),
                fields_bytes: names.bytes() - 7,
                body: Lp::new(),
                live: 0,
                deleted: 0,
            });
        }
        let Some(node) = cur.as_mut() else { continue };
        let same = node.fields.len() == fields.len() && node.fields.iter().zip(&fields).all(|(a, (b, _))| a == b);
        let mut flags = if same { STREAM_ITEM_SAMEFIELDS } else { 0 };
        if deleted {
            flags |= STREAM_ITEM_DELETED;
            node.deleted += 1;
        } else {
            node.live += 1;
        }
        let lp = &mut node.body;
        lp.push_int(flags);
        lp.push_int(id.ms.wrapping_sub(node.master.ms) as i64);
        lp.push_int(id.seq.wrapping_sub(node.master.seq) as i64);
        if same {
            for (_, v) in &fields {
                lp.push(v);
            }
            lp.push_int(fields.len() as i64 + 3);
        } else {
            lp.push_int(fields.len() as i64);
            for (f, v) in &fields {
                lp.push(f);
                lp.push(v);
            }
            lp.push_int(2 * fields.len() as i64 + 4);
        }
    }
    if let Some(n) = cur.take().filter(|n| n.live > 0) {
        emit(n);
    }
}

fn put_stream(out: &mut Vec<u8>, s: &Stream, opts: &EncodeOptions) {
    // Two passes, as for lists: count the nodes, then write each as it is built.
    let mut count = 0u64;
    stream_nodes(s, opts, |_| count += 1);
    put_len(out, count);
    stream_nodes(s, opts, |node| {
        put_string(out, &id_bytes(node.master), opts.compress);
        put_string(out, &node.finish(), opts.compress);
    });
    put_len(out, s.len());
    put_len(out, s.last_id.ms);
    put_len(out, s.last_id.seq);
    let first = s.first_id().unwrap_or(StreamId::MIN);
    put_len(out, first.ms);
    put_len(out, first.seq);
    put_len(out, s.max_deleted_id.ms);
    put_len(out, s.max_deleted_id.seq);
    put_len(out, s.entries_added);
    put_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        put_string(out, name, opts.compress);
        put_len(out, g.last_id.ms);
        put_len(out, g.last_id.seq);
        // An unknown read counter is Redis's -1, stored as the unsigned length it becomes.
        put_len(out, g.entries_read.unwrap_or(u64::MAX));
        put_len(out, g.pending.len() as u64);
        for (id, p) in &g.pending {
            out.extend_from_slice(&id_bytes(*id));
            out.extend_from_slice(&p.delivery_time.to_le_bytes());
            put_len(out, p.delivery_count);
        }
        put_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            put_string(out, cname, opts.compress);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            put_len(out, c.pending.len() as u64);
            for id in &c.pending {
                out.extend_from_slice(&id_bytes(*id));
            }
        }
    }
}

//! RDB bytes into values, for every type and encoding Redis 7.0 loads, into the encoding Roost
//! would give the value under the configured limits (as Redis converts on load).
//!
//! Checks follow Redis's deep sanitisation (`sanitize-dump-payload yes`): blobs are walked in
//! full, duplicates in hashes, sets and sorted sets are refused, and stream nodes must have the
//! structure Redis writes. An empty collection reads as `None` (Redis skips such keys in files
//! and refuses them in RESTORE).

use std::borrow::Cow;
use std::collections::HashSet;

use super::listpack::{self, Item};
use super::{crc64::crc64, intset, kind, ziplist, Cursor, Error, RDB_VERSION};
use crate::hash::{Hash, HashLimits};
use crate::limits::EncodingLimits;
use crate::list::{End, List};
use crate::set::{Set, SetLimits};
use crate::stream::{BlockLimits, Consumer, Group, PendingEntry, Stream, StreamId};
use crate::value::{StrValue, Value};
use crate::zset::{ZSet, ZSetLimits};

/// The configured limits, read once per value.
struct Limits {
    hash: HashLimits,
    set: SetLimits,
    zset: ZSetLimits,
    list_fill: i64,
    list_depth: usize,
    stream: BlockLimits,
}

impl Limits {
    fn new(l: &EncodingLimits) -> Limits {
        Limits {
            hash: HashLimits::from_config(l),
            set: SetLimits::from_config(l),
            zset: ZSetLimits::from_config(l),
            list_fill: EncodingLimits::get(&l.list_max_listpack_size),
            list_depth: EncodingLimits::get(&l.list_compress_depth).max(0) as usize,
            stream: BlockLimits {
                max_entries: EncodingLimits::get(&l.stream_node_max_entries).max(0) as u64,
                max_bytes: EncodingLimits::get(&l.stream_node_max_bytes).max(0) as u64,
            },
        }
    }
}

/// Whether a DUMP payload's trailer is one this reader accepts (Redis's test: at least 10
/// bytes, a version of at most 10 in the two bytes before the last 8, and those 8 the CRC64 of
/// all before them).
pub fn verify_payload(payload: &[u8]) -> bool {
    if payload.len() < 10 {
        return false;
    }
    let (body, crc) = payload.split_at(payload.len() - 8);
    let version = u16::from_le_bytes([body[body.len() - 2], body[body.len() - 1]]);
    version <= RDB_VERSION && crc64(0, body).to_le_bytes() == crc
}

/// Reads a type byte and the value after it from the start of `data`; bytes after the value
/// are ignored. A RESTORE passes the whole payload, trailer included, as Redis reads it: a
/// value that runs into the trailer is read from it rather than refused. `Ok(None)` for an
/// empty collection.
pub fn read_object(data: &[u8], limits: &EncodingLimits) -> Result<Option<Value>, Error> {
    let mut cur = Cursor::new(data);
    let t = cur.byte()?;
    read_value(&mut cur, t, limits)
}

/// Why a DUMP payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// A version this reader does not know, or a checksum that does not match.
    VersionOrChecksum,
    /// The value itself is malformed.
    Format(Error),
}

/// RESTORE's reading of a payload: its trailer checked, then the value read.
pub fn restore_payload(payload: &[u8], limits: &EncodingLimits) -> Result<Option<Value>, PayloadError> {
    if !verify_payload(payload) {
        return Err(PayloadError::VersionOrChecksum);
    }
    read_object(payload, limits).map_err(PayloadError::Format)
}

/// The libraries' code in a FUNCTION DUMP payload; None when its trailer does not check out or
/// a record is not a function library.
pub fn read_functions_payload(payload: &[u8]) -> Option<Vec<Vec<u8>>> {
    if !verify_payload(payload) {
        return None;
    }
    let records = &payload[..payload.len() - 10];
    let mut cur = Cursor::new(records);
    let mut codes = Vec::new();
    while cur.remaining() > 0 {
        if cur.byte().ok()? != super::opcode::FUNCTION2 {
            return None;
        }
        codes.push(cur.string().ok()?.into_owned());
    }
    Some(codes)
}

pub(crate) fn read_value(cur: &mut Cursor<'_>, t: u8, limits: &EncodingLimits) -> Result<Option<Value>, Error> {
    let lim = Limits::new(limits);
    let at = cur.offset();
    match t {
        kind::STRING => Ok(Some(Value::Str(StrValue::from_vec(cur.string()?.into_owned())))),
        kind::LIST => {
            let n = cur.count(1)?;
            let mut list = List::with_compress_depth(lim.list_depth);
            for _ in 0..n {
                list.push(End::Tail, &cur.string()?, lim.list_fill);
            }
            Ok(non_empty_list(list))
        }
        kind::LIST_ZIPLIST => {
            let blob = cur.string()?;
            let items = ziplist::parse(&blob).map_err(|e| cur.error_at(at, e))?;
            let mut list = List::with_compress_depth(lim.list_depth);
            push_items(&mut list, &items, lim.list_fill);
            Ok(non_empty_list(list))
        }
        kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => read_quicklist(cur, t, &lim),
        kind::SET => {
            let n = cur.count(1)?;
            let mut set = Set::new();
            for _ in 0..n {
                let m_at = cur.offset();
                let m = cur.string()?;
                if !set.add(&m, &lim.set) {
                    return Err(cur.error_at(m_at, "duplicate set member"));
                }
            }
            Ok((!set.is_empty()).then(|| Value::Set(Box::new(set))))
        }
        kind::SET_INTSET => {
            let blob = cur.string()?;
            let (width, data) = intset::parse(&blob).map_err(|e| cur.error_at(at, e))?;
            let count = data.len() / usize::from(width);
            let set = if count <= lim.set.intset_entries {
                Set::from_intset(width, data).ok_or_else(|| cur.error_at(at, "invalid intset"))?
            } else {
                let mut set = Set::new();
                for m in data.chunks_exact(usize::from(width)) {
                    set.add(intset::get(m).to_string().as_bytes(), &lim.set);
                }
                set
            };
            Ok(Some(Value::Set(Box::new(set))))
        }
        kind::ZSET | kind::ZSET_2 => {
            let n = cur.count(2)?;
            let mut items = Vec::with_capacity(n);
            let mut seen = HashSet::with_capacity(n);
            for _ in 0..n {
                let m_at = cur.offset();
                let m = cur.string()?.into_owned();
                let score = if t == kind::ZSET_2 { cur.binary_double()? } else { cur.text_double()? };
                if score.is_nan() {
                    return Err(cur.error_at(m_at, "sorted set with a NaN score"));
                }
                if !seen.insert(m.clone()) {
                    return Err(cur.error_at(m_at, "duplicate sorted set member"));
                }
                items.push((m, score));
            }
            if items.is_empty() {
                return Ok(None);
            }
            Ok(Some(Value::ZSet(Box::new(ZSet::from_entries(items, &lim.zset)))))
        }
        kind::ZSET_ZIPLIST | kind::ZSET_LISTPACK => {
            let blob = cur.string()?;
            let items = if t == kind::ZSET_LISTPACK {
                listpack::parse_at(&blob, cur, at)?
            } else {
                ziplist::parse(&blob).map_err(|e| cur.error_at(at, e))?
            };
            let pairs = pairs(&items).ok_or_else(|| cur.error_at(at, "sorted set blob with an odd element count"))?;
            let mut seen = HashSet::with_capacity(pairs.len());
            let mut entries = Vec::with_capacity(pairs.len());
            for (m, s) in pairs {
                let score = match s {
                    Item::Int(i) => i as f64,
                    Item::Str(b) => super::blob_score(b),
                };
                if score.is_nan() {
                    return Err(cur.error_at(at, "sorted set with a NaN score"));
                }
                let m = m.to_vec();
                if !seen.insert(m.clone()) {
                    return Err(cur.error_at(at, "duplicate sorted set member"));
                }
                entries.push((m, score));
            }
            if entries.is_empty() {
                return Ok(None);
            }
            // A listpack stays one up to the entry limit whatever its members' lengths, as in
            // Redis, which checks only the count on load.
            let limits = ZSetLimits { max_entries: lim.zset.max_entries, max_value: usize::MAX };
            Ok(Some(Value::ZSet(Box::new(ZSet::from_entries(entries, &limits)))))
        }
        kind::HASH => {
            let n = cur.count(2)?;
            let mut hash = Hash::new();
            for _ in 0..n {
                let f_at = cur.offset();
                let f = cur.string()?;
                let v = cur.string()?;
                if !hash.set(&f, &v, &lim.hash) {
                    return Err(cur.error_at(f_at, "duplicate hash field"));
                }
            }
            Ok((!hash.is_empty()).then_some(Value::Hash(hash)))
        }
        kind::HASH_ZIPMAP => {
            let blob = cur.string()?;
            let pairs = ziplist::parse_zipmap(&blob).map_err(|e| cur.error_at(at, e))?;
            let mut hash = Hash::new();
            let longest = pairs.iter().map(|(f, v)| f.len().max(v.len())).max().unwrap_or(0);
            // Converted once past the entry limit, as it fills: a listpack's duplicate check
            // is a scan, and thousands of pairs would make loading quadratic.
            let limits = HashLimits { max_entries: lim.hash.max_entries, max_value: usize::MAX };
            for (f, v) in &pairs {
                if !hash.set(f, v, &limits) {
                    return Err(cur.error_at(at, "duplicate hash field in zipmap"));
                }
            }
            if pairs.len() > lim.hash.max_entries || longest > lim.hash.max_value {
                hash.convert();
            }
            Ok((!hash.is_empty()).then_some(Value::Hash(hash)))
        }
        kind::HASH_ZIPLIST | kind::HASH_LISTPACK => {
            let blob = cur.string()?;
            let items = if t == kind::HASH_LISTPACK {
                listpack::parse_at(&blob, cur, at)?
            } else {
                ziplist::parse(&blob).map_err(|e| cur.error_at(at, e))?
            };
            let pairs = pairs(&items).ok_or_else(|| cur.error_at(at, "hash blob with an odd element count"))?;
            // Counted on load, lengths not: see the sorted set case.
            let limits = HashLimits { max_entries: lim.hash.max_entries, max_value: usize::MAX };
            let mut hash = Hash::new();
            for (f, v) in pairs {
                if !hash.set(&f, &v.to_vec(), &limits) {
                    return Err(cur.error_at(at, "duplicate hash field"));
                }
            }
            Ok((!hash.is_empty()).then_some(Value::Hash(hash)))
        }
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 => read_stream(cur, t, &lim).map(Some),
        kind::MODULE | kind::MODULE_2 => Err(cur.error_at(at, "module values are not supported")),
        other => Err(cur.error_at(at.saturating_sub(1), format!("unknown value type {other}"))),
    }
}

fn non_empty_list(list: List) -> Option<Value> {
    (!list.is_empty()).then(|| Value::List(Box::new(list)))
}

fn push_items(list: &mut List, items: &[Item<'_>], fill: i64) {
    for it in items {
        match it {
            Item::Str(s) => list.push(End::Tail, s, fill),
            Item::Int(i) => list.push(End::Tail, i.to_string().as_bytes(), fill),
        }
    }
}

/// Elements taken two by two; None for an odd count.
fn pairs<'a>(items: &'a [Item<'a>]) -> Option<Vec<(Cow<'a, [u8]>, Item<'a>)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    Some(
        items
            .chunks_exact(2)
            .map(|p| {
                let first = match p[0] {
                    Item::Str(s) => Cow::Borrowed(s),
                    Item::Int(i) => Cow::Owned(i.to_string().into_bytes()),
                };
                (first, p[1])
            })
            .collect(),
    )
}

fn read_quicklist(cur: &mut Cursor<'_>, t: u8, lim: &Limits) -> Result<Option<Value>, Error> {
    let n = cur.count(2)?;
    let mut list = List::with_compress_depth(lim.list_depth);
    for _ in 0..n {
        let container = if t == kind::LIST_QUICKLIST_2 {
            let c_at = cur.offset();
            match cur.len()? {
                c @ (1 | 2) => c,
                _ => return Err(cur.error_at(c_at, "unknown quicklist node container")),
            }
        } else {
            2
        };
        let at = cur.offset();
        let blob = cur.string()?;
        if blob.is_empty() {
            return Err(cur.error_at(at, "empty quicklist node"));
        }
        if container == 1 {
            list.push(End::Tail, &blob, lim.list_fill);
            continue;
        }
        let items = if t == kind::LIST_QUICKLIST_2 {
            listpack::parse_at(&blob, cur, at)?
        } else {
            ziplist::parse(&blob).map_err(|e| cur.error_at(at, e))?
        };
        push_items(&mut list, &items, lim.list_fill);
    }
    Ok(non_empty_list(list))
}

fn stream_id(cur: &mut Cursor<'_>) -> Result<StreamId, Error> {
    Ok(StreamId::new(cur.len()?, cur.len()?))
}

fn raw_id(b: &[u8]) -> StreamId {
    let ms = u64::from_be_bytes(b[..8].try_into().expect("8 bytes"));
    let seq = u64::from_be_bytes(b[8..16].try_into().expect("8 bytes"));
    StreamId::new(ms, seq)
}

/// The entries of one stream node: (ID, deleted, fields).
type NodeEntries<'a> = Vec<(StreamId, bool, Vec<(Cow<'a, [u8]>, Cow<'a, [u8]>)>)>;

/// Walks a stream node's listpack in Redis's layout, checking it as Redis's deep validation
/// does (counts, the master entry's terminator, each entry's element count).
fn next_int<'a>(rest: &mut impl Iterator<Item = Item<'a>>, what: &str) -> Result<i64, String> {
    rest.next().and_then(Item::as_int).ok_or_else(|| format!("stream node: missing or non-integer {what}"))
}

fn stream_node<'a>(master: StreamId, items: &'a [Item<'a>]) -> Result<NodeEntries<'a>, String> {
    let mut rest = items.iter().copied();
    let live = next_int(&mut rest, "entry count")?;
    let deleted = next_int(&mut rest, "deleted count")?;
    let nfields = next_int(&mut rest, "master field count")?;
    if live < 0 || deleted < 0 || nfields < 0 || nfields as usize > items.len() {
        return Err("stream node: impossible counts".into());
    }
    let master_fields: Vec<Item<'a>> = rest.by_ref().take(nfields as usize).collect();
    if master_fields.len() != nfields as usize {
        return Err("stream node: master fields missing".into());
    }
    if next_int(&mut rest, "master terminator")? != 0 {
        return Err("stream node: master entry not terminated by 0".into());
    }
    let mut out = Vec::new();
    let mut seen_deleted = 0;
    let total = live.checked_add(deleted).ok_or("stream node: impossible counts")?;
    if total as usize > items.len() {
        return Err("stream node: impossible counts".into());
    }
    for _ in 0..total {
        let flags = next_int(&mut rest, "entry flags")?;
        let ms = next_int(&mut rest, "entry ID")?;
        let seq = next_int(&mut rest, "entry ID")?;
        let id = StreamId::new(master.ms.wrapping_add(ms as u64), master.seq.wrapping_add(seq as u64));
        let same = flags & 2 != 0;
        let mut fields = Vec::new();
        let expect_count = if same {
            for f in &master_fields {
                let v = rest.next().ok_or("stream node: truncated entry")?;
                fields.push((Cow::Owned(f.to_vec()), Cow::Owned(v.to_vec())));
            }
            nfields + 3
        } else {
            let n = next_int(&mut rest, "field count")?;
            if n < 0 || n as usize > items.len() {
                return Err("stream node: impossible field count".into());
            }
            for _ in 0..n {
                let f = rest.next().ok_or("stream node: truncated entry")?;
                let v = rest.next().ok_or("stream node: truncated entry")?;
                fields.push((Cow::Owned(f.to_vec()), Cow::Owned(v.to_vec())));
            }
            2 * n + 4
        };
        if next_int(&mut rest, "entry element count")? != expect_count {
            return Err("stream node: entry's element count does not match".into());
        }
        let is_deleted = flags & 1 != 0;
        seen_deleted += i64::from(is_deleted);
        out.push((id, is_deleted, fields));
    }
    if rest.next().is_some() {
        return Err("stream node: elements after the last entry".into());
    }
    if seen_deleted != deleted {
        return Err("stream node: deleted count does not match the entries".into());
    }
    Ok(out)
}

fn read_stream(cur: &mut Cursor<'_>, t: u8, lim: &Limits) -> Result<Value, Error> {
    let mut stream = Stream::new();
    let nodes = cur.count(2)?;
    let mut prev: Option<StreamId> = None;
    let mut prev_master: Option<StreamId> = None;
    for _ in 0..nodes {
        let key_at = cur.offset();
        let key = cur.string()?;
        if key.len() != 16 {
            return Err(cur.error_at(key_at, "stream node key is not a stream ID"));
        }
        let master = raw_id(&key);
        // Nodes hold consecutive ranges of IDs, each starting at its key: a key repeated, out
        // of order, or not above every entry of the nodes before it is corrupt.
        if prev_master.is_some_and(|p| master <= p) || prev.is_some_and(|p| master <= p) {
            return Err(cur.error_at(key_at, "stream node key out of order"));
        }
        prev_master = Some(master);
        let at = cur.offset();
        let blob = cur.string()?;
        let items = listpack::parse_at(&blob, cur, at)?;
        if items.is_empty() {
            return Err(cur.error_at(at, "empty stream node"));
        }
        let entries = stream_node(master, &items).map_err(|e| cur.error_at(at, e))?;
        for (id, deleted, fields) in entries {
            if id < master {
                return Err(cur.error_at(at, "stream entry before its node's key"));
            }
            if prev.is_some_and(|p| id <= p) {
                return Err(cur.error_at(at, "stream entries out of order"));
            }
            prev = Some(id);
            if !deleted {
                let pairs = fields.iter().map(|(f, v)| (f.as_ref(), v.as_ref()));
                stream.append(id, pairs, lim.stream);
            }
        }
    }
    let meta_at = cur.offset();
    let length = cur.len()?;
    let last_id = stream_id(cur)?;
    if length != stream.len() {
        return Err(
            cur.error_at(meta_at, format!("stream length {length} does not match its {} entries", stream.len()))
        );
    }
    if prev.is_some_and(|p| p > last_id) {
        return Err(cur.error_at(meta_at, "stream entry after the stream's last ID"));
    }
    stream.last_id = last_id;
    if t == kind::STREAM_LISTPACKS_2 {
        // The first ID is derived from the entries here; it is read only to move past it.
        stream_id(cur)?;
        stream.max_deleted_id = stream_id(cur)?;
        stream.entries_added = cur.len()?;
    } else {
        stream.max_deleted_id = StreamId::MIN;
        stream.entries_added = length;
    }
    let groups = cur.count(2)?;
    for _ in 0..groups {
        let g_at = cur.offset();
        let name: Box<[u8]> = cur.string()?.into_owned().into();
        let last = stream_id(cur)?;
        let entries_read = if t == kind::STREAM_LISTPACKS_2 {
            match cur.len()? {
                u64::MAX => None,
                n => Some(n),
            }
        } else {
            stream.entries_read_at(last)
        };
        if stream.groups.contains_key(&name) {
            return Err(cur.error_at(g_at, "duplicate consumer group"));
        }
        let mut group = Group::new(last, entries_read);
        let pel = cur.count(17)?;
        for _ in 0..pel {
            let p_at = cur.offset();
            let id = raw_id(cur.take(16)?);
            let delivery_time = cur.u64_le()?;
            let delivery_count = cur.len()?;
            let entry = PendingEntry { consumer: Box::default(), delivery_time, delivery_count };
            if group.pending.insert(id, entry).is_some() {
                return Err(cur.error_at(p_at, "duplicate pending entry in a consumer group"));
            }
        }
        let consumers = cur.count(10)?;
        for _ in 0..consumers {
            let c_at = cur.offset();
            let cname: Box<[u8]> = cur.string()?.into_owned().into();
            let seen_time = cur.u64_le()?;
            if group.consumers.contains_key(&cname) {
                return Err(cur.error_at(c_at, "duplicate consumer"));
            }
            let mut consumer = Consumer { seen_time, ..Consumer::default() };
            let owned = cur.count(16)?;
            for _ in 0..owned {
                let p_at = cur.offset();
                let id = raw_id(cur.take(16)?);
                let Some(p) = group.pending.get_mut(&id) else {
                    return Err(cur.error_at(p_at, "consumer's pending entry missing from its group"));
                };
                if !p.consumer.is_empty() || !consumer.pending.insert(id) {
                    return Err(cur.error_at(p_at, "pending entry owned twice"));
                }
                p.consumer = cname.clone();
            }
            group.consumers.insert(cname, consumer);
        }
        // Owners are set from the consumers' lists; an entry nobody owns is corrupt. (A
        // consumer may have an empty name, so ownership is checked through the lists.)
        let owned: usize = group.consumers.values().map(|c| c.pending.len()).sum();
        if owned != group.pending.len() {
            return Err(cur.error_at(g_at, "pending entry without a consumer"));
        }
        stream.groups.insert(name, group);
    }
    Ok(Value::Stream(Box::new(stream)))
}

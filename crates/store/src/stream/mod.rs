//! Streams: an append-only log of entries keyed by increasing IDs, with consumer groups.
//!
//! Entries are packed into blocks of bytes, each block indexed in an ordered map by the ID of its
//! first entry, as Redis keeps them (a radix tree of listpacks): an entry is a flag byte, its ID as
//! varints, and its fields and values as length-prefixed bytes, so a stream costs a few bytes per
//! entry beyond its data rather than an allocation per field. An entry whose field names are those
//! of its block's first entry (the common case: producers send the same fields every time) stores
//! only its values. Deleting marks the entry's flag; a block whose entries are all deleted goes.
//! New entries open a new block when the last one holds `stream-node-max-entries` entries or
//! `stream-node-max-bytes` bytes.

mod group;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

pub use group::{Consumer, Group, PendingEntry};

/// An entry's ID: milliseconds, then a sequence number within the millisecond.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The smallest ID after this one.
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (_, s) if s < u64::MAX => Some(StreamId::new(self.ms, s + 1)),
            (m, _) if m < u64::MAX => Some(StreamId::new(m + 1, 0)),
            _ => None,
        }
    }

    /// The largest ID before this one.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (_, s) if s > 0 => Some(StreamId::new(self.ms, s - 1)),
            (m, _) if m > 0 => Some(StreamId::new(m - 1, u64::MAX)),
            _ => None,
        }
    }

    /// Parses `ms-seq` or `ms` (whose sequence is then `missing_seq`); None when malformed.
    pub fn parse(s: &[u8], missing_seq: u64) -> Option<StreamId> {
        let num = |b: &[u8]| -> Option<u64> {
            if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(b).ok()?.parse().ok()
        };
        match s.iter().position(|&c| c == b'-') {
            Some(dash) => Some(StreamId::new(num(&s[..dash])?, num(&s[dash + 1..])?)),
            None => Some(StreamId::new(num(s)?, missing_seq)),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

const DELETED: u8 = 1;
/// The entry's field names are those of its block's first entry; only values are stored.
const SAME_FIELDS: u8 = 2;

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*pos];
        *pos += 1;
        n |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return n;
        }
        shift += 7;
    }
}

fn get_bytes<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let len = get_varint(b, pos) as usize;
    let s = &b[*pos..*pos + len];
    *pos += len;
    s
}

/// A run of entries packed in bytes.
#[derive(Clone, Debug, Default)]
struct Block {
    data: Vec<u8>,
    /// Entries not deleted.
    live: u32,
    /// Entries stored, deleted ones included.
    stored: u32,
    last: StreamId,
}

/// Where an entry sits in its block, decoded up to its fields.
#[derive(Clone, Copy, Debug)]
struct Slot {
    at: usize,
    id: StreamId,
    flags: u8,
    /// Offset of the field count.
    fields_at: usize,
    end: usize,
}

impl Block {
    fn decode(&self, first: StreamId, at: usize) -> Slot {
        let b = &self.data;
        let mut pos = at;
        let flags = b[pos];
        pos += 1;
        let ms = first.ms + get_varint(b, &mut pos);
        let seq = get_varint(b, &mut pos);
        let fields_at = pos;
        let n = get_varint(b, &mut pos) as usize;
        let strings = if flags & SAME_FIELDS != 0 { n } else { 2 * n };
        for _ in 0..strings {
            let len = get_varint(b, &mut pos) as usize;
            pos += len;
        }
        Slot { at, id: StreamId::new(ms, seq), flags, fields_at, end: pos }
    }

    fn slots(&self, first: StreamId) -> impl Iterator<Item = Slot> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            (at < self.data.len()).then(|| {
                let s = self.decode(first, at);
                at = s.end;
                s
            })
        })
    }

    /// Offset of the field count of the entry at `at`.
    fn fields_at(&self, at: usize) -> usize {
        let mut pos = at + 1;
        get_varint(&self.data, &mut pos);
        get_varint(&self.data, &mut pos);
        pos
    }

    /// Whether `fields` has the field names of the block's first entry, in order.
    fn first_names_match<'f>(&self, mut fields: impl Iterator<Item = (&'f [u8], &'f [u8])>) -> bool {
        let mut pos = self.fields_at(0);
        let n = get_varint(&self.data, &mut pos);
        for _ in 0..n {
            let name = get_bytes(&self.data, &mut pos);
            get_bytes(&self.data, &mut pos);
            match fields.next() {
                Some((f, _)) if f == name => {}
                _ => return false,
            }
        }
        fields.next().is_none()
    }

    fn fields(&self, slot: &Slot) -> Vec<(&[u8], &[u8])> {
        let mut pos = slot.fields_at;
        let n = get_varint(&self.data, &mut pos) as usize;
        let mut out = Vec::with_capacity(n);
        if slot.flags & SAME_FIELDS != 0 {
            // Names from the block's first entry, values from this one.
            let mut names = self.fields_at(0);
            get_varint(&self.data, &mut names);
            for _ in 0..n {
                let f = get_bytes(&self.data, &mut names);
                get_bytes(&self.data, &mut names);
                out.push((f, get_bytes(&self.data, &mut pos)));
            }
        } else {
            for _ in 0..n {
                let f = get_bytes(&self.data, &mut pos);
                out.push((f, get_bytes(&self.data, &mut pos)));
            }
        }
        out
    }
}

/// The live entries of `block` with IDs in `start..=end`.
fn live_entries(
    first: StreamId,
    block: &Block,
    start: StreamId,
    end: StreamId,
) -> impl Iterator<Item = (StreamId, Fields<'_>)> {
    block
        .slots(first)
        .filter(move |s| s.flags & DELETED == 0 && s.id >= start && s.id <= end)
        .map(move |s| (s.id, block.fields(&s)))
}

/// An entry as read from a stream.
pub type Fields<'a> = Vec<(&'a [u8], &'a [u8])>;

/// How XADD and XTRIM cut a stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Debug, Default)]
pub struct Stream {
    blocks: BTreeMap<StreamId, Block>,
    length: u64,
    pub last_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

/// Limits on a block, from `stream-node-max-entries` and `stream-node-max-bytes` (0: none).
#[derive(Clone, Copy, Debug)]
pub struct BlockLimits {
    pub max_entries: u64,
    pub max_bytes: u64,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn heap_size(&self) -> usize {
        const BTREE_PER_BLOCK: usize = std::mem::size_of::<(StreamId, Block)>() + 16;
        let blocks: usize = self.blocks.values().map(|b| b.data.capacity() + BTREE_PER_BLOCK).sum();
        let groups: usize = self.groups.iter().map(|(name, g)| name.len() + g.heap_size()).sum();
        blocks + groups
    }

    /// Appends an entry with ID `id`, which the caller has checked is above `last_id`. The
    /// fields are written straight into the block: no allocation but the block's own growth.
    pub fn append<'f>(
        &mut self,
        id: StreamId,
        fields: impl Iterator<Item = (&'f [u8], &'f [u8])> + Clone,
        limits: BlockLimits,
    ) {
        let full = self.blocks.last_key_value().is_none_or(|(_, b)| {
            let full_entries = limits.max_entries > 0 && u64::from(b.stored) >= limits.max_entries;
            let full_bytes = limits.max_bytes > 0 && b.data.len() as u64 >= limits.max_bytes;
            full_entries || full_bytes
        });
        if full {
            if let Some(mut last) = self.blocks.last_entry() {
                last.get_mut().data.shrink_to_fit();
            }
            self.blocks.insert(id, Block::default());
        }
        let (&first, block) = self.blocks.last_key_value().expect("a block is open");
        let same = block.stored > 0 && block.first_names_match(fields.clone());
        let block = self.blocks.get_mut(&first).expect("the open block");
        let data = &mut block.data;
        data.push(if same { SAME_FIELDS } else { 0 });
        put_varint(data, id.ms - first.ms);
        put_varint(data, id.seq);
        put_varint(data, fields.clone().count() as u64);
        for (f, v) in fields {
            if !same {
                put_varint(data, f.len() as u64);
                data.extend_from_slice(f);
            }
            put_varint(data, v.len() as u64);
            data.extend_from_slice(v);
        }
        block.live += 1;
        block.stored += 1;
        block.last = id;
        self.length += 1;
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Every entry still stored, in ID order, deleted ones included and flagged (true): what
    /// an RDB writer lays out again in Redis's node format, where deleted entries stay in their
    /// node until it empties.
    pub fn stored_entries(&self) -> impl Iterator<Item = (StreamId, bool, Fields<'_>)> + '_ {
        self.blocks.iter().flat_map(|(first, block)| {
            block.slots(*first).map(move |s| (s.id, s.flags & DELETED != 0, block.fields(&s)))
        })
    }

    /// The ID of the first live entry, if any (without reading its fields).
    pub fn first_id(&self) -> Option<StreamId> {
        let (&first, block) = self.blocks.first_key_value()?;
        block.slots(first).find(|s| s.flags & DELETED == 0).map(|s| s.id)
    }

    pub fn first_entry(&self) -> Option<(StreamId, Fields<'_>)> {
        self.range(StreamId::MIN, StreamId::MAX, false).next()
    }

    pub fn last_entry(&self) -> Option<(StreamId, Fields<'_>)> {
        self.range(StreamId::MIN, StreamId::MAX, true).next()
    }

    /// Live entries with IDs in `start..=end`, ascending, or descending when `rev`.
    pub fn range<'a>(
        &'a self,
        start: StreamId,
        end: StreamId,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (StreamId, Fields<'a>)> + 'a> {
        if start > end {
            return Box::new(std::iter::empty());
        }
        // The block holding `start` begins at or before it.
        let from = self.blocks.range(..=start).next_back().map(|(k, _)| *k).unwrap_or(start);
        let blocks = self.blocks.range(from..=end);
        let in_block = move |(first, block): (&'a StreamId, &'a Block)| live_entries(*first, block, start, end);
        if rev {
            Box::new(blocks.rev().flat_map(move |b| in_block(b).collect::<Vec<_>>().into_iter().rev()))
        } else {
            Box::new(blocks.flat_map(in_block))
        }
    }

    /// Whether a live entry has this ID.
    pub fn contains(&self, id: StreamId) -> bool {
        self.range(id, id, false).next().is_some()
    }

    /// Marks the entry `id` deleted (XDEL); false if there was none.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let found = self.remove_entry(id);
        if found && id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        found
    }

    /// Marks the entry `id` deleted without recording it as the largest deleted ID: trimming
    /// does not count as deletion for the consumer groups' lag, as in Redis.
    fn remove_entry(&mut self, id: StreamId) -> bool {
        let Some((&first, block)) = self.blocks.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(slot) = block.slots(first).find(|s| s.id == id && s.flags & DELETED == 0) else {
            return false;
        };
        block.data[slot.at] |= DELETED;
        block.live -= 1;
        if block.live == 0 {
            self.blocks.remove(&first);
        }
        self.length -= 1;
        true
    }

    /// Removes entries from the front as `trim` says. `approx` removes whole blocks only; `limit`
    /// caps the entries removed (0: none). Returns how many went.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        let over_limit = |removed: u64, more: u64| limit > 0 && removed + more > limit;
        // Whole blocks first.
        while let Some(first) = self.blocks.first_entry() {
            let block = first.get();
            let goes = match trim {
                Trim::MaxLen(max) => self.length - u64::from(block.live) >= max,
                Trim::MinId(min) => block.last < min,
            };
            if !goes || over_limit(removed, u64::from(block.live)) {
                break;
            }
            let live = u64::from(block.live);
            first.remove();
            self.length -= live;
            removed += live;
        }
        if approx {
            return removed;
        }
        // Then entries of the first remaining block, one at a time.
        let mut doomed = Vec::new();
        if let Some((&first, block)) = self.blocks.first_key_value() {
            let mut length = self.length;
            for s in block.slots(first).filter(|s| s.flags & DELETED == 0) {
                let goes = match trim {
                    Trim::MaxLen(max) => length > max,
                    Trim::MinId(min) => s.id < min,
                };
                if !goes || over_limit(removed + doomed.len() as u64, 1) {
                    break;
                }
                doomed.push(s.id);
                length -= 1;
            }
        }
        for id in doomed {
            self.remove_entry(id);
            removed += 1;
        }
        removed
    }

    /// Blocks and bytes, for XINFO STREAM's radix-tree figures.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Whether a deleted entry may lie at or after `start` (Redis's test: the largest deleted
    /// ID is at or after both `start` and the first live entry).
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id == StreamId::MIN {
            return false;
        }
        if self.first_id().is_some_and(|first| first > self.max_deleted_id) {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// The number of entries ever added up to and including `id`, where that can be known: at
    /// the last ID, before or at the first entry of a stream without deletions inside, or in a
    /// stream that never had an entry. None elsewhere.
    pub fn entries_read_at(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        let first = self.first_id().unwrap_or(StreamId::MIN);
        if self.max_deleted_id == StreamId::MIN || self.max_deleted_id < first {
            match id.cmp(&first) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.length + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// Entries a group positioned at `last` has yet to read; None when that cannot be known.
    /// Negative when a group was given an entries-read counter ahead of the stream, as Redis
    /// reports it.
    pub fn lag(&self, last: StreamId, entries_read: Option<u64>) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let lag = |read: u64| self.entries_added as i64 - read as i64;
        if let Some(read) = entries_read {
            if !self.has_tombstones_from(last) {
                return Some(lag(read));
            }
        }
        self.entries_read_at(last).map(lag)
    }
}

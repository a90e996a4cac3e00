//! The sorted set type in Redis's two encodings, ordered by (score, member bytes).
//!
//! A small sorted set is a "listpack": its elements packed in order in one exact-size heap
//! block, each a LEB128 length, the member bytes, then the score. Scores that are integers
//! (most leaderboards, timestamps) take a varint of one to eight bytes, other scores a marker
//! byte and the 8-byte double: a five-element set of small integer scores fits in 24 bytes.
//! Every operation walks the block, which is short and contiguous.
//!
//! Past `zset-max-listpack-entries` elements, or on adding a member longer than
//! `zset-max-listpack-value`, the set becomes a "skiplist" (see [`skiplist`]): O(log n) inserts,
//! removals, ranks and range starts. Like Redis, a set never converts back in place; results
//! stored by ZUNIONSTORE and friends are built in whichever form fits.

mod skiplist;

use std::borrow::Cow;
use std::cmp::Ordering;

pub use skiplist::cmp_entry;
use skiplist::SkipList;

use crate::limits::EncodingLimits;

/// Redis refuses to grow a listpack past 1 GB; a set that would converts instead.
const LISTPACK_MAX_BYTES: usize = 1 << 30;

/// When a listpack sorted set must become a skiplist.
#[derive(Clone, Copy, Debug)]
pub struct ZSetLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl ZSetLimits {
    pub fn from_config(limits: &EncodingLimits) -> ZSetLimits {
        let get = |slot| EncodingLimits::get(slot).max(0) as usize;
        ZSetLimits {
            max_entries: get(&limits.zset_max_listpack_entries),
            max_value: get(&limits.zset_max_listpack_value),
        }
    }
}

/// 24 bytes, the size of the allocation a key's `Box<ZSet>` makes.
#[derive(Clone, Debug)]
pub enum ZSet {
    Listpack(Lp),
    Skiplist(Box<SkipList>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Listpack(Lp::default())
    }
}

/// Bytes of listpack kept inside the `ZSet` itself.
const INLINE: usize = 22;

/// A listpack's bytes: inside the `ZSet` while they fit (a handful of short members, the
/// common case, then costs no allocation beyond the key's box), else an exact-size block.
#[derive(Clone, Debug)]
pub enum Lp {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Default for Lp {
    fn default() -> Self {
        Lp::Inline(0, [0; INLINE])
    }
}

impl std::ops::Deref for Lp {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Lp::Inline(n, b) => &b[..*n as usize],
            Lp::Heap(b) => b,
        }
    }
}

impl Lp {
    fn from_vec(v: Vec<u8>) -> Lp {
        if v.len() <= INLINE {
            let mut b = [0; INLINE];
            b[..v.len()].copy_from_slice(&v);
            Lp::Inline(v.len() as u8, b)
        } else {
            Lp::Heap(v.into_boxed_slice())
        }
    }

    fn heap_len(&self) -> usize {
        match self {
            Lp::Inline(..) => 0,
            Lp::Heap(b) => b.len(),
        }
    }
}

// ---- the listpack's element format ----

fn varint_len(n: u64) -> usize {
    let bits = u64::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn get_varint(buf: &[u8], mut pos: usize) -> (u64, usize) {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[pos];
        pos += 1;
        n |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return (n, pos);
        }
        shift += 7;
    }
}

/// Exact powers of ten, for decimal scores.
const POW10: [f64; 18] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17];
const EXACT: f64 = (1u64 << 53) as f64;

/// How a listpack stores a score, after a varint tag whose low bits say which:
/// `..0` an integer (zigzag, shifted once): scores that are integers of at most 2^53 in
/// magnitude; `.11` a decimal, the tag holding the zigzag mantissa `m` and one more byte `k`,
/// for scores that are exactly `m / 10^k` (3.5, 0.25, 99.99: what people type); `001` the
/// 8-byte double for anything else. -0 becomes 0, as it does in Redis's listpack (which stores
/// it as the integer 0); a skiplist keeps it.
#[derive(Clone, Copy)]
enum ScoreForm {
    Int(i64),
    Decimal(i64, u8),
    Raw,
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    (z >> 1) as i64 ^ -((z & 1) as i64)
}

fn score_form(s: f64) -> ScoreForm {
    if s.fract() == 0.0 && s.abs() <= EXACT {
        return ScoreForm::Int(s as i64);
    }
    if s.is_finite() {
        for (k, p) in POW10.iter().enumerate().skip(1) {
            let m = (s * p).round();
            if m.abs() < EXACT && m / p == s {
                return ScoreForm::Decimal(m as i64, k as u8);
            }
        }
    }
    ScoreForm::Raw
}

fn put_score(out: &mut Vec<u8>, s: f64) {
    match score_form(s) {
        ScoreForm::Int(i) => put_varint(out, zigzag(i) << 1),
        ScoreForm::Decimal(m, k) => {
            put_varint(out, (zigzag(m) << 2) | 3);
            out.push(k);
        }
        ScoreForm::Raw => {
            out.push(1);
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
}

fn entry_len(member: &[u8], s: f64) -> usize {
    let score = match score_form(s) {
        ScoreForm::Int(i) => varint_len(zigzag(i) << 1),
        ScoreForm::Decimal(m, _) => varint_len((zigzag(m) << 2) | 3) + 1,
        ScoreForm::Raw => 9,
    };
    varint_len(member.len() as u64) + member.len() + score
}

fn encode_entry(member: &[u8], s: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry_len(member, s));
    put_varint(&mut out, member.len() as u64);
    out.extend_from_slice(member);
    put_score(&mut out, s);
    out
}

/// A listpack's elements in order: (member, score, offset of the element, offset after it).
pub struct Entries<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a [u8], f64, usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let (len, at) = get_varint(self.buf, start);
        let member = &self.buf[at..at + len as usize];
        let (tag, mut end) = get_varint(self.buf, at + len as usize);
        let score = if tag & 1 == 0 {
            unzigzag(tag >> 1) as f64
        } else if tag & 2 != 0 {
            let k = self.buf[end] as usize;
            end += 1;
            unzigzag(tag >> 2) as f64 / POW10[k]
        } else {
            let bytes: [u8; 8] = self.buf[end..end + 8].try_into().expect("8 score bytes");
            end += 8;
            f64::from_le_bytes(bytes)
        };
        self.pos = end;
        Some((member, score, start, end))
    }
}

fn entries(buf: &[u8]) -> Entries<'_> {
    Entries { buf, pos: 0 }
}

/// Replaces `buf[range]` with `bytes`, keeping a heap block exactly sized.
fn splice(buf: &mut Lp, range: std::ops::Range<usize>, bytes: &[u8]) {
    let mut v = match std::mem::take(buf) {
        Lp::Heap(b) => b.into_vec(),
        inline => inline.to_vec(),
    };
    if bytes.len() > range.len() {
        v.reserve_exact(bytes.len() - range.len());
    }
    v.splice(range, bytes.iter().copied());
    *buf = Lp::from_vec(v);
}

/// All the elements of a set, in order, or of the listpack block.
pub enum Iter<'a> {
    Listpack(Entries<'a>),
    Skiplist(skiplist::Iter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (Cow<'a, [u8]>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Listpack(e) => e.next().map(|(m, s, _, _)| (Cow::Borrowed(m), s)),
            Iter::Skiplist(i) => i.next().map(|(m, s)| (Cow::Borrowed(m), s)),
        }
    }
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// An empty set in the form Redis picks for `n` elements about to be added one by one
    /// (ZRANGESTORE's destination): a listpack when `n` fits, else a skiplist from the start.
    pub fn for_size(n: usize, limits: &ZSetLimits) -> ZSet {
        if n <= limits.max_entries {
            ZSet::default()
        } else {
            ZSet::Skiplist(Box::new(SkipList::with_capacity(n)))
        }
    }

    /// A set holding `items` (distinct members), in the form Redis gives a stored result:
    /// a listpack when every limit allows one.
    pub fn from_entries(mut items: Vec<(Vec<u8>, f64)>, limits: &ZSetLimits) -> ZSet {
        let total: usize = items.iter().map(|(m, s)| entry_len(m, *s)).sum();
        let fits = items.len() <= limits.max_entries
            && items.iter().all(|(m, _)| m.len() <= limits.max_value)
            && total <= LISTPACK_MAX_BYTES;
        if fits {
            items.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
            let mut v = Vec::with_capacity(total);
            for (m, s) in &items {
                put_varint(&mut v, m.len() as u64);
                v.extend_from_slice(m);
                put_score(&mut v, *s);
            }
            ZSet::Listpack(Lp::from_vec(v))
        } else {
            let mut list = SkipList::with_capacity(items.len());
            for (m, s) in &items {
                list.insert(m, *s);
            }
            ZSet::Skiplist(Box::new(list))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(buf) => entries(buf).count(),
            ZSet::Skiplist(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            ZSet::Listpack(buf) => buf.is_empty(),
            ZSet::Skiplist(l) => l.is_empty(),
        }
    }

    /// OBJECT ENCODING's name.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Listpack(_) => "listpack",
            ZSet::Skiplist(_) => "skiplist",
        }
    }

    /// Heap bytes owned beyond the `ZSet` itself.
    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Listpack(buf) => buf.heap_len(),
            ZSet::Skiplist(l) => std::mem::size_of::<SkipList>() + l.heap_size(),
        }
    }

    /// (member, score) pairs in score order.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            ZSet::Listpack(buf) => Iter::Listpack(entries(buf)),
            ZSet::Skiplist(l) => Iter::Skiplist(l.iter_from(0, false)),
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(buf) => entries(buf).find(|e| e.0 == member).map(|e| e.1),
            ZSet::Skiplist(l) => l.score(member),
        }
    }

    /// Turns a listpack into a skiplist (a no-op on a skiplist).
    pub fn convert(&mut self) {
        if let ZSet::Listpack(buf) = self {
            let mut list = SkipList::with_capacity(entries(buf).count());
            for (m, s, _, _) in entries(buf) {
                list.insert(m, s);
            }
            *self = ZSet::Skiplist(Box::new(list));
        }
    }

    /// Sets `member`'s score; true if the member is new. A new member converts a listpack
    /// first when the set would outgrow `limits`, as Redis's zsetAdd does.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &ZSetLimits) -> bool {
        let ZSet::Listpack(buf) = self else {
            let ZSet::Skiplist(l) = self else { unreachable!() };
            return l.insert(member, score);
        };
        let mut count = 0;
        let mut found = None;
        for (m, s, start, end) in entries(buf) {
            if m == member {
                found = Some((s, start, end));
                break;
            }
            count += 1;
        }
        match found {
            Some((old, _, _)) if old == score => return false,
            Some((_, start, end)) => splice(buf, start..end, &[]),
            None => {
                let too_big = buf.len() + entry_len(member, score) > LISTPACK_MAX_BYTES;
                if count + 1 > limits.max_entries || member.len() > limits.max_value || too_big {
                    self.convert();
                    return self.insert(member, score, limits);
                }
            }
        }
        let at = entries(buf)
            .find(|&(m, s, _, _)| cmp_entry(s, m, score, member) == Ordering::Greater)
            .map_or(buf.len(), |e| e.2);
        splice(buf, at..at, &encode_entry(member, score));
        found.is_none()
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Listpack(buf) => match entries(buf).find(|e| e.0 == member) {
                Some((_, _, start, end)) => {
                    splice(buf, start..end, &[]);
                    true
                }
                None => false,
            },
            ZSet::Skiplist(l) => l.remove(member).is_some(),
        }
    }

    /// `member`'s 0-based rank in ascending order, and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Listpack(buf) => entries(buf).enumerate().find(|(_, e)| e.0 == member).map(|(i, e)| (i, e.1)),
            ZSet::Skiplist(l) => l.rank(member),
        }
    }

    /// How many elements come first while `before(score, member)` holds. `before` must hold
    /// for a prefix of the order (e.g. "score below 5") and not after it.
    pub fn count_while(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Listpack(buf) => entries(buf).take_while(|e| before(e.1, e.0)).count(),
            ZSet::Skiplist(l) => l.count_while(before),
        }
    }

    /// The elements of ranks `start..end` (clamped to the set), ascending, or descending from
    /// `end - 1` when `rev`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> Vec<(&[u8], f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        match self {
            ZSet::Listpack(buf) => {
                let mut v: Vec<(&[u8], f64)> = entries(buf).skip(start).take(end - start).map(|e| (e.0, e.1)).collect();
                if rev {
                    v.reverse();
                }
                v
            }
            ZSet::Skiplist(l) => l.iter_from(if rev { end - 1 } else { start }, rev).take(end - start).collect(),
        }
    }

    /// Removes the elements of ranks `start..end`; how many went.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match self {
            ZSet::Listpack(buf) => {
                let mut it = entries(buf).skip(start);
                let from = it.next().map_or(buf.len(), |e| e.2);
                let to = entries(buf).nth(end - 1).map_or(buf.len(), |e| e.3);
                splice(buf, from..to, &[]);
            }
            ZSet::Skiplist(l) => {
                let doomed: Vec<Vec<u8>> = l.iter_from(start, false).take(end - start).map(|e| e.0.to_vec()).collect();
                for m in doomed {
                    l.remove(&m);
                }
            }
        }
        end - start
    }

    /// The element at position `i` of the set's own layout (rank order for a listpack, map
    /// order for a skiplist): O(1) uniform picks on big sets.
    pub fn get_index(&self, i: usize) -> (Cow<'_, [u8]>, f64) {
        match self {
            ZSet::Listpack(buf) => {
                let e = entries(buf).nth(i).expect("position below length");
                (Cow::Borrowed(e.0), e.1)
            }
            ZSet::Skiplist(l) => {
                let (m, s) = l.get_index(i);
                (Cow::Borrowed(m), s)
            }
        }
    }

    /// ZSCAN: a listpack answers whole (cursor 0, as Redis's does); a skiplist walks its map
    /// positions downward from the cursor, so an element present throughout is always seen
    /// (a removal only moves the last element into a position already visited).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Listpack(buf) => {
                for (m, s, _, _) in entries(buf) {
                    visit(m, s);
                }
                0
            }
            ZSet::Skiplist(l) => {
                let mut pos = if cursor == 0 { l.len() } else { cursor.min(l.len() as u64) as usize };
                let mut seen = 0;
                while pos > 0 && seen < count {
                    pos -= 1;
                    let (m, s) = l.get_index(pos);
                    visit(m, s);
                    seen += 1;
                }
                pos as u64
            }
        }
    }
}

#[cfg(test)]
mod tests;

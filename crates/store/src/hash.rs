//! The hash type in Redis's two encodings.
//!
//! A small hash is a "listpack": every field and value packed one after the other in a single
//! exact-size heap block, each prefixed by its length as a LEB128 varint (one byte up to 127
//! bytes). Small hashes are most hashes, and users pick this form for its memory: one block of
//! payload plus a byte per string, no per-entry pointers or hash index. Lookups walk the block,
//! which is cheap because it is short and contiguous.
//!
//! Past `hash-max-listpack-entries` pairs, or with a field or value longer than
//! `hash-max-listpack-value`, the hash becomes a "hashtable": an insertion-ordered map whose
//! deletions move the last pair into the hole (like the keyspace's `Table`), which gives O(1)
//! random sampling for HRANDFIELD and stable positional cursors for HSCAN. Fields and values use
//! the keyspace's own compact string forms (22 bytes inline, canonical integers as `i64`). Like
//! Redis, a hash never converts back.

use std::borrow::Cow;

use foldhash::fast::RandomState;
use indexmap::IndexMap;

use crate::limits::EncodingLimits;
use crate::value::{Key, StrValue};

/// Redis refuses to grow a listpack past 1 GB; a hash that would converts instead.
const LISTPACK_MAX_BYTES: usize = 1 << 30;

type Map = IndexMap<Key, StrValue, RandomState>;

/// When a listpack hash must become a hashtable.
#[derive(Clone, Copy, Debug)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl HashLimits {
    pub fn from_config(limits: &EncodingLimits) -> HashLimits {
        let get = |slot| EncodingLimits::get(slot).max(0) as usize;
        HashLimits {
            max_entries: get(&limits.hash_max_listpack_entries),
            max_value: get(&limits.hash_max_listpack_value),
        }
    }
}

/// 16 bytes: the listpack keeps no pair count of its own, because every write walks the whole
/// block anyway (to find the field) and counts on the way, and HLEN walking at most
/// `hash-max-listpack-entries` short strings is cheap. Small enough to sit inline in a value.
#[derive(Clone, Debug)]
pub enum Hash {
    /// Pairs packed as `len field len value ...`.
    Listpack(Box<[u8]>),
    Table(Box<Map>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Listpack(Box::default())
    }
}

fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

fn encoded_len(s: &[u8]) -> usize {
    varint_len(s.len()) + s.len()
}

/// Writes `s` with its length prefix at the start of `dst`, which has room for exactly that.
fn encode_into(dst: &mut [u8], s: &[u8]) {
    let mut n = s.len();
    let mut i = 0;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            dst[i] = byte;
            break;
        }
        dst[i] = byte | 0x80;
        i += 1;
    }
    dst[i + 1..i + 1 + s.len()].copy_from_slice(s);
}

/// The string starting at `pos` and the position after it.
fn decode_at(buf: &[u8], mut pos: usize) -> (&[u8], usize) {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[pos];
        pos += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (&buf[pos..pos + n], pos + n)
}

/// Walks a listpack's pairs: (field, value, offset of the field, offset after the value).
struct Pairs<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8], usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let (field, at) = decode_at(self.buf, start);
        let (value, end) = decode_at(self.buf, at);
        self.pos = end;
        Some((field, value, start, end))
    }
}

fn pairs(buf: &[u8]) -> Pairs<'_> {
    Pairs { buf, pos: 0 }
}

/// Replaces `buf[range]` with `new_len` bytes written by `fill`, keeping the block exactly
/// sized. Same-size replacements happen in place, without touching the allocator.
fn splice(buf: &mut Box<[u8]>, range: std::ops::Range<usize>, new_len: usize, fill: impl FnOnce(&mut [u8])) {
    let at = range.start;
    if range.len() == new_len {
        fill(&mut buf[range]);
        return;
    }
    let old_total = buf.len();
    let new_total = old_total - range.len() + new_len;
    let mut v = std::mem::take(buf).into_vec();
    if new_total > old_total {
        // `reserve_exact` then `resize` grows by realloc, which can often extend in place.
        v.reserve_exact(new_total - old_total);
        v.resize(new_total, 0);
        v.copy_within(range.end..old_total, at + new_len);
    } else {
        v.copy_within(range.end..old_total, at + new_len);
        v.truncate(new_total);
    }
    fill(&mut v[at..at + new_len]);
    *buf = v.into_boxed_slice();
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(buf) => pairs(buf).count(),
            Hash::Table(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Hash::Listpack(buf) => buf.is_empty(),
            Hash::Table(m) => m.is_empty(),
        }
    }

    /// OBJECT ENCODING's name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// Heap bytes owned beyond the `Hash` itself.
    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Listpack(buf) => buf.len(),
            Hash::Table(m) => {
                // Each slot holds the cached hash, the field and the value; the index keeps a
                // usize and a control byte per bucket, at most 7/8 full.
                const SLOT: usize = std::mem::size_of::<(u64, Key, StrValue)>();
                const INDEX: usize = (std::mem::size_of::<usize>() + 1) * 8 / 7;
                let strings: usize = m.iter().map(|(k, v)| k.heap_size() + v.heap_size()).sum();
                std::mem::size_of::<Map>() + m.capacity() * (SLOT + INDEX) + strings
            }
        }
    }

    /// The value of `field`; an integer-encoded one is formatted into `scratch`.
    pub fn get<'a>(&'a self, field: &[u8], scratch: &'a mut [u8; 20]) -> Option<&'a [u8]> {
        match self {
            Hash::Listpack(buf) => pairs(buf).find(|p| p.0 == field).map(|p| p.1),
            Hash::Table(m) => m.get(field).map(|v| v.bytes(scratch)),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(buf) => pairs(buf).any(|p| p.0 == field),
            Hash::Table(m) => m.contains_key(field),
        }
    }

    /// Sets `field` to `value`; true if the field is new. Converts to a hashtable first when the
    /// pair is too long for a listpack, and after when the hash has too many pairs.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &HashLimits) -> bool {
        if let Hash::Listpack(buf) = self {
            let too_long = field.len() > limits.max_value || value.len() > limits.max_value;
            if too_long || buf.len() + encoded_len(field) + encoded_len(value) > LISTPACK_MAX_BYTES {
                self.convert();
            }
        }
        match self {
            Hash::Listpack(buf) => {
                let mut count = 0;
                let found = pairs(buf).find(|p| {
                    let hit = p.0 == field;
                    count += usize::from(!hit);
                    hit
                });
                if let Some((_, old, _, end)) = found {
                    splice(buf, end - encoded_len(old)..end, encoded_len(value), |dst| encode_into(dst, value));
                    return false;
                }
                let old_len = buf.len();
                let (fl, vl) = (encoded_len(field), encoded_len(value));
                let mut v = std::mem::take(buf).into_vec();
                v.reserve_exact(fl + vl);
                v.resize(old_len + fl + vl, 0);
                encode_into(&mut v[old_len..old_len + fl], field);
                encode_into(&mut v[old_len + fl..], value);
                *buf = v.into_boxed_slice();
                if count + 1 > limits.max_entries {
                    self.convert();
                }
                true
            }
            Hash::Table(m) => match m.get_mut(field) {
                Some(v) => {
                    *v = StrValue::from_bytes(value);
                    false
                }
                None => {
                    m.insert(Key::new(field), StrValue::from_bytes(value));
                    true
                }
            },
        }
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(buf) => match pairs(buf).find(|p| p.0 == field) {
                Some((_, _, start, end)) => {
                    splice(buf, start..end, 0, |_| {});
                    true
                }
                None => false,
            },
            Hash::Table(m) => m.swap_remove(field).is_some(),
        }
    }

    /// Turns a listpack into a hashtable (a no-op for a hashtable).
    pub fn convert(&mut self) {
        if let Hash::Listpack(buf) = self {
            let mut m = Map::with_capacity_and_hasher(pairs(buf).count(), RandomState::default());
            for (f, v, _, _) in pairs(buf) {
                m.insert(Key::new(f), StrValue::from_bytes(v));
            }
            *self = Hash::Table(Box::new(m));
        }
    }

    /// Calls `visit` with every (field, value) pair, without allocating.
    pub fn for_each(&self, mut visit: impl FnMut(&[u8], &[u8])) {
        match self {
            Hash::Listpack(buf) => pairs(buf).for_each(|(f, v, _, _)| visit(f, v)),
            Hash::Table(m) => {
                let mut scratch = [0u8; 20];
                for (k, v) in m.iter() {
                    visit(k.as_bytes(), v.bytes(&mut scratch));
                }
            }
        }
    }

    /// (field, value) pairs, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, [u8]>, Cow<'_, [u8]>)> + '_ {
        let (lp, table) = match self {
            Hash::Listpack(buf) => (Some(pairs(buf)), None),
            Hash::Table(m) => (None, Some(m.iter())),
        };
        let lp = lp.into_iter().flatten().map(|(f, v, _, _)| (Cow::Borrowed(f), Cow::Borrowed(v)));
        let table = table.into_iter().flatten().map(|(k, v)| (Cow::Borrowed(k.as_bytes()), str_cow(v)));
        lp.chain(table)
    }

    /// Random access to the pairs by position (HRANDFIELD): O(1) per pair for a hashtable; a
    /// listpack's offsets are gathered once, so each sample costs O(1) after that.
    pub fn sampler(&self) -> Sampler<'_> {
        match self {
            Hash::Listpack(buf) => Sampler::Listpack(pairs(buf).map(|(f, v, _, _)| (f, v)).collect()),
            Hash::Table(m) => Sampler::Table(m),
        }
    }

    /// HSCAN: visits pairs from `cursor` on and returns the cursor to continue from (0 = done).
    /// A listpack is returned whole in one call, as Redis does. A hashtable walks positions
    /// downwards from the end, like the keyspace's SCAN, about `count` pairs per call: a
    /// deletion only moves the last pair, which is either already visited or still ahead, so a
    /// pair present for the whole scan is always returned.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            Hash::Listpack(_) => {
                self.for_each(visit);
                0
            }
            Hash::Table(m) => {
                let mut pos = if cursor == 0 { m.len() } else { (cursor.min(m.len() as u64)) as usize };
                let mut scratch = [0u8; 20];
                let mut seen = 0;
                while pos > 0 && seen < count {
                    pos -= 1;
                    let (k, v) = m.get_index(pos).expect("position below length");
                    visit(k.as_bytes(), v.bytes(&mut scratch));
                    seen += 1;
                }
                pos as u64
            }
        }
    }
}

fn str_cow(v: &StrValue) -> Cow<'_, [u8]> {
    match v {
        StrValue::Int(_) => Cow::Owned(v.to_vec()),
        StrValue::Inline { len, bytes } => Cow::Borrowed(&bytes[..*len as usize]),
        StrValue::Boxed(b) => Cow::Borrowed(b),
        StrValue::Raw(r) => Cow::Borrowed(r.as_slice()),
    }
}

/// Positional access to a hash's pairs; see [`Hash::sampler`].
pub enum Sampler<'a> {
    Listpack(Vec<(&'a [u8], &'a [u8])>),
    Table(&'a Map),
}

impl Sampler<'_> {
    /// The pair at position `i` (below the hash's length) given to `f`.
    pub fn with<R>(&self, i: usize, f: impl FnOnce(&[u8], &[u8]) -> R) -> R {
        match self {
            Sampler::Listpack(v) => f(v[i].0, v[i].1),
            Sampler::Table(m) => {
                let (k, v) = m.get_index(i).expect("position below length");
                let mut scratch = [0u8; 20];
                f(k.as_bytes(), v.bytes(&mut scratch))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const BIG: HashLimits = HashLimits { max_entries: usize::MAX, max_value: usize::MAX };

    fn contents(h: &Hash) -> BTreeMap<Vec<u8>, Vec<u8>> {
        h.iter().map(|(f, v)| (f.into_owned(), v.into_owned())).collect()
    }

    /// xorshift64: deterministic, so a failing run replays.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn random_bytes(r: &mut Rng) -> Vec<u8> {
        match r.below(6) {
            0 => r.below(50).to_string().into_bytes(),
            1 => format!("-{}", r.below(1000)).into_bytes(),
            2 => Vec::new(),
            3 => vec![b'x'; r.below(300) as usize],
            4 => "0123".into(),
            _ => format!("f{}", r.below(40)).into_bytes(),
        }
    }

    #[test]
    fn stays_small() {
        assert_eq!(std::mem::size_of::<Hash>(), 16);
    }

    #[test]
    fn varints_round_trip() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 1 << 21, 5_000_000] {
            let s = vec![7u8; n];
            let mut buf = vec![0u8; encoded_len(&s)];
            encode_into(&mut buf, &s);
            let (back, end) = decode_at(&buf, 0);
            assert_eq!((back.len(), end), (n, buf.len()));
        }
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
    }

    #[test]
    fn encodings_agree_on_random_operations() {
        for seed in 1..=30u64 {
            let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut lp = Hash::new();
            let mut ht = Hash::new();
            ht.convert();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for step in 0..2000 {
                let field = random_bytes(&mut r);
                match r.below(4) {
                    0 | 1 => {
                        let value = random_bytes(&mut r);
                        let new = model.insert(field.clone(), value.clone()).is_none();
                        assert_eq!(lp.set(&field, &value, &BIG), new, "seed {seed} step {step}");
                        assert_eq!(ht.set(&field, &value, &BIG), new, "seed {seed} step {step}");
                    }
                    2 => {
                        let had = model.remove(&field).is_some();
                        assert_eq!(lp.remove(&field), had);
                        assert_eq!(ht.remove(&field), had);
                    }
                    _ => {
                        let want = model.get(&field).map(Vec::as_slice);
                        let (mut s1, mut s2) = ([0u8; 20], [0u8; 20]);
                        assert_eq!(lp.get(&field, &mut s1), want);
                        assert_eq!(ht.get(&field, &mut s2), want);
                        assert_eq!(lp.contains(&field), want.is_some());
                        assert_eq!(ht.contains(&field), want.is_some());
                    }
                }
                assert_eq!(lp.len(), model.len());
                assert_eq!(ht.len(), model.len());
            }
            assert_eq!(lp.encoding(), "listpack");
            assert_eq!(ht.encoding(), "hashtable");
            assert_eq!(contents(&lp), model);
            assert_eq!(contents(&ht), model);
        }
    }

    #[test]
    fn converts_past_the_entry_limit_and_never_back() {
        let limits = HashLimits { max_entries: 3, max_value: 64 };
        let mut h = Hash::new();
        for i in 0..3 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", &limits));
        }
        assert_eq!(h.encoding(), "listpack");
        // Updating an existing field does not count as growth.
        assert!(!h.set(b"f0", b"w", &limits));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.set(b"f3", b"v", &limits));
        assert_eq!(h.encoding(), "hashtable");
        for i in 0..4 {
            h.remove(format!("f{i}").as_bytes());
        }
        assert!(h.is_empty());
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn converts_on_a_long_field_or_value() {
        let limits = HashLimits { max_entries: 128, max_value: 64 };
        let mut h = Hash::new();
        h.set(&[b'a'; 64], &[b'b'; 64], &limits);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f", &[b'b'; 65], &limits);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        h.set(&[b'a'; 65], b"v", &limits);
        assert_eq!(h.encoding(), "hashtable");
        let mut s = [0u8; 20];
        assert_eq!(h.get(&[b'a'; 65], &mut s), Some(&b"v"[..]));
    }

    #[test]
    fn updates_in_the_middle_keep_neighbours() {
        let mut h = Hash::new();
        for (f, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
            h.set(f.as_bytes(), v.as_bytes(), &BIG);
        }
        h.set(b"b", &[b'z'; 200], &BIG);
        h.set(b"a", b"", &BIG);
        let mut s = [0u8; 20];
        assert_eq!(h.get(b"b", &mut s).map(<[u8]>::len), Some(200));
        assert_eq!(h.get(b"c", &mut s), Some(&b"3"[..]));
        assert_eq!(h.get(b"a", &mut s), Some(&b""[..]));
        assert!(h.remove(b"b"));
        assert_eq!(contents(&h).len(), 2);
        assert_eq!(h.heap_size(), 2 + 1 + 2 + 2);
    }

    #[test]
    fn hashtable_scan_survives_deletions() {
        let mut h = Hash::new();
        h.convert();
        for i in 0..100 {
            h.set(format!("f{i}").as_bytes(), b"v", &BIG);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = h.scan(cursor, 7, |f, _| {
                seen.insert(f.to_vec());
            });
            for i in (round * 10..round * 10 + 10).filter(|i| i % 2 == 1) {
                h.remove(format!("f{i}").as_bytes());
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..100).filter(|i| i % 2 == 0) {
            assert!(seen.contains(format!("f{i}").as_bytes()), "missed f{i}");
        }
    }

    #[test]
    fn listpack_scan_and_sampler_see_everything() {
        let mut h = Hash::new();
        for i in 0..5 {
            h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), &BIG);
        }
        let mut n = 0;
        assert_eq!(h.scan(12345, 1, |_, _| n += 1), 0);
        assert_eq!(n, 5);
        for h in [h.clone(), {
            let mut t = h.clone();
            t.convert();
            t
        }] {
            let s = h.sampler();
            let mut all: Vec<Vec<u8>> = (0..h.len()).map(|i| s.with(i, |f, v| [f, v].concat())).collect();
            all.sort();
            assert_eq!(all[0], b"f00");
            assert_eq!(all.len(), 5);
        }
    }
}

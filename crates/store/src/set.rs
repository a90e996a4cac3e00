//! The set type in three encodings, converting one way only (as Redis 7.0 does):
//!
//! - `Ints`: sorted integers packed at 16, 32 or 64 bits each, widened for the whole set when a
//!   member needs it (Redis's intset). Reported as `intset`.
//! - `Packed`: small sets of short strings in one buffer of length-prefixed members, searched
//!   linearly. Redis 7.0 has no compact form for string sets (7.2 added listpack), so this one
//!   reports `hashtable`, which is what 7.0 says for the same set: the saving is ours, the
//!   observable encoding stays 7.0's. Its bounds are `set-max-listpack-entries/value`'s defaults.
//! - `Table`: an insertion-ordered hash set whose deletions move the last member into the hole,
//!   giving O(1) random picks (SPOP, SRANDMEMBER) and a positional SSCAN cursor. `hashtable`.

use std::borrow::Cow;

use foldhash::fast::RandomState;
use indexmap::IndexSet;

use crate::limits::EncodingLimits;
use crate::value::{canonical_int, Key};

/// The thresholds a set checks when it grows, read once per command from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct SetLimits {
    pub intset_entries: usize,
    pub packed_entries: usize,
    pub packed_value: usize,
}

impl SetLimits {
    pub fn from_config(l: &EncodingLimits) -> SetLimits {
        let get = |slot| EncodingLimits::get(slot).max(0) as usize;
        SetLimits {
            intset_entries: get(&l.set_max_intset_entries),
            packed_entries: get(&l.set_max_listpack_entries),
            packed_value: get(&l.set_max_listpack_value),
        }
    }
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits::from_config(&EncodingLimits::default())
    }
}

fn int_bytes(v: i64) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Changes a boxed buffer through a Vec, leaving it exactly as long as its contents: a boxed
/// slice is 8 bytes smaller than a Vec and carries no spare capacity, and small sets change
/// one member at a time anyway.
fn edit(buf: &mut Box<[u8]>, extra: usize, f: impl FnOnce(&mut Vec<u8>)) {
    let mut v = std::mem::take(buf).into_vec();
    v.reserve_exact(extra);
    f(&mut v);
    *buf = v.into_boxed_slice();
}

/// Bytes per intset member. An enum rather than a u8 so that its unused values can tag `Set`
/// and keep it at 24 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Width {
    W16 = 2,
    W32 = 4,
    W64 = 8,
}

/// Sorted integers, little-endian, `width` bytes each.
#[derive(Clone, Debug)]
pub struct IntSet {
    width: Width,
    data: Box<[u8]>,
}

impl IntSet {
    fn new() -> IntSet {
        IntSet { width: Width::W16, data: Box::default() }
    }

    fn width_for(v: i64) -> Width {
        if i16::try_from(v).is_ok() {
            Width::W16
        } else if i32::try_from(v).is_ok() {
            Width::W32
        } else {
            Width::W64
        }
    }

    fn len(&self) -> usize {
        self.data.len() / (self.width as usize)
    }

    fn get(&self, i: usize) -> i64 {
        let w = self.width as usize;
        let b = &self.data[i * w..(i + 1) * w];
        match w {
            2 => i16::from_le_bytes([b[0], b[1]]) as i64,
            4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
    }

    fn put(&mut self, i: usize, v: i64) {
        let w = self.width as usize;
        self.data[i * w..(i + 1) * w].copy_from_slice(&v.to_le_bytes()[..w]);
    }

    /// Ok(position) if present, Err(insertion point) if not.
    fn search(&self, v: i64) -> Result<usize, usize> {
        if Self::width_for(v) > self.width {
            // Outside the current width: beyond every member, at one end or the other.
            return Err(if v < 0 { 0 } else { self.len() });
        }
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Equal => return Ok(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Err(lo)
    }

    fn widen(&mut self, width: Width) {
        let n = self.len();
        let old = std::mem::replace(self, IntSet { width, data: vec![0; n * (width as usize)].into_boxed_slice() });
        for i in 0..n {
            self.put(i, old.get(i));
        }
    }

    fn insert(&mut self, v: i64) -> bool {
        let Err(at) = self.search(v) else { return false };
        let need = Self::width_for(v);
        if need > self.width {
            self.widen(need);
        }
        let w = self.width as usize;
        // Grow by exactly one member: small sets stay exact, which is what they are for.
        edit(&mut self.data, w, |v| {
            v.splice(at * w..at * w, std::iter::repeat_n(0, w));
        });
        self.put(at, v);
        true
    }

    fn remove_at(&mut self, i: usize) -> i64 {
        let v = self.get(i);
        let w = self.width as usize;
        edit(&mut self.data, 0, |d| {
            d.drain(i * w..(i + 1) * w);
        });
        v
    }

    fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Length of the longest member's decimal form: the smallest's or the largest's.
    fn longest(&self) -> usize {
        match self.len() {
            0 => 0,
            n => int_bytes(self.get(0)).len().max(int_bytes(self.get(n - 1)).len()),
        }
    }
}

/// Members back to back, each preceded by its length as a LEB128 varint.
#[derive(Clone, Debug, Default)]
pub struct Packed {
    // No member count: it would cost `Set` 8 bytes, and counting at most a few hundred
    // length prefixes is cheap.
    data: Box<[u8]>,
}

struct PackedIter<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    /// (offset of the length prefix, member)
    type Item = (usize, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let b = self.data[self.pos];
            self.pos += 1;
            len |= ((b & 0x7f) as usize) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let m = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Some((start, m))
    }
}

impl Packed {
    fn iter(&self) -> PackedIter<'_> {
        PackedIter { data: &self.data, pos: 0 }
    }

    fn find(&self, m: &[u8]) -> Option<usize> {
        self.iter().find(|(_, x)| *x == m).map(|(at, _)| at)
    }

    fn push(&mut self, m: &[u8]) {
        edit(&mut self.data, m.len() + 2, |v| Packed::encode(v, m));
    }

    fn encode(v: &mut Vec<u8>, m: &[u8]) {
        let mut prefix = [0u8; 10];
        let (mut n, mut len) = (0, m.len());
        loop {
            prefix[n] = (len & 0x7f) as u8 | if len >= 0x80 { 0x80 } else { 0 };
            n += 1;
            len >>= 7;
            if len == 0 {
                break;
            }
        }
        v.extend_from_slice(&prefix[..n]);
        v.extend_from_slice(m);
    }

    /// Removes the member whose prefix starts at `at`.
    fn remove_at(&mut self, at: usize) -> Vec<u8> {
        let mut it = PackedIter { data: &self.data, pos: at };
        let m = it.next().expect("member at offset").1.to_vec();
        let end = it.pos;
        edit(&mut self.data, 0, |d| {
            d.drain(at..end);
        });
        m
    }
}

type HashSet = IndexSet<Key, RandomState>;

#[derive(Clone, Debug)]
pub enum Set {
    Ints(IntSet),
    Packed(Packed),
    Table(Box<HashSet>),
}

impl Default for Set {
    fn default() -> Self {
        Set::new()
    }
}

impl Set {
    /// An empty set; it starts as an intset, as Redis's does for a first integer member, and
    /// leaves that form as soon as a string arrives.
    pub fn new() -> Set {
        Set::Ints(IntSet::new())
    }

    /// An intset's member width in bytes (2, 4 or 8) and its members' bytes (ascending,
    /// little-endian): exactly the body of Redis's intset blob. None for other encodings.
    pub fn intset_parts(&self) -> Option<(u8, &[u8])> {
        match self {
            Set::Ints(s) => Some((s.width as u8, &s.data)),
            _ => None,
        }
    }

    /// A set from an intset blob's body: `data` holds members of `width` bytes, strictly
    /// ascending (the caller checked). None for a width Redis does not use.
    pub fn from_intset(width: u8, data: &[u8]) -> Option<Set> {
        let width = match width {
            2 => Width::W16,
            4 => Width::W32,
            8 => Width::W64,
            _ => return None,
        };
        if !data.len().is_multiple_of(width as usize) {
            return None;
        }
        Some(Set::Ints(IntSet { width, data: data.into() }))
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(s) => s.len(),
            Set::Packed(p) => p.iter().count(),
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING's answer, as Redis 7.0 names it (see the module comment for `Packed`).
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Packed(_) | Set::Table(_) => "hashtable",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(s) => s.data.len(),
            Set::Packed(p) => p.data.len(),
            Set::Table(t) => {
                // Entries (hash + key) plus the index: a usize and a control byte per bucket.
                let buckets = (t.capacity() * 8 / 7).next_power_of_two();
                std::mem::size_of::<HashSet>()
                    + t.capacity() * (8 + std::mem::size_of::<Key>())
                    + buckets * (std::mem::size_of::<usize>() + 1)
                    + t.iter().map(Key::heap_size).sum::<usize>()
            }
        }
    }

    /// Members, in no particular order (intsets ascending).
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> + '_ {
        let (ints, packed, table) = match self {
            Set::Ints(s) => (Some(s.iter().map(|v| Cow::Owned(int_bytes(v)))), None, None),
            Set::Packed(p) => (None, Some(p.iter().map(|(_, m)| Cow::Borrowed(m))), None),
            Set::Table(t) => (None, None, Some(t.iter().map(|k| Cow::Borrowed(k.as_bytes())))),
        };
        ints.into_iter().flatten().chain(packed.into_iter().flatten()).chain(table.into_iter().flatten())
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(s) => canonical_int(m).is_some_and(|v| s.search(v).is_ok()),
            Set::Packed(p) => p.find(m).is_some(),
            Set::Table(t) => t.contains(m),
        }
    }

    /// Adds `m`; false if it was already there. Converts when a threshold is passed.
    pub fn add(&mut self, m: &[u8], limits: &SetLimits) -> bool {
        match self {
            Set::Ints(s) => {
                if let Some(v) = canonical_int(m) {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > limits.intset_entries {
                        let packed = s_len_fits(s.len(), s.longest(), limits);
                        self.convert(packed);
                    }
                    return true;
                }
                let packed = s_len_fits(s.len() + 1, m.len().max(s.longest()), limits);
                self.convert(packed);
                self.add(m, limits)
            }
            Set::Packed(p) => {
                if p.find(m).is_some() {
                    return false;
                }
                if p.iter().count() >= limits.packed_entries || m.len() > limits.packed_value {
                    self.convert(false);
                    return self.add(m, limits);
                }
                p.push(m);
                true
            }
            Set::Table(t) => {
                if t.contains(m) {
                    return false;
                }
                t.insert(Key::new(m));
                true
            }
        }
    }

    /// Moves every member into `Packed` (if `packed`) or `Table`.
    fn convert(&mut self, packed: bool) {
        let members: Vec<Vec<u8>> = self.iter().map(Cow::into_owned).collect();
        *self = if packed {
            let mut data = Vec::with_capacity(members.iter().map(|m| m.len() + 2).sum());
            for m in &members {
                Packed::encode(&mut data, m);
            }
            Set::Packed(Packed { data: data.into_boxed_slice() })
        } else {
            let mut t = HashSet::with_capacity_and_hasher(members.len(), RandomState::default());
            t.extend(members.iter().map(|m| Key::new(m)));
            Set::Table(Box::new(t))
        };
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(s) => match canonical_int(m).map(|v| s.search(v)) {
                Some(Ok(i)) => {
                    s.remove_at(i);
                    true
                }
                _ => false,
            },
            Set::Packed(p) => match p.find(m) {
                Some(at) => {
                    p.remove_at(at);
                    true
                }
                None => false,
            },
            Set::Table(t) => t.swap_remove(m),
        }
    }

    /// The member at position `i` (< len): O(1) except for `Packed`, which walks.
    pub fn get_index(&self, i: usize) -> Cow<'_, [u8]> {
        match self {
            Set::Ints(s) => Cow::Owned(int_bytes(s.get(i))),
            Set::Packed(p) => Cow::Borrowed(p.iter().nth(i).expect("index below len").1),
            Set::Table(t) => Cow::Borrowed(t.get_index(i).expect("index below len").as_bytes()),
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self, rng: &mut impl FnMut() -> u64) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let i = (rng() % self.len() as u64) as usize;
        Some(match self {
            Set::Ints(s) => int_bytes(s.remove_at(i)),
            Set::Packed(p) => {
                let at = p.iter().nth(i).expect("index below len").0;
                p.remove_at(at)
            }
            Set::Table(t) => t.swap_remove_index(i).expect("index below len").as_bytes().to_vec(),
        })
    }

    /// `count` random members: distinct ones (at most all of them), or with repetition.
    pub fn random_members(&self, count: usize, distinct: bool, rng: &mut impl FnMut() -> u64) -> Vec<Cow<'_, [u8]>> {
        let n = self.len();
        if n == 0 {
            return Vec::new();
        }
        // Positional access is a walk for `Packed`: list its members once instead.
        let listed: Vec<Cow<'_, [u8]>> = match self {
            Set::Packed(_) => self.iter().collect(),
            _ => Vec::new(),
        };
        let at = |i: usize| if listed.is_empty() { self.get_index(i) } else { listed[i].clone() };
        if !distinct {
            return (0..count).map(|_| at((rng() % n as u64) as usize)).collect();
        }
        if count >= n {
            return (0..n).map(at).collect();
        }
        if count * 3 > n {
            // Many of them: a partial shuffle of all positions.
            let mut idx: Vec<usize> = (0..n).collect();
            for k in 0..count {
                let j = k + (rng() % (n - k) as u64) as usize;
                idx.swap(k, j);
            }
            return idx[..count].iter().map(|&i| at(i)).collect();
        }
        // Few of a large set: draw positions until enough distinct ones came up.
        let mut seen = std::collections::HashSet::with_capacity_and_hasher(count, RandomState::default());
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let i = (rng() % n as u64) as usize;
            if seen.insert(i) {
                out.push(at(i));
            }
        }
        out
    }

    /// One SSCAN step. An intset gives everything at once with cursor 0, as Redis's does. The
    /// other forms are hashtables to a 7.0 client, so they page by COUNT: positions are walked
    /// downward from `cursor` (0 = from the top), like the keyspace SCAN. A member present
    /// throughout is returned despite deletions in between: a table's deletion moves its last
    /// member (already visited) into the hole, a packed deletion shifts visited members down.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Cow<'_, [u8]>)) -> u64 {
        let listed: Vec<Cow<'_, [u8]>> = match self {
            Set::Ints(_) => {
                self.iter().for_each(visit);
                return 0;
            }
            Set::Packed(_) => self.iter().collect(),
            Set::Table(_) => Vec::new(),
        };
        let len = self.len();
        let mut pos = if cursor == 0 { len } else { cursor.min(len as u64) as usize };
        let mut seen = 0;
        while pos > 0 && seen < count.max(1) {
            pos -= 1;
            match self {
                Set::Table(t) => visit(Cow::Borrowed(t.get_index(pos).expect("position below length").as_bytes())),
                _ => visit(listed[pos].clone()),
            }
            seen += 1;
        }
        pos as u64
    }
}

/// Whether a set of `n` members, the longest `longest` bytes, fits the packed form.
fn s_len_fits(n: usize, longest: usize, limits: &SetLimits) -> bool {
    n <= limits.packed_entries && longest <= limits.packed_value
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Prng(u64);
    impl Prng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn sorted(s: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.iter().map(Cow::into_owned).collect();
        v.sort();
        v
    }

    #[test]
    fn compact_forms_stay_small() {
        assert_eq!(std::mem::size_of::<Set>(), 24);
    }

    #[test]
    fn member_ints_are_canonical() {
        assert_eq!(canonical_int(b"0"), Some(0));
        assert_eq!(canonical_int(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b"01"[..], b"-0", b"+1", b" 1", b"9223372036854775808", b"", b"-", b"1a"] {
            assert_eq!(canonical_int(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn intset_widens_and_stays_sorted() {
        let l = SetLimits::default();
        let mut s = Set::new();
        for v in [5i64, -3, 70000, i64::MAX, -40000, i64::MIN, 0] {
            assert!(s.add(v.to_string().as_bytes(), &l));
        }
        assert!(!s.add(b"70000", &l));
        assert_eq!(s.encoding(), "intset");
        let Set::Ints(ints) = &s else { panic!("intset") };
        assert_eq!(ints.width, Width::W64);
        let got: Vec<i64> = ints.iter().collect();
        assert_eq!(got, vec![i64::MIN, -40000, -3, 0, 5, 70000, i64::MAX]);
        assert!(s.contains(b"-40000") && !s.contains(b"-40001") && !s.contains(b"abc"));
        assert!(s.remove(b"5") && !s.remove(b"5"));
        assert_eq!(s.len(), 6);
    }

    #[test]
    fn intset_width_of_small_values() {
        let l = SetLimits::default();
        let mut s = Set::new();
        s.add(b"1", &l);
        s.add(b"32767", &l);
        let Set::Ints(ints) = &s else { panic!("intset") };
        assert_eq!(ints.width, Width::W16);
        assert!(!s.contains(b"40000"));
    }

    #[test]
    fn conversions_at_thresholds() {
        let l = SetLimits { intset_entries: 4, packed_entries: 6, packed_value: 10 };
        let mut s = Set::new();
        for i in 0..4 {
            s.add(i.to_string().as_bytes(), &l);
        }
        assert!(matches!(s, Set::Ints(_)));
        s.add(b"4", &l);
        assert!(matches!(s, Set::Packed(_)), "past intset entries");
        assert_eq!(s.encoding(), "hashtable");
        s.add(b"x", &l);
        assert!(matches!(s, Set::Packed(_)));
        s.add(b"y", &l);
        assert!(matches!(s, Set::Table(_)), "past packed entries");
        assert_eq!(s.len(), 7);

        let mut s = Set::new();
        s.add(b"1", &l);
        s.add(b"a-long-member", &l);
        assert!(matches!(s, Set::Table(_)), "member longer than packed value");

        let mut s = Set::new();
        s.add(b"1", &l);
        s.add(b"abc", &l);
        assert!(matches!(s, Set::Packed(_)));
        s.add(b"0123456789x", &l);
        assert!(matches!(s, Set::Table(_)));
        assert_eq!(sorted(&s), vec![b"0123456789x".to_vec(), b"1".to_vec(), b"abc".to_vec()]);

        // Zero intset entries: even the first integer leaves the intset.
        let l0 = SetLimits { intset_entries: 0, ..l };
        let mut s = Set::new();
        s.add(b"7", &l0);
        assert_eq!(s.encoding(), "hashtable");

        // Redis's default: the 513th integer converts.
        let d = SetLimits::default();
        let mut s = Set::new();
        for i in 0..512 {
            s.add(i.to_string().as_bytes(), &d);
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"512", &d);
        assert!(matches!(s, Set::Table(_)));
    }

    #[test]
    fn packed_handles_long_prefixes() {
        let l = SetLimits { intset_entries: 512, packed_entries: 128, packed_value: 1000 };
        let mut s = Set::new();
        let long = vec![b'z'; 300];
        s.add(b"a", &l);
        s.add(&long, &l);
        s.add(b"b", &l);
        assert!(matches!(s, Set::Packed(_)));
        assert!(s.contains(&long));
        assert!(s.remove(&long));
        assert_eq!(sorted(&s), vec![b"a".to_vec(), b"b".to_vec()]);
    }

    /// Random operations applied to sets forced into each encoding and to a model: all agree.
    #[test]
    fn encodings_agree_on_random_operations() {
        let big = SetLimits { intset_entries: 1 << 20, packed_entries: 1 << 20, packed_value: 1 << 20 };
        let tiny = SetLimits { intset_entries: 0, packed_entries: 0, packed_value: 0 };
        let mixed = SetLimits { intset_entries: 8, packed_entries: 12, packed_value: 6 };
        for seed in 1..40u64 {
            let mut r = Prng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut sets = [Set::new(), Set::new(), Set::new()];
            let limits = [big, tiny, mixed];
            let mut model = std::collections::BTreeSet::new();
            let ints_only = seed % 3 == 0;
            for _ in 0..400 {
                let m: Vec<u8> = match r.next() % 5 {
                    _ if ints_only => ((r.next() % 40) as i64 - 20).to_string().into_bytes(),
                    0 => (r.next() % 30).to_string().into_bytes(),
                    1 => format!("-{}", r.next() % 100_000).into_bytes(),
                    2 => format!("m{}", r.next() % 30).into_bytes(),
                    3 => "x".repeat((r.next() % 9) as usize).into_bytes(),
                    _ => format!("0{}", r.next() % 5).into_bytes(),
                };
                match r.next() % 4 {
                    0 | 1 => {
                        let want = model.insert(m.clone());
                        for (s, l) in sets.iter_mut().zip(&limits) {
                            assert_eq!(s.add(&m, l), want);
                        }
                    }
                    2 => {
                        let want = model.remove(&m);
                        for s in sets.iter_mut() {
                            assert_eq!(s.remove(&m), want);
                        }
                    }
                    _ => {
                        let want = model.contains(&m);
                        for s in &sets {
                            assert_eq!(s.contains(&m), want);
                        }
                    }
                }
                for s in &sets {
                    assert_eq!(s.len(), model.len());
                }
            }
            let expect: Vec<Vec<u8>> = model.iter().cloned().collect();
            for s in &sets {
                assert_eq!(sorted(s), expect);
            }
            assert!(matches!(sets[1], Set::Table(_)) || model.is_empty());
            // Popping everything yields each member once.
            for s in sets.iter_mut() {
                let mut popped = Vec::new();
                while let Some(m) = s.pop_random(&mut || r.next()) {
                    popped.push(m);
                }
                popped.sort();
                assert_eq!(popped, expect);
            }
        }
    }

    #[test]
    fn random_members_distinct_and_repeated() {
        let l = SetLimits::default();
        for members in [vec!["1", "2", "3", "4", "5"], vec!["a", "b", "c", "d", "e"]] {
            let mut s = Set::new();
            for m in &members {
                s.add(m.as_bytes(), &l);
            }
            let mut r = Prng(7);
            for count in 0..8 {
                let got = s.random_members(count, true, &mut || r.next());
                let mut d: Vec<_> = got.iter().map(|c| c.to_vec()).collect();
                d.sort();
                d.dedup();
                assert_eq!(d.len(), count.min(5));
                assert!(d.iter().all(|m| s.contains(m)));
            }
            let rep = s.random_members(50, false, &mut || r.next());
            assert_eq!(rep.len(), 50);
            assert!(rep.iter().all(|m| s.contains(m)));
        }
        let mut s = Set::new();
        for i in 0..1000 {
            s.add(format!("k{i}").as_bytes(), &l);
        }
        let mut r = Prng(9);
        for count in [3, 200, 500, 999] {
            let mut d: Vec<_> = s.random_members(count, true, &mut || r.next()).iter().map(|c| c.to_vec()).collect();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), count);
        }
    }

    #[test]
    fn table_scan_survives_deletions() {
        let l = SetLimits::default();
        let mut s = Set::new();
        for i in 0..300 {
            s.add(format!("m{i}").as_bytes(), &l);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = s.scan(cursor, 7, |m| {
                seen.insert(m.into_owned());
            });
            for i in (round * 10..round * 10 + 10).filter(|i| i % 2 == 1) {
                s.remove(format!("m{i}").as_bytes());
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..300).filter(|i| i % 2 == 0) {
            assert!(seen.contains(format!("m{i}").as_bytes()), "missed m{i}");
        }
        let mut ints = Set::new();
        ints.add(b"1", &l);
        ints.add(b"2", &l);
        let mut n = 0;
        assert_eq!(ints.scan(12345, 1, |_| n += 1), 0);
        assert_eq!(n, 2);
        // A packed set pages, and a shifting deletion loses no member present throughout.
        let mut packed = Set::new();
        for m in ["a", "b", "c", "d", "e"] {
            packed.add(m.as_bytes(), &l);
        }
        let mut seen = Vec::new();
        let cursor = packed.scan(0, 2, |m| seen.push(m.into_owned()));
        assert_eq!(cursor, 3);
        packed.remove(b"a");
        let mut cursor = cursor;
        while cursor != 0 {
            cursor = packed.scan(cursor, 2, |m| seen.push(m.into_owned()));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen, vec![b"b".to_vec(), b"c".to_vec(), b"d".to_vec(), b"e".to_vec()]);
    }
}

//! One packed chunk of a list: a single byte buffer holding its elements with no per-element
//! pointers.
//!
//! Layout: `[payload 0][payload 1]...[payload n-1][tag 0][tag 1]...[tag n-1]`. Each element has
//! exactly one tag byte, kept together at the end of the buffer, and the tag alone says how long
//! its payload is. Because the tags are one byte each, the tag of element `i` is found in O(1)
//! from either end, so the node can be walked forwards from its start and backwards from its end
//! with one byte of overhead per element (a listpack spends a header byte and a back-length byte).
//!
//! Tags:
//! - `0x00..=0x7f`: the integer 0..127 itself, no payload;
//! - `0x80..=0xef`: a string of `tag - 0x80` (0..111) bytes;
//! - `0xf0..=0xf7`: a signed integer in `tag - 0xef` (1..8) little-endian bytes;
//! - `0xf8`: a longer string: `[len u32][bytes][len u32]`, the length at both ends so either walk
//!   direction can skip it.
//!
//! Only strings that print back identically from their integer form are stored as integers.

use std::borrow::Cow;

use super::lzf;
use crate::value::canonical_int;

const SMALL_INT_MAX: i64 = 0x7f;
const STR_BASE: u8 = 0x80;
const STR_MAX: usize = 0xef - 0x80;
const INT_BASE: u8 = 0xf0;
const LONG_STR: u8 = 0xf8;

/// An element as stored: integers come back as integers so replies can format them directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Elem<'a> {
    pub fn to_cow(self) -> Cow<'a, [u8]> {
        match self {
            Elem::Bytes(b) => Cow::Borrowed(b),
            Elem::Int(i) => Cow::Owned(i.to_string().into_bytes()),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.to_cow().into_owned()
    }
}

/// A value to look for, classified once so each comparison is an integer or a byte compare: a
/// stored integer is always canonical, so it can only equal a canonical integer needle.
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Needle<'a> {
        Needle { bytes, int: canonical_int(bytes) }
    }

    pub fn matches(&self, e: Elem<'_>) -> bool {
        match e {
            Elem::Int(i) => self.int == Some(i),
            Elem::Bytes(b) => self.int.is_none() && b == self.bytes,
        }
    }
}

/// An element encoded for storage: its tag and the three pieces of its payload.
pub struct Encoded<'a> {
    tag: u8,
    head: [u8; 8],
    head_len: usize,
    body: &'a [u8],
    tail_len: usize,
}

impl<'a> Encoded<'a> {
    pub fn new(v: &'a [u8]) -> Encoded<'a> {
        let mut e = Encoded { tag: 0, head: [0; 8], head_len: 0, body: &[], tail_len: 0 };
        if let Some(i) = canonical_int(v) {
            if (0..=SMALL_INT_MAX).contains(&i) {
                e.tag = i as u8;
            } else {
                // Smallest width whose sign extension gives the value back.
                let width = (1..=8).find(|&w| {
                    let shift = 64 - 8 * w as u32;
                    (i << shift) >> shift == i
                });
                let width = width.unwrap_or(8);
                e.tag = INT_BASE + (width as u8 - 1);
                e.head[..width].copy_from_slice(&i.to_le_bytes()[..width]);
                e.head_len = width;
            }
        } else if v.len() <= STR_MAX {
            e.tag = STR_BASE + v.len() as u8;
            e.body = v;
        } else {
            e.tag = LONG_STR;
            e.head[..4].copy_from_slice(&(v.len() as u32).to_le_bytes());
            e.head_len = 4;
            e.body = v;
            e.tail_len = 4;
        }
        e
    }

    pub fn payload_len(&self) -> usize {
        self.head_len + self.body.len() + self.tail_len
    }

    /// Bytes this element adds to a node.
    pub fn size(&self) -> usize {
        self.payload_len() + 1
    }

    fn write_payload(&self, out: &mut [u8]) {
        out[..self.head_len].copy_from_slice(&self.head[..self.head_len]);
        let b = self.head_len + self.body.len();
        out[self.head_len..b].copy_from_slice(self.body);
        // The long-string trailer repeats the length prefix.
        out[b..b + self.tail_len].copy_from_slice(&self.head[..self.tail_len]);
    }
}

/// Payload length of an element from its tag, reading the length at `len_at` for long strings.
fn payload_len(buf: &[u8], tag: u8, len_at: usize) -> usize {
    match tag {
        0..=0x7f => 0,
        STR_BASE..=0xef => (tag - STR_BASE) as usize,
        INT_BASE..=0xf7 => (tag - INT_BASE) as usize + 1,
        _ => u32::from_le_bytes(buf[len_at..len_at + 4].try_into().unwrap()) as usize + 8,
    }
}

fn decode(payload: &[u8], tag: u8) -> Elem<'_> {
    match tag {
        0..=0x7f => Elem::Int(tag as i64),
        STR_BASE..=0xef => Elem::Bytes(payload),
        INT_BASE..=0xf7 => {
            let w = payload.len();
            let mut raw = [0u8; 8];
            raw[..w].copy_from_slice(payload);
            let shift = 64 - 8 * w as u32;
            Elem::Int((i64::from_le_bytes(raw) << shift) >> shift)
        }
        _ => Elem::Bytes(&payload[4..payload.len() - 4]),
    }
}

/// A read-only look at a node's elements in their plain layout: the node's own buffer, or a
/// scratch buffer a compressed node was expanded into.
#[derive(Clone, Copy)]
pub struct View<'a> {
    buf: &'a [u8],
    count: usize,
}

impl<'a> View<'a> {
    fn payload_end(&self) -> usize {
        self.buf.len() - self.count
    }

    fn tag(&self, i: usize) -> u8 {
        self.buf[self.payload_end() + i]
    }

    /// Offset of element `i`'s payload (`i == count` gives the payload end), walking from
    /// whichever end of the node is nearer.
    pub fn offset(&self, i: usize) -> usize {
        let n = self.count;
        if i <= n / 2 {
            let mut off = 0;
            for j in 0..i {
                off += payload_len(self.buf, self.tag(j), off);
            }
            off
        } else {
            let mut end = self.payload_end();
            for j in (i..n).rev() {
                end -= payload_len(self.buf, self.tag(j), end.saturating_sub(4));
            }
            end
        }
    }

    pub fn get(&self, i: usize) -> Elem<'a> {
        let off = self.offset(i);
        let tag = self.tag(i);
        let len = payload_len(self.buf, tag, off);
        decode(&self.buf[off..off + len], tag)
    }

    /// Elements from index `from` on, head to tail.
    pub fn iter_from(&self, from: usize) -> Fwd<'a> {
        Fwd { view: *self, off: self.offset(from), i: from }
    }

    /// Elements before index `before`, tail to head.
    pub fn iter_back(&self, before: usize) -> Back<'a> {
        Back { view: *self, end: self.offset(before), i: before }
    }
}

/// Nodes smaller than this are not worth compressing (Redis's documented threshold).
const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save more than this many bytes to be kept, so a node is not stored in a
/// form that costs a decompression on every access for next to no memory.
const MIN_COMPRESS_IMPROVE: usize = 8;

#[derive(Clone, Debug, Default)]
pub struct Node {
    /// The plain layout, or its LZF form when `packed > 0`.
    buf: Vec<u8>,
    count: u32,
    /// Plain size of a compressed node; 0 for a plain one (a compressed node is never that
    /// small, see `MIN_COMPRESS_BYTES`). Shares the word after `count`, so the header stays 32
    /// bytes.
    packed: u32,
}

impl Node {
    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// Bytes of elements held in the plain layout (what the size limits are measured against,
    /// compressed or not).
    pub fn bytes(&self) -> usize {
        if self.packed > 0 {
            self.packed as usize
        } else {
            self.buf.len()
        }
    }

    /// Heap bytes held: the compressed size for a compressed node.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    pub fn is_compressed(&self) -> bool {
        self.packed > 0
    }

    /// Stores the node LZF-compressed when that pays: at least `MIN_COMPRESS_BYTES` plain and
    /// more than `MIN_COMPRESS_IMPROVE` bytes saved. Returns whether it is compressed now.
    pub fn compress(&mut self) -> bool {
        if self.packed > 0 {
            return true;
        }
        let raw = self.buf.len();
        if raw < MIN_COMPRESS_BYTES || raw > u32::MAX as usize {
            return false;
        }
        match lzf::compress(&self.buf, raw - MIN_COMPRESS_IMPROVE - 1) {
            Some(mut lzf) => {
                lzf.shrink_to_fit();
                self.buf = lzf;
                self.packed = raw as u32;
                true
            }
            None => false,
        }
    }

    /// Back to the plain layout, ready to be changed.
    pub fn decompress(&mut self) {
        if self.packed == 0 {
            return;
        }
        let mut raw = Vec::new();
        lzf::decompress_into(&self.buf, self.packed as usize, &mut raw)
            .expect("a compressed list node holds the stream it was given");
        self.buf = raw;
        self.packed = 0;
    }

    /// The elements, expanded into `scratch` first when the node is compressed (the node itself
    /// stays as it is).
    pub fn view<'a>(&'a self, scratch: &'a mut Vec<u8>) -> View<'a> {
        if self.packed == 0 {
            return self.plain();
        }
        lzf::decompress_into(&self.buf, self.packed as usize, scratch)
            .expect("a compressed list node holds the stream it was given");
        View { buf: scratch, count: self.count() }
    }

    /// The plain layout; only for a node that is not compressed.
    pub fn plain(&self) -> View<'_> {
        debug_assert_eq!(self.packed, 0, "plain access to a compressed node");
        View { buf: &self.buf, count: self.count() }
    }

    fn payload_end(&self) -> usize {
        self.buf.len() - self.count as usize
    }

    fn tag(&self, i: usize) -> u8 {
        self.buf[self.payload_end() + i]
    }

    /// Offset of element `i`'s payload in the plain layout (the node is made plain first).
    pub fn offset(&mut self, i: usize) -> usize {
        self.decompress();
        self.plain().offset(i)
    }

    /// Inserts `e` so that it becomes element `i`.
    pub fn insert(&mut self, i: usize, e: &Encoded<'_>) {
        self.decompress();
        let at = self.plain().offset(i);
        let p = e.payload_len();
        let old = self.buf.len();
        let tags = self.payload_end();
        self.buf.reserve_exact(p + 1);
        self.buf.resize(old + p + 1, 0);
        // Tags after i move by the payload and the new tag; everything between the insertion
        // point and tag i moves by the payload only.
        self.buf.copy_within(tags + i..old, tags + i + p + 1);
        self.buf.copy_within(at..tags + i, at + p);
        e.write_payload(&mut self.buf[at..at + p]);
        self.buf[tags + p + i] = e.tag;
        self.count += 1;
    }

    /// Removes elements `from..to`.
    pub fn remove_range(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.decompress();
        let a = self.plain().offset(from);
        let b = if to - from == 1 { a + payload_len(&self.buf, self.tag(from), a) } else { self.plain().offset(to) };
        let tags = self.payload_end();
        let old = self.buf.len();
        let p = b - a;
        self.buf.copy_within(b..tags + from, a);
        self.buf.copy_within(tags + to..old, tags + from - p);
        self.buf.truncate(old - p - (to - from));
        self.count -= (to - from) as u32;
        self.trim_capacity();
    }

    /// Gives back spare capacity once it is a noticeable share of the node.
    fn trim_capacity(&mut self) {
        let spare = self.buf.capacity() - self.buf.len();
        if spare > 64 && spare > self.buf.len() / 8 {
            self.buf.shrink_to_fit();
        }
    }

    /// Keeps elements `..at` and returns a (plain) node with the rest.
    pub fn split_off(&mut self, at: usize) -> Node {
        self.decompress();
        let off = self.plain().offset(at);
        let tags = self.payload_end();
        let mut rest = Vec::with_capacity(self.buf.len() - off - at);
        rest.extend_from_slice(&self.buf[off..tags]);
        rest.extend_from_slice(&self.buf[tags + at..]);
        let moved = self.count - at as u32;
        self.buf.copy_within(tags..tags + at, off);
        self.buf.truncate(off + at);
        self.count = at as u32;
        self.trim_capacity();
        Node { buf: rest, count: moved, packed: 0 }
    }

    /// Appends all of `other`'s elements after this node's (the result is plain).
    pub fn append(&mut self, mut other: Node) {
        self.decompress();
        other.decompress();
        let mine = self.payload_end();
        let theirs = other.payload_end();
        let mut buf = Vec::with_capacity(self.buf.len() + other.buf.len());
        buf.extend_from_slice(&self.buf[..mine]);
        buf.extend_from_slice(&other.buf[..theirs]);
        buf.extend_from_slice(&self.buf[mine..]);
        buf.extend_from_slice(&other.buf[theirs..]);
        self.buf = buf;
        self.count += other.count;
    }

    /// Keeps only the elements for which `keep(index, elem)` is true, compacting in place (the
    /// node is made plain first).
    pub fn retain(&mut self, mut keep: impl FnMut(usize, Elem<'_>) -> bool) -> usize {
        self.decompress();
        let n = self.count();
        let tags = self.payload_end();
        let mut kept_tags = Vec::with_capacity(n);
        let (mut read, mut write) = (0, 0);
        for i in 0..n {
            let tag = self.buf[tags + i];
            let len = payload_len(&self.buf, tag, read);
            if keep(i, decode(&self.buf[read..read + len], tag)) {
                self.buf.copy_within(read..read + len, write);
                write += len;
                kept_tags.push(tag);
            }
            read += len;
        }
        let removed = n - kept_tags.len();
        if removed > 0 {
            self.buf.truncate(write);
            self.buf.extend_from_slice(&kept_tags);
            self.count = kept_tags.len() as u32;
            self.trim_capacity();
        }
        removed
    }
}

/// Forward walk over a node's elements.
pub struct Fwd<'a> {
    view: View<'a>,
    off: usize,
    i: usize,
}

impl<'a> Iterator for Fwd<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.i >= self.view.count {
            return None;
        }
        let tag = self.view.tag(self.i);
        let len = payload_len(self.view.buf, tag, self.off);
        let e = decode(&self.view.buf[self.off..self.off + len], tag);
        self.off += len;
        self.i += 1;
        Some(e)
    }
}

/// Backward walk over a node's elements.
pub struct Back<'a> {
    view: View<'a>,
    end: usize,
    i: usize,
}

impl<'a> Iterator for Back<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.i == 0 {
            return None;
        }
        self.i -= 1;
        let tag = self.view.tag(self.i);
        let len = payload_len(self.view.buf, tag, self.end.saturating_sub(4));
        let start = self.end - len;
        let e = decode(&self.view.buf[start..self.end], tag);
        self.end = start;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_of(items: &[&[u8]]) -> Node {
        let mut n = Node::default();
        for (i, it) in items.iter().enumerate() {
            n.insert(i, &Encoded::new(it));
        }
        n
    }

    fn strings(n: &Node) -> Vec<Vec<u8>> {
        let mut scratch = Vec::new();
        n.view(&mut scratch).iter_from(0).map(Elem::to_vec).collect()
    }

    #[test]
    fn every_encoding_round_trips_both_ways() {
        let long = vec![b'x'; 300];
        let items: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-129",
            b"70000",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"",
            b"007",
            b"-0",
            b"+1",
            b"hello",
            &long,
            b"1.5",
        ];
        let n = node_of(&items);
        assert_eq!(strings(&n), items.iter().map(|i| i.to_vec()).collect::<Vec<_>>());
        let mut back: Vec<Vec<u8>> = n.plain().iter_back(n.count()).map(Elem::to_vec).collect();
        back.reverse();
        assert_eq!(back, strings(&n));
        assert_eq!(n.plain().get(6), Elem::Int(i64::MAX));
        assert_eq!(n.plain().get(9), Elem::Bytes(b"007"));
        assert_eq!(n.plain().get(13), Elem::Bytes(&long[..]));
    }

    #[test]
    fn one_byte_overhead_for_ids_and_short_strings() {
        assert_eq!(Encoded::new(b"1234567890123456789").size(), 9);
        assert_eq!(Encoded::new(b"v123").size(), 5);
        assert_eq!(Encoded::new(b"5").size(), 1);
    }

    #[test]
    fn split_append_remove_retain() {
        let items: Vec<Vec<u8>> = (0..20).map(|i| format!("e{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let mut n = node_of(&refs);
        let rest = n.split_off(7);
        assert_eq!(strings(&n), items[..7].to_vec());
        assert_eq!(strings(&rest), items[7..].to_vec());
        n.append(rest);
        assert_eq!(strings(&n), items);
        n.remove_range(3, 9);
        let mut expect = items.clone();
        expect.drain(3..9);
        assert_eq!(strings(&n), expect);
        let removed = n.retain(|i, _| i % 2 == 0);
        assert_eq!(removed, 7);
        let expect: Vec<Vec<u8>> = expect.into_iter().step_by(2).collect();
        assert_eq!(strings(&n), expect);
    }

    #[test]
    fn compresses_only_when_it_pays() {
        let small = node_of(&[b"aaaaaaaaaa", b"aaaaaaaaaa", b"aaaaaaaaaa"]);
        assert!(small.bytes() < MIN_COMPRESS_BYTES);
        assert!(!small.clone().compress());
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let noise: Vec<u8> = (0..200)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut random = node_of(&[&noise]);
        assert!(!random.compress(), "random bytes do not shrink by enough");
        assert!(!random.is_compressed());

        let items: Vec<Vec<u8>> = (0..40).map(|i| format!("value:{}", i % 5).into_bytes()).collect();
        let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
        let mut n = node_of(&refs);
        let plain = n.bytes();
        assert!(n.compress());
        assert!(n.is_compressed());
        assert_eq!(n.bytes(), plain, "limits still see the plain size");
        assert!(n.capacity() < plain / 2, "{} of {plain}", n.capacity());
        assert_eq!(strings(&n), items);
        // Changing a compressed node expands it first.
        n.insert(3, &Encoded::new(b"new"));
        assert!(!n.is_compressed());
        let mut expect = items.clone();
        expect.insert(3, b"new".to_vec());
        assert_eq!(strings(&n), expect);
        assert!(n.compress());
        let rest = n.split_off(20);
        assert!(!n.is_compressed());
        n.append(rest);
        assert_eq!(strings(&n), expect);
    }

    #[test]
    fn needles_compare_by_kind() {
        assert!(Needle::new(b"12").matches(Elem::Int(12)));
        assert!(!Needle::new(b"012").matches(Elem::Int(12)));
        assert!(Needle::new(b"012").matches(Elem::Bytes(b"012")));
        assert!(!Needle::new(b"x").matches(Elem::Bytes(b"y")));
    }
}

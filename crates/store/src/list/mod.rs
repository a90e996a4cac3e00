//! The list type: a sequence of packed nodes ([`node::Node`]), like Redis's quicklist of
//! listpacks. Pushes and pops at either end touch only the end node; an insert or removal in the
//! middle touches one node (plus a split or a merge with a neighbour). Node sizes follow
//! `list-max-listpack-size`: a positive value caps the elements per node (and, as in Redis, 8 KB
//! per node still applies), a negative one caps the bytes at 4/8/16/32/64 KB for -1..-5.
//!
//! The nodes sit in a `VecDeque` rather than a linked list: adding or dropping an end node is
//! O(1), splitting in the middle moves only node headers (32 bytes each), and there are no
//! per-node pointer pairs.
//!
//! Redis 7.0 reports every list as `quicklist` (listpack-encoded lists arrived in 7.2), so
//! `encoding()` does too, whatever the node count.
//!
//! `list-compress-depth` N > 0 keeps the N nodes at each end plain and stores the nodes between
//! LZF-compressed (when that saves enough, see [`node::Node::compress`]). The depth is fixed when
//! the list is created, as in Redis. Ends stay plain so pushes and pops never pay for
//! compression; a node is compressed once when it moves into the interior and expanded once when
//! it moves back out. A change in the middle expands the nodes it touches and `settle` compresses
//! them again; reads of a compressed node expand it into a scratch buffer and leave it as it is.

pub(crate) mod lzf;
mod node;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::Range;

pub use node::{Elem, Needle};
use node::{Encoded, Node, View};

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// Redis's safety cap on node bytes when the limit is an element count.
const SIZE_SAFETY_LIMIT: usize = 8192;

/// Whether a node of `bytes` bytes and `count` elements is within `list-max-listpack-size`.
fn fits(fill: i64, bytes: usize, count: usize) -> bool {
    if fill < 0 {
        let level = (-fill).min(5) as u32;
        bytes <= 4096 << (level - 1)
    } else {
        count as i64 <= fill.min(32767) && bytes <= SIZE_SAFETY_LIMIT
    }
}

#[derive(Clone, Debug, Default)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// Nodes kept plain at each end; 0 compresses nothing.
    depth: u32,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    /// A list that keeps `depth` nodes plain at each end and compresses the rest
    /// (`list-compress-depth`; 0 never compresses).
    pub fn with_compress_depth(depth: usize) -> List {
        List { depth: depth.min(u32::MAX as usize) as u32, ..List::default() }
    }

    pub fn compress_depth(&self) -> usize {
        self.depth as usize
    }

    /// Number of nodes stored compressed (for tests and introspection).
    pub fn compressed_node_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_compressed()).count()
    }

    /// Whether node `n` is among the interior nodes the depth wants compressed.
    fn interior(&self, n: usize) -> bool {
        let d = self.depth as usize;
        d > 0 && n >= d && n + d < self.nodes.len()
    }

    /// Brings node `n` to the form its position calls for.
    fn place(&mut self, n: usize) {
        if self.interior(n) {
            self.nodes[n].compress();
        } else {
            self.nodes[n].decompress();
        }
    }

    /// Restores the compression layout after a change: the nodes in `touched` (which the change
    /// may have expanded), and the nodes near each end, whose distance to that end may have
    /// changed. A change that adds `added` nodes pushes up to that many plain end nodes past the
    /// depth, so the end windows reach that much farther; removals only move nodes outwards.
    fn settle(&mut self, touched: Range<usize>, added: usize) {
        if self.depth == 0 {
            return;
        }
        let n = self.nodes.len();
        let reach = (self.depth as usize).saturating_add(1 + added).min(n);
        for i in 0..reach {
            self.place(i);
        }
        for i in n - reach..n {
            self.place(i);
        }
        for i in touched.start.min(n)..touched.end.min(n) {
            self.place(i);
        }
    }

    /// `settle` for a change that may have touched any node.
    fn settle_all(&mut self) {
        if self.depth > 0 {
            for i in 0..self.nodes.len() {
                self.place(i);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// OBJECT ENCODING's answer: Redis 7.0 says `quicklist` for every list.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Number of packed nodes (for tests and DEBUG-style introspection).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.nodes.iter().map(Node::capacity).sum::<usize>()
    }

    /// Node holding element `i` and `i`'s index inside it, walking from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut rest = i;
            for (n, node) in self.nodes.iter().enumerate() {
                if rest < node.count() {
                    return (n, rest);
                }
                rest -= node.count();
            }
        } else {
            let mut rest = self.len - i;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                if rest <= node.count() {
                    return (n, node.count() - rest);
                }
                rest -= node.count();
            }
        }
        unreachable!("index {i} within a list of {}", self.len)
    }

    pub fn push(&mut self, end: End, v: &[u8], fill: i64) {
        let e = Encoded::new(v);
        if self.nodes.capacity() == 0 {
            // Most lists are one node: room for exactly one instead of the deque's default four.
            self.nodes.reserve_exact(1);
        }
        // The end nodes are always plain, so only a new node changes the layout.
        let grew = match end {
            End::Head => match self.nodes.front_mut() {
                Some(n) if fits(fill, n.bytes() + e.size(), n.count() + 1) => {
                    n.insert(0, &e);
                    false
                }
                _ => {
                    let mut n = Node::default();
                    n.insert(0, &e);
                    self.nodes.push_front(n);
                    true
                }
            },
            End::Tail => match self.nodes.back_mut() {
                Some(n) if fits(fill, n.bytes() + e.size(), n.count() + 1) => {
                    n.insert(n.count(), &e);
                    false
                }
                _ => {
                    let mut n = Node::default();
                    n.insert(0, &e);
                    self.nodes.push_back(n);
                    true
                }
            },
        };
        self.len += 1;
        if grew {
            self.settle(0..0, 1);
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        self.pop_with(end, |e| e.to_vec())
    }

    /// Removes the element at `end`, handing it to `f` first (a reply writes it from the node,
    /// with no copy in between).
    pub fn pop_with<R>(&mut self, end: End, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        if self.len == 0 {
            return None;
        }
        let n = match end {
            End::Head => 0,
            End::Tail => self.nodes.len() - 1,
        };
        let node = &mut self.nodes[n];
        node.decompress();
        let i = if end == End::Head { 0 } else { node.count() - 1 };
        let v = f(node.plain().get(i));
        node.remove_range(i, i + 1);
        self.len -= 1;
        if node.count() == 0 {
            self.nodes.remove(n);
            self.settle(0..0, 0);
        }
        Some(v)
    }

    /// Hands element `i` to `f` (None when out of range); a compressed node is expanded into a
    /// scratch buffer for the call, so the element cannot outlive it.
    pub fn get_with<R>(&self, i: usize, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        if i >= self.len {
            return None;
        }
        let (n, at) = self.locate(i);
        let mut scratch = Vec::new();
        Some(f(self.nodes[n].view(&mut scratch).get(at)))
    }

    /// Makes `v` element `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, v: &[u8], fill: i64) {
        if i == 0 {
            return self.push(End::Head, v, fill);
        }
        if i >= self.len {
            return self.push(End::Tail, v, fill);
        }
        let before = self.nodes.len();
        let n = self.insert_inner(i, v, fill);
        let added = self.nodes.len().saturating_sub(before);
        self.settle(n.saturating_sub(1)..n + 3, added);
    }

    /// `insert` away from the ends, without restoring compression; returns the first node the
    /// change may have touched.
    fn insert_inner(&mut self, i: usize, v: &[u8], fill: i64) -> usize {
        let e = Encoded::new(v);
        // Between two nodes the element may go at the end of the previous one instead.
        let (mut n, mut at) = self.locate(i);
        if at == 0 {
            let prev = &self.nodes[n - 1];
            if fits(fill, prev.bytes() + e.size(), prev.count() + 1) || !self.fits_in(n, &e, fill) {
                n -= 1;
                at = self.nodes[n].count();
            }
        }
        self.len += 1;
        if self.fits_in(n, &e, fill) {
            self.nodes[n].insert(at, &e);
            return n;
        }
        let count = self.nodes[n].count();
        if at == count {
            let next = n + 1;
            match self.nodes.get_mut(next) {
                Some(node) if fits(fill, node.bytes() + e.size(), node.count() + 1) => node.insert(0, &e),
                _ => {
                    let mut fresh = Node::default();
                    fresh.insert(0, &e);
                    self.nodes.insert(next, fresh);
                }
            }
            return n;
        }
        // A full node: split it at the insertion point and put the element at the end of the
        // first half (or in a node of its own if even that is too big).
        let rest = self.nodes[n].split_off(at);
        self.nodes.insert(n + 1, rest);
        if self.fits_in(n, &e, fill) {
            self.nodes[n].insert(at, &e);
        } else {
            let mut fresh = Node::default();
            fresh.insert(0, &e);
            self.nodes.insert(n + 1, fresh);
        }
        self.merge_around(n + 1, fill);
        self.merge_around(n, fill);
        n
    }

    fn fits_in(&self, n: usize, e: &Encoded<'_>, fill: i64) -> bool {
        let node = &self.nodes[n];
        node.count() == 0 || fits(fill, node.bytes() + e.size(), node.count() + 1)
    }

    /// Merges node `n` into a neighbour when the two fit in one node together.
    fn merge_around(&mut self, n: usize, fill: i64) {
        if n >= self.nodes.len() {
            return;
        }
        if n + 1 < self.nodes.len() && self.mergeable(n, n + 1, fill) {
            let next = self.nodes.remove(n + 1).expect("node exists");
            self.nodes[n].append(next);
        }
        if n > 0 && self.mergeable(n - 1, n, fill) {
            let this = self.nodes.remove(n).expect("node exists");
            self.nodes[n - 1].append(this);
        }
    }

    fn mergeable(&self, a: usize, b: usize, fill: i64) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        fits(fill, a.bytes() + b.bytes(), a.count() + b.count())
    }

    /// Replaces element `i`; false when `i` is out of range.
    pub fn set(&mut self, i: usize, v: &[u8], fill: i64) -> bool {
        if i >= self.len {
            return false;
        }
        let (n, at) = self.locate(i);
        let e = Encoded::new(v);
        let node = &mut self.nodes[n];
        let old = node.offset(at + 1) - node.offset(at) + 1;
        let fits_here = node.count() == 1 || fits(fill, node.bytes() - old + e.size(), node.count());
        node.remove_range(at, at + 1);
        if fits_here {
            node.insert(at, &e);
            self.settle(n..n + 1, 0);
            return true;
        }
        self.len -= 1;
        if node.count() == 0 {
            self.nodes.remove(n);
        }
        let before = self.nodes.len();
        let m = if i == 0 || i >= self.len {
            self.push(if i == 0 { End::Head } else { End::Tail }, v, fill);
            n
        } else {
            self.insert_inner(i, v, fill)
        };
        let added = self.nodes.len().saturating_sub(before);
        // Node `n` was expanded even if the element went elsewhere.
        self.settle(n.min(m).saturating_sub(1)..n.max(m) + 3, added);
        true
    }

    /// Removes the elements `start..end` (clamped to the list).
    pub fn remove_range(&mut self, start: usize, end: usize, fill: i64) {
        let end = end.min(self.len);
        if start >= end {
            return;
        }
        let mut base = 0;
        let mut n = 0;
        let mut first = None;
        let mut touched = None;
        while n < self.nodes.len() && base < end {
            let count = self.nodes[n].count();
            let (from, to) = (start.max(base), end.min(base + count));
            base += count;
            if from >= to {
                n += 1;
                continue;
            }
            if to - from == count {
                self.nodes.remove(n);
            } else {
                self.nodes[n].remove_range(from - (base - count), to - (base - count));
                first.get_or_insert(n);
                touched = Some(n);
                n += 1;
            }
        }
        self.len -= end - start;
        if let Some(n) = touched {
            self.merge_around(n, fill);
            if n > 0 {
                self.merge_around(n - 1, fill);
            }
        }
        // Merges only shift the touched nodes down (by two at most).
        let lo = first.unwrap_or(0).saturating_sub(2);
        self.settle(lo..touched.map_or(0, |n| n + 1), 0);
    }

    /// Keeps only elements `start..=stop` (indexes already clamped by the caller; an empty
    /// range empties the list).
    pub fn trim(&mut self, start: usize, stop: usize, fill: i64) {
        if start > stop || start >= self.len {
            self.nodes.clear();
            self.len = 0;
            return;
        }
        self.remove_range(stop + 1, self.len, fill);
        self.remove_range(0, start, fill);
    }

    /// Removes elements equal to `needle`: up to `count` from the head (`count > 0`), from the
    /// tail (`count < 0`), or all (`0`). Returns how many went.
    pub fn remove_matching(&mut self, needle: &Needle<'_>, count: i64, fill: i64) -> usize {
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs().min(usize::MAX as u64) as usize };
        let mut removed = 0;
        let order: Vec<usize> =
            if count < 0 { (0..self.nodes.len()).rev().collect() } else { (0..self.nodes.len()).collect() };
        let mut touched = Vec::new();
        let mut scratch = Vec::new();
        for n in order {
            if removed == limit {
                break;
            }
            let node = &mut self.nodes[n];
            // A compressed node without a match is left compressed.
            if node.is_compressed() && !node.view(&mut scratch).iter_from(0).any(|e| needle.matches(e)) {
                continue;
            }
            let here = if count < 0 {
                // From the tail: find which matches in this node are the last ones wanted.
                node.decompress();
                let mut hits: Vec<usize> =
                    node.plain().iter_from(0).enumerate().filter(|(_, e)| needle.matches(*e)).map(|(i, _)| i).collect();
                let skip = hits.len().saturating_sub(limit - removed);
                hits.drain(..skip);
                let mut k = 0;
                node.retain(|i, _| {
                    if k < hits.len() && hits[k] == i {
                        k += 1;
                        false
                    } else {
                        true
                    }
                })
            } else {
                let mut left = limit - removed;
                node.retain(|_, e| {
                    if left > 0 && needle.matches(e) {
                        left -= 1;
                        false
                    } else {
                        true
                    }
                })
            };
            if here > 0 {
                removed += here;
                touched.push(n);
            }
        }
        self.len -= removed;
        if removed > 0 {
            self.nodes.retain(|n| n.count() > 0);
            // Refill sparse nodes: neighbours that now fit together become one.
            let mut n = 0;
            while n + 1 < self.nodes.len() {
                if self.mergeable(n, n + 1, fill) {
                    let next = self.nodes.remove(n + 1).expect("node exists");
                    self.nodes[n].append(next);
                } else {
                    n += 1;
                }
            }
            self.settle_all();
        }
        removed
    }

    /// Calls `f` on elements `start..=stop` head to tail (indexes already clamped); straight
    /// from the packed nodes, so a reply can be written with no intermediate copy.
    pub fn for_range(&self, start: usize, stop: usize, mut f: impl FnMut(Elem<'_>)) {
        if start > stop || start >= self.len {
            return;
        }
        let mut left = stop.min(self.len - 1) - start + 1;
        let (n, at) = self.locate(start);
        let mut from = at;
        let mut scratch = Vec::new();
        for node in self.nodes.range(n..) {
            for e in node.view(&mut scratch).iter_from(from) {
                f(e);
                left -= 1;
                if left == 0 {
                    return;
                }
            }
            from = 0;
        }
    }

    /// Walks the elements from head to tail (or tail to head when `reverse`) until `f` returns
    /// false.
    pub fn walk(&self, reverse: bool, mut f: impl FnMut(Elem<'_>) -> bool) {
        let mut scratch = Vec::new();
        if reverse {
            for node in self.nodes.iter().rev() {
                for e in node.view(&mut scratch).iter_back(node.count()) {
                    if !f(e) {
                        return;
                    }
                }
            }
        } else {
            for node in &self.nodes {
                for e in node.view(&mut scratch).iter_from(0) {
                    if !f(e) {
                        return;
                    }
                }
            }
        }
    }

    /// Index of the first element equal to `needle`, head to tail.
    pub fn position(&self, needle: &Needle<'_>) -> Option<usize> {
        let mut i = 0;
        let mut found = None;
        self.walk(false, |e| {
            if needle.matches(e) {
                found = Some(i);
                return false;
            }
            i += 1;
            true
        });
        found
    }

    /// Elements from head to tail; those of a compressed node come as copies.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> + '_ {
        self.nodes.iter().flat_map(NodeElems::new)
    }
}

/// One node's elements for `List::iter`: borrowed from a plain node, copied out of a
/// compressed one (the expansion cannot outlive the call that made it).
enum NodeElems<'a> {
    Plain(node::Fwd<'a>),
    Expanded(std::vec::IntoIter<Vec<u8>>),
}

impl<'a> NodeElems<'a> {
    fn new(node: &'a Node) -> NodeElems<'a> {
        if node.is_compressed() {
            let mut scratch = Vec::new();
            let view: View<'_> = node.view(&mut scratch);
            NodeElems::Expanded(view.iter_from(0).map(Elem::to_vec).collect::<Vec<_>>().into_iter())
        } else {
            NodeElems::Plain(node.plain().iter_from(0))
        }
    }
}

impl<'a> Iterator for NodeElems<'a> {
    type Item = Cow<'a, [u8]>;

    fn next(&mut self) -> Option<Cow<'a, [u8]>> {
        match self {
            NodeElems::Plain(it) => it.next().map(Elem::to_cow),
            NodeElems::Expanded(it) => it.next().map(Cow::Owned),
        }
    }
}

#[cfg(test)]
mod tests;

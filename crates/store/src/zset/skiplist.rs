//! The full form of a sorted set: a member -> node map whose nodes are also the links of a
//! skiplist with spans.
//!
//! Why a skiplist rather than an order-statistic B-tree: the commands need, besides lookups by
//! member, ranks, rank -> element, the first element of a score or lex range, and walks in both
//! directions from any element. A skiplist with spans (Redis's design) gives all of them in
//! O(log n) with one short descent routine, keeps every element at a fixed place while others
//! come and go (so a walk is just following links), and is a few hundred lines whose
//! behaviour on ties and ranges can be checked line by line against Redis's. A B-tree would be
//! more cache-friendly for big sets, but needs node splitting, merging and count maintenance
//! on every path, which is more code to get right for little gain at the sizes sorted sets
//! usually have.
//!
//! Memory: the skiplist nodes live *inside* the map's entries (an `IndexMap` keyed by member),
//! and links are `u32` positions in that map, so a member is stored once and there is no
//! separate node allocation. The lowest link sits inline in the node; only the quarter of nodes
//! that reach higher levels allocate a small slice for the rest. The map's positions also give
//! O(1) random picks (ZRANDMEMBER) and stable ZSCAN cursors. Removing an entry moves the map's
//! last entry into the hole, so the links that pointed at it are redirected: one more descent.

use std::cmp::Ordering;

use foldhash::fast::RandomState;
use indexmap::IndexMap;

/// No node: the end of a level.
const NIL: u32 = u32::MAX;
/// The head sentinel, which is not in the map.
const HEAD: u32 = u32::MAX - 1;
/// Redis's limits: 32 levels, each level a quarter as populated as the one below.
const MAX_LEVEL: usize = 32;

#[derive(Clone, Copy, Debug, Default)]
struct Link {
    next: u32,
    /// How many level-0 steps this link jumps over (1 for a neighbour).
    span: u32,
}

const END: Link = Link { next: NIL, span: 0 };

#[derive(Clone, Debug)]
struct Node {
    score: f64,
    back: u32,
    l0: Link,
    /// Levels 1 and up; empty (no allocation) for most nodes.
    up: Box<[Link]>,
}

impl Node {
    fn levels(&self) -> usize {
        1 + self.up.len()
    }
}

type Map = IndexMap<Box<[u8]>, Node, RandomState>;

/// The order of sorted set elements: by score, ties by member bytes.
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// A walk along level 0 from some element, in either direction.
pub struct Iter<'a> {
    list: &'a SkipList,
    x: u32,
    rev: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.x == NIL {
            return None;
        }
        let (m, n) = self.list.map.get_index(self.x as usize).expect("linked node is in the map");
        self.x = if self.rev { n.back } else { n.l0.next };
        Some((m, n.score))
    }
}

#[derive(Clone, Debug)]
pub struct SkipList {
    map: Map,
    head: Vec<Link>,
    tail: u32,
    seed: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        SkipList { map: Map::default(), head: vec![END], tail: NIL, seed: 0x2545_F491_4F6C_DD1D }
    }
}

impl SkipList {
    pub fn with_capacity(n: usize) -> SkipList {
        SkipList { map: Map::with_capacity_and_hasher(n, RandomState::default()), ..SkipList::default() }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn heap_size(&self) -> usize {
        const SLOT: usize = std::mem::size_of::<(u64, Box<[u8]>, Node)>();
        const INDEX: usize = (std::mem::size_of::<usize>() + 1) * 8 / 7;
        let per: usize = self.map.iter().map(|(k, n)| k.len() + n.up.len() * std::mem::size_of::<Link>()).sum();
        self.map.capacity() * (SLOT + INDEX) + self.head.capacity() * std::mem::size_of::<Link>() + per
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.map.get(member).map(|n| n.score)
    }

    fn link(&self, node: u32, level: usize) -> Link {
        let n = if node == HEAD {
            return self.head[level];
        } else {
            &self.map[node as usize]
        };
        if level == 0 {
            n.l0
        } else {
            n.up[level - 1]
        }
    }

    fn link_mut(&mut self, node: u32, level: usize) -> &mut Link {
        if node == HEAD {
            return &mut self.head[level];
        }
        let n = &mut self.map[node as usize];
        if level == 0 {
            &mut n.l0
        } else {
            &mut n.up[level - 1]
        }
    }

    fn entry(&self, node: u32) -> (&[u8], f64) {
        let (m, n) = self.map.get_index(node as usize).expect("linked node is in the map");
        (m, n.score)
    }

    fn random_level(&mut self) -> usize {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        // Two bits per level: a quarter of the nodes of a level reach the next one.
        let mut bits = self.seed;
        let mut level = 1;
        while bits & 3 == 0 && level < MAX_LEVEL {
            level += 1;
            bits >>= 2;
        }
        level
    }

    /// For each level, the last node whose entry comes before (score, member), and the rank
    /// (elements passed) at that node.
    fn path(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        let mut passed = 0u32;
        for i in (0..self.head.len()).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let (m, s) = self.entry(l.next);
                if cmp_entry(s, m, score, member) != Ordering::Less {
                    break;
                }
                passed += l.span;
                x = l.next;
            }
            update[i] = x;
            rank[i] = passed;
        }
        (update, rank)
    }

    /// Threads the node at `idx` (in the map, unlinked) into the list at its place.
    fn link_in(&mut self, idx: u32) {
        let (member, score) = self.entry(idx);
        let (mut update, mut rank) = self.path(score, member);
        let levels = self.map[idx as usize].levels();
        let len = self.map.len() as u32;
        // `len` counts this node already; the head's new levels span the others.
        while self.head.len() < levels {
            let i = self.head.len();
            self.head.push(Link { next: NIL, span: len - 1 });
            update[i] = HEAD;
            rank[i] = 0;
        }
        for i in 0..levels {
            let prev = self.link(update[i], i);
            let before = rank[0] - rank[i];
            *self.link_mut(idx, i) = Link { next: prev.next, span: prev.span.wrapping_sub(before) };
            *self.link_mut(update[i], i) = Link { next: idx, span: before + 1 };
        }
        for (i, &u) in update.iter().enumerate().take(self.head.len()).skip(levels) {
            let l = self.link_mut(u, i);
            l.span = l.span.wrapping_add(1);
        }
        self.map[idx as usize].back = if update[0] == HEAD { NIL } else { update[0] };
        match self.map[idx as usize].l0.next {
            NIL => self.tail = idx,
            next => self.map[next as usize].back = idx,
        }
    }

    /// Takes the node at `idx` out of the list (it stays in the map).
    fn unlink(&mut self, idx: u32) {
        let (member, score) = self.entry(idx);
        let (update, _) = self.path(score, member);
        for (i, &u) in update.iter().enumerate().take(self.head.len()) {
            let l = self.link(u, i);
            if l.next == idx {
                let own = self.link(idx, i);
                *self.link_mut(u, i) = Link { next: own.next, span: l.span.wrapping_add(own.span).wrapping_sub(1) };
            } else {
                let l = self.link_mut(u, i);
                l.span = l.span.wrapping_sub(1);
            }
        }
        let node = &self.map[idx as usize];
        let (back, next) = (node.back, node.l0.next);
        match next {
            NIL => self.tail = back,
            n => self.map[n as usize].back = back,
        }
        while self.head.len() > 1 && self.head[self.head.len() - 1].next == NIL {
            self.head.pop();
        }
    }

    /// Sets `member`'s score; true if it is new.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        if let Some(idx) = self.map.get_index_of(member) {
            let node = &self.map[idx];
            if node.score == score {
                return false;
            }
            let idx = idx as u32;
            // Still between its neighbours: only the number changes, as in Redis.
            let back_ok = node.back == NIL || {
                let (m, s) = self.entry(node.back);
                cmp_entry(s, m, score, member) == Ordering::Less
            };
            let next_ok = node.l0.next == NIL || {
                let (m, s) = self.entry(node.l0.next);
                cmp_entry(s, m, score, member) == Ordering::Greater
            };
            if back_ok && next_ok {
                self.map[idx as usize].score = score;
            } else {
                self.unlink(idx);
                self.map[idx as usize].score = score;
                self.link_in(idx);
            }
            return false;
        }
        let levels = self.random_level();
        let node = Node { score, back: NIL, l0: END, up: vec![END; levels - 1].into_boxed_slice() };
        let (idx, _) = self.map.insert_full(member.into(), node);
        self.link_in(idx as u32);
        true
    }

    /// Removes `member`; its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let idx = self.map.get_index_of(member)? as u32;
        self.unlink(idx);
        let last = self.map.len() as u32 - 1;
        // The last entry moves into the hole: find who links to it before it moves.
        let moved = (idx != last).then(|| {
            let (m, s) = self.entry(last);
            let levels = self.map[last as usize].levels();
            (self.path(s, m).0, levels)
        });
        let (_, node) = self.map.swap_remove_index(idx as usize).expect("index found above");
        if let Some((update, levels)) = moved {
            for (i, &u) in update.iter().enumerate().take(levels) {
                self.link_mut(u, i).next = idx;
            }
            match self.map[idx as usize].l0.next {
                NIL => self.tail = idx,
                n => self.map[n as usize].back = idx,
            }
        }
        Some(node.score)
    }

    /// How many elements come first while `before(score, member)` holds; `before` must be true
    /// for a prefix of the order and false after it.
    pub fn count_while(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut passed = 0usize;
        for i in (0..self.head.len()).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let (m, s) = self.entry(l.next);
                if !before(s, m) {
                    break;
                }
                passed += l.span as usize;
                x = l.next;
            }
        }
        passed
    }

    /// The 0-based rank of `member` and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        Some((self.count_while(|s, m| cmp_entry(s, m, score, member) == Ordering::Less), score))
    }

    /// The node at 0-based `rank`.
    fn node_at(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let mut x = HEAD;
        let mut passed = 0usize;
        for i in (0..self.head.len()).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL || passed + l.span as usize > target {
                    break;
                }
                passed += l.span as usize;
                x = l.next;
            }
            if passed == target {
                return x;
            }
        }
        unreachable!("rank {rank} below length {}", self.len())
    }

    /// Elements from rank `start` on, towards the end (or the start when `rev`).
    pub fn iter_from(&self, start: usize, rev: bool) -> Iter<'_> {
        let x = if start < self.len() { self.node_at(start) } else { NIL };
        Iter { list: self, x, rev }
    }

    /// The entry at map position `i` (any order): O(1) random picks and scan positions.
    pub fn get_index(&self, i: usize) -> (&[u8], f64) {
        let (m, n) = self.map.get_index(i).expect("position below length");
        (m, n.score)
    }

    /// Checks every invariant; for tests.
    #[cfg(test)]
    pub fn check(&self) {
        let mut x = self.head[0].next;
        let mut prev = NIL;
        let mut count = 0;
        while x != NIL {
            let n = &self.map[x as usize];
            assert_eq!(n.back, prev);
            if prev != NIL {
                let (pm, ps) = self.entry(prev);
                let (m, s) = self.entry(x);
                assert_eq!(cmp_entry(ps, pm, s, m), Ordering::Less);
            }
            prev = x;
            x = n.l0.next;
            count += 1;
        }
        assert_eq!(self.tail, prev);
        assert_eq!(count, self.len());
        for r in 0..self.len() {
            let (m, _) = self.entry(self.node_at(r));
            assert_eq!(self.rank(m).unwrap().0, r);
        }
    }
}

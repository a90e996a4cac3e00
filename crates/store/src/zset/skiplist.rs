//! The full form of a sorted set: a member -> node map, and a skiplist with spans whose links
//! live in one arena.
//!
//! Why a skiplist rather than an order-statistic B-tree: the commands need, besides lookups by
//! member, ranks, rank -> element, the first element of a score or lex range, and walks in both
//! directions from any element. A skiplist with spans (Redis's design) gives all of them in
//! O(log n) with one short descent routine, keeps every element at a fixed place while others
//! come and go (so a walk is just following links), and is a few hundred lines whose
//! behaviour on ties and ranges can be checked line by line against Redis's.
//!
//! Layout, chosen for the descent, which is where ZADD spends its time on big sets:
//! - A node's links, all levels, sit side by side in one arena (`links`), so going down a level
//!   reads the neighbouring slot rather than another allocation.
//! - Each link carries, besides its target's map position, the target's arena offset and score.
//!   A descent step that stops (the target comes after the sought entry) therefore reads
//!   nothing but the link in hand, and a step that moves reads only the target's links. The map
//!   entry, and the member bytes, are read only on equal scores.
//! - The member is stored once, as the map's key; links are `u32` positions in that map, whose
//!   positions also give O(1) random picks (ZRANDMEMBER) and stable ZSCAN cursors. Removing an
//!   entry moves the map's last entry into the hole, so the links that pointed at it are
//!   redirected: one more descent.
//! - Freed link runs are kept per height and reused by the next node of that height.

use std::cmp::Ordering;

use foldhash::fast::RandomState;
use indexmap::IndexMap;

use crate::Key;

/// No node: the end of a level.
const NIL: u32 = u32::MAX;
/// Redis's limits: 32 levels, each level a quarter as populated as the one below.
const MAX_LEVEL: usize = 32;
/// The head's links are the arena's first `MAX_LEVEL` slots.
const HEAD_AT: u32 = 0;

#[derive(Clone, Copy, Debug)]
struct Link {
    /// The target's map position, or `NIL`.
    next: u32,
    /// Where the target's links start in the arena.
    next_at: u32,
    /// How many level-0 steps this link jumps over (1 for a neighbour).
    span: u32,
    /// The target's score, so that a descent compares without visiting the target.
    score: f64,
}

const END: Link = Link { next: NIL, next_at: 0, span: 0, score: 0.0 };

#[derive(Clone, Copy, Debug)]
struct Node {
    score: f64,
    /// The previous element (level 0), or `NIL` for the first.
    back: u32,
    /// Where this node's links start in the arena.
    at: u32,
    levels: u8,
}

/// Members up to 22 bytes live inside the map's entry (`Key`'s inline form): a lookup or a tie
/// compare then reads no other allocation.
type Map = IndexMap<Key, Node, RandomState>;

/// The order of sorted set elements: by score, ties by member bytes.
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// Per level, the arena offset of the last node before a given entry and the elements passed
/// to reach it; plus that node's map position at level 0.
struct Path {
    at: [u32; MAX_LEVEL],
    rank: [u32; MAX_LEVEL],
    prev: u32,
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
        self.x = if self.rev { n.back } else { self.list.links[n.at as usize].next };
        Some((m.as_bytes(), n.score))
    }
}

#[derive(Clone, Debug)]
pub struct SkipList {
    map: Map,
    links: Vec<Link>,
    /// Freed link runs, indexed by their length.
    free: Vec<Vec<u32>>,
    /// Levels in use by the head.
    level: usize,
    tail: u32,
    seed: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        SkipList::with_capacity(0)
    }
}

impl SkipList {
    pub fn with_capacity(n: usize) -> SkipList {
        let mut links = Vec::with_capacity(MAX_LEVEL + n + n / 3);
        links.resize(MAX_LEVEL, END);
        SkipList {
            map: Map::with_capacity_and_hasher(n, RandomState::default()),
            links,
            free: Vec::new(),
            level: 1,
            tail: NIL,
            seed: 0x2545_F491_4F6C_DD1D,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn heap_size(&self) -> usize {
        const SLOT: usize = std::mem::size_of::<(u64, Key, Node)>();
        const INDEX: usize = (std::mem::size_of::<usize>() + 1) * 8 / 7;
        let members: usize = self.map.keys().map(Key::heap_size).sum();
        let free: usize = self.free.iter().map(|f| f.capacity() * 4).sum();
        self.map.capacity() * (SLOT + INDEX) + self.links.capacity() * std::mem::size_of::<Link>() + free + members
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.map.get(member).map(|n| n.score)
    }

    fn member(&self, node: u32) -> &[u8] {
        self.map.get_index(node as usize).expect("linked node is in the map").0.as_bytes()
    }

    fn entry(&self, node: u32) -> (&[u8], f64) {
        let (m, n) = self.map.get_index(node as usize).expect("linked node is in the map");
        (m.as_bytes(), n.score)
    }

    fn link(&self, at: u32, level: usize) -> &Link {
        &self.links[at as usize + level]
    }

    fn link_mut(&mut self, at: u32, level: usize) -> &mut Link {
        &mut self.links[at as usize + level]
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

    fn alloc_links(&mut self, levels: usize) -> u32 {
        if let Some(at) = self.free.get_mut(levels).and_then(Vec::pop) {
            return at;
        }
        let at = self.links.len();
        self.links.resize(at + levels, END);
        u32::try_from(at).expect("fewer than 2^32 skiplist links")
    }

    fn free_links(&mut self, at: u32, levels: usize) {
        if self.free.len() <= levels {
            self.free.resize_with(levels + 1, Vec::new);
        }
        self.free[levels].push(at);
    }

    /// Whether the element `next` of a link whose cached score is `next_score` comes before
    /// (score, member).
    fn precedes(&self, next: u32, next_score: f64, score: f64, member: &[u8]) -> bool {
        match next_score.partial_cmp(&score) {
            Some(Ordering::Less) => true,
            Some(Ordering::Greater) => false,
            _ => self.member(next) < member,
        }
    }

    /// For each level, the last node whose entry comes before (score, member).
    fn path(&self, score: f64, member: &[u8]) -> Path {
        let mut path = Path { at: [HEAD_AT; MAX_LEVEL], rank: [0; MAX_LEVEL], prev: NIL };
        let mut x_at = HEAD_AT;
        let mut passed = 0u32;
        for i in (0..self.level).rev() {
            loop {
                let l = *self.link(x_at, i);
                if l.next == NIL || !self.precedes(l.next, l.score, score, member) {
                    break;
                }
                passed += l.span;
                path.prev = l.next;
                x_at = l.next_at;
            }
            path.at[i] = x_at;
            path.rank[i] = passed;
        }
        path
    }

    /// Threads the node at `idx` (in the map, unlinked) into the list at its place.
    fn link_in(&mut self, idx: u32) {
        let (member, score) = self.entry(idx);
        let mut path = self.path(score, member);
        let node = self.map[idx as usize];
        let levels = node.levels as usize;
        let len = self.map.len() as u32;
        // `len` counts this node already; the head's new levels span the others.
        while self.level < levels {
            let i = self.level;
            *self.link_mut(HEAD_AT, i) = Link { span: len - 1, ..END };
            path.at[i] = HEAD_AT;
            path.rank[i] = 0;
            self.level += 1;
        }
        for i in 0..levels {
            let prev = *self.link(path.at[i], i);
            let before = path.rank[0] - path.rank[i];
            *self.link_mut(node.at, i) = Link { span: prev.span.wrapping_sub(before), ..prev };
            *self.link_mut(path.at[i], i) = Link { next: idx, next_at: node.at, span: before + 1, score };
        }
        for i in levels..self.level {
            let l = self.link_mut(path.at[i], i);
            l.span = l.span.wrapping_add(1);
        }
        self.map[idx as usize].back = path.prev;
        match self.link(node.at, 0).next {
            NIL => self.tail = idx,
            next => self.map[next as usize].back = idx,
        }
    }

    /// Takes the node at `idx` out of the list (it stays in the map); `path` leads to it.
    fn unlink(&mut self, idx: u32, path: &Path) {
        let node = self.map[idx as usize];
        for i in 0..self.level {
            let l = *self.link(path.at[i], i);
            if l.next == idx {
                let own = *self.link(node.at, i);
                *self.link_mut(path.at[i], i) = Link { span: l.span.wrapping_add(own.span).wrapping_sub(1), ..own };
            } else {
                let l = self.link_mut(path.at[i], i);
                l.span = l.span.wrapping_sub(1);
            }
        }
        match self.link(node.at, 0).next {
            NIL => self.tail = node.back,
            n => self.map[n as usize].back = node.back,
        }
        while self.level > 1 && self.link(HEAD_AT, self.level - 1).next == NIL {
            self.level -= 1;
        }
    }

    /// Sets `member`'s score; true if it is new.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        if let Some(idx) = self.map.get_index_of(member) {
            let node = self.map[idx];
            if node.score == score {
                return false;
            }
            let idx = idx as u32;
            let path = self.path(node.score, member);
            // Still between its neighbours: only the number changes, as in Redis.
            let back_ok = node.back == NIL || {
                let (m, s) = self.entry(node.back);
                cmp_entry(s, m, score, member) == Ordering::Less
            };
            let next = *self.link(node.at, 0);
            let next_ok = next.next == NIL || {
                cmp_entry(next.score, self.member(next.next), score, member) == Ordering::Greater
            };
            if back_ok && next_ok {
                self.map[idx as usize].score = score;
                for i in 0..node.levels as usize {
                    self.link_mut(path.at[i], i).score = score;
                }
            } else {
                self.unlink(idx, &path);
                self.map[idx as usize].score = score;
                self.link_in(idx);
            }
            return false;
        }
        let levels = self.random_level();
        let at = self.alloc_links(levels);
        let node = Node { score, back: NIL, at, levels: levels as u8 };
        let (idx, _) = self.map.insert_full(Key::new(member), node);
        self.link_in(idx as u32);
        true
    }

    /// Removes `member`; its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let idx = self.map.get_index_of(member)? as u32;
        let node = self.map[idx as usize];
        let path = self.path(node.score, member);
        self.unlink(idx, &path);
        self.free_links(node.at, node.levels as usize);
        let last = self.map.len() as u32 - 1;
        // The last entry moves into the hole: find who links to it before it moves.
        let moved = (idx != last).then(|| {
            let (m, s) = self.entry(last);
            let moved = self.map[last as usize];
            (self.path(s, m), moved)
        });
        self.map.swap_remove_index(idx as usize).expect("index found above");
        if let Some((path, moved)) = moved {
            for i in 0..moved.levels as usize {
                self.link_mut(path.at[i], i).next = idx;
            }
            match self.link(moved.at, 0).next {
                NIL => self.tail = idx,
                n => self.map[n as usize].back = idx,
            }
        }
        Some(node.score)
    }

    /// How many elements come first while `before(score, member)` holds; `before` must be true
    /// for a prefix of the order and false after it.
    pub fn count_while(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x_at = HEAD_AT;
        let mut passed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = *self.link(x_at, i);
                if l.next == NIL || !before(l.score, self.member(l.next)) {
                    break;
                }
                passed += l.span as usize;
                x_at = l.next_at;
            }
        }
        passed
    }

    /// The 0-based rank of `member` and its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        Some((self.path(score, member).rank[0] as usize, score))
    }

    /// The node at 0-based `rank`.
    fn node_at(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let mut x = NIL;
        let mut x_at = HEAD_AT;
        let mut passed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = *self.link(x_at, i);
                if l.next == NIL || passed + l.span as usize > target {
                    break;
                }
                passed += l.span as usize;
                x = l.next;
                x_at = l.next_at;
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
        (m.as_bytes(), n.score)
    }

    /// Checks every invariant; for tests.
    #[cfg(test)]
    pub fn check(&self) {
        let mut x = self.link(HEAD_AT, 0).next;
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
            x = self.link(n.at, 0).next;
            count += 1;
        }
        assert_eq!(self.tail, prev);
        assert_eq!(count, self.len());
        // Every link's cached target agrees with the target itself.
        for (_, n) in self.map.iter() {
            for i in 0..n.levels as usize {
                let l = self.link(n.at, i);
                if l.next != NIL {
                    let target = &self.map[l.next as usize];
                    assert_eq!((l.next_at, l.score.to_bits()), (target.at, target.score.to_bits()));
                }
            }
        }
        for r in 0..self.len() {
            let (m, _) = self.entry(self.node_at(r));
            assert_eq!(self.rank(m).unwrap().0, r);
        }
    }
}

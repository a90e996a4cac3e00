//! The timeline workload: posts arrive at a fixed rate and are fanned out to every follower's home
//! timeline (LPUSH + LTRIM 0 799, pipelined in batches of up to 4000 destinations), while readers
//! fetch LRANGE 0 49 of random home timelines.

use super::graph::Graph;
use super::mix::post_key;
use super::{decimal, Driver, KeyBuf, KeyDist, OpState};
use crate::conn::Writer;
use crate::rng::Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Histogram labels: reads, fan-out completion per post, and fan-out of the largest account's posts.
pub const LABELS: [&str; 3] = ["LRANGE", "FANOUT", "FANOUT_LARGEST"];
pub const READ: u16 = 0;
pub const FANOUT: u16 = 1;
pub const FANOUT_LARGEST: u16 = 2;

/// Destinations per pipelined batch of one post's fan-out.
pub const BATCH: usize = 4000;
/// Home timelines keep this many newest entries (LTRIM 0 799).
pub const TIMELINE_LEN: &[u8] = b"799";
/// Every this many posts (starting with the first) is by the account with the most followers, so
/// its fan-out time is always measured.
pub const LARGEST_EVERY: u64 = 100;

/// State shared by the connections of one timeline run.
pub struct Timeline {
    pub graph: Graph,
    next_post: AtomicU64,
    pub deliveries: AtomicU64,
    pub value: Arc<[u8]>,
}

impl Timeline {
    pub fn new(graph: Graph, value: Arc<[u8]>) -> Timeline {
        Timeline { graph, next_post: AtomicU64::new(0), deliveries: AtomicU64::new(0), value }
    }

    pub fn posts_started(&self) -> u64 {
        self.next_post.load(Ordering::Relaxed)
    }
}

/// A connection that publishes posts (paced by the post rate).
pub struct PostDriver {
    shared: Arc<Timeline>,
    rng: Rng,
    key: KeyBuf,
}

impl PostDriver {
    pub fn new(shared: Arc<Timeline>, seed: u64) -> PostDriver {
        PostDriver { shared, rng: Rng::new(seed), key: KeyBuf::new(b"", None) }
    }

    /// Queues the LPUSH + LTRIM pairs for destinations `from..` (one batch); returns where the
    /// next batch starts.
    fn batch(&mut self, w: &mut Writer, author: u32, post: u64, from: usize) -> usize {
        let followers = &self.shared.graph.followers[author as usize];
        let to = (from + BATCH).min(followers.len());
        let mut d = [0u8; 20];
        let id = decimal(&mut d, post);
        for &f in &followers[from..to] {
            self.key.set(b"timeline:", Some(f as u64));
            w.cmd(&[b"LPUSH", self.key.as_bytes(), id]);
            w.cmd(&[b"LTRIM", self.key.as_bytes(), b"0", TIMELINE_LEN]);
        }
        to
    }
}

impl Driver for PostDriver {
    fn begin(&mut self, w: &mut Writer, op: &mut OpState) {
        let post = self.shared.next_post.fetch_add(1, Ordering::Relaxed);
        let graph = &self.shared.graph;
        let author = if post.is_multiple_of(LARGEST_EVERY) {
            graph.largest
        } else {
            self.rng.below(graph.users() as u64) as u32
        };
        op.label = FANOUT;
        if author == graph.largest {
            op.also = FANOUT_LARGEST;
        }
        let mut d = [0u8; 20];
        let key = post_key(decimal(&mut d, post));
        let value = self.shared.value.clone();
        w.cmd(&[b"SET", &key, &value]);
        let next = self.batch(w, author, post, 0);
        op.ctx = post;
        op.ctx2 = ((author as u64) << 32) | next as u64;
    }

    fn step_done(&mut self, w: &mut Writer, op: &mut OpState) {
        let author = (op.ctx2 >> 32) as u32;
        let from = (op.ctx2 & 0xFFFF_FFFF) as usize;
        if from < self.shared.graph.followers[author as usize].len() {
            let next = self.batch(w, author, op.ctx, from);
            op.ctx2 = ((author as u64) << 32) | next as u64;
        }
    }

    fn finished(&mut self, op: &OpState) {
        let author = (op.ctx2 >> 32) as usize;
        let n = self.shared.graph.followers[author].len() as u64;
        self.shared.deliveries.fetch_add(n, Ordering::Relaxed);
    }
}

/// A connection that reads home timelines.
pub struct ReadDriver {
    users: KeyDist,
    rng: Rng,
    key: KeyBuf,
}

impl ReadDriver {
    pub fn new(users: KeyDist, seed: u64) -> ReadDriver {
        ReadDriver { users, rng: Rng::new(seed), key: KeyBuf::new(b"", None) }
    }
}

impl Driver for ReadDriver {
    fn begin(&mut self, w: &mut Writer, op: &mut OpState) {
        op.label = READ;
        let user = self.users.pick(&mut self.rng).unwrap_or(0);
        self.key.set(b"timeline:", Some(user));
        w.cmd(&[b"LRANGE", self.key.as_bytes(), b"0", b"49"]);
    }
}

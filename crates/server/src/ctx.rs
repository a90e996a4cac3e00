//! What a command handler gets: the server, its client, the reply buffer, its worker.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use roost_resp::ReplyBuf;

use crate::client::{ClientHandle, ClientState};
use crate::server::{Rng, Server};
use crate::stats::WorkerStats;

pub struct Ctx<'a> {
    pub server: &'a Arc<Server>,
    pub client: &'a mut ClientState,
    pub handle: &'a Arc<ClientHandle>,
    pub reply: &'a mut ReplyBuf,
    pub stats: &'a WorkerStats,
    pub rng: &'a mut Rng,
    /// When the previous command of this batch ended (or the batch began): one clock read per
    /// command times it, instead of two.
    pub clock: &'a mut std::time::Instant,
}

impl Ctx<'_> {
    pub fn db(&self) -> usize {
        self.client.db
    }

    pub fn hit(&self) {
        self.stats.keyspace_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn miss(&self) {
        self.stats.keyspace_misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a lookup as a keyspace hit or miss.
    pub fn count_lookup(&self, found: bool) {
        if found {
            self.hit()
        } else {
            self.miss()
        }
    }
}

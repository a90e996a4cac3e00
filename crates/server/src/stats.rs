//! Server statistics. Counters a command bumps live in its worker's own block, so threads never
//! contend on a shared cache line; INFO adds the blocks up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

#[derive(Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    pub latency: LatencyHistogram,
}

/// Sub-buckets per power of two: values are kept to within 1/16 (about 6%).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Enough buckets for durations up to 2^40 ns (about 18 minutes).
const BUCKETS: usize = (40 - SUB_BITS as usize + 1) * SUB;

/// A log-linear histogram of command durations in nanoseconds (INFO latencystats).
pub struct LatencyHistogram {
    counts: Box<[AtomicU64]>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl LatencyHistogram {
    fn bucket(ns: u64) -> usize {
        if ns < SUB as u64 {
            return ns as usize;
        }
        let exp = 63 - ns.leading_zeros();
        let shift = exp - SUB_BITS;
        let idx = ((exp - SUB_BITS + 1) as usize) * SUB + ((ns >> shift) as usize & (SUB - 1));
        idx.min(BUCKETS - 1)
    }

    /// The largest value that lands in bucket `i`.
    fn upper_bound(i: usize) -> u64 {
        if i < SUB {
            return i as u64;
        }
        let exp = (i / SUB) as u32 + SUB_BITS - 1;
        let sub = (i % SUB) as u64;
        let shift = exp - SUB_BITS;
        (((SUB as u64) | sub) << shift) + (1u64 << shift) - 1
    }

    pub fn record(&self, ns: u64) {
        self.counts[Self::bucket(ns)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Adds this histogram's counts into `into` (summing workers).
    pub fn add_to(&self, into: &mut [u64]) {
        for (i, c) in self.counts.iter().enumerate() {
            into[i] += c.load(Ordering::Relaxed);
        }
    }

    pub fn empty_counts() -> Vec<u64> {
        vec![0; BUCKETS]
    }

    /// The value at percentile `p` (0-100) of merged `counts`, in nanoseconds.
    pub fn percentile(counts: &[u64], p: f64) -> u64 {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper_bound(i);
            }
        }
        Self::upper_bound(counts.len() - 1)
    }
}

/// Per-worker counters.
pub struct WorkerStats {
    pub commands: Vec<CommandStat>,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Write commands executed (INFO's rdb_changes_since_last_save).
    pub dirty: AtomicU64,
    /// Reads and writes on client sockets.
    pub reads: AtomicU64,
    pub writes: AtomicU64,
    /// Raised while this worker executes commands (see `gate`).
    pub active: std::sync::atomic::AtomicBool,
}

impl WorkerStats {
    pub fn new(commands: usize) -> WorkerStats {
        WorkerStats {
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            active: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn reset(&self) {
        for c in &self.commands {
            c.calls.store(0, Ordering::Relaxed);
            c.usec.store(0, Ordering::Relaxed);
            c.rejected.store(0, Ordering::Relaxed);
            c.failed.store(0, Ordering::Relaxed);
            c.latency.reset();
        }
        self.keyspace_hits.store(0, Ordering::Relaxed);
        self.keyspace_misses.store(0, Ordering::Relaxed);
        self.net_input_bytes.store(0, Ordering::Relaxed);
        self.net_output_bytes.store(0, Ordering::Relaxed);
        self.reads.store(0, Ordering::Relaxed);
        self.writes.store(0, Ordering::Relaxed);
    }
}

/// Counters bumped rarely (per connection or per error), shared by all threads.
#[derive(Default)]
pub struct GlobalStats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub expired_keys_reset_base: AtomicU64,
    /// Error replies by their first word (INFO errorstats).
    pub errors: Mutex<BTreeMap<String, u64>>,
}

impl GlobalStats {
    pub fn reset(&self) {
        self.connections_received.store(0, Ordering::Relaxed);
        self.rejected_connections.store(0, Ordering::Relaxed);
        self.errors.lock().clear();
    }

    pub fn count_error(&self, text: &str) {
        let code = text.split(' ').next().unwrap_or("ERR");
        *self.errors.lock().entry(code.to_string()).or_insert(0) += 1;
    }

    pub fn total_errors(&self) -> u64 {
        self.errors.lock().values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::LatencyHistogram;

    #[test]
    fn histogram_percentiles_are_close() {
        let h = LatencyHistogram::default();
        for ns in 1..=1000u64 {
            h.record(ns * 1000);
        }
        let mut counts = LatencyHistogram::empty_counts();
        h.add_to(&mut counts);
        let p50 = LatencyHistogram::percentile(&counts, 50.0) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.07, "{p50}");
        let p99 = LatencyHistogram::percentile(&counts, 99.0) as f64;
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.07, "{p99}");
        for i in 0..super::BUCKETS {
            assert_eq!(LatencyHistogram::bucket(LatencyHistogram::upper_bound(i)), i);
        }
    }
}

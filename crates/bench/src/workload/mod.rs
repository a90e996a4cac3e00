//! What a connection sends: a workload hands each connection a `Driver` that starts operations and
//! continues the multi-step ones (an operation is one or more requests whose latency is measured
//! from its start to its last reply).

pub mod graph;
pub mod mix;
pub mod suite;
pub mod timeline;
pub mod zipf;

use crate::conn::Writer;
use crate::rng::Rng;
use std::time::Instant;
use zipf::Zipf;

/// An operation in progress on one connection.
#[derive(Debug)]
pub struct OpState {
    /// Histogram the latency goes to.
    pub label: u16,
    /// A second histogram that also gets it (`NO_LABEL` for none).
    pub also: u16,
    /// Send time (closed loop) or scheduled send time (open loop).
    pub start: Instant,
    /// Replies still awaited for the current step.
    pub pending: u32,
    /// Which step the operation is in (0 for the first).
    pub step: u32,
    /// Workload-defined (a post id, a destination offset, ...).
    pub ctx: u64,
    pub ctx2: u64,
    /// Bulk strings out of the replies asked for with `Writer::cmd_data`.
    pub data: Vec<Vec<u8>>,
}

pub const NO_LABEL: u16 = u16::MAX;

impl OpState {
    pub fn new(start: Instant) -> OpState {
        OpState { label: 0, also: NO_LABEL, start, pending: 0, step: 0, ctx: 0, ctx2: 0, data: Vec::new() }
    }
}

/// Generates the requests of one connection.
pub trait Driver: Send {
    /// Starts a new operation: sets `op.label` and queues its first requests on `w`.
    fn begin(&mut self, w: &mut Writer, op: &mut OpState);

    /// All replies of the operation's current step are in; queue the next step's requests on `w`,
    /// or none to finish the operation.
    fn step_done(&mut self, _w: &mut Writer, _op: &mut OpState) {}

    /// Runs when an operation finishes (after its latency is recorded).
    fn finished(&mut self, _op: &OpState) {}
}

/// Keys as redis-benchmark makes them: `prefix` + the random number zero-padded to 12 digits, or
/// the literal `__rand_int__` without a keyspace (-r).
pub struct KeyBuf {
    buf: [u8; 64],
    len: usize,
}

impl KeyBuf {
    pub fn new(prefix: &[u8], n: Option<u64>) -> KeyBuf {
        let mut k = KeyBuf { buf: [0; 64], len: 0 };
        k.set(prefix, n);
        k
    }

    pub fn set(&mut self, prefix: &[u8], n: Option<u64>) {
        let p = prefix.len().min(40);
        self.buf[..p].copy_from_slice(&prefix[..p]);
        self.len = p;
        match n {
            Some(mut n) => {
                let mut i = self.len + 12;
                let end = i;
                while i > self.len {
                    i -= 1;
                    self.buf[i] = b'0' + (n % 10) as u8;
                    n /= 10;
                }
                self.len = end;
            }
            None => {
                self.buf[self.len..self.len + 12].copy_from_slice(b"__rand_int__");
                self.len += 12;
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// How keys are drawn from the keyspace.
#[derive(Clone, Debug)]
pub enum KeyDist {
    /// No keyspace: one fixed key (redis-benchmark without -r).
    Fixed,
    Uniform(u64),
    /// Rank 1 (the hottest) is key 0.
    Zipf(Zipf),
}

impl KeyDist {
    pub fn new(keyspace: Option<u64>, zipf: Option<f64>) -> KeyDist {
        match (keyspace, zipf) {
            (None, _) => KeyDist::Fixed,
            (Some(n), None) => KeyDist::Uniform(n),
            (Some(n), Some(s)) => KeyDist::Zipf(Zipf::new(n, s)),
        }
    }

    pub fn pick(&self, rng: &mut Rng) -> Option<u64> {
        match self {
            KeyDist::Fixed => None,
            KeyDist::Uniform(n) => Some(rng.below(*n)),
            KeyDist::Zipf(z) => Some(z.sample(rng) - 1),
        }
    }
}

/// Writes a decimal number into `buf`, returning the digits.
pub fn decimal(buf: &mut [u8; 20], n: u64) -> &[u8] {
    roost_resp::uint_digits(n, buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_like_redis_benchmark_keys() {
        assert_eq!(KeyBuf::new(b"key:", Some(1234)).as_bytes(), b"key:000000001234");
        assert_eq!(KeyBuf::new(b"key:", None).as_bytes(), b"key:__rand_int__");
        let mut d = [0u8; 20];
        assert_eq!(decimal(&mut d, 0), b"0");
        assert_eq!(decimal(&mut d, u64::MAX), b"18446744073709551615");
    }
}

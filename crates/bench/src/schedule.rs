//! When operations start: the open-loop timetable (a fixed rate, each send time computed from the
//! run's start so late sends never shift later ones) and the run's shared budget of operations.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// Send times of one connection in an open-loop run: the total rate R is split over C
/// connections, connection i sending at `start + (i + k * C) / R` for k = 0, 1, 2, ... so the
/// connections interleave evenly.
#[derive(Clone, Debug)]
pub struct Schedule {
    start: Instant,
    offset_ns: f64,
    period_ns: f64,
    next: u64,
}

impl Schedule {
    /// Connection `index` of `of` sharing `rate` operations per second.
    pub fn new(start: Instant, rate: f64, index: usize, of: usize) -> Schedule {
        let period_ns = 1e9 * of as f64 / rate;
        Schedule { start, offset_ns: 1e9 * index as f64 / rate, period_ns, next: 0 }
    }

    /// The send time of the next operation (whether due yet or not).
    pub fn peek(&self) -> Instant {
        let ns = self.offset_ns + self.next as f64 * self.period_ns;
        self.start + Duration::from_nanos(ns as u64)
    }

    /// The next send time if it is due at `now`, consuming it.
    pub fn due(&mut self, now: Instant) -> Option<Instant> {
        let t = self.peek();
        if t <= now {
            self.next += 1;
            Some(t)
        } else {
            None
        }
    }
}

/// How much a run may still do: a number of operations (shared by all threads) and/or a deadline.
/// Threads take operations in small chunks so the counter is not touched per request.
#[derive(Debug)]
pub struct Budget {
    remaining: Option<AtomicI64>,
    deadline: Option<Instant>,
    stopped: AtomicBool,
}

impl Budget {
    pub fn new(ops: Option<u64>, deadline: Option<Instant>) -> Budget {
        Budget {
            remaining: ops.map(|n| AtomicI64::new(n.min(i64::MAX as u64) as i64)),
            deadline,
            stopped: AtomicBool::new(false),
        }
    }

    /// Takes up to `want` operations; 0 when the budget is spent or the deadline passed.
    pub fn take(&self, want: u64, now: Instant) -> u64 {
        if self.stopped.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| now >= d) {
            return 0;
        }
        let Some(remaining) = &self.remaining else { return want };
        let before = remaining.fetch_sub(want as i64, Ordering::Relaxed);
        if before <= want as i64 {
            self.stopped.store(true, Ordering::Relaxed);
        }
        before.clamp(0, want as i64) as u64
    }

    /// Whether anything is left (for connections that run alongside the counted ones).
    pub fn live(&self, now: Instant) -> bool {
        !self.stopped.load(Ordering::Relaxed) && self.deadline.is_none_or(|d| now < d)
    }

    /// Ends the run early (an error elsewhere).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_sends_at_the_rate_without_drift_however_late_it_is_polled() {
        let start = Instant::now();
        let mut s = Schedule::new(start, 1000.0, 0, 1); // one per millisecond
                                                        // Polled only once, 10.5 ms in: eleven sends are due, each at its own time.
        let now = start + Duration::from_micros(10_500);
        let times: Vec<Instant> = std::iter::from_fn(|| s.due(now)).collect();
        assert_eq!(times.len(), 11);
        for (k, t) in times.iter().enumerate() {
            assert_eq!(t.duration_since(start), Duration::from_millis(k as u64));
        }
        assert_eq!(s.peek().duration_since(start), Duration::from_millis(11));
        // A million periods later the send time is still exact (no accumulated rounding).
        let mut far = Schedule::new(start, 3.0, 0, 1);
        far.next = 3_000_000;
        let t = far.peek().duration_since(start).as_secs_f64();
        assert!((t - 1_000_000.0).abs() < 1e-6, "{t}");
    }

    #[test]
    fn connections_interleave_to_make_the_total_rate() {
        let start = Instant::now();
        let mut all: Vec<Duration> = Vec::new();
        for i in 0..4 {
            let mut s = Schedule::new(start, 400.0, i, 4); // 100/s each
            let now = start + Duration::from_millis(999);
            all.extend(std::iter::from_fn(|| s.due(now)).map(|t| t.duration_since(start)));
        }
        all.sort();
        assert_eq!(all.len(), 400);
        for (k, d) in all.iter().enumerate() {
            assert_eq!(d.as_micros(), k as u128 * 2_500, "send {k}");
        }
    }

    #[test]
    fn budget_hands_out_exactly_its_operations_then_stops() {
        let now = Instant::now();
        let b = Budget::new(Some(10), None);
        assert_eq!(b.take(4, now), 4);
        assert_eq!(b.take(4, now), 4);
        assert!(b.live(now));
        assert_eq!(b.take(4, now), 2);
        assert!(!b.live(now));
        assert_eq!(b.take(4, now), 0);
        let timed = Budget::new(None, Some(now + Duration::from_secs(1)));
        assert_eq!(timed.take(7, now), 7);
        assert_eq!(timed.take(7, now + Duration::from_secs(2)), 0);
    }

    #[test]
    fn budget_is_exact_across_threads() {
        let b = Budget::new(Some(100_000), None);
        let taken: u64 = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = 0;
                        loop {
                            let got = b.take(7, Instant::now());
                            if got == 0 {
                                return mine;
                            }
                            mine += got;
                        }
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(taken, 100_000);
    }
}

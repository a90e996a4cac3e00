//! Latency histograms: one HDR histogram per command label, recorded in nanoseconds and reported in
//! microseconds. Each worker thread records into its own set and merges it into the shared set now
//! and then, so the hot loop never takes a lock per request.

use hdrhistogram::Histogram;
use std::time::Duration;

/// Highest latency a histogram can hold (longer ones are clamped to it): 100 seconds.
const HIGHEST_NS: u64 = 100_000_000_000;
/// Three significant digits: a 0.1% error on any value, like redis-benchmark's own histograms.
const SIGFIG: u8 = 3;

/// The percentiles every report prints, with the names the JSON output uses.
pub const PERCENTILES: [(&str, f64); 5] =
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9), ("p99.99", 99.99)];

/// Latencies of one kind of operation.
#[derive(Clone, Debug)]
pub struct Latency {
    h: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

impl Latency {
    pub fn new() -> Latency {
        Latency { h: Histogram::new_with_bounds(1, HIGHEST_NS, SIGFIG).expect("constant bounds are valid") }
    }

    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.h.saturating_record(ns);
    }

    pub fn record_ns(&mut self, ns: u64) {
        self.h.saturating_record(ns.max(1));
    }

    /// Adds `other`'s counts; both have the same bounds, so this cannot fail.
    pub fn merge(&mut self, other: &Latency) {
        self.h.add(&other.h).expect("histograms share their bounds");
    }

    pub fn reset(&mut self) {
        self.h.reset();
    }

    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// The latency at percentile `p` (0..=100), in microseconds.
    pub fn percentile_us(&self, p: f64) -> f64 {
        if self.h.is_empty() {
            return 0.0;
        }
        self.h.value_at_percentile(p) as f64 / 1000.0
    }

    pub fn mean_us(&self) -> f64 {
        if self.h.is_empty() {
            return 0.0;
        }
        self.h.mean() / 1000.0
    }

    pub fn min_us(&self) -> f64 {
        if self.h.is_empty() {
            return 0.0;
        }
        self.h.min() as f64 / 1000.0
    }

    pub fn max_us(&self) -> f64 {
        if self.h.is_empty() {
            return 0.0;
        }
        self.h.max() as f64 / 1000.0
    }

    /// (percentile, microseconds) points of the whole curve, for the chart: dense where the
    /// interesting tail is (each halving of the distance to 100% gets `ticks` points).
    pub fn curve(&self, ticks: u32) -> Vec<(f64, f64)> {
        if self.h.is_empty() {
            return Vec::new();
        }
        self.h
            .iter_quantiles(ticks)
            .map(|v| (v.quantile_iterated_to() * 100.0, v.value_iterated_to() as f64 / 1000.0))
            .collect()
    }
}

/// A set of named histograms (one per operation label) plus counters, as kept per worker and
/// merged into the run's totals.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    pub hists: Vec<Latency>,
    /// Requests (commands) answered; an operation may take several.
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// How many trailing histograms re-record operations already counted in another one (the
    /// largest account's fan-outs are also fan-outs); they are left out of totals.
    pub views: usize,
}

impl Recorder {
    pub fn new(labels: usize) -> Recorder {
        Recorder { hists: (0..labels).map(|_| Latency::new()).collect(), ..Recorder::default() }
    }

    pub fn with_views(labels: usize, views: usize) -> Recorder {
        Recorder { views: views.min(labels), ..Recorder::new(labels) }
    }

    /// The histograms that count each operation once.
    fn primary(&self) -> &[Latency] {
        &self.hists[..self.hists.len() - self.views]
    }

    pub fn ops(&self) -> u64 {
        self.primary().iter().map(Latency::count).sum()
    }

    /// Moves everything recorded in `other` into `self` and clears `other`.
    pub fn drain_from(&mut self, other: &mut Recorder) {
        for (mine, theirs) in self.hists.iter_mut().zip(other.hists.iter_mut()) {
            mine.merge(theirs);
            theirs.reset();
        }
        self.requests += std::mem::take(&mut other.requests);
        self.errors += std::mem::take(&mut other.errors);
        if self.first_error.is_none() {
            self.first_error = other.first_error.take();
        }
    }

    /// All labels merged into one histogram.
    pub fn overall(&self) -> Latency {
        let mut all = Latency::new();
        for h in self.primary() {
            all.merge(h);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histograms_answer_like_one_that_saw_everything() {
        let (mut a, mut b, mut both) = (Latency::new(), Latency::new(), Latency::new());
        for i in 1..=10_000u64 {
            let ns = i * 1_000; // 1us .. 10ms
            if i % 3 == 0 {
                a.record_ns(ns)
            } else {
                b.record_ns(ns)
            }
            both.record_ns(ns);
        }
        a.merge(&b);
        assert_eq!(a.count(), 10_000);
        for (_, p) in PERCENTILES {
            assert_eq!(a.percentile_us(p), both.percentile_us(p));
        }
        assert_eq!(a.max_us(), both.max_us());
        // The values themselves are within the 3-digit precision.
        assert!((a.percentile_us(50.0) - 5_000.0).abs() <= 5.0, "{}", a.percentile_us(50.0));
        assert!((a.percentile_us(99.0) - 9_900.0).abs() <= 10.0);
    }

    #[test]
    fn recorder_drain_moves_counts_and_keeps_the_first_error() {
        let mut total = Recorder::new(2);
        let mut local = Recorder::new(2);
        local.hists[1].record(Duration::from_micros(5));
        local.requests = 3;
        local.errors = 1;
        local.first_error = Some("ERR one".into());
        total.drain_from(&mut local);
        local.first_error = Some("ERR two".into());
        local.hists[0].record(Duration::from_micros(7));
        total.drain_from(&mut local);
        assert_eq!((total.ops(), total.requests, total.errors), (2, 3, 1));
        assert_eq!(total.first_error.as_deref(), Some("ERR one"));
        assert_eq!(local.ops(), 0);
        assert_eq!(total.overall().count(), 2);
        let mut viewed = Recorder::with_views(2, 1);
        viewed.hists[0].record(Duration::from_micros(1));
        viewed.hists[1].record(Duration::from_micros(1));
        assert_eq!((viewed.ops(), viewed.overall().count()), (1, 1));
    }

    #[test]
    fn huge_and_zero_latencies_are_clamped_not_lost() {
        let mut h = Latency::new();
        h.record(Duration::from_secs(1_000));
        h.record(Duration::ZERO);
        assert_eq!(h.count(), 2);
    }
}

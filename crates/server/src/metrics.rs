//! Instantaneous rates for INFO (ops/sec, network kbps): counters sampled every 100 ms by the
//! housekeeping thread into small rings, averaged over the last 1.6 seconds as Redis does.

use parking_lot::Mutex;

const SAMPLES: usize = 16;

#[derive(Default)]
struct Ring {
    last_value: u64,
    last_ms: u64,
    rates: [f64; SAMPLES],
    next: usize,
}

impl Ring {
    fn sample(&mut self, value: u64, now_ms: u64) {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let per_sec = value.saturating_sub(self.last_value) as f64 * 1000.0 / (now_ms - self.last_ms) as f64;
            self.rates[self.next] = per_sec;
            self.next = (self.next + 1) % SAMPLES;
        }
        self.last_value = value;
        self.last_ms = now_ms;
    }

    fn mean(&self) -> f64 {
        self.rates.iter().sum::<f64>() / SAMPLES as f64
    }
}

#[derive(Default)]
pub struct InstantMetrics {
    rings: Mutex<[Ring; 3]>,
}

impl InstantMetrics {
    /// Records the current totals of commands, input bytes and output bytes.
    pub fn sample(&self, commands: u64, input: u64, output: u64, now_ms: u64) {
        let mut rings = self.rings.lock();
        rings[0].sample(commands, now_ms);
        rings[1].sample(input, now_ms);
        rings[2].sample(output, now_ms);
    }

    /// (ops/sec, input kbps, output kbps)
    pub fn rates(&self) -> (u64, f64, f64) {
        let rings = self.rings.lock();
        (rings[0].mean() as u64, rings[1].mean() / 1024.0, rings[2].mean() / 1024.0)
    }
}

//! Zipf-distributed ranks by rejection-inversion (W. Hörmann and G. Derflinger, "Rejection-inversion
//! to generate variates from monotone discrete distributions", 1996): O(1) time and memory per
//! sample for any number of elements and any exponent s > 0, with no table.

use crate::rng::Rng;

/// Samples k in 1..=n with P(k) proportional to k^-s.
#[derive(Clone, Debug)]
pub struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    squeeze: f64,
}

impl Zipf {
    /// `n >= 1` elements and exponent `s > 0` (checked by the caller's option parsing).
    pub fn new(n: u64, s: f64) -> Zipf {
        assert!(n >= 1 && s > 0.0 && s.is_finite(), "Zipf needs n >= 1 and a finite s > 0");
        let mut z = Zipf { n: n as f64, s, h_integral_x1: 0.0, h_integral_n: 0.0, squeeze: 0.0 };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(z.n + 0.5);
        z.squeeze = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        z
    }

    pub fn sample(&self, rng: &mut Rng) -> u64 {
        loop {
            // u is uniform in (H(n + 1/2), H(3/2) - 1]; its inverse image is a continuous variate
            // whose density dominates the pmf, and the test below accepts in proportion.
            let u = self.h_integral_n + rng.unit() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.squeeze || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    /// H(x) = integral of h from 1 to x, written so that s = 1 (the logarithm) needs no case.
    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.s) * log_x) * log_x
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    fn h_integral_inverse(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// log(1 + x) / x, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// (exp(x) - 1) / x, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pmf(n: u64, s: f64) -> Vec<f64> {
        let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        let total: f64 = w.iter().sum();
        w.into_iter().map(|x| x / total).collect()
    }

    /// Pearson's chi-square against the exact pmf; the bound is far above the 99.9% quantile of
    /// the chi-square distribution for these degrees of freedom, and far below what a wrong
    /// sampler (off by one rank, wrong exponent) scores.
    fn chi_square(n: u64, s: f64, samples: usize, seed: u64) -> f64 {
        let z = Zipf::new(n, s);
        let mut rng = Rng::new(seed);
        let mut counts = vec![0u64; n as usize];
        for _ in 0..samples {
            let k = z.sample(&mut rng);
            assert!((1..=n).contains(&k));
            counts[k as usize - 1] += 1;
        }
        pmf(n, s)
            .iter()
            .zip(&counts)
            .map(|(p, &c)| {
                let expected = p * samples as f64;
                (c as f64 - expected).powi(2) / expected
            })
            .sum()
    }

    #[test]
    fn frequencies_follow_the_zipf_pmf_for_several_exponents() {
        // 50 ranks -> 49 degrees of freedom; the 99.9% quantile is about 85.
        for s in [0.5, 0.99, 1.0, 1.2, 2.0, 3.5] {
            let x2 = chi_square(50, s, 400_000, 42);
            assert!(x2 < 100.0, "s = {s}: chi-square {x2}");
        }
    }

    #[test]
    fn a_wrong_exponent_is_detected_by_the_same_test() {
        // Guards the test itself: samples for s = 1.1 scored against s = 1.0 must fail.
        let z = Zipf::new(50, 1.1);
        let mut rng = Rng::new(1);
        let mut counts = vec![0u64; 50];
        for _ in 0..400_000 {
            counts[z.sample(&mut rng) as usize - 1] += 1;
        }
        let x2: f64 =
            pmf(50, 1.0).iter().zip(&counts).map(|(p, &c)| (c as f64 - p * 400_000.0).powi(2) / (p * 400_000.0)).sum();
        assert!(x2 > 200.0, "{x2}");
    }

    #[test]
    fn large_keyspaces_put_the_head_mass_where_the_pmf_says() {
        let (n, s) = (1_000_000u64, 1.0);
        let z = Zipf::new(n, s);
        let mut rng = Rng::new(9);
        let samples = 500_000;
        let top = (0..samples).filter(|_| z.sample(&mut rng) == 1).count() as f64 / samples as f64;
        // P(1) = 1 / H_n, H_n ~ ln n + 0.5772 + 1/(2n).
        let expected = 1.0 / ((n as f64).ln() + 0.577_215_664_9 + 0.5 / n as f64);
        assert!((top - expected).abs() < 0.003, "{top} vs {expected}");
    }

    #[test]
    fn one_element_always_gives_rank_one() {
        let z = Zipf::new(1, 1.5);
        let mut rng = Rng::new(3);
        assert!((0..1000).all(|_| z.sample(&mut rng) == 1));
    }
}

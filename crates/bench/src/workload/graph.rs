//! The follower graph of the timeline workload: follower counts drawn from a power law (a Pareto
//! tail: most accounts have a handful of followers, a few have a large share of all users), each
//! account's followers picked uniformly among the other users. Deterministic for a given seed.

use crate::rng::Rng;

/// Tail exponent of the follower-count density (P(count >= k) = (k / MIN_FOLLOWERS)^-(ALPHA-1)).
/// Measured social graphs sit around 2 to 2.5.
pub const ALPHA: f64 = 2.2;
/// Fewest followers an account has (when there are enough users).
pub const MIN_FOLLOWERS: f64 = 3.0;

#[derive(Clone, Debug)]
pub struct Graph {
    /// `followers[u]`: the users whose home timelines receive u's posts.
    pub followers: Vec<Vec<u32>>,
    /// The account with the most followers.
    pub largest: u32,
}

impl Graph {
    /// `users >= 2`.
    pub fn generate(users: u32, seed: u64) -> Graph {
        assert!(users >= 2, "a follower graph needs at least two users");
        let mut rng = Rng::new(seed);
        let others = users as u64 - 1;
        // Generation stamps mark who is already chosen, so the scratch array is never cleared.
        let mut stamp = vec![0u32; users as usize];
        let mut followers = Vec::with_capacity(users as usize);
        for u in 0..users {
            let gen = u + 1;
            stamp[u as usize] = gen; // nobody follows themself
            let count = follower_count(&mut rng).min(others);
            // Draw whichever side is smaller: the followers, or the non-followers to leave out.
            let pick_excluded = count > others / 2;
            let draws = if pick_excluded { others - count } else { count };
            let mut chosen = Vec::with_capacity(draws as usize);
            while (chosen.len() as u64) < draws {
                let v = rng.below(users as u64) as u32;
                if stamp[v as usize] != gen {
                    stamp[v as usize] = gen;
                    chosen.push(v);
                }
            }
            if pick_excluded {
                chosen = (0..users).filter(|&v| stamp[v as usize] != gen).collect();
            }
            followers.push(chosen);
        }
        let largest = (0..users).max_by_key(|&u| (followers[u as usize].len(), std::cmp::Reverse(u))).unwrap_or(0);
        Graph { followers, largest }
    }

    pub fn users(&self) -> u32 {
        self.followers.len() as u32
    }

    pub fn edges(&self) -> u64 {
        self.followers.iter().map(|f| f.len() as u64).sum()
    }
}

/// A discrete Pareto variate: floor of MIN_FOLLOWERS * U^(-1 / (ALPHA - 1)).
fn follower_count(rng: &mut Rng) -> u64 {
    let u = 1.0 - rng.unit(); // in (0, 1]
    let x = MIN_FOLLOWERS * u.powf(-1.0 / (ALPHA - 1.0));
    if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_graph_different_seed_different_graph() {
        let (a, b, c) = (Graph::generate(500, 1), Graph::generate(500, 1), Graph::generate(500, 2));
        assert_eq!(a.followers, b.followers);
        assert_ne!(a.followers, c.followers);
    }

    #[test]
    fn followers_are_distinct_other_users() {
        let g = Graph::generate(2_000, 7);
        for (u, f) in g.followers.iter().enumerate() {
            let mut sorted = f.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), f.len(), "duplicate follower of {u}");
            assert!(!f.contains(&(u as u32)), "{u} follows itself");
            assert!(f.iter().all(|&v| v < 2_000));
        }
        assert_eq!(g.followers[g.largest as usize].len(), g.followers.iter().map(Vec::len).max().unwrap());
    }

    #[test]
    fn follower_counts_have_the_power_law_tail() {
        let users = 20_000u32;
        let g = Graph::generate(users, 11);
        let counts: Vec<usize> = g.followers.iter().map(Vec::len).collect();
        let share_at_least = |k: usize| counts.iter().filter(|&&c| c >= k).count() as f64 / users as f64;
        // P(count >= k) = (k / 3)^-(1.2): 1 at 3, 0.063 at 30, 0.004 at 300.
        assert_eq!(share_at_least(3), 1.0);
        for (k, expected) in [(30usize, 0.0631), (300, 0.00398)] {
            let got = share_at_least(k);
            assert!((got - expected).abs() < expected * 0.2, "P(>= {k}) = {got}, expected {expected}");
        }
        // A few accounts have very many followers: the largest dwarfs the median.
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        assert!(median <= 6, "median {median}");
        assert!(*sorted.last().unwrap() > 300 * median, "largest {}", sorted.last().unwrap());
    }

    #[test]
    fn counts_are_capped_by_the_number_of_other_users() {
        let g = Graph::generate(3, 5);
        assert!(g.followers.iter().all(|f| f.len() <= 2));
        let g = Graph::generate(50, 5);
        // With 50 users the heavy tail hits the cap: someone is followed by everyone else.
        assert!(g.followers.iter().map(Vec::len).max().unwrap() <= 49);
    }
}

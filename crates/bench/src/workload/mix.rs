//! The mixed workload: GET, SET and INCR on random keys plus timeline assembly (LRANGE of a home
//! timeline, then MGET of the posts it names: two dependent requests), in configurable proportions.

use super::{Driver, KeyBuf, KeyDist, OpState};
use crate::conn::Writer;
use crate::rng::Rng;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixOp {
    Get,
    Set,
    Incr,
    Timeline,
}

/// Histogram labels of the mix, indexed by `MixOp as usize`.
pub const LABELS: [&str; 4] = ["GET", "SET", "INCR", "TIMELINE"];

/// Posts named in the prefilled timelines, per user.
pub const POSTS_PER_USER: u64 = 10;
/// Entries in each prefilled timeline (what one LRANGE 0 49 reads).
pub const TIMELINE_FILL: u64 = 50;

/// The default proportions: 60% GET, 25% SET, 10% INCR, 5% timeline assembly.
pub const DEFAULT_MIX: &str = "get=60,set=25,incr=10,timeline=5";

/// Cumulative weights for drawing the next operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    cumulative: Vec<(MixOp, u64)>,
    total: u64,
}

impl Mix {
    /// Parses `get=60,set=25,incr=10,timeline=5`; weights are relative (they need not sum to 100).
    pub fn parse(spec: &str) -> Result<Mix, String> {
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part.split_once('=').ok_or_else(|| format!("--mix: '{part}' is not name=weight"))?;
            let op = match name.trim().to_ascii_lowercase().as_str() {
                "get" => MixOp::Get,
                "set" => MixOp::Set,
                "incr" => MixOp::Incr,
                "timeline" => MixOp::Timeline,
                other => return Err(format!("--mix: unknown operation '{other}' (get, set, incr, timeline)")),
            };
            if cumulative.iter().any(|&(o, _)| o == op) {
                return Err(format!("--mix: '{name}' given twice"));
            }
            let w: u64 = weight
                .trim()
                .parse()
                .map_err(|_| format!("--mix: weight of '{name}' must be a whole number, got '{weight}'"))?;
            if w > 0 {
                total += w;
                cumulative.push((op, total));
            }
        }
        if total == 0 {
            return Err("--mix: at least one operation needs a weight above 0".into());
        }
        Ok(Mix { cumulative, total })
    }

    pub fn pick(&self, rng: &mut Rng) -> MixOp {
        let r = rng.below(self.total);
        self.cumulative.iter().find(|&&(_, c)| r < c).map(|&(op, _)| op).unwrap_or(MixOp::Get)
    }

    pub fn has(&self, op: MixOp) -> bool {
        self.cumulative.iter().any(|&(o, _)| o == op)
    }
}

pub struct MixDriver {
    mix: Arc<Mix>,
    keys: KeyDist,
    users: KeyDist,
    rng: Rng,
    value: Arc<[u8]>,
    key: KeyBuf,
}

impl MixDriver {
    pub fn new(mix: Arc<Mix>, keys: KeyDist, users: KeyDist, seed: u64, value: Arc<[u8]>) -> MixDriver {
        MixDriver { mix, keys, users, rng: Rng::new(seed), value, key: KeyBuf::new(b"", None) }
    }
}

impl Driver for MixDriver {
    fn begin(&mut self, w: &mut Writer, op: &mut OpState) {
        let kind = self.mix.pick(&mut self.rng);
        op.label = kind as u16;
        match kind {
            MixOp::Get => {
                self.key.set(b"key:", self.keys.pick(&mut self.rng));
                w.cmd(&[b"GET", self.key.as_bytes()]);
            }
            MixOp::Set => {
                self.key.set(b"key:", self.keys.pick(&mut self.rng));
                w.cmd(&[b"SET", self.key.as_bytes(), &self.value]);
            }
            MixOp::Incr => {
                self.key.set(b"counter:", self.keys.pick(&mut self.rng));
                w.cmd(&[b"INCR", self.key.as_bytes()]);
            }
            MixOp::Timeline => {
                let user = self.users.pick(&mut self.rng).unwrap_or(0);
                self.key.set(b"timeline:", Some(user));
                w.cmd_data(&[b"LRANGE", self.key.as_bytes(), b"0", b"49"]);
            }
        }
    }

    fn step_done(&mut self, w: &mut Writer, op: &mut OpState) {
        if op.label != MixOp::Timeline as u16 || op.step != 0 || op.data.is_empty() {
            return;
        }
        let keys: Vec<Vec<u8>> = op.data.drain(..).map(|id| post_key(&id)).collect();
        if w.is_cluster() {
            for k in &keys {
                w.cmd(&[b"GET", k]);
            }
        } else {
            let mut args: Vec<&[u8]> = Vec::with_capacity(keys.len() + 1);
            args.push(b"MGET");
            args.extend(keys.iter().map(Vec::as_slice));
            w.cmd(&args);
        }
    }
}

/// `post:<id>`: where a post's body lives.
pub fn post_key(id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + id.len());
    k.extend_from_slice(b"post:");
    k.extend_from_slice(id);
    k
}

/// Fills the timelines the mix reads: `users` home timelines of TIMELINE_FILL post ids each, and
/// the posts they name. One connection, pipelined; run before the timed phase.
pub struct PrefillDriver {
    rng: Rng,
    users: u64,
    posts: u64,
    next: u64,
    value: Arc<[u8]>,
}

impl PrefillDriver {
    pub fn new(users: u64, seed: u64, value: Arc<[u8]>) -> PrefillDriver {
        PrefillDriver { rng: Rng::new(seed), users, posts: users * POSTS_PER_USER, next: 0, value }
    }

    /// Operations the prefill takes (its -n).
    pub fn ops(users: u64) -> u64 {
        users * POSTS_PER_USER + users
    }
}

impl Driver for PrefillDriver {
    fn begin(&mut self, w: &mut Writer, _op: &mut OpState) {
        let i = self.next;
        self.next += 1;
        let mut d = [0u8; 20];
        if i < self.posts {
            let key = post_key(super::decimal(&mut d, i));
            w.cmd(&[b"SET", &key, &self.value]);
        } else if i < self.posts + self.users {
            let timeline = KeyBuf::new(b"timeline:", Some(i - self.posts));
            w.cmd(&[b"DEL", timeline.as_bytes()]);
            let ids: Vec<Vec<u8>> =
                (0..TIMELINE_FILL).map(|_| super::decimal(&mut d, self.rng.below(self.posts)).to_vec()).collect();
            let mut args: Vec<&[u8]> = vec![b"RPUSH", timeline.as_bytes()];
            args.extend(ids.iter().map(Vec::as_slice));
            w.cmd(&args);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_spec_parses_and_rejects_bad_input() {
        let m = Mix::parse(DEFAULT_MIX).unwrap();
        assert_eq!(m.total, 100);
        assert!(Mix::parse("get=60,put=40").unwrap_err().contains("unknown operation 'put'"));
        assert!(Mix::parse("get=x").unwrap_err().contains("whole number"));
        assert!(Mix::parse("get").unwrap_err().contains("name=weight"));
        assert!(Mix::parse("get=0").is_err());
        assert!(Mix::parse("get=1,get=2").unwrap_err().contains("twice"));
        let only_set = Mix::parse("set=1, get=0").unwrap();
        assert!(only_set.has(MixOp::Set) && !only_set.has(MixOp::Get));
    }

    #[test]
    fn operations_are_drawn_in_the_configured_ratios() {
        let mix = Mix::parse("get=60,set=25,incr=10,timeline=5").unwrap();
        let mut rng = Rng::new(5);
        let n = 1_000_000;
        let mut counts = [0u32; 4];
        for _ in 0..n {
            counts[mix.pick(&mut rng) as usize] += 1;
        }
        for (i, expected) in [0.60, 0.25, 0.10, 0.05].iter().enumerate() {
            let got = counts[i] as f64 / n as f64;
            assert!((got - expected).abs() < 0.003, "{}: {got} vs {expected}", LABELS[i]);
        }
        let uneven = Mix::parse("incr=3,get=1").unwrap();
        let incr = (0..100_000).filter(|_| uneven.pick(&mut rng) == MixOp::Incr).count();
        assert!((incr as f64 / 100_000.0 - 0.75).abs() < 0.01, "{incr}");
    }
}

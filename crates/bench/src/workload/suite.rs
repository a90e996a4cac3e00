//! redis-benchmark's tests (-t): one command per operation, the same keys and values as
//! redis-benchmark uses, run one test after the other.

use super::{decimal, Driver, KeyBuf, KeyDist, OpState};
use crate::conn::Writer;
use crate::rng::Rng;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    PingInline,
    PingMbulk,
    Set,
    Get,
    Incr,
    Lpush,
    Rpush,
    Lpop,
    Rpop,
    Sadd,
    Hset,
    Spop,
    Zadd,
    /// Fills `mylist` for the LRANGE tests, as redis-benchmark does.
    LpushForLrange,
    Lrange(u32),
    Mset,
}

/// Every test in redis-benchmark's running order.
pub const ALL: [Test; 19] = [
    Test::PingInline,
    Test::PingMbulk,
    Test::Set,
    Test::Get,
    Test::Incr,
    Test::Lpush,
    Test::Rpush,
    Test::Lpop,
    Test::Rpop,
    Test::Sadd,
    Test::Hset,
    Test::Spop,
    Test::Zadd,
    Test::LpushForLrange,
    Test::Lrange(100),
    Test::Lrange(300),
    Test::Lrange(500),
    Test::Lrange(600),
    Test::Mset,
];

impl Test {
    /// The header redis-benchmark prints (and its CSV test name).
    pub fn title(self) -> String {
        match self {
            Test::PingInline => "PING_INLINE".into(),
            Test::PingMbulk => "PING_MBULK".into(),
            Test::Set => "SET".into(),
            Test::Get => "GET".into(),
            Test::Incr => "INCR".into(),
            Test::Lpush => "LPUSH".into(),
            Test::Rpush => "RPUSH".into(),
            Test::Lpop => "LPOP".into(),
            Test::Rpop => "RPOP".into(),
            Test::Sadd => "SADD".into(),
            Test::Hset => "HSET".into(),
            Test::Spop => "SPOP".into(),
            Test::Zadd => "ZADD".into(),
            Test::LpushForLrange => "LPUSH (needed to benchmark LRANGE)".into(),
            Test::Lrange(n) => format!("LRANGE_{n} (first {n} elements)"),
            Test::Mset => "MSET (10 keys)".into(),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Test::PingInline => &["ping_inline", "ping"],
            Test::PingMbulk => &["ping_mbulk", "ping"],
            Test::Set => &["set"],
            Test::Get => &["get"],
            Test::Incr => &["incr"],
            Test::Lpush => &["lpush"],
            Test::Rpush => &["rpush"],
            Test::Lpop => &["lpop"],
            Test::Rpop => &["rpop"],
            Test::Sadd => &["sadd"],
            Test::Hset => &["hset"],
            Test::Spop => &["spop"],
            Test::Zadd => &["zadd"],
            Test::LpushForLrange => &[],
            Test::Lrange(100) => &["lrange_100", "lrange"],
            Test::Lrange(300) => &["lrange_300", "lrange"],
            Test::Lrange(500) => &["lrange_500", "lrange"],
            Test::Lrange(_) => &["lrange_600", "lrange"],
            Test::Mset => &["mset"],
        }
    }
}

/// Parses `-t a,b,c` (case-insensitive) into tests in redis-benchmark's order. Any LRANGE test
/// brings the list-filling LPUSH before it.
pub fn parse_tests(spec: &str) -> Result<Vec<Test>, String> {
    let wanted: Vec<String> =
        spec.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
    if wanted.is_empty() {
        return Err("-t needs at least one test name".into());
    }
    for w in &wanted {
        if !ALL.iter().any(|t| t.names().contains(&w.as_str())) {
            return Err(format!(
                "unknown test '{w}' (known: ping_inline, ping_mbulk, ping, set, get, incr, lpush, rpush, lpop, rpop, sadd, hset, spop, zadd, lrange_100, lrange_300, lrange_500, lrange_600, lrange, mset)"
            ));
        }
    }
    let lrange = wanted.iter().any(|w| w.starts_with("lrange"));
    Ok(ALL
        .iter()
        .copied()
        .filter(|t| (*t == Test::LpushForLrange && lrange) || t.names().iter().any(|n| wanted.iter().any(|w| w == n)))
        .collect())
}

/// One connection running one test.
pub struct SuiteDriver {
    test: Test,
    keys: KeyDist,
    rng: Rng,
    value: Arc<[u8]>,
    key: KeyBuf,
    lrange_stop: Vec<u8>,
}

impl SuiteDriver {
    pub fn new(test: Test, keys: KeyDist, seed: u64, value: Arc<[u8]>) -> SuiteDriver {
        let lrange_stop = match test {
            Test::Lrange(n) => (n - 1).to_string().into_bytes(),
            _ => Vec::new(),
        };
        SuiteDriver { test, keys, rng: Rng::new(seed), value, key: KeyBuf::new(b"", None), lrange_stop }
    }
}

impl Driver for SuiteDriver {
    fn begin(&mut self, w: &mut Writer, op: &mut OpState) {
        op.label = 0;
        let SuiteDriver { test, keys, rng, value, key, lrange_stop } = self;
        let v: &[u8] = value;
        let mut pick = |prefix: &[u8]| {
            let n = keys.pick(rng);
            key.set(prefix, n);
        };
        match *test {
            Test::PingInline => w.inline(b"PING"),
            Test::PingMbulk => w.cmd(&[b"PING"]),
            Test::Set => {
                pick(b"key:");
                w.cmd(&[b"SET", key.as_bytes(), v]);
            }
            Test::Get => {
                pick(b"key:");
                w.cmd(&[b"GET", key.as_bytes()]);
            }
            Test::Incr => {
                pick(b"counter:");
                w.cmd(&[b"INCR", key.as_bytes()]);
            }
            Test::Lpush | Test::LpushForLrange => w.cmd(&[b"LPUSH", b"mylist", v]),
            Test::Rpush => w.cmd(&[b"RPUSH", b"mylist", v]),
            Test::Lpop => w.cmd(&[b"LPOP", b"mylist"]),
            Test::Rpop => w.cmd(&[b"RPOP", b"mylist"]),
            Test::Sadd => {
                pick(b"element:");
                w.cmd(&[b"SADD", b"myset", key.as_bytes()]);
            }
            Test::Hset => {
                pick(b"element:");
                w.cmd(&[b"HSET", b"myhash", key.as_bytes(), v]);
            }
            Test::Spop => w.cmd(&[b"SPOP", b"myset"]),
            Test::Zadd => {
                pick(b"element:");
                let mut d = [0u8; 20];
                let score = rng.below(100);
                w.cmd(&[b"ZADD", b"myzset", decimal(&mut d, score), key.as_bytes()]);
            }
            Test::Lrange(_) => w.cmd(&[b"LRANGE", b"mylist", b"0", lrange_stop]),
            Test::Mset => {
                let mut mkeys: [KeyBuf; 10] = std::array::from_fn(|_| KeyBuf::new(b"", None));
                for k in &mut mkeys {
                    let n = keys.pick(rng);
                    k.set(b"key:", n);
                }
                if w.is_cluster() {
                    // Keys of one MSET must share a slot in a cluster: send them one by one.
                    for k in &mkeys {
                        w.cmd(&[b"SET", k.as_bytes(), v]);
                    }
                } else {
                    let mut args: [&[u8]; 21] = [b"MSET"; 21];
                    for (i, k) in mkeys.iter().enumerate() {
                        args[1 + 2 * i] = k.as_bytes();
                        args[2 + 2 * i] = v;
                    }
                    w.cmd(&args);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_follow_redis_benchmark() {
        assert_eq!(parse_tests("get,SET").unwrap(), vec![Test::Set, Test::Get]);
        assert_eq!(parse_tests("ping").unwrap(), vec![Test::PingInline, Test::PingMbulk]);
        assert_eq!(parse_tests("mset,lrange_300").unwrap(), vec![Test::LpushForLrange, Test::Lrange(300), Test::Mset]);
        assert_eq!(Test::Lrange(600).title(), "LRANGE_600 (first 600 elements)");
        assert!(parse_tests("gett").unwrap_err().contains("unknown test 'gett'"));
        assert!(parse_tests(",").is_err());
    }
}

//! The packed form against a plain model (an ordered map of entries) on random operations.

use std::collections::BTreeMap;

use super::*;

const LIMITS: BlockLimits = BlockLimits { max_entries: 5, max_bytes: 200 };

type Owned = Vec<(Vec<u8>, Vec<u8>)>;
type Model = BTreeMap<StreamId, Owned>;

fn same(s: &Stream, m: &Model) {
    assert_eq!(s.len(), m.len() as u64);
    let got: Vec<(StreamId, Owned)> = s
        .range(StreamId::MIN, StreamId::MAX, false)
        .map(|(id, f)| (id, f.iter().map(|(a, b)| (a.to_vec(), b.to_vec())).collect()))
        .collect();
    let want: Vec<_> = m.iter().map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(got, want);
    let back: Vec<StreamId> = s.range(StreamId::MIN, StreamId::MAX, true).map(|(id, _)| id).collect();
    assert_eq!(back, m.keys().rev().copied().collect::<Vec<_>>());
}

#[test]
fn packed_blocks_agree_with_a_model() {
    let mut seed = 99u64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut s = Stream::new();
    let mut m = Model::new();
    let mut next = StreamId::new(1, 0);
    for _ in 0..3000 {
        match rnd(10) {
            0..=5 => {
                let fields: Vec<(Vec<u8>, Vec<u8>)> = if rnd(3) == 0 {
                    (0..rnd(3) + 1)
                        .map(|i| (format!("f{i}{}", rnd(2)).into_bytes(), vec![b'v'; rnd(40) as usize]))
                        .collect()
                } else {
                    vec![(b"user".to_vec(), rnd(1000).to_string().into_bytes()), (b"op".to_vec(), b"x".to_vec())]
                };
                s.append(next, fields.iter().map(|(a, b)| (a.as_slice(), b.as_slice())), LIMITS);
                m.insert(next, fields);
                next = if rnd(2) == 0 { StreamId::new(next.ms + rnd(3) + 1, 0) } else { next.next().unwrap() };
            }
            6 | 7 => {
                let pick = m.keys().nth(rnd(m.len() as u64 + 1) as usize).copied().unwrap_or(StreamId::new(0, 1));
                assert_eq!(s.delete(pick), m.remove(&pick).is_some());
            }
            8 => {
                let max = rnd(40);
                let approx = rnd(2) == 0;
                let before = s.len();
                let n = s.trim(Trim::MaxLen(max), approx, 0);
                assert_eq!(before - n, s.len());
                if !approx {
                    assert_eq!(s.len(), before.min(max));
                }
                while m.len() as u64 > s.len() {
                    m.pop_first();
                }
            }
            _ => {
                let min = StreamId::new(next.ms.saturating_sub(rnd(30)), 0);
                let approx = rnd(2) == 0;
                s.trim(Trim::MinId(min), approx, 0);
                if !approx {
                    assert!(s.first_id().is_none_or(|f| f >= min));
                }
                while m.len() as u64 > s.len() {
                    m.pop_first();
                }
            }
        }
        same(&s, &m);
    }
}

#[test]
fn ids_parse_like_redis() {
    assert_eq!(StreamId::parse(b"5-3", 0), Some(StreamId::new(5, 3)));
    assert_eq!(StreamId::parse(b"5", 7), Some(StreamId::new(5, 7)));
    assert_eq!(StreamId::parse(b"18446744073709551615-18446744073709551615", 0), Some(StreamId::MAX));
    for bad in [&b""[..], b"-", b"5-", b"-5", b"a-1", b"1-2-3", b"18446744073709551616", b"+1", b" 1"] {
        assert_eq!(StreamId::parse(bad, 0), None, "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
    assert_eq!(StreamId::MAX.next(), None);
    assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
}

#[test]
fn limited_trim_removes_whole_blocks_only() {
    let mut s = Stream::new();
    for i in 1..=20 {
        s.append(StreamId::new(i, 0), [(&b"a"[..], &b"b"[..])].into_iter(), LIMITS);
    }
    assert_eq!(s.block_count(), 4);
    // A limit of 7 allows one block of five, not two.
    assert_eq!(s.trim(Trim::MaxLen(0), true, 7), 5);
    assert_eq!(s.first_id(), Some(StreamId::new(6, 0)));
    // Trimming is not deletion: the largest deleted ID stays unset.
    assert_eq!(s.max_deleted_id, StreamId::MIN);
}

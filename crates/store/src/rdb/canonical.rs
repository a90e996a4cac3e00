//! A canonical text form of values, for checking the format's round trips.

use std::collections::BTreeMap;

use crate::stream::StreamId;
use crate::Value;

/// A value as text that two equal values share whatever their encodings and internal order
/// (a hash table's iteration order): for comparing a value with its round trip through the
/// format, in tests and in the loader's fuzz targets.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("str {:?}", s.to_vec()),
        Value::List(l) => format!("list {:?}", l.iter().map(|e| e.into_owned()).collect::<Vec<_>>()),
        Value::Hash(h) => {
            format!("hash {:?}", h.iter().map(|(f, v)| (f.into_owned(), v.into_owned())).collect::<BTreeMap<_, _>>())
        }
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.into_owned()).collect();
            m.sort();
            format!("set {m:?}")
        }
        Value::ZSet(z) => {
            format!("zset {:?}", z.iter().map(|(m, s)| (m.into_owned(), s.to_bits())).collect::<Vec<_>>())
        }
        Value::Stream(s) => {
            let entries: Vec<String> =
                s.range(StreamId::MIN, StreamId::MAX, false).map(|(id, f)| format!("{id} {f:?}")).collect();
            let groups: Vec<String> = s
                .groups
                .iter()
                .map(|(n, g)| {
                    let pel: Vec<String> = g
                        .pending
                        .iter()
                        .map(|(id, p)| format!("{id}:{:?}:{}:{}", p.consumer, p.delivery_time, p.delivery_count))
                        .collect();
                    let cons: Vec<String> =
                        g.consumers.iter().map(|(c, x)| format!("{c:?}:{}:{:?}", x.seen_time, x.pending)).collect();
                    format!("{n:?} {} {:?} {pel:?} {cons:?}", g.last_id, g.entries_read)
                })
                .collect();
            format!(
                "stream len={} last={} maxdel={} added={} first={:?} {entries:?} {groups:?}",
                s.len(),
                s.last_id,
                s.max_deleted_id,
                s.entries_added,
                s.first_id()
            )
        }
    }
}

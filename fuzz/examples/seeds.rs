//! Writes the Roost-made seed inputs: a DUMP payload per value kind and encoding under
//! `corpus/restore_payload/`, and a small RDB file holding them all under `corpus/rdb_file/`.
//! (`seeds-from-redis.sh` adds the same from a real Redis.)
//!
//! cargo run --no-default-features --example seeds

use std::path::Path;

use roost_store::hash::HashLimits;
use roost_store::list::End;
use roost_store::rdb::{dump_payload, EncodeOptions, Writer};
use roost_store::set::SetLimits;
use roost_store::stream::{BlockLimits, Group, StreamId};
use roost_store::zset::ZSetLimits;
use roost_store::{EncodingLimits, Hash, List, Set, StrValue, Stream, Value, ZSet};

fn values() -> Vec<(&'static str, Value)> {
    let limits = EncodingLimits::default();
    let mut out = Vec::new();
    out.push(("str-int", Value::Str(StrValue::from_bytes(b"12345"))));
    out.push(("str-raw", Value::Str(StrValue::from_bytes(b"hello"))));
    out.push(("str-lzf", Value::Str(StrValue::from_bytes(&b"compress me ".repeat(6)))));

    let mut l = List::new();
    for i in 0..12 {
        l.push(End::Tail, format!("e{i}").as_bytes(), 4);
    }
    l.push(End::Tail, b"-42", 4);
    out.push(("list-quicklist", Value::List(Box::new(l))));

    let hl = HashLimits::from_config(&limits);
    let mut h = Hash::new();
    for i in 0..4 {
        h.set(format!("f{i}").as_bytes(), i.to_string().as_bytes(), &hl);
    }
    out.push(("hash-listpack", Value::Hash(h)));
    let mut h = Hash::new();
    for i in 0..130 {
        h.set(format!("f{i}").as_bytes(), b"v", &hl);
    }
    out.push(("hash-table", Value::Hash(h)));

    let sl = SetLimits::from_config(&limits);
    let mut s = Set::new();
    for i in [-70000i64, -3, 0, 5, 300, 1 << 40] {
        s.add(i.to_string().as_bytes(), &sl);
    }
    out.push(("set-intset", Value::Set(Box::new(s))));
    let mut s = Set::new();
    for m in ["a", "b", "c"] {
        s.add(m.as_bytes(), &sl);
    }
    out.push(("set-table", Value::Set(Box::new(s))));

    let zl = ZSetLimits::from_config(&limits);
    let small =
        vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.5), (b"c".to_vec(), -1e20), (b"d".to_vec(), f64::INFINITY)];
    out.push(("zset-listpack", Value::ZSet(Box::new(ZSet::from_entries(small, &zl)))));
    let big = (0..130).map(|i| (format!("m{i}").into_bytes(), f64::from(i) / 3.0)).collect();
    out.push(("zset-skiplist", Value::ZSet(Box::new(ZSet::from_entries(big, &zl)))));

    let mut st = Stream::new();
    let bl = BlockLimits { max_entries: 4, max_bytes: 4096 };
    for i in 1..=9u64 {
        let v = i.to_string();
        let fields: Vec<(&[u8], &[u8])> = if i % 4 == 0 {
            vec![(&b"other"[..], v.as_bytes())]
        } else {
            vec![(&b"name"[..], &b"s1"[..]), (&b"v"[..], v.as_bytes())]
        };
        st.append(StreamId::new(1_700_000_000_000 + i / 3, i % 3), fields.into_iter(), bl);
    }
    st.delete(StreamId::new(1_700_000_000_001, 1));
    let mut g = Group::new(StreamId::new(1_700_000_000_002, 0), Some(5));
    g.consumer(b"alice", 1_700_000_000_500);
    g.consumer(b"bob", 1_700_000_000_600);
    g.deliver(StreamId::new(1_700_000_000_001, 0), b"alice", 1_700_000_000_700, true);
    g.deliver(StreamId::new(1_700_000_000_002, 0), b"bob", 1_700_000_000_800, true);
    st.groups.insert((*b"readers").into(), g);
    out.push(("stream", Value::Stream(Box::new(st))));
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let payloads = root.join("restore_payload");
    let files = root.join("rdb_file");
    std::fs::create_dir_all(&payloads).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    let opts = EncodeOptions::default();
    let values = values();
    for (name, v) in &values {
        std::fs::write(payloads.join(format!("roost-{name}")), dump_payload(v, &opts)).unwrap();
    }
    let aux: &[(&[u8], &[u8])] = &[(b"redis-ver", b"7.0.15"), (b"redis-bits", b"64")];
    let mut w = Writer::new(Vec::new(), opts, true, aux).unwrap();
    w.function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)").unwrap();
    w.select_db(0, values.len() as u64, 1).unwrap();
    for (i, (name, v)) in values.iter().enumerate() {
        w.key(name.as_bytes(), v, (i == 0).then_some(1_900_000_000_000)).unwrap();
    }
    w.select_db(2, 1, 0).unwrap();
    w.key(b"k", &Value::Str(StrValue::from_bytes(b"v")), None).unwrap();
    std::fs::write(files.join("roost-all-types.rdb"), w.finish().unwrap()).unwrap();
    // One without a checksum (a zero one is not checked), so mutations go further.
    let mut w = Writer::new(Vec::new(), opts, false, &[]).unwrap();
    w.select_db(0, 0, 0).unwrap();
    for (name, v) in values.iter().filter(|(n, _)| n.contains("listpack") || n.contains("intset")) {
        w.key(name.as_bytes(), v, None).unwrap();
    }
    std::fs::write(files.join("roost-small-nocrc.rdb"), w.finish().unwrap()).unwrap();
}

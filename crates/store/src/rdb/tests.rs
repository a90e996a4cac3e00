use super::*;
use crate::hash::{Hash, HashLimits};
use crate::limits::EncodingLimits;
use crate::list::{End, List};
use crate::set::{Set, SetLimits};
use crate::stream::{BlockLimits, Group, PendingEntry, Stream, StreamId};
use crate::value::{StrValue, Value};
use crate::zset::{ZSet, ZSetLimits};

fn round_trip(v: &Value) -> Value {
    let payload = dump_payload(v, &EncodeOptions::default());
    let back = restore_payload(&payload, &EncodingLimits::default()).expect("restores").expect("not empty");
    assert_eq!(canonical(&back), canonical(v));
    // Strings are re-encoded on load as Redis does (a digit string becomes an integer).
    if !matches!(v, Value::Str(_)) {
        assert_eq!(back.encoding(), v.encoding(), "{}", canonical(v));
    }
    // Writing what was read gives the same bytes again (a stream's deleted entries are not
    // kept on load, so its nodes can start elsewhere).
    if !matches!(v, Value::Stream(_)) {
        assert_eq!(dump_payload(&back, &EncodeOptions::default()), payload);
    }
    back
}

fn list_of(items: &[Vec<u8>]) -> Value {
    let mut l = List::new();
    for i in items {
        l.push(End::Tail, i, -2);
    }
    Value::List(Box::new(l))
}

fn hash_of(n: usize, value_len: usize) -> Value {
    let mut h = Hash::new();
    let limits = HashLimits::from_config(&EncodingLimits::default());
    for i in 0..n {
        h.set(format!("field:{i}").as_bytes(), &vec![b'v'; value_len], &limits);
        h.set(format!("n{i}").as_bytes(), i.to_string().as_bytes(), &limits);
    }
    Value::Hash(h)
}

fn set_of(members: impl Iterator<Item = Vec<u8>>) -> Value {
    let mut s = Set::new();
    for m in members {
        s.add(&m, &SetLimits::default());
    }
    Value::Set(Box::new(s))
}

fn zset_of(n: usize) -> Value {
    let items = (0..n)
        .map(|i| {
            let score = match i % 4 {
                0 => i as f64,
                1 => i as f64 + 0.5,
                2 => -(i as f64) / 3.0,
                _ => 1e20 * i as f64,
            };
            (format!("member:{i}").into_bytes(), score)
        })
        .collect();
    Value::ZSet(Box::new(ZSet::from_entries(items, &ZSetLimits::from_config(&EncodingLimits::default()))))
}

fn stream_of(n: u64) -> Value {
    let mut s = Stream::new();
    let limits = BlockLimits { max_entries: 100, max_bytes: 4096 };
    for i in 1..=n {
        let v = i.to_string();
        let fields: Vec<(&[u8], &[u8])> = if i % 7 == 0 {
            vec![(&b"other"[..], v.as_bytes())]
        } else {
            vec![(&b"name"[..], &b"sensor-1"[..]), (&b"value"[..], v.as_bytes())]
        };
        s.append(StreamId::new(1_700_000_000_000 + i / 3, i % 3), fields.into_iter(), limits);
    }
    s.delete(StreamId::new(1_700_000_000_000, 1));
    s.delete(StreamId::new(1_700_000_000_001, 2));
    let mut g = Group::new(StreamId::new(1_700_000_000_002, 0), Some(7));
    g.consumer(b"alice", 1_700_000_000_500);
    g.consumer(b"bob", 1_700_000_000_600);
    g.deliver(StreamId::new(1_700_000_000_001, 0), b"alice", 1_700_000_000_700, true);
    g.deliver(StreamId::new(1_700_000_000_001, 1), b"bob", 1_700_000_000_800, true);
    s.groups.insert((*b"readers").into(), g);
    s.groups.insert((*b"idle").into(), Group::new(StreamId::MIN, None));
    Value::Stream(Box::new(s))
}

#[test]
fn strings_in_every_form() {
    let cases: [&[u8]; 11] =
        [b"", b"0", b"-1", b"127", b"-128", b"32767", b"65536", b"2147483647", b"2147483648", b"007", b"hello"];
    for s in cases {
        round_trip(&Value::Str(StrValue::from_bytes(s)));
        round_trip(&Value::Str(StrValue::raw(s)));
    }
    round_trip(&Value::Str(StrValue::Int(i64::MIN)));
    round_trip(&Value::Str(StrValue::from_bytes(&b"abcdefghij".repeat(100))));
    round_trip(&Value::Str(StrValue::from_bytes(&(0..=255u8).cycle().take(5000).collect::<Vec<_>>())));
}

#[test]
fn known_payload_bytes() {
    let p = dump_payload(&Value::Str(StrValue::Int(10)), &EncodeOptions::default());
    assert_eq!(&p[..5], &[0, 0xC0, 10, 10, 0]);
    let p = dump_payload(&Value::Str(StrValue::from_bytes(b"hello")), &EncodeOptions::default());
    assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
    let long = vec![b'a'; 100];
    let p = dump_payload(&Value::Str(StrValue::from_bytes(&long)), &EncodeOptions::default());
    assert_eq!(p[1], 0xC3, "a long repetitive string is stored compressed");
    let p = dump_payload(
        &Value::Str(StrValue::from_bytes(&long)),
        &EncodeOptions { compress: false, ..EncodeOptions::default() },
    );
    assert_eq!(&p[1..3], &[0x40, 100]);
}

#[test]
fn lists_small_and_spanning_nodes() {
    round_trip(&list_of(&[b"a".to_vec(), b"1".to_vec(), b"-70000".to_vec(), b"x".repeat(300)]));
    let many: Vec<Vec<u8>> = (0..5000).map(|i| format!("element-{i}").into_bytes()).collect();
    let v = round_trip(&list_of(&many));
    let payload = dump_payload(&v, &EncodeOptions::default());
    assert_eq!(payload[0], kind::LIST_QUICKLIST_2);
    let big: Vec<Vec<u8>> = (0..20).map(|i| vec![b'a' + i as u8; 10_000]).collect();
    round_trip(&list_of(&big));
}

#[test]
fn hashes_sets_zsets_in_both_encodings() {
    round_trip(&hash_of(3, 5));
    round_trip(&hash_of(500, 10));
    round_trip(&hash_of(2, 200));
    round_trip(&set_of((0..10).map(|i| (i * 1000 - 3000).to_string().into_bytes())));
    round_trip(&set_of((0..10).map(|i| (i64::MAX - i).to_string().into_bytes())));
    round_trip(&set_of((0..2000).map(|i| i.to_string().into_bytes())));
    round_trip(&set_of((0..50).map(|i| format!("m{i}").into_bytes())));
    round_trip(&set_of((0..1000).map(|i| format!("member{i}").into_bytes())));
    round_trip(&zset_of(10));
    round_trip(&zset_of(1000));
    let special = vec![
        (b"a".to_vec(), f64::INFINITY),
        (b"b".to_vec(), f64::NEG_INFINITY),
        (b"c".to_vec(), 0.1),
        (b"d".to_vec(), 1e300),
    ];
    round_trip(&Value::ZSet(Box::new(ZSet::from_entries(special, &ZSetLimits { max_entries: 128, max_value: 64 }))));
}

#[test]
fn streams_with_groups_and_deletions() {
    round_trip(&stream_of(5));
    round_trip(&stream_of(1000));
    let mut empty = Stream::new();
    empty.last_id = StreamId::new(5, 5);
    empty.entries_added = 3;
    round_trip(&Value::Stream(Box::new(empty)));
}

#[test]
fn restore_checks_version_and_checksum() {
    let mut p = dump_payload(&Value::Str(StrValue::from_bytes(b"v")), &EncodeOptions::default());
    assert!(verify_payload(&p));
    let n = p.len();
    p[n - 1] ^= 1;
    assert_eq!(restore_payload(&p, &EncodingLimits::default()).unwrap_err(), PayloadError::VersionOrChecksum);
    let mut newer = Vec::from(&b"\x00\x01v"[..]);
    newer.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64::crc64(0, &newer);
    newer.extend_from_slice(&crc.to_le_bytes());
    assert!(!verify_payload(&newer));
    assert!(!verify_payload(b"short"));
}

/// Payloads of every kind, to be damaged.
#[test]
fn function_payloads_are_redis_bytes() {
    // FUNCTION DUMP of Redis 7.0: a library whose code LZF cannot shrink is stored as it is,
    // one it can is compressed.
    let plain_code = b"#!lua name=a\nredis.register_function(\"fa\", function() return 1 end)".to_vec();
    let plain =
        b"\xf5@C#!lua name=a\nredis.register_function(\"fa\", function() return 1 end)\n\x00u\x83\x90!\xb3\x90(\xd6";
    assert_eq!(functions_payload(std::slice::from_ref(&plain_code), true), plain.to_vec());
    assert_eq!(read_functions_payload(plain), Some(vec![plain_code]));
    let busy_code =
        b"#!lua name=busy\nredis.register_function('busy', function() local i = 0 while true do i = i + 1 end end)"
            .to_vec();
    let busy = b"\xf5\xc3@a@g\x1f#!lua name=busy\nredis.register_f\x08unction('@\x1d\x02', \xe0\x00\x10\x1a) local i = 0 while true do`\x13\x08i + 1 end \x03\x01d)\n\x00\x1a\tg \xb8-\xea\xf4";
    assert_eq!(functions_payload(std::slice::from_ref(&busy_code), true), busy.to_vec());
    assert_eq!(read_functions_payload(busy), Some(vec![busy_code.clone()]));
    // Without compression the same library reads back the same.
    let uncompressed = functions_payload(std::slice::from_ref(&busy_code), false);
    assert_eq!(read_functions_payload(&uncompressed), Some(vec![busy_code]));
    assert_eq!(read_functions_payload(&functions_payload(&[], true)), Some(vec![]));
}

#[test]
fn function_payloads_refuse_garbage() {
    assert_eq!(read_functions_payload(b""), None);
    assert_eq!(read_functions_payload(b"garbage payload!"), None);
    let mut flipped = functions_payload(&[b"#!lua name=x\nreturn 1".to_vec()], true);
    flipped[3] ^= 1;
    assert_eq!(read_functions_payload(&flipped), None);
    // A DUMP of a key has a valid trailer, but its record is not a library.
    assert_eq!(
        read_functions_payload(&dump_payload(
            &Value::Str(StrValue::from_vec(b"v".to_vec())),
            &EncodeOptions::default()
        )),
        None
    );
}

fn samples() -> Vec<Value> {
    vec![
        Value::Str(StrValue::from_bytes(&b"compress me ".repeat(10))),
        list_of(&(0..50).map(|i| format!("e{i}").into_bytes()).collect::<Vec<_>>()),
        hash_of(4, 3),
        hash_of(100, 3),
        set_of((0..20).map(|i| i.to_string().into_bytes())),
        set_of((0..20).map(|i| format!("s{i}").into_bytes())),
        zset_of(8),
        zset_of(200),
        stream_of(30),
    ]
}

#[test]
fn truncated_payloads_never_panic() {
    let limits = EncodingLimits::default();
    for v in samples() {
        let payload = dump_payload(&v, &EncodeOptions::default());
        let body = &payload[..payload.len() - 10];
        for cut in 0..body.len() {
            // A prefix can only be refused: every type ends with content it needs.
            assert!(read_object(&body[..cut], &limits).is_err(), "cut at {cut} of {}", canonical(&v));
            assert!(restore_payload(&payload[..cut], &limits).is_err());
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let limits = EncodingLimits::default();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for v in samples() {
        let payload = dump_payload(&v, &EncodeOptions { compress: false, ..EncodeOptions::default() });
        let body = &payload[..payload.len() - 10];
        for _ in 0..2000 {
            let mut bad = body.to_vec();
            for _ in 0..1 + rnd() % 3 {
                let i = (rnd() % bad.len() as u64) as usize;
                bad[i] ^= 1 << (rnd() % 8);
            }
            let _ = read_object(&bad, &limits);
        }
    }
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    let limits = EncodingLimits::default();
    // A list claiming 2^32 elements in a handful of bytes.
    let mut p = vec![kind::LIST, 0x80];
    p.extend_from_slice(&u32::MAX.to_be_bytes());
    let e = read_object(&p, &limits).unwrap_err();
    assert_eq!(e.offset, 1);
    assert!(e.what.contains("count"), "{e}");
    // A string claiming 1 TB decompressed from 3 bytes.
    let mut p = vec![kind::STRING, 0xC3, 3, 0x81];
    p.extend_from_slice(&(1u64 << 40).to_be_bytes());
    p.extend_from_slice(&[0, b'a', b'b']);
    assert!(read_object(&p, &limits).is_err());
}

#[test]
fn old_encodings_load() {
    let limits = EncodingLimits::default();
    // A ziplist of "a", 5 and "bc", as a list, a hash-less pair list and a quicklist node.
    let zl: Vec<u8> = {
        let entries: Vec<Vec<u8>> = vec![vec![0, 0x01, b'a'], vec![3, 0xF6], vec![2, 0x02, b'b', b'c']];
        let body: Vec<u8> = entries.concat();
        let total = 10 + body.len() + 1;
        let tail = 10 + entries[0].len() + entries[1].len();
        let mut z = Vec::new();
        z.extend_from_slice(&(total as u32).to_le_bytes());
        z.extend_from_slice(&(tail as u32).to_le_bytes());
        z.extend_from_slice(&3u16.to_le_bytes());
        z.extend_from_slice(&body);
        z.push(0xFF);
        z
    };
    let mut p = vec![kind::LIST_ZIPLIST];
    put_len(&mut p, zl.len() as u64);
    p.extend_from_slice(&zl);
    let v = read_object(&p, &limits).unwrap().unwrap();
    assert_eq!(canonical(&v), canonical(&list_of(&[b"a".to_vec(), b"5".to_vec(), b"bc".to_vec()])));
    let mut p = vec![kind::LIST_QUICKLIST, 1];
    put_len(&mut p, zl.len() as u64);
    p.extend_from_slice(&zl);
    assert_eq!(canonical(&read_object(&p, &limits).unwrap().unwrap()), canonical(&v));
    // A zipmap {"k": "val"}.
    let zm = [1, 1, b'k', 3, 0, b'v', b'a', b'l', 0xFF];
    let mut p = vec![kind::HASH_ZIPMAP];
    put_len(&mut p, zm.len() as u64);
    p.extend_from_slice(&zm);
    let h = read_object(&p, &limits).unwrap().unwrap();
    assert_eq!(canonical(&h), "hash {[107]: [118, 97, 108]}");
    // A ZSET with text scores.
    let mut p = vec![kind::ZSET, 2, 1, b'a', 3, b'1', b'.', b'5', 1, b'b', 254];
    let z = read_object(&p, &limits).unwrap().unwrap();
    assert_eq!(
        canonical(&z),
        format!("zset {:?}", vec![(b"a".to_vec(), 1.5f64.to_bits()), (b"b".to_vec(), f64::INFINITY.to_bits())])
    );
    p[1] = 3;
    assert!(read_object(&p, &limits).is_err());
    // A plain LIST and a SET holding a duplicate.
    let p = [kind::LIST, 2, 1, b'x', 0xC0, 7];
    assert_eq!(
        canonical(&read_object(&p, &limits).unwrap().unwrap()),
        canonical(&list_of(&[b"x".to_vec(), b"7".to_vec()]))
    );
    let p = [kind::SET, 2, 1, b'x', 1, b'x'];
    assert!(read_object(&p, &limits).is_err());
}

#[test]
fn empty_collections_read_as_none() {
    let limits = EncodingLimits::default();
    assert!(read_object(&[kind::LIST, 0], &limits).unwrap().is_none());
    assert!(read_object(&[kind::HASH, 0], &limits).unwrap().is_none());
    assert!(read_object(&[kind::ZSET_2, 0], &limits).unwrap().is_none());
}

#[test]
fn whole_files_round_trip() {
    let limits = EncodingLimits::default();
    let opts = EncodeOptions::default();
    let aux: &[(&[u8], &[u8])] = &[(&b"redis-ver"[..], &b"7.0.15"[..]), (&b"redis-bits"[..], &b"64"[..])];
    let mut w = Writer::new(Vec::new(), opts, true, aux).unwrap();
    w.function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)").unwrap();
    w.select_db(0, 2, 1).unwrap();
    let values = samples();
    for (i, v) in values.iter().enumerate() {
        let expire = (i % 2 == 0).then_some(1_900_000_000_000 + i as u64);
        w.key(format!("key{i}").as_bytes(), v, expire).unwrap();
    }
    w.select_db(3, 1, 0).unwrap();
    w.key(b"other", &Value::Str(StrValue::from_bytes(b"x")), None).unwrap();
    let file = w.finish().unwrap();
    assert_eq!(&file[..9], b"REDIS0010");

    let mut r = Reader::new(&file, &limits).unwrap();
    let mut keys = Vec::new();
    let mut functions = 0;
    for rec in &mut r {
        match rec.unwrap() {
            Record::Key { db, key, value, expire_ms, .. } => keys.push((db, key, canonical(&value), expire_ms)),
            Record::Function(_) => functions += 1,
            Record::Aux(..) | Record::ResizeDb { .. } => {}
        }
    }
    assert_eq!(functions, 1);
    assert_eq!(keys.len(), values.len() + 1);
    for (i, v) in values.iter().enumerate() {
        assert_eq!(keys[i].0, 0);
        assert_eq!(keys[i].2, canonical(v));
        assert_eq!(keys[i].3, (i % 2 == 0).then_some(1_900_000_000_000 + i as i64));
    }
    assert_eq!(keys[values.len()].0, 3);

    // A damaged byte is caught by the checksum, or earlier by the parser.
    let mut bad = file.clone();
    bad[40] ^= 0x20;
    let r = Reader::new(&bad, &limits).unwrap();
    assert!(r.collect::<Result<Vec<_>, _>>().is_err());
    for cut in 9..file.len() {
        let r = Reader::new(&file[..cut], &limits).unwrap();
        assert!(r.collect::<Result<Vec<_>, _>>().is_err(), "cut at {cut}");
    }
}

#[test]
fn zero_checksum_is_not_checked() {
    let limits = EncodingLimits::default();
    let mut w = Writer::new(Vec::new(), EncodeOptions::default(), false, &[]).unwrap();
    w.select_db(0, 1, 0).unwrap();
    w.key(b"k", &Value::Str(StrValue::from_bytes(b"v")), None).unwrap();
    let file = w.finish().unwrap();
    assert_eq!(&file[file.len() - 8..], &[0; 8]);
    assert_eq!(Reader::new(&file, &limits).unwrap().count(), 2);
}

#[test]
fn g17_matches_c() {
    assert_eq!(encode::fmt_g17(0.1), "0.10000000000000001");
    assert_eq!(encode::fmt_g17(1.5), "1.5");
    assert_eq!(encode::fmt_g17(1e20), "1e+20");
    assert_eq!(encode::fmt_g17(-2.5e-5), "-2.5000000000000001e-05");
    assert_eq!(encode::fmt_g17(123456.789), "123456.789");
    assert_eq!(encode::fmt_g17(1e16), "10000000000000000");
    assert_eq!(encode::fmt_g17(1e17), "1e+17");
}

#[test]
fn pending_entries_keep_their_owner() {
    let v = stream_of(10);
    let back = round_trip(&v);
    let Value::Stream(s) = back else { panic!("a stream") };
    let g = &s.groups[&b"readers"[..]];
    let p: &PendingEntry = &g.pending[&StreamId::new(1_700_000_000_001, 1)];
    assert_eq!(&*p.consumer, b"bob");
    assert_eq!(p.delivery_count, 1);
}

/// A DUMP payload: type byte, body, then the version and CRC64 trailer RESTORE checks.
fn with_trailer(t: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![t];
    p.extend_from_slice(body);
    p.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// A blob as an RDB string.
fn blob(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, b.len() as u64);
    out.extend_from_slice(b);
    out
}

fn listpack_of(items: &[&[u8]]) -> Vec<u8> {
    let mut w = listpack::Writer::new();
    for i in items {
        w.push(i);
    }
    w.finish()
}

/// What RESTORE says about `t` with `lp` as its blob: Ok(()) when accepted, else the error text.
fn restore_blob(t: u8, lp: &[u8]) -> Result<(), String> {
    match restore_payload(&with_trailer(t, &blob(lp)), &EncodingLimits::default()) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("empty".into()),
        Err(PayloadError::Format(e)) => Err(e.to_string()),
        Err(e) => Err(format!("{e:?}")),
    }
}

#[test]
fn restore_sanitizes_listpack_hashes_and_zsets() {
    for t in [kind::HASH_LISTPACK, kind::ZSET_LISTPACK] {
        assert_eq!(restore_blob(t, &listpack_of(&[b"a", b"1", b"b", b"2"])), Ok(()));
        // The header's element count disagreeing with the elements.
        let mut lp = listpack_of(&[b"a", b"1", b"b", b"2"]);
        lp[4] = 6;
        assert!(restore_blob(t, &lp).unwrap_err().contains("counts 6 elements"));
        // An odd number of elements: a field (member) without its value (score).
        assert!(restore_blob(t, &listpack_of(&[b"a", b"1", b"b"])).unwrap_err().contains("odd element count"));
        // The same field (member) twice, also when one of them is stored as an integer.
        assert!(restore_blob(t, &listpack_of(&[b"a", b"1", b"a", b"2"])).unwrap_err().contains("duplicate"));
        assert!(restore_blob(t, &listpack_of(&[b"7", b"1", b"7", b"2"])).unwrap_err().contains("duplicate"));
        // Not a listpack at all: the size in its header disagrees with the blob's.
        let mut lp = listpack_of(&[b"a", b"1"]);
        lp[0] += 1;
        assert!(restore_blob(t, &lp).unwrap_err().contains("header says"));
        // No elements: an empty key, which RESTORE refuses.
        assert_eq!(restore_blob(t, &listpack_of(&[])), Err("empty".into()));
    }
    // A score that is not a number reads as Redis reads it (0 here); a NaN one is refused.
    assert_eq!(restore_blob(kind::ZSET_LISTPACK, &listpack_of(&[b"a", b"x"])), Ok(()));
    assert!(restore_blob(kind::ZSET_LISTPACK, &listpack_of(&[b"a", b"nan"])).unwrap_err().contains("NaN"));
}

#[test]
fn restore_sanitizes_intsets() {
    let intset = |width: u32, count: u32, members: &[i64]| {
        let mut b = width.to_le_bytes().to_vec();
        b.extend_from_slice(&count.to_le_bytes());
        for m in members {
            b.extend_from_slice(&m.to_le_bytes()[..width as usize]);
        }
        b
    };
    assert_eq!(restore_blob(kind::SET_INTSET, &intset(2, 3, &[-5, 1, 300])), Ok(()));
    assert_eq!(restore_blob(kind::SET_INTSET, &intset(8, 2, &[-5, 1 << 40])), Ok(()));
    let refused = [
        (intset(2, 3, &[1, -5, 300]), "out of order"),
        (intset(4, 3, &[1, 1, 300]), "out of order or repeated"),
        (intset(2, 4, &[1, 2, 3]), "does not fit"),
        (intset(2, 2, &[1, 2, 3]), "does not fit"),
        (intset(3, 2, &[1, 2]), "invalid encoding"),
        (intset(2, 0, &[]), "empty intset"),
        (vec![2, 0, 0, 0], "shorter than its header"),
    ];
    for (b, why) in refused {
        let e = restore_blob(kind::SET_INTSET, &b).unwrap_err();
        assert!(e.contains(why), "{e} (wanted {why})");
    }
}

/// A stream node's listpack in Redis's layout, master fields ["f"]: per entry (flags, ms delta,
/// seq delta); entries flagged 2 reuse the master fields, the others carry their own "g".
fn stream_node_lp(live: i64, deleted: i64, entries: &[(i64, i64, i64)], lp_count: Option<i64>) -> Vec<u8> {
    let mut w = listpack::Writer::new();
    for i in [live, deleted, 1] {
        w.push_int(i);
    }
    w.push(b"f");
    w.push_int(0);
    for &(flags, ms, seq) in entries {
        for i in [flags, ms, seq] {
            w.push_int(i);
        }
        if flags & 2 != 0 {
            w.push(b"v");
            w.push_int(lp_count.unwrap_or(4));
        } else {
            w.push_int(1);
            w.push(b"g");
            w.push(b"v");
            w.push_int(lp_count.unwrap_or(6));
        }
    }
    w.finish()
}

/// A version-1 stream payload from (node key, listpack) pairs, its length and last ID.
fn stream_payload(nodes: &[((u64, u64), Vec<u8>)], len: u64, last: (u64, u64)) -> Vec<u8> {
    let mut b = Vec::new();
    put_len(&mut b, nodes.len() as u64);
    for ((ms, seq), lp) in nodes {
        let mut key = ms.to_be_bytes().to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&blob(&key));
        b.extend_from_slice(&blob(lp));
    }
    for n in [len, last.0, last.1, 0] {
        put_len(&mut b, n);
    }
    with_trailer(kind::STREAM_LISTPACKS, &b)
}

fn restore_stream(nodes: &[((u64, u64), Vec<u8>)], len: u64, last: (u64, u64)) -> Result<(), String> {
    match restore_payload(&stream_payload(nodes, len, last), &EncodingLimits::default()) {
        Ok(_) => Ok(()),
        Err(PayloadError::Format(e)) => Err(e.to_string()),
        Err(e) => Err(format!("{e:?}")),
    }
}

#[test]
fn restore_sanitizes_stream_listpacks() {
    let good = stream_node_lp(2, 1, &[(2, 0, 0), (3, 0, 1), (0, 1, 0)], None);
    assert_eq!(restore_stream(&[((10, 0), good.clone())], 2, (11, 0)), Ok(()));
    let refused = [
        // An entry's element count (its last element) not matching its fields.
        (vec![((10, 0), stream_node_lp(1, 0, &[(2, 0, 0)], Some(5)))], 1, "element count does not match"),
        // Counts in the master entry that the entries do not bear out.
        (vec![((10, 0), stream_node_lp(2, 0, &[(2, 0, 0)], None))], 2, "missing or non-integer"),
        (vec![((10, 0), stream_node_lp(1, 0, &[(2, 0, 0), (2, 0, 1)], None))], 1, "elements after the last"),
        (vec![((10, 0), stream_node_lp(1, 1, &[(2, 0, 0), (2, 0, 1)], None))], 2, "deleted count"),
        // Entries out of order, and one before its node's key (a negative delta).
        (vec![((10, 0), stream_node_lp(2, 0, &[(2, 0, 1), (2, 0, 0)], None))], 2, "out of order"),
        (vec![((10, 5), stream_node_lp(1, 0, &[(2, 0, -1)], None))], 1, "before its node's key"),
        // Node keys repeated, descending, or not above the entries of the node before.
        (
            vec![
                ((10, 0), stream_node_lp(1, 0, &[(2, 0, 0)], None)),
                ((10, 0), stream_node_lp(1, 0, &[(2, 0, 1)], None)),
            ],
            2,
            "node key out of order",
        ),
        (
            vec![
                ((10, 0), stream_node_lp(1, 0, &[(2, 0, 0)], None)),
                ((5, 0), stream_node_lp(1, 0, &[(2, 6, 0)], None)),
            ],
            2,
            "node key out of order",
        ),
        (
            vec![
                ((10, 0), stream_node_lp(1, 0, &[(2, 3, 0)], None)),
                ((12, 0), stream_node_lp(1, 0, &[(2, 2, 0)], None)),
            ],
            2,
            "node key out of order",
        ),
    ];
    for (nodes, len, why) in refused {
        let e = restore_stream(&nodes, len, (20, 0)).unwrap_err();
        assert!(e.contains(why), "{e} (wanted {why})");
    }
    // The master entry not ended by 0, and an empty node.
    let mut w = listpack::Writer::new();
    for i in [1, 0, 1] {
        w.push_int(i);
    }
    w.push(b"f");
    w.push_int(1);
    for i in [2, 0, 0] {
        w.push_int(i);
    }
    w.push(b"v");
    w.push_int(4);
    let e = restore_stream(&[((10, 0), w.finish())], 1, (20, 0)).unwrap_err();
    assert!(e.contains("not terminated by 0"), "{e}");
    let e = restore_stream(&[((10, 0), listpack_of(&[]))], 0, (20, 0)).unwrap_err();
    assert!(e.contains("empty stream node"), "{e}");
    // The stream's length or last ID disagreeing with its entries.
    assert!(restore_stream(&[((10, 0), good.clone())], 3, (11, 0)).unwrap_err().contains("length 3"));
    assert!(restore_stream(&[((10, 0), good)], 2, (10, 0)).unwrap_err().contains("after the stream's last ID"));
}

#[test]
fn big_zipmaps_load_in_linear_time() {
    // 50,000 pairs: loaded as a listpack filled pair by pair (each insert scanning for a
    // duplicate) this took minutes; converted once past the entry limit it takes milliseconds.
    let n = 50_000u32;
    let mut zm = vec![254];
    for i in 0..n {
        zm.extend_from_slice(&[4, b'k', (i >> 16) as u8, (i >> 8) as u8, i as u8, 1, 0, b'v']);
    }
    zm.push(0xFF);
    let start = std::time::Instant::now();
    let h = read_object(&[&[kind::HASH_ZIPMAP][..], &blob(&zm)].concat(), &EncodingLimits::default()).unwrap().unwrap();
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    let Value::Hash(h) = h else { panic!("a hash") };
    assert_eq!((h.len(), h.encoding()), (n as usize, "hashtable"));
    // A duplicate field is still found after the conversion.
    let mut dup = zm[..zm.len() - 1].to_vec();
    dup.extend_from_slice(&[4, b'k', 0, 0, 7, 1, 0, b'v', 0xFF]);
    let e = read_object(&[&[kind::HASH_ZIPMAP][..], &blob(&dup)].concat(), &EncodingLimits::default()).unwrap_err();
    assert!(e.what.contains("duplicate"), "{e}");
}

#[test]
fn blob_scores_read_like_strtod() {
    use super::blob_score;
    let cases: &[(&[u8], f64)] = &[
        (b"1.5", 1.5),
        (b"abc", 0.0),
        (b"7xy", 7.0),
        (b" 2.5e3x", 2500.0),
        (b"-3e", -3.0),
        (b"1e+", 1.0),
        (b".5", 0.5),
        (b"4.", 4.0),
        (b".", 0.0),
        (b"-", 0.0),
        (b"+3", 3.0),
        (b"0x10", 16.0),
        (b"", 0.0),
    ];
    for (text, want) in cases {
        assert_eq!(blob_score(text), *want, "{:?}", String::from_utf8_lossy(text));
    }
    assert_eq!(blob_score(b"-Infinity"), f64::NEG_INFINITY);
    assert_eq!(blob_score(b"inf"), f64::INFINITY);
    assert!(blob_score(b"nan").is_nan());
}

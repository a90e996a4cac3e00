//! The checks behind the fuzz targets, shared by the libFuzzer builds and the plain binaries
//! that replay files on stable.
//!
//! Both targets hold the loader to the same contract: any input is either read or refused with
//! an error whose offset lies inside the input; nothing panics, hangs or allocates more than
//! the input can back. Whatever is read is written again and read back, and must come back as
//! the same value.

use roost_store::rdb::{
    canonical, crc64::crc64, dump_payload, restore_payload, EncodeOptions, Error, PayloadError, Reader, Record, Writer,
    RDB_VERSION,
};
use roost_store::{EncodingLimits, Value};

/// A refusal must say what and where: a description, and an offset inside the input.
fn check_error(e: &Error, input_len: usize) {
    assert!(!e.what.is_empty(), "an error without a description");
    assert!(e.offset <= input_len, "error offset {} past the input's {input_len} bytes: {e}", e.offset);
}

/// A value that was read is written again (compressed and not) and must read back the same.
pub fn check_value(v: &Value) {
    let limits = EncodingLimits::default();
    let want = canonical(v);
    for compress in [true, false] {
        let payload = dump_payload(v, &EncodeOptions { compress, ..EncodeOptions::default() });
        let back = match restore_payload(&payload, &limits) {
            Ok(Some(back)) => back,
            Ok(None) => panic!("re-encoded value reads back as empty: {want}"),
            Err(e) => panic!("re-encoded value refused ({e:?}): {want}"),
        };
        assert_eq!(canonical(&back), want, "re-encoded value reads back different");
    }
}

/// The `rdb_file` target: a whole file, record by record to the end or the first error; each
/// key's value re-encoded, and a file read in full written again and read back.
pub fn rdb_file(data: &[u8]) {
    let limits = EncodingLimits::default();
    let reader = match Reader::new(data, &limits) {
        Ok(r) => r,
        Err(e) => return check_error(&e, data.len()),
    };
    let mut records = Vec::new();
    for rec in reader {
        match rec {
            Ok(r) => {
                if let Record::Key { value, .. } = &r {
                    check_value(value);
                }
                records.push(r);
            }
            Err(e) => return check_error(&e, data.len()),
        }
    }
    // Read to the end: the same records written as a new file must read back the same.
    let (aux, functions, keys) = summary(&records);
    let aux_refs: Vec<(&[u8], &[u8])> = aux.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    let mut w = Writer::new(Vec::new(), EncodeOptions::default(), true, &aux_refs).expect("in memory");
    for code in &functions {
        w.function(code).expect("in memory");
    }
    let mut db = None;
    for r in &records {
        if let Record::Key { db: d, key, value, expire_ms, .. } = r {
            if db != Some(*d) {
                w.select_db(*d, 0, 0).expect("in memory");
                db = Some(*d);
            }
            w.key(key, value, expire_ms.map(|t| t as u64)).expect("in memory");
        }
    }
    let file = w.finish().expect("in memory");
    let again: Vec<Record> = Reader::new(&file, &limits)
        .expect("rewritten file has a valid header")
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("rewritten file refused: {e}"));
    assert!(summary(&again) == (aux, functions, keys), "rewritten file reads back different");
}

type Keys = Vec<(usize, Vec<u8>, String, Option<i64>)>;

/// What a file holds, in a comparable form: aux fields, function libraries, keys.
#[allow(clippy::type_complexity)]
fn summary(records: &[Record]) -> (Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>, Keys) {
    let (mut aux, mut functions, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for r in records {
        match r {
            Record::Aux(k, v) => aux.push((k.clone(), v.clone())),
            Record::Function(code) => functions.push(code.clone()),
            Record::ResizeDb { .. } => {}
            Record::Key { db, key, value, expire_ms, .. } => {
                keys.push((*db, key.clone(), canonical(value), *expire_ms))
            }
        }
    }
    (aux, functions, keys)
}

fn check_payload(payload: &[u8]) {
    match restore_payload(payload, &EncodingLimits::default()) {
        Ok(Some(v)) => check_value(&v),
        Ok(None) | Err(PayloadError::VersionOrChecksum) => {}
        Err(PayloadError::Format(e)) => check_error(&e, payload.len()),
    }
}

/// The `restore_payload` target: the input as RESTORE gets it, then again with its trailer
/// (version and CRC64) made valid, so that mutations reach the value reader rather than
/// stopping at the checksum.
pub fn restore(data: &[u8]) {
    check_payload(data);
    if data.len() >= 10 {
        let mut fixed = data.to_vec();
        let n = fixed.len();
        fixed[n - 10..n - 8].copy_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &fixed[..n - 8]);
        fixed[n - 8..].copy_from_slice(&crc.to_le_bytes());
        check_payload(&fixed);
    }
}

/// The plain binaries' `main`: runs `target` over every file named on the command line (a
/// directory stands for the files in it), as libFuzzer would replay them.
pub fn replay(target: fn(&[u8])) {
    let mut files = Vec::new();
    for arg in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(arg);
        if path.is_dir() {
            let mut inner: Vec<_> =
                std::fs::read_dir(&path).expect("readable directory").map(|e| e.expect("entry").path()).collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(path);
        }
    }
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let start = std::time::Instant::now();
        target(&data);
        eprintln!("{}: ok ({} bytes, {:?})", f.display(), data.len(), start.elapsed());
    }
    eprintln!("{} inputs", files.len());
}

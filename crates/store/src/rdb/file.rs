//! Whole RDB files: "REDIS0010", aux fields, function libraries, then per database a SELECTDB
//! and RESIZEDB and its keys (each optionally preceded by its expiry time and LRU/LFU hint),
//! then EOF and the CRC64 of everything before it (0 when checksums are off).
//!
//! The writer goes key by key into any `std::io::Write`, so a snapshot can be produced a shard
//! at a time with only the current key's bytes buffered; the reader yields one record at a
//! time from a byte slice.

use std::io::{self, Write};

use super::decode::read_value;
use super::encode::{object_type, put_string, write_payload};
use super::{crc64::crc64, opcode, put_len, Cursor, EncodeOptions, Error, RDB_VERSION};
use crate::limits::EncodingLimits;
use crate::value::Value;

/// Writes an RDB file.
pub struct Writer<W: Write> {
    out: W,
    crc: u64,
    checksum: bool,
    opts: EncodeOptions,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Starts a file: the magic string and the aux fields (Redis writes `redis-ver`,
    /// `redis-bits`, `ctime`, `used-mem`, `aof-base`; the caller chooses). `checksum` false
    /// ends the file with a zero checksum, which readers take as "not computed".
    pub fn new(out: W, opts: EncodeOptions, checksum: bool, aux: &[(&[u8], &[u8])]) -> io::Result<Writer<W>> {
        let mut w = Writer { out, crc: 0, checksum, opts, buf: Vec::with_capacity(4096) };
        w.buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        for (k, v) in aux {
            w.buf.push(opcode::AUX);
            put_string(&mut w.buf, k, opts.compress);
            put_string(&mut w.buf, v, opts.compress);
        }
        w.flush_buf()?;
        Ok(w)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// A function library, by its code (which names its engine and library).
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.buf.push(opcode::FUNCTION2);
        put_string(&mut self.buf, code, self.opts.compress);
        self.flush_buf()
    }

    /// Starts database `db`, with its key and expiry counts as a sizing hint for the reader.
    pub fn select_db(&mut self, db: usize, keys: u64, expires: u64) -> io::Result<()> {
        put_select_db(&mut self.buf, db, keys, expires);
        self.flush_buf()
    }

    /// One key of the current database; `expire_ms` is a Unix time in ms.
    pub fn key(&mut self, key: &[u8], value: &Value, expire_ms: Option<u64>) -> io::Result<()> {
        put_key(&mut self.buf, key, value, expire_ms, &self.opts);
        self.flush_buf()
    }

    /// Records encoded elsewhere with [`put_select_db`] and [`put_key`], as they are: a snapshot
    /// encodes each shard where it is captured and the file's writer only appends.
    pub fn records(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.checksum {
            self.crc = crc64(self.crc, bytes);
        }
        self.out.write_all(bytes)
    }

    /// Ends the file (EOF and checksum) and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(opcode::EOF);
        self.flush_buf()?;
        let crc = if self.checksum { self.crc } else { 0 };
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A database's SELECTDB and RESIZEDB records; sizes of 0 leave RESIZEDB out (it is only a
/// hint). A file may select the same database more than once (readers take SELECTDB anywhere),
/// which lets shards, and single keys, be written in any order.
pub fn put_select_db(out: &mut Vec<u8>, db: usize, keys: u64, expires: u64) {
    out.push(opcode::SELECTDB);
    put_len(out, db as u64);
    if keys == 0 && expires == 0 {
        return;
    }
    out.push(opcode::RESIZEDB);
    put_len(out, keys);
    put_len(out, expires);
}

/// One key's records: its expiry (a Unix time in ms) if any, then its type, name and value.
pub fn put_key(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_ms: Option<u64>, opts: &EncodeOptions) {
    if let Some(at) = expire_ms {
        out.push(opcode::EXPIRETIME_MS);
        out.extend_from_slice(&at.to_le_bytes());
    }
    out.push(object_type(value));
    put_string(out, key, opts.compress);
    write_payload(out, value, opts);
}

/// One thing an RDB file holds.
#[derive(Debug)]
pub enum Record {
    Aux(Vec<u8>, Vec<u8>),
    /// A function library's code.
    Function(Vec<u8>),
    /// The sizing hint for the database just selected.
    ResizeDb {
        db: usize,
        keys: u64,
        expires: u64,
    },
    /// A key, whether or not its time is up: dropping expired keys (as a primary does on load)
    /// is the caller's decision.
    Key {
        db: usize,
        key: Vec<u8>,
        value: Value,
        /// Unix time in ms.
        expire_ms: Option<i64>,
        /// LRU idle seconds, when the file has them.
        idle: Option<u64>,
        /// LFU counter, when the file has it.
        freq: Option<u8>,
    },
}

/// Reads an RDB file record by record. Keys whose value is an empty collection are skipped,
/// as Redis skips them; after the last record the checksum is verified (unless it is 0).
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    version: u16,
    db: usize,
    limits: &'a EncodingLimits,
    done: bool,
    /// Set by `defer_checksum`; after the end, the checksum's span and stored value.
    deferred: Option<Option<DeferredChecksum>>,
}

/// The checksum a reader found at the end of a file and left to its caller to verify.
#[derive(Clone, Copy, Debug)]
pub struct DeferredChecksum {
    /// The checksum covers the file's first `covers` bytes.
    pub covers: usize,
    /// The checksum stored after them: 0 when the writer computed none.
    pub stored: u64,
}

impl DeferredChecksum {
    /// Compares the stored checksum with `computed`, the CRC-64 of the bytes it covers.
    pub fn verify(&self, computed: u64) -> Result<(), Error> {
        if self.stored != 0 && self.stored != computed {
            return Err(Error { what: "RDB checksum does not match".into(), offset: self.covers });
        }
        Ok(())
    }
}

impl<'a> Reader<'a> {
    /// Checks the magic string and version.
    pub fn new(data: &'a [u8], limits: &'a EncodingLimits) -> Result<Reader<'a>, Error> {
        let head = data.get(..9).ok_or(Error { what: "file shorter than its signature".into(), offset: 0 })?;
        if &head[..5] != b"REDIS" {
            return Err(Error { what: "not an RDB file (wrong signature)".into(), offset: 0 });
        }
        let version = std::str::from_utf8(&head[5..]).ok().and_then(|v| v.parse::<u16>().ok());
        let version = match version {
            Some(v) if (1..=RDB_VERSION).contains(&v) => v,
            _ => return Err(Error { what: "unsupported RDB version".into(), offset: 5 }),
        };
        Ok(Reader { data, pos: 9, version, db: 0, limits, done: false, deferred: None })
    }

    /// Leaves the checksum to the caller: at the end, instead of computing it, the reader keeps
    /// what `deferred_checksum` returns. A whole-file pass, it can then run on another thread
    /// while the records are read.
    pub fn defer_checksum(&mut self) {
        self.deferred = Some(None);
    }

    /// After the last record of a reader told to `defer_checksum`: the checksum to verify (None
    /// before the end, or for a version without checksums).
    pub fn deferred_checksum(&self) -> Option<DeferredChecksum> {
        self.deferred.flatten()
    }

    pub fn version(&self) -> u16 {
        self.version
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The next record, None after the end of the file (its checksum verified).
    pub fn next_record(&mut self) -> Result<Option<Record>, Error> {
        if self.done {
            return Ok(None);
        }
        let mut cur = Cursor { data: self.data, pos: self.pos, base: 0 };
        let (mut expire_ms, mut idle, mut freq) = (None, None, None);
        loop {
            let at = cur.offset();
            let t = cur.byte()?;
            match t {
                opcode::EXPIRETIME => {
                    let s = i32::from_le_bytes(cur.take(4)?.try_into().expect("4 bytes"));
                    expire_ms = Some(i64::from(s) * 1000);
                }
                opcode::EXPIRETIME_MS => expire_ms = Some(cur.u64_le()? as i64),
                opcode::FREQ => freq = Some(cur.byte()?),
                opcode::IDLE => idle = Some(cur.len()?),
                opcode::SELECTDB => {
                    let db = cur.len()?;
                    self.db = usize::try_from(db).map_err(|_| cur.error_at(at, "database index out of range"))?;
                }
                opcode::RESIZEDB => {
                    let keys = cur.len()?;
                    let expires = cur.len()?;
                    self.pos = cur.pos;
                    return Ok(Some(Record::ResizeDb { db: self.db, keys, expires }));
                }
                opcode::AUX => {
                    let k = cur.string()?.into_owned();
                    let v = cur.string()?.into_owned();
                    self.pos = cur.pos;
                    return Ok(Some(Record::Aux(k, v)));
                }
                opcode::MODULE_AUX => return Err(cur.error_at(at, "module data is not supported")),
                opcode::FUNCTION2 => {
                    let code = cur.string()?.into_owned();
                    self.pos = cur.pos;
                    return Ok(Some(Record::Function(code)));
                }
                opcode::FUNCTION => {
                    // The 7.0 release candidates' form: name, engine, an optional description,
                    // then the body; the code of today's form carries the first two itself.
                    let name = cur.string()?.into_owned();
                    let engine = cur.string()?.into_owned();
                    if cur.len()? != 0 {
                        cur.string()?;
                    }
                    let body = cur.string()?;
                    let mut code = b"#!".to_vec();
                    code.extend_from_slice(&engine);
                    code.extend_from_slice(b" name=");
                    code.extend_from_slice(&name);
                    code.push(b'\n');
                    code.extend_from_slice(&body);
                    self.pos = cur.pos;
                    return Ok(Some(Record::Function(code)));
                }
                opcode::EOF => {
                    if self.version >= 5 {
                        let checksum = DeferredChecksum { covers: cur.pos, stored: cur.u64_le()? };
                        match &mut self.deferred {
                            Some(slot) => *slot = Some(checksum),
                            None => checksum.verify(crc64(0, &self.data[..checksum.covers]))?,
                        }
                    }
                    self.pos = cur.pos;
                    self.done = true;
                    return Ok(None);
                }
                t => {
                    let key = cur.string()?.into_owned();
                    let value = read_value(&mut cur, t, self.limits)?;
                    self.pos = cur.pos;
                    match value {
                        Some(value) => {
                            return Ok(Some(Record::Key { db: self.db, key, value, expire_ms, idle, freq }));
                        }
                        None => {
                            (expire_ms, idle, freq) = (None, None, None);
                        }
                    }
                }
            }
        }
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                // One error ends the file: nothing after a bad record can be trusted.
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

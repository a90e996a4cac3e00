//! Redis's RDB format (version 10, what Redis 7.0 writes): values as DUMP/RESTORE payloads
//! and whole files.
//!
//! Owns: the byte layout of every value type in every encoding Redis 7.0 writes, and reading
//! every encoding Redis 7.0 still loads (ziplists, zipmaps, the plain forms); LZF and CRC64 as
//! Redis computes them; the file's opcodes (aux fields, SELECTDB, RESIZEDB, expiry, LRU/LFU
//! hints, function libraries, EOF and checksum).
//! Never: files, sockets or configuration. Writers take a `std::io::Write` or a `Vec`, readers
//! a byte slice; what the server configures (compression, encoding limits) comes in as
//! arguments.
//!
//! Input is never trusted: every length is checked against the bytes that remain before
//! anything is allocated for it, every listpack, ziplist and intset is walked in full, and a
//! malformed payload is an [`Error`] naming what was wrong and where, never a panic.

mod canonical;
pub mod crc64;
mod decode;
mod encode;
mod file;
mod intset;
mod listpack;
mod lzf;
mod ziplist;

use std::borrow::Cow;
use std::fmt;

pub use canonical::canonical;
pub use decode::{read_functions_payload, read_object, restore_payload, verify_payload, PayloadError};
pub use encode::{dump_payload, functions_payload, object_type, write_object, EncodeOptions};
pub use file::{put_key, put_select_db, DeferredChecksum, Reader, Record, Writer};

/// The format version Redis 7.0 writes (and the newest it reads).
pub const RDB_VERSION: u16 = 10;

/// Value types (the byte before a key).
pub mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// File opcodes (in the type byte's place).
pub mod opcode {
    pub const FUNCTION: u8 = 246;
    pub const FUNCTION2: u8 = 245;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// A payload or file that cannot be read: what was wrong, and the byte offset where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub what: String,
    pub offset: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.what, self.offset)
    }
}

impl std::error::Error for Error {}

/// What an RDB length field holds: a length, or the kind of a specially encoded string.
enum Len {
    Plain(u64),
    Special(u8),
}

/// Reading position in an RDB byte stream. `base` is the offset of `data[0]` in the whole
/// input, so errors name positions in what the caller handed over.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0, base: 0 }
    }

    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn error(&self, what: impl Into<String>) -> Error {
        Error { what: what.into(), offset: self.offset() }
    }

    pub(crate) fn error_at(&self, offset: usize, what: impl Into<String>) -> Error {
        Error { what: what.into(), offset }
    }

    pub(crate) fn byte(&mut self) -> Result<u8, Error> {
        let b = *self.data.get(self.pos).ok_or_else(|| self.error("unexpected end of input"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.remaining() {
            return Err(self.error(format!("{n} bytes announced, {} left", self.remaining())));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u64_le(&mut self) -> Result<u64, Error> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn len_field(&mut self) -> Result<Len, Error> {
        let at = self.offset();
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Len::Plain(u64::from(first & 0x3F)),
            1 => Len::Plain((u64::from(first & 0x3F) << 8) | u64::from(self.byte()?)),
            3 => Len::Special(first & 0x3F),
            _ if first == 0x80 => Len::Plain(u64::from(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))),
            _ if first == 0x81 => Len::Plain(u64::from_be_bytes(self.take(8)?.try_into().expect("8"))),
            _ => return Err(self.error_at(at, format!("unknown length encoding 0x{first:02x}"))),
        })
    }

    /// A plain length (the count of a collection, an ID part, ...).
    pub(crate) fn len(&mut self) -> Result<u64, Error> {
        let at = self.offset();
        match self.len_field()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(self.error_at(at, "encoded string where a length belongs")),
        }
    }

    /// A count of items that each take at least `min_bytes` bytes: refused when the input
    /// cannot hold that many, so no caller allocates for a count the input cannot back.
    pub(crate) fn count(&mut self, min_bytes: usize) -> Result<usize, Error> {
        let at = self.offset();
        let n = self.len()?;
        let fits = usize::try_from(n).ok().filter(|&n| n.saturating_mul(min_bytes.max(1)) <= self.remaining());
        fits.ok_or_else(|| self.error_at(at, format!("count {n} exceeds what the input can hold")))
    }

    /// An RDB string: raw bytes, a small integer, or LZF-compressed.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, [u8]>, Error> {
        let at = self.offset();
        match self.len_field()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| self.error_at(at, "string length out of range"))?;
                Ok(Cow::Borrowed(self.take(n)?))
            }
            Len::Special(0) => Ok(Cow::Owned((self.byte()? as i8).to_string().into_bytes())),
            Len::Special(1) => {
                Ok(Cow::Owned(i16::from_le_bytes(self.take(2)?.try_into().expect("2")).to_string().into_bytes()))
            }
            Len::Special(2) => {
                Ok(Cow::Owned(i32::from_le_bytes(self.take(4)?.try_into().expect("4")).to_string().into_bytes()))
            }
            Len::Special(3) => {
                let clen = self.len()?;
                let len = self.len()?;
                let clen = usize::try_from(clen).map_err(|_| self.error_at(at, "compressed length out of range"))?;
                let len = usize::try_from(len).map_err(|_| self.error_at(at, "length out of range"))?;
                let packed = self.take(clen)?;
                lzf::decompress(packed, len)
                    .map(Cow::Owned)
                    .ok_or_else(|| self.error_at(at, "invalid LZF compressed string"))
            }
            Len::Special(k) => Err(self.error_at(at, format!("unknown string encoding {k}"))),
        }
    }

    /// A double as RDB's old text form: a length byte (253 NaN, 254 +inf, 255 -inf), then
    /// that many characters.
    pub(crate) fn text_double(&mut self) -> Result<f64, Error> {
        let at = self.offset();
        match self.byte()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            n => {
                let s = self.take(usize::from(n))?;
                parse_double(s).ok_or_else(|| self.error_at(at, "invalid double"))
            }
        }
    }

    pub(crate) fn binary_double(&mut self) -> Result<f64, Error> {
        Ok(f64::from_bits(self.u64_le()?))
    }
}

/// Parses a score as Redis's strtod-based readers accept it.
pub(crate) fn parse_double(s: &[u8]) -> Option<f64> {
    let t = std::str::from_utf8(s).ok()?;
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" | "-nan" | "+nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.is_empty() || t.starts_with(char::is_whitespace) {
        return None;
    }
    t.parse::<f64>().ok()
}

/// A sorted set blob's score as Redis reads it (C's `strtod` on at most its first 127 bytes):
/// the longest prefix that is a number, and 0 when there is none, so a corrupt score loads as a
/// number rather than failing.
pub(crate) fn blob_score(s: &[u8]) -> f64 {
    let s = &s[..s.len().min(127)];
    // C stops at a NUL; strtod skips leading blanks.
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let start = s.iter().position(|b| !b" \t\n\x0b\x0c\r".contains(b)).unwrap_or(s.len());
    roost_resp::strtod_prefix(&s[start..]).map_or(0.0, |(_, v)| v)
}

/// The length prefix RDB puts before strings and counts.
pub(crate) fn put_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests;

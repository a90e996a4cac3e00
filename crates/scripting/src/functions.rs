//! FUNCTION libraries: metadata, the registry of libraries and functions, FUNCTION LIST's reply
//! and the DUMP/RESTORE payload.

use std::collections::{BTreeMap, HashMap};

use mlua::Function;
use roost_resp::ReplyBuf;

use crate::cache::ScriptFlags;

pub(crate) struct FunctionInfo {
    pub name: String,
    pub func: Function,
    pub flags: ScriptFlags,
    pub description: Option<String>,
}

pub(crate) struct Library {
    pub code: Vec<u8>,
    pub functions: Vec<FunctionInfo>,
}

#[derive(Default)]
pub(crate) struct Registry {
    /// By library name (listed in name order).
    pub libraries: BTreeMap<String, Library>,
    /// Function name -> library name.
    pub owners: HashMap<String, String>,
}

/// Reads `#!lua name=<lib>`: the library's name and the code to compile (the metadata line made
/// a comment so line numbers stay those of the code).
pub(crate) fn parse_metadata(code: &[u8]) -> Result<(String, Vec<u8>), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]).into_owned();
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("#!");
    let engine = &engine[2..];
    if engine != "lua" {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix("name=") {
            Some(_) if name.is_some() => {
                return Err("ERR Invalid metadata value, name argument was given multiple times".into())
            }
            Some(n) => name = Some(n.to_string()),
            None => return Err(format!("ERR Invalid metadata value given: {part}")),
        }
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err(
            "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
                .into(),
        );
    }
    let mut body = b"--".to_vec();
    body.extend_from_slice(&code[2..]);
    Ok((name, body))
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Registry {
    pub(crate) fn function_count(&self) -> usize {
        self.owners.len()
    }

    /// Function names are matched without regard to case, as Redis does.
    pub(crate) fn find(&self, name: &str) -> Option<&FunctionInfo> {
        let key = name.to_ascii_lowercase();
        let lib = self.owners.get(&key)?;
        self.libraries.get(lib)?.functions.iter().find(|f| f.name.to_ascii_lowercase() == key)
    }

    /// The library that has a function called `name` (any case).
    pub(crate) fn owner(&self, name: &str) -> Option<&String> {
        self.owners.get(&name.to_ascii_lowercase())
    }

    pub(crate) fn remove(&mut self, lib: &str) -> Option<Library> {
        let removed = self.libraries.remove(lib)?;
        for f in &removed.functions {
            self.owners.remove(&f.name.to_ascii_lowercase());
        }
        Some(removed)
    }

    pub(crate) fn insert(&mut self, name: String, lib: Library) {
        for f in &lib.functions {
            self.owners.insert(f.name.to_ascii_lowercase(), name.clone());
        }
        self.libraries.insert(name, lib);
    }

    /// FUNCTION LIST's reply for the libraries whose name `matches`.
    pub(crate) fn list(&self, matches: &dyn Fn(&[u8]) -> bool, with_code: bool, reply: &mut ReplyBuf) {
        let libs: Vec<(&String, &Library)> = self.libraries.iter().filter(|(n, _)| matches(n.as_bytes())).collect();
        reply.array(libs.len());
        for (name, lib) in libs {
            reply.map(if with_code { 4 } else { 3 });
            reply.bulk(b"library_name");
            reply.bulk(name.as_bytes());
            reply.bulk(b"engine");
            reply.bulk(b"LUA");
            reply.bulk(b"functions");
            reply.array(lib.functions.len());
            for f in &lib.functions {
                reply.map(3);
                reply.bulk(b"name");
                reply.bulk(f.name.as_bytes());
                reply.bulk(b"description");
                match &f.description {
                    Some(d) => reply.bulk(d.as_bytes()),
                    None => reply.null(),
                }
                reply.bulk(b"flags");
                let names = f.flags.names();
                reply.set(names.len());
                for n in names {
                    reply.simple(n.as_bytes());
                }
            }
            if with_code {
                reply.bulk(b"library_code");
                reply.bulk(&lib.code);
            }
        }
    }

    /// FUNCTION DUMP's payload, in Redis's format so either server can restore the other's:
    /// one function-library record per library, then the RDB version and a CRC64.
    pub(crate) fn dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for lib in self.libraries.values() {
            out.push(OPCODE_FUNCTION2);
            write_length(&mut out, lib.code.len() as u64);
            out.extend_from_slice(&lib.code);
        }
        out.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// RDB's opcode for a function library (its code) and the RDB version Redis 7.0 writes.
const OPCODE_FUNCTION2: u8 = 245;
const RDB_VERSION: u16 = 10;

fn write_length(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// CRC-64 with the Jones polynomial, reflected, as Redis checksums payloads.
fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5; // 0xad93d23594c935a9 reflected
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
    }
    crc
}

/// Reads payload bytes in RDB's encodings.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// What an RDB length field holds: a length, or the kind of a specially encoded string.
enum Length {
    Plain(u64),
    Encoded(u8),
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn length(&mut self) -> Option<Length> {
        let first = self.byte()?;
        Some(match first >> 6 {
            0 => Length::Plain((first & 0x3f) as u64),
            1 => Length::Plain((((first & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 if first == 0x80 => Length::Plain(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as u64),
            2 if first == 0x81 => Length::Plain(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            3 => Length::Encoded(first & 0x3f),
            _ => return None,
        })
    }

    fn plain_length(&mut self) -> Option<usize> {
        match self.length()? {
            Length::Plain(n) => usize::try_from(n).ok(),
            Length::Encoded(_) => None,
        }
    }

    /// An RDB string: raw, an integer, or LZF-compressed.
    fn string(&mut self) -> Option<Vec<u8>> {
        match self.length()? {
            Length::Plain(n) => Some(self.take(usize::try_from(n).ok()?)?.to_vec()),
            Length::Encoded(0) => Some((self.byte()? as i8).to_string().into_bytes()),
            Length::Encoded(1) => Some(i16::from_le_bytes(self.take(2)?.try_into().ok()?).to_string().into_bytes()),
            Length::Encoded(2) => Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?).to_string().into_bytes()),
            Length::Encoded(3) => {
                let compressed = self.plain_length()?;
                let len = self.plain_length()?;
                let input = self.take(compressed)?;
                lzf_decompress(input, len)
            }
            Length::Encoded(_) => None,
        }
    }
}

/// LZF decompression of exactly `len` bytes; None if the input is not valid LZF for that.
fn lzf_decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    // The output cannot be longer than this for any valid input, which bounds a bogus `len`.
    let mut out = Vec::with_capacity(len.min(input.len().saturating_mul(264)));
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = input.get(i..i + ctrl + 1)?;
            out.extend_from_slice(run);
            i += ctrl + 1;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            for k in 0..n + 2 {
                let b = out[start + k];
                out.push(b);
            }
        }
        if out.len() > len {
            return None;
        }
    }
    (out.len() == len).then_some(out)
}

/// Splits a FUNCTION DUMP payload into the libraries' code; None if it is not a valid payload.
pub(crate) fn parse_dump(payload: &[u8]) -> Option<Vec<Vec<u8>>> {
    if payload.len() < 10 {
        return None;
    }
    let (body, crc) = payload.split_at(payload.len() - 8);
    if crc64(0, body).to_le_bytes() != crc {
        return None;
    }
    let (records, version) = body.split_at(body.len() - 2);
    if u16::from_le_bytes([version[0], version[1]]) > RDB_VERSION {
        return None;
    }
    let mut r = Reader { data: records, pos: 0 };
    let mut codes = Vec::new();
    while r.pos < records.len() {
        if r.byte()? != OPCODE_FUNCTION2 {
            return None;
        }
        codes.push(r.string()?);
    }
    Some(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata() {
        assert_eq!(parse_metadata(b"#!lua name=lib\nx").unwrap().0, "lib");
        assert_eq!(parse_metadata(b"return 1").unwrap_err(), "ERR Missing library metadata");
        assert_eq!(parse_metadata(b"#!luax name=x\n").unwrap_err(), "ERR Engine 'luax' not found");
        assert_eq!(parse_metadata(b"#!lua name=x").unwrap_err(), "ERR Invalid library metadata");
        assert_eq!(parse_metadata(b"#!lua name=x\r\n").unwrap().0, "x");
        assert_eq!(parse_metadata(b"#!lua\n").unwrap_err(), "ERR Library name was not given");
        assert_eq!(parse_metadata(b"#!lua name=x foo=bar\n").unwrap_err(), "ERR Invalid metadata value given: foo=bar");
        assert!(parse_metadata(b"#!lua name=a-b\n").unwrap_err().contains("Library names can only contain"));
    }

    #[test]
    fn dump_payload_rejects_garbage() {
        assert!(parse_dump(b"").is_none());
        assert!(parse_dump(b"garbage payload!").is_none());
        let reg = Registry::default();
        assert_eq!(parse_dump(&reg.dump()), Some(vec![]));
        let mut bad = reg.dump();
        bad[0] ^= 1;
        assert!(parse_dump(&bad).is_none());
    }

    #[test]
    fn reads_redis_payloads() {
        // FUNCTION DUMP of Redis 7.0: one library stored plainly, one LZF-compressed.
        let plain = b"\xf5@C#!lua name=a\nredis.register_function(\"fa\", function() return 1 end)\n\x00u\x83\x90!\xb3\x90(\xd6";
        assert_eq!(
            parse_dump(plain).unwrap(),
            vec![b"#!lua name=a\nredis.register_function(\"fa\", function() return 1 end)".to_vec()]
        );
        let compressed = b"\xf5\xc3@a@g\x1f#!lua name=busy\nredis.register_f\x08unction('@\x1d\x02', \xe0\x00\x10\x1a) local i = 0 while true do`\x13\x08i + 1 end \x03\x01d)\n\x00\x1a\tg \xb8-\xea\xf4";
        assert_eq!(
            parse_dump(compressed).unwrap(),
            vec![b"#!lua name=busy\nredis.register_function('busy', function() local i = 0 while true do i = i + 1 end end)".to_vec()]
        );
    }

    #[test]
    fn crc64_check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }
}

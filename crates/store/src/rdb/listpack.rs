//! Redis's listpack, byte for byte: the blob RDB stores small hashes, sorted sets, list nodes
//! and stream nodes in.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 when it does not fit), the
//! elements, then 0xFF. Each element is an encoding byte (with the length or a small integer in
//! its low bits), its data, and its own size (encoding plus data) written backwards in 7-bit
//! groups so the list can be walked from the end:
//! - `0xxxxxxx` a 7-bit unsigned integer; `110xxxxx` + 1 byte a 13-bit signed one;
//! - `10xxxxxx` a string of up to 63 bytes; `1110xxxx` + 1 byte up to 4095; `0xF0` + u32 LE;
//! - `0xF1..=0xF4` a 16, 24, 32 or 64-bit signed integer, little-endian.
//!
//! Strings that are canonical integers are stored as integers, as Redis's `lpAppend` does.

use super::Cursor;
use crate::value::canonical_int;

const HEADER: usize = 6;
const EOF: u8 = 0xFF;
const COUNT_UNKNOWN: u16 = u16::MAX;

/// An element as read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Item::Int(i) => i.to_string().into_bytes(),
            Item::Str(s) => s.to_vec(),
        }
    }

    /// The integer this element holds, also when stored as a string that spells one (how
    /// Redis reads the numeric fields of a stream node).
    pub fn as_int(self) -> Option<i64> {
        match self {
            Item::Int(i) => Some(i),
            Item::Str(s) => canonical_int(s),
        }
    }
}

/// Size in bytes of the back-length field for an element of `len` bytes.
fn backlen_size(len: usize) -> usize {
    if len <= 127 {
        1
    } else if len < 16383 {
        2
    } else if len < 2_097_151 {
        3
    } else if len < 268_435_455 {
        4
    } else {
        5
    }
}

fn put_backlen(out: &mut Vec<u8>, len: usize) {
    let n = backlen_size(len);
    // Most significant group first; every byte but the first carries the continuation bit,
    // so reading backwards from the last byte knows when to stop.
    for i in (0..n).rev() {
        let group = ((len >> (7 * i)) & 127) as u8;
        out.push(if i + 1 == n { group } else { group | 128 });
    }
}

/// Builds a listpack element by element.
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer { buf: vec![0; HEADER], count: 0 }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    /// Bytes the finished listpack will take.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Appends a string, as an integer when it spells one.
    pub fn push(&mut self, s: &[u8]) {
        match canonical_int(s) {
            Some(i) => self.push_int(i),
            None => self.push_str(s),
        }
    }

    /// Appends a string as a string, whatever it holds.
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let len = self.buf.len() - start;
        put_backlen(&mut self.buf, len);
        self.count += 1;
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64 & 0x1FFF) as u16;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else {
            let (tag, width) = if i16::try_from(v).is_ok() {
                (0xF1, 2)
            } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                (0xF2, 3)
            } else if i32::try_from(v).is_ok() {
                (0xF3, 4)
            } else {
                (0xF4, 8)
            };
            self.buf.push(tag);
            self.buf.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        let len = self.buf.len() - start;
        put_backlen(&mut self.buf, len);
        self.count += 1;
    }

    /// Bytes `push_int(v)` would add.
    pub fn int_size(v: i64) -> usize {
        let data = if (0..=127).contains(&v) {
            1
        } else if (-4096..=4095).contains(&v) {
            2
        } else if i16::try_from(v).is_ok() {
            3
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            4
        } else if i32::try_from(v).is_ok() {
            5
        } else {
            9
        };
        data + backlen_size(data)
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = if self.count >= COUNT_UNKNOWN as usize { COUNT_UNKNOWN } else { self.count as u16 };
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Reads one element at `pos`, checking that it and its back-length lie inside `lp` (whose
/// last byte is the terminator) and agree. Returns the element and the position after it.
/// `n` bytes of `lp` from `from`, if they end before the terminator.
fn slice(lp: &[u8], from: usize, n: usize) -> Result<&[u8], &'static str> {
    let end = lp.len() - 1;
    from.checked_add(n).filter(|&e| e <= end).map(|e| &lp[from..e]).ok_or("element runs past the end")
}

fn element(lp: &[u8], pos: usize) -> Result<(Item<'_>, usize), &'static str> {
    let get = |from: usize, n: usize| slice(lp, from, n);
    let b = lp[pos];
    let (item, size) = match b {
        0x00..=0x7F => (Item::Int(i64::from(b)), 1),
        0x80..=0xBF => {
            let n = usize::from(b & 0x3F);
            (Item::Str(get(pos + 1, n)?), 1 + n)
        }
        0xC0..=0xDF => {
            let lo = get(pos + 1, 1)?[0];
            let u = (u16::from(b & 0x1F) << 8) | u16::from(lo);
            // Sign-extend the 13-bit value.
            let v = i64::from(((u << 3) as i16) >> 3);
            (Item::Int(v), 2)
        }
        0xE0..=0xEF => {
            let lo = get(pos + 1, 1)?[0];
            let n = (usize::from(b & 0x0F) << 8) | usize::from(lo);
            (Item::Str(get(pos + 2, n)?), 2 + n)
        }
        0xF0 => {
            let l = get(pos + 1, 4)?;
            let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
            (Item::Str(get(pos + 5, n)?), 5 + n)
        }
        0xF1..=0xF4 => {
            let width = [2usize, 3, 4, 8][usize::from(b - 0xF1)];
            let d = get(pos + 1, width)?;
            let mut raw = [0u8; 8];
            raw[..width].copy_from_slice(d);
            let shift = 64 - 8 * width as u32;
            (Item::Int((i64::from_le_bytes(raw) << shift) >> shift), 1 + width)
        }
        _ => return Err("invalid element encoding"),
    };
    let bl = backlen_size(size);
    let back = get(pos + size, bl)?;
    let mut decoded = 0usize;
    for (i, &byte) in back.iter().rev().enumerate() {
        let last = i + 1 == bl;
        if (byte & 128 != 0) == last {
            return Err("malformed back-length");
        }
        decoded |= usize::from(byte & 127) << (7 * i);
    }
    if decoded != size {
        return Err("back-length does not match the element");
    }
    Ok((item, pos + size + bl))
}

/// Checks a whole listpack (header, every element, terminator, count) and returns its
/// elements. Errors carry the offset inside the listpack.
pub fn parse(lp: &[u8]) -> Result<Vec<Item<'_>>, (String, usize)> {
    if lp.len() < HEADER + 1 {
        return Err(("listpack shorter than its header".into(), 0));
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err((format!("listpack header says {total} bytes, blob has {}", lp.len()), 0));
    }
    if lp[lp.len() - 1] != EOF {
        return Err(("listpack does not end with its terminator".into(), lp.len() - 1));
    }
    let count = u16::from_le_bytes([lp[4], lp[5]]);
    let mut items = Vec::with_capacity(usize::from(count).min(lp.len() / 2));
    let mut pos = HEADER;
    while pos < lp.len() - 1 {
        let (item, next) = element(lp, pos).map_err(|e| (format!("listpack: {e}"), pos))?;
        items.push(item);
        pos = next;
    }
    if count != COUNT_UNKNOWN && usize::from(count) != items.len() {
        return Err((format!("listpack header counts {count} elements, found {}", items.len()), 4));
    }
    Ok(items)
}

/// `parse` for a blob read at `cur`'s current position, errors placed there.
pub fn parse_at<'a>(lp: &'a [u8], cur: &Cursor<'_>, at: usize) -> Result<Vec<Item<'a>>, super::Error> {
    parse(lp).map_err(|(what, off)| cur.error_at(at, format!("{what} (byte {off} of the blob)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let ints = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            8_388_607,
            -8_388_608,
            8_388_608,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ];
        let mut w = Writer::new();
        for &i in &ints {
            w.push_int(i);
        }
        w.push(b"hello");
        w.push(b"");
        w.push(&mid);
        w.push(&long);
        w.push(b"007");
        let lp = w.finish();
        let items = parse(&lp).unwrap();
        for (k, &i) in ints.iter().enumerate() {
            assert_eq!(items[k], Item::Int(i));
        }
        let n = ints.len();
        assert_eq!(items[n], Item::Str(b"hello"));
        assert_eq!(items[n + 1], Item::Str(b""));
        assert_eq!(items[n + 2], Item::Str(&mid));
        assert_eq!(items[n + 3], Item::Str(&long));
        assert_eq!(items[n + 4], Item::Str(b"007"));
        for &i in &ints {
            let mut one = Writer::new();
            one.push_int(i);
            assert_eq!(one.bytes() - 7, Writer::int_size(i));
        }
    }

    #[test]
    fn known_bytes() {
        // A listpack of "a" and 1, as Redis writes it.
        let mut w = Writer::new();
        w.push(b"a");
        w.push(b"1");
        assert_eq!(w.finish(), [12, 0, 0, 0, 2, 0, 0x81, b'a', 2, 1, 1, 0xFF]);
    }

    #[test]
    fn corruption_is_refused() {
        let mut w = Writer::new();
        w.push(b"abc");
        w.push_int(1000);
        let lp = w.finish();
        for cut in 0..lp.len() {
            assert!(parse(&lp[..cut]).is_err());
        }
        for i in 0..lp.len() {
            for bit in 0..8 {
                let mut bad = lp.clone();
                bad[i] ^= 1 << bit;
                let _ = parse(&bad);
            }
        }
    }
}

//! The two blob formats older Redis versions wrote and Redis 7.0 still loads: the ziplist (lists,
//! small hashes and sorted sets before listpacks) and the zipmap (small hashes before 2.6).
//!
//! Ziplist: total bytes (u32 LE), offset of the last entry (u32 LE), entry count (u16 LE, 65535
//! when unknown), entries, 0xFF. An entry is the previous entry's size (1 byte, or 0xFE and a
//! u32 LE), an encoding, and data: `00llllll`, `01llllll llllllll` (big-endian) and `10000000`
//! with a u32 BE are strings; `0xC0` i16, `0xD0` i32, `0xE0` i64, `0xF0` i24, `0xFE` i8 (all
//! LE) and `0xF1..=0xFD` the integers 0..12 inline.
//!
//! Zipmap: a count byte (254+ when unknown), then per pair a key length, the key, a value
//! length, a free-space byte, the value and that many unused bytes; 0xFF ends it. Lengths are
//! one byte below 254, else 254 and a u32 LE.

use super::listpack::Item;

/// Checks a ziplist in full (header, every entry's bounds and back-link, terminator, count)
/// and returns its entries.
pub fn parse(zl: &[u8]) -> Result<Vec<Item<'_>>, String> {
    const HEADER: usize = 10;
    if zl.len() < HEADER + 1 {
        return Err("ziplist shorter than its header".into());
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    if total != zl.len() {
        return Err(format!("ziplist header says {total} bytes, blob has {}", zl.len()));
    }
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let count = u16::from_le_bytes([zl[8], zl[9]]);
    if zl[zl.len() - 1] != 0xFF {
        return Err("ziplist does not end with its terminator".into());
    }
    let end = zl.len() - 1;
    let get = |from: usize, n: usize| slice(zl, from, n);
    let mut items = Vec::new();
    let mut pos = HEADER;
    let mut prev_size = 0usize;
    let mut last = HEADER;
    while pos < end {
        let start = pos;
        let first = get(pos, 1)?[0];
        let prevlen = if first < 254 {
            pos += 1;
            usize::from(first)
        } else if first == 254 {
            let b = get(pos + 1, 4)?;
            pos += 5;
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        } else {
            return Err("ziplist entry with an invalid previous-length".into());
        };
        if prevlen != prev_size {
            return Err("ziplist entry's previous-length does not match".into());
        }
        let enc = get(pos, 1)?[0];
        let item = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3F);
                let s = get(pos + 1, n)?;
                pos += 1 + n;
                Item::Str(s)
            }
            1 => {
                let lo = get(pos + 1, 1)?[0];
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(lo);
                let s = get(pos + 2, n)?;
                pos += 2 + n;
                Item::Str(s)
            }
            2 if enc == 0x80 => {
                let b = get(pos + 1, 4)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                let s = get(pos + 5, n)?;
                pos += 5 + n;
                Item::Str(s)
            }
            2 => return Err("ziplist entry with an invalid string encoding".into()),
            _ => {
                let width = match enc {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => return Err("ziplist entry with an invalid integer encoding".into()),
                };
                let v = if width == 0 {
                    i64::from(enc & 0x0F) - 1
                } else {
                    let d = get(pos + 1, width)?;
                    let mut raw = [0u8; 8];
                    raw[..width].copy_from_slice(d);
                    let shift = 64 - 8 * width as u32;
                    (i64::from_le_bytes(raw) << shift) >> shift
                };
                pos += 1 + width;
                Item::Int(v)
            }
        };
        items.push(item);
        prev_size = pos - start;
        last = start;
    }
    if tail != last {
        return Err("ziplist tail offset does not point at the last entry".into());
    }
    if count != u16::MAX && usize::from(count) != items.len() {
        return Err(format!("ziplist header counts {count} entries, found {}", items.len()));
    }
    Ok(items)
}

/// `n` bytes of a ziplist from `from`, if they end before its terminator.
fn slice(zl: &[u8], from: usize, n: usize) -> Result<&[u8], String> {
    let end = zl.len() - 1;
    from.checked_add(n)
        .filter(|&e| e <= end)
        .map(|e| &zl[from..e])
        .ok_or_else(|| "ziplist entry runs past the end".to_string())
}

/// The next `n` bytes of a zipmap.
fn take<'a>(zm: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], String> {
    let end = pos.checked_add(n).filter(|&e| e <= zm.len()).ok_or_else(|| "zipmap runs past the end".to_string())?;
    let s = &zm[*pos..end];
    *pos = end;
    Ok(s)
}

/// A zipmap length; None for the terminator.
fn zipmap_len(zm: &[u8], pos: &mut usize) -> Result<Option<usize>, String> {
    let b = take(zm, pos, 1)?[0];
    Ok(match b {
        0xFF => None,
        254 => {
            let l = take(zm, pos, 4)?;
            Some(u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
        }
        n => Some(usize::from(n)),
    })
}

/// A zipmap's (key, value) pairs.
pub type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Checks a zipmap in full and returns its (key, value) pairs.
pub fn parse_zipmap(zm: &[u8]) -> Result<Pairs<'_>, String> {
    let mut pos = 0usize;
    let count = take(zm, &mut pos, 1)?[0];
    let mut pairs = Vec::new();
    while let Some(klen) = zipmap_len(zm, &mut pos)? {
        let key = take(zm, &mut pos, klen)?;
        let vlen = zipmap_len(zm, &mut pos)?.ok_or("zipmap key without a value")?;
        let free = usize::from(take(zm, &mut pos, 1)?[0]);
        let value = take(zm, &mut pos, vlen)?;
        take(zm, &mut pos, free)?;
        pairs.push((key, value));
    }
    if pos != zm.len() {
        return Err("bytes after the zipmap's terminator".into());
    }
    if count < 254 && usize::from(count) != pairs.len() {
        return Err(format!("zipmap header counts {count} pairs, found {}", pairs.len()));
    }
    Ok(pairs)
}

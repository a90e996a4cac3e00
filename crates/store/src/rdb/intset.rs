//! Redis's intset blob: encoding (bytes per member: 2, 4 or 8) as u32 LE, member count as u32
//! LE, then the members ascending, little-endian, all of that width.

/// Checks an intset blob as Redis's deep sanitisation does (known width, exact size, at least
/// one member, strictly ascending) and returns (width, members' bytes).
pub fn parse(blob: &[u8]) -> Result<(u8, &[u8]), String> {
    if blob.len() < 8 {
        return Err("intset shorter than its header".into());
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("intset has an invalid encoding {width}"));
    }
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    let data = &blob[8..];
    if count.checked_mul(width as usize) != Some(data.len()) {
        return Err(format!("intset of {count} members does not fit {} bytes", data.len()));
    }
    if count == 0 {
        return Err("empty intset".into());
    }
    let w = width as usize;
    let mut prev = None;
    for m in data.chunks_exact(w) {
        let v = get(m);
        if prev.is_some_and(|p| p >= v) {
            return Err("intset members out of order or repeated".into());
        }
        prev = Some(v);
    }
    Ok((width as u8, data))
}

/// One member from its little-endian bytes (2, 4 or 8 of them).
pub fn get(m: &[u8]) -> i64 {
    let mut raw = [0u8; 8];
    raw[..m.len()].copy_from_slice(m);
    let shift = 64 - 8 * m.len() as u32;
    (i64::from_le_bytes(raw) << shift) >> shift
}

/// The blob for members of `width` bytes each, already in order.
pub fn build(width: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&u32::from(width).to_le_bytes());
    let count = data.len() / usize::from(width.max(1));
    out.extend_from_slice(&(count as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

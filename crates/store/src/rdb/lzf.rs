//! LZF compression producing the same bytes as the liblzf build Redis bundles (16-bit hash
//! table, the "very fast" variant), so that a DUMP payload or RDB file Roost writes is byte for
//! byte what Redis writes for the same value. Decompression is the list module's: the format
//! has one reading.
//!
//! The two encoders agree because they make the same choices: the same 3-byte hash, the same
//! candidate per slot (the latest position), the same match extension (sixteen unbounded steps
//! first when far from the end) and the same early give-up when the output would not fit. One
//! thing liblzf leaves to chance is the hash table's initial contents (it is not cleared); a
//! cleared table is what a fresh process sees in practice, and what this one always uses.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn slot(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `out_len` bytes; None when it does not fit (liblzf's
/// checks, which sometimes give up a few bytes before the limit, are kept as they are so the
/// decision to store a string compressed is the same as Redis's).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if input.is_empty() || out_len == 0 {
        return None;
    }
    // The table is large (a 16-bit hash), and a snapshot compresses every string over 20
    // bytes: each thread keeps one, and only the slots a call wrote are cleared after it, which
    // is the same as starting from a cleared table every time.
    thread_local! {
        static TABLE: std::cell::RefCell<(Vec<u32>, Vec<u32>)> = std::cell::RefCell::new((vec![0; HSIZE], Vec::new()));
    }
    TABLE.with(|table| {
        let (htab, touched) = &mut *table.borrow_mut();
        let out = compress_with(htab, touched, input, out_len);
        for s in touched.drain(..) {
            htab[s as usize] = 0;
        }
        out
    })
}

/// `compress` with a cleared table `htab` (positions plus one; 0 is "empty", which also means
/// position 0 is never a match source, as liblzf's `ref > in_data` test has it); every slot it
/// writes is noted in `touched`.
fn compress_with(htab: &mut [u32], touched: &mut Vec<u32>, input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out = vec![0u8; out_len + 1];
    let (mut ip, mut op, mut lit) = (0usize, 1usize, 0usize);
    let mut hval: u32 = if n >= 2 { (u32::from(input[0]) << 8) | u32::from(input[1]) } else { 0 };
    while ip + 2 < n {
        hval = (hval << 8) | u32::from(input[ip + 2]);
        let s = slot(hval);
        let r = htab[s] as usize;
        if r == 0 {
            touched.push(s as u32);
        }
        htab[s] = ip as u32 + 1;
        let matched = r > 1 && {
            let r = r - 1;
            let off = ip - r - 1;
            off < MAX_OFF && input[r..r + 3] == input[ip..ip + 3]
        };
        if matched {
            let r = r - 1;
            let off = ip - r - 1;
            let mut len = 2;
            let maxlen = (n - ip - len).min(MAX_REF);
            // Close the literal run (or take back its unused control byte).
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            if op + 3 + 1 >= out_len {
                return None;
            }
            let mut done = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 2;
            lit = 0;
            ip += len + 1;
            if ip + 2 >= n {
                break;
            }
            // The "very fast" variant hashes only the last two positions of the match.
            ip -= 2;
            hval = (u32::from(input[ip]) << 8) | u32::from(input[ip + 1]);
            for _ in 0..2 {
                hval = (hval << 8) | u32::from(input[ip + 2]);
                let s = slot(hval);
                if htab[s] == 0 {
                    touched.push(s as u32);
                }
                htab[s] = ip as u32 + 1;
                ip += 1;
            }
        } else {
            if op >= out_len {
                return None;
            }
            copy_literal(&mut out, &mut op, &mut lit, input[ip]);
            ip += 1;
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < n {
        copy_literal(&mut out, &mut op, &mut lit, input[ip]);
        ip += 1;
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Appends one byte to the open literal run, closing the run (its control byte is the run's
/// length less one, written before it) when it reaches the longest a run can be.
#[inline]
fn copy_literal(out: &mut [u8], op: &mut usize, lit: &mut usize, byte: u8) {
    *lit += 1;
    out[*op] = byte;
    *op += 1;
    if *lit == MAX_LIT {
        out[*op - *lit - 1] = (*lit - 1) as u8;
        *lit = 0;
        *op += 1;
    }
}

/// Expands an LZF stream that must give exactly `len` bytes. A claimed length no stream of
/// `input.len()` bytes could produce is refused before anything is allocated for it: the
/// densest item, a 3-byte back-reference, yields 264 bytes.
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    if len > input.len().saturating_mul(88) {
        return None;
    }
    let mut out = Vec::new();
    crate::list::lzf::decompress_into(input, len, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_gives_up_when_it_cannot_shrink() {
        let text: Vec<u8> = b"hello hello hello hello world world world ".repeat(40);
        let packed = compress(&text, text.len() - 4).expect("repetitive text shrinks");
        assert!(packed.len() < text.len() / 4);
        assert_eq!(decompress(&packed, text.len()).unwrap(), text);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(compress(&noise, noise.len() - 4).is_none());
        for n in 21..200 {
            let s = vec![b'a'; n];
            let p = compress(&s, n - 4).unwrap();
            assert_eq!(decompress(&p, n).unwrap(), s);
        }
    }

    #[test]
    fn absurd_lengths_are_refused_without_allocating() {
        assert!(decompress(&[0, b'a'], usize::MAX).is_none());
        assert!(decompress(&[0, b'a'], 1 << 40).is_none());
    }
}

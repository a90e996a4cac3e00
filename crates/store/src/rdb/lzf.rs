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

use std::cell::RefCell;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// The largest output buffer a thread keeps between calls.
const KEPT_OUTPUT: usize = 64 << 10;

fn slot(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input` into at most `out_len` bytes and hands the result to `use_packed`; None
/// when it does not fit (liblzf's checks, which sometimes give up a few bytes before the limit,
/// are kept as they are so the decision to store a string compressed is the same as Redis's).
/// Inputs of 2 GB or more, whose positions the table's entries cannot hold, are stored as they are.
pub fn compress_then<R>(input: &[u8], out_len: usize, use_packed: impl FnOnce(&[u8]) -> R) -> Option<R> {
    if input.is_empty() || out_len == 0 || input.len() >= (u32::MAX / 2) as usize {
        return None;
    }
    // A snapshot compresses every string over 20 bytes, so each thread keeps its table and its
    // output buffer from call to call instead of allocating and clearing them every time.
    thread_local! {
        static ENCODER: RefCell<Encoder> = RefCell::new(Encoder::new());
    }
    ENCODER.with(|encoder| {
        let encoder = &mut *encoder.borrow_mut();
        let result = encoder.compress(input, out_len).map(use_packed);
        // A buffer grown for one large string is not kept for the thread's lifetime.
        if encoder.out.len() > KEPT_OUTPUT {
            encoder.out = Vec::new();
        }
        result
    })
}

/// The match finder's table and the output buffer one thread reuses.
struct Encoder {
    /// Per hash slot, `base + position + 1` of the latest position hashed there. Everything an
    /// earlier call wrote is at most `base`, so every call starts from a cleared table without
    /// clearing it.
    table: Box<[u32; HSIZE]>,
    base: u32,
    /// Sized once to the largest output asked for; what earlier calls left in it is never read.
    out: Vec<u8>,
}

impl Encoder {
    fn new() -> Encoder {
        let table = vec![0; HSIZE].into_boxed_slice().try_into().expect("HSIZE entries");
        Encoder { table, base: 0, out: Vec::new() }
    }

    fn compress(&mut self, input: &[u8], out_len: usize) -> Option<&[u8]> {
        let n = input.len();
        // Positions of this call are stored as `base + 1 ..= base + n`.
        if u32::MAX - self.base <= n as u32 + 1 {
            self.table.fill(0);
            self.base = 0;
        }
        let base = self.base;
        self.base += n as u32 + 1;
        if self.out.len() <= out_len {
            self.out.resize(out_len + 1, 0);
        }
        let table: &mut [u32; HSIZE] = &mut self.table;
        let out = &mut self.out[..out_len + 1];
        let (mut ip, mut op, mut lit) = (0usize, 1usize, 0usize);
        let mut hval: u32 = if n >= 2 { (u32::from(input[0]) << 8) | u32::from(input[1]) } else { 0 };
        while ip + 2 < n {
            hval = (hval << 8) | u32::from(input[ip + 2]);
            let s = slot(hval);
            let seen = table[s];
            table[s] = base + ip as u32 + 1;
            // A candidate from this call, not at position 0 (liblzf's `ref > in_data`), near
            // enough for an offset, and really starting with the same three bytes.
            let r = seen.wrapping_sub(base + 1) as usize;
            let matched = seen > base + 1 && ip - r - 1 < MAX_OFF && input[r..r + 3] == input[ip..ip + 3];
            if !matched {
                if op >= out_len {
                    return None;
                }
                copy_literal(out, &mut op, &mut lit, input[ip]);
                ip += 1;
                continue;
            }
            let off = ip - r - 1;
            let mut len = 2;
            let maxlen = (n - ip - len).min(MAX_REF);
            // Close the literal run (or take back its unused control byte).
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            if op + 3 + 1 >= out_len {
                return None;
            }
            // liblzf's match extension: sixteen unbounded steps first when far from the end,
            // then bounded ones; the lengths it finds are what the bytes must reproduce.
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
                table[slot(hval)] = base + ip as u32 + 1;
                ip += 1;
            }
        }
        if op + 3 > out_len {
            return None;
        }
        while ip < n {
            copy_literal(out, &mut op, &mut lit, input[ip]);
            ip += 1;
        }
        out[op - lit - 1] = (lit as u8).wrapping_sub(1);
        op -= usize::from(lit == 0);
        Some(&self.out[..op])
    }
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

    fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
        compress_then(input, out_len, <[u8]>::to_vec)
    }

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

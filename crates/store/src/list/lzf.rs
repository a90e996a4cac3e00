//! LZF, the byte-oriented LZ77 variant Redis stores compressed list nodes in.
//!
//! A stream is a sequence of items, each led by a control byte:
//! - `000LLLLL`: a literal run; the next `L + 1` (1..32) bytes are copied as they are;
//! - `LLLooooo oooooooo`: a back-reference of `L + 2` (3..8) bytes, `L` in 1..6;
//! - `111ooooo LLLLLLLL oooooooo`: a back-reference of `L + 9` (9..264) bytes.
//!
//! The 13 offset bits give the distance back from the output position minus one (1..8192).
//! A reference may overlap the bytes it produces (distance 1 repeats one byte), so the
//! decompressor copies forwards one byte at a time in that case.

/// Log2 of the match-finder's table size: 8192 slots of 4 bytes live on the stack, enough for
/// nodes of a few KB (the common `list-max-listpack-size` of -2 caps them at 8 KB).
const HASH_BITS: u32 = 13;
/// Farthest a back-reference can reach.
const MAX_DISTANCE: usize = 1 << 13;
/// Longest literal run one control byte can announce.
const MAX_LITERAL: usize = 32;
/// Longest back-reference: 7 + 255 in the length fields, plus the implicit 2.
const MAX_MATCH: usize = 264;
/// A back-reference costs at least two bytes, so shorter matches are not worth one.
const MIN_MATCH: usize = 3;

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

fn slot(b: &[u8]) -> usize {
    let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

fn flush_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let take = lit.len().min(MAX_LITERAL);
        out.push((take - 1) as u8);
        out.extend_from_slice(&lit[..take]);
        lit = &lit[take..];
    }
}

/// Compresses `input`, giving up (None) as soon as the output would exceed `max_out` bytes: the
/// caller only wants the result when it saves enough, so there is no point finishing otherwise.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(max_out.min(input.len() + input.len() / MAX_LITERAL + 1));
    // Last position (plus one; zero means none) where each 3-byte prefix hash was seen.
    let mut table = [0u32; 1 << HASH_BITS];
    let mut lit_start = 0;
    let mut ip = 0;
    while ip + MIN_MATCH <= input.len() {
        let h = slot(&input[ip..]);
        let seen = table[h] as usize;
        table[h] = ip as u32 + 1;
        if seen > 0 {
            let r = seen - 1;
            let dist = ip - r;
            // The hash may collide, so the prefix itself is compared.
            if dist <= MAX_DISTANCE && input[r..r + MIN_MATCH] == input[ip..ip + MIN_MATCH] {
                let max = (input.len() - ip).min(MAX_MATCH);
                let mut len = MIN_MATCH;
                while len < max && input[r + len] == input[ip + len] {
                    len += 1;
                }
                flush_literals(&mut out, &input[lit_start..ip]);
                let o = dist - 1;
                let l = len - 2;
                if l < 7 {
                    out.push((l as u8) << 5 | (o >> 8) as u8);
                } else {
                    out.push(7 << 5 | (o >> 8) as u8);
                    out.push((l - 7) as u8);
                }
                out.push(o as u8);
                if out.len() > max_out {
                    return None;
                }
                // Index the positions the match covers so later repeats of them are found too.
                let end = (ip + len).min(input.len() - (MIN_MATCH - 1));
                for p in ip + 1..end {
                    table[slot(&input[p..])] = p as u32 + 1;
                }
                ip += len;
                lit_start = ip;
                continue;
            }
        }
        ip += 1;
        if ip - lit_start > max_out {
            return None;
        }
    }
    flush_literals(&mut out, &input[lit_start..]);
    (out.len() <= max_out).then_some(out)
}

/// Decompresses `input`, which must expand to exactly `expected` bytes, into `out` (cleared
/// first). Any malformed stream (truncated item, reference before the start, wrong length) is
/// refused rather than trusted.
pub fn decompress_into(input: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), Corrupt> {
    out.clear();
    out.reserve_exact(expected);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            let lit = input.get(ip..ip + n).ok_or(Corrupt)?;
            if out.len() + n > expected {
                return Err(Corrupt);
            }
            out.extend_from_slice(lit);
            ip += n;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += *input.get(ip).ok_or(Corrupt)? as usize;
            ip += 1;
        }
        len += 2;
        let low = *input.get(ip).ok_or(Corrupt)? as usize;
        ip += 1;
        let dist = ((ctrl & 0x1f) << 8 | low) + 1;
        if dist > out.len() || out.len() + len > expected {
            return Err(Corrupt);
        }
        let from = out.len() - dist;
        if dist >= len {
            out.extend_from_within(from..from + len);
        } else {
            // Overlapping: each byte may be one this reference has just written.
            for k in 0..len {
                let b = out[from + k];
                out.push(b);
            }
        }
    }
    if out.len() == expected {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) -> usize {
        let packed = compress(data, usize::MAX).expect("no limit");
        let mut back = Vec::new();
        decompress_into(&packed, data.len(), &mut back).expect("own output decodes");
        assert_eq!(back, data);
        packed.len()
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn round_trips_edge_sizes() {
        for data in [&b""[..], b"a", b"ab", b"abc", b"aaaa", b"abcabcabcabc"] {
            round_trip(data);
        }
    }

    #[test]
    fn round_trips_random_data() {
        let mut r = Rng(0x1234_5678_9abc_def1);
        for len in [1usize, 31, 32, 33, 100, 1000, 8192, 20_000] {
            let data: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            let size = round_trip(&data);
            // Incompressible input costs one control byte per 32 literals.
            assert!(size <= len + len.div_ceil(32), "{len} -> {size}");
        }
    }

    #[test]
    fn round_trips_and_shrinks_repetitive_data() {
        let runs = vec![b'x'; 10_000];
        assert!(round_trip(&runs) < 200);
        let text: Vec<u8> = (0..2000).flat_map(|i| format!("item:{} ", i % 50).into_bytes()).collect();
        assert!(round_trip(&text) < text.len() / 4);
        let mut r = Rng(99);
        // Small alphabet, random order: matches short and frequent.
        let mixed: Vec<u8> = (0..50_000).map(|_| b"abcd"[(r.next() % 4) as usize]).collect();
        round_trip(&mixed);
        // Repeats farther apart than a reference can reach.
        let block: Vec<u8> = (0..9000).map(|_| r.next() as u8).collect();
        let far: Vec<u8> = block.iter().chain(block.iter()).copied().collect();
        round_trip(&far);
    }

    #[test]
    fn gives_up_past_the_limit() {
        let mut r = Rng(7);
        let data: Vec<u8> = (0..500).map(|_| r.next() as u8).collect();
        assert_eq!(compress(&data, 400), None);
        let runs = vec![b'y'; 500];
        assert!(compress(&runs, 20).is_some());
    }

    #[test]
    fn refuses_corrupt_input_without_panicking() {
        let mut out = Vec::new();
        // A reference before anything was written.
        assert_eq!(decompress_into(&[0x20, 0x00], 3, &mut out), Err(Corrupt));
        // A literal run cut short.
        assert_eq!(decompress_into(&[0x05, b'a', b'b'], 6, &mut out), Err(Corrupt));
        // A long reference missing its bytes.
        assert_eq!(decompress_into(&[0x00, b'a', 0xe0], 20, &mut out), Err(Corrupt));
        // Valid items but the wrong total.
        assert_eq!(decompress_into(&[0x01, b'a', b'b'], 3, &mut out), Err(Corrupt));
        assert_eq!(decompress_into(&[0x01, b'a', b'b'], 1, &mut out), Err(Corrupt));
        // Every mutation of a real stream either decodes to the right length or is refused.
        let text: Vec<u8> = (0..300).flat_map(|i| format!("k{} ", i % 17).into_bytes()).collect();
        let packed = compress(&text, usize::MAX).unwrap();
        let mut r = Rng(42);
        for _ in 0..5000 {
            let mut bad = packed.clone();
            let at = (r.next() as usize) % bad.len();
            bad[at] = r.next() as u8;
            if r.next().is_multiple_of(4) {
                bad.truncate((r.next() as usize) % bad.len());
            }
            if decompress_into(&bad, text.len(), &mut out).is_ok() {
                assert_eq!(out.len(), text.len());
            }
        }
    }
}

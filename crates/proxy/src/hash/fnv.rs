//! FNV-1 and FNV-1a as nutcracker computes them.
//!
//! The `_64` variants are 32-bit in effect: fnv1a_64 works in a `u32` with the low halves of the
//! 64-bit basis and prime (the prime becomes 435, which is why it mixes badly), and fnv1_64 keeps
//! only the low 32 bits of a true 64-bit FNV-1, which equals the same 32-bit computation. All four
//! read bytes as signed C chars.

use super::signed_byte;

const FNV64_BASIS_LOW: u32 = 0xcbf2_9ce4_8422_2325u64 as u32;
const FNV64_PRIME_LOW: u32 = 0x0000_0100_0000_01b3u64 as u32;
const FNV32_BASIS: u32 = 0x811c_9dc5;
const FNV32_PRIME: u32 = 0x0100_0193;

pub fn fnv1_64(key: &[u8]) -> u32 {
    key.iter().fold(FNV64_BASIS_LOW, |h, &b| h.wrapping_mul(FNV64_PRIME_LOW) ^ signed_byte(b))
}

pub fn fnv1a_64(key: &[u8]) -> u32 {
    key.iter().fold(FNV64_BASIS_LOW, |h, &b| (h ^ signed_byte(b)).wrapping_mul(FNV64_PRIME_LOW))
}

pub fn fnv1_32(key: &[u8]) -> u32 {
    key.iter().fold(FNV32_BASIS, |h, &b| h.wrapping_mul(FNV32_PRIME) ^ signed_byte(b))
}

pub fn fnv1a_32(key: &[u8]) -> u32 {
    key.iter().fold(FNV32_BASIS, |h, &b| (h ^ signed_byte(b)).wrapping_mul(FNV32_PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_halves_of_the_64_bit_constants() {
        assert_eq!(FNV64_BASIS_LOW, 0x8422_2325);
        assert_eq!(FNV64_PRIME_LOW, 435);
    }

    /// fnv1_64 is a real 64-bit FNV-1 truncated; the 32-bit loop must agree with it.
    #[test]
    fn fnv1_64_equals_truncated_64_bit_fnv1() {
        let keys: [&[u8]; 4] = [b"", b"key:17", b"\xfe\x00\x7f\x80", "ключ".as_bytes()];
        for key in keys {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for &b in key {
                h = h.wrapping_mul(0x100_0000_01b3) ^ (b as i8 as i64 as u64);
            }
            assert_eq!(fnv1_64(key), h as u32);
        }
    }

    #[test]
    fn readme_check_values() {
        assert_eq!(fnv1a_64(b""), 0x8422_2325);
        assert_eq!(fnv1_64(b""), 0x8422_2325);
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_64(b"key:0"), 0x962f_5916);
        assert_eq!(fnv1a_64(b"\xff"), 0x79fe_466e);
    }
}

//! The twelve key hash functions of nutcracker's `hash:` directive, bit for bit.
//!
//! Owns: turning key bytes into the `u32` that distribution maps to a server. Every function here
//! must agree with nutcracker 0.5.0 built for x86-64, including its quirks: several functions read
//! key bytes as C `char`, which is signed there, so bytes 0x80..0xff are sign-extended before they
//! are mixed in. Changing any of that moves keys to other backends.

mod crc;
mod fnv;
mod hsieh;
mod jenkins;
mod md5;
mod murmur;
mod one_at_a_time;

pub use crc::{crc16, crc32, crc32a};
pub use fnv::{fnv1_32, fnv1_64, fnv1a_32, fnv1a_64};
pub use hsieh::hsieh;
pub use jenkins::jenkins;
pub use md5::{md5, md5_digest};
pub use murmur::murmur;
pub use one_at_a_time::one_at_a_time;

/// A byte as C's `(uint32_t)(char)b` on a signed-char target: 0x80..0xff become 0xffffff80..
#[inline]
pub(crate) fn signed_byte(b: u8) -> u32 {
    b as i8 as i32 as u32
}

/// The `hash:` directive's values, in nutcracker's order (its config names are the `name()`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    OneAtATime,
    Md5,
    Crc16,
    Crc32,
    Crc32a,
    Fnv1_64,
    Fnv1a64,
    Fnv1_32,
    Fnv1a32,
    Hsieh,
    Murmur,
    Jenkins,
}

impl HashKind {
    pub const ALL: [HashKind; 12] = [
        HashKind::OneAtATime,
        HashKind::Md5,
        HashKind::Crc16,
        HashKind::Crc32,
        HashKind::Crc32a,
        HashKind::Fnv1_64,
        HashKind::Fnv1a64,
        HashKind::Fnv1_32,
        HashKind::Fnv1a32,
        HashKind::Hsieh,
        HashKind::Murmur,
        HashKind::Jenkins,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HashKind::OneAtATime => "one_at_a_time",
            HashKind::Md5 => "md5",
            HashKind::Crc16 => "crc16",
            HashKind::Crc32 => "crc32",
            HashKind::Crc32a => "crc32a",
            HashKind::Fnv1_64 => "fnv1_64",
            HashKind::Fnv1a64 => "fnv1a_64",
            HashKind::Fnv1_32 => "fnv1_32",
            HashKind::Fnv1a32 => "fnv1a_32",
            HashKind::Hsieh => "hsieh",
            HashKind::Murmur => "murmur",
            HashKind::Jenkins => "jenkins",
        }
    }

    /// Config names are matched exactly (case-sensitive), as nutcracker does.
    pub fn from_name(name: &str) -> Option<HashKind> {
        HashKind::ALL.into_iter().find(|h| h.name() == name)
    }

    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            HashKind::OneAtATime => one_at_a_time(key),
            HashKind::Md5 => md5(key),
            HashKind::Crc16 => crc16(key),
            HashKind::Crc32 => crc32(key),
            HashKind::Crc32a => crc32a(key),
            HashKind::Fnv1_64 => fnv1_64(key),
            HashKind::Fnv1a64 => fnv1a_64(key),
            HashKind::Fnv1_32 => fnv1_32(key),
            HashKind::Fnv1a32 => fnv1a_32(key),
            HashKind::Hsieh => hsieh(key),
            HashKind::Murmur => murmur(key),
            HashKind::Jenkins => jenkins(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys of the check table below: ASCII of every tail length, a lone high byte, UTF-8, and
    /// a run of high bytes (where sign extension shows).
    const KEYS: [&[u8]; 10] = [
        b"a",
        b"foo",
        b"key:0",
        b"key:9999",
        b"\xff",
        "ключ".as_bytes(),
        b"abcd",
        b"hello world!!",
        b"\x80\x81\x82",
        b"The quick brown fox jumps over the lazy dog",
    ];

    /// Values computed with nutcracker's hashkit compiled for x86-64 (signed char).
    #[rustfmt::skip]
    const EXPECTED: [(HashKind, [u32; 10]); 9] = [
        (HashKind::OneAtATime, [0xca2e9442, 0x238678dd, 0xc0d4cec1, 0xfa3685ec, 0xae65a494, 0xfbca080a, 0xcd8b6206, 0x53313358, 0xe8cce13b, 0x519e91f5]),
        (HashKind::Hsieh, [0x93642e87, 0x76d4d427, 0xc3c83853, 0x1d3442d6, 0x02a6dba8, 0xfa8a713c, 0x3ab452d8, 0xfa4a5d23, 0x6bc37572, 0x1c19ee97]),
        (HashKind::Murmur, [0x4b41757c, 0xc4e0338f, 0x70f6b624, 0x0c1b1c1f, 0xdb530a9c, 0x9ac6d2af, 0xef6a86af, 0x4dd4de3f, 0x5822874f, 0x30c79125]),
        (HashKind::Jenkins, [0xe0a38690, 0x99f84f99, 0x0dd56618, 0xee18c62d, 0xe1964da8, 0x4b2c236f, 0xd512151a, 0x7b6def0f, 0x3015dd51, 0x12b8163c]),
        (HashKind::Fnv1_32, [0x050c5d7e, 0x408f5e13, 0x8964f7a4, 0x986961d0, 0xfaf3a2e0, 0x31b3eff9, 0xb9de7375, 0xdcb730b5, 0xcfab51a6, 0xe9c86c6e]),
        (HashKind::Fnv1a32, [0xe40c292c, 0xa9f37ed7, 0x57140e16, 0xa663964e, 0xf9f3a14e, 0xafd617e1, 0xce3479bd, 0x366eb929, 0x0ef7fca8, 0x048fff90]),
        (HashKind::Fnv1_64, [0x8601b7be, 0x6ba13533, 0xfdc93304, 0x6b094170, 0x79fe4820, 0x64997a19, 0xfb844f95, 0x2ce5f155, 0x94a33c86, 0x7de37ace]),
        (HashKind::Fnv1a64, [0x8601ec8c, 0xfed9d577, 0x962f5916, 0xe310c1ce, 0x79fe466e, 0xa9ad7881, 0xee0724dd, 0xf02f1f09, 0x8a50dfa8, 0xe7e47110]),
        (HashKind::Crc32a, [0xe8b7be43, 0x8c736521, 0x7c680b7a, 0x0189906e, 0xff000000, 0x0caf961a, 0xed82cd11, 0xad6b56f4, 0x3f5a8994, 0x414fa339]),
    ];

    #[test]
    fn functions_match_nutcracker_check_values() {
        for (kind, values) in EXPECTED {
            for (key, want) in KEYS.iter().zip(values) {
                assert_eq!(kind.hash(key), want, "{} of {:?}", kind.name(), String::from_utf8_lossy(key));
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for kind in HashKind::ALL {
            assert_eq!(HashKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(HashKind::from_name("FNV1A_64"), None);
        assert_eq!(HashKind::from_name("murmur3"), None);
    }

    #[test]
    fn crc_check_values() {
        // The catalogue check input for CRC-16/ARC and CRC-32.
        assert_eq!(crc16(b"123456789"), 0xbb3d);
        assert_eq!(crc32a(b"123456789"), 0xcbf43926);
        // libmemcached's variant keeps bits 16..30 of the finished CRC.
        assert_eq!(crc32(b"123456789"), (0xcbf43926u32 >> 16) & 0x7fff);
    }

    #[test]
    fn md5_is_the_little_endian_head_of_the_digest() {
        // md5("server1-0") = 27f5b48e..., so the first point is 0x8eb4f527.
        assert_eq!(md5(b"server1-0"), 0x8eb4f527);
        assert_eq!(md5_digest(b"server1-0")[4..8], [0x5c, 0xab, 0x44, 0x2e]);
    }
}

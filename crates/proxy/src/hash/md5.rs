//! MD5 as a key hash (first four digest bytes, little-endian) and as the source of ketama points.

use md5::{Digest, Md5};

pub fn md5_digest(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

pub fn md5(key: &[u8]) -> u32 {
    let d = md5_digest(key);
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

//! CRC-16 (the ARC variant nutcracker ships), CRC-32 as libmemcached truncates it, plain CRC-32
//! (`crc32a`). Tables are built at compile time. Redis Cluster's CRC-16/XMODEM is the protocol
//! crate's (`roost_resp::slot`).
//!
//! crc32 sign-extends bytes in C, but only the low 8 bits of the XOR index the table, so unsigned
//! bytes give the same result.

/// The byte table of a reflected CRC. A 16-bit polynomial gives entries below 2^16, so one
/// builder serves CRC-16 and CRC-32.
const fn reflected_table(poly: u32) -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ poly } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16_TABLE: [u32; 256] = reflected_table(0xa001);
static CRC32_TABLE: [u32; 256] = reflected_table(0xedb8_8320);

/// CRC-16/ARC, initial value 0, no final XOR (not the XMODEM CRC16 of Redis Cluster slots).
pub fn crc16(key: &[u8]) -> u32 {
    let crc = key.iter().fold(0u16, |crc, &b| (crc >> 8) ^ CRC16_TABLE[((crc ^ b as u16) & 0xff) as usize] as u16);
    crc as u32
}

fn crc32_raw(key: &[u8]) -> u32 {
    key.iter().fold(u32::MAX, |crc, &b| (crc >> 8) ^ CRC32_TABLE[((crc ^ b as u32) & 0xff) as usize])
}

/// libmemcached's CRC-32: the finished CRC shifted down 16 bits and cut to 15, so it spans
/// only 0..32768. Kept for compatibility; it distributes poorly on a ketama ring.
pub fn crc32(key: &[u8]) -> u32 {
    ((!crc32_raw(key)) >> 16) & 0x7fff
}

/// The standard (zlib) CRC-32.
pub fn crc32a(key: &[u8]) -> u32 {
    !crc32_raw(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_published_ones() {
        assert_eq!(&CRC16_TABLE[..4], &[0x0000, 0xc0c1, 0xc181, 0x0140]);
        assert_eq!(CRC16_TABLE[255], 0x4040);
        assert_eq!(&CRC32_TABLE[..4], &[0x0000_0000, 0x7707_3096, 0xee0e_612c, 0x9909_51ba]);
        assert_eq!(CRC32_TABLE[255], 0x2d02_ef8d);
    }

    #[test]
    fn xmodem_is_redis_clusters_crc16() {
        // The check value of CRC-16/XMODEM, and the one Redis's own crc16.c documents.
    }

    #[test]
    fn empty_input() {
        assert_eq!(crc16(b""), 0);
        assert_eq!(crc32a(b""), 0);
        assert_eq!(crc32(b""), 0);
    }
}

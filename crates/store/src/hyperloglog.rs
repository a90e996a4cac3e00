//! HyperLogLog in Redis's own string layout, so a value moves between Redis and Roost with
//! GET/SET unchanged and every command leaves the very bytes Redis would.
//!
//! Layout: a 16-byte header ("HYLL", encoding byte 0 = dense / 1 = sparse, three unused bytes,
//! the cached cardinality as 8 little-endian bytes whose top bit marks it stale), then either
//! 16384 six-bit registers packed least significant bit first (dense) or a run-length code
//! (sparse): `00xxxxxx` = xxxxxx+1 zero registers, `01xxxxxx yyyyyyyy` = (x<<8|y)+1 zero
//! registers, `1vvvvvxx` = xx+1 registers holding vvvvv+1.
//!
//! Everything here works on the value's bytes; no locks, no I/O.

/// Bytes before the registers.
pub const HEADER_LEN: usize = 16;
/// Index bits taken from the hash.
const P: u32 = 14;
/// Hash bits left for the run of zeros.
const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
const REGISTER_BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
/// Exact length of a dense value; a dense value of any other length is not an HLL.
pub const DENSE_LEN: usize = HEADER_LEN + (REGISTERS * REGISTER_BITS).div_ceil(8);

pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;

const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;

/// Offset of the cached cardinality's most significant byte, whose top bit says "stale".
const CARD_HIGH: usize = 15;
const STALE_BIT: u8 = 0x80;

const SEED: u64 = 0xadc8_3b19;
/// alpha for m -> infinity, 1 / (2 ln 2), the constant of Ertl's improved estimator.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The value's sparse code or registers don't describe exactly 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2's 64-bit variant (MurmurHash64A), reading 8-byte blocks little-endian.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().expect("8-byte chunk"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the value it offers: the low 14 hash bits pick the
/// register, the value is the position of the lowest set bit among the other 50 (1-based), with
/// a sentinel bit so an all-zero remainder gives 51 rather than running off the end.
pub fn register_of(element: &[u8]) -> (usize, u8) {
    let h = murmur64a(element, SEED);
    let index = (h & (REGISTERS as u64 - 1)) as usize;
    let rest = (h >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Whether `bytes` is a value the HLL commands accept: Redis checks the magic, a known
/// encoding and, for dense values, the exact length. Sparse codes are checked when read.
pub fn is_hll(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN
        && &bytes[..4] == b"HYLL"
        && bytes[4] <= SPARSE
        && (bytes[4] != DENSE || bytes.len() == DENSE_LEN)
}

pub fn is_sparse(hll: &[u8]) -> bool {
    hll[4] == SPARSE
}

/// A new, empty HLL: sparse, all registers in XZERO runs, cached cardinality 0 and valid.
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + 2 * REGISTERS.div_ceil(XZERO_MAX_LEN));
    v.extend_from_slice(b"HYLL");
    v.extend_from_slice(&[SPARSE, 0, 0, 0]);
    v.extend_from_slice(&[0; 8]);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        v.extend_from_slice(&xzero(run));
        left -= run;
    }
    v
}

/// The cached cardinality, if still valid.
pub fn cached_count(hll: &[u8]) -> Option<u64> {
    if hll[CARD_HIGH] & STALE_BIT != 0 {
        return None;
    }
    Some(u64::from_le_bytes(hll[8..16].try_into().expect("8 header bytes")))
}

pub fn store_count(hll: &mut [u8], count: u64) {
    hll[8..16].copy_from_slice(&count.to_le_bytes());
}

pub fn invalidate_count(hll: &mut [u8]) {
    hll[CARD_HIGH] |= STALE_BIT;
}

// ---- dense registers ----

/// Register `i` of a packed 6-bit array: it may straddle two bytes.
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let mut v = regs[byte] >> shift;
    // The last register ends inside its byte (shift 2): no next byte to read.
    if shift > 8 - REGISTER_BITS {
        v |= regs[byte + 1] << (8 - shift);
    }
    v & REGISTER_MAX
}

pub fn dense_put(regs: &mut [u8], i: usize, v: u8) {
    let bit = i * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    regs[byte] &= !(REGISTER_MAX << shift);
    regs[byte] |= v << shift;
    if shift > 8 - REGISTER_BITS {
        regs[byte + 1] &= !(REGISTER_MAX >> (8 - shift));
        regs[byte + 1] |= v >> (8 - shift);
    }
}

/// Raises register `i` to `v`; whether it changed.
fn dense_raise(regs: &mut [u8], i: usize, v: u8) -> bool {
    if v > dense_get(regs, i) {
        dense_put(regs, i, v);
        true
    } else {
        false
    }
}

// ---- sparse opcodes ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }
    fn width(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

/// The opcode at `p`. A truncated XZERO reads its missing second byte as zero, as Redis does
/// reading the string's terminator.
fn op_at(code: &[u8], p: usize) -> Op {
    let b = code[p];
    if b & 0x80 != 0 {
        Op::Val(((b >> 2) & 0x1f) + 1, (b & 0x03) as usize + 1)
    } else if b & 0x40 != 0 {
        let low = code.get(p + 1).copied().unwrap_or(0) as usize;
        Op::XZero((((b & 0x3f) as usize) << 8 | low) + 1)
    } else {
        Op::Zero((b & 0x3f) as usize + 1)
    }
}

fn val(v: u8, len: usize) -> u8 {
    0x80 | ((v - 1) << 2) | (len - 1) as u8
}

fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

fn xzero(len: usize) -> [u8; 2] {
    let n = len - 1;
    [0x40 | (n >> 8) as u8, (n & 0xff) as u8]
}

/// Appends the shortest code for a run of `len` zero registers (`len` at most 16384).
fn push_zero_run(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero(len));
    } else {
        seq.push(zero(len));
    }
}

/// Walks a sparse code, calling `visit(first_register, op)`; returns how many registers it
/// covered. Stops early (returning more than 16384) when a value run would overflow, as Redis's
/// decoders do before they write registers.
fn walk_sparse(code: &[u8], mut visit: impl FnMut(usize, Op)) -> usize {
    let mut p = 0;
    let mut i = 0;
    while p < code.len() {
        let op = op_at(code, p);
        if let Op::Val(..) = op {
            if i + op.span() > REGISTERS {
                return REGISTERS + 1;
            }
        }
        visit(i, op);
        i += op.span();
        p += op.width();
    }
    i
}

/// Rewrites a sparse value as dense, keeping the header (the cached count included).
pub fn to_dense(hll: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if !is_sparse(hll) {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_LEN];
    dense[..HEADER_LEN].copy_from_slice(&hll[..HEADER_LEN]);
    dense[4] = DENSE;
    let regs = &mut dense[HEADER_LEN..];
    let covered = walk_sparse(&hll[HEADER_LEN..], |first, op| {
        if let Op::Val(v, n) = op {
            for i in first..first + n {
                dense_put(regs, i, v);
            }
        }
    });
    if covered != REGISTERS {
        return Err(Corrupt);
    }
    *hll = dense;
    Ok(true)
}

/// Raises register `index` of a sparse value to `count`, editing the code in place the way
/// Redis does (so the bytes match): split the run holding the register, then merge equal
/// neighbouring values a few opcodes around it. Goes dense when the value would exceed what
/// VAL holds or the code would outgrow `sparse_max` bytes (header included).
fn sparse_raise(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    let end = hll.len();
    let mut p = HEADER_LEN;
    let mut first = 0;
    let mut prev = None;
    let mut op = None;
    while p < end {
        let o = op_at(hll, p);
        op = Some(o);
        if index < first + o.span() {
            break;
        }
        prev = Some(p);
        p += o.width();
        first += o.span();
    }
    let op = match op {
        Some(o) if p < end => o,
        _ => return Err(Corrupt),
    };
    let last = first + op.span() - 1;

    // The cheap cases rewrite one byte; the rest build the replacement for this opcode.
    let simple = match op {
        Op::Val(v, _) if v >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => true,
        _ => false,
    };
    if simple {
        hll[p] = val(count, 1);
    } else {
        let mut seq = Vec::with_capacity(5);
        match op {
            Op::Val(v, _) => {
                if index != first {
                    seq.push(val(v, index - first));
                }
                seq.push(val(count, 1));
                if index != last {
                    seq.push(val(v, last - index));
                }
            }
            Op::Zero(_) | Op::XZero(_) => {
                if index != first {
                    push_zero_run(&mut seq, index - first);
                }
                seq.push(val(count, 1));
                if index != last {
                    push_zero_run(&mut seq, last - index);
                }
            }
        }
        let old_end = (p + op.width()).min(end);
        if seq.len() > old_end - p && end - (old_end - p) + seq.len() > sparse_max {
            return promote(hll, index, count);
        }
        hll.splice(p..old_end, seq);
    }

    // Merge runs of equal values, looking at up to five opcodes from the one before the edit.
    let mut q = prev.unwrap_or(HEADER_LEN);
    let mut budget = 5;
    while q < hll.len() && budget > 0 {
        budget -= 1;
        match op_at(hll, q) {
            Op::XZero(_) => q += 2,
            Op::Zero(_) => q += 1,
            Op::Val(v1, n1) => {
                if q + 1 < hll.len() {
                    if let Op::Val(v2, n2) = op_at(hll, q + 1) {
                        if v1 == v2 && n1 + n2 <= VAL_MAX_LEN {
                            hll[q + 1] = val(v1, n1 + n2);
                            // Retry at the same place: the merged run may join the next one too.
                            hll.remove(q);
                            continue;
                        }
                    }
                }
                q += 1;
            }
        }
    }
    Ok(true)
}

fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    Ok(dense_raise(&mut hll[HEADER_LEN..], index, count))
}

/// Raises one register to at least `count`; whether the value changed. Does not touch the
/// cached count: callers invalidate it once per command, as Redis does.
pub fn raise(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if is_sparse(hll) {
        sparse_raise(hll, index, count, sparse_max)
    } else {
        Ok(dense_raise(&mut hll[HEADER_LEN..], index, count))
    }
}

/// Adds one element; whether a register changed.
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = register_of(element);
    raise(hll, index, count, sparse_max)
}

/// Folds `hll`'s registers into `max` (one byte per register), keeping the larger of each.
pub fn merge_into(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    if is_sparse(hll) {
        let covered = walk_sparse(&hll[HEADER_LEN..], |first, op| {
            if let Op::Val(v, n) = op {
                for m in &mut max[first..first + n] {
                    *m = (*m).max(v);
                }
            }
        });
        if covered != REGISTERS {
            return Err(Corrupt);
        }
    } else {
        let regs = &hll[HEADER_LEN..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(regs, i));
        }
    }
    Ok(())
}

/// How many registers hold each value; 64 slots so any 6-bit value has one.
type Histogram = [u32; 64];

fn histogram(hll: &[u8]) -> Result<Histogram, Corrupt> {
    let mut h = [0u32; 64];
    if is_sparse(hll) {
        // Redis counts the whole code before checking its length, so an overlong VAL run is
        // counted rather than cut short; only the total is judged.
        let mut covered = 0;
        let code = &hll[HEADER_LEN..];
        let mut p = 0;
        while p < code.len() {
            let op = op_at(code, p);
            match op {
                Op::Zero(n) | Op::XZero(n) => h[0] += n as u32,
                Op::Val(v, n) => h[v as usize] += n as u32,
            }
            covered += op.span();
            p += op.width();
        }
        if covered != REGISTERS {
            return Err(Corrupt);
        }
    } else {
        let regs = &hll[HEADER_LEN..];
        for i in 0..REGISTERS {
            h[dense_get(regs, i) as usize] += 1;
        }
    }
    Ok(h)
}

/// Ertl's sigma: sum over k >= 1 of x^(2^k) 2^(k-1), plus x; infinite at 1.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's tau: (1 - x - sum over k >= 1 of (1 - x^(2^-k))^2 2^-k) / 3.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// The improved estimator (Ertl, "New cardinality estimation algorithms for HyperLogLog
/// sketches"), with the same operation order as Redis so the rounding, and the answer, agree.
fn estimate(h: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The cardinality estimate of one HLL value (not using or updating the cache).
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(hll)?))
}

/// The cardinality estimate of unpacked registers (one byte each), as after `merge_into`.
pub fn count_registers(max: &[u8]) -> u64 {
    let mut h = [0u32; 64];
    for &v in max {
        h[v as usize & 63] += 1;
    }
    estimate(&h)
}

/// The 16384 registers, one per byte, of a dense value.
pub fn dense_registers(hll: &[u8]) -> Vec<u8> {
    let regs = &hll[HEADER_LEN..];
    (0..REGISTERS).map(|i| dense_get(regs, i)).collect()
}

/// PFDEBUG DECODE's text: `z:N` (ZERO), `Z:N` (XZERO), `v:value,N` (VAL), space separated.
pub fn decode_sparse(hll: &[u8]) -> String {
    let code = &hll[HEADER_LEN..];
    let mut out = Vec::new();
    let mut p = 0;
    while p < code.len() {
        let op = op_at(code, p);
        out.push(match op {
            Op::Zero(n) => format!("z:{n}"),
            Op::XZero(n) => format!("Z:{n}"),
            Op::Val(v, n) => format!("v:{v},{n}"),
        });
        p += op.width();
    }
    out.join(" ")
}

/// PFSELFTEST's checks: register packing round-trips at every position, and estimates of a
/// growing set stay within the error bound at several sizes, sparse and dense alike. Returns
/// a description of the first failure.
pub fn self_test() -> Result<(), String> {
    let mut regs = vec![0u8; DENSE_LEN - HEADER_LEN];
    let mut expect = vec![0u8; REGISTERS];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..100 {
        for (i, e) in expect.iter_mut().enumerate() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *e = (seed % (REGISTER_MAX as u64 + 1)) as u8;
            dense_put(&mut regs, i, *e);
        }
        for (i, &e) in expect.iter().enumerate() {
            if dense_get(&regs, i) != e {
                return Err(format!("TESTFAILED Register error at round {round} register {i}"));
            }
        }
    }
    let mut sparse = new_sparse();
    let mut dense = new_sparse();
    to_dense(&mut dense).map_err(|_| "TESTFAILED fresh HLL is corrupt".to_string())?;
    let bound = 1.04 / (REGISTERS as f64).sqrt() * 5.0;
    let mut checkpoint = 10u64;
    for n in 1..=1_000_000u64 {
        let e = n.to_le_bytes();
        add(&mut sparse, &e, 3000).map_err(|_| "TESTFAILED sparse HLL corrupt".to_string())?;
        add(&mut dense, &e, 3000).map_err(|_| "TESTFAILED dense HLL corrupt".to_string())?;
        if n == checkpoint {
            checkpoint *= 10;
            let a = count(&sparse).map_err(|_| "TESTFAILED sparse HLL corrupt".to_string())?;
            let b = count(&dense).map_err(|_| "TESTFAILED dense HLL corrupt".to_string())?;
            if a != b {
                return Err(format!("TESTFAILED sparse ({a}) and dense ({b}) estimates differ at {n}"));
            }
            let err = (a as f64 - n as f64).abs() / n as f64;
            if n > 100 && err > bound {
                return Err(format!("TESTFAILED too big error. card:{n} abserr:{err}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn hll_of(elements: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
        let mut h = new_sparse();
        for e in elements {
            add(&mut h, &e, 3000).unwrap();
        }
        h
    }

    #[test]
    fn murmur_smhasher_verification() {
        // SMHasher's known-answer check: hash the prefixes 0, 0..1, .., 0..254 of the bytes
        // 0,1,2,.. with seed 256 - length, hash the concatenated results with seed 0; the low
        // 32 bits of that are published as 0x1F0D3804 for MurmurHash64A.
        let key: Vec<u8> = (0..=255u8).collect();
        let mut all = Vec::new();
        for i in 0..256 {
            all.extend_from_slice(&murmur64a(&key[..i], 256 - i as u64).to_le_bytes());
        }
        assert_eq!(murmur64a(&all, 0) as u32, 0x1F0D_3804);
    }

    #[test]
    fn registers_match_redis() {
        // (element, register, value) read back with PFDEBUG GETREG from redis-server 7.0.15.
        for &(e, index, value) in REDIS_REGISTERS {
            assert_eq!(register_of(e.as_bytes()), (index, value), "{e}");
        }
    }

    const REDIS_REGISTERS: &[(&str, usize, u8)] = &[
        ("", 5938, 2),
        ("a", 12711, 2),
        ("foo", 7348, 5),
        ("hello", 9216, 1),
        ("abcdefg", 5634, 2),
        ("abcdefgh", 1383, 1),
        ("abcdefghi", 6903, 1),
        ("redis", 9467, 2),
        ("0", 13225, 4),
        ("element-123456789", 15861, 1),
    ];

    #[test]
    fn estimates_match_redis() {
        // PFCOUNT of "e0".."e{n-1}" on redis-server 7.0.15.
        let want = [
            (1u64, 1u64),
            (2, 2),
            (10, 10),
            (100, 100),
            (1000, 1008),
            (5000, 4968),
            (20000, 19901),
            (100000, 100853),
            (1000000, 991657),
        ];
        let mut h = new_sparse();
        let mut added = 0;
        for (n, card) in want {
            while added < n {
                add(&mut h, format!("e{added}").as_bytes(), 3000).unwrap();
                added += 1;
            }
            assert_eq!(count(&h), Ok(card), "n = {n}");
        }
    }

    #[test]
    fn sparse_bytes_match_redis() {
        // GET after PFADD k e0 .. e9 on redis-server 7.0.15.
        let want = "48594c4c010000000000000000000080452580472e844fc9804412844a5184430d844103844eb984408880406a8441b1";
        let mut h = hll_of((0..10).map(|i| format!("e{i}").into_bytes()));
        invalidate_count(&mut h);
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, want);
    }

    #[test]
    fn empty_hll_is_redis_bytes() {
        let h = new_sparse();
        assert_eq!(h, b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff");
        assert!(is_hll(&h));
        assert_eq!(count(&h), Ok(0));
        assert_eq!(cached_count(&h), Some(0));
    }

    #[test]
    fn register_packing_round_trips() {
        let mut regs = vec![0u8; DENSE_LEN - HEADER_LEN];
        let mut r = Rng(7);
        let want: Vec<u8> = (0..REGISTERS).map(|_| (r.next() % 64) as u8).collect();
        for (i, &v) in want.iter().enumerate() {
            dense_put(&mut regs, i, v);
        }
        for (i, &v) in want.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), v, "register {i}");
        }
        // Overwriting one register leaves its neighbours alone.
        let mut want = want;
        for i in [0, 1, 2, 3, 4, 5, 1000, REGISTERS - 2, REGISTERS - 1] {
            dense_put(&mut regs, i, 63 - want[i]);
            want[i] = 63 - want[i];
            let from = i.saturating_sub(2);
            for (j, &w) in want.iter().enumerate().skip(from).take(5) {
                assert_eq!(dense_get(&regs, j), w, "register {j} after writing {i}");
            }
        }
    }

    #[test]
    fn sparse_and_dense_agree_on_random_inputs() {
        let mut r = Rng(99);
        for size in [0usize, 1, 5, 50, 300, 2000, 20000] {
            let elems: Vec<Vec<u8>> = (0..size).map(|_| format!("e{}", r.next()).into_bytes()).collect();
            let sparse = hll_of(elems.clone());
            let mut dense = new_sparse();
            to_dense(&mut dense).unwrap();
            for e in &elems {
                add(&mut dense, e, 3000).unwrap();
            }
            let mut via = sparse.clone();
            to_dense(&mut via).unwrap();
            // Converting the sparse form gives the dense one, apart from the cached count.
            assert_eq!(via[HEADER_LEN..], dense[HEADER_LEN..], "size {size}");
            assert_eq!(count(&sparse), count(&dense));
            let mut a = vec![0u8; REGISTERS];
            let mut b = vec![0u8; REGISTERS];
            merge_into(&mut a, &sparse).unwrap();
            merge_into(&mut b, &dense).unwrap();
            assert_eq!(a, b);
            assert_eq!(count_registers(&a), count(&dense).unwrap());
        }
    }

    #[test]
    fn sparse_grows_dense_past_the_limit() {
        let mut h = new_sparse();
        let mut n = 0u64;
        while is_sparse(&h) {
            assert!(h.len() <= 3000);
            add(&mut h, format!("x{n}").as_bytes(), 3000).unwrap();
            n += 1;
        }
        assert_eq!(h.len(), DENSE_LEN);
        assert!(n > 100);
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut h = new_sparse();
        h.pop();
        h.pop();
        h.push(zero(10));
        assert_eq!(count(&h), Err(Corrupt));
        assert_eq!(to_dense(&mut h.clone()), Err(Corrupt));
        assert_eq!(merge_into(&mut [0; REGISTERS], &h), Err(Corrupt));
    }

    #[test]
    fn validity_checks() {
        assert!(!is_hll(b"HYLL"));
        assert!(!is_hll(b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"));
        assert!(!is_hll(b"HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"));
        let mut d = new_sparse();
        to_dense(&mut d).unwrap();
        assert!(is_hll(&d));
        d.push(0);
        assert!(!is_hll(&d));
    }

    #[test]
    fn self_test_passes() {
        assert_eq!(self_test(), Ok(()));
    }
}

//! Reply encoding straight into a connection's output buffer, in RESP2 or RESP3.
//!
//! Each reply kind has one method; the protocol version decides its bytes (a RESP3 map is a flat
//! array in RESP2, a RESP3 null is `$-1` or `*-1` in RESP2), so command code never branches on it.

/// The decimal form of `v`, written into `buf` (20 bytes fit `i64::MIN`).
pub fn int_digits(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let start = buf.len() - digits_at_end(v.unsigned_abs(), buf);
    if v < 0 {
        buf[start - 1] = b'-';
        return &buf[start - 1..];
    }
    &buf[start..]
}

/// The decimal form of `v`, written into `buf` (20 bytes fit `u64::MAX`).
pub fn uint_digits(v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let start = buf.len() - digits_at_end(v, buf);
    &buf[start..]
}

/// Writes the digits of `n` at the end of `buf`; how many there are.
fn digits_at_end(mut n: u64, buf: &mut [u8]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.len() - i
}

/// Appends the decimal form of `v` without allocating.
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(int_digits(v, &mut buf));
}

/// Formats a double as Redis 7.0 replies it: `%.17g`, with `inf`, `-inf` and `nan` spelled out.
pub fn format_double(d: f64, out: &mut Vec<u8>) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    if d == 0.0 {
        out.extend_from_slice(if d.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    // 17 significant digits in scientific form, then laid out as %g would.
    let sci = format!("{:.16e}", d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    if negative {
        out.push(b'-');
    }
    if !(-4..17).contains(&exp) {
        let significant = trim_zeros(&digits);
        out.push(significant[0]);
        if significant.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&significant[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        write_int(out, e as i64);
    } else if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.extend_from_slice(trim_zeros(&digits));
    } else {
        let int_len = exp as usize + 1;
        out.extend_from_slice(&digits[..int_len]);
        let frac = trim_zeros(&digits[int_len..]);
        if !frac.is_empty() {
            out.push(b'.');
            out.extend_from_slice(frac);
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let end = digits.iter().rposition(|&c| c != b'0').map_or(0, |p| p + 1);
    &digits[..end]
}

/// A connection's output buffer plus the protocol version its replies use.
#[derive(Default)]
pub struct ReplyBuf {
    pub out: Vec<u8>,
    pub resp3: bool,
}

impl ReplyBuf {
    pub fn new() -> Self {
        ReplyBuf { out: Vec::with_capacity(16 * 1024), resp3: false }
    }

    pub fn ok(&mut self) {
        self.out.extend_from_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &[u8]) {
        self.out.push(b'+');
        self.out.extend_from_slice(s);
        self.out.extend_from_slice(b"\r\n");
    }

    /// `msg` is the whole error line without the leading '-', e.g. `ERR syntax error`.
    pub fn error(&mut self, msg: &[u8]) {
        self.out.push(b'-');
        // An error line must not break the framing, whatever text reaches it.
        self.out.extend(msg.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
        self.out.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, v: i64) {
        self.out.push(b':');
        write_int(&mut self.out, v);
        self.out.extend_from_slice(b"\r\n");
    }

    pub fn bulk(&mut self, s: &[u8]) {
        self.out.push(b'$');
        write_int(&mut self.out, s.len() as i64);
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(s);
        self.out.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of an integer.
    pub fn bulk_int(&mut self, v: i64) {
        let mut buf = [0u8; 20];
        self.bulk(int_digits(v, &mut buf));
    }

    pub fn null(&mut self) {
        self.out.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null used where an array was expected (`*-1` in RESP2).
    pub fn null_array(&mut self) {
        self.out.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len);
    }

    /// A map of `len` pairs; a flat array of 2*len elements in RESP2.
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.header(b'%', len)
        } else {
            self.header(b'*', len * 2)
        }
    }

    pub fn set(&mut self, len: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, len);
    }

    pub fn push(&mut self, len: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, len);
    }

    pub fn double(&mut self, d: f64) {
        if self.resp3 {
            self.out.push(b',');
            format_double(d, &mut self.out);
            self.out.extend_from_slice(b"\r\n");
        } else {
            let mut tmp = Vec::with_capacity(32);
            format_double(d, &mut tmp);
            self.bulk(&tmp);
        }
    }

    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.out.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A big number (`(`) in RESP3, a bulk string in RESP2.
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.out.push(b'(');
            self.out.extend_from_slice(digits);
            self.out.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    /// Verbatim text (`=` with a three-letter format) in RESP3, a bulk string in RESP2.
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        if self.resp3 {
            self.out.push(b'=');
            write_int(&mut self.out, text.len() as i64 + 4);
            self.out.extend_from_slice(b"\r\n");
            self.out.extend_from_slice(format);
            self.out.push(b':');
            self.out.extend_from_slice(text);
            self.out.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// An attribute map (`|`), which RESP2 clients never see.
    pub fn attribute(&mut self, len: usize) {
        self.header(b'|', len);
    }

    fn header(&mut self, kind: u8, len: usize) {
        self.out.push(kind);
        write_int(&mut self.out, len as i64);
        self.out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(d: f64) -> String {
        let mut v = Vec::new();
        format_double(d, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn doubles_print_like_percent_17g() {
        assert_eq!(g(1.1), "1.1000000000000001");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(100.0), "100");
        assert_eq!(g(1e17), "1e+17");
        assert_eq!(g(1.5e-5), "1.5e-05");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(-3.0), "-3");
        assert_eq!(g(f64::INFINITY), "inf");
        assert_eq!(g(123456789012345678.0), "1.2345678901234568e+17");
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut r = ReplyBuf::new();
        r.map(1);
        r.null();
        r.boolean(true);
        assert_eq!(r.out, b"*2\r\n$-1\r\n:1\r\n");
        let mut r = ReplyBuf { resp3: true, ..ReplyBuf::new() };
        r.map(1);
        r.null();
        r.boolean(true);
        r.double(2.5);
        assert_eq!(r.out, b"%1\r\n_\r\n#t\r\n,2.5\r\n");
    }
}

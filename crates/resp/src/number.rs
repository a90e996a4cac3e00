//! C's `strtod` in Rust: Redis and the libraries it bundles read numbers with it, so a prefix
//! that is a number counts ("7xy" is 7), as do hexadecimal floats, `inf`, `infinity` and `nan`.

/// Length of the longest prefix of `s` that C's `strtod` accepts, and its value; None when no
/// prefix is a number. Leading blanks are the caller's: strtod skips them, callers differ.
pub fn strtod_prefix(s: &[u8]) -> Option<(usize, f64)> {
    let mut i = 0;
    let negative = matches!(s.first(), Some(b'-'));
    if matches!(s.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    let rest = &s[i..];
    let starts = |word: &str| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes());
    // Negation, not multiplication, so that "-nan" keeps its sign bit as strtod's does.
    let sign = |v: f64| if negative { -v } else { v };
    if starts("infinity") {
        return Some((i + 8, sign(f64::INFINITY)));
    }
    if starts("inf") {
        return Some((i + 3, sign(f64::INFINITY)));
    }
    if starts("nan") {
        let mut end = i + 3;
        if s.get(end) == Some(&b'(') {
            let close = s[end + 1..].iter().position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
            if let Some(p) = close.filter(|&p| s.get(end + 1 + p) == Some(&b')')) {
                end += p + 2;
            }
        }
        return Some((end, sign(f64::NAN)));
    }
    if starts("0x") {
        if let Some((len, v)) = hex_float(&rest[2..]) {
            return Some((i + 2 + len, sign(v)));
        }
    }
    let digits = |from: usize| s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut j = i;
    let int_digits = digits(j);
    j += int_digits;
    let mut frac_digits = 0;
    if s.get(j) == Some(&b'.') {
        frac_digits = digits(j + 1);
        if int_digits + frac_digits > 0 {
            j += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(s.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(s.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = digits(k);
        if exp_digits > 0 {
            j = k + exp_digits;
        }
    }
    let text = std::str::from_utf8(&s[..j]).ok()?;
    Some((j, text.parse().ok()?))
}

/// Hex digits with an optional fraction and binary exponent, after the "0x".
fn hex_float(s: &[u8]) -> Option<(usize, f64)> {
    let mut mantissa = 0f64;
    let mut scale = 0i32;
    let mut i = 0;
    let mut seen = false;
    while let Some(d) = s.get(i).and_then(|c| (*c as char).to_digit(16)) {
        mantissa = mantissa * 16.0 + f64::from(d);
        seen = true;
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        let mut j = i + 1;
        while let Some(d) = s.get(j).and_then(|c| (*c as char).to_digit(16)) {
            mantissa = mantissa * 16.0 + f64::from(d);
            scale -= 4;
            seen = true;
            j += 1;
        }
        if seen {
            i = j;
        }
    }
    if !seen {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut k = i + 1;
        let neg = s.get(k) == Some(&b'-');
        if matches!(s.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let n = s[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            let e: i32 = std::str::from_utf8(&s[k..k + n]).ok()?.parse().unwrap_or(i32::MAX / 2);
            scale = scale.saturating_add(if neg { -e } else { e });
            i = k + n;
        }
    }
    Some((i, mantissa * 2f64.powi(scale)))
}

#[cfg(test)]
mod tests {
    use super::strtod_prefix;

    #[test]
    fn prefixes_read_as_c_reads_them() {
        assert_eq!(strtod_prefix(b"7xy"), Some((1, 7.0)));
        assert_eq!(strtod_prefix(b"-2.5e3,"), Some((6, -2500.0)));
        assert_eq!(strtod_prefix(b"1e+"), Some((1, 1.0)));
        assert_eq!(strtod_prefix(b"0x1p4z"), Some((5, 16.0)));
        assert_eq!(strtod_prefix(b"Infinity!"), Some((8, f64::INFINITY)));
        assert!(strtod_prefix(b"nan(abc)x").is_some_and(|(n, v)| n == 8 && v.is_nan()));
        assert_eq!(strtod_prefix(b"."), None);
        assert_eq!(strtod_prefix(b"x1"), None);
    }
}

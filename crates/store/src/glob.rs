//! Glob patterns as Redis matches them (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE, CLIENT filters):
//! `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes; an unterminated `[` runs to the end of the pattern.

/// Whether `string` matches `pattern`. `nocase` folds ASCII case.
pub fn matches(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut exhausted = false;
    match_from(pattern, string, nocase, &mut exhausted, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// `exhausted` is set when the string ran out before the pattern: a star then knows that trying
/// longer matches for itself can only fail too, which keeps pathological patterns linear-ish.
fn match_from(mut p: &[u8], mut s: &[u8], nocase: bool, exhausted: &mut bool, depth: u32) -> bool {
    // Deeply nested stars are refused rather than allowed to exhaust the stack.
    if depth > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if match_from(&p[1..], s, nocase, exhausted, depth + 1) {
                        return true;
                    }
                    if *exhausted {
                        return false;
                    }
                    s = &s[1..];
                }
                *exhausted = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let negate = p.first() == Some(&b'^');
                if negate {
                    p = &p[1..];
                }
                let c = s[0];
                let mut hit = false;
                loop {
                    if p.len() >= 2 && p[0] == b'\\' {
                        p = &p[1..];
                        hit |= p[0] == c;
                    } else if p.first() == Some(&b']') {
                        break;
                    } else if p.is_empty() {
                        // Unterminated class: it ends with the pattern.
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut lo, mut hi, mut ch) = (p[0], p[2], c);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        if nocase {
                            lo = lo.to_ascii_lowercase();
                            hi = hi.to_ascii_lowercase();
                            ch = ch.to_ascii_lowercase();
                        }
                        p = &p[2..];
                        hit |= ch >= lo && ch <= hi;
                    } else {
                        hit |= eq(p[0], c, nocase);
                    }
                    p = &p[1..];
                }
                if hit == negate {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // The unterminated class consumed the pattern; nothing left to step over.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                if !eq(p[1], s[0], nocase) {
                    return false;
                }
                p = &p[1..];
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_glob_rules() {
        assert!(matches(b"*", b"anything", false));
        assert!(matches(b"h?llo", b"hello", false));
        assert!(matches(b"h*llo", b"heeeello", false));
        assert!(matches(b"h[ae]llo", b"hallo", false));
        assert!(!matches(b"h[^e]llo", b"hello", false));
        assert!(matches(b"h[a-b]llo", b"hbllo", false));
        assert!(matches(b"h[b-a]llo", b"hallo", false));
        assert!(matches(b"h\\*llo", b"h*llo", false));
        assert!(!matches(b"h\\*llo", b"hello", false));
        assert!(matches(b"HELLO", b"hello", true));
        assert!(matches(b"a*", b"a", false));
        assert!(!matches(b"*", b"", false));
        assert!(matches(b"", b"", false));
        assert!(matches(b"[abc", b"b", false));
        assert!(!matches(b"a*b", b"acccc", false));
        let long = vec![b'a'; 60];
        assert!(!matches(b"a*a*a*a*a*a*a*a*a*a*a*a*b", &long, false));
    }
}

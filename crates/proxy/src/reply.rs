//! Framing of backend replies without building values: where one reply ends, and the elements
//! of an array reply, so replies are copied to clients as bytes and split commands can be merged.
//!
//! Owns: reply boundaries and the merge rules of split commands (MGET, DEL-like sums, MSET).
//! Never: I/O.

/// Deepest nesting accepted from a backend; deeper input is treated as malformed.
const MAX_DEPTH: usize = 64;

/// A reply the proxy could not frame: the backend connection is unusable after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let cr = rest.iter().position(|&b| b == b'\r')?;
    (rest.get(cr + 1)? == &b'\n').then_some(from + cr)
}

fn parse_len(s: &[u8]) -> Result<i64, Malformed> {
    if s.is_empty() || s.len() > 19 {
        return Err(Malformed);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(Malformed);
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(Malformed);
        }
        v = v.checked_mul(10).and_then(|v| v.checked_add(i64::from(c - b'0'))).ok_or(Malformed)?;
    }
    Ok(if neg { -v } else { v })
}

/// Length in bytes of the first complete reply in `buf`: `Ok(None)` when more bytes are needed.
/// Iterative (an explicit count of elements still expected per level), so hostile nesting
/// cannot exhaust the stack.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, Malformed> {
    let mut pos = 0usize;
    // Elements still to read at each open aggregate level.
    let mut stack: Vec<u64> = Vec::new();
    loop {
        let Some(&kind) = buf.get(pos) else { return Ok(None) };
        let Some(end) = line_end(buf, pos + 1) else {
            // A header line longer than this is not a reply any backend sends.
            return if buf.len() - pos > 64 * 1024 { Err(Malformed) } else { Ok(None) };
        };
        let head = &buf[pos + 1..end];
        pos = end + 2;
        let mut children: u64 = 0;
        match kind {
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {}
            b'$' | b'=' | b'!' => {
                let n = parse_len(head)?;
                if n >= 0 {
                    let need = pos.checked_add(n as usize).and_then(|p| p.checked_add(2)).ok_or(Malformed)?;
                    if buf.len() < need {
                        return Ok(None);
                    }
                    pos = need;
                }
            }
            b'*' | b'~' | b'>' => {
                let n = parse_len(head)?;
                children = n.max(0) as u64;
            }
            b'%' | b'|' => {
                let n = parse_len(head)?;
                children = (n.max(0) as u64).checked_mul(2).ok_or(Malformed)?;
            }
            _ => return Err(Malformed),
        }
        if children > 0 {
            if stack.len() >= MAX_DEPTH {
                return Err(Malformed);
            }
            stack.push(children);
            continue;
        }
        // One element done: close every level it completes.
        loop {
            match stack.last_mut() {
                None => return Ok(Some(pos)),
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    stack.pop();
                }
            }
        }
    }
}

/// The element spans of a complete array reply `*N ...`; `None` if it is not an array of
/// exactly `expect` elements.
pub fn array_elements(reply: &[u8], expect: usize) -> Option<Vec<(usize, usize)>> {
    if reply.first() != Some(&b'*') {
        return None;
    }
    let end = line_end(reply, 1)?;
    let n = parse_len(&reply[1..end]).ok()?;
    if n < 0 || n as usize != expect {
        return None;
    }
    let mut pos = end + 2;
    let mut spans = Vec::with_capacity(expect);
    for _ in 0..expect {
        let len = reply_len(&reply[pos..]).ok()??;
        spans.push((pos, pos + len));
        pos += len;
    }
    Some(spans)
}

/// The value of an integer reply `:N`.
pub fn integer(reply: &[u8]) -> Option<i64> {
    if reply.first() != Some(&b':') {
        return None;
    }
    let end = line_end(reply, 1)?;
    parse_len(&reply[1..end]).ok()
}

pub fn is_error(reply: &[u8]) -> bool {
    reply.first() == Some(&b'-')
}

/// Appends a command as a RESP multibulk: what the proxy sends to backends.
pub fn encode_command<'a>(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    push_header(out, b'*', args.len());
    for a in args {
        push_bulk(out, a);
    }
}

/// Appends a bulk string.
pub fn push_bulk(out: &mut Vec<u8>, s: &[u8]) {
    push_header(out, b'$', s.len());
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// Appends `<kind><n>\r\n` without formatting through a `String`: this runs for every
/// argument of every forwarded request.
fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    roost_resp::write_int(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

/// Appends `-ERR <reason>\r\n`.
pub fn push_err(out: &mut Vec<u8>, reason: &str) {
    out.extend_from_slice(b"-ERR ");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_every_reply_type() {
        assert_eq!(reply_len(b"+OK\r\nrest"), Ok(Some(5)));
        assert_eq!(reply_len(b"-ERR x\r\n"), Ok(Some(8)));
        assert_eq!(reply_len(b":12\r\n"), Ok(Some(5)));
        assert_eq!(reply_len(b"$3\r\nabc\r\n+"), Ok(Some(9)));
        assert_eq!(reply_len(b"$-1\r\n"), Ok(Some(5)));
        assert_eq!(reply_len(b"*-1\r\n"), Ok(Some(5)));
        assert_eq!(reply_len(b"*0\r\n"), Ok(Some(4)));
        assert_eq!(reply_len(b"*2\r\n*1\r\n:1\r\n$1\r\nx\r\n"), Ok(Some(19)));
        assert_eq!(reply_len(b"%1\r\n+a\r\n:1\r\n"), Ok(Some(12)));
    }

    #[test]
    fn incomplete_and_malformed() {
        let full = b"*3\r\n$3\r\nabc\r\n:1\r\n*1\r\n+x\r\n";
        for cut in 0..full.len() {
            assert_eq!(reply_len(&full[..cut]), Ok(None), "cut {cut}");
        }
        assert_eq!(reply_len(full), Ok(Some(full.len())));
        assert_eq!(reply_len(b"?\r\n"), Err(Malformed));
        assert_eq!(reply_len(b"$x\r\n"), Err(Malformed));
        assert_eq!(reply_len(b"$99999999999999999999\r\n"), Err(Malformed));
        assert_eq!(reply_len(b"$9999999999999999999\r\n"), Err(Malformed));
        assert_eq!(reply_len(b"*-\r\n"), Err(Malformed));
        assert_eq!(reply_len("*1\r\n".repeat(100).as_bytes()), Err(Malformed));
        // A huge declared array is only counted, never allocated.
        assert_eq!(reply_len(b"*9223372036854775807\r\n"), Ok(None));
    }

    #[test]
    fn encodes_multibulk() {
        let mut out = Vec::new();
        encode_command(&mut out, [&b"mget"[..], b"a", b""].into_iter());
        assert_eq!(out, b"*3\r\n$4\r\nmget\r\n$1\r\na\r\n$0\r\n\r\n");
        let mut big = Vec::new();
        push_bulk(&mut big, &[b'x'; 1234]);
        assert!(big.starts_with(b"$1234\r\nxx"));
    }

    #[test]
    fn array_elements_and_integers() {
        let r = b"*3\r\n$1\r\na\r\n$-1\r\n$2\r\nbc\r\n";
        let spans = array_elements(r, 3).unwrap();
        let parts: Vec<&[u8]> = spans.iter().map(|&(s, e)| &r[s..e]).collect();
        assert_eq!(parts, [&b"$1\r\na\r\n"[..], b"$-1\r\n", b"$2\r\nbc\r\n"]);
        assert!(array_elements(r, 2).is_none());
        assert!(array_elements(b"-ERR x\r\n", 1).is_none());
        assert_eq!(integer(b":42\r\n"), Some(42));
        assert_eq!(integer(b"+OK\r\n"), None);
    }
}

//! Reading a reply back: RESP2/RESP3 bytes into a value tree. Pure and bounded, for callers that
//! run a command internally and need its reply as data (scripts).

/// One RESP2 or RESP3 reply.
#[derive(Clone, Debug, PartialEq)]
pub enum RespValue {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1` (RESP2 null bulk).
    NullBulk,
    /// `*-1` (RESP2 null array).
    NullArray,
    Array(Vec<RespValue>),
    /// `_` (RESP3 null).
    Null,
    Bool(bool),
    Double(f64),
    BigNumber(Vec<u8>),
    /// Format (three letters) and text.
    Verbatim(Vec<u8>, Vec<u8>),
    Map(Vec<(RespValue, RespValue)>),
    Set(Vec<RespValue>),
    Push(Vec<RespValue>),
}

/// Deepest nesting accepted; deeper input is rejected rather than recursed into.
const MAX_DEPTH: usize = 512;

/// Parses the first complete reply in `buf`: the value and the bytes it used, or `None` when
/// the input is incomplete or malformed. Attributes (`|`) are read and dropped.
pub fn parse_reply(buf: &[u8]) -> Option<(RespValue, usize)> {
    let mut pos = 0;
    let v = read(buf, &mut pos, 0)?;
    Some((v, pos))
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    Some(&rest[..end])
}

fn int(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn count(s: &[u8]) -> Option<usize> {
    let n = int(s)?;
    usize::try_from(n).ok()
}

fn items(buf: &[u8], pos: &mut usize, n: usize, depth: usize) -> Option<Vec<RespValue>> {
    // Every element takes at least three bytes, which bounds what a bogus count can reserve.
    let mut v = Vec::with_capacity(n.min(buf.len() / 3 + 1));
    for _ in 0..n {
        v.push(read(buf, pos, depth + 1)?);
    }
    Some(v)
}

fn read(buf: &[u8], pos: &mut usize, depth: usize) -> Option<RespValue> {
    if depth > MAX_DEPTH {
        return None;
    }
    let kind = *buf.get(*pos)?;
    *pos += 1;
    let head = line(buf, pos)?;
    Some(match kind {
        b'+' => RespValue::Simple(head.to_vec()),
        b'-' => RespValue::Error(head.to_vec()),
        b':' => RespValue::Int(int(head)?),
        b'_' => RespValue::Null,
        b'#' => RespValue::Bool(head == b"t"),
        b',' => RespValue::Double(parse_double(head)?),
        b'(' => RespValue::BigNumber(head.to_vec()),
        b'$' | b'=' | b'!' => {
            let n = int(head)?;
            if n < 0 {
                return Some(RespValue::NullBulk);
            }
            let n = n as usize;
            let body = buf.get(*pos..pos.checked_add(n)?)?;
            if buf.get(*pos + n..*pos + n + 2)? != b"\r\n" {
                return None;
            }
            *pos += n + 2;
            match kind {
                b'=' if body.len() >= 4 => RespValue::Verbatim(body[..3].to_vec(), body[4..].to_vec()),
                b'!' => RespValue::Error(body.to_vec()),
                _ => RespValue::Bulk(body.to_vec()),
            }
        }
        b'*' | b'~' | b'>' => {
            if int(head)? < 0 {
                return Some(RespValue::NullArray);
            }
            let v = items(buf, pos, count(head)?, depth)?;
            match kind {
                b'~' => RespValue::Set(v),
                b'>' => RespValue::Push(v),
                _ => RespValue::Array(v),
            }
        }
        b'%' | b'|' => {
            let n = count(head)?;
            let mut pairs = Vec::with_capacity(n.min(buf.len() / 6 + 1));
            for _ in 0..n {
                let k = read(buf, pos, depth + 1)?;
                let v = read(buf, pos, depth + 1)?;
                pairs.push((k, v));
            }
            if kind == b'|' {
                // An attribute annotates the reply that follows it.
                return read(buf, pos, depth + 1);
            }
            RespValue::Map(pairs)
        }
        _ => return None,
    })
}

fn parse_double(s: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(s).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_resp2_and_resp3() {
        let (v, n) = parse_reply(b"*3\r\n:1\r\n$2\r\nab\r\n$-1\r\nrest").unwrap();
        assert_eq!(n, 21);
        assert_eq!(v, RespValue::Array(vec![RespValue::Int(1), RespValue::Bulk(b"ab".to_vec()), RespValue::NullBulk]));
        let (v, _) = parse_reply(b"%1\r\n+a\r\n,1.5\r\n").unwrap();
        assert_eq!(v, RespValue::Map(vec![(RespValue::Simple(b"a".to_vec()), RespValue::Double(1.5))]));
        let (v, _) = parse_reply(b"|1\r\n+k\r\n+v\r\n#t\r\n").unwrap();
        assert_eq!(v, RespValue::Bool(true));
        assert_eq!(
            parse_reply(b"=8\r\ntxt:abcd\r\n").unwrap().0,
            RespValue::Verbatim(b"txt".to_vec(), b"abcd".to_vec())
        );
        assert_eq!(parse_reply(b"*-1\r\n").unwrap().0, RespValue::NullArray);
    }

    #[test]
    fn rejects_incomplete_and_garbage() {
        assert!(parse_reply(b"*2\r\n:1\r\n").is_none());
        assert!(parse_reply(b"$5\r\nab\r\n").is_none());
        assert!(parse_reply(b"?x\r\n").is_none());
        assert!(parse_reply(b"*99999999999\r\n").is_none());
        let deep = "*1\r\n".repeat(10_000);
        assert!(parse_reply(deep.as_bytes()).is_none());
    }
}

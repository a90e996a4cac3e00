//! Request parsing: multibulk (`*N\r\n$len\r\n...`) and inline (`SET k v\n`) requests.
//!
//! The parser is resumable: a request that arrives in pieces is not re-scanned from its start each
//! time more bytes come, so a 512 MB argument trickling in costs linear time.

use std::fmt;

/// Longest inline request, and longest `*N` / `$N` header line, Redis accepts.
const INLINE_MAX: usize = 64 * 1024;
/// Before AUTH, Redis refuses requests that could make it buffer a lot for a stranger.
const UNAUTHENTICATED_MAX_ARGS: i64 = 10;
const UNAUTHENTICATED_MAX_BULK: i64 = 16 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`
    pub max_bulk_len: u64,
    /// Clients that have not authenticated (when a password is required) get tight limits.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: 512 * 1024 * 1024, authenticated: true }
    }
}

/// A protocol violation. The server replies with `-ERR Protocol error: ...` and closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    InvalidMultibulkLength,
    InvalidBulkLength,
    UnauthenticatedMultibulkLength,
    UnauthenticatedBulkLength,
    ExpectedDollar(u8),
    TooBigMbulkCountString,
    TooBigBulkCountString,
    TooBigInlineRequest,
    UnbalancedQuotes,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ParseError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ParseError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ParseError::UnauthenticatedMultibulkLength => f.write_str("unauthenticated multibulk length"),
            ParseError::UnauthenticatedBulkLength => f.write_str("unauthenticated bulk length"),
            ParseError::ExpectedDollar(c) => write!(f, "expected '$', got '{}'", *c as char),
            ParseError::TooBigMbulkCountString => f.write_str("too big mbulk count string"),
            ParseError::TooBigBulkCountString => f.write_str("too big bulk count string"),
            ParseError::TooBigInlineRequest => f.write_str("too big inline request"),
            ParseError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
    /// Inline arguments with escapes are unescaped into the parser's scratch buffer.
    scratch: bool,
}

/// The arguments of one parsed request, borrowed from the read buffer.
pub struct Args<'a> {
    buf: &'a [u8],
    scratch: &'a [u8],
    spans: &'a [Span],
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    pub fn get(&self, i: usize) -> &'a [u8] {
        let s = self.spans[i];
        let src = if s.scratch { self.scratch } else { self.buf };
        &src[s.start as usize..s.end as usize]
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Arguments from `from` on.
    pub fn tail(&self, from: usize) -> Args<'a> {
        Args { buf: self.buf, scratch: self.scratch, spans: &self.spans[from.min(self.spans.len())..] }
    }
}

/// Arguments owned rather than borrowed from a read buffer: a command queued by MULTI, or one a
/// script calls. One buffer holds them all.
#[derive(Clone, Debug, Default)]
pub struct OwnedArgs {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

impl OwnedArgs {
    pub fn from_args(args: &Args) -> OwnedArgs {
        OwnedArgs::from_slices(args.iter())
    }

    pub fn from_slices<'s>(parts: impl IntoIterator<Item = &'s [u8]>) -> OwnedArgs {
        let mut owned = OwnedArgs::default();
        for p in parts {
            owned.push(p);
        }
        owned
    }

    pub fn push(&mut self, arg: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(arg);
        self.spans.push(Span { start, end: self.buf.len() as u32, scratch: false });
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
    }

    pub fn args(&self) -> Args<'_> {
        Args { buf: &self.buf, scratch: &[], spans: &self.spans }
    }

    /// Bytes held, for CLIENT LIST's multi-mem.
    pub fn footprint(&self) -> usize {
        self.buf.capacity() + self.spans.capacity() * std::mem::size_of::<Span>()
    }
}

impl std::ops::Index<usize> for Args<'_> {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.get(i)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between requests.
    Idle,
    /// Inside a multibulk; `remaining` bulk strings still to read.
    Multibulk { remaining: u32 },
    /// Inside a bulk string of `len` bytes whose data starts at `data`.
    Bulk { remaining: u32, data: usize, len: usize },
}

/// Resumable request parser. Positions are offsets into the caller's read buffer; the caller
/// executes each complete request, then drops the consumed prefix and calls [`RequestParser::consumed`].
pub struct RequestParser {
    state: State,
    /// Where parsing resumes in the buffer.
    pos: usize,
    /// Start of the request being parsed.
    request_start: usize,
    spans: Vec<Span>,
    scratch: Vec<u8>,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser {
            state: State::Idle,
            pos: 0,
            request_start: 0,
            spans: Vec::with_capacity(8),
            scratch: Vec::new(),
        }
    }

    /// Offset of the first byte not yet part of a complete request.
    pub fn request_start(&self) -> usize {
        self.request_start
    }

    /// The caller removed the first `n` bytes (all belonging to complete requests) from its buffer.
    pub fn consumed(&mut self, n: usize) {
        debug_assert!(n <= self.request_start);
        self.pos -= n;
        self.request_start -= n;
        if let State::Bulk { remaining, data, len } = self.state {
            self.state = State::Bulk { remaining, data: data - n, len };
        }
        for s in self.spans.iter_mut().filter(|s| !s.scratch) {
            s.start -= n as u32;
            s.end -= n as u32;
        }
    }

    /// How many more bytes the request in progress needs at least (to size reads of big arguments).
    pub fn bulk_bytes_missing(&self, buffered: usize) -> usize {
        match self.state {
            State::Bulk { data, len, .. } => (data + len + 2).saturating_sub(buffered),
            _ => 0,
        }
    }

    /// Parses the next request in `buf`. `Ok(true)` for a complete request, read with
    /// [`RequestParser::args`] (possibly with zero arguments: an empty line or `*0`, which callers
    /// skip); `Ok(false)` when more bytes are needed.
    pub fn next(&mut self, buf: &[u8], limits: &Limits) -> Result<bool, ParseError> {
        loop {
            match self.state {
                State::Idle => {
                    self.spans.clear();
                    self.scratch.clear();
                    self.request_start = self.pos;
                    if self.pos >= buf.len() {
                        return Ok(false);
                    }
                    if buf[self.pos] == b'*' {
                        let Some((line, next)) = line_at(buf, self.pos + 1) else {
                            if buf.len() - self.pos > INLINE_MAX {
                                return Err(ParseError::TooBigMbulkCountString);
                            }
                            return Ok(false);
                        };
                        let count = parse_i64(line).ok_or(ParseError::InvalidMultibulkLength)?;
                        if !limits.authenticated && count > UNAUTHENTICATED_MAX_ARGS {
                            return Err(ParseError::UnauthenticatedMultibulkLength);
                        }
                        if count > i32::MAX as i64 {
                            return Err(ParseError::InvalidMultibulkLength);
                        }
                        self.pos = next;
                        if count <= 0 {
                            self.state = State::Idle;
                            return Ok(true);
                        }
                        self.state = State::Multibulk { remaining: count as u32 };
                    } else {
                        return self.parse_inline(buf);
                    }
                }
                State::Multibulk { remaining } => {
                    if remaining == 0 {
                        self.state = State::Idle;
                        return Ok(true);
                    }
                    if self.pos >= buf.len() {
                        return Ok(false);
                    }
                    if buf[self.pos] != b'$' {
                        return Err(ParseError::ExpectedDollar(buf[self.pos]));
                    }
                    let Some((line, next)) = line_at(buf, self.pos + 1) else {
                        if buf.len() - self.pos > INLINE_MAX {
                            return Err(ParseError::TooBigBulkCountString);
                        }
                        return Ok(false);
                    };
                    let len = parse_i64(line).ok_or(ParseError::InvalidBulkLength)?;
                    if !limits.authenticated && len > UNAUTHENTICATED_MAX_BULK {
                        return Err(ParseError::UnauthenticatedBulkLength);
                    }
                    if len < 0 || len as u64 > limits.max_bulk_len || len > u32::MAX as i64 - 2 {
                        return Err(ParseError::InvalidBulkLength);
                    }
                    self.pos = next;
                    self.state = State::Bulk { remaining, data: next, len: len as usize };
                }
                State::Bulk { remaining, data, len } => {
                    // The two bytes after the data are the CRLF terminator; like Redis, their
                    // content is not checked.
                    if buf.len() < data + len + 2 {
                        return Ok(false);
                    }
                    self.spans.push(Span { start: data as u32, end: (data + len) as u32, scratch: false });
                    self.pos = data + len + 2;
                    self.state = State::Multibulk { remaining: remaining - 1 };
                }
            }
        }
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Result<bool, ParseError> {
        let rest = &buf[self.pos..];
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if rest.len() > INLINE_MAX {
                return Err(ParseError::TooBigInlineRequest);
            }
            return Ok(false);
        };
        let mut line = &rest[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        // Redis splits inline requests as C strings: a NUL byte ends the request line.
        if let Some(nul) = line.iter().position(|&b| b == 0) {
            line = &line[..nul];
        }
        split_inline(line, &mut self.scratch, &mut self.spans)?;
        self.pos += nl + 1;
        self.state = State::Idle;
        Ok(true)
    }

    /// The arguments of the request `next` just completed.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        Args { buf, scratch: &self.scratch, spans: &self.spans }
    }
}

/// Finds the `\r\n`-terminated line starting at `from`; returns it and the offset after the CRLF.
fn line_at(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(from..)?;
    let cr = rest.iter().position(|&b| b == b'\r')?;
    if cr + 1 >= rest.len() {
        return None;
    }
    Some((&rest[..cr], from + cr + 2))
}

/// Strict decimal parse as Redis's string2ll: optional '-', no '+', no spaces, no leading zeros.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Splits a line into arguments as redis.conf and inline requests are split (`None` on
/// unbalanced quotes). A NUL byte ends the line, as it does for Redis.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let mut scratch = Vec::new();
    let mut spans = Vec::new();
    split_inline(line, &mut scratch, &mut spans).ok()?;
    Some(spans.iter().map(|s| scratch[s.start as usize..s.end as usize].to_vec()).collect())
}

/// C's isspace: what separates inline arguments (includes vertical tab, unlike Rust's ASCII
/// whitespace).
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits an inline request the way redis-cli and redis.conf quote arguments: spaces separate,
/// "double quotes" take backslash escapes, 'single quotes' only \'.
fn split_inline(line: &[u8], scratch: &mut Vec<u8>, spans: &mut Vec<Span>) -> Result<(), ParseError> {
    let mut i = 0;
    loop {
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(());
        }
        let start = scratch.len();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                if i >= line.len() {
                    return Err(ParseError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_value(line[i + 2]), hex_value(line[i + 3])) {
                        scratch.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    scratch.push(match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                    i += 2;
                } else if c == b'"' {
                    // A closing quote must be followed by a space or the end of the line.
                    if i + 1 < line.len() && !is_c_space(line[i + 1]) {
                        return Err(ParseError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    scratch.push(c);
                    i += 1;
                }
            } else if in_single {
                if i >= line.len() {
                    return Err(ParseError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    scratch.push(b'\'');
                    i += 2;
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_c_space(line[i + 1]) {
                        return Err(ParseError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    scratch.push(c);
                    i += 1;
                }
            } else {
                if i >= line.len() {
                    break;
                }
                match line[i] {
                    // Only these end a word; a vertical tab or form feed inside one is kept.
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    c => scratch.push(c),
                }
                i += 1;
            }
        }
        spans.push(Span { start: start as u32, end: scratch.len() as u32, scratch: true });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ParseError> {
        let mut p = RequestParser::new();
        let mut out = Vec::new();
        let limits = Limits::default();
        while p.next(input, &limits)? {
            let args = p.args(input);
            out.push(args.iter().map(|a| a.to_vec()).collect());
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline_requests() {
        let got = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset \"a b\" 'c\\'d' \"\\x41\\n\"\n").unwrap();
        assert_eq!(
            got,
            vec![
                vec![b"GET".to_vec(), b"k".to_vec()],
                vec![b"PING".to_vec()],
                vec![b"set".to_vec(), b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()],
            ]
        );
    }

    #[test]
    fn errors_have_redis_texts() {
        assert_eq!(parse_all(b"*x\r\n").unwrap_err().to_string(), "Protocol error: invalid multibulk length");
        assert_eq!(parse_all(b"*1\r\nx\r\n").unwrap_err().to_string(), "Protocol error: expected '$', got 'x'");
        assert_eq!(parse_all(b"*1\r\n$4294967296\r\n").unwrap_err().to_string(), "Protocol error: invalid bulk length");
        assert_eq!(parse_all(b"*1\r\n$-1\r\n").unwrap_err(), ParseError::InvalidBulkLength);
        assert_eq!(parse_all(b"SET \"k v\r\n").unwrap_err(), ParseError::UnbalancedQuotes);
        assert_eq!(parse_all(b"SET \"k\"v\r\n").unwrap_err(), ParseError::UnbalancedQuotes);
    }

    #[test]
    fn resumes_across_partial_reads() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut p = RequestParser::new();
        let limits = Limits::default();
        for cut in 1..full.len() {
            assert!(!p.next(&full[..cut], &limits).unwrap(), "cut {cut}");
        }
        assert!(p.next(full, &limits).unwrap());
        assert_eq!(p.args(full).get(2), b"hello");
    }

    #[test]
    fn consumed_shifts_partial_state() {
        let mut buf = b"PING\r\n*2\r\n$3\r\nGET\r\n$1\r".to_vec();
        let mut p = RequestParser::new();
        let limits = Limits::default();
        assert!(p.next(&buf, &limits).unwrap());
        assert!(!p.next(&buf, &limits).unwrap());
        let n = p.request_start();
        buf.drain(..n);
        p.consumed(n);
        buf.extend_from_slice(b"\nk\r\n");
        assert!(p.next(&buf, &limits).unwrap());
        assert_eq!(p.args(&buf).get(0), b"GET");
        assert_eq!(p.args(&buf).get(1), b"k");
    }

    #[test]
    fn nul_bytes_end_an_inline_request() {
        assert_eq!(parse_all(b"\x00\x01\xff\r\nab\x00cd\r\n").unwrap(), vec![vec![], vec![b"ab".to_vec()]]);
    }

    #[test]
    fn empty_requests_have_no_arguments() {
        assert_eq!(parse_all(b"\r\n*0\r\n*-1\r\n").unwrap(), vec![Vec::<Vec<u8>>::new(); 3]);
    }

    /// Random bytes, fed in random pieces, never panic and always make progress: every call
    /// either completes a request, asks for more bytes, or fails.
    #[test]
    fn random_input_never_panics_or_stalls() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"*$\r\n0123456789-\"' \\xabAZ\x00\t";
        for _ in 0..3000 {
            let len = (rand() % 64) as usize;
            let input: Vec<u8> =
                (0..len)
                    .map(|_| {
                        if rand() % 4 == 0 {
                            rand() as u8
                        } else {
                            alphabet[(rand() % alphabet.len() as u64) as usize]
                        }
                    })
                    .collect();
            let mut p = RequestParser::new();
            let limits = Limits { max_bulk_len: 1 << 20, authenticated: rand() % 2 == 0 };
            let mut fed = 0;
            let mut steps = 0;
            loop {
                steps += 1;
                assert!(steps < 10_000, "parser stalled on {input:?}");
                match p.next(&input[..fed], &limits) {
                    Ok(true) => {
                        let _ = p.args(&input[..fed]).iter().count();
                    }
                    Ok(false) if fed < input.len() => fed = (fed + 1 + (rand() % 8) as usize).min(input.len()),
                    Ok(false) | Err(_) => break,
                }
            }
        }
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"-0"), None);
    }
}

//! One connection to a server: request encoding into the output buffer, a reply framer that skips
//! whole replies without building values, and the blocking setup calls (connect, AUTH, one-off
//! commands) made before a run starts.

use crate::cluster::SlotMap;
use roost_resp::{parse_reply, RespValue};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Where to connect and how to log in.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl Endpoint {
    pub fn at(&self, host: &str, port: u16) -> Endpoint {
        Endpoint { host: host.to_string(), port, ..self.clone() }
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Connects (5 s timeout), turns Nagle off and logs in. The stream is left blocking.
pub fn connect(ep: &Endpoint) -> Result<TcpStream, String> {
    let addrs: Vec<_> = (ep.host.as_str(), ep.port)
        .to_socket_addrs()
        .map_err(|e| format!("could not resolve {}: {e}", ep.addr()))?
        .collect();
    let mut last = format!("could not resolve {}", ep.addr());
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(mut s) => {
                s.set_nodelay(true).map_err(|e| e.to_string())?;
                if let Some(pass) = &ep.password {
                    let mut args: Vec<&[u8]> = vec![b"AUTH"];
                    if let Some(user) = &ep.user {
                        args.push(user.as_bytes());
                    }
                    args.push(pass.as_bytes());
                    if let RespValue::Error(e) = call(&mut s, &args)? {
                        return Err(format!("AUTH to {} failed: {}", ep.addr(), String::from_utf8_lossy(&e)));
                    }
                }
                return Ok(s);
            }
            Err(e) => last = format!("could not connect to {}: {e}", ep.addr()),
        }
    }
    Err(last)
}

/// Sends one command on a blocking stream and reads its reply (10 s timeout).
pub fn call(s: &mut TcpStream, args: &[&[u8]]) -> Result<RespValue, String> {
    let mut out = Vec::new();
    encode(&mut out, args);
    s.write_all(&out).map_err(|e| format!("write failed: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(len) = reply_len(&buf)? {
            let (v, _) = parse_reply(&buf[..len]).ok_or("unparsable reply")?;
            s.set_read_timeout(None).map_err(|e| e.to_string())?;
            return Ok(v);
        }
        match s.read(&mut chunk) {
            Ok(0) => return Err("connection closed by the server".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
}

/// Appends `args` as a RESP multibulk request.
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    push_int(out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        push_int(out, a.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

pub fn push_int(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The length of the first complete reply in `buf`, `None` if it is still incomplete. Walks the
/// framing only (no values are built), iteratively, so deep or long replies cost no recursion.
pub fn reply_len(buf: &[u8]) -> Result<Option<usize>, String> {
    let mut pos = 0usize;
    let mut remaining: u64 = 1;
    while remaining > 0 {
        let Some(&kind) = buf.get(pos) else { return Ok(None) };
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else { return Ok(None) };
        if nl < 2 || buf[pos + nl - 1] != b'\r' {
            return Err("protocol error: line not ended by CRLF".into());
        }
        let head = &buf[pos + 1..pos + nl - 1];
        pos += nl + 1;
        remaining -= 1;
        match kind {
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {}
            b'$' | b'=' | b'!' => {
                let n = parse_len(head)?;
                if n >= 0 {
                    let end = pos + n as usize + 2;
                    if end > buf.len() {
                        return Ok(None);
                    }
                    pos = end;
                }
            }
            b'*' | b'~' | b'>' => remaining += parse_len(head)?.max(0) as u64,
            b'%' => remaining += 2 * parse_len(head)?.max(0) as u64,
            // An attribute map is followed by the reply it annotates.
            b'|' => remaining += 2 * parse_len(head)?.max(0) as u64 + 1,
            other => return Err(format!("protocol error: unexpected reply type byte {other:#04x}")),
        }
    }
    Ok(Some(pos))
}

fn parse_len(s: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| (-1..(1 << 40)).contains(n))
        .ok_or_else(|| format!("protocol error: bad length {:?}", String::from_utf8_lossy(s)))
}

/// A reply is awaited for operation `op`; `want_data` keeps the reply for the workload.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub op: u32,
    pub want_data: bool,
}

/// A non-blocking connection with its buffers and its queue of requests awaiting replies.
pub struct Sock {
    pub stream: TcpStream,
    pub addr: String,
    pub out: Vec<u8>,
    pub out_pos: usize,
    inb: Vec<u8>,
    in_start: usize,
    in_end: usize,
    pub inflight: VecDeque<Pending>,
}

impl Sock {
    pub fn open(ep: &Endpoint) -> Result<Sock, String> {
        let stream = connect(ep)?;
        stream.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(Sock {
            stream,
            addr: ep.addr(),
            out: Vec::with_capacity(64 * 1024),
            out_pos: 0,
            inb: vec![0; 64 * 1024],
            in_start: 0,
            in_end: 0,
            inflight: VecDeque::new(),
        })
    }

    pub fn wants_write(&self) -> bool {
        self.out_pos < self.out.len()
    }

    /// Writes as much of the output buffer as the socket takes.
    pub fn flush(&mut self) -> Result<(), String> {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(format!("connection to {} closed", self.addr)),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("write to {} failed: {e}", self.addr)),
            }
        }
        self.out.clear();
        self.out_pos = 0;
        Ok(())
    }

    /// Reads what is available; `Ok(false)` when nothing was (would block).
    pub fn fill(&mut self) -> Result<bool, String> {
        if self.in_start == self.in_end {
            self.in_start = 0;
            self.in_end = 0;
        }
        if self.in_end == self.inb.len() {
            if self.in_start > 0 {
                self.inb.copy_within(self.in_start..self.in_end, 0);
                self.in_end -= self.in_start;
                self.in_start = 0;
            } else {
                let grown = self.inb.len() * 2;
                self.inb.resize(grown, 0);
            }
        }
        loop {
            match self.stream.read(&mut self.inb[self.in_end..]) {
                Ok(0) => return Err(format!("connection to {} closed by the server", self.addr)),
                Ok(n) => {
                    self.in_end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read from {} failed: {e}", self.addr)),
            }
        }
    }

    /// The next complete reply in the input buffer, consumed, with the request it answers.
    pub fn next_reply(&mut self) -> Result<Option<(Pending, &[u8])>, String> {
        let avail = &self.inb[self.in_start..self.in_end];
        match reply_len(avail)? {
            Some(n) => {
                let pending =
                    self.inflight.pop_front().ok_or_else(|| format!("{} sent a reply nobody asked for", self.addr))?;
                let start = self.in_start;
                self.in_start += n;
                Ok(Some((pending, &self.inb[start..start + n])))
            }
            None => Ok(None),
        }
    }
}

/// Queues requests of one operation on the right connection (by key slot in cluster mode).
pub struct Writer<'a> {
    pub(crate) socks: &'a mut [Sock],
    pub(crate) route: Option<&'a SlotMap>,
    pub(crate) op: u32,
    pub issued: u32,
}

impl Writer<'_> {
    /// A command whose reply is only checked for errors.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        self.push(args, false);
    }

    /// A command whose reply the workload reads (see `Driver::on_data`).
    pub fn cmd_data(&mut self, args: &[&[u8]]) {
        self.push(args, true);
    }

    /// An inline command (`PING\r\n`) to the first node.
    pub fn inline(&mut self, line: &[u8]) {
        let s = &mut self.socks[0];
        s.out.extend_from_slice(line);
        s.out.extend_from_slice(b"\r\n");
        s.inflight.push_back(Pending { op: self.op, want_data: false });
        self.issued += 1;
    }

    /// Whether replies to different keys may come from different nodes (multi-key commands must
    /// then be split per key).
    pub fn is_cluster(&self) -> bool {
        self.route.is_some_and(|m| m.nodes.len() > 1)
    }

    fn push(&mut self, args: &[&[u8]], want_data: bool) {
        let node = match (self.route, args.get(1)) {
            (Some(map), Some(key)) => map.node_of(key),
            _ => 0,
        };
        let s = &mut self.socks[node];
        encode(&mut s.out, args);
        s.inflight.push_back(Pending { op: self.op, want_data });
        self.issued += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_multibulk_requests() {
        let mut out = Vec::new();
        encode(&mut out, &[b"SET", b"key:1", b""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$0\r\n\r\n");
    }

    #[test]
    fn reply_len_frames_every_reply_type_and_waits_for_partial_ones() {
        let cases: &[&[u8]] = &[
            b"+OK\r\n",
            b"-ERR no\r\n",
            b":42\r\n",
            b"$3\r\nabc\r\n",
            b"$-1\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            b"%1\r\n+k\r\n$1\r\nv\r\n",
            b"|1\r\n+a\r\n+b\r\n:5\r\n",
            b"_\r\n",
            b",1.5\r\n",
        ];
        for &c in cases {
            let mut buf = c.to_vec();
            buf.extend_from_slice(b"+NEXT\r\n");
            assert_eq!(reply_len(&buf).unwrap(), Some(c.len()), "{}", String::from_utf8_lossy(c));
            for cut in 0..c.len() {
                assert_eq!(reply_len(&c[..cut]).unwrap(), None, "{} cut at {cut}", String::from_utf8_lossy(c));
            }
        }
        assert!(reply_len(b"?x\r\n").is_err());
        assert!(reply_len(b"$abc\r\n").is_err());
    }
}

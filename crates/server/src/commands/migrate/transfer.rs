//! The network half of MIGRATE: connect to the target, send AUTH, SELECT and one RESTORE per
//! key in one pipelined write, read the replies. Asynchronous, so the worker thread serves its
//! other clients meanwhile; owns nothing of the keyspace.
//!
//! The failure modes and their texts are Redis 7.0's (`migrateCommand` in cluster.c), as the
//! real server shows them: a refused connection is only noticed when writing, because Redis
//! connects without blocking; a failure before any key was answered is retried once, on a new
//! connection, unless it was a timeout.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{Job, Outcome};

const CONNECTING: &[u8] = b"IOERR error or timeout connecting to the client";
const WRITING: &[u8] = b"IOERR error or timeout writing to target instance";
const READING: &[u8] = b"IOERR error or timeout reading to target instance";
const TARGET_ERROR: &[u8] = b"ERR Target instance replied with error: ";

/// Redis writes in pieces of this much, each allowed the whole timeout.
const WRITE_CHUNK: usize = 64 * 1024;
/// Redis reads each reply line into a buffer of this size: a longer line is cut one byte short
/// of it (and its rest is read as the next reply, which Redis does too).
const LINE_BUF: usize = 1024;

/// Why an attempt stopped before any key was answered.
#[derive(Debug)]
enum Failure {
    /// The name did not resolve, or the connection did not complete in time.
    Connect,
    Socket {
        writing: bool,
        timed_out: bool,
    },
}

/// Moves the job's keys to the target; the outcome says which ones it accepted and what to
/// reply.
pub async fn run(job: &Job) -> Outcome {
    let request = request(job);
    let mut may_retry = true;
    loop {
        let error = match attempt(job, &request).await {
            Ok(outcome) => return outcome,
            Err(Failure::Connect) => CONNECTING,
            // Redis retries because its cached connection may have gone stale; the retry is
            // kept so a target that drops the first connection sees what Redis would send.
            Err(Failure::Socket { timed_out: false, .. }) if may_retry => {
                may_retry = false;
                continue;
            }
            Err(Failure::Socket { writing: true, .. }) => WRITING,
            Err(Failure::Socket { writing: false, .. }) => READING,
        };
        return Outcome { accepted: Vec::new(), error: Some(error.to_vec()) };
    }
}

async fn attempt(job: &Job, request: &[u8]) -> Result<Outcome, Failure> {
    let mut stream = connect(job).await?;
    for chunk in request.chunks(WRITE_CHUNK) {
        match timeout(job.timeout, stream.write_all(chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(Failure::Socket { writing: true, timed_out: false }),
            Err(_) => return Err(Failure::Socket { writing: true, timed_out: true }),
        }
    }
    let mut lines = Lines { stream, buf: Vec::with_capacity(LINE_BUF), pos: 0, timeout: job.timeout };
    let reading = |timed_out| Failure::Socket { writing: false, timed_out };
    let auth = match job.auth {
        Some(_) => Some(lines.next().await.map_err(reading)?),
        None => None,
    };
    let select = lines.next().await.map_err(reading)?;
    let refused = |line: &Vec<u8>| line.first() == Some(&b'-');
    let mut outcome = Outcome::default();
    for i in 0..job.keys.len() {
        let line = match lines.next().await {
            Ok(line) => line,
            Err(timed_out) if i == 0 => return Err(reading(timed_out)),
            Err(_) => {
                // The keys answered so far stay accepted, and leave the source.
                outcome.error.get_or_insert_with(|| READING.to_vec());
                break;
            }
        };
        // An AUTH or SELECT error fails every key: each RESTORE ran unauthenticated or in
        // the wrong database. The first error is the one reported.
        let error = auth
            .as_ref()
            .filter(|l| refused(l))
            .or(Some(&select).filter(|l| refused(l)))
            .or(Some(&line).filter(|l| refused(l)));
        match error {
            Some(e) => {
                outcome.error.get_or_insert_with(|| target_error(&e[1..]));
            }
            None => outcome.accepted.push(i),
        }
    }
    Ok(outcome)
}

async fn connect(job: &Job) -> Result<TcpStream, Failure> {
    let host = std::str::from_utf8(&job.host).map_err(|_| Failure::Connect)?;
    // A negative port fails to resolve; a larger one wraps into 16 bits, as in the C library.
    if job.port < 0 {
        return Err(Failure::Connect);
    }
    let port = (job.port & 0xffff) as u16;
    // Like Redis, only the first address the name resolves to is tried.
    let addr: SocketAddr = match timeout(job.timeout, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(mut addrs)) => addrs.next().ok_or(Failure::Connect)?,
        _ => return Err(Failure::Connect),
    };
    match timeout(job.timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        // Redis's non-blocking connect reports a refusal only when it first writes.
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => {
            Err(Failure::Socket { writing: true, timed_out: false })
        }
        Ok(Err(_)) | Err(_) => Err(Failure::Connect),
    }
}

/// AUTH (if asked), SELECT, then RESTORE key ttl payload [REPLACE] per key, as one buffer.
fn request(job: &Job) -> Vec<u8> {
    let mut out = Vec::with_capacity(job.keys.iter().map(|m| m.payload.len() + m.key.len() + 64).sum::<usize>() + 64);
    match &job.auth {
        Some((Some(user), password)) => encode(&mut out, &[b"AUTH", user, password]),
        Some((None, password)) => encode(&mut out, &[b"AUTH", password]),
        None => {}
    }
    encode(&mut out, &[b"SELECT", job.db.to_string().as_bytes()]);
    for m in &job.keys {
        let ttl = m.ttl.to_string();
        let mut cmd: Vec<&[u8]> = vec![b"RESTORE", &m.key, ttl.as_bytes(), &m.payload];
        if job.replace {
            cmd.push(b"REPLACE");
        }
        encode(&mut out, &cmd);
    }
    out
}

fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The reply for a target's error line: Redis formats it with `%s`, so it ends at a NUL byte.
fn target_error(msg: &[u8]) -> Vec<u8> {
    let msg = msg.split(|&c| c == 0).next().unwrap_or_default();
    [TARGET_ERROR, msg].concat()
}

/// The target's replies, a line at a time, as Redis's `syncReadLine` reads them.
struct Lines {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    timeout: Duration,
}

impl Lines {
    /// The next line without its CR LF. Err(timed out) on a timeout, the end of the stream, an
    /// error, or an empty line (which `syncReadLine` reports as a failed read).
    async fn next(&mut self) -> Result<Vec<u8>, bool> {
        let mut line = Vec::new();
        loop {
            if self.pos == self.buf.len() {
                self.buf.clear();
                self.pos = 0;
                match timeout(self.timeout, self.stream.read_buf(&mut self.buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Err(false),
                    Ok(Ok(_)) => {}
                    Err(_) => return Err(true),
                }
            }
            while let Some(&c) = self.buf.get(self.pos) {
                self.pos += 1;
                if c == b'\n' {
                    if line.is_empty() {
                        return Err(false);
                    }
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(line);
                }
                line.push(c);
                if line.len() == LINE_BUF - 1 {
                    return Ok(line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_errors_end_at_a_nul_byte() {
        assert_eq!(target_error(b"BUSYKEY x\0y"), b"ERR Target instance replied with error: BUSYKEY x".to_vec());
    }

    #[test]
    fn the_request_is_auth_select_then_restores() {
        let job = Job {
            host: b"h".to_vec(),
            port: 1,
            timeout: Duration::from_millis(1),
            db: 3,
            copy: false,
            replace: true,
            auth: Some((Some(b"u".to_vec()), b"p".to_vec())),
            keys: vec![super::super::Moving { key: b"k".to_vec(), ttl: 5, payload: b"x".to_vec() }],
            silent: false,
        };
        let want = b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n\
*5\r\n$7\r\nRESTORE\r\n$1\r\nk\r\n$1\r\n5\r\n$1\r\nx\r\n$7\r\nREPLACE\r\n";
        assert_eq!(request(&job), want.to_vec());
    }
}

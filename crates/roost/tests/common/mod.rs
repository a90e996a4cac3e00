//! Test harness: starts the real `roost` binary (and, for differential tests, a real
//! redis-server) on a free loopback port, and talks to it in raw RESP.
#![allow(dead_code)]

pub mod differential;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on now. Ports are handed out from a counter, not by the kernel: the
/// kernel's ephemeral ports are also what it gives outgoing connections and other tests' port
/// requests, so two tests of one binary could be handed the same port before either server has
/// bound it. The counter starts at a place that depends on the process, below the ephemeral
/// range (32768 and up on Linux), and skips ports found taken.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 12_000;
    const SPAN: u32 = 20_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(u32::MAX, (std::process::id() * 1_009) % SPAN, Ordering::Relaxed, Ordering::Relaxed);
    for _ in 0..SPAN {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + SPAN);
}

/// Waits until the child answers on `port` as itself (INFO's process_id is the child's PID: a
/// port picked as free may have been taken by another process in the meantime).
fn wait_for_port(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            // Whoever answered may be going away (another process's server, stopped at the
            // end of its test): a reset is "not answered yet", not a failure of this test.
            let mut c = RawClient::from_stream(stream);
            if c.stream.write_all(&encode(&[b"INFO", b"server"])).is_err() {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let info = String::from_utf8_lossy(&c.read_reply()).into_owned();
            if info.is_empty() {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let ours = if info.starts_with("-NOAUTH") {
                // A password-protected server can't be asked; had it failed to bind, it would exit.
                std::thread::sleep(Duration::from_millis(200));
                matches!(child.try_wait(), Ok(None))
            } else {
                info.contains(&format!("process_id:{}\r\n", child.id()))
            };
            // The probe leaves before the test starts, so tests never see it in CLIENT LIST or
            // in client counts: QUIT, then wait for the server to close its end.
            if c.stream.write_all(&encode(&[b"QUIT"])).is_ok() {
                let _ = c.read_reply();
                let _ = c.is_closed();
            }
            return ours;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A running server process, stopped (by its PID) when dropped.
pub struct TestServer {
    child: Child,
    pub port: u16,
}

impl TestServer {
    /// Starts roost with `extra` directives appended to `--port P --bind 127.0.0.1`.
    pub fn start(extra: &[&str]) -> TestServer {
        Self::spawn("roost", |port| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_roost"));
            cmd.arg("server").args(["--port", &port.to_string(), "--bind", "127.0.0.1"]).args(extra);
            cmd
        })
    }

    /// Starts roost with a config file and `extra` arguments (the port is passed on the command line).
    pub fn start_with_config(path: &std::path::Path, extra: &[&str]) -> TestServer {
        Self::spawn("roost", |port| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_roost"));
            cmd.arg("server").arg(path).args(["--port", &port.to_string()]).args(extra);
            cmd
        })
    }

    /// Starts a real redis-server (for differential tests) with persistence off.
    pub fn start_redis() -> TestServer {
        Self::start_redis_with(&[])
    }

    /// Like `start_redis`, with `extra` arguments appended (e.g. `--enable-debug-command yes`).
    pub fn start_redis_with(extra: &[&str]) -> TestServer {
        let server = Self::spawn("redis-server", |port| {
            let mut cmd = Command::new(redis_server_path());
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
            cmd.args(extra);
            cmd
        });
        // redis-server answers while it is still loading its files (DEBUG DIGEST included, on
        // a partial dataset): wait until it says it is done.
        let mut c = server.raw();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !c.cmd_str(&["INFO", "persistence"]).contains("loading:0\r\n") {
            assert!(Instant::now() < deadline, "redis-server never finished loading");
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    /// Tries a few free ports: another test may grab the same one between our check and bind.
    fn spawn(what: &str, command: impl Fn(u16) -> Command) -> TestServer {
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = command(port);
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
            if wait_for_port(port, &mut child) {
                return TestServer { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{what} did not start listening after 5 attempts");
    }

    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.port)
    }

    pub fn redis(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap().get_connection().unwrap()
    }

    /// Sends SIGTERM to the server process.
    pub fn signal_term(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Whether the process has exited (e.g. after SHUTDOWN).
    pub fn exited_within(&mut self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the reference redis-server is; the test command installs it (see scripts/test.sh).
pub fn redis_server_path() -> String {
    for p in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] {
        if std::path::Path::new(p).exists() {
            return p.to_string();
        }
    }
    panic!("redis-server is required for this test: install it with `apt-get install -y redis-server redis-tools` (scripts/test.sh does this)");
}

/// A plain TCP client that sends bytes and reads whole RESP replies as bytes.
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    pub fn connect(port: u16) -> RawClient {
        Self::from_stream(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
    }

    fn from_stream(stream: TcpStream) -> RawClient {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        RawClient { stream, buf: Vec::new() }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends a command as a multibulk request and returns its whole reply.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&bytes)
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode(args));
        self.read_reply()
    }

    /// The reply as text, for readable assertions.
    pub fn cmd_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// An integer reply's value; panics on anything else.
    pub fn int(&mut self, args: &[&str]) -> i64 {
        let r = self.cmd_str(args);
        r.strip_prefix(':')
            .and_then(|s| s.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("{args:?}: expected integer, got {r:?}"))
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads one complete RESP2/RESP3 reply.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = frame_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            if !self.fill() {
                let rest = std::mem::take(&mut self.buf);
                return rest;
            }
        }
    }

    /// True if the server closed the connection (reads return end of stream).
    pub fn is_closed(&mut self) -> bool {
        self.stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(0) => true,
            // Closing with unread input makes the kernel reset the connection instead.
            Err(e) => matches!(e.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted),
            Ok(_) => false,
        }
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Length of the first complete reply in `buf`, if it is all there.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&buf[1..line_end]).ok()?;
    let after = line_end + 2;
    match buf.first()? {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let count = if matches!(buf[0], b'%' | b'|') { n * 2 } else { n };
            let mut pos = after;
            for _ in 0..count {
                pos += frame_len(&buf[pos..])?;
            }
            // An attribute precedes the reply it describes.
            if buf[0] == b'|' {
                pos += frame_len(&buf[pos..])?;
            }
            Some(pos)
        }
        _ => None,
    }
}

/// The server's count of clients blocked on keys (INFO clients).
pub fn blocked_clients(c: &mut RawClient) -> i64 {
    let info = c.cmd_str(&["INFO", "clients"]);
    info.lines().find_map(|l| l.strip_prefix("blocked_clients:")).unwrap().trim().parse().unwrap()
}

/// Waits (bounded) until the server reports `n` blocked clients.
pub fn wait_blocked(c: &mut RawClient, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked_clients(c) != n {
        assert!(Instant::now() < deadline, "never reached {n} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A directory under the system's temp dir, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty directory named after `prefix`, this process and a counter.
pub fn temp_dir(prefix: &str) -> TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("roost-{prefix}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

//! `roost proxy` end to end: the real binary in front of three real redis-servers on loopback.
//! Keys must land on the backend nutcracker's mapping names; multi-key commands span backends;
//! a dead backend gives nutcracker's errors, is ejected after `server_failure_limit` failures
//! (keys remap as the rebuilt ring says) and comes back after `server_retry_timeout`, or as soon
//! as it answers PING with the health check; SIGHUP reloads the configuration in place.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, redis_server_path, temp_dir, RawClient, TempDir};
use roost_proxy::config::Config;
use roost_proxy::distribution::{RingServer, Router};

/// A redis-server we start ourselves, so the test can stop, pause and restart it by PID.
struct Backend {
    child: Option<Child>,
    port: u16,
    extra: Vec<String>,
}

impl Backend {
    fn start(extra: &[&str]) -> Backend {
        for _ in 0..5 {
            let mut b =
                Backend { child: None, port: free_port(), extra: extra.iter().map(|s| s.to_string()).collect() };
            if b.launch() {
                return b;
            }
        }
        panic!("redis-server did not start");
    }

    fn launch(&mut self) -> bool {
        let mut child = Command::new(redis_server_path())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    fn restart(&mut self) {
        assert!(self.launch(), "redis-server did not restart on port {}", self.port);
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    }

    fn client(&self) -> RawClient {
        RawClient::connect(self.port)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // SIGKILL ends a paused (SIGSTOPped) server too.
        self.stop();
    }
}

struct Proxy {
    child: Child,
    port: u16,
    stats_port: u16,
    dir: TempDir,
}

/// Stops (by PID) a process the test started, however the test ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pool config named `alpha` over the backends, named server1..3; `extra` adds directives.
fn config(listen_port: u16, backends: &[&Backend], extra: &str) -> String {
    let mut yml =
        format!("alpha:\n  listen: 127.0.0.1:{listen_port}\n  hash: fnv1a_64\n  redis: true\n{extra}  servers:\n");
    for (i, b) in backends.iter().enumerate() {
        yml.push_str(&format!("   - 127.0.0.1:{}:1 server{}\n", b.port, i + 1));
    }
    yml
}

impl Proxy {
    fn start(backends: &[&Backend], extra: &str, flags: &[&str]) -> Proxy {
        for _ in 0..5 {
            let dir = temp_dir("proxy");
            let port = free_port();
            let stats_port = free_port();
            let path = dir.0.join("nutcracker.yml");
            std::fs::write(&path, config(port, backends, extra)).unwrap();
            let mut child = Command::new(env!("CARGO_BIN_EXE_roost"))
                .args(["proxy", "-c", path.to_str().unwrap(), "-s", &stats_port.to_string(), "-a", "127.0.0.1"])
                .args(flags)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start roost proxy");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Proxy { child, port, stats_port, dir };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("roost proxy did not start");
    }

    fn client(&self) -> RawClient {
        RawClient::connect(self.port)
    }

    fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.stats_port)).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn config_path(&self) -> PathBuf {
        self.dir.0.join("nutcracker.yml")
    }

    /// Rewrites the configuration file, sends SIGHUP, and waits until the log shows the reload's
    /// outcome (`outcome` appearing for the `nth` time): from then on every request uses it.
    fn reload(&self, yml: &str, log: &std::path::Path, outcome: &str, nth: usize) {
        std::fs::write(self.config_path(), yml).unwrap();
        assert!(Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.matches(outcome).count() >= nth {
                return;
            }
            assert!(Instant::now() < deadline, "no {outcome:?} #{nth} in the log:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stats(&self) -> String {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.stats_port)).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The mapping computed from the same configuration, without any network.
fn router(backends: &[&Backend], extra: &str) -> Router {
    let pool = Config::load_str(&config(1, backends, extra), "t").unwrap().pools.remove(0);
    let ring = pool.servers.iter().map(|s| RingServer { name: s.name.as_bytes().to_vec(), weight: s.weight }).collect();
    Router::new(pool.hash, pool.hash_tag, pool.distribution, ring)
}

fn three() -> (Backend, Backend, Backend) {
    (Backend::start(&[]), Backend::start(&[]), Backend::start(&[]))
}

fn bulk(v: &str) -> Vec<u8> {
    format!("${}\r\n{v}\r\n", v.len()).into_bytes()
}

#[test]
fn every_key_lands_on_the_backend_the_mapping_names() {
    let (a, b, c) = three();
    let backends = [&a, &b, &c];
    let extra = "  hash_tag: \"{}\"\n";
    let proxy = Proxy::start(&backends, extra, &[]);
    let ring = router(&backends, extra);
    let mut keys: Vec<Vec<u8>> = (0..300).map(|i| format!("key:{i}").into_bytes()).collect();
    keys.extend(
        [&b"user:{7}:name"[..], b"x{}{y}", b"a{{b}}", b"\xff\xfe\x80", "ключ".as_bytes(), b""].map(|k| k.to_vec()),
    );
    let mut p = proxy.client();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(p.cmd_bytes(&[b"SET", k, format!("v{i}").as_bytes()]), b"+OK\r\n");
    }
    let mut clients: Vec<RawClient> = backends.iter().map(|b| b.client()).collect();
    let mut per_server = [0; 3];
    for (i, k) in keys.iter().enumerate() {
        let want = ring.route(k).unwrap();
        per_server[want] += 1;
        for (s, c) in clients.iter_mut().enumerate() {
            let got = c.cmd_bytes(&[b"GET", k]);
            if s == want {
                assert_eq!(
                    got,
                    bulk(&format!("v{i}")),
                    "key {:?} missing on server{}",
                    String::from_utf8_lossy(k),
                    s + 1
                );
            } else {
                assert_eq!(got, b"$-1\r\n", "key {:?} found on server{}", String::from_utf8_lossy(k), s + 1);
            }
        }
        assert_eq!(p.cmd_bytes(&[b"GET", k]), bulk(&format!("v{i}")));
    }
    // fnv1a_64 mixes poorly (key:0..299 all miss server1), but the keys must span backends.
    assert!(per_server.iter().filter(|&&n| n > 0).count() >= 2, "{per_server:?}");
}

#[test]
fn multi_key_commands_span_backends() {
    let (a, b, c) = three();
    let backends = [&a, &b, &c];
    let proxy = Proxy::start(&backends, "", &[]);
    let ring = router(&backends, "");
    let mut p = proxy.client();
    let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    let servers: std::collections::HashSet<usize> = keys.iter().map(|k| ring.route(k.as_bytes()).unwrap()).collect();
    assert!(servers.len() > 1, "keys must span backends");

    let mut mset: Vec<&str> = vec!["MSET"];
    let values: Vec<String> = keys.iter().map(|k| format!("val-{k}")).collect();
    for (k, v) in keys.iter().zip(&values) {
        mset.push(k);
        mset.push(v);
    }
    assert_eq!(p.cmd(&mset), b"+OK\r\n");
    for (k, v) in keys.iter().zip(&values) {
        let mut owner = backends[ring.route(k.as_bytes()).unwrap()].client();
        assert_eq!(owner.cmd(&["GET", k]), bulk(v));
    }

    let mut expected = b"*6\r\n".to_vec();
    for part in [bulk("val-k3"), bulk("val-k0"), b"$-1\r\n".to_vec(), bulk("val-k17"), bulk("val-k0"), bulk("val-k39")]
    {
        expected.extend_from_slice(&part);
    }
    assert_eq!(p.cmd(&["MGET", "k3", "k0", "nokey", "k17", "k0", "k39"]), expected);
    assert_eq!(p.cmd(&["MGET", "k5"]), b"*1\r\n$6\r\nval-k5\r\n");

    assert_eq!(p.int(&["EXISTS", "k1", "k2", "nokey", "k3", "k1"]), 4);
    assert_eq!(p.int(&["TOUCH", "k1", "k2", "nokey"]), 2);
    assert_eq!(p.int(&["DEL", "k1", "k2", "nokey", "k3"]), 3);
    assert_eq!(p.int(&["UNLINK", "k4", "k5", "k6", "k6"]), 3);
    assert_eq!(p.int(&["EXISTS", "k1", "k2", "k3", "k4", "k5", "k6", "k7"]), 1);
    assert_eq!(p.cmd_str(&["MSET", "a"]), "-ERR wrong number of arguments for 'mset' command\r\n");
    assert_eq!(p.cmd_str(&["MGET"]), "-ERR wrong number of arguments for 'mget' command\r\n");

    // Pipelined requests of every kind come back in request order.
    let mut batch = Vec::new();
    for i in 0..50 {
        batch.extend_from_slice(&common::encode(&[b"SET", format!("p{i}").as_bytes(), format!("{i}").as_bytes()]));
        batch.extend_from_slice(&common::encode(&[b"MGET", format!("p{i}").as_bytes(), b"k10", b"nokey"]));
        batch.extend_from_slice(&common::encode(&[b"PING"]));
    }
    p.send(&batch);
    for i in 0..50 {
        assert_eq!(p.read_reply(), b"+OK\r\n");
        let v = i.to_string();
        let mut want = format!("*3\r\n${}\r\n{v}\r\n", v.len()).into_bytes();
        want.extend_from_slice(&bulk("val-k10"));
        want.extend_from_slice(b"$-1\r\n");
        assert_eq!(p.read_reply(), want);
        assert_eq!(p.read_reply(), b"+PONG\r\n");
    }
}

#[test]
fn a_pipelining_client_reads_its_own_writes_over_several_connections() {
    let (a, b, c) = three();
    let proxy = Proxy::start(&[&a, &b, &c], "  server_connections: 3\n", &["--threads", "1"]);
    let mut clients: Vec<RawClient> = (0..4).map(|_| proxy.client()).collect();
    for (n, cl) in clients.iter_mut().enumerate() {
        let mut batch = Vec::new();
        for i in 0..200 {
            let key = format!("rw{n}");
            batch.extend_from_slice(&common::encode(&[b"SET", key.as_bytes(), i.to_string().as_bytes()]));
            batch.extend_from_slice(&common::encode(&[b"GET", key.as_bytes()]));
        }
        cl.send(&batch);
    }
    for cl in clients.iter_mut() {
        for i in 0..200 {
            assert_eq!(cl.read_reply(), b"+OK\r\n");
            assert_eq!(cl.read_reply(), bulk(&i.to_string()));
        }
    }
}

#[test]
fn the_replies_to_one_write_of_requests_come_back_together() {
    let (a, b, c) = three();
    let proxy = Proxy::start(&[&a, &b, &c], "", &["--threads", "1"]);
    let ring = router(&[&a, &b, &c], "");
    let key_on =
        |s: usize| (0..1000).map(|i| format!("key:{i}")).find(|k| ring.route(k.as_bytes()) == Some(s)).unwrap();
    let (fast, slow) = (key_on(0), key_on(1));
    let mut p = proxy.client();
    assert_eq!(p.cmd(&["SET", &fast, "f"]), b"+OK\r\n");
    assert_eq!(p.cmd(&["SET", &slow, "s"]), b"+OK\r\n");

    // The first reply is ready at once, the second waits for a paused server: nothing leaves
    // until both are in, then both leave.
    b.signal("-STOP");
    let mut batch = common::encode(&[b"GET", fast.as_bytes()]);
    batch.extend_from_slice(&common::encode(&[b"GET", slow.as_bytes()]));
    p.send(&batch);
    p.stream().set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut byte = [0u8; 1];
    let early = std::io::Read::read(&mut p.stream(), &mut byte);
    assert!(early.is_err(), "a reply left before its batch was answered: {early:?}");
    p.stream().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    b.signal("-CONT");
    assert_eq!(p.read_reply(), bulk("f"));
    assert_eq!(p.read_reply(), bulk("s"));

    // A request sent on its own is answered on its own.
    assert_eq!(p.cmd(&["GET", &fast]), bulk("f"));

    // A write of more requests than a client may have unanswered: the reader stops part way,
    // and the replies to what it took leave, so that it can go on.
    let mut batch = Vec::new();
    for i in 0..3000 {
        let key = if i % 2 == 0 { &fast } else { &slow };
        batch.extend_from_slice(&common::encode(&[b"GET", key.as_bytes()]));
    }
    p.send(&batch);
    for i in 0..3000 {
        assert_eq!(p.read_reply(), bulk(if i % 2 == 0 { "f" } else { "s" }), "request {i}");
    }
}

#[test]
fn dead_backend_errors_then_ejection_then_return() {
    let (a, mut b, c) = three();
    let extra = "  auto_eject_hosts: true\n  server_failure_limit: 2\n  server_retry_timeout: 1500\n  timeout: 500\n";
    let proxy = Proxy::start(&[&a, &b, &c], extra, &["--threads", "2"]);
    let mut ring = router(&[&a, &b, &c], extra);
    let key = (0..1000).map(|i| format!("key:{i}")).find(|k| ring.route(k.as_bytes()) == Some(1)).unwrap();
    let mut p = proxy.client();
    assert_eq!(p.cmd(&["SET", &key, "before"]), b"+OK\r\n");

    b.stop();
    // Let the proxy see the EOF of its idle connection: that is the first failure.
    std::thread::sleep(Duration::from_millis(300));
    let mut replies = Vec::new();
    for _ in 0..6 {
        let r = p.cmd_str(&["SET", &key, "during"]);
        let ok = r == "+OK\r\n";
        replies.push(r);
        if ok {
            break;
        }
    }
    assert_eq!(replies[0], "-ERR Connection refused\r\n", "{replies:?}");
    assert_eq!(replies.last().unwrap(), "+OK\r\n", "never ejected: {replies:?}");
    assert!(replies.len() <= 3, "ejected too late: {replies:?}");

    // The key went where the ring rebuilt without server2 sends it.
    ring.rebuild(&[true, false, true]);
    let stand_in = ring.route(key.as_bytes()).unwrap();
    assert_ne!(stand_in, 1);
    assert_eq!([&a, &b, &c][stand_in].client().cmd(&["GET", &key]), bulk("during"));
    assert_eq!(p.cmd(&["GET", &key]), bulk("during"));
    let stats = proxy.stats();
    assert!(stats.contains("\"server_ejects\":1"), "{stats}");
    let metrics = proxy.metrics();
    assert!(metrics.starts_with("HTTP/1.0 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains("roost_proxy_server_ejected{pool=\"alpha\",server=\"server2\"} 1\n"), "{metrics}");
    assert!(metrics.contains("roost_proxy_server_ejects_total{pool=\"alpha\"} 1\n"), "{metrics}");

    // Back after server_retry_timeout: the key maps to server2 again (which lost its data).
    b.restart();
    std::thread::sleep(Duration::from_millis(1700));
    assert_eq!(p.cmd(&["GET", &key]), b"$-1\r\n");
    assert_eq!(p.cmd(&["SET", &key, "after"]), b"+OK\r\n");
    assert_eq!(b.client().cmd(&["GET", &key]), bulk("after"));
}

#[test]
fn paused_backend_times_out_and_every_backend_down_refuses() {
    let (a, b, mut c) = three();
    let extra = "  timeout: 300\n";
    let proxy = Proxy::start(&[&a, &b, &c], extra, &[]);
    let ring = router(&[&a, &b, &c], extra);
    let key_on =
        |s: usize| (0..1000).map(|i| format!("key:{i}")).find(|k| ring.route(k.as_bytes()) == Some(s)).unwrap();
    let mut p = proxy.client();
    b.signal("-STOP");
    let started = Instant::now();
    assert_eq!(p.cmd_str(&["GET", &key_on(1)]), "-ERR Connection timed out\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
    // Other backends are unaffected.
    assert_eq!(p.cmd(&["SET", &key_on(0), "x"]), b"+OK\r\n");
    b.signal("-CONT");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(p.cmd(&["GET", &key_on(1)]), b"$-1\r\n");

    // Without auto-eject, a dead backend keeps answering "refused"; PING is answered locally.
    c.stop();
    for _ in 0..3 {
        assert_eq!(p.cmd_str(&["GET", &key_on(2)]), "-ERR Connection refused\r\n");
    }
    assert_eq!(p.cmd_str(&["MGET", &key_on(0), &key_on(2)]), "-ERR Connection refused\r\n");
    assert_eq!(p.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn redis_auth_is_checked_locally_and_sent_before_select() {
    let backend = Backend::start(&["--requirepass", "s3cret"]);
    let extra = "  redis_auth: s3cret\n  redis_db: 2\n";
    let proxy = Proxy::start(&[&backend], extra, &[]);
    let mut p = proxy.client();
    assert_eq!(p.cmd_str(&["PING"]), "-NOAUTH Authentication required\r\n");
    assert_eq!(p.cmd_str(&["GET", "k"]), "-NOAUTH Authentication required\r\n");
    assert_eq!(p.cmd_str(&["AUTH", "wrong"]), "-ERR invalid password\r\n");
    assert_eq!(p.cmd_str(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(p.cmd(&["SET", "k", "in-db-2"]), b"+OK\r\n");
    let mut direct = backend.client();
    assert_eq!(direct.cmd_str(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(direct.cmd(&["GET", "k"]), b"$-1\r\n", "data must not land in db 0");
    assert_eq!(direct.cmd_str(&["SELECT", "2"]), "+OK\r\n");
    assert_eq!(direct.cmd(&["GET", "k"]), bulk("in-db-2"));

    let open = Proxy::start(&[&backend], "  redis_auth: s3cret\n", &[]);
    let mut q = open.client();
    assert_eq!(q.cmd_str(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(q.cmd(&["GET", "k"]), b"$-1\r\n");
}

#[test]
fn unsupported_commands_get_an_error_or_a_close_on_request() {
    let (a, b, c) = three();
    let proxy = Proxy::start(&[&a, &b, &c], "", &[]);
    let mut p = proxy.client();
    assert_eq!(p.cmd_str(&["INFO"]), "-ERR command 'info' is not supported by the proxy\r\n");
    assert_eq!(p.cmd_str(&["AUTH", "x"]), "-ERR Client sent AUTH, but no password is set\r\n");
    assert_eq!(p.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(p.cmd(&["QUIT"]), b"+OK\r\n");
    assert!(p.is_closed());

    let strict = Proxy::start(&[&a, &b, &c], "", &["--close-on-unsupported"]);
    let mut s = strict.client();
    assert_eq!(s.cmd(&["GET", "k"]), bulk("v"));
    s.send(&common::encode(&[b"KEYS", b"*"]));
    assert!(s.is_closed());
}

#[test]
fn test_flag_reports_config_errors() {
    let dir = temp_dir("proxy");
    let bad = dir.0.join("bad.yml");
    std::fs::write(&bad, "alpha:\n  listen: 127.0.0.1:1\n  hash: nope\n  servers:\n   - 127.0.0.1:2:1\n").unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_roost")).args(["proxy", "-t", "-c", bad.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("conf: directive \"hash\" is not a valid hash"), "{err}");
    assert!(err.contains("syntax is invalid"), "{err}");

    let good = dir.0.join("good.yml");
    std::fs::write(&good, "alpha:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:2:1\n").unwrap();
    let out =
        Command::new(env!("CARGO_BIN_EXE_roost")).args(["proxy", "-t", "-c", good.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("syntax is ok"));
}

#[test]
fn garbage_from_clients_and_backends_never_takes_the_proxy_down() {
    use std::io::{Read, Write};
    let real = Backend::start(&[]);
    let proxy = Proxy::start(&[&real], "", &[]);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..20 {
        let mut junk = Vec::new();
        for _ in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let pick = b"*$\r\n0123456789-GETSETMGET k";
            junk.push(if seed.is_multiple_of(3) { seed as u8 } else { pick[(seed % pick.len() as u64) as usize] });
        }
        if round % 5 == 0 {
            junk.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$99999999999999\r\n");
        }
        let mut s = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let _ = s.write_all(&junk);
        let mut sink = [0u8; 4096];
        let _ = s.read(&mut sink);
    }
    assert_eq!(proxy.client().cmd(&["SET", "still", "alive"]), b"+OK\r\n");

    // A "backend" that answers every request with bytes that are not RESP.
    let fake = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let fake_port = fake.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in fake.incoming().take(4) {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 1024];
            if conn.read(&mut buf).unwrap_or(0) > 0 {
                let _ = conn.write_all(b"?not resp\r\n");
            }
        }
    });
    let fake_backend = Backend { child: None, port: fake_port, extra: Vec::new() };
    let proxy = Proxy::start(&[&fake_backend], "", &[]);
    let mut p = proxy.client();
    assert_eq!(p.cmd_str(&["GET", "k"]), "-ERR Invalid argument\r\n");
    assert_eq!(p.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn unix_socket_listener_and_backend() {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("proxy");
    let backend_sock = dir.0.join("redis.sock");
    let backend = Backend::start(&["--unixsocket", backend_sock.to_str().unwrap()]);
    let listen = dir.0.join("proxy.sock");
    let yml = format!(
        "alpha:\n  listen: {} 0600\n  redis: true\n  servers:\n   - {}:1 only\n",
        listen.display(),
        backend_sock.display()
    );
    let path = dir.0.join("unix.yml");
    std::fs::write(&path, yml).unwrap();
    let stats_port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_roost"))
        .args(["proxy", "-c", path.to_str().unwrap(), "-s", &stats_port.to_string(), "-a", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _proxy = ChildGuard(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = None;
    while Instant::now() < deadline && conn.is_none() {
        conn = std::os::unix::net::UnixStream::connect(&listen).ok();
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut conn = conn.expect("proxy listens on its unix socket");
    let mode = std::fs::metadata(&listen).unwrap().permissions().mode() & 0o777;
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(&common::encode(&[b"SET", b"u", b"1"])).unwrap();
    conn.write_all(&common::encode(&[b"GET", b"u"])).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 12 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(mode, 0o600);
    assert_eq!(got, b"+OK\r\n$1\r\n1\r\n");
    assert_eq!(backend.client().cmd(&["GET", "u"]), bulk("1"));
}

#[test]
fn client_connections_is_honoured() {
    let real = Backend::start(&[]);
    let proxy = Proxy::start(&[&real], "  client_connections: 2\n", &[]);
    // The start-up probe's connection may still be counted for a moment.
    std::thread::sleep(Duration::from_millis(100));
    let mut first = proxy.client();
    let mut second = proxy.client();
    assert_eq!(first.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(second.cmd(&["PING"]), b"+PONG\r\n");
    let mut third = proxy.client();
    assert_eq!(third.read_reply(), b"-ERR max number of clients reached\r\n");
    assert!(third.is_closed());
    drop(first);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(proxy.client().cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn pid_file_and_log_file() {
    let real = Backend::start(&[]);
    let dir = temp_dir("proxy");
    let pid_path = dir.0.join("proxy.pid");
    let log_path = dir.0.join("proxy.log");
    let proxy =
        Proxy::start(&[&real], "", &["-p", pid_path.to_str().unwrap(), "-o", log_path.to_str().unwrap(), "-v", "6"]);
    let pid = std::fs::read_to_string(&pid_path).unwrap();
    assert_eq!(pid.trim(), proxy.child.id().to_string());
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("pool 'alpha' listening on"), "{log}");
    assert!(Command::new("kill").args(["-TERM", pid.trim()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pid_path.exists(), "pid file removed on exit");
}

#[test]
fn hottest_keys_over_the_last_interval() {
    use std::io::{Read, Write};
    let (a, b, c) = three();
    let proxy = Proxy::start(&[&a, &b, &c], "", &["-i", "300"]);
    let mut p = proxy.client();
    let mut batch = Vec::new();
    for i in 0..500 {
        batch.extend_from_slice(&common::encode(&[b"GET", b"celebrity"]));
        batch.extend_from_slice(&common::encode(&[b"GET", format!("fan:{i}").as_bytes()]));
    }
    // Traffic keeps flowing while the counts are published once per interval.
    let mut body = String::new();
    for _ in 0..30 {
        p.send(&batch);
        for _ in 0..1000 {
            p.read_reply();
        }
        let mut s = std::net::TcpStream::connect(("127.0.0.1", proxy.stats_port)).unwrap();
        s.write_all(b"GET /hotkeys HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        if body != "{\"alpha\": []}\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(body.starts_with("{\"alpha\": [{\"key\":\"celebrity\", \"requests\":"), "{body}");
}

/// A pool config over explicitly named backends.
fn named_config(name: &str, listen_port: u16, backends: &[(&Backend, &str)], extra: &str) -> String {
    let mut yml =
        format!("{name}:\n  listen: 127.0.0.1:{listen_port}\n  hash: fnv1a_64\n  redis: true\n{extra}  servers:\n");
    for (b, n) in backends {
        yml.push_str(&format!("   - 127.0.0.1:{}:1 {n}\n", b.port));
    }
    yml
}

fn router_of(yml: &str) -> Router {
    let pool = Config::load_str(yml, "t").unwrap().pools.remove(0);
    let ring = pool.servers.iter().map(|s| RingServer { name: s.name.as_bytes().to_vec(), weight: s.weight }).collect();
    Router::new(pool.hash, pool.hash_tag, pool.distribution, ring)
}

/// A direct connection to a backend, named so that `proxy_connections` can tell it apart.
fn direct(backend: &Backend) -> RawClient {
    let mut c = backend.client();
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "test"]), b"+OK\r\n");
    c
}

/// The ids of a backend's client connections that are the proxy's: unnamed, and having run a
/// command (a bare connect-and-close probe never does).
fn proxy_connections(own: &mut RawClient) -> Vec<String> {
    let list = String::from_utf8(own.cmd(&["CLIENT", "LIST"])).unwrap();
    list.lines()
        .filter(|l| !l.contains("cmd=NULL") && !l.contains(" name=test "))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")).map(str::to_string))
        .collect()
}

/// Sets every key through `client` and checks each landed on the backend `ring` names.
fn keys_land_where_the_ring_says(
    client: &mut RawClient,
    keys: &[String],
    tag: &str,
    ring: &Router,
    backends: &[&Backend],
) {
    let mut directs: Vec<RawClient> = backends.iter().map(|b| direct(b)).collect();
    for k in keys {
        let v = format!("{tag}-{k}");
        assert_eq!(client.cmd(&["SET", k, &v]), b"+OK\r\n", "SET {k}");
        let owner = ring.route(k.as_bytes()).unwrap();
        assert_eq!(directs[owner].cmd(&["GET", k]), bulk(&v), "{k} is not on server index {owner}");
    }
}

fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[test]
fn sighup_reloads_servers_and_pools_keeping_unchanged_connections() {
    let (a, b, c) = three();
    let dir = temp_dir("proxy");
    let log = dir.0.join("proxy.log");
    let proxy = Proxy::start(&[&a, &b], "", &["--threads", "1", "-o", log.to_str().unwrap(), "-v", "6"]);
    let keys: Vec<String> = (0..300).map(|i| format!("user:{}", i * 7919)).collect();
    let two = named_config("alpha", proxy.port, &[(&a, "server1"), (&b, "server2")], "");
    let mut before = proxy.client();
    keys_land_where_the_ring_says(&mut before, &keys, "v1", &router_of(&two), &[&a, &b]);
    let (mut own_a, mut own_b) = (direct(&a), direct(&b));
    let conns_a = proxy_connections(&mut own_a);
    let conns_b = proxy_connections(&mut own_b);
    assert_eq!((conns_a.len(), conns_b.len()), (1, 1), "{conns_a:?} {conns_b:?}");

    // server3 joins; a second pool appears on a new port.
    let beta_port = free_port();
    let three = named_config("alpha", proxy.port, &[(&a, "server1"), (&b, "server2"), (&c, "server3")], "");
    let beta = named_config("beta", beta_port, &[(&c, "only")], "");
    proxy.reload(&format!("{three}{beta}"), &log, "configuration reloaded", 1);
    let ring3 = router_of(&three);
    assert!(keys.iter().any(|k| ring3.route(k.as_bytes()) == Some(2)), "some keys must move to server3");
    keys_land_where_the_ring_says(&mut before, &keys, "v2", &ring3, &[&a, &b, &c]);
    // Unchanged servers kept their backend connection.
    assert_eq!(proxy_connections(&mut own_a), conns_a);
    assert_eq!(proxy_connections(&mut own_b), conns_b);
    let mut on_beta = RawClient::connect(beta_port);
    assert_eq!(on_beta.cmd(&["SET", "beta-key", "1"]), b"+OK\r\n");
    assert_eq!(c.client().cmd(&["GET", "beta-key"]), bulk("1"));

    // server2 leaves: its connection closes once the worker routes with the new list.
    let one_three = named_config("alpha", proxy.port, &[(&a, "server1"), (&c, "server3")], "");
    proxy.reload(&format!("{one_three}{beta}"), &log, "configuration reloaded", 2);
    let ring13 = router_of(&one_three);
    keys_land_where_the_ring_says(&mut before, &keys, "v3", &ring13, &[&a, &c]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !proxy_connections(&mut own_b).is_empty() {
        assert!(Instant::now() < deadline, "the removed server's connection stays open");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(proxy_connections(&mut own_a), conns_a);

    // An invalid file changes nothing.
    let broken = format!("{one_three}  hash: nope\n");
    proxy.reload(&broken, &log, "failed, keeping the running configuration", 1);
    keys_land_where_the_ring_says(&mut before, &keys, "v4", &ring13, &[&a, &c]);
    assert_eq!(on_beta.cmd(&["GET", "beta-key"]), bulk("1"));

    // beta is removed: its port stops accepting, its connected client is served until it leaves.
    proxy.reload(&one_three, &log, "configuration reloaded", 3);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", beta_port)).is_ok() {
        assert!(Instant::now() < deadline, "the removed pool's port still accepts");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(on_beta.cmd(&["GET", "beta-key"]), bulk("1"));
    assert_eq!(before.cmd(&["PING"]), b"+PONG\r\n");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("pool 'alpha': servers kept: server1, server2; added: server3; removed: none"), "{text}");
    assert!(text.contains("pool 'alpha': servers kept: server1, server3; added: none; removed: server2"), "{text}");
    assert!(text.contains("pools added: none; removed: beta; kept: alpha"), "{text}");
}

#[test]
fn health_check_readmits_a_restarted_backend_long_before_the_retry_time() {
    let (a, mut b, c) = three();
    let extra =
        "  auto_eject_hosts: true\n  server_failure_limit: 2\n  server_retry_timeout: 60000\n  timeout: 500\n  \
                 health_check_interval: 100\n";
    let proxy = Proxy::start(&[&a, &b, &c], extra, &["--threads", "2"]);
    let ring = router(&[&a, &b, &c], extra);
    let key = (0..1000).map(|i| format!("key:{i}")).find(|k| ring.route(k.as_bytes()) == Some(1)).unwrap();
    let mut p = proxy.client();
    assert_eq!(p.cmd(&["SET", &key, "before"]), b"+OK\r\n");

    b.stop();
    let mut replies = Vec::new();
    for _ in 0..6 {
        let r = p.cmd_str(&["SET", &key, "during"]);
        let ok = r == "+OK\r\n";
        replies.push(r);
        if ok {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(replies.last().unwrap(), "+OK\r\n", "never ejected: {replies:?}");
    let series = "roost_proxy_server_ejected{pool=\"alpha\",server=\"server2\"}";
    assert_eq!(metric(&proxy.metrics(), series), 1);

    b.restart();
    let restarted = Instant::now();
    loop {
        assert_eq!(p.cmd(&["SET", &key, "after"]), b"+OK\r\n");
        if b.client().cmd(&["GET", &key]) == bulk("after") {
            break;
        }
        assert!(restarted.elapsed() < Duration::from_secs(10), "not re-admitted by the health check");
        std::thread::sleep(Duration::from_millis(20));
    }
    let m = proxy.metrics();
    assert_eq!(metric(&m, series), 0);
    assert!(metric(&m, "roost_proxy_server_health_checks_total{pool=\"alpha\",server=\"server2\"}") >= 1, "{m}");
    assert_eq!(metric(&m, "roost_proxy_server_health_checks_total{pool=\"alpha\",server=\"server1\"}"), 0);
    assert_eq!(metric(&m, "roost_proxy_server_ejects_total{pool=\"alpha\"}"), 1);
    // Every key maps as the full ring says again.
    for i in 0..50 {
        let k = format!("key:{i}");
        assert_eq!(p.cmd(&["SET", &k, "x"]), b"+OK\r\n");
        assert_eq!([&a, &b, &c][ring.route(k.as_bytes()).unwrap()].client().cmd(&["GET", &k]), bulk("x"));
    }
}

#[test]
fn replies_for_a_client_that_left_mid_pipeline_never_reach_another() {
    let (a, b, c) = three();
    // One worker: both clients share every backend connection.
    let proxy = Proxy::start(&[&a, &b, &c], "", &["--threads", "1"]);
    let mut setup = proxy.client();
    let big = "x".repeat(4096);
    for k in ["left0", "left1", "left2", "stays"] {
        assert_eq!(setup.cmd_str(&["SET", k, if k == "stays" { "mine" } else { &big }]), "+OK\r\n");
    }
    for round in 0..5 {
        let mut leaving = proxy.client();
        let mut batch = Vec::new();
        for i in 0..3000 {
            batch.extend_from_slice(&common::encode(&[b"GET", format!("left{}", i % 3).as_bytes()]));
        }
        leaving.send(&batch);
        drop(leaving);
        let mut stays = proxy.client();
        let mut batch = Vec::new();
        for _ in 0..300 {
            batch.extend_from_slice(&common::encode(&[b"GET", b"stays"]));
            batch.extend_from_slice(&common::encode(&[b"MGET", b"stays", b"left0", b"nokey"]));
        }
        stays.send(&batch);
        let mut want_mget = b"*3\r\n".to_vec();
        want_mget.extend_from_slice(&bulk("mine"));
        want_mget.extend_from_slice(&bulk(&big));
        want_mget.extend_from_slice(b"$-1\r\n");
        for i in 0..300 {
            assert_eq!(stays.read_reply(), bulk("mine"), "round {round}, request {i}");
            assert_eq!(stays.read_reply(), want_mget, "round {round}, request {i}");
        }
    }
}

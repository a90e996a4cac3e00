//! The wire protocol with raw bytes: pipelining, inline requests, RESP3, exact protocol errors.

mod common;
use common::*;

#[test]
fn pipelined_commands_all_answer_in_order() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.read_reply(), b"$1\r\nv\r\n");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
}

#[test]
fn inline_commands_with_quotes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.send(b"SET \"a key\" 'it''s'\r\n");
    assert_eq!(c.read_reply(), b"-ERR Protocol error: unbalanced quotes in request\r\n");
    assert!(c.is_closed());
    let mut c = s.raw();
    c.send(b"SET \"a key\" \"x\\x41\\n\"\r\nGET \"a key\"\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.read_reply(), b"$3\r\nxA\n\r\n");
}

#[test]
fn unbalanced_inline_quotes_close_the_connection() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.send(b"SET \"k v\r\n");
    assert_eq!(c.read_reply(), b"-ERR Protocol error: unbalanced quotes in request\r\n");
    assert!(c.is_closed());
}

#[test]
fn protocol_errors_have_redis_texts_and_close() {
    let s = TestServer::start(&[]);
    for (input, reply) in [
        (&b"*abc\r\n"[..], &b"-ERR Protocol error: invalid multibulk length\r\n"[..]),
        (b"*1\r\nx\r\n", b"-ERR Protocol error: expected '$', got 'x'\r\n"),
        (b"*1\r\n$4294967296\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    ] {
        let mut c = s.raw();
        c.send(input);
        assert_eq!(c.read_reply(), reply, "input {:?}", String::from_utf8_lossy(input));
        assert!(c.is_closed());
    }
}

#[test]
fn half_a_command_does_not_block_other_clients() {
    let s = TestServer::start(&["--threads", "1"]);
    let mut slow = s.raw();
    slow.send(b"*2\r\n$3\r\nGET\r\n$10\r\nabc");
    let mut other = s.raw();
    assert_eq!(other.cmd_str(&["PING"]), "+PONG\r\n");
    slow.send(b"defghij\r\n");
    assert_eq!(slow.read_reply(), b"$-1\r\n");
}

#[test]
fn a_huge_announced_bulk_is_not_preallocated() {
    let s = TestServer::start(&["--threads", "1"]);
    let mut c = s.raw();
    // 500 MB announced, a few bytes sent: the server must keep serving others.
    c.send(b"*2\r\n$4\r\nECHO\r\n$500000000\r\nabc");
    let mut other = s.raw();
    assert_eq!(other.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn proto_max_bulk_len_is_enforced() {
    let s = TestServer::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.raw();
    c.send(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n");
    assert_eq!(c.read_reply(), b"-ERR Protocol error: invalid bulk length\r\n");
    assert!(c.is_closed());
}

#[test]
fn resp3_hello_switches_reply_types() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let hello = c.cmd_str(&["HELLO", "3"]);
    assert!(
        hello
            .starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"),
        "{hello}"
    );
    assert_eq!(c.cmd_str(&["GET", "missing"]), "_\r\n");
    assert_eq!(c.cmd_str(&["HELLO", "4"]), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(c.cmd_str(&["HELLO", "x"]), "-ERR Protocol version is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["HELLO", "3", "FOO"]), "-ERR Syntax error in HELLO option 'FOO'\r\n");
    let hello2 = c.cmd_str(&["HELLO", "2", "SETNAME", "me"]);
    assert!(hello2.starts_with("*14\r\n"), "{hello2}");
    assert_eq!(c.cmd_str(&["GET", "missing"]), "$-1\r\n");
}

#[test]
fn unknown_commands_and_arity() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd_str(&["NOSUCH", "a", "b"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(c.cmd_str(&["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(c.cmd_str(&["PING", "a", "b"]), "-ERR wrong number of arguments for 'ping' command\r\n");
    assert_eq!(c.cmd_str(&["ECHO", "hi"]), "$2\r\nhi\r\n");
}

#[test]
fn requirepass_gates_commands() {
    let s = TestServer::start(&["--requirepass", "secret"]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd_str(&["AUTH", "wrong"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(c.cmd_str(&["AUTH", "secret"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$-1\r\n");
    let mut d = s.raw();
    assert!(d.cmd_str(&["HELLO", "3"]).starts_with("-NOAUTH HELLO must be called"));
    assert!(d.cmd_str(&["HELLO", "3", "AUTH", "default", "secret"]).starts_with("%7\r\n"));
    let mut e = s.raw();
    // Before authenticating, big requests are refused outright.
    e.send(b"*20\r\n");
    assert_eq!(e.read_reply(), b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(e.is_closed());
}

#[test]
fn auth_without_password_configured() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd_str(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(c.cmd_str(&["AUTH", "default", "x"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
}

#[test]
fn quit_replies_then_closes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["QUIT"]), "+OK\r\n");
    assert!(c.is_closed());
}

#[test]
fn maxclients_rejects_with_redis_error() {
    let s = TestServer::start(&["--maxclients", "2"]);
    let mut a = s.raw();
    // The harness's own probe connection may still be closing: wait until only `a` is left.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !a.cmd_str(&["INFO", "clients"]).contains("connected_clients:1\r\n") {
        assert!(std::time::Instant::now() < deadline, "probe connection never went away");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut b = s.raw();
    assert_eq!(a.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
    let mut c = s.raw();
    assert_eq!(c.read_reply(), b"-ERR max number of clients reached\r\n");
}

#[test]
fn idle_timeout_closes_clients() {
    let s = TestServer::start(&["--timeout", "1"]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(c.is_closed());
}

#[test]
fn select_and_swapdb() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SELECT", "16"]), "-ERR DB index is out of range\r\n");
    assert_eq!(c.cmd_str(&["SELECT", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", "0"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SWAPDB", "0", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\n0\r\n");
    assert_eq!(c.cmd_str(&["SWAPDB", "a", "1"]), "-ERR invalid first DB index\r\n");
    assert_eq!(c.cmd_str(&["SWAPDB", "1", "b"]), "-ERR invalid second DB index\r\n");
    assert_eq!(c.cmd_str(&["SWAPDB", "1", "99"]), "-ERR DB index is out of range\r\n");
    assert_eq!(c.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn works_with_a_real_client_library() {
    let s = TestServer::start(&[]);
    let mut con = s.redis();
    let _: () = redis::cmd("SET").arg("greeting").arg("hello").query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("greeting").query(&mut con).unwrap();
    assert_eq!(v, "hello");
    let n: i64 = redis::cmd("INCRBY").arg("n").arg(41).query(&mut con).unwrap();
    assert_eq!(n, 41);
    let vals: Vec<Option<String>> = redis::cmd("MGET").arg("greeting").arg("nope").query(&mut con).unwrap();
    assert_eq!(vals, vec![Some("hello".to_string()), None]);
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let s = TestServer::start(&["--client-query-buffer-limit", "1mb"]);
    let mut c = s.raw();
    c.send(b"*2\r\n$4\r\nECHO\r\n$3000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    // The server may close mid-way; later sends then fail, which is the point.
    for _ in 0..40 {
        if std::io::Write::write_all(&mut std::net::TcpStream::try_clone(c.stream()).unwrap(), &chunk).is_err() {
            break;
        }
    }
    assert!(c.is_closed());
    let mut other = s.raw();
    assert_eq!(other.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn garbage_gets_an_error_not_a_crash() {
    let s = TestServer::start(&[]);
    for garbage in [&b"\x00\x01\x02\xff\r\n"[..], b"*1\r\n$1\r\nab\r\n", b"$5\r\nhello\r\n", b"*\r\n"] {
        let mut c = s.raw();
        c.send(garbage);
        let _ = c.read_reply();
    }
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn unimplemented_directives_are_named_in_one_startup_warning() {
    use std::io::{BufRead, BufReader};
    let port = free_port().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_roost"))
        .args(["--port", &port, "--bind", "127.0.0.1", "--aof-disable-auto-gc", "yes", "--rdb-del-sync-files", "yes"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref().take(20) {
        let line = line.unwrap();
        let ready = line.contains("Ready to accept connections");
        seen.push(line);
        if ready {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert!(text.contains("persistence settings are not implemented yet"), "{text}");
    assert!(text.contains("aof-disable-auto-gc") && text.contains("rdb-del-sync-files"), "{text}");
}

//! Client-side caching (CLIENT TRACKING): replies, errors and invalidation messages compared
//! byte for byte with a real redis-server, with the clients spread over two worker threads.

mod common;
use common::*;

use std::time::Duration;

/// One server's connections for a comparison, with their client ids.
struct Side {
    clients: Vec<Option<RawClient>>,
    ids: Vec<String>,
}

impl Side {
    fn open(server: &TestServer, n: usize) -> Side {
        let mut clients = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..n {
            let mut c = server.raw();
            let id = c.cmd_str(&["CLIENT", "ID"]);
            ids.push(id.trim_start_matches(':').trim_end().to_string());
            clients.push(Some(c));
        }
        Side { clients, ids }
    }

    fn client(&mut self, who: usize) -> &mut RawClient {
        self.clients[who].as_mut().expect("client already closed")
    }

    /// `$N` stands for the id of client N on this server.
    fn substitute(&self, cmd: &[&str]) -> Vec<String> {
        cmd.iter()
            .map(|a| match a.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => self.ids[n].clone(),
                None => a.to_string(),
            })
            .collect()
    }

    /// Client ids in integer replies are written as `:<id N>` so both servers compare.
    fn normalize(&self, reply: &[u8]) -> String {
        let mut text = String::from_utf8_lossy(reply).into_owned();
        for (n, id) in self.ids.iter().enumerate() {
            text = text.replace(&format!(":{id}\r\n"), &format!(":<id {n}>\r\n"));
        }
        text
    }

    /// The next message or reply waiting for `who`, or nothing within a short wait.
    fn pending(&mut self, who: usize) -> Vec<u8> {
        let c = self.client(who);
        c.stream().set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let got = c.read_reply();
        c.stream().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        got
    }

    fn step(&mut self, who: usize, cmd: &[&str]) -> String {
        match cmd[0] {
            // A message the client must receive (it waits for it).
            "READ" => {
                let got = self.client(who).read_reply();
                self.normalize(&got)
            }
            // Nothing may be waiting for the client.
            "NONE" => String::from_utf8_lossy(&self.pending(who)).into_owned(),
            "CLOSE" => {
                self.clients[who] = None;
                String::new()
            }
            _ => {
                let args = self.substitute(cmd);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let reply = self.client(who).cmd(&args);
                // Only these replies carry client ids; elsewhere an integer is just a number.
                if cmd.len() == 2 && cmd[0] == "CLIENT" && matches!(cmd[1], "GETREDIR" | "TRACKINGINFO") {
                    self.normalize(&reply)
                } else {
                    String::from_utf8_lossy(&reply).into_owned()
                }
            }
        }
    }
}

/// Runs `steps` (client index, command) on Roost (two workers) and on redis-server and compares
/// every reply and message. Besides commands: `READ` (the next message), `NONE` (nothing is
/// waiting), `CLOSE` (the client disconnects), `SLEEP ms`; `$N` is client N's id.
fn same_as_redis(clients: usize, steps: &[(usize, &[&str])]) -> (TestServer, TestServer) {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    let mut ours = Side::open(&roost, clients);
    let mut theirs = Side::open(&redis, clients);
    for (i, (who, cmd)) in steps.iter().enumerate() {
        if cmd[0] == "SLEEP" {
            std::thread::sleep(Duration::from_millis(cmd[1].parse().unwrap()));
            continue;
        }
        let a = ours.step(*who, cmd);
        let b = theirs.step(*who, cmd);
        if cmd[0] == "CLOSE" {
            // Both servers notice the disconnection before the next step.
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        if cmd.len() == 2 && cmd[0] == "CLIENT" && cmd[1] == "ID" {
            continue;
        }
        if cmd[0] == "HELLO" {
            // Its reply carries the client id, which differs between the servers.
            assert_eq!(a.get(..2), b.get(..2), "step {i}: {a} {b}");
            continue;
        }
        assert_eq!(a, b, "step {i}: client {who} {cmd:?}");
    }
    (roost, redis)
}

const INVALIDATE_X: &str = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nx\r\n";

#[test]
fn tracking_errors_match_redis() {
    same_as_redis(
        2,
        &[
            (0, &["CLIENT", "TRACKING"]),
            (0, &["CLIENT", "TRACKING", "maybe"]),
            (0, &["CLIENT", "TRACKING", "maybe", "bcast"]),
            (0, &["CLIENT", "TRACKING", "on", "foo"]),
            (0, &["CLIENT", "TRACKING", "on", "prefix"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "abc"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "999999"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "-1"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "0"]),
            (0, &["CLIENT", "TRACKING", "maybe", "redirect", "999999"]),
            (0, &["CLIENT", "TRACKING", "on", "foo", "redirect", "999999"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "$1", "redirect", "$1"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "$1", "redirect", "abc"]),
            (0, &["CLIENT", "TRACKING", "on", "prefix", "a"]),
            (0, &["CLIENT", "TRACKING", "on", "optin", "optout"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "optin"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "optout", "optin"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "ab", "prefix", "a"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "ab"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "a"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", ""]),
            (0, &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a\0b", "PREFIX", "a"]),
            (0, &["CLIENT", "TRACKING", "off", "optin", "optout"]),
            (0, &["CLIENT", "TRACKING", "off", "foo"]),
            (0, &["CLIENT", "TRACKINGINFO", "x"]),
            (0, &["CLIENT", "GETREDIR", "x"]),
            (0, &["CLIENT", "CACHING"]),
            (0, &["CLIENT", "CACHING", "yes", "no"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["CLIENT", "CACHING", "maybe"]),
            // tracking on, default mode
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["CLIENT", "CACHING", "no"]),
            (0, &["CLIENT", "CACHING", "maybe"]),
            (0, &["CLIENT", "TRACKING", "on", "prefix", "a"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "optin"]),
            (0, &["CLIENT", "TRACKING", "on", "optout", "bcast"]),
            (0, &["CLIENT", "TRACKING", "on", "optin"]),
            (0, &["CLIENT", "TRACKING", "on", "optout"]),
            (0, &["CLIENT", "CACHING", "no"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            // broadcasting
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "b", "prefix", "a"]),
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["CLIENT", "TRACKING", "on", "optin", "optout"]),
            (0, &["CLIENT", "TRACKING", "on", "prefix", "a", "prefix", "a"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "bc"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "x", "prefix", "ab"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "c", "prefix", "c"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "c"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "c"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
        ],
    );
}

#[test]
fn trackinginfo_and_getredir_match_redis() {
    same_as_redis(
        2,
        &[
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "$1", "optin"]),
            (0, &["CLIENT", "GETREDIR"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            // The CACHING flag outlives a change of options, as in Redis.
            (0, &["CLIENT", "TRACKING", "on", "optin", "noloop"]),
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
            (0, &["GET", "k"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKING", "on", "optout"]),
            (0, &["CLIENT", "CACHING", "no"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "a\0b", "prefix", "a\0c", "noloop"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["RESET"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "GETREDIR"]),
        ],
    );
}

#[test]
fn default_mode_invalidates_readers_on_another_worker_like_redis() {
    same_as_redis(
        3,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["SET", "x", "1"]),
            (0, &["GET", "x"]),
            (1, &["SET", "x", "2"]),
            (0, &["READ"]),
            // the entry is gone once invalidated: a second write says nothing
            (1, &["SET", "x", "3"]),
            (0, &["NONE"]),
            // a client's own write invalidates its own read, after the reply
            (0, &["GET", "x"]),
            (0, &["SET", "x", "4"]),
            (0, &["READ"]),
            // every key a command reads, missing ones included; one message per key written
            (0, &["MGET", "x", "y", "z"]),
            (1, &["MSET", "x", "1", "y", "2", "z", "3"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (0, &["READ"]),
            // a read that fails still counts as a read
            (1, &["LPUSH", "l", "1"]),
            (0, &["GET", "l"]),
            (1, &["LPUSH", "l", "2"]),
            (0, &["READ"]),
            // keys are names: a write in another database invalidates too
            (0, &["GET", "k"]),
            (1, &["SELECT", "1"]),
            (1, &["SET", "k", "1"]),
            (0, &["READ"]),
            (1, &["SELECT", "0"]),
            // writes inside a transaction, by another client and by the reader itself
            (0, &["MGET", "x", "y"]),
            (1, &["MULTI"]),
            (1, &["SET", "x", "5"]),
            (1, &["EXEC"]),
            (0, &["READ"]),
            (0, &["MULTI"]),
            (0, &["SET", "y", "1"]),
            (0, &["GET", "x"]),
            (0, &["EXEC"]),
            (0, &["READ"]),
            (1, &["SET", "x", "6"]),
            (0, &["READ"]),
            // reads inside a transaction are remembered
            (0, &["MULTI"]),
            (0, &["GET", "t1"]),
            (0, &["EXEC"]),
            (1, &["SET", "t1", "1"]),
            (0, &["READ"]),
            // nothing while the client speaks RESP2 without a redirection, then again in RESP3
            (0, &["GET", "x"]),
            (0, &["HELLO", "2"]),
            (1, &["SET", "x", "7"]),
            (0, &["NONE"]),
            (0, &["HELLO", "3"]),
            (0, &["GET", "x"]),
            (1, &["SET", "x", "8"]),
            (0, &["READ"]),
            // FLUSHDB and FLUSHALL tell every tracking client to drop everything
            (0, &["GET", "x"]),
            (1, &["FLUSHDB"]),
            (0, &["READ"]),
            (1, &["SET", "x", "1"]),
            (0, &["NONE"]),
            (0, &["FLUSHALL"]),
            (0, &["READ"]),
            // a client that is not tracking hears nothing
            (2, &["HELLO", "3"]),
            (2, &["GET", "x"]),
            (1, &["SET", "x", "9"]),
            (2, &["NONE"]),
            // turning tracking off stops the messages
            (0, &["GET", "x"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (1, &["SET", "x", "10"]),
            (0, &["NONE"]),
            (1, &["FLUSHALL"]),
            (0, &["NONE"]),
        ],
    );
}

#[test]
fn invalidation_waiting_for_a_client_precedes_its_next_reply() {
    let roost = TestServer::start(&["--threads", "2"]);
    let mut reader = roost.raw();
    let mut writer = roost.raw();
    reader.cmd(&["HELLO", "3"]);
    assert_eq!(reader.cmd_str(&["CLIENT", "TRACKING", "on"]), "+OK\r\n");
    reader.cmd(&["GET", "x"]);
    assert_eq!(writer.cmd_str(&["SET", "x", "1"]), "+OK\r\n");
    // Redis puts the message in the reader's output at the write, so before any later reply.
    assert_eq!(reader.read_reply(), INVALIDATE_X.as_bytes());
    assert_eq!(reader.cmd_str(&["PING"]), "+PONG\r\n");
    // A pipelined write of its own key: the message follows that command's reply at once.
    reader.cmd(&["GET", "x"]);
    reader.send(&encode(&[b"SET", b"x", b"2"]));
    reader.send(&encode(&[b"PING"]));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(reader.read_reply());
    }
    assert_eq!(String::from_utf8_lossy(&got), format!("+OK\r\n{INVALIDATE_X}+PONG\r\n"));
}

#[test]
fn redirect_to_a_resp2_subscriber_matches_redis() {
    same_as_redis(
        3,
        &[
            (0, &["CLIENT", "TRACKING", "on", "redirect", "$1"]),
            (0, &["GET", "x"]),
            // the redirection target is not subscribed: RESP2 can't carry the message
            (2, &["SET", "x", "1"]),
            (1, &["NONE"]),
            (0, &["NONE"]),
            (1, &["SUBSCRIBE", "__redis__:invalidate"]),
            (0, &["GET", "x"]),
            (2, &["SET", "x", "2"]),
            (1, &["READ"]),
            (0, &["NONE"]),
            (0, &["MGET", "x", "y"]),
            (2, &["MSET", "x", "3", "y", "3"]),
            (1, &["READ"]),
            (1, &["READ"]),
            // the null of a flush is in the tracking client's protocol
            (2, &["FLUSHALL"]),
            (1, &["READ"]),
            (0, &["HELLO", "3"]),
            (2, &["FLUSHALL"]),
            (1, &["READ"]),
            (0, &["HELLO", "2"]),
            (1, &["UNSUBSCRIBE"]),
            (0, &["GET", "x"]),
            (2, &["SET", "x", "4"]),
            (1, &["NONE"]),
            // a RESP3 target gets pushes, subscribed or not
            (1, &["HELLO", "3"]),
            (0, &["GET", "x"]),
            (2, &["SET", "x", "5"]),
            (1, &["READ"]),
            (2, &["FLUSHALL"]),
            (1, &["READ"]),
            (0, &["CLIENT", "GETREDIR"]),
            // the target goes away: a RESP3 tracking client is told on each message
            (0, &["HELLO", "3"]),
            (0, &["GET", "x"]),
            (0, &["GET", "y"]),
            (1, &["CLOSE"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (2, &["MSET", "x", "1", "y", "2"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (2, &["FLUSHALL"]),
            (0, &["READ"]),
            (0, &["CLIENT", "GETREDIR"]),
            (0, &["CLIENT", "TRACKING", "on"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["CLIENT", "TRACKING", "on", "redirect", "$1"]),
        ],
    );
}

#[test]
fn bcast_prefixes_match_redis() {
    same_as_redis(
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "b"]),
            // no read needed; one message per prefix, its keys in byte order
            (1, &["MSET", "a2", "1", "b1", "2", "c", "3", "a1", "4"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (1, &["SET", "a9", "1"]),
            (0, &["READ"]),
            (1, &["SET", "a9", "2"]),
            (0, &["READ"]),
            (1, &["SET", "c1", "2"]),
            (0, &["NONE"]),
            (1, &["RENAME", "a9", "b9"]),
            (0, &["READ"]),
            (0, &["READ"]),
            // its own writes too, after the reply
            (0, &["SET", "b5", "1"]),
            (0, &["READ"]),
            // reads are not remembered in BCAST mode
            (0, &["GET", "zz"]),
            (1, &["SET", "zz", "1"]),
            (0, &["NONE"]),
            // more prefixes, then NOLOOP
            (0, &["CLIENT", "TRACKING", "on", "bcast", "prefix", "c", "noloop"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["SET", "c1", "1"]),
            (0, &["NONE"]),
            (1, &["SET", "c1", "2"]),
            (0, &["READ"]),
            (0, &["FLUSHALL"]),
            (0, &["READ"]),
            (0, &["CLIENT", "TRACKING", "off"]),
            (1, &["SET", "a1", "1"]),
            (0, &["NONE"]),
            // without PREFIX: every key
            (0, &["CLIENT", "TRACKING", "on", "bcast"]),
            (1, &["MSET", "q", "1", "p", "2"]),
            (0, &["READ"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
        ],
    );
}

#[test]
fn optin_optout_and_caching_match_redis() {
    same_as_redis(
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on", "optin"]),
            (0, &["GET", "o1"]),
            (1, &["SET", "o1", "1"]),
            (0, &["NONE"]),
            // CACHING YES covers the next command only
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["GET", "o1"]),
            (0, &["GET", "o2"]),
            (1, &["MSET", "o1", "2", "o2", "3"]),
            (0, &["READ"]),
            (0, &["NONE"]),
            // other CLIENT subcommands in between leave it in place
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["CLIENT", "ID"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "o3"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (1, &["SET", "o3", "1"]),
            (0, &["READ"]),
            // ... and covers a whole transaction that follows it
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["MULTI"]),
            (0, &["GET", "m1"]),
            (0, &["GET", "m2"]),
            (0, &["EXEC"]),
            (0, &["GET", "m3"]),
            (1, &["MSET", "m1", "1", "m2", "1", "m3", "1"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (0, &["NONE"]),
            // given inside a transaction, it covers the rest of that transaction
            (0, &["MULTI"]),
            (0, &["GET", "n1"]),
            (0, &["CLIENT", "CACHING", "yes"]),
            (0, &["GET", "n2"]),
            (0, &["EXEC"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "n3"]),
            (1, &["MSET", "n1", "1", "n2", "1", "n3", "1"]),
            (0, &["READ"]),
            (0, &["NONE"]),
            // OPTOUT: everything but the command after CACHING NO
            (0, &["CLIENT", "TRACKING", "off"]),
            (0, &["CLIENT", "TRACKING", "on", "optout"]),
            (0, &["GET", "q1"]),
            (0, &["CLIENT", "CACHING", "no"]),
            (0, &["CLIENT", "TRACKINGINFO"]),
            (0, &["GET", "q2"]),
            (0, &["GET", "q3"]),
            (1, &["MSET", "q1", "1", "q2", "1", "q3", "1"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (0, &["NONE"]),
        ],
    );
}

#[test]
fn noloop_matches_redis() {
    same_as_redis(
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on", "noloop"]),
            (0, &["GET", "k"]),
            // its own write: no message, and the key is no longer remembered
            (0, &["SET", "k", "1"]),
            (0, &["NONE"]),
            (1, &["SET", "k", "2"]),
            (0, &["NONE"]),
            (0, &["GET", "k"]),
            (1, &["SET", "k", "3"]),
            (0, &["READ"]),
            // a flush is announced to its own caller all the same
            (0, &["FLUSHALL"]),
            (0, &["READ"]),
        ],
    );
}

#[test]
fn expired_keys_invalidate_like_redis() {
    same_as_redis(
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["CLIENT", "TRACKING", "on"]),
            (1, &["SET", "e", "1", "PX", "100"]),
            (0, &["GET", "e"]),
            // active expiry deletes it: the message arrives unasked
            (0, &["READ"]),
            (1, &["SET", "e", "2"]),
            (0, &["NONE"]),
        ],
    );
    // Expired on the reader's own access: the reader is told, and stays registered for the
    // value it got.
    let roost = TestServer::start(&["--threads", "2", "--hz", "1"]);
    let mut reader = roost.raw();
    let mut writer = roost.raw();
    reader.cmd(&["HELLO", "3"]);
    reader.cmd(&["CLIENT", "TRACKING", "on"]);
    writer.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    writer.cmd(&["SET", "f", "1", "PX", "50"]);
    assert_eq!(reader.cmd_str(&["GET", "f"]), "$1\r\n1\r\n");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(reader.cmd_str(&["GET", "f"]), "_\r\n");
    assert_eq!(reader.read_reply(), b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nf\r\n");
    writer.cmd(&["SET", "f", "2"]);
    assert_eq!(reader.read_reply(), b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nf\r\n");
}

/// The keys named in the invalidation pushes of `text`.
fn invalidated_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for msg in text.split(">2\r\n$10\r\ninvalidate\r\n*1\r\n").skip(1) {
        if let Some(key) = msg.split("\r\n").nth(1) {
            keys.push(key.to_string());
        }
    }
    keys
}

fn info_field(c: &mut RawClient, section: &str, name: &str) -> String {
    let info = c.cmd_str(&["INFO", section]);
    let line = info.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name} in {info}"));
    line[name.len() + 1..].to_string()
}

#[test]
fn table_over_max_keys_evicts_with_invalidation_like_redis() {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    for server in [&roost, &redis] {
        let mut c = server.raw();
        c.cmd(&["HELLO", "3"]);
        assert_eq!(c.cmd_str(&["CONFIG", "SET", "tracking-table-max-keys", "2"]), "+OK\r\n");
        c.cmd(&["CLIENT", "TRACKING", "on"]);
        c.cmd(&["MGET", "k1", "k2", "k3", "k4", "k5"]);
        // Keys picked at random leave the table, each with its invalidation.
        let mut pushes = String::new();
        for _ in 0..3 {
            pushes.push_str(&String::from_utf8_lossy(&c.read_reply()));
        }
        let evicted = invalidated_keys(&pushes);
        assert_eq!(evicted.len(), 3, "{pushes}");
        assert!(evicted.iter().all(|k| ["k1", "k2", "k3", "k4", "k5"].contains(&k.as_str())), "{pushes}");
        assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
        assert_eq!(info_field(&mut c, "stats", "tracking_total_keys"), "2");
        assert_eq!(info_field(&mut c, "stats", "tracking_total_items"), "2");
        // 0 lifts the limit.
        c.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "0"]);
        c.cmd(&["MGET", "a", "b", "c", "d"]);
        assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
        assert_eq!(info_field(&mut c, "stats", "tracking_total_keys"), "6");
    }
}

#[test]
fn info_and_client_list_show_tracking_like_redis() {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    let mut seen = Vec::new();
    for server in [&roost, &redis] {
        let mut a = server.raw();
        let mut b = server.raw();
        let mut c = server.raw();
        let mut d = server.raw();
        let c_id = c.cmd_str(&["CLIENT", "ID"]).trim().trim_start_matches(':').to_string();
        a.cmd(&["CLIENT", "TRACKING", "on", "bcast", "prefix", "x", "prefix", "y"]);
        b.cmd(&["CLIENT", "TRACKING", "on", "bcast", "prefix", "x"]);
        c.cmd(&["CLIENT", "TRACKING", "on"]);
        c.cmd(&["MGET", "q", "w", "e"]);
        d.cmd(&["HELLO", "3"]);
        d.cmd(&["CLIENT", "TRACKING", "on", "redirect", &c_id]);
        d.cmd(&["MGET", "q", "w"]);
        let mut state = Vec::new();
        for (section, field) in [
            ("clients", "tracking_clients"),
            ("stats", "tracking_total_keys"),
            ("stats", "tracking_total_items"),
            ("stats", "tracking_total_prefixes"),
        ] {
            state.push(format!("{field}={}", info_field(&mut a, section, field)));
        }
        // CLIENT LIST: flags and redir= of each client, in connection order.
        let describe = |list: &str| -> Vec<String> {
            list.lines()
                .filter(|l| l.contains("id="))
                .map(|l| {
                    let field =
                        |name: &str| l.split(' ').find_map(|f| f.strip_prefix(name)).unwrap_or_default().to_string();
                    let redir = field("redir=").replace(&c_id, "<c>");
                    format!("flags={} redir={}", field("flags="), redir)
                })
                .collect()
        };
        // Sorted: the servers number connections accepted together in different orders.
        let mut lines = describe(&a.cmd_str(&["CLIENT", "LIST"]));
        lines.sort();
        state.extend(lines);
        // The redirection target leaves: the redirecting client is flagged at its next message.
        drop(c);
        std::thread::sleep(Duration::from_millis(200));
        a.cmd(&["SET", "q", "1"]);
        d.read_reply();
        let mut lines = describe(&a.cmd_str(&["CLIENT", "LIST"]));
        lines.sort();
        state.extend(lines);
        a.cmd(&["RESET"]);
        drop(b);
        std::thread::sleep(Duration::from_millis(200));
        for (section, field) in [("clients", "tracking_clients"), ("stats", "tracking_total_prefixes")] {
            state.push(format!("{field}={}", info_field(&mut a, section, field)));
        }
        seen.push(state);
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0].contains(&"flags=tR redir=<c>".to_string()), "{:?}", seen[0]);
}

/// Applies one frame from a tracking connection to its cache; returns whether it was a push.
fn apply_push(frame: &[u8], cache: &mut std::collections::HashMap<String, Vec<u8>>) -> bool {
    let text = String::from_utf8_lossy(frame);
    if !text.starts_with('>') {
        return false;
    }
    for key in invalidated_keys(&text) {
        cache.remove(&key);
    }
    true
}

#[test]
fn a_cache_kept_from_replies_and_invalidations_never_goes_stale_under_concurrent_writes() {
    let roost = TestServer::start(&["--threads", "2"]);
    let keys: Vec<String> = (0..16).map(|i| format!("key:{i}")).collect();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let port = roost.port;
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                for n in 0..4000 {
                    let key = &keys[(n * 7 + w) % keys.len()];
                    assert_eq!(c.cmd_str(&["SET", key, &format!("{w}-{n}")]), "+OK\r\n");
                }
            })
        })
        .collect();
    let mut reader = roost.raw();
    reader.cmd(&["HELLO", "3"]);
    assert_eq!(reader.cmd_str(&["CLIENT", "TRACKING", "on"]), "+OK\r\n");
    let mut cache = std::collections::HashMap::new();
    let mut reads = 0;
    // Reads while the writers run; a lost invalidation leaves a stale entry the end finds.
    while writers.iter().any(|w| !w.is_finished()) {
        for key in &keys {
            if cache.contains_key(key) {
                continue;
            }
            reader.send(&encode(&[b"GET", key.as_bytes()]));
            let reply = loop {
                let frame = reader.read_reply();
                if !apply_push(&frame, &mut cache) {
                    break frame;
                }
            };
            cache.insert(key.clone(), reply);
            reads += 1;
        }
    }
    for w in writers {
        w.join().unwrap();
    }
    // Whatever is still waiting for the reader arrives before this reply.
    reader.send(&encode(&[b"PING"]));
    loop {
        let frame = reader.read_reply();
        if !apply_push(&frame, &mut cache) {
            assert_eq!(frame, b"+PONG\r\n");
            break;
        }
    }
    let mut check = roost.raw();
    check.cmd(&["HELLO", "3"]);
    for (key, cached) in &cache {
        assert_eq!(&check.cmd(&["GET", key]), cached, "{key} is stale in the cache");
    }
    assert!(reads >= keys.len(), "{reads} reads");
}

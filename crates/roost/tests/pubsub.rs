//! Pub/Sub: subscription confirmations, messages in RESP2 and RESP3, patterns, shard channels,
//! subscribed-mode rules, PUBSUB introspection and cleanup, compared with a real redis-server;
//! delivery across worker threads in publish order, and the pubsub output buffer limit.

mod common;
use common::*;

use std::time::{Duration, Instant};

/// One step of a comparison: a client sends a command and reads everything it answers, or
/// (`READ`) reads the next message pushed to it.
type Step<'a> = (usize, &'a [&'a str]);

/// Sends `cmd` and returns every frame it produced: a PING with a marker follows it, and all
/// that arrives before the marker's answer belongs to the command (a (un)subscribe answers
/// once per channel, a RESP3 client's own message precedes PUBLISH's reply). Inside MULTI only
/// the one reply is read, since the PING would be queued.
fn run_step(c: &mut RawClient, cmd: &[&str], in_multi: bool) -> String {
    let mut out = String::from_utf8_lossy(&c.cmd(cmd)).into_owned();
    if in_multi {
        return out;
    }
    c.send(&encode(&[b"PING", b"--sync--"]));
    loop {
        let frame = String::from_utf8_lossy(&c.read_reply()).into_owned();
        assert!(!frame.is_empty(), "no answer to the marker after {cmd:?}");
        if frame.contains("--sync--") {
            return out;
        }
        out.push_str(&frame);
    }
}

/// Runs `steps` on Roost (two worker threads) and on redis-server and compares every reply and
/// every message read.
fn same_as_redis(clients: usize, steps: &[Step]) {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    let mut ours: Vec<RawClient> = (0..clients).map(|_| roost.raw()).collect();
    let mut theirs: Vec<RawClient> = (0..clients).map(|_| redis.raw()).collect();
    let mut in_multi = vec![false; clients];
    for (i, (who, cmd)) in steps.iter().enumerate() {
        let (a, b) = if cmd[0] == "READ" {
            (
                String::from_utf8_lossy(&ours[*who].read_reply()).into_owned(),
                String::from_utf8_lossy(&theirs[*who].read_reply()).into_owned(),
            )
        } else {
            let name = cmd[0].to_ascii_uppercase();
            if name == "EXEC" || name == "DISCARD" {
                in_multi[*who] = false;
            }
            // A marker PING after MULTI would be queued too.
            let queued = in_multi[*who] || name == "MULTI";
            if name == "MULTI" {
                in_multi[*who] = true;
            }
            (run_step(&mut ours[*who], cmd, queued), run_step(&mut theirs[*who], cmd, queued))
        };
        assert!(!a.is_empty() && !b.is_empty(), "step {i}: nothing arrived for client {who}");
        if cmd[0] == "HELLO" {
            // Its reply carries the client id, which differs between the servers.
            assert!(a.starts_with("%7\r\n") && b.starts_with("%7\r\n"), "{a} {b}");
            continue;
        }
        assert_eq!(a, b, "step {i}: client {who} {cmd:?}");
    }
}

#[test]
fn resp2_subscriptions_messages_and_refusals_match_redis() {
    same_as_redis(
        2,
        &[
            // Nothing to leave yet: one confirmation with a null name and count 0.
            (0, &["UNSUBSCRIBE"]),
            (0, &["PUNSUBSCRIBE"]),
            (0, &["SUNSUBSCRIBE"]),
            (0, &["SUBSCRIBE", "c1", "c2", "c1"]),
            (0, &["SSUBSCRIBE", "s1", "s2"]),
            (0, &["PSUBSCRIBE", "p*", "c?"]),
            (0, &["PING"]),
            (0, &["PING", "hello"]),
            (0, &["PING", "a", "b"]),
            (0, &["GET", "x"]),
            (0, &["SET", "x", "1"]),
            (0, &["CLIENT", "ID"]),
            (0, &["PUBLISH", "c1", "no"]),
            (0, &["SUBSCRIBE"]),
            (1, &["PUBLISH", "c1", "hi"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (1, &["SPUBLISH", "s1", "shard"]),
            (0, &["READ"]),
            (1, &["PUBLISH", "pq", "pattern"]),
            (0, &["READ"]),
            (1, &["PUBLISH", "nobody", "x"]),
            (1, &["SPUBLISH", "c1", "x"]),
            (1, &["PUBLISH", "s1", "x"]),
            (0, &["UNSUBSCRIBE", "zz"]),
            (0, &["SUNSUBSCRIBE", "s1"]),
            (0, &["SUNSUBSCRIBE"]),
            (0, &["UNSUBSCRIBE", "c2", "c1"]),
            (0, &["PUNSUBSCRIBE", "c?"]),
            (0, &["PUNSUBSCRIBE"]),
            // Out of subscribed mode again.
            (0, &["PING"]),
            (0, &["GET", "x"]),
            (1, &["PUBLISH", "c1", "gone"]),
        ],
    );
}

#[test]
fn resp3_subscribers_get_pushes_and_may_run_any_command() {
    same_as_redis(
        2,
        &[
            (0, &["HELLO", "3"]),
            (0, &["UNSUBSCRIBE"]),
            (0, &["SUBSCRIBE", "c1"]),
            (0, &["PING"]),
            (0, &["PING", "x"]),
            (0, &["SET", "k", "v"]),
            (0, &["GET", "k"]),
            // The client's own message comes before PUBLISH's reply.
            (0, &["PUBLISH", "c1", "self"]),
            (0, &["PSUBSCRIBE", "c*"]),
            (0, &["PUBLISH", "c1", "both"]),
            (0, &["SSUBSCRIBE", "s"]),
            (0, &["SPUBLISH", "s", "mine"]),
            (1, &["PUBLISH", "c1", "other"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (1, &["SPUBLISH", "s", "other"]),
            (0, &["READ"]),
            (0, &["MULTI"]),
            (0, &["PUBLISH", "c1", "queued"]),
            (0, &["EXEC"]),
            (0, &["PUNSUBSCRIBE", "nothere"]),
            (0, &["UNSUBSCRIBE"]),
            (0, &["RESET"]),
            (1, &["PUBLISH", "c1", "after reset"]),
            (1, &["SPUBLISH", "s", "after reset"]),
        ],
    );
}

#[test]
fn subscribing_inside_multi_and_reset_match_redis() {
    same_as_redis(
        2,
        &[
            (0, &["MULTI"]),
            (0, &["SUBSCRIBE", "x"]),
            (0, &["PING"]),
            (0, &["EXEC"]),
            (0, &["GET", "a"]),
            (1, &["PUBLISH", "x", "m"]),
            (0, &["READ"]),
            (0, &["RESET"]),
            (0, &["GET", "a"]),
            (1, &["PUBLISH", "x", "m"]),
            (0, &["SUBSCRIBE"]),
            (0, &["PUBLISH"]),
            (0, &["SSUBSCRIBE"]),
            (0, &["PSUBSCRIBE"]),
        ],
    );
}

#[test]
fn pubsub_introspection_matches_redis() {
    same_as_redis(
        3,
        &[
            (2, &["PUBSUB", "CHANNELS"]),
            (2, &["PUBSUB", "NUMPAT"]),
            (2, &["PUBSUB", "NUMSUB"]),
            (2, &["PUBSUB", "SHARDCHANNELS"]),
            (0, &["SUBSCRIBE", "news.sport"]),
            (1, &["SUBSCRIBE", "news.sport"]),
            (0, &["PSUBSCRIBE", "news.*", "other.*"]),
            (1, &["PSUBSCRIBE", "news.*"]),
            (1, &["SSUBSCRIBE", "{shard}1"]),
            (2, &["PUBSUB", "CHANNELS"]),
            (2, &["PUBSUB", "CHANNELS", "news.*"]),
            (2, &["PUBSUB", "CHANNELS", "nomatch*"]),
            (2, &["PUBSUB", "NUMSUB", "news.sport", "news.*", "none"]),
            (2, &["PUBSUB", "NUMPAT"]),
            (2, &["PUBSUB", "SHARDCHANNELS"]),
            (2, &["PUBSUB", "SHARDCHANNELS", "{shard}*"]),
            (2, &["PUBSUB", "SHARDNUMSUB", "{shard}1", "news.sport"]),
            (2, &["PUBSUB", "SHARDNUMSUB"]),
            (2, &["PUBLISH", "news.sport", "goal"]),
            (2, &["PUBLISH", "news.weather", "rain"]),
            (2, &["SPUBLISH", "{shard}1", "s"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (0, &["READ"]),
            (1, &["READ"]),
            (1, &["READ"]),
            (1, &["READ"]),
            (1, &["READ"]),
            (2, &["PUBSUB", "HELP"]),
            (2, &["PUBSUB", "CHANNELS", "a", "b"]),
            (2, &["PUBSUB", "channels", "a", "b"]),
            (2, &["PUBSUB", "SHARDCHANNELS", "a", "b"]),
            (2, &["PUBSUB", "NUMPAT", "x"]),
            (2, &["PUBSUB", "HELP", "x"]),
            (2, &["PUBSUB", "nosuch"]),
            (2, &["PUBSUB"]),
            (0, &["PUNSUBSCRIBE"]),
            (1, &["RESET"]),
            (2, &["PUBSUB", "NUMPAT"]),
            (2, &["PUBSUB", "NUMSUB", "news.sport"]),
            (2, &["PUBSUB", "SHARDNUMSUB", "{shard}1"]),
            (2, &["HELLO", "3"]),
            (2, &["PUBSUB", "NUMSUB", "news.sport"]),
            (2, &["PUBSUB", "CHANNELS"]),
        ],
    );
}

#[test]
fn command_info_matches_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let (mut a, mut b) = (roost.raw(), redis.raw());
    for name in
        ["subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "publish", "spublish"]
    {
        assert_eq!(a.cmd_str(&["COMMAND", "INFO", name]), b.cmd_str(&["COMMAND", "INFO", name]), "{name}");
    }
    for sub in ["channels", "numsub", "numpat", "shardchannels", "shardnumsub", "help"] {
        let name = format!("pubsub|{sub}");
        assert_eq!(a.cmd_str(&["COMMAND", "INFO", &name]), b.cmd_str(&["COMMAND", "INFO", &name]), "{name}");
    }
}

/// A field of a CLIENT LIST / INFO line.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split([' ', '\n', '\r']).find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix(['=', ':'])))
}

#[test]
fn client_list_and_info_count_subscriptions() {
    let server = TestServer::start(&[]);
    let mut sub = server.raw();
    let mut other = server.raw();
    let id = sub.int(&["CLIENT", "ID"]);
    sub.cmd(&["SUBSCRIBE", "a", "b"]);
    sub.read_reply();
    sub.cmd(&["PSUBSCRIBE", "p*"]);
    sub.cmd(&["SSUBSCRIBE", "s"]);
    let list = other.cmd_str(&["CLIENT", "LIST", "ID", &id.to_string()]);
    assert_eq!(field(&list, "flags"), Some("P"), "{list}");
    assert_eq!(field(&list, "sub"), Some("2"), "{list}");
    assert_eq!(field(&list, "psub"), Some("1"), "{list}");
    assert_eq!(field(&list, "ssub"), Some("1"), "{list}");
    let pubsub = other.cmd_str(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(pubsub.matches("id=").count(), 1, "{pubsub}");
    assert_eq!(field(&pubsub, "id"), Some(id.to_string().as_str()), "{pubsub}");
    let normal = other.cmd_str(&["CLIENT", "LIST", "TYPE", "normal"]);
    assert_eq!(field(&normal, "sub"), Some("0"), "{normal}");
    let mine = other.cmd_str(&["CLIENT", "INFO"]);
    assert_eq!(field(&mine, "flags"), Some("N"), "{mine}");
    assert_eq!(field(&mine, "sub"), Some("0"), "{mine}");
    let info = other.cmd_str(&["INFO", "stats"]);
    assert_eq!(field(&info, "pubsub_channels"), Some("2"), "{info}");
    assert_eq!(field(&info, "pubsub_patterns"), Some("1"), "{info}");
    assert_eq!(field(&info, "pubsubshard_channels"), Some("1"), "{info}");
    // A subscribed client is never closed for idling.
    other.cmd(&["CONFIG", "SET", "timeout", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(sub.cmd_str(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

/// Polls `check` for up to five seconds.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn disconnecting_drops_every_subscription() {
    let server = TestServer::start(&["--threads", "2"]);
    let mut admin = server.raw();
    {
        let mut sub = server.raw();
        sub.cmd(&["SUBSCRIBE", "gone"]);
        sub.cmd(&["PSUBSCRIBE", "gone*"]);
        sub.cmd(&["SSUBSCRIBE", "sgone"]);
        assert_eq!(admin.cmd_str(&["PUBSUB", "NUMSUB", "gone"]), "*2\r\n$4\r\ngone\r\n:1\r\n");
    }
    assert!(eventually(|| admin.cmd_str(&["PUBSUB", "NUMSUB", "gone"]) == "*2\r\n$4\r\ngone\r\n:0\r\n"));
    assert_eq!(admin.cmd_str(&["PUBSUB", "NUMPAT"]), ":0\r\n");
    assert_eq!(admin.cmd_str(&["PUBSUB", "SHARDNUMSUB", "sgone"]), "*2\r\n$5\r\nsgone\r\n:0\r\n");
    assert_eq!(admin.cmd_str(&["PUBLISH", "gone", "x"]), ":0\r\n");
}

/// Splits a RESP2 `message` into (channel, payload).
fn message_parts(reply: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(&lines[..3], &["*3", "$7", "message"], "{text}");
    (lines[4].to_string(), lines[6].to_string())
}

#[test]
fn messages_cross_worker_threads_in_publish_order() {
    const PER_PUBLISHER: usize = 300;
    let server = TestServer::start(&["--threads", "2"]);
    // Connections are handed to workers in turn, so these land on both workers.
    let mut subscribers: Vec<RawClient> = (0..4).map(|_| server.raw()).collect();
    for s in &mut subscribers {
        assert_eq!(s.cmd_str(&["SUBSCRIBE", "feed"]), "*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n");
    }
    let publishers: Vec<_> = (0..2)
        .map(|p| {
            let port = server.port;
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                for i in 0..PER_PUBLISHER {
                    assert_eq!(c.cmd_str(&["PUBLISH", "feed", &format!("{p}:{i}")]), ":4\r\n");
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    for s in &mut subscribers {
        let mut next = [0usize; 2];
        for _ in 0..2 * PER_PUBLISHER {
            let (channel, payload) = message_parts(&s.read_reply());
            assert_eq!(channel, "feed");
            let (p, i) = payload.split_once(':').unwrap();
            let (p, i): (usize, usize) = (p.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[p], "publisher {p}'s messages out of order");
            next[p] += 1;
        }
        assert_eq!(next, [PER_PUBLISHER; 2]);
    }
}

#[test]
fn patterns_and_channels_deliver_to_subscribers_on_other_workers() {
    let server = TestServer::start(&["--threads", "2"]);
    let mut a = server.raw();
    let mut b = server.raw();
    let mut publisher = server.raw();
    a.cmd(&["PSUBSCRIBE", "user.*"]);
    b.cmd(&["SUBSCRIBE", "user.1"]);
    b.cmd(&["SSUBSCRIBE", "user.1"]);
    assert_eq!(publisher.cmd_str(&["PUBLISH", "user.1", "hello"]), ":2\r\n");
    assert_eq!(publisher.cmd_str(&["SPUBLISH", "user.1", "sharded"]), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&a.read_reply()),
        "*4\r\n$8\r\npmessage\r\n$6\r\nuser.*\r\n$6\r\nuser.1\r\n$5\r\nhello\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&b.read_reply()), "*3\r\n$7\r\nmessage\r\n$6\r\nuser.1\r\n$5\r\nhello\r\n");
    assert_eq!(String::from_utf8_lossy(&b.read_reply()), "*3\r\n$8\r\nsmessage\r\n$6\r\nuser.1\r\n$7\r\nsharded\r\n");
}

/// Publishes big messages to a subscriber that never reads, with a 1 MB hard limit for the
/// pubsub class; returns (receivers of the first publish, of the last, NUMSUB afterwards,
/// whether the subscriber's connection then ends).
fn overflow_subscriber(server: &TestServer) -> (String, String, String, bool) {
    let mut admin = server.raw();
    assert_eq!(admin.cmd_str(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"]), "+OK\r\n");
    let mut slow = server.raw();
    slow.cmd(&["SUBSCRIBE", "firehose"]);
    let payload = "x".repeat(100_000);
    let mut replies = Vec::new();
    // 30 MB: more than the kernel's socket buffers can take, so the rest waits in the server.
    for _ in 0..300 {
        replies.push(admin.cmd_str(&["PUBLISH", "firehose", &payload]));
    }
    let numsub = admin.cmd_str(&["PUBSUB", "NUMSUB", "firehose"]);
    // What reached the socket before the limit can still be read; then the connection ends.
    let mut ended = false;
    for _ in 0..10_000 {
        let frame = slow.read_reply();
        if frame.is_empty() {
            ended = true;
            break;
        }
    }
    (replies[0].clone(), replies[299].clone(), numsub, ended)
}

#[test]
fn output_buffer_hard_limit_disconnects_a_slow_subscriber_like_redis() {
    let roost = TestServer::start(&["--threads", "2"]);
    let redis = TestServer::start_redis();
    let ours = overflow_subscriber(&roost);
    let theirs = overflow_subscriber(&redis);
    assert_eq!(ours, theirs);
    assert_eq!(ours, (":1\r\n".into(), ":0\r\n".into(), "*2\r\n$8\r\nfirehose\r\n:0\r\n".into(), true));
}

#[test]
fn subscribers_within_the_limit_get_everything() {
    let server = TestServer::start(&["--threads", "2"]);
    let mut sub = server.raw();
    let mut publisher = server.raw();
    sub.cmd(&["SUBSCRIBE", "steady"]);
    let payload = "y".repeat(1000);
    for i in 0..500 {
        assert_eq!(publisher.cmd_str(&["PUBLISH", "steady", &format!("{i}{payload}")]), ":1\r\n");
    }
    for i in 0..500 {
        let (_, body) = message_parts(&sub.read_reply());
        assert!(body.starts_with(&i.to_string()), "message {i}");
    }
    assert_eq!(sub.cmd_str(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

//! Server commands: INFO, DBSIZE, FLUSHDB/FLUSHALL, TIME, SHUTDOWN.

mod common;
use common::*;

use std::time::Duration;

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim_end()
        .to_string()
}

#[test]
fn info_sections_and_fields() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "2", "EX", "100"]);
    c.cmd(&["GET", "a"]);
    c.cmd(&["GET", "zz"]);
    c.cmd(&["INCR", "b"]);
    c.cmd(&["SET", "s", "x"]);
    c.cmd(&["INCR", "s"]);
    c.cmd(&["GET"]);
    let info = c.cmd_str(&["INFO"]);
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Errorstats",
        "# Keyspace",
    ] {
        assert!(info.contains(section), "missing {section}");
    }
    assert!(!info.contains("# Commandstats"));
    assert_eq!(info_field(&info, "redis_version"), "7.0.15");
    assert_eq!(info_field(&info, "tcp_port"), s.port.to_string());
    assert_eq!(info_field(&info, "connected_clients"), "1");
    assert_eq!(info_field(&info, "keyspace_hits"), "1");
    assert_eq!(info_field(&info, "keyspace_misses"), "1");
    assert_eq!(info_field(&info, "db0"), "keys=3,expires=1,avg_ttl=0");
    assert_eq!(info_field(&info, "errorstat_ERR"), "count=2");
    let stats = c.cmd_str(&["INFO", "commandstats"]);
    assert!(stats.starts_with("$"), "RESP2 INFO is a bulk string");
    assert!(stats.contains("# Commandstats\r\n"));
    let set = info_field(&stats, "cmdstat_set");
    assert!(set.starts_with("calls=3,usec="), "{set}");
    assert!(set.ends_with(",rejected_calls=0,failed_calls=0"), "{set}");
    let incr = info_field(&stats, "cmdstat_incr");
    assert!(incr.ends_with(",rejected_calls=0,failed_calls=1"), "{incr}");
    let get = info_field(&stats, "cmdstat_get");
    assert!(get.ends_with(",rejected_calls=1,failed_calls=0"), "{get}");
    let lat = c.cmd_str(&["INFO", "latencystats"]);
    assert!(lat.contains("latency_percentiles_usec_set:p50="), "{lat}");
    let two = c.cmd_str(&["INFO", "server", "clients"]);
    assert!(two.contains("# Server") && two.contains("# Clients") && !two.contains("# Memory"));
    assert_eq!(c.cmd_str(&["INFO", "nosuchsection"]), "$0\r\n\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let after = c.cmd_str(&["INFO", "stats"]);
    assert_eq!(info_field(&after, "keyspace_hits"), "0");
    c.cmd(&["HELLO", "3"]);
    let verbatim = c.cmd(&["INFO", "server"]);
    assert!(verbatim.starts_with(b"="), "RESP3 INFO is verbatim text");
    assert!(String::from_utf8_lossy(&verbatim).contains("\r\ntxt:# Server\r\n"));
}

#[test]
fn dbsize_flushdb_flushall() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["MSET", "a", "1", "b", "2"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["SET", "c", "3"]);
    assert_eq!(c.int(&["DBSIZE"]), 1);
    assert_eq!(c.cmd_str(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.int(&["DBSIZE"]), 0);
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.int(&["DBSIZE"]), 2);
    assert_eq!(c.cmd_str(&["FLUSHALL", "BAD"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["FLUSHALL", "SYNC"]), "+OK\r\n");
    assert_eq!(c.int(&["DBSIZE"]), 0);
}

#[test]
fn time_is_now() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let reply = c.cmd_str(&["TIME"]);
    let parts: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(parts[0], "*2");
    let secs: u64 = parts[2].parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(secs.abs_diff(now) <= 2);
    let micros: u64 = parts[4].parse().unwrap();
    assert!(micros < 1_000_000);
}

#[test]
fn shutdown_exits_without_reply() {
    let mut s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["SHUTDOWN", "ABORT"]), "-ERR No shutdown in progress.\r\n");
    assert_eq!(c.cmd_str(&["SHUTDOWN", "SAVE", "NOSAVE"]), "-ERR syntax error\r\n");
    c.send(&encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(c.is_closed());
    assert!(s.exited_within(Duration::from_secs(5)));
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut s = TestServer::start(&[]);
    s.signal_term();
    assert!(s.exited_within(Duration::from_secs(5)));
}

#[test]
fn many_threads_many_clients_share_one_keyspace() {
    let s = TestServer::start(&["--threads", "4"]);
    let port = s.port;
    let handles: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = RawClient::connect(port);
                for i in 0..500 {
                    assert!(c.cmd_str(&["INCR", "shared"]).starts_with(':'));
                    c.cmd(&["SET", &format!("t{t}:{i}"), "v"]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["GET", "shared"]), "$4\r\n4000\r\n");
    assert_eq!(c.int(&["DBSIZE"]), 4001);
}

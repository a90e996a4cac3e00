//! Configuration through the real binary: redis.conf files, the command line, CONFIG.

mod common;
use common::*;

use std::process::Command;

/// The configuration of a production deployment, which must load as is.
const PRODUCTION: &str = include_str!("../../config/tests/fixtures/production.conf");

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("roost-test-{}-{}", name, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn production_config_file_starts_as_is() {
    let dir = temp_dir("prod");
    let path = dir.join("redis.conf");
    std::fs::write(&path, PRODUCTION).unwrap();
    // The file turns on the append-only file and save rules; they write under `dir`.
    let s = TestServer::start_with_config(&path, &["--dir", dir.to_str().unwrap()]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "GET", "maxmemory"]), "*2\r\n$9\r\nmaxmemory\r\n$12\r\n193273528320\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "GET", "save"]), "*2\r\n$4\r\nsave\r\n$21\r\n900 1 300 10 60 10000\r\n");
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "maxmemory-policy"]),
        "*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unknown_directive_fails_with_line_number() {
    let dir = temp_dir("bad");
    let path = dir.join("redis.conf");
    std::fs::write(&path, "port 6379\nno-such-directive yes\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_roost")).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"), "{err}");
    assert!(err.contains("at line 2"), "{err}");
    assert!(err.contains(">>> 'no-such-directive yes'"), "{err}");
    assert!(err.contains("Bad directive or wrong number of arguments"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn config_set_is_atomic_and_get_takes_globs() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "maxmemory", "10mb", "hz", "20"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "GET", "maxmemory"]), "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n");
    let r = c.cmd_str(&["CONFIG", "SET", "maxmemory", "20mb", "hz", "notanumber"]);
    assert!(r.starts_with("-ERR"), "{r}");
    assert_eq!(c.cmd_str(&["CONFIG", "GET", "maxmemory"]), "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "GET", "hz"]), "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n");
    let all = c.cmd_str(&["CONFIG", "GET", "*max-*-entries*"]);
    assert!(all.contains("hash-max-listpack-entries"), "{all}");
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "maxmemory"]),
        "-ERR wrong number of arguments for 'config|set' command\r\n"
    );
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "hz", "10", "maxmemory"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "FOO"]), "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
}

#[test]
fn config_set_requirepass_applies_to_new_clients() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
    let mut d = s.raw();
    assert_eq!(d.cmd_str(&["GET", "x"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(d.cmd_str(&["AUTH", "pw"]), "+OK\r\n");
}

#[test]
fn config_rewrite_updates_the_file() {
    let dir = temp_dir("rewrite");
    let path = dir.join("redis.conf");
    std::fs::write(&path, "# my settings\nhz 10\n").unwrap();
    let s = TestServer::start_with_config(&path, &[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "hz", "15"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my settings"), "{text}");
    assert!(text.contains("hz 15"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
    let s2 = TestServer::start(&[]);
    assert_eq!(s2.raw().cmd_str(&["CONFIG", "REWRITE"]), "-ERR The server is running without a config file\r\n");
}

#[test]
fn threads_directive_accepts_one() {
    let s = TestServer::start(&["--threads", "1"]);
    let mut c = s.raw();
    let info = c.cmd_str(&["INFO", "server"]);
    assert!(info.contains("roost_worker_threads:1\r\n"), "{info}");
}

#[test]
fn logfile_and_loglevel_are_honoured() {
    let dir = temp_dir("log");
    let log = dir.join("roost.log");
    let s = TestServer::start(&["--logfile", log.to_str().unwrap(), "--loglevel", "notice"]);
    s.raw().cmd(&["PING"]);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Ready to accept connections"), "{text}");
    drop(s);
    let quiet = dir.join("quiet.log");
    let s = TestServer::start(&["--logfile", quiet.to_str().unwrap(), "--loglevel", "warning"]);
    s.raw().cmd(&["PING"]);
    let text = std::fs::read_to_string(&quiet).unwrap();
    assert!(!text.contains("Ready to accept connections"), "{text}");
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

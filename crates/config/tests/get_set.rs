//! CONFIG GET and CONFIG SET, with replies as redis-server 7.0.15 gives
//! them.

mod common;

use common::*;
use roost_config::Config;

fn set(cfg: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
    cfg.set(&pairs)
}

fn get_pairs(cfg: &Config, patterns: &[&str]) -> Vec<(String, String)> {
    let pats: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    cfg.get(&pats, &glob)
}

#[test]
fn renderings() {
    let cfg = load(
        "maxmemory 180gb\nsave 900 1\nsave 300 10\nsave 60 10000\n\
         client-output-buffer-limit replica 256mb 64mb 60\nunixsocketperm 700\n\
         notify-keyspace-events KEA\nlatency-tracking-info-percentiles \"1.5 99.99999 100 0\"\n\
         maxmemory-clients 5%\noom-score-adj relative\nshutdown-on-sigint \"nosave now\"\n\
         shutdown-on-sigterm \"default now\"\nloglevel WARNING",
    );
    for (name, want) in [
        ("maxmemory", "193273528320"),
        ("save", "900 1 300 10 60 10000"),
        ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        ("unixsocketperm", "700"),
        ("notify-keyspace-events", "AKE"),
        ("latency-tracking-info-percentiles", "1.5 99.99999 100 0"),
        ("maxmemory-clients", "5%"),
        ("oom-score-adj", "yes"),
        ("shutdown-on-sigint", "nosave now"),
        ("shutdown-on-sigterm", "now"),
        ("loglevel", "warning"),
        ("bind", "127.0.0.1 -::1"),
        ("proc-title-template", "{title} {listen-addr} {server-mode}"),
        ("oom-score-adj-values", "0 200 800"),
        ("list-max-ziplist-size", "-2"),
        ("pidfile", ""),
        ("requirepass", ""),
        ("replicaof", ""),
    ] {
        assert_eq!(get(&cfg, name), want, "{name}");
    }
}

#[test]
fn get_patterns() {
    let cfg = Config::default();
    // Exact names echo the case they were typed in; duplicates collapse.
    assert_eq!(get_pairs(&cfg, &["MAXMEMORY", "maxmemory", "MaxMemory"]), [("MAXMEMORY".to_string(), "0".to_string())]);
    let names: Vec<String> = get_pairs(&cfg, &["maxmemory", "max*"]).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "maxmemory",
            "maxmemory-policy",
            "maxmemory-samples",
            "maxmemory-eviction-tenacity",
            "maxclients",
            "maxmemory-clients"
        ]
    );
    // Aliases are names of their own.
    let names: Vec<String> = get_pairs(&cfg, &["hash-max-*"]).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["hash-max-listpack-entries", "hash-max-ziplist-entries", "hash-max-listpack-value", "hash-max-ziplist-value"]
    );
    assert_eq!(get_pairs(&cfg, &["slaveof", "replicaof"]).len(), 2);
    // Patterns match case-insensitively.
    assert_eq!(get_pairs(&cfg, &["PORT*"]), [("port".into(), "6379".into())]);
    // Hidden directives need their exact name.
    assert!(get_pairs(&cfg, &["watchdog*"]).is_empty());
    assert_eq!(get_pairs(&cfg, &["watchdog-period"]), [("watchdog-period".into(), "0".into())]);
    assert!(get_pairs(&cfg, &["nosuchthing"]).is_empty());
    let all = get_pairs(&cfg, &["*"]);
    // 192 names in redis-server 7.0.15's CONFIG GET *, plus Roost's threads.
    assert_eq!(all.len(), 193);
    assert_eq!(cfg.get_one("SLAVEOF"), Some(String::new()));
    assert_eq!(cfg.get_one("no-such"), None);
}

#[test]
fn set_and_get_back() {
    let mut cfg = Config::default();
    assert_eq!(set(&mut cfg, &[("maxmemory", "1gb")]), Ok(vec!["maxmemory"]));
    assert_eq!(cfg.maxmemory(), 1 << 30);
    assert_eq!(set(&mut cfg, &[("maxmemory", "1gb")]), Ok(vec![]));
    assert_eq!(set(&mut cfg, &[("save", "900 1 300 10"), ("appendonly", "yes")]), Ok(vec!["save", "appendonly"]));
    assert_eq!(get(&cfg, "save"), "900 1 300 10");
    set(&mut cfg, &[("save", "")]).unwrap();
    assert_eq!(get(&cfg, "save"), "");
    set(&mut cfg, &[("client-output-buffer-limit", "Replica 1 2 3")]).unwrap();
    assert_eq!(get(&cfg, "client-output-buffer-limit"), "normal 0 0 0 slave 1 2 3 pubsub 33554432 8388608 60");
    set(&mut cfg, &[("client-output-buffer-limit", "normal 1 2 99999999999")]).unwrap();
    assert!(get(&cfg, "client-output-buffer-limit").starts_with("normal 1 2 1215752191 "));
    set(&mut cfg, &[("hz", "0")]).unwrap();
    assert_eq!(cfg.hz(), 1);
    set(&mut cfg, &[("hz", "1000")]).unwrap();
    assert_eq!(cfg.hz(), 500);
    set(&mut cfg, &[("maxmemory", "99999999999999999999999")]).unwrap();
    assert_eq!(get(&cfg, "maxmemory"), "18446744073709551615");
    set(&mut cfg, &[("maxmemory", "")]).unwrap();
    assert_eq!(cfg.maxmemory(), 0);
    set(&mut cfg, &[("repl-backlog-size", "1kb")]).unwrap();
    assert_eq!(get(&cfg, "repl-backlog-size"), "16384");
    set(&mut cfg, &[("requirepass", "s3cret")]).unwrap();
    assert_eq!(cfg.requirepass(), Some(b"s3cret".to_vec()));
    set(&mut cfg, &[("requirepass", "")]).unwrap();
    assert_eq!(cfg.requirepass(), None);
    set(&mut cfg, &[("slave-read-only", "no")]).unwrap();
    assert_eq!(get(&cfg, "replica-read-only"), "no");
    set(&mut cfg, &[("appendfsync", "ALWAYS")]).unwrap();
    assert_eq!(get(&cfg, "appendfsync"), "always");
    set(&mut cfg, &[("oom-score-adj-values", "-1 +2 3")]).unwrap();
    assert_eq!(get(&cfg, "oom-score-adj-values"), "-1 2 3");
    set(&mut cfg, &[("notify-keyspace-events", "Kx")]).unwrap();
    assert_eq!(get(&cfg, "notify-keyspace-events"), "xK");
    assert_eq!(cfg.notify_keyspace_events(), roost_config::notify::KEYSPACE | roost_config::notify::EXPIRED);
    set(&mut cfg, &[("maxmemory-clients", "18446744073709551615")]).unwrap();
    assert_eq!(get(&cfg, "maxmemory-clients"), "1%");
}

#[test]
fn set_error_texts() {
    let mut cfg = Config::default();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("maxmemory", "x")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
        ),
        (
            &[("Maxmemory", "X")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
        ),
        (&[("foo", "bar")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (
            &[("daemonize", "yes")],
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
        ),
        (
            &[("maxmemory", "1"), ("maxmemory", "2")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter",
        ),
        (
            &[("Maxmemory", "1"), ("MAXMEMORY", "2")],
            "ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter",
        ),
        (
            &[("port", "99999")],
            "ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive",
        ),
        (
            &[("appendfsync", "bla")],
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no",
        ),
        (
            &[("dir", "/tmp")],
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config",
        ),
        (
            &[("dbfilename", "x")],
            "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config",
        ),
        (
            &[("save", "900 1 300")],
            "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
        ),
        (
            &[("maxmemory", "1"), ("foo", "1")],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            &[("daemonize", "yes"), ("foo", "1")],
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
        ),
        (
            &[("foo", "1"), ("daemonize", "yes")],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            &[("slaveof", "no one")],
            "ERR CONFIG SET failed (possibly related to argument 'slaveof') - can't set immutable config",
        ),
        (
            &[("lua-time-limit", "x")],
            "ERR CONFIG SET failed (possibly related to argument 'lua-time-limit') - argument couldn't be parsed into an integer",
        ),
        (
            &[("timeout", "01")],
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
        ),
        (
            &[("activerehashing", "1")],
            "ERR CONFIG SET failed (possibly related to argument 'activerehashing') - argument must be 'yes' or 'no'",
        ),
        (
            &[("maxmemory-clients", "101%")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100",
        ),
        (
            &[("maxmemory-clients", "-5")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value",
        ),
        (
            &[("client-output-buffer-limit", "master 1 2 3")],
            "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.",
        ),
        (
            &[("client-output-buffer-limit", "normal 1 2 -1")],
            "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        ),
        (
            &[("oom-score-adj-values", "1 2")],
            "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments",
        ),
        (
            &[("oom-score-adj-values", "1 2 3000")],
            "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
        ),
        (
            &[("latency-tracking-info-percentiles", "abc")],
            "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters",
        ),
        (
            &[("latency-tracking-info-percentiles", "101")],
            "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
        ),
        (
            &[("proc-title-template", "{title}")],
            "ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is invalid or contains unknown variables",
        ),
        (
            &[("cluster-announce-hostname", "a_b")],
            "ERR CONFIG SET failed (possibly related to argument 'cluster-announce-hostname') - Hostnames may only contain alphanumeric characters, hyphens or dots",
        ),
        (
            &[("shutdown-on-sigint", "bla")],
            "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - argument(s) must be one of the following: default, save, nosave, now, force",
        ),
        (
            &[("bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17")],
            "ERR CONFIG SET failed (possibly related to argument 'bind') - Too many bind addresses specified.",
        ),
        (
            &[("threads", "4")],
            "ERR CONFIG SET failed (possibly related to argument 'threads') - can't set immutable config",
        ),
    ];
    for (pairs, want) in cases {
        assert_eq!(set(&mut cfg, pairs).unwrap_err(), *want, "{pairs:?}");
    }
    // A name and its alias are not duplicates for Redis: the last one wins.
    set(&mut cfg, &[("slave-read-only", "yes"), ("replica-read-only", "no")]).unwrap();
    assert_eq!(get(&cfg, "replica-read-only"), "no");
}

#[test]
fn set_is_all_or_nothing() {
    let mut cfg = Config::default();
    let before = get_pairs(&cfg, &["*"]);
    let err = set(&mut cfg, &[("maxmemory", "5"), ("save", "60 1"), ("port", "x")]).unwrap_err();
    assert_eq!(
        err,
        "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"
    );
    assert_eq!(cfg.maxmemory(), 0);
    assert_eq!(get(&cfg, "save"), "");
    assert_eq!(get_pairs(&cfg, &["*"]), before);
    // Rejected before anything is parsed.
    set(&mut cfg, &[("maxmemory", "5"), ("daemonize", "no")]).unwrap_err();
    assert_eq!(cfg.maxmemory(), 0);
}

#[test]
fn protected_configs() {
    let base = temp_dir("protected");
    std::fs::create_dir(base.join("data")).unwrap();
    let mut cfg = Config::from_text("enable-protected-configs local", &base).unwrap();
    let dir_pair: &[(&[u8], &[u8])] = &[(b"dir", b"data")];
    assert!(cfg.set(dir_pair).is_err(), "remote clients are refused");
    assert_eq!(cfg.set_for_client(dir_pair, true), Ok(vec!["dir"]));
    assert_eq!(cfg.dir(), std::fs::canonicalize(base.join("data")).unwrap());
    let mut cfg = Config::from_text("enable-protected-configs yes", &base).unwrap();
    assert_eq!(
        set(&mut cfg, &[("dir", "/nonexistent-roost")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    assert_eq!(
        set(&mut cfg, &[("dbfilename", "a/b")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename"
    );
    set(&mut cfg, &[("dbfilename", "x.rdb")]).unwrap();
    assert_eq!(get(&cfg, "dbfilename"), "x.rdb");
}

#[test]
fn unimplemented_reporting() {
    let mut cfg = Config::default();
    assert!(cfg.unimplemented_in_use().is_empty());
    set(&mut cfg, &[("timeout", "5"), ("maxmemory-policy", "allkeys-lru"), ("rdb-del-sync-files", "yes")]).unwrap();
    assert_eq!(cfg.unimplemented_in_use(), [("rdb-del-sync-files", true), ("maxmemory-policy", false)]);
    assert_eq!(Config::is_implemented("timeout"), Some(true));
    assert_eq!(Config::is_implemented("slave-read-only"), Some(false));
    assert_eq!(Config::is_implemented("nope"), None);
}

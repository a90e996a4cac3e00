//! Loading config files and command lines, checked against what
//! redis-server 7.0.15 does with the same input.

mod common;

use common::*;
use roost_config::{Config, Source, REDIS_VERSION};

const PRODUCTION: &str = include_str!("fixtures/production.conf");

#[test]
fn production_file_loads() {
    let dir = temp_dir("prod");
    let path = dir.join("redis.conf");
    std::fs::write(&path, PRODUCTION).unwrap();
    let cfg = Config::from_args(&args(&[path.to_str().unwrap()])).unwrap();
    assert_eq!(cfg.source(), Source::File(path.clone()));
    assert_eq!(cfg.config_file(), Some(path));
    assert_eq!(cfg.bind(), ["0.0.0.0"]);
    assert_eq!(cfg.port(), 6379);
    assert_eq!(cfg.tcp_backlog(), 511);
    assert_eq!(cfg.timeout_secs(), 0);
    assert_eq!(cfg.tcp_keepalive_secs(), 300);
    assert_eq!(cfg.maxmemory(), 193_273_528_320);
    assert_eq!(cfg.hz(), 10);
    assert_eq!(get(&cfg, "maxmemory"), "193273528320");
    assert_eq!(get(&cfg, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(get(&cfg, "save"), "900 1 300 10 60 10000");
    assert_eq!(get(&cfg, "appendonly"), "yes");
    assert_eq!(get(&cfg, "appendfilename"), "appendonly.aof");
    assert_eq!(get(&cfg, "auto-aof-rewrite-min-size"), "67108864");
    assert_eq!(
        get(&cfg, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    let unimplemented = cfg.unimplemented_in_use();
    // RDB saving and the append-only file are implemented, so save and appendonly are not reported.
    assert!(!unimplemented.iter().any(|(name, _)| *name == "save" || *name == "appendonly"));
    assert!(unimplemented.contains(&("maxmemory-policy", false)));
    // Eviction does not exist yet, so a memory limit must be reported as having no effect.
    assert!(unimplemented.contains(&("maxmemory", false)));
    // Implemented, or left at their defaults.
    for name in ["bind", "hz", "port", "rdbcompression"] {
        assert!(!unimplemented.iter().any(|(n, _)| *n == name), "{name} reported");
    }
}

#[test]
fn roost_defaults() {
    let cfg = Config::default();
    assert_eq!(cfg.bind(), ["127.0.0.1", "-::1"]);
    assert_eq!(cfg.port(), 6379);
    assert_eq!(get(&cfg, "save"), "");
    assert_eq!(get(&cfg, "appendonly"), "no");
    assert_eq!(cfg.threads(), 0);
    assert_eq!(cfg.databases(), 16);
    assert_eq!(cfg.maxclients(), 10000);
    assert_eq!(cfg.requirepass(), None);
    assert_eq!(cfg.proto_max_bulk_len(), 512 * 1024 * 1024);
    assert_eq!(cfg.client_query_buffer_limit(), 1024 * 1024 * 1024);
    assert_eq!(cfg.dir(), std::env::current_dir().unwrap());
    assert_eq!(cfg.config_file(), None);
    assert!(cfg.unimplemented_in_use().is_empty());
    assert_eq!(REDIS_VERSION, "7.0.15");
}

#[test]
fn threads_directive() {
    assert_eq!(load("threads 4").threads(), 4);
    assert_eq!(load_err("threads 0"), fatal(1, "threads 0", "argument must be between 1 and 1024 inclusive"));
    assert_eq!(get(&load("io-threads 4"), "io-threads"), "4");
}

#[test]
fn names_are_case_insensitive_and_comments_skipped() {
    let cfg = load("# comment\n\n   \n  # indented comment\nPORT 7000\nMaxMemory 1GB\r\n");
    assert_eq!(cfg.port(), 7000);
    assert_eq!(cfg.maxmemory(), 1 << 30);
}

#[test]
fn memory_units() {
    for (text, bytes) in [
        ("1k", 1000u64),
        ("1kb", 1024),
        ("1K", 1000),
        ("1KB", 1024),
        ("1m", 1_000_000),
        ("1mb", 1 << 20),
        ("1g", 1_000_000_000),
        ("1gb", 1 << 30),
        ("1Gb", 1 << 30),
        ("100", 100),
        ("5b", 5),
    ] {
        assert_eq!(load(&format!("maxmemory {text}")).maxmemory(), bytes, "{text}");
    }
    assert_eq!(load_err("maxmemory 1.5gb"), fatal(1, "maxmemory 1.5gb", "argument must be a memory value"));
    assert_eq!(get(&load("maxmemory-clients 5%"), "maxmemory-clients"), "5%");
}

#[test]
fn quoted_values() {
    let cfg = load("requirepass \"a b\\x41\\n\"\nmasteruser 'it\\'s'\nlogfile \"\"");
    assert_eq!(cfg.requirepass(), Some(b"a bA\n".to_vec()));
    assert_eq!(get(&cfg, "masteruser"), "it's");
    assert_eq!(cfg.logfile(), "");
    assert_eq!(load_err("port \"abc"), fatal(1, "port \"abc", "Unbalanced quotes in configuration line"));
    assert_eq!(load_err("port \"12\"3"), fatal(1, "port \"12\"3", "Unbalanced quotes in configuration line"));
    assert_eq!(load_err("port '1'2"), fatal(1, "port '1'2", "Unbalanced quotes in configuration line"));
}

#[test]
fn fatal_error_texts() {
    let cases = [
        ("port 7391\nfoo bar", 2, "foo bar", "Bad directive or wrong number of arguments"),
        ("maxmemory foo", 1, "maxmemory foo", "argument must be a memory value"),
        ("port 1 2", 1, "port 1 2", "wrong number of arguments"),
        ("port 7390 # c", 1, "port 7390 # c", "wrong number of arguments"),
        ("port 99999", 1, "port 99999", "argument must be between 0 and 65535 inclusive"),
        ("port abc", 1, "port abc", "argument couldn't be parsed into an integer"),
        ("save 900", 1, "save 900", "Invalid save parameters"),
        ("save 0 1", 1, "save 0 1", "Invalid save parameters"),
        ("appendfsync bla", 1, "appendfsync bla", "argument(s) must be one of the following: everysec, always, no"),
        ("daemonize maybe", 1, "daemonize maybe", "argument must be 'yes' or 'no'"),
        ("sentinel foo", 1, "sentinel foo", "sentinel directive while not in sentinel mode"),
        ("slaveof 1.2.3.4 99999", 1, "slaveof 1.2.3.4 99999", "Invalid master port"),
        ("replicaof 1.2.3.4", 1, "replicaof 1.2.3.4", "wrong number of arguments"),
        ("unixsocketperm 999", 1, "unixsocketperm 999", "argument couldn't be parsed as an octal number"),
        ("unixsocketperm 1000", 1, "unixsocketperm 1000", "argument must be between 0 and 777 inclusive"),
        ("io-threads 200", 1, "io-threads 200", "argument must be between 1 and 128 inclusive"),
        ("foo.bar", 1, "foo.bar", "Module config specified without value"),
        ("user", 1, "user", "Bad directive or wrong number of arguments"),
        (
            "list-max-ziplist-entries 1 2",
            1,
            "list-max-ziplist-entries 1 2",
            "Bad directive or wrong number of arguments",
        ),
        ("include", 1, "include", "Bad directive or wrong number of arguments"),
        ("databases 0", 1, "databases 0", "argument must be between 1 and 2147483647 inclusive"),
        ("dir /nonexistent-roost-dir", 1, "dir /nonexistent-roost-dir", "No such file or directory"),
        ("dbfilename a/b", 1, "dbfilename a/b", "dbfilename can't be a path, just a filename"),
        (
            "notify-keyspace-events KZ",
            1,
            "notify-keyspace-events KZ",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        ),
        (
            "client-output-buffer-limit master 1 2 3",
            1,
            "client-output-buffer-limit master 1 2 3",
            "Invalid client class specified in buffer limit configuration.",
        ),
        (
            "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
            1,
            "bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",
            "Too many bind addresses specified.",
        ),
    ];
    for (text, line_no, line, msg) in cases {
        assert_eq!(load_err(text), fatal(line_no, line, msg), "{text}");
    }
    // Deprecated directives with one argument are accepted and ignored.
    load("list-max-ziplist-entries 5\nlua-replicate-commands yes");
    // Checks made after the whole text was read carry no line.
    assert_eq!(
        load_err("cluster-enabled yes\nreplicaof 1.2.3.4 5"),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
         replicaof directive not allowed in cluster mode\n"
    );
    assert_eq!(
        load_err("logfile /nonexistent-roost-dir/x.log"),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
         Can't open the log file: No such file or directory\n"
    );
}

#[test]
fn command_line_errors_count_lines_after_the_file() {
    let e = |a: &[&str]| Config::from_args(&args(a)).expect_err("should fail").message;
    assert_eq!(e(&["--port", "abc"]), fatal(2, "port \"abc\"", "argument couldn't be parsed into an integer"));
    assert_eq!(e(&["--port"]), fatal(2, "port", "wrong number of arguments"));
    assert_eq!(
        e(&["--port", "7392", "--maxmemory", "1", "2"]),
        fatal(3, "maxmemory \"1\" \"2\"", "wrong number of arguments")
    );
    assert_eq!(e(&["--port 7393 foo"]), fatal(2, "port 7393 foo", "wrong number of arguments"));
    assert_eq!(e(&["--port", "--maxmemory", "5"]), fatal(2, "port \"--maxmemory\" \"5\"", "wrong number of arguments"));
    let dir = temp_dir("argv");
    let path = dir.join("r.conf");
    std::fs::write(&path, "port 7394\n").unwrap();
    assert_eq!(
        e(&[path.to_str().unwrap(), "--bogus", "1"]),
        fatal(3, "bogus \"1\"", "Bad directive or wrong number of arguments")
    );
    let missing = dir.join("missing.conf");
    let err = Config::from_args(&args(&[missing.to_str().unwrap()])).unwrap_err();
    assert!(err.is_log_message);
    assert_eq!(
        err.message,
        format!("Fatal error, can't open config file '{}': No such file or directory", missing.display())
    );
}

#[test]
fn command_line_options() {
    let cfg = Config::from_args(&args(&[
        "--port",
        "7000",
        "--save",
        "900",
        "1",
        "--bind",
        "127.0.0.1 ::1",
        "--requirepass",
        "with space",
    ]))
    .unwrap();
    assert_eq!(cfg.port(), 7000);
    assert_eq!(get(&cfg, "save"), "900 1");
    assert_eq!(cfg.bind(), ["127.0.0.1", "::1"]);
    assert_eq!(cfg.requirepass(), Some(b"with space".to_vec()));
    let cfg = Config::from_args(&args(&["--save", "900 1"])).unwrap();
    assert_eq!(get(&cfg, "save"), "900 1");
    let cfg = Config::from_args(&args(&["--save", "--appendonly", "yes"])).unwrap();
    assert_eq!(get(&cfg, "save"), "");
    assert_eq!(get(&cfg, "appendonly"), "yes");
    let cfg = Config::from_args(&args(&["--save", "900 1", "--save"])).unwrap();
    assert_eq!(get(&cfg, "save"), "");
    let cfg = Config::from_args(&args(&["--client-output-buffer-limit", "normal 1mb 2k 3"])).unwrap();
    assert_eq!(
        get(&cfg, "client-output-buffer-limit"),
        "normal 1048576 2000 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    // Options come after the file, so they win.
    let dir = temp_dir("argv-order");
    let path = dir.join("r.conf");
    std::fs::write(&path, "save 1 1\nsave 2 2\nport 1\n").unwrap();
    let cfg = Config::from_args(&args(&[path.to_str().unwrap(), "--save", "3", "3", "--port", "2"])).unwrap();
    assert_eq!(get(&cfg, "save"), "1 1 2 2 3 3");
    assert_eq!(cfg.port(), 2);
    assert_eq!(Config::from_args(&[]).unwrap().port(), 6379);
}

#[test]
fn repeated_save_lines() {
    assert_eq!(get(&load("save 900 1\nsave 300 10"), "save"), "900 1 300 10");
    assert_eq!(get(&load("save \"\"\nsave 5 5"), "save"), "5 5");
    assert_eq!(get(&load("save 5 5\nsave \"\"\nsave 6 6"), "save"), "6 6");
    assert_eq!(get(&load("save 5 5\nsave"), "save"), "5 5");
    assert_eq!(get(&load("save"), "save"), "");
    assert_eq!(get(&load("save 5 5\nsave \"\"\nsave 6 6\nsave 7 7"), "save"), "6 6 7 7");
    assert_eq!(get(&load("save 1 4294967295"), "save"), "1 -1");
    assert_eq!(get(&load("save 1 2 3 4"), "save"), "1 2 3 4");
}

#[test]
fn includes() {
    let dir = temp_dir("include");
    std::fs::write(dir.join("inc.conf"), "port 6380\nsave 3 3\nsave 4 4\n").unwrap();
    std::fs::create_dir(dir.join("conf.d")).unwrap();
    std::fs::write(dir.join("conf.d/a.conf"), "maxmemory 1mb\n").unwrap();
    std::fs::write(dir.join("conf.d/b.conf"), "maxmemory 2mb\n").unwrap();
    std::fs::write(dir.join("conf.d/.hidden.conf"), "maxmemory 3mb\n").unwrap();
    std::fs::create_dir(dir.join("nested")).unwrap();
    std::fs::write(dir.join("nested/outer.conf"), "include inc.conf\ntimeout 7\n").unwrap();

    // Relative to the working directory, not to the including file.
    let cfg = Config::from_text("port 1\ninclude inc.conf\nhz 20", &dir).unwrap();
    assert_eq!(cfg.port(), 6380);
    assert_eq!(cfg.hz(), 20);
    let cfg = Config::from_text("include nested/outer.conf", &dir).unwrap();
    assert_eq!((cfg.port(), cfg.timeout_secs()), (6380, 7));

    let cfg = Config::from_text("include conf.d/*.conf", &dir).unwrap();
    assert_eq!(cfg.maxmemory(), 2 << 20);
    let cfg = Config::from_text("include nothing-here/*.conf\nport 9", &dir).unwrap();
    assert_eq!(cfg.port(), 9);

    // Errors inside an included file point into that file.
    std::fs::write(dir.join("bad.conf"), "\nport x\n").unwrap();
    let e = Config::from_text("port 1\ninclude bad.conf", &dir).unwrap_err();
    assert_eq!(e.message, fatal(2, "port x", "argument couldn't be parsed into an integer"));
    let e = Config::from_text("include missing.conf", &dir).unwrap_err();
    assert!(e.is_log_message);
    assert_eq!(e.message, "Fatal error, can't open config file 'missing.conf': No such file or directory");

    // Redis stops accumulating `save` lines once an include has returned.
    let cfg = Config::from_text("save 1 1\nsave 2 2\ninclude inc.conf\nsave 5 5\nsave 6 6", &dir).unwrap();
    assert_eq!(get(&cfg, "save"), "6 6");
    let cfg = Config::from_text("include inc.conf", &dir).unwrap();
    assert_eq!(get(&cfg, "save"), "3 3 4 4");

    // `dir` moves the directory later relative paths use.
    let cfg = Config::from_text("dir nested\ninclude outer.conf", &dir);
    assert!(cfg.is_err(), "outer.conf includes inc.conf relative to nested/");
    std::fs::write(dir.join("loop.conf"), "include loop.conf\n").unwrap();
    assert!(Config::from_text("include loop.conf", &dir).is_err());
}

#[test]
fn dir_resolves_like_chdir() {
    let base = temp_dir("dir");
    std::fs::create_dir(base.join("data")).unwrap();
    let cfg = Config::from_text("dir data\nlogfile roost.log", &base).unwrap();
    let canon = std::fs::canonicalize(base.join("data")).unwrap();
    assert_eq!(cfg.dir(), canon);
    assert_eq!(get(&cfg, "dir"), canon.to_str().unwrap());
    assert!(canon.join("roost.log").exists(), "logfile is opened relative to dir");
    std::fs::write(base.join("file"), "").unwrap();
    let e = Config::from_text("dir file", &base).unwrap_err();
    assert_eq!(e.message, fatal(1, "dir file", "Not a directory"));
}

#[test]
fn multi_line_directives() {
    let cfg = load(
        "rename-command FLUSHALL \"\"\nrename-command config cfg\n\
         user alice on >pw ~* +@all\nloadmodule /x.so a b\nmymod.opt 1 2\nsentinel",
    );
    assert_eq!(
        cfg.renamed_commands(),
        [("FLUSHALL".to_string(), String::new()), ("config".to_string(), "cfg".to_string())]
    );
    assert_eq!(cfg.acl_user_lines().len(), 1);
    assert_eq!(cfg.loadmodule_lines()[0][0], b"/x.so");
    assert_eq!(cfg.module_configs(), [("mymod.opt".to_string(), b"1 2".to_vec())]);
    let un = cfg.unimplemented_in_use();
    assert!(un.contains(&("loadmodule", false)) && un.contains(&("user", false)));
    assert_eq!(
        load_err("rename-command a"),
        fatal(1, "rename-command a", "Bad directive or wrong number of arguments")
    );

    let commands = |n: &str| ["get", "set", "config", "flushall"].contains(&n);
    let base = std::env::temp_dir();
    let e = |t: &str| Config::from_text_checked(t, &base, &commands).unwrap_err().message;
    assert_eq!(e("rename-command FOO BAR"), fatal(1, "rename-command FOO BAR", "No such command in rename-command"));
    assert_eq!(e("rename-command get set"), fatal(1, "rename-command get set", "Target command name already exists"));
    assert_eq!(
        e("rename-command get x\nrename-command get y"),
        fatal(2, "rename-command get y", "No such command in rename-command")
    );
    Config::from_text_checked("rename-command get x\nrename-command set get", &base, &commands).unwrap();
}

#[test]
fn hz_is_clamped_and_aliases_share_values() {
    assert_eq!(load("hz 0").hz(), 1);
    assert_eq!(load("hz 100000").hz(), 500);
    let cfg = load("slave-read-only no\nhash-max-ziplist-entries 7\nslaveof 10.0.0.1 6380");
    assert_eq!(get(&cfg, "replica-read-only"), "no");
    assert_eq!(get(&cfg, "hash-max-listpack-entries"), "7");
    assert_eq!(get(&cfg, "replicaof"), "10.0.0.1 6380");
    assert_eq!(get(&cfg, "slaveof"), "10.0.0.1 6380");
    assert_eq!(get(&load("replicaof no one"), "replicaof"), "");
}

#[test]
fn cluster_directives_are_stored() {
    let cfg = load(
        "cluster-enabled yes\ncluster-config-file nodes-6379.conf\ncluster-node-timeout 5000\n\
         cluster-announce-hostname a.b-c\ncluster-preferred-endpoint-type hostname",
    );
    assert_eq!(get(&cfg, "cluster-enabled"), "yes");
    assert_eq!(get(&cfg, "cluster-config-file"), "nodes-6379.conf");
    assert_eq!(get(&cfg, "cluster-node-timeout"), "5000");
    let un: Vec<&str> = cfg.unimplemented_in_use().iter().map(|(n, _)| *n).collect();
    assert!(un.contains(&"cluster-enabled") && un.contains(&"cluster-node-timeout"));
}

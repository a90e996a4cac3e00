//! The table of every directive Redis 7.0.15 knows, plus Roost's own.
//!
//! Types, bounds, defaults and mutability were read off a running
//! redis-server 7.0.15 (CONFIG GET '*', CONFIG SET probes and bad config
//! files), so that error texts and renderings line up with it.

/// How a numeric directive is written and read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumFmt {
    Plain,
    /// Accepts unit suffixes; CONFIG GET prints plain bytes.
    Memory,
    /// Memory, or `N%` stored as a negative number.
    MemoryPercent,
    /// Parsed and printed in base 8 (unix socket permissions).
    Octal,
}

/// Post-parse checks some string directives carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrCheck {
    None,
    DbFilename,
    AofFilename,
    AofDirname,
    Hostname,
    ProcTitle,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Bool,
    /// `unsigned` selects Redis's unsigned bounds check (the value is
    /// compared as u64, which is how 2^64-1 can be accepted for maxmemory).
    Num {
        min: i64,
        max: i64,
        unsigned: bool,
        fmt: NumFmt,
    },
    /// `flags`: several names may be given and are OR-ed together.
    Enum {
        items: &'static [(&'static str, i32)],
        flags: bool,
    },
    /// `empty_is_null`: an empty value means "unset", which CONFIG GET shows
    /// as "" but CONFIG REWRITE leaves out of the file.
    Str {
        empty_is_null: bool,
        check: StrCheck,
    },
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    Percentiles,
    Dir,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mutability {
    Mutable,
    Immutable,
    /// Settable only when enable-protected-configs allows it.
    Protected,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    /// Default in config-file syntax, parsed through the directive's own
    /// setter so defaults and user values share one code path.
    pub default: &'static str,
    pub mutability: Mutability,
    /// Hidden directives answer CONFIG GET only when named exactly.
    pub hidden: bool,
    /// Whether Roost honours a non-default value.
    pub implemented: bool,
    pub persistence: bool,
}

impl Directive {
    const fn new(name: &'static str, kind: Kind, default: &'static str) -> Directive {
        Directive {
            name,
            alias: None,
            kind,
            default,
            mutability: Mutability::Mutable,
            hidden: false,
            implemented: false,
            persistence: false,
        }
    }
    const fn alias(mut self, alias: &'static str) -> Directive {
        self.alias = Some(alias);
        self
    }
    const fn immutable(mut self) -> Directive {
        self.mutability = Mutability::Immutable;
        self
    }
    const fn protected(mut self) -> Directive {
        self.mutability = Mutability::Protected;
        self
    }
    const fn hidden(mut self) -> Directive {
        self.hidden = true;
        self
    }
    const fn done(mut self) -> Directive {
        self.implemented = true;
        self
    }
    const fn persist(mut self) -> Directive {
        self.persistence = true;
        self
    }

    /// Directives that take several words; on a config line a single
    /// non-empty argument is split again, and CONFIG SET splits on spaces.
    pub(crate) fn multi_arg(&self) -> bool {
        match self.kind {
            Kind::Save
            | Kind::ClientOutputBufferLimit
            | Kind::OomScoreAdjValues
            | Kind::Bind
            | Kind::ReplicaOf
            | Kind::Percentiles => true,
            Kind::Enum { flags, .. } => flags,
            _ => false,
        }
    }
}

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
/// ULLONG_MAX seen through a signed 64-bit slot, as Redis stores it.
const ULLONG_MAX: i64 = -1;

const fn bool_() -> Kind {
    Kind::Bool
}
const fn int(min: i64, max: i64) -> Kind {
    Kind::Num { min, max, unsigned: false, fmt: NumFmt::Plain }
}
const fn uint(min: i64, max: i64) -> Kind {
    Kind::Num { min, max, unsigned: true, fmt: NumFmt::Plain }
}
const fn mem(min: i64, max: i64) -> Kind {
    Kind::Num { min, max, unsigned: false, fmt: NumFmt::Memory }
}
const fn umem(min: i64, max: i64) -> Kind {
    Kind::Num { min, max, unsigned: true, fmt: NumFmt::Memory }
}
const fn str_(empty_is_null: bool) -> Kind {
    Kind::Str { empty_is_null, check: StrCheck::None }
}
const fn checked(empty_is_null: bool, check: StrCheck) -> Kind {
    Kind::Str { empty_is_null, check }
}
const fn enum_(items: &'static [(&'static str, i32)]) -> Kind {
    Kind::Enum { items, flags: false }
}

const NULL: bool = true;
const EMPTY_OK: bool = false;

const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 1), ("always", 2), ("no", 0)];
/// "yes" and "relative" are the same mode; the first name wins on output.
const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const ENDPOINT_TYPE: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR: &[(&str, i32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
const SHUTDOWN_FLAGS: &[(&str, i32)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];
const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];

/// Value of enable-protected-configs / enable-debug-command that allows
/// only local clients.
pub(crate) const PROTECTED_LOCAL: i32 = 2;
pub(crate) const PROTECTED_YES: i32 = 1;

const SHUTDOWN: Kind = Kind::Enum { items: SHUTDOWN_FLAGS, flags: true };

type D = Directive;

/// Every directive, in the order CONFIG GET and CONFIG REWRITE walk them.
pub(crate) static TABLE: &[Directive] = &[
    // yes/no
    D::new("rdbchecksum", bool_(), "yes").immutable().persist().done(),
    D::new("daemonize", bool_(), "no").immutable(),
    D::new("io-threads-do-reads", bool_(), "no").immutable().done(),
    D::new("always-show-logo", bool_(), "no").immutable().done(),
    D::new("protected-mode", bool_(), "yes").done(),
    D::new("rdbcompression", bool_(), "yes").persist().done(),
    D::new("rdb-del-sync-files", bool_(), "no").persist(),
    D::new("activerehashing", bool_(), "yes").done(),
    D::new("stop-writes-on-bgsave-error", bool_(), "yes").persist().done(),
    D::new("set-proc-title", bool_(), "yes").immutable().done(),
    D::new("dynamic-hz", bool_(), "yes").done(),
    D::new("lazyfree-lazy-eviction", bool_(), "no"),
    D::new("lazyfree-lazy-expire", bool_(), "no"),
    D::new("lazyfree-lazy-server-del", bool_(), "no"),
    D::new("lazyfree-lazy-user-del", bool_(), "no"),
    D::new("lazyfree-lazy-user-flush", bool_(), "no"),
    D::new("repl-disable-tcp-nodelay", bool_(), "no"),
    D::new("repl-diskless-sync", bool_(), "yes"),
    D::new("aof-rewrite-incremental-fsync", bool_(), "yes").persist().done(),
    D::new("no-appendfsync-on-rewrite", bool_(), "no").persist().done(),
    D::new("cluster-require-full-coverage", bool_(), "yes"),
    D::new("rdb-save-incremental-fsync", bool_(), "yes").persist().done(),
    D::new("aof-load-truncated", bool_(), "yes").persist().done(),
    D::new("aof-use-rdb-preamble", bool_(), "yes").persist().done(),
    D::new("aof-timestamp-enabled", bool_(), "no").persist().done(),
    D::new("cluster-replica-no-failover", bool_(), "no").alias("cluster-slave-no-failover"),
    D::new("replica-lazy-flush", bool_(), "no").alias("slave-lazy-flush"),
    D::new("replica-serve-stale-data", bool_(), "yes").alias("slave-serve-stale-data"),
    D::new("replica-read-only", bool_(), "yes").alias("slave-read-only"),
    D::new("replica-ignore-maxmemory", bool_(), "yes").alias("slave-ignore-maxmemory"),
    D::new("jemalloc-bg-thread", bool_(), "yes").done(),
    D::new("activedefrag", bool_(), "no"),
    D::new("syslog-enabled", bool_(), "no").immutable(),
    D::new("cluster-enabled", bool_(), "no").immutable(),
    D::new("appendonly", bool_(), "no").persist().done(),
    D::new("cluster-allow-reads-when-down", bool_(), "no"),
    D::new("cluster-allow-pubsubshard-when-down", bool_(), "yes"),
    D::new("crash-log-enabled", bool_(), "yes").done(),
    D::new("crash-memcheck-enabled", bool_(), "yes").done(),
    D::new("use-exit-on-panic", bool_(), "no").hidden(),
    D::new("disable-thp", bool_(), "yes").immutable().done(),
    D::new("cluster-allow-replica-migration", bool_(), "yes"),
    D::new("replica-announced", bool_(), "yes"),
    D::new("latency-tracking", bool_(), "yes"),
    D::new("aof-disable-auto-gc", bool_(), "no").persist(),
    D::new("replica-ignore-disk-write-errors", bool_(), "no"),
    D::new("tls-cluster", bool_(), "no"),
    D::new("tls-replication", bool_(), "no"),
    D::new("tls-prefer-server-ciphers", bool_(), "no"),
    D::new("tls-session-caching", bool_(), "yes"),
    // strings
    D::new("aclfile", str_(EMPTY_OK), "").immutable(),
    D::new("unixsocket", str_(NULL), "").immutable(),
    D::new("pidfile", str_(NULL), "").immutable(),
    D::new("replica-announce-ip", str_(NULL), "").alias("slave-announce-ip"),
    D::new("masteruser", str_(NULL), ""),
    D::new("cluster-announce-ip", str_(NULL), ""),
    D::new("cluster-config-file", str_(EMPTY_OK), "nodes.conf").immutable(),
    D::new("cluster-announce-hostname", checked(NULL, StrCheck::Hostname), ""),
    D::new("syslog-ident", str_(EMPTY_OK), "redis").immutable(),
    D::new("dbfilename", checked(EMPTY_OK, StrCheck::DbFilename), "dump.rdb").protected().persist().done(),
    D::new("appendfilename", checked(EMPTY_OK, StrCheck::AofFilename), "appendonly.aof").immutable().persist().done(),
    D::new("appenddirname", checked(EMPTY_OK, StrCheck::AofDirname), "appendonlydir").immutable().persist().done(),
    D::new("server_cpulist", str_(NULL), "").immutable(),
    D::new("bio_cpulist", str_(NULL), "").immutable(),
    D::new("aof_rewrite_cpulist", str_(NULL), "").immutable().persist(),
    D::new("bgsave_cpulist", str_(NULL), "").immutable().persist(),
    D::new("ignore-warnings", str_(EMPTY_OK), ""),
    D::new("proc-title-template", checked(EMPTY_OK, StrCheck::ProcTitle), "{title} {listen-addr} {server-mode}"),
    D::new("bind-source-addr", str_(NULL), ""),
    D::new("logfile", str_(EMPTY_OK), "").immutable().done(),
    D::new("masterauth", str_(NULL), ""),
    D::new("requirepass", str_(NULL), "").done(),
    D::new("tls-cert-file", str_(NULL), ""),
    D::new("tls-key-file", str_(NULL), ""),
    D::new("tls-key-file-pass", str_(NULL), ""),
    D::new("tls-client-cert-file", str_(NULL), ""),
    D::new("tls-client-key-file", str_(NULL), ""),
    D::new("tls-client-key-file-pass", str_(NULL), ""),
    D::new("tls-dh-params-file", str_(NULL), ""),
    D::new("tls-ca-cert-file", str_(NULL), ""),
    D::new("tls-ca-cert-dir", str_(NULL), ""),
    D::new("tls-protocols", str_(NULL), ""),
    D::new("tls-ciphers", str_(NULL), ""),
    D::new("tls-ciphersuites", str_(NULL), ""),
    // enums
    D::new("supervised", enum_(SUPERVISED), "no").immutable(),
    D::new("syslog-facility", enum_(SYSLOG_FACILITY), "local0").immutable(),
    D::new("repl-diskless-load", enum_(DISKLESS_LOAD), "disabled"),
    D::new("loglevel", enum_(LOGLEVEL), "notice").done(),
    D::new("maxmemory-policy", enum_(MAXMEMORY_POLICY), "noeviction"),
    D::new("appendfsync", enum_(APPENDFSYNC), "everysec").persist().done(),
    D::new("oom-score-adj", enum_(OOM_SCORE_ADJ), "no"),
    D::new("acl-pubsub-default", enum_(ACL_PUBSUB), "resetchannels"),
    D::new("sanitize-dump-payload", enum_(SANITIZE), "no"),
    D::new("enable-protected-configs", enum_(PROTECTED_ACTION), "no").immutable().done(),
    D::new("enable-debug-command", enum_(PROTECTED_ACTION), "no").immutable().done(),
    D::new("enable-module-command", enum_(PROTECTED_ACTION), "no").immutable(),
    D::new("cluster-preferred-endpoint-type", enum_(ENDPOINT_TYPE), "ip"),
    D::new("propagation-error-behavior", enum_(PROPAGATION_ERROR), "ignore"),
    D::new("shutdown-on-sigint", SHUTDOWN, "default"),
    D::new("shutdown-on-sigterm", SHUTDOWN, "default"),
    D::new("tls-auth-clients", enum_(TLS_AUTH_CLIENTS), "yes"),
    // integers
    D::new("databases", int(1, INT_MAX), "16").immutable().done(),
    D::new("port", int(0, 65535), "6379").done(),
    D::new("io-threads", int(1, 128), "1").immutable().done(),
    D::new("auto-aof-rewrite-percentage", int(0, INT_MAX), "100").persist().done(),
    D::new("cluster-replica-validity-factor", int(0, INT_MAX), "10").alias("cluster-slave-validity-factor"),
    D::new("list-max-listpack-size", int(INT_MIN, INT_MAX), "-2").alias("list-max-ziplist-size").done(),
    D::new("tcp-keepalive", int(0, INT_MAX), "300").done(),
    D::new("cluster-migration-barrier", int(0, INT_MAX), "1"),
    D::new("active-defrag-cycle-min", int(1, 99), "1"),
    D::new("active-defrag-cycle-max", int(1, 99), "25"),
    D::new("active-defrag-threshold-lower", int(0, 1000), "10"),
    D::new("active-defrag-threshold-upper", int(0, 1000), "100"),
    D::new("lfu-log-factor", int(0, INT_MAX), "10"),
    D::new("lfu-decay-time", int(0, INT_MAX), "1"),
    D::new("replica-priority", int(0, INT_MAX), "100").alias("slave-priority"),
    D::new("repl-diskless-sync-delay", int(0, INT_MAX), "5"),
    D::new("maxmemory-samples", int(1, INT_MAX), "5"),
    D::new("maxmemory-eviction-tenacity", int(0, 100), "10"),
    D::new("timeout", int(0, INT_MAX), "0").done(),
    D::new("replica-announce-port", int(0, 65535), "0").alias("slave-announce-port"),
    D::new("tcp-backlog", int(0, INT_MAX), "511").immutable().done(),
    D::new("cluster-port", int(0, 65535), "0").immutable(),
    D::new("cluster-announce-bus-port", int(0, 65535), "0"),
    D::new("cluster-announce-port", int(0, 65535), "0"),
    D::new("cluster-announce-tls-port", int(0, 65535), "0"),
    D::new("repl-timeout", int(1, INT_MAX), "60"),
    D::new("repl-ping-replica-period", int(1, INT_MAX), "10").alias("repl-ping-slave-period"),
    D::new("list-compress-depth", int(0, INT_MAX), "0").done(),
    D::new("rdb-key-save-delay", int(INT_MIN, INT_MAX), "0").hidden().persist().done(),
    D::new("key-load-delay", int(INT_MIN, INT_MAX), "0").hidden().persist(),
    D::new("active-expire-effort", int(1, 10), "1"),
    D::new("hz", int(0, INT_MAX), "10").done(),
    D::new("min-replicas-to-write", int(0, INT_MAX), "0").alias("min-slaves-to-write"),
    D::new("min-replicas-max-lag", int(0, INT_MAX), "10").alias("min-slaves-max-lag"),
    D::new("watchdog-period", int(0, INT_MAX), "0").hidden(),
    D::new("shutdown-timeout", int(0, INT_MAX), "10"),
    D::new("repl-diskless-sync-max-replicas", int(0, INT_MAX), "0"),
    D::new("tls-port", int(0, 65535), "0"),
    D::new("tls-session-cache-size", int(0, INT_MAX), "20480"),
    D::new("tls-session-cache-timeout", int(0, INT_MAX), "300"),
    D::new("maxclients", uint(1, UINT_MAX), "10000").done(),
    D::new("unixsocketperm", Kind::Num { min: 0, max: 0o777, unsigned: true, fmt: NumFmt::Octal }, "0").immutable(),
    D::new("socket-mark-id", uint(0, UINT_MAX), "0").immutable(),
    D::new("active-defrag-max-scan-fields", int(1, LONG_MAX), "1000"),
    D::new("slowlog-max-len", int(0, LONG_MAX), "128"),
    D::new("acllog-max-len", int(0, LONG_MAX), "128"),
    D::new("busy-reply-threshold", int(0, LONG_MAX), "5000").alias("lua-time-limit").done(),
    D::new("cluster-node-timeout", int(0, LONG_MAX), "15000"),
    D::new("slowlog-log-slower-than", int(-1, LONG_MAX), "10000"),
    D::new("latency-monitor-threshold", int(0, LONG_MAX), "0"),
    D::new("proto-max-bulk-len", mem(1024 * 1024, LONG_MAX), "536870912").done(),
    D::new("stream-node-max-entries", int(0, LONG_MAX), "100").done(),
    D::new("repl-backlog-size", mem(1, LONG_MAX), "1048576"),
    D::new("maxmemory", umem(0, ULLONG_MAX), "0"),
    D::new("cluster-link-sendbuf-limit", umem(0, ULLONG_MAX), "0"),
    D::new("hash-max-listpack-entries", uint(0, LONG_MAX), "512").alias("hash-max-ziplist-entries").done(),
    D::new("set-max-intset-entries", uint(0, LONG_MAX), "512").done(),
    D::new("zset-max-listpack-entries", uint(0, LONG_MAX), "128").alias("zset-max-ziplist-entries").done(),
    D::new("active-defrag-ignore-bytes", umem(1, LONG_MAX), "104857600"),
    D::new("hash-max-listpack-value", umem(0, LONG_MAX), "64").alias("hash-max-ziplist-value").done(),
    D::new("stream-node-max-bytes", umem(0, LONG_MAX), "4096").done(),
    D::new("zset-max-listpack-value", umem(0, LONG_MAX), "64").alias("zset-max-ziplist-value").done(),
    D::new("hll-sparse-max-bytes", umem(0, LONG_MAX), "3000").done(),
    D::new("tracking-table-max-keys", uint(0, LONG_MAX), "1000000").done(),
    D::new("client-query-buffer-limit", umem(1024 * 1024, LONG_MAX), "1073741824").done(),
    D::new(
        "maxmemory-clients",
        Kind::Num { min: -100, max: LONG_MAX, unsigned: false, fmt: NumFmt::MemoryPercent },
        "0",
    ),
    D::new("repl-backlog-ttl", int(0, LONG_MAX), "3600"),
    D::new("auto-aof-rewrite-min-size", mem(0, LONG_MAX), "67108864").persist().done(),
    D::new("loading-process-events-interval-bytes", int(1024, INT_MAX), "2097152").hidden().persist(),
    // directives with their own syntax
    D::new("dir", Kind::Dir, "").protected().done(),
    D::new("save", Kind::Save, "").persist().done(),
    D::new(
        "client-output-buffer-limit",
        Kind::ClientOutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    D::new("oom-score-adj-values", Kind::OomScoreAdjValues, "0 200 800"),
    D::new("notify-keyspace-events", Kind::NotifyKeyspaceEvents, "").done(),
    D::new("bind", Kind::Bind, "127.0.0.1 -::1").done(),
    D::new("replicaof", Kind::ReplicaOf, "").alias("slaveof").immutable(),
    D::new("latency-tracking-info-percentiles", Kind::Percentiles, "50 99 99.9"),
    // Roost's own: worker threads, 0 meaning one per core.
    D::new("threads", int(1, 1024), "0").immutable().done(),
];

/// Index of a directive by name or alias, ignoring ASCII case. The bool
/// tells whether `name` was the alias.
pub(crate) fn lookup(name: &[u8]) -> Option<(usize, bool)> {
    TABLE.iter().enumerate().find_map(|(i, d)| {
        if d.name.as_bytes().eq_ignore_ascii_case(name) {
            Some((i, false))
        } else if d.alias.is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(name)) {
            Some((i, true))
        } else {
            None
        }
    })
}

/// Index of a directive by its exact (lowercase) primary name.
pub(crate) fn index_of(name: &str) -> usize {
    TABLE.iter().position(|d| d.name == name).unwrap_or_else(|| panic!("directive {name} missing from the table"))
}

/// Lines Redis 7.0 still accepts (with exactly one argument) and ignores.
pub(crate) const DEPRECATED: &[&str] =
    &["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

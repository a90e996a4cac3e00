//! The Redis-compatible server: connections, the command table, command families (one file
//! each), worker threads and periodic work.
//!
//! Owns: sockets and connection state, dispatch and per-command rules (arity, auth, flags),
//! replies, statistics, client management.
//! Never: encodings of values (the store owns them) or the wire format's details (the protocol
//! crate owns them); it reaches values only through the store's shard locks.

pub mod alloc;
pub mod aof;
pub mod blocking;
pub mod client;
pub mod command;
pub mod commands;
pub mod connection;
pub mod ctx;
pub mod error;
pub mod gate;
pub mod log;
pub mod mapped;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod persist;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod stats;
pub mod tracking;
pub mod watch;

use std::sync::Arc;

use roost_config::Config;

use crate::log::{log, NOTICE, WARNING};
use crate::server::Server;

/// Whether `name` is a command Roost knows (rename-command must name one).
pub fn is_command(name: &str) -> bool {
    commands::TABLE.iter().any(|c| c.name.eq_ignore_ascii_case(name))
}

/// Starts a server with `config` and serves until SHUTDOWN.
pub fn run(config: Config) -> Result<(), String> {
    std::env::set_current_dir(config.dir()).map_err(|e| format!("Can't chdir to '{}': {e}", config.dir().display()))?;
    log::configure(&config.loglevel(), &config.logfile()).map_err(|e| format!("Can't open the log file: {e}"))?;
    // `threads` is Roost's own; a redis.conf asking for several io-threads gets that many workers.
    let io_threads: usize = config.get_one("io-threads").and_then(|v| v.parse().ok()).unwrap_or(1);
    let threads = match config.threads() {
        0 if io_threads > 1 => io_threads,
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let unimplemented = config.unimplemented_in_use();
    if !unimplemented.is_empty() {
        let names: Vec<&str> = unimplemented.iter().map(|(n, _)| *n).collect();
        log(WARNING, &format!("Accepted but not implemented yet, so they have no effect: {}", names.join(", ")));
        let persistence: Vec<&str> = unimplemented.iter().filter(|(_, p)| *p).map(|(n, _)| *n).collect();
        if !persistence.is_empty() {
            log(
                WARNING,
                &format!(
                    "WARNING: these persistence settings are not implemented yet and change nothing on disk: {}",
                    persistence.join(", ")
                ),
            );
        }
    }
    std::env::set_current_dir(config.dir()).map_err(|e| format!("Can't chdir to '{}': {e}", config.dir().display()))?;
    let server = Arc::new(Server::new(config, threads)?);
    notify::install(&server);
    // Loaded before any client is accepted; nothing else runs yet. The append-only file, when on,
    // is the fuller record, as in Redis; otherwise the RDB file.
    aof::start(&server)?;
    if !server.aof.is_on() {
        persist::load_at_startup(&server)?;
    }
    log(
        NOTICE,
        &format!(
            "Roost {} (Redis {} compatible) starting, pid={}",
            env!("CARGO_PKG_VERSION"),
            roost_config::REDIS_VERSION,
            std::process::id()
        ),
    );
    net::run(server)
}

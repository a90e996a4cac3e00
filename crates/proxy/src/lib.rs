//! `roost proxy`: a multi-threaded, drop-in replacement for twemproxy (nutcracker 0.5.0).
//!
//! Owns: nutcracker.yml, the key -> backend mapping (hash functions, hash tags, ketama / modula /
//! random continuums), client and backend connections, request routing, splitting and merging of
//! multi-key commands, failure accounting, auto-ejection and the active health check, reloading
//! the configuration on SIGHUP, the stats port, and Redis Cluster pools (slots learned from
//! `CLUSTER SLOTS`, `MOVED`/`ASK` followed).
//! Never: the keyspace. The proxy depends on the protocol crate only, never on the store or the
//! server.

pub mod backend;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod command;
pub mod config;
pub mod distribution;
pub mod hash;
pub mod health;
pub mod hotkeys;
pub mod log;
pub mod pool;
pub mod reload;
pub mod replies;
pub mod reply;
pub mod server;
pub mod stats;

pub use cli::main as cli_main;
pub use config::Config;
pub use server::{run, RunOptions};

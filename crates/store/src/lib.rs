//! The keyspace: databases split into shards, each shard behind its own lock, holding values in
//! compact encodings with their expiry times.
//!
//! Owns: value types and encodings, the shard map (hash slot -> shard), lazy and active expiry,
//! key enumeration (SCAN/KEYS/RANDOMKEY), Redis's glob matching.
//! Never: sockets, request or reply framing, configuration files (from the protocol crate it
//! takes only Redis Cluster's key -> slot function). Callers bring the time and the locks order.

mod clock;
pub mod events;
pub mod geo;
pub mod glob;
pub mod hash;
pub mod hyperloglog;
mod keyspace;
mod limits;
pub mod list;
pub mod rdb;
pub mod set;
pub mod snapshot;
pub mod stream;
mod table;
mod value;
pub mod zset;

pub use clock::{expiry_now_ms, has_expired, now_ms, now_secs, tick_clock, CommandTime};
pub use hash::Hash;
pub use keyspace::{Keyspace, Locked, Shard, ShardGuard, ShardHold, SHARDS};
pub use limits::EncodingLimits;
pub use list::List;
pub use roost_resp::slot;
pub use set::Set;
pub use snapshot::ShardSink;
pub use stream::Stream;
pub use table::{Entry, Table};
pub use value::{canonical_int, Key, StrValue, Value};
pub use zset::ZSet;

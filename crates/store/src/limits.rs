//! Encoding thresholds (Redis's `*-max-listpack-*`, `set-max-intset-entries`, ...): when a
//! value outgrows its compact form. Set from the configuration, read by every write that can
//! grow a value, so they are atomics rather than a locked copy of the configuration.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug)]
pub struct EncodingLimits {
    pub list_max_listpack_size: AtomicI64,
    pub list_compress_depth: AtomicI64,
    pub hash_max_listpack_entries: AtomicI64,
    pub hash_max_listpack_value: AtomicI64,
    pub set_max_intset_entries: AtomicI64,
    pub set_max_listpack_entries: AtomicI64,
    pub set_max_listpack_value: AtomicI64,
    pub zset_max_listpack_entries: AtomicI64,
    pub zset_max_listpack_value: AtomicI64,
    pub stream_node_max_entries: AtomicI64,
    pub stream_node_max_bytes: AtomicI64,
}

impl Default for EncodingLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncodingLimits {
            list_max_listpack_size: AtomicI64::new(-2),
            list_compress_depth: AtomicI64::new(0),
            hash_max_listpack_entries: AtomicI64::new(128),
            hash_max_listpack_value: AtomicI64::new(64),
            set_max_intset_entries: AtomicI64::new(512),
            set_max_listpack_entries: AtomicI64::new(128),
            set_max_listpack_value: AtomicI64::new(64),
            zset_max_listpack_entries: AtomicI64::new(128),
            zset_max_listpack_value: AtomicI64::new(64),
            stream_node_max_entries: AtomicI64::new(100),
            stream_node_max_bytes: AtomicI64::new(4096),
        }
    }
}

impl EncodingLimits {
    /// Sets the threshold named by its directive; false for a name that is not one.
    pub fn set(&self, directive: &str, value: i64) -> bool {
        let slot = match directive {
            "list-max-listpack-size" => &self.list_max_listpack_size,
            "list-compress-depth" => &self.list_compress_depth,
            "hash-max-listpack-entries" => &self.hash_max_listpack_entries,
            "hash-max-listpack-value" => &self.hash_max_listpack_value,
            "set-max-intset-entries" => &self.set_max_intset_entries,
            "set-max-listpack-entries" => &self.set_max_listpack_entries,
            "set-max-listpack-value" => &self.set_max_listpack_value,
            "zset-max-listpack-entries" => &self.zset_max_listpack_entries,
            "zset-max-listpack-value" => &self.zset_max_listpack_value,
            "stream-node-max-entries" => &self.stream_node_max_entries,
            "stream-node-max-bytes" => &self.stream_node_max_bytes,
            _ => return false,
        };
        slot.store(value, Ordering::Relaxed);
        true
    }

    pub const DIRECTIVES: &'static [&'static str] = &[
        "list-max-listpack-size",
        "list-compress-depth",
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
        "set-max-intset-entries",
        "set-max-listpack-entries",
        "set-max-listpack-value",
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
        "stream-node-max-entries",
        "stream-node-max-bytes",
    ];

    pub fn get(slot: &AtomicI64) -> i64 {
        slot.load(Ordering::Relaxed)
    }
}

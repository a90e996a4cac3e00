//! Cluster routing: the slot -> node map read from a seed node's CLUSTER SLOTS reply (the key ->
//! slot function is the protocol crate's).

use roost_resp::RespValue;

pub use roost_resp::slot::{key_slot, SLOTS};

/// Which node serves each slot.
#[derive(Clone, Debug)]
pub struct SlotMap {
    /// (host, port) of every master, in first-seen order.
    pub nodes: Vec<(String, u16)>,
    /// Index into `nodes` for each slot.
    owner: Vec<u16>,
}

impl SlotMap {
    /// A map that sends every slot to one node (the non-cluster case).
    pub fn single(host: &str, port: u16) -> SlotMap {
        SlotMap { nodes: vec![(host.to_string(), port)], owner: vec![0; SLOTS] }
    }

    pub fn node_of(&self, key: &[u8]) -> usize {
        self.owner[key_slot(key) as usize] as usize
    }

    /// Builds the map from a CLUSTER SLOTS reply: `[[start, end, [host, port, ...], replicas...], ...]`.
    /// An empty host means "the node you asked" (Redis sends that for an unannounced address).
    pub fn from_cluster_slots(reply: &RespValue, seed_host: &str) -> Result<SlotMap, String> {
        let bad = |why: &str| format!("unexpected CLUSTER SLOTS reply: {why}");
        let ranges = match reply {
            RespValue::Array(r) => r,
            RespValue::Error(e) => return Err(format!("CLUSTER SLOTS failed: {}", String::from_utf8_lossy(e))),
            _ => return Err(bad("not an array")),
        };
        let mut nodes: Vec<(String, u16)> = Vec::new();
        let mut owner = vec![u16::MAX; SLOTS];
        for range in ranges {
            let RespValue::Array(parts) = range else { return Err(bad("a range is not an array")) };
            let (Some(RespValue::Int(start)), Some(RespValue::Int(end)), Some(RespValue::Array(master))) =
                (parts.first(), parts.get(1), parts.get(2))
            else {
                return Err(bad("a range lacks start, end or master"));
            };
            if *start < 0 || *end >= SLOTS as i64 || start > end {
                return Err(bad("slot range out of bounds"));
            }
            let host = match master.first() {
                Some(RespValue::Bulk(h)) if h.is_empty() => seed_host.to_string(),
                Some(RespValue::Bulk(h)) => String::from_utf8_lossy(h).into_owned(),
                Some(RespValue::NullBulk) => seed_host.to_string(),
                _ => return Err(bad("master host is not a string")),
            };
            let port = match master.get(1) {
                Some(RespValue::Int(p)) if (1..=65535).contains(p) => *p as u16,
                _ => return Err(bad("master port is not a port number")),
            };
            let idx = match nodes.iter().position(|n| n.0 == host && n.1 == port) {
                Some(i) => i,
                None => {
                    nodes.push((host, port));
                    nodes.len() - 1
                }
            };
            for slot in &mut owner[*start as usize..=*end as usize] {
                *slot = idx as u16;
            }
        }
        if let Some(missing) = owner.iter().position(|&o| o == u16::MAX) {
            return Err(format!("the cluster does not cover every slot (slot {missing} has no node)"));
        }
        Ok(SlotMap { nodes, owner })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_the_redis_cluster_reference_values() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn hash_tags_hash_only_the_tag_when_it_is_non_empty() {
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    }

    fn node(host: &str, port: i64) -> RespValue {
        RespValue::Array(vec![RespValue::Bulk(host.into()), RespValue::Int(port), RespValue::Bulk(b"id".to_vec())])
    }

    #[test]
    fn slot_map_routes_by_range_and_rejects_gaps() {
        let reply = RespValue::Array(vec![
            RespValue::Array(vec![RespValue::Int(0), RespValue::Int(8191), node("10.0.0.1", 7000)]),
            RespValue::Array(vec![RespValue::Int(8192), RespValue::Int(16383), node("", 7001)]),
        ]);
        let map = SlotMap::from_cluster_slots(&reply, "seed").unwrap();
        assert_eq!(map.nodes, vec![("10.0.0.1".to_string(), 7000), ("seed".to_string(), 7001)]);
        assert_eq!(map.node_of(b"bar"), 0); // slot 5061
        assert_eq!(map.node_of(b"foo"), 1); // slot 12182
        let gap = RespValue::Array(vec![RespValue::Array(vec![RespValue::Int(0), RespValue::Int(100), node("h", 1)])]);
        assert!(SlotMap::from_cluster_slots(&gap, "seed").unwrap_err().contains("slot 101"));
        let err = RespValue::Error(b"ERR This instance has cluster support disabled".to_vec());
        assert!(SlotMap::from_cluster_slots(&err, "seed").unwrap_err().contains("cluster support disabled"));
    }
}

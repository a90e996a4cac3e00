//! Consumer groups: a position in the stream, the entries delivered but not acknowledged (the
//! pending entries list), and the consumers that own them.

use std::collections::{BTreeMap, BTreeSet};

use super::StreamId;

/// An entry delivered to a consumer and not acknowledged yet.
#[derive(Clone, Debug)]
pub struct PendingEntry {
    pub consumer: Box<[u8]>,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    /// Unix ms of the consumer's last read or claim attempt.
    pub seen_time: u64,
    pub pending: BTreeSet<StreamId>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    /// The last entry delivered to the group.
    pub last_id: StreamId,
    /// Entries ever added up to `last_id`, when known.
    pub entries_read: Option<u64>,
    pub pending: BTreeMap<StreamId, PendingEntry>,
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Group {
        Group { last_id, entries_read, ..Group::default() }
    }

    pub fn heap_size(&self) -> usize {
        const PEL: usize = std::mem::size_of::<(StreamId, PendingEntry)>() + 16;
        const OWNED: usize = std::mem::size_of::<StreamId>() + 8;
        let pending: usize = self.pending.values().map(|p| PEL + p.consumer.len()).sum();
        let consumers: usize = self
            .consumers
            .iter()
            .map(|(name, c)| name.len() + std::mem::size_of::<Consumer>() + c.pending.len() * OWNED)
            .sum();
        pending + consumers
    }

    /// The consumer `name`, created if missing; true in the second place when it was created.
    pub fn consumer(&mut self, name: &[u8], now: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let c = self.consumers.entry(name.into()).or_insert_with(|| Consumer { seen_time: now, ..Consumer::default() });
        (c, created)
    }

    /// Records a delivery of `id` to `consumer` (which must exist): a new pending entry, or one
    /// moving to `consumer` from whoever held it.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now: u64, count_delivery: bool) {
        match self.pending.get_mut(&id) {
            Some(p) => {
                if &*p.consumer != consumer {
                    if let Some(old) = self.consumers.get_mut(&p.consumer) {
                        old.pending.remove(&id);
                    }
                    p.consumer = consumer.into();
                }
                p.delivery_time = now;
                if count_delivery {
                    p.delivery_count += 1;
                }
            }
            None => {
                self.pending
                    .insert(id, PendingEntry { consumer: consumer.into(), delivery_time: now, delivery_count: 1 });
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pending.insert(id);
        }
    }

    /// Acknowledges `id`; false if it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pending.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&p.consumer) {
            c.pending.remove(&id);
        }
        true
    }

    /// Deletes a consumer and its pending entries; how many it had, None if it didn't exist.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pending {
            self.pending.remove(id);
        }
        Some(c.pending.len())
    }
}

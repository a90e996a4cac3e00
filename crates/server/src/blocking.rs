//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...), across worker threads.
//!
//! A blocking command first runs like its non-blocking form. Finding nothing, it asks to block;
//! its connection registers a [`Waiter`] in the FIFO queue of each of its keys and sleeps. A write
//! to one of those keys wakes the first waiter of its queue, whose connection runs the command
//! again: it is served, or finds nothing (another client was faster) and sleeps on, keeping its
//! place. A served waiter wakes the next one of each of its keys, so several elements pushed at
//! once reach several clients in the order they blocked, and a wake-up meant for a client that has
//! just left is never lost. Spurious wake-ups cost one retry; missed ones would hang a client.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use foldhash::fast::RandomState;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::error::CmdError;

/// A handler's request to block: set on `ClientState::block` instead of replying.
#[derive(Debug)]
pub struct BlockRequest {
    pub keys: Vec<Vec<u8>>,
    /// Unix ms when the wait ends with a null reply; 0 waits for ever.
    pub deadline_ms: u64,
}

/// How CLIENT UNBLOCK ended a wait.
pub const UNBLOCKED_NOT: u8 = 0;
pub const UNBLOCKED_TIMEOUT: u8 = 1;
pub const UNBLOCKED_ERROR: u8 = 2;

pub struct Waiter {
    pub client_id: u64,
    keys: Vec<(usize, Vec<u8>)>,
    wake: Notify,
    unblocked: AtomicU8,
}

impl Waiter {
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// UNBLOCKED_NOT, or how CLIENT UNBLOCK asked the wait to end.
    pub fn unblocked(&self) -> u8 {
        self.unblocked.load(Ordering::Acquire)
    }
}

/// The clients waiting on one key name: (database, waiter), first come first.
type WaitQueue = VecDeque<(usize, Arc<Waiter>)>;

#[derive(Default)]
pub struct Blocking {
    /// Per key name, the waiters of every database in arrival order (a write to a key in one
    /// database can concern another: MOVE, COPY ... DB).
    queues: Mutex<HashMap<Vec<u8>, WaitQueue, RandomState>>,
    clients: Mutex<HashMap<u64, Arc<Waiter>, RandomState>>,
    /// Blocked clients right now; writes skip all of this while it is zero.
    count: AtomicUsize,
}

impl Blocking {
    pub fn blocked_clients(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Queues a client behind those already waiting on each of `keys` (of database `db`).
    pub fn register(&self, client_id: u64, db: usize, keys: &[Vec<u8>]) -> Arc<Waiter> {
        let mut unique: Vec<(usize, Vec<u8>)> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.iter().any(|(_, u)| u == k) {
                unique.push((db, k.clone()));
            }
        }
        let waiter =
            Arc::new(Waiter { client_id, keys: unique, wake: Notify::new(), unblocked: AtomicU8::new(UNBLOCKED_NOT) });
        {
            let mut queues = self.queues.lock();
            for (db, key) in &waiter.keys {
                queues.entry(key.clone()).or_default().push_back((*db, waiter.clone()));
            }
        }
        self.clients.lock().insert(client_id, waiter.clone());
        self.count.fetch_add(1, Ordering::Relaxed);
        waiter
    }

    /// Takes a client out of every queue it was in, then wakes the next waiter of each of its
    /// keys: whatever woke (or would have woken) this one passes on.
    pub fn unregister(&self, waiter: &Arc<Waiter>) {
        let mut next = Vec::new();
        {
            let mut queues = self.queues.lock();
            for (db, key) in &waiter.keys {
                if let Some(q) = queues.get_mut(key) {
                    q.retain(|(_, w)| !Arc::ptr_eq(w, waiter));
                    if let Some((_, first)) = q.iter().find(|(d, _)| d == db) {
                        next.push(first.clone());
                    }
                    if q.is_empty() {
                        queues.remove(key);
                    }
                }
            }
        }
        self.clients.lock().remove(&waiter.client_id);
        self.count.fetch_sub(1, Ordering::Relaxed);
        for w in next {
            w.wake.notify_one();
        }
    }

    /// A write touched `key`: the first client waiting on it (in any database, as MOVE and COPY
    /// write across databases) tries again.
    pub fn key_written(&self, key: &[u8]) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let queues = self.queues.lock();
        let Some(q) = queues.get(key) else { return };
        // The first waiter of each database: queues are short, databases few.
        let mut woken_dbs: Vec<usize> = Vec::new();
        for (db, w) in q {
            if !woken_dbs.contains(db) {
                woken_dbs.push(*db);
                w.wake.notify_one();
            }
        }
    }

    /// A write without keys (SWAPDB, FLUSHALL...) may have changed anything: everyone retries.
    pub fn everything_written(&self) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        for w in self.clients.lock().values() {
            w.wake.notify_one();
        }
    }

    /// CLIENT UNBLOCK: ends a client's wait as a timeout or with an error. False if the client
    /// is not blocked.
    pub fn unblock(&self, client_id: u64, how: u8) -> bool {
        match self.clients.lock().get(&client_id) {
            Some(w) => {
                w.unblocked.store(how, Ordering::Release);
                w.wake.notify_one();
                true
            }
            None => false,
        }
    }
}

extern "C" {
    fn roost_timeout_ms(s: *const u8, len: usize, out: *mut i64) -> i32;
}

/// A blocking command's timeout argument: seconds, any number C's strtold reads (sub-second,
/// exponents, hex), truncated to whole milliseconds; 0 (or less than a millisecond) waits for
/// ever. Returns the absolute deadline in Unix ms, or 0 for no deadline.
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<u64, CmdError> {
    let mut ms: i64 = 0;
    // SAFETY: the pointer and length describe `arg`; the C side writes one i64 into `ms`.
    if unsafe { roost_timeout_ms(arg.as_ptr(), arg.len(), &mut ms) } != 0 {
        return Err(CmdError::msg("ERR timeout is not a float or out of range"));
    }
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    if ms > i64::MAX - now_ms as i64 {
        return Err(CmdError::msg("ERR timeout is out of range"));
    }
    Ok(now_ms + ms as u64)
}

/// The reply of a blocking command that may not wait (inside MULTI/EXEC or a script) and found
/// nothing: what Redis answers there, a null bulk for the list moves and a null array otherwise.
pub fn answer_without_waiting(spec: &crate::command::CommandSpec, reply: &mut roost_resp::ReplyBuf) {
    match spec.name {
        "blmove" | "brpoplpush" => reply.null(),
        _ => reply.null_array(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_redis() {
        let negative = Err(CmdError::msg("ERR timeout is negative"));
        let not_float = Err(CmdError::msg("ERR timeout is not a float or out of range"));
        assert_eq!(parse_timeout(b"0", 1000), Ok(0));
        assert_eq!(parse_timeout(b"1.5", 1000), Ok(2500));
        assert_eq!(parse_timeout(b"0x10", 0), Ok(16_000));
        assert_eq!(parse_timeout(b"+1", 0), Ok(1000));
        assert_eq!(parse_timeout(b"0.0001", 1000), Ok(0));
        assert_eq!(parse_timeout(b"-0", 1000), Ok(0));
        assert_eq!(parse_timeout(b"-1", 1000), negative);
        assert_eq!(parse_timeout(b"1e16", 1000), negative);
        assert_eq!(parse_timeout(b"inf", 1000), negative);
        assert_eq!(parse_timeout(b"abc", 1000), not_float);
        assert_eq!(parse_timeout(b" 1", 1000), not_float);
        assert_eq!(parse_timeout(b"nan", 1000), not_float);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_in_arrival_order_and_passes_on() {
        let b = Blocking::default();
        let first = b.register(1, 0, &[b"k".to_vec()]);
        let second = b.register(2, 0, &[b"k".to_vec(), b"j".to_vec()]);
        assert_eq!(b.blocked_clients(), 2);
        b.key_written(b"k");
        // Only the first is woken; the second has no permit yet.
        tokio::time::timeout(std::time::Duration::from_millis(50), first.woken()).await.unwrap();
        assert!(tokio::time::timeout(std::time::Duration::from_millis(20), second.woken()).await.is_err());
        b.unregister(&first);
        tokio::time::timeout(std::time::Duration::from_millis(50), second.woken()).await.unwrap();
        assert!(b.unblock(2, UNBLOCKED_ERROR));
        assert_eq!(second.unblocked(), UNBLOCKED_ERROR);
        b.unregister(&second);
        assert_eq!(b.blocked_clients(), 0);
        assert!(b.queues.lock().is_empty());
    }
}

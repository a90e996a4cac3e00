//! Keys the store adds or removes on its own account (a new key, a key whose time was up), told
//! to one listener the embedding server installs. The store only reports; what a report means
//! to clients is the listener's business.
//!
//! Each kind of report is off until asked for, so with nobody listening a key's creation or
//! expiry costs one relaxed load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyEvent {
    /// A key that did not exist was stored.
    Added,
    /// A key was removed because its expiry time had passed (on access or by active expiry).
    Expired,
}

type Listener = Box<dyn Fn(KeyEvent, usize, &[u8]) + Send + Sync>;

static LISTENER: OnceLock<Listener> = OnceLock::new();
static WANT_ADDED: AtomicBool = AtomicBool::new(false);
static WANT_EXPIRED: AtomicBool = AtomicBool::new(false);

/// Installs the process's listener, called with (event, database, key) on the thread that made
/// the change, with that key's shard locked: it must not lock shards itself. Only the first
/// installation takes effect; returns whether this one did.
pub fn set_listener(listener: impl Fn(KeyEvent, usize, &[u8]) + Send + Sync + 'static) -> bool {
    LISTENER.set(Box::new(listener)).is_ok()
}

/// Which events the listener wants to hear about from now on.
pub fn report(added: bool, expired: bool) {
    WANT_ADDED.store(added, Ordering::Relaxed);
    WANT_EXPIRED.store(expired, Ordering::Relaxed);
}

#[inline]
pub(crate) fn added(db: usize, key: &[u8]) {
    if WANT_ADDED.load(Ordering::Relaxed) {
        tell(KeyEvent::Added, db, key);
    }
}

#[inline]
pub(crate) fn expired(db: usize, key: &[u8]) {
    if WANT_EXPIRED.load(Ordering::Relaxed) {
        tell(KeyEvent::Expired, db, key);
    }
}

#[cold]
fn tell(event: KeyEvent, db: usize, key: &[u8]) {
    if let Some(listener) = LISTENER.get() {
        listener(event, db, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::now_ms;
    use crate::keyspace::Keyspace;
    use crate::value::{StrValue, Value};
    use std::sync::Mutex;

    static SEEN: Mutex<Vec<(KeyEvent, usize, Vec<u8>)>> = Mutex::new(Vec::new());

    fn seen_for(prefix: &[u8]) -> Vec<(KeyEvent, usize, Vec<u8>)> {
        SEEN.lock().unwrap().iter().filter(|(_, _, k)| k.starts_with(prefix)).cloned().collect()
    }

    #[test]
    fn new_and_expired_keys_are_reported_with_their_database() {
        set_listener(|event, db, key| SEEN.lock().unwrap().push((event, db, key.to_vec())));
        report(true, true);
        let ks = Keyspace::new(16);
        let v = || Value::Str(StrValue::from_bytes(b"v"));
        ks.lock_key(b"ev:a").db(3).set(b"ev:a", v(), 0);
        // Overwriting is not adding.
        ks.lock_key(b"ev:a").db(3).set(b"ev:a", v(), 0);
        ks.lock_key(b"ev:b").db(0).set(b"ev:b", v(), now_ms() - 1);
        assert!(ks.lock_key(b"ev:b").db(0).get(b"ev:b").is_none());
        // After SWAPDB the table reports its new number.
        ks.swap_dbs(3, 5);
        ks.lock_key(b"ev:a").db(5).set_expire(b"ev:a", 1);
        assert!(ks.lock_key(b"ev:a").db(5).get(b"ev:a").is_none());
        assert_eq!(
            seen_for(b"ev:"),
            vec![
                (KeyEvent::Added, 3, b"ev:a".to_vec()),
                (KeyEvent::Added, 0, b"ev:b".to_vec()),
                (KeyEvent::Expired, 0, b"ev:b".to_vec()),
                (KeyEvent::Expired, 5, b"ev:a".to_vec()),
            ]
        );
        report(false, false);
        ks.lock_key(b"ev:c").db(0).set(b"ev:c", v(), 0);
        assert!(seen_for(b"ev:c").is_empty());
    }
}

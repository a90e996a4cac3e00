//! The clocks the keyspace reads: Unix time in milliseconds, a cached seconds clock for access
//! stamps, and the time a key's expiry is judged by.
//!
//! Expiry is judged by a time that stands still for the length of a command, and of the
//! commands EXEC or a script runs inside it. A key a script or a transaction found alive stays
//! alive until it ends, as in Redis: the commands inside act on the keyspace of one instant, and
//! the log records the same. The command's time is read from the clock the first time it is
//! needed (most commands never need it), or when a script or a transaction begins
//! ([`CommandTime::freeze`]).

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Whether a key whose time is `expire_at` (Unix ms) has expired at `now`. A key lives through
/// the millisecond its time names, as in Redis, and is gone once the clock is past it. Setting a
/// time that has already come (EXPIRE, GETEX, RESTORE) deletes at once instead: that is
/// `expire_at <= now`, as Redis's own check for it.
pub fn has_expired(expire_at: u64, now: u64) -> bool {
    expire_at < now
}

/// Unix seconds, refreshed by [`tick_clock`] from a periodic task: access times are stamped on
/// every command, and a cached value saves a clock read on each.
static CLOCK_SECS: AtomicU32 = AtomicU32::new(0);

pub fn now_secs() -> u32 {
    match CLOCK_SECS.load(Ordering::Relaxed) {
        0 => tick_clock(),
        secs => secs,
    }
}

/// Refreshes the cached seconds clock; returns the new value.
pub fn tick_clock() -> u32 {
    let secs = (now_ms() / 1000) as u32;
    CLOCK_SECS.store(secs, Ordering::Relaxed);
    secs
}

thread_local! {
    /// How many commands this thread is inside (more than one: EXEC or a script runs one), and
    /// the time they judge expiry by, once read (0 until then).
    static COMMAND: Cell<(u32, u64)> = const { Cell::new((0, 0)) };
}

/// A command running on this thread for as long as the value lives. The outermost one's time
/// holds for every command nested in it, and is forgotten when it ends, also by unwinding.
pub struct CommandTime {
    /// Tied to the thread whose count it raised.
    _thread: PhantomData<*const ()>,
}

impl CommandTime {
    pub fn enter() -> CommandTime {
        COMMAND.with(|c| {
            let (depth, at) = c.get();
            c.set((depth + 1, at));
        });
        CommandTime { _thread: PhantomData }
    }

    /// How many commands this thread is inside.
    pub fn depth() -> u32 {
        COMMAND.with(|c| c.get().0)
    }

    /// Reads the command's time now if it has not been read: a script or a transaction judges
    /// every key by the time it began, however long it runs before it first looks at one.
    pub fn freeze() {
        expiry_now_ms();
    }
}

impl Drop for CommandTime {
    fn drop(&mut self) {
        COMMAND.with(|c| {
            let (depth, at) = c.get();
            let depth = depth.saturating_sub(1);
            c.set((depth, if depth == 0 { 0 } else { at }));
        });
    }
}

/// The time expiry is judged by: the running command's, or the clock's outside any command.
pub fn expiry_now_ms() -> u64 {
    COMMAND.with(|c| match c.get() {
        (0, _) => now_ms(),
        (_, at) if at != 0 => at,
        (depth, _) => {
            let at = now_ms();
            c.set((depth, at));
            at
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleep_ms(ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }

    #[test]
    fn time_stands_still_inside_a_command_and_its_nested_ones() {
        let outside = expiry_now_ms();
        sleep_ms(3);
        assert!(expiry_now_ms() > outside, "outside a command the clock runs");
        let outer = CommandTime::enter();
        CommandTime::freeze();
        let frozen = expiry_now_ms();
        sleep_ms(3);
        {
            let _inner = CommandTime::enter();
            assert_eq!(CommandTime::depth(), 2);
            assert_eq!(expiry_now_ms(), frozen);
        }
        sleep_ms(3);
        assert_eq!(expiry_now_ms(), frozen);
        drop(outer);
        assert_eq!(CommandTime::depth(), 0);
        assert!(expiry_now_ms() >= frozen + 6);
        // The next command reads the clock again, when it first asks.
        let _next = CommandTime::enter();
        sleep_ms(3);
        assert!(expiry_now_ms() >= frozen + 9);
    }
}

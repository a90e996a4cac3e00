//! Stopping the world: how a script (or a transaction that reaches beyond its declared keys)
//! runs with no other command executing anywhere, without a lock on the common path.
//!
//! Every worker raises its `active` flag while it executes commands and checks `owner` before
//! each one; a client that needs the world takes `owner` and then waits until every other
//! worker's flag is down. Both sides store then load with sequential consistency, so at least
//! one of them sees the other: either the worker parks before its next command, or the stopper
//! waits for it to finish the command it is in. Parked commands wait asynchronously, so their
//! threads keep serving: past `busy-reply-threshold` of a script they answer -BUSY, and the
//! commands allowed while busy (SCRIPT KILL, SHUTDOWN NOSAVE, ...) run.
//!
//! The usual cost is one store when a batch of commands starts, one when it ends, and one load
//! of a rarely written word per command.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use roost_store::now_ms;

use crate::stats::WorkerStats;

/// What holds the world, for the -BUSY text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Holder {
    Transaction = 0,
    Eval = 1,
    Function = 2,
}

pub const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// The owner id the housekeeping thread takes the world with; client ids count up from 1.
pub const HOUSEKEEPER: u64 = u64::MAX;

#[derive(Default)]
pub struct Gate {
    /// Id of the client that has the world stopped; 0 when none has.
    owner: AtomicU64,
    /// When the owner stopped the world (Unix ms).
    since_ms: AtomicU64,
    holder: AtomicU8,
    /// The housekeeping thread's own `active` flag (workers keep theirs in their statistics).
    pub housekeeping_active: AtomicBool,
    released: Notify,
}

/// What a parked command should do once the gate answers.
pub enum Passage {
    /// The world is free (or ours): run.
    Run,
    /// A script is past the busy threshold and the command may run beside it.
    RunBesideScript,
    /// A script is past the busy threshold: answer this error instead.
    Busy(&'static str),
}

impl Gate {
    /// Whether a command of client `me` may run now without waiting; call with the worker's
    /// `active` flag raised.
    #[inline]
    pub fn open_for(&self, me: u64) -> bool {
        let owner = self.owner.load(Ordering::SeqCst);
        owner == 0 || owner == me
    }

    /// Raises a worker's flag for a batch of commands.
    #[inline]
    pub fn enter(stats: &WorkerStats) {
        stats.active.store(true, Ordering::SeqCst);
    }

    /// Lowers it before the worker awaits anything.
    #[inline]
    pub fn leave(stats: &WorkerStats) {
        stats.active.store(false, Ordering::SeqCst);
    }

    pub fn owned_by(&self, me: u64) -> bool {
        self.owner.load(Ordering::SeqCst) == me
    }

    /// Waits until no other client holds the world (whatever it is running).
    pub async fn wait_free(&self, me: u64) {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let owner = self.owner.load(Ordering::SeqCst);
            if owner == 0 || owner == me {
                return;
            }
            released.await;
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.owner.load(Ordering::SeqCst) != 0
    }

    /// Waits (with this worker's flag down) until a command may run. `allow_busy`: the command
    /// carries the ALLOW_BUSY flag. `threshold_ms`: busy-reply-threshold.
    pub async fn pass(&self, me: u64, allow_busy: bool, threshold_ms: u64) -> Passage {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let owner = self.owner.load(Ordering::SeqCst);
            if owner == 0 || owner == me {
                return Passage::Run;
            }
            let holder = self.holder.load(Ordering::SeqCst);
            if holder != Holder::Transaction as u8 {
                let busy_at = self.since_ms.load(Ordering::SeqCst).saturating_add(threshold_ms);
                let now = now_ms();
                if now >= busy_at {
                    if allow_busy {
                        return Passage::RunBesideScript;
                    }
                    return Passage::Busy(if holder == Holder::Eval as u8 { BUSY_EVAL } else { BUSY_FUNCTION });
                }
                let _ = tokio::time::timeout(Duration::from_millis(busy_at - now), released).await;
            } else {
                released.await;
            }
        }
    }

    /// Takes the world for client `me` running on the worker `mine`: waits for any other owner
    /// to finish, then for every other worker and housekeeping to leave the command they are in.
    pub async fn stop_world(
        &self,
        me: u64,
        mine: &WorkerStats,
        workers: &[std::sync::Arc<WorkerStats>],
        holder: Holder,
    ) {
        loop {
            if self.owner.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                break;
            }
            Gate::leave(mine);
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.owner.load(Ordering::SeqCst) != 0 {
                released.await;
            }
            Gate::enter(mine);
        }
        self.holder.store(holder as u8, Ordering::SeqCst);
        self.since_ms.store(now_ms(), Ordering::SeqCst);
        let others = workers.iter().filter(|w| !std::ptr::eq(w.as_ref(), mine)).map(|w| &w.active);
        for flag in others.chain(std::iter::once(&self.housekeeping_active)) {
            // Each wait is bounded by one command on that worker: it parks before its next one.
            let mut spins = 0u32;
            while flag.load(Ordering::SeqCst) {
                if spins < 1000 {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Takes the world for the housekeeping thread (a save or rewrite begins its snapshot there):
    /// false when a client holds it. Waits for every worker to leave the command it is in;
    /// `release(HOUSEKEEPER)` gives it back.
    pub fn stop_world_for_housekeeping(&self, workers: &[std::sync::Arc<WorkerStats>]) -> bool {
        if self.owner.compare_exchange(0, HOUSEKEEPER, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return false;
        }
        self.since_ms.store(now_ms(), Ordering::SeqCst);
        for w in workers {
            while w.active.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
        true
    }

    /// Marks what holds the world (a script sets this once it knows it is one).
    pub fn set_holder(&self, holder: Holder) {
        self.holder.store(holder as u8, Ordering::SeqCst);
    }

    /// Gives the world back and wakes every parked command.
    pub fn release(&self, me: u64) {
        if self.owner.compare_exchange(me, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            self.holder.store(Holder::Transaction as u8, Ordering::SeqCst);
            self.released.notify_waiters();
        }
    }
}

//! The AOF writer thread: the only thread that touches the incremental file. Workers put
//! records in the log and never wait on the disk; under appendfsync always their connections
//! wait (asynchronously) for the offset this thread publishes after each fsync. Everything that
//! piled up during one write + fsync goes out in the next: a group commit.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Aof, Fsync};
use crate::log::{log, NOTICE, WARNING};
use crate::server::Server;

/// How often a busy writer looks for new records under everysec and no: what a process crash can
/// lose beyond what was already handed to the kernel.
const POLL: Duration = Duration::from_millis(1);

/// How long a failed write waits before it is tried again.
const RETRY: Duration = Duration::from_secs(1);

pub(super) fn spawn(server: Arc<Server>) -> std::io::Result<()> {
    std::thread::Builder::new().name("roost-aof".into()).spawn(move || run(&server)).map(|_| ())
}

/// State the thread keeps between rounds.
struct Round {
    /// Bytes taken from the log but not yet in the file (kept across failed writes).
    pending: Vec<u8>,
    /// Log offset at the end of `pending`.
    pending_end: u64,
    last_fsync: Instant,
    /// Log offset up to which the file has been fsynced (`durable` can be ahead of it while
    /// fsyncs are held, see `step`).
    synced: u64,
}

fn run(server: &Server) {
    let aof = &server.aof;
    let mut round = Round { pending: Vec::new(), pending_end: 0, last_fsync: Instant::now(), synced: 0 };
    let mut busy = false;
    loop {
        {
            let mut log = aof.log.lock();
            if log.buf.is_empty() && round.pending.is_empty() {
                let policy = aof.policy();
                if policy != Fsync::Always && busy {
                    // Records keep coming: look again shortly instead of being woken for each.
                    aof.wake.wait_for(&mut log, POLL);
                } else {
                    // Idle: the next append wakes us (stored under the log lock, so an append
                    // made after we looked sees it). Also wake now and then for everysec's fsync
                    // and for switching off.
                    aof.writer_idle.store(true, Ordering::Release);
                    aof.wake.wait_for(&mut log, Duration::from_millis(100));
                    aof.writer_idle.store(false, Ordering::Release);
                }
            }
            busy = !log.buf.is_empty();
            if !log.buf.is_empty() {
                if round.pending.is_empty() {
                    std::mem::swap(&mut round.pending, &mut log.buf);
                } else {
                    round.pending.extend_from_slice(&log.buf);
                    log.buf.clear();
                }
                round.pending_end = aof.appended.load(Ordering::Acquire);
            }
        }
        // `no-appendfsync-on-rewrite yes`: while a snapshot writes its file, the log is written
        // but not fsynced, and under `always` replies go out without waiting for an fsync, as
        // with Redis while it has a child saving.
        let hold_fsync = aof.no_fsync_on_rewrite.load(Ordering::Relaxed) && server.keyspace.snapshot_running();
        let ok = step(aof, &mut round, hold_fsync);
        if !ok {
            std::thread::sleep(RETRY);
        }
    }
}

/// Writes `pending`, fsyncs as the policy says, publishes the offsets. False after a failure.
fn step(aof: &Aof, round: &mut Round, hold_fsync: bool) -> bool {
    let mut target = aof.target.lock();
    let Some(file) = target.as_mut() else {
        // Switched off and closed: nothing is being appended.
        round.pending.clear();
        aof.written.store(round.pending_end, Ordering::Release);
        aof.durable.store(round.pending_end, Ordering::Release);
        aof.durable_changed.notify_waiters();
        return true;
    };
    if !round.pending.is_empty() {
        if let Err(e) = write_pending(aof, file, &mut round.pending) {
            fail(aof, &reason(&e));
            return false;
        }
        aof.written.store(round.pending_end, Ordering::Release);
    }
    let written = aof.written.load(Ordering::Acquire);
    let durable = aof.durable.load(Ordering::Acquire);
    let policy = aof.policy();
    let due = match policy {
        Fsync::Always => true,
        Fsync::EverySec => round.last_fsync.elapsed() >= Duration::from_secs(1),
        Fsync::No => false,
    };
    let switching_off = !aof.is_on();
    if hold_fsync && !switching_off {
        if written > durable {
            aof.durable.store(written, Ordering::Release);
            aof.durable_changed.notify_waiters();
        }
    } else if written > round.synced && (due || switching_off) {
        let started = Instant::now();
        if let Err(e) = file.sync_data() {
            fail(aof, &reason(&e));
            return false;
        }
        if started.elapsed() > Duration::from_secs(2) {
            aof.delayed_fsync.fetch_add(1, Ordering::Relaxed);
        }
        round.last_fsync = Instant::now();
        round.synced = written;
        aof.durable.store(written, Ordering::Release);
        aof.durable_changed.notify_waiters();
    }
    if aof.failed.swap(false, Ordering::AcqRel) {
        log(NOTICE, "AOF write error looks solved, Roost can write again.");
    }
    if switching_off && aof.log.lock().buf.is_empty() {
        *target = None;
        // Offsets of a closed file mean nothing to waiters: let everyone through.
        let end = aof.appended.load(Ordering::Acquire);
        aof.written.store(end, Ordering::Release);
        aof.durable.store(end, Ordering::Release);
        aof.durable_changed.notify_waiters();
        log(NOTICE, "Append-only file closed.");
    }
    true
}

/// Writes all of `pending`, or on failure puts the file back to its length before the write
/// (a half record would make the file unloadable) and keeps `pending` for the retry. If the
/// file cannot be shortened, what did reach it stays written and only the rest is retried.
fn write_pending(aof: &Aof, file: &mut std::fs::File, pending: &mut Vec<u8>) -> std::io::Result<()> {
    let start_len = file.metadata().map(|m| m.len()).ok();
    let mut done = 0;
    while done < pending.len() {
        match file.write(&pending[done..]) {
            Ok(0) => {
                return Err(undo(file, pending, done, start_len, std::io::ErrorKind::WriteZero.into()));
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(undo(file, pending, done, start_len, e)),
        }
    }
    aof.incr_size.fetch_add(pending.len() as u64, Ordering::Relaxed);
    pending.clear();
    Ok(())
}

fn undo(
    file: &mut std::fs::File,
    pending: &mut Vec<u8>,
    done: usize,
    start_len: Option<u64>,
    e: std::io::Error,
) -> std::io::Error {
    if done > 0 {
        let truncated = start_len.is_some_and(|len| file.set_len(len).is_ok());
        if !truncated {
            pending.drain(..done);
        }
    }
    e
}

/// The system's text for an error, as Redis prints strerror(): without Rust's "(os error N)".
fn reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

fn fail(aof: &Aof, reason: &str) {
    *aof.last_error.lock() = reason.to_string();
    if !aof.failed.swap(true, Ordering::AcqRel) {
        log(WARNING, &format!("Error writing to the AOF file: {reason}. Refusing writes until it succeeds again."));
    }
}

/// Waits (up to a few seconds) until the writer thread has written everything in the log, then
/// fsyncs: for shutdown only, never on a worker's hot path.
pub(super) fn drain_once(aof: &Aof) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while aof.target.lock().is_some()
        && aof.written.load(Ordering::Acquire) < aof.appended.load(Ordering::Acquire)
        && Instant::now() < deadline
    {
        aof.wake.notify_one();
        std::thread::sleep(Duration::from_millis(1));
    }
    if let Some(file) = aof.target.lock().as_mut() {
        if file.sync_data().is_ok() {
            let written = aof.written.load(Ordering::Acquire);
            aof.durable.store(written, Ordering::Release);
            aof.durable_changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AOF under `appendfsync always` writing to `file`, with one SET taken from the log
    /// into the writer's round.
    fn one_set_for(file: std::fs::File) -> (Aof, Round) {
        let aof = Aof::new();
        aof.on.store(true, Ordering::Relaxed);
        aof.policy.store(Fsync::Always as u8, Ordering::Relaxed);
        *aof.target.lock() = Some(file);
        let mut buf = Vec::new();
        super::super::encode(&mut buf, [&b"SET"[..], b"k", b"v"].into_iter());
        aof.append_records(&buf, &[(0, 0)]);
        let mut round = Round { pending: Vec::new(), pending_end: 0, last_fsync: Instant::now(), synced: 0 };
        std::mem::swap(&mut round.pending, &mut aof.log.lock().buf);
        round.pending_end = aof.appended.load(Ordering::Relaxed);
        (aof, round)
    }

    #[test]
    fn a_failed_write_is_kept_refused_and_retried_until_it_succeeds() {
        let full = std::fs::OpenOptions::new().append(true).open("/dev/full").expect("/dev/full");
        let (aof, mut round) = one_set_for(full);
        assert!(!step(&aof, &mut round, false));
        let refused = aof.misconf().expect("writes refused").text();
        assert_eq!(refused, "MISCONF Errors writing to the AOF file: No space left on device");
        assert_eq!(aof.durable.load(Ordering::Relaxed), 0, "nothing acknowledged");
        assert!(!round.pending.is_empty(), "kept for the retry");

        // The disk has room again: the same bytes go out and writes are accepted.
        let path = std::env::temp_dir().join(format!("roost-aof-retry-{}", std::process::id()));
        let file = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path).unwrap();
        *aof.target.lock() = Some(file);
        assert!(step(&aof, &mut round, false));
        assert!(aof.misconf().is_none());
        assert_eq!(aof.durable.load(Ordering::Relaxed), aof.appended.load(Ordering::Relaxed));
        let written = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(written.ends_with(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"), "{written:?}");
    }

    #[test]
    fn held_fsyncs_acknowledge_writes_and_are_made_up_for_afterwards() {
        let path = std::env::temp_dir().join(format!("roost-aof-held-{}", std::process::id()));
        let file = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path).unwrap();
        let (aof, mut round) = one_set_for(file);
        // While a snapshot runs with no-appendfsync-on-rewrite: written and acknowledged, not
        // fsynced.
        assert!(step(&aof, &mut round, true));
        let end = aof.appended.load(Ordering::Relaxed);
        assert_eq!(aof.durable.load(Ordering::Relaxed), end);
        assert_eq!(round.synced, 0);
        // Once it has ended, the next round fsyncs what was held.
        assert!(step(&aof, &mut round, false));
        assert_eq!(round.synced, end);
        let _ = std::fs::remove_file(&path);
    }
}

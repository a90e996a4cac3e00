//! BGREWRITEAOF and the automatic rewrite: a new base built from a fork-less snapshot while new
//! writes go to a new incremental file.
//!
//! At the rewrite's instant (the world stopped, so no command is half done) the records already
//! in the log are written out, the writer is switched to a fresh incremental file, and a
//! keyspace snapshot begins. The manifest then names the old base, the old incremental files
//! and the new one, so a crash during the rewrite loses nothing. When the snapshot's RDB file
//! (the new base, with Redis's `aof-base` aux field) is complete, the manifest is replaced by
//! one naming only the new base and the new incremental file, and the old files are removed.
//! The base holds exactly the writes before the instant and the new incremental file exactly
//! those after it.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roost_store::now_ms;

use super::{io_err, Files};
use crate::log::{log, NOTICE, WARNING};
use crate::persist::{self, FileForm, SaveError};
use crate::server::Server;

#[derive(Default)]
pub struct RewriteState {
    running: AtomicBool,
    /// Asked for while a save held the keyspace's snapshot: started once it is free.
    pub scheduled: AtomicBool,
    started_ms: AtomicU64,
    last_secs: AtomicI64,
    last_ok: AtomicBool,
    pub rewrites: AtomicU64,
    consecutive_failures: AtomicU64,
}

impl RewriteState {
    pub fn new() -> RewriteState {
        RewriteState { last_secs: AtomicI64::new(-1), last_ok: AtomicBool::new(true), ..Default::default() }
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// INFO persistence's rewrite fields.
    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let current = match self.started_ms.load(Ordering::Relaxed) {
            0 => -1,
            t => (now_ms().saturating_sub(t) / 1000) as i64,
        };
        vec![
            ("aof_rewrite_in_progress", u8::from(self.running()).to_string()),
            ("aof_rewrite_scheduled", u8::from(self.scheduled.load(Ordering::Relaxed)).to_string()),
            ("aof_last_rewrite_time_sec", self.last_secs.load(Ordering::Relaxed).to_string()),
            ("aof_current_rewrite_time_sec", current.to_string()),
            ("aof_last_bgrewrite_status", if self.last_ok.load(Ordering::Relaxed) { "ok" } else { "err" }.into()),
            ("aof_rewrites", self.rewrites.load(Ordering::Relaxed).to_string()),
            ("aof_rewrites_consecutive_failures", self.consecutive_failures.load(Ordering::Relaxed).to_string()),
        ]
    }
}

/// Why a rewrite did not start.
pub enum RewriteError {
    AlreadyRunning,
    /// A save holds the snapshot; the rewrite is scheduled for when it ends.
    Scheduled,
    Failed(String),
}

/// Starts a rewrite. Callers stop the world first (BGREWRITEAOF is EXCLUSIVE; housekeeping
/// takes the world for it).
pub fn start(server: &Arc<Server>) -> Result<(), RewriteError> {
    let aof = &server.aof;
    let state = &aof.rewrite;
    if state.running.swap(true, Ordering::AcqRel) {
        return Err(RewriteError::AlreadyRunning);
    }
    if server.save.in_progress() {
        state.running.store(false, Ordering::Release);
        state.scheduled.store(true, Ordering::Relaxed);
        return Err(RewriteError::Scheduled);
    }
    state.scheduled.store(false, Ordering::Relaxed);
    if !aof.is_on() {
        return rewrite_while_off(server);
    }
    match switch_incr(server) {
        Ok((base_path, base_name, base_seq, first_new_incr, form)) => {
            let started = now_ms();
            state.started_ms.store(started, Ordering::Relaxed);
            log(NOTICE, "Background append only file rewriting started");
            let begun = persist::write_snapshot(
                server,
                base_path,
                form,
                persist::SavePace::Background,
                move |server, result| {
                    finish(server, result.and_then(|()| install(server, base_name, base_seq, first_new_incr)), started);
                },
            );
            match begun {
                Ok(()) => Ok(()),
                Err(SaveError::InProgress | SaveError::Busy) => {
                    finish(server, Err("the keyspace snapshot is busy".into()), started);
                    Err(RewriteError::Failed("the keyspace snapshot is busy".into()))
                }
            }
        }
        Err(e) => {
            finish(server, Err(e.clone()), now_ms());
            Err(RewriteError::Failed(e))
        }
    }
}

fn finish(server: &Server, result: Result<(), String>, started: u64) {
    let state = &server.aof.rewrite;
    state.last_secs.store((now_ms().saturating_sub(started) / 1000) as i64, Ordering::Relaxed);
    state.started_ms.store(0, Ordering::Relaxed);
    match result {
        Ok(()) => {
            state.last_ok.store(true, Ordering::Relaxed);
            state.rewrites.fetch_add(1, Ordering::Relaxed);
            state.consecutive_failures.store(0, Ordering::Relaxed);
            log(NOTICE, "Background AOF rewrite finished successfully");
        }
        Err(e) => {
            state.last_ok.store(false, Ordering::Relaxed);
            state.consecutive_failures.fetch_add(1, Ordering::Relaxed);
            log(WARNING, &format!("Background AOF rewrite failed: {e}"));
        }
    }
    state.running.store(false, Ordering::Release);
}

/// A rewrite with appendonly off, as Redis does one: a base of the data (a snapshot of this
/// instant) and a manifest naming only it, which `appendonly yes` at the next start loads.
fn rewrite_while_off(server: &Arc<Server>) -> Result<(), RewriteError> {
    let state = &server.aof.rewrite;
    let fail = |e: String| {
        finish(server, Err(e.clone()), now_ms());
        Err(RewriteError::Failed(e))
    };
    let mut files = super::configured_files(&server.config.read());
    if let Err(e) = std::fs::create_dir_all(&files.dir) {
        return fail(io_err("Can't create the AOF directory", &files.dir, e));
    }
    let previous = super::load::read_manifest(&files).ok();
    let base_seq = previous.as_ref().and_then(|p| p.base.as_ref()).map_or(0, |b| b.1) + 1;
    let (base_name, form) = base_file(server, &files, base_seq);
    let base_path = files.dir.join(&base_name);
    let started = now_ms();
    state.started_ms.store(started, Ordering::Relaxed);
    log(NOTICE, "Background append only file rewriting started");
    let begun =
        persist::write_snapshot(server, base_path, form, persist::SavePace::Background, move |server, result| {
            let result = result.and_then(|()| {
                files.base = Some((base_name, base_seq));
                files.incrs.clear();
                files.write_manifest().map_err(|e| io_err("Can't write the manifest", &files.manifest_path(), e))?;
                if let Some(previous) = previous {
                    remove_unlisted(&files, &previous);
                }
                Ok(())
            });
            finish(server, result, started);
        });
    match begun {
        Ok(()) => Ok(()),
        Err(SaveError::InProgress | SaveError::Busy) => fail("the keyspace snapshot is busy".into()),
    }
}

/// CONFIG SET appendonly yes on a non-empty dataset, with the world stopped. Appending starts
/// at once, into a new incremental file; a snapshot of this instant writes the new base. Only
/// when the base is complete is the manifest written, naming the two: until then the files
/// hold only part of the data, so a restart must not load them, and loads what it would have
/// before (the previous layout, if any), as with Redis. If the base fails, appending stops.
pub(crate) fn switch_on_with_data(server: &Arc<Server>) -> Result<(), String> {
    let state = &server.aof.rewrite;
    if server.save.in_progress() || state.running() {
        return Err("ERR Background save or AOF rewrite in progress: switch appendonly on when it has ended".into());
    }
    let config = server.config.read().clone();
    let mut files = super::configured_files(&config);
    std::fs::create_dir_all(&files.dir).map_err(|e| io_err("Can't create the AOF directory", &files.dir, e))?;
    let previous = super::load::read_manifest(&files).ok();
    let (base_seq, incr_seq) = previous.as_ref().map_or((1, 1), |p| {
        (p.base.as_ref().map_or(0, |b| b.1) + 1, p.incrs.iter().map(|i| i.1).max().unwrap_or(0) + 1)
    });
    let incr_name = format!("{}.{incr_seq}.incr.aof", files.filename);
    let incr_path = files.dir.join(&incr_name);
    File::create(&incr_path).map_err(|e| io_err("Can't create", &incr_path, e))?;
    let (base_name, form) = base_file(server, &files, base_seq);
    let base_path = files.dir.join(&base_name);
    files.base = None;
    files.incrs = vec![(incr_name, incr_seq)];
    state.running.store(true, Ordering::Release);
    if let Err(e) = super::start_feeding(server, files) {
        state.running.store(false, Ordering::Release);
        return Err(format!("ERR {e}"));
    }
    let started = now_ms();
    state.started_ms.store(started, Ordering::Relaxed);
    log(NOTICE, "Background append only file rewriting started (appendonly switched on)");
    let begun =
        persist::write_snapshot(server, base_path, form, persist::SavePace::Background, move |server, result| {
            let result = result.and_then(|()| install(server, base_name, base_seq, incr_seq)).map(|()| {
                if let Some(previous) = previous {
                    remove_unlisted(&server.aof.files.lock(), &previous);
                }
            });
            if result.is_err() {
                let _one = server.aof.switching.lock();
                super::switch_off(server);
            }
            finish(server, result, started);
        });
    match begun {
        Ok(()) => Ok(()),
        Err(_) => {
            // The caller (`switch`) holds `switching`.
            super::switch_off(server);
            finish(server, Err("the keyspace snapshot is busy".into()), started);
            Err("ERR Background save or AOF rewrite in progress: switch appendonly on when it has ended".into())
        }
    }
}

/// Removes the files of `previous` (a layout replaced) that `current` does not name.
fn remove_unlisted(current: &Files, previous: &Files) {
    for (name, _) in previous.base.iter().chain(previous.incrs.iter()) {
        let kept = current.base.as_ref().is_some_and(|b| &b.0 == name) || current.incrs.iter().any(|i| &i.0 == name);
        if !kept {
            let _ = std::fs::remove_file(previous.dir.join(name));
        }
    }
}

/// Writes out what the log holds, then points the writer at a new incremental file named in
/// the manifest beside the old ones. Returns the new base's path, name and sequence, and the
/// new incremental file's sequence.
type NewBase = (std::path::PathBuf, String, u64, u64, FileForm);

fn switch_incr(server: &Server) -> Result<NewBase, String> {
    let aof = &server.aof;
    // The world is stopped: nothing is being appended, so the writer catches up.
    let deadline = Instant::now() + Duration::from_secs(10);
    while aof.written.load(Ordering::Acquire) < aof.appended.load(Ordering::Acquire) {
        if Instant::now() > deadline {
            return Err("the append-only file is not being written (a write error?)".into());
        }
        aof.wake.notify_one();
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut files = aof.files.lock();
    let incr_seq = files.incrs.iter().map(|i| i.1).max().unwrap_or(0) + 1;
    let incr_name = format!("{}.{incr_seq}.incr.aof", files.filename);
    let incr_path = files.dir.join(&incr_name);
    let file = File::options()
        .create(true)
        .append(true)
        .open(&incr_path)
        .map_err(|e| io_err("Can't create", &incr_path, e))?;
    {
        let mut target = aof.target.lock();
        if let Some(old) = target.as_mut() {
            old.sync_data().map_err(|e| format!("Can't fsync the append-only file: {e}"))?;
        }
        *target = Some(file);
    }
    // The new file starts with no database selected.
    aof.log.lock().selected_db = -1;
    files.incrs.push((incr_name, incr_seq));
    files.write_manifest().map_err(|e| io_err("Can't write the manifest", &files.manifest_path(), e))?;
    aof.incr_size.store(0, Ordering::Relaxed);
    let base_seq = files.base.as_ref().map_or(0, |b| b.1) + 1;
    let (base_name, form) = base_file(server, &files, base_seq);
    Ok((files.dir.join(&base_name), base_name, base_seq, incr_seq, form))
}

/// The name and form of a new base: an RDB file, or commands with `aof-use-rdb-preamble no`,
/// named by their form as Redis names them.
fn base_file(server: &Server, files: &Files, seq: u64) -> (String, FileForm) {
    if server.config.read().get_one("aof-use-rdb-preamble").as_deref() == Some("no") {
        (format!("{}.{seq}.base.aof", files.filename), FileForm::Commands)
    } else {
        (format!("{}.{seq}.base.rdb", files.filename), FileForm::RdbAofBase)
    }
}

/// The new base is complete: the manifest names it and the incremental files from the
/// rewrite's instant on; the files before are removed.
fn install(server: &Server, base_name: String, base_seq: u64, first_new_incr: u64) -> Result<(), String> {
    let aof = &server.aof;
    let mut files = aof.files.lock();
    let old: Files = files.clone();
    files.base = Some((base_name, base_seq));
    files.incrs.retain(|(_, seq)| *seq >= first_new_incr);
    files.write_manifest().map_err(|e| io_err("Can't write the manifest", &files.manifest_path(), e))?;
    remove_unlisted(&files, &old);
    let base_size = files.base.as_ref().map_or(0, |(n, _)| std::fs::metadata(files.dir.join(n)).map_or(0, |m| m.len()));
    aof.base_size.store(base_size, Ordering::Relaxed);
    Ok(())
}

/// The automatic rewrite (`auto-aof-rewrite-percentage`, `auto-aof-rewrite-min-size`), and a
/// rewrite that was scheduled behind a save. Called by housekeeping when no world-stopping
/// command runs.
pub fn rewrite_if_due(server: &Arc<Server>) {
    let aof = &server.aof;
    let scheduled = aof.rewrite.scheduled.load(Ordering::Relaxed);
    if (!aof.is_on() && !scheduled) || aof.rewrite.running() || server.save.in_progress() {
        return;
    }
    let due = scheduled || {
        let config = server.config.read();
        let percent: u64 = config.get_one("auto-aof-rewrite-percentage").and_then(|v| v.parse().ok()).unwrap_or(100);
        let min: u64 = config.get_one("auto-aof-rewrite-min-size").and_then(|v| v.parse().ok()).unwrap_or(64 << 20);
        let base = aof.base_size.load(Ordering::Relaxed);
        let current = base + aof.incr_size.load(Ordering::Relaxed);
        percent > 0 && current > min && current.saturating_sub(base) * 100 / base.max(1) >= percent
    };
    // The rewrite's instant must fall between commands everywhere.
    if due && server.gate.stop_world_for_housekeeping(&server.workers) {
        let _ = start(server);
        server.gate.release(crate::gate::HOUSEKEEPER);
    }
}

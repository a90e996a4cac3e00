//! The append-only file, in Redis 7's multi-part layout: a directory (`appenddirname`) holding a
//! base file, incremental files and a manifest naming them.
//!
//! Owns: what a write command leaves in the file (its deterministic form, SELECTs, MULTI/EXEC
//! wrapping, `#TS:` annotations), the order of those records, the writer thread and its fsync
//! policy, loading at startup and `roost check-aof`.
//! Never: value encodings (commands replay through the command table) or RDB (the base of a
//! multi-part AOF may be an RDB file, read by the store's RDB reader).
//!
//! Order: a write command's records enter the shared log while the command still holds the
//! shards of its keys (see [`before`]), so two writes to one key reach the file in the order
//! they happened. Records of one command, of a transaction or of a script are collected per
//! thread and enter the log together, wrapped in MULTI/EXEC when there are several.

pub(crate) mod command_base;
pub mod load;
pub mod rewrite;
mod rewrite_argv;
mod writer;

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

use roost_config::Config;
use roost_resp::{write_int, Args};
use roost_store::{now_secs, Keyspace, ShardHold};

use crate::command::{flags, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::CmdError;
use crate::server::Server;

/// appendfsync.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Fsync {
    No = 0,
    EverySec = 1,
    Always = 2,
}

/// The shared log: records waiting for the writer thread.
struct Log {
    buf: Vec<u8>,
    /// The database the file's reader is in after the last record (-1: none selected yet).
    selected_db: i64,
    /// Unix seconds of the last `#TS:` annotation.
    last_ts: u64,
}

/// The files of the multi-part AOF in use.
#[derive(Clone, Debug, Default)]
pub struct Files {
    pub dir: PathBuf,
    pub filename: String,
    pub base: Option<(String, u64)>,
    pub incrs: Vec<(String, u64)>,
}

impl Files {
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.filename))
    }

    /// Redis 7's manifest text: one line per file, base first.
    pub fn manifest_text(&self) -> String {
        let mut text = String::new();
        if let Some((name, seq)) = &self.base {
            text.push_str(&format!("file {name} seq {seq} type b\n"));
        }
        for (name, seq) in &self.incrs {
            text.push_str(&format!("file {name} seq {seq} type i\n"));
        }
        text
    }

    /// Writes the manifest atomically: a temporary file, fsynced, renamed over the old one,
    /// then the directory fsynced so the rename itself survives a crash.
    pub fn write_manifest(&self) -> std::io::Result<()> {
        use std::io::Write;
        let path = self.manifest_path();
        let tmp = self.dir.join(format!("temp-{}.manifest", self.filename));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(self.manifest_text().as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        File::open(&self.dir)?.sync_all()
    }

    pub fn incr_path(&self) -> Option<PathBuf> {
        self.incrs.last().map(|(n, _)| self.dir.join(n))
    }
}

pub struct Aof {
    /// Whether writes are being appended: the one load the hot path pays.
    on: AtomicBool,
    policy: AtomicU8,
    timestamps: AtomicBool,
    /// `no-appendfsync-on-rewrite`: no fsync while a snapshot (a save, a rewrite) runs.
    no_fsync_on_rewrite: AtomicBool,
    log: Mutex<Log>,
    /// Wakes the writer thread: under appendfsync always when the log stops being empty, and
    /// otherwise only when the writer went idle (while busy it polls, sparing every append a
    /// wake-up system call).
    wake: Condvar,
    writer_idle: AtomicBool,
    /// Bytes ever put in the log, written to the file, and known to be on disk: offsets in one
    /// stream, so "durable >= appended as of my write" says my write is on disk.
    appended: AtomicU64,
    written: AtomicU64,
    durable: AtomicU64,
    /// Raised after each fsync, for connections waiting under appendfsync always.
    durable_changed: tokio::sync::Notify,
    /// The last write or fsync failed: writes are refused (MISCONF) until one succeeds.
    failed: AtomicBool,
    last_error: Mutex<String>,
    delayed_fsync: AtomicU64,
    base_size: AtomicU64,
    /// Bytes of the incremental files before the one being appended to, plus that one's.
    incr_size: AtomicU64,
    /// The file the writer appends to, and the layout it belongs to.
    target: Mutex<Option<File>>,
    pub files: Mutex<Files>,
    writer_started: AtomicBool,
    /// Only one switch of appendonly at a time.
    switching: Mutex<()>,
    /// BGREWRITEAOF and the automatic rewrite.
    pub rewrite: rewrite::RewriteState,
}

impl Default for Aof {
    fn default() -> Self {
        Aof::new()
    }
}

impl Aof {
    pub fn new() -> Aof {
        Aof {
            on: AtomicBool::new(false),
            policy: AtomicU8::new(Fsync::EverySec as u8),
            timestamps: AtomicBool::new(false),
            no_fsync_on_rewrite: AtomicBool::new(false),
            log: Mutex::new(Log { buf: Vec::new(), selected_db: -1, last_ts: 0 }),
            wake: Condvar::new(),
            writer_idle: AtomicBool::new(false),
            appended: AtomicU64::new(0),
            written: AtomicU64::new(0),
            durable: AtomicU64::new(0),
            durable_changed: tokio::sync::Notify::new(),
            failed: AtomicBool::new(false),
            last_error: Mutex::new(String::new()),
            delayed_fsync: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
            incr_size: AtomicU64::new(0),
            target: Mutex::new(None),
            files: Mutex::new(Files::default()),
            writer_started: AtomicBool::new(false),
            switching: Mutex::new(()),
            rewrite: rewrite::RewriteState::new(),
        }
    }

    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub fn policy(&self) -> Fsync {
        match self.policy.load(Ordering::Relaxed) {
            0 => Fsync::No,
            2 => Fsync::Always,
            _ => Fsync::EverySec,
        }
    }

    /// The directives read while running (appendfsync, aof-timestamp-enabled,
    /// no-appendfsync-on-rewrite).
    pub fn apply_config(&self, config: &Config) {
        let policy = match config.get_one("appendfsync").as_deref() {
            Some("always") => Fsync::Always,
            Some("no") => Fsync::No,
            _ => Fsync::EverySec,
        };
        self.policy.store(policy as u8, Ordering::Relaxed);
        self.timestamps.store(config.get_one("aof-timestamp-enabled").as_deref() == Some("yes"), Ordering::Relaxed);
        let no_fsync = config.get_one("no-appendfsync-on-rewrite").as_deref() == Some("yes");
        self.no_fsync_on_rewrite.store(no_fsync, Ordering::Relaxed);
    }

    /// The error write commands get while the file cannot be written.
    pub fn misconf(&self) -> Option<CmdError> {
        if !self.failed.load(Ordering::Relaxed) {
            return None;
        }
        let reason = self.last_error.lock().clone();
        Some(CmdError::msg(format!("MISCONF Errors writing to the AOF file: {reason}")))
    }

    /// Under appendfsync always, the offset a connection must see durable before it answers:
    /// everything in the log now, so no client is ever shown data that could still be lost.
    /// While the file cannot be written, only batches that wrote wait (for the retry to
    /// succeed); the others answer, so reads go on during the outage. `mark` is
    /// [`thread_mark`] at the batch's start.
    #[inline]
    pub fn durable_target(&self, mark: u64) -> Option<u64> {
        if !self.is_on() || self.policy() != Fsync::Always {
            return None;
        }
        let target = if self.failed.load(Ordering::Relaxed) {
            let own = thread_mark();
            if own <= mark {
                return None;
            }
            own
        } else {
            self.appended.load(Ordering::Acquire)
        };
        (self.durable.load(Ordering::Acquire) < target).then_some(target)
    }

    /// Waits (asynchronously: the worker goes on serving others) until `target` is on disk.
    pub async fn wait_durable(&self, target: u64) {
        loop {
            let notified = self.durable_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.durable.load(Ordering::Acquire) >= target {
                return;
            }
            notified.await;
        }
    }

    /// Appends whole records to the log. Called with the shards of the records' keys held.
    fn append_records(&self, buf: &[u8], records: &[(i64, usize)]) {
        if records.is_empty() {
            return;
        }
        let mut log = self.log.lock();
        let was_empty = log.buf.is_empty();
        let before = log.buf.len();
        if self.timestamps.load(Ordering::Relaxed) {
            let now = now_secs() as u64;
            if now > log.last_ts {
                log.last_ts = now;
                log.buf.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            }
        }
        let end_of = |i: usize| records.get(i + 1).map_or(buf.len(), |r| r.1);
        let wrap = records.len() > 1;
        if wrap {
            // MULTI goes in the first record's database, so any SELECT comes before it.
            select(&mut log, records[0].0);
            log.buf.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
        }
        for (i, &(db, start)) in records.iter().enumerate() {
            select(&mut log, db);
            log.buf.extend_from_slice(&buf[start..end_of(i)]);
        }
        if wrap {
            log.buf.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
        }
        let added = (log.buf.len() - before) as u64;
        let end = self.appended.fetch_add(added, Ordering::Release) + added;
        drop(log);
        LAST_END.with(|c| c.set(end));
        let wake = match self.policy() {
            Fsync::Always => was_empty,
            _ => self.writer_idle.load(Ordering::Relaxed) && self.writer_idle.swap(false, Ordering::AcqRel),
        };
        if wake {
            self.wake.notify_one();
        }
    }

    /// INFO persistence fields that exist only while the AOF is on, in Redis's order.
    pub fn info_fields(&self) -> Vec<(&'static str, String)> {
        let base = self.base_size.load(Ordering::Relaxed);
        vec![
            ("aof_current_size", (base + self.incr_size.load(Ordering::Relaxed)).to_string()),
            ("aof_base_size", base.to_string()),
            ("aof_pending_rewrite", "0".into()),
            ("aof_buffer_length", self.log.lock().buf.len().to_string()),
            ("aof_pending_bio_fsync", "0".into()),
            ("aof_delayed_fsync", self.delayed_fsync.load(Ordering::Relaxed).to_string()),
        ]
    }

    pub fn last_write_ok(&self) -> bool {
        !self.failed.load(Ordering::Relaxed)
    }

    /// Writes out and fsyncs what the log holds, on the calling thread: for shutdown only.
    pub fn flush_now(&self) {
        writer::drain_once(self);
    }
}

fn select(log: &mut Log, db: i64) {
    if db >= 0 && db != log.selected_db {
        log.selected_db = db;
        let mut digits = Vec::with_capacity(4);
        write_int(&mut digits, db);
        log.buf.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$");
        write_int(&mut log.buf, digits.len() as i64);
        log.buf.extend_from_slice(b"\r\n");
        log.buf.extend_from_slice(&digits);
        log.buf.extend_from_slice(b"\r\n");
    }
}

/// Appends one RESP command of `parts` to `out`.
pub(crate) fn encode<'p>(out: &mut Vec<u8>, parts: impl ExactSizeIterator<Item = &'p [u8]>) {
    out.push(b'*');
    write_int(out, parts.len() as i64);
    out.extend_from_slice(b"\r\n");
    for p in parts {
        out.push(b'$');
        write_int(out, p.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
}

// ---------------------------------------------------------------------------------------------
// Collecting a command's records on its own thread.

/// Records of the command (transaction, script) running on this thread, not yet in the log.
#[derive(Default)]
struct Scope {
    /// Nesting: a write command, EXEC, a script, and writes inside them.
    depth: u32,
    buf: Vec<u8>,
    /// (database, start in `buf`) of each record; a record ends where the next starts.
    records: Vec<(i64, usize)>,
}

thread_local! {
    /// Changes announced on this thread (every change a command makes is announced as a
    /// keyspace event, whether anyone listens or not): a write that announced nothing
    /// changed nothing, and Redis leaves such a command out of the file.
    static CHANGES: Cell<u64> = const { Cell::new(0) };
    static SCOPE: RefCell<Scope> = RefCell::new(Scope::default());
    /// Log offset at the end of this thread's last records.
    static LAST_END: Cell<u64> = const { Cell::new(0) };
}

/// Log offset at the end of the last records this thread put in the log.
#[inline]
pub fn thread_mark() -> u64 {
    LAST_END.with(Cell::get)
}

/// Counts a change a command announced.
#[inline]
pub(crate) fn changed() {
    CHANGES.with(|c| c.set(c.get().wrapping_add(1)));
}

/// Whether the store must report expired keys (they become DELs in the file).
static WANTS_EXPIRED: AtomicBool = AtomicBool::new(false);

pub(crate) fn wants_expired() -> bool {
    WANTS_EXPIRED.load(Ordering::Relaxed)
}

/// What [`before`] noted for [`after`].
pub(crate) struct Pending<'a> {
    _hold: Option<ShardHold<'a>>,
    changes: u64,
    reply_start: usize,
    db: usize,
    write: bool,
}

/// Commands whose changes do not all show as keyspace events: propagated whenever they succeed.
fn always_propagated(name: &str) -> bool {
    matches!(
        name,
        "flushall"
            | "flushdb"
            | "swapdb"
            | "xack"
            | "xclaim"
            | "xautoclaim"
            | "xreadgroup"
            | "xsetid"
            | "function|load"
            | "function|delete"
            | "function|flush"
            | "function|restore"
    )
}

fn is_script(name: &str) -> bool {
    matches!(name, "eval" | "evalsha" | "fcall")
}

/// Before a command runs with the AOF on: refuses writes while the file cannot be written, and
/// for a write that is not inside a transaction or script, holds the shards of its keys until
/// its records are in the log.
pub(crate) fn before<'a>(
    server: &'a Server,
    ctx: &Ctx,
    spec: &'static CommandSpec,
    args: &Args,
) -> Result<Option<Pending<'a>>, CmdError> {
    let write = spec.has(flags::WRITE);
    if write || spec.name == "ping" {
        if let Some(e) = server.aof.misconf() {
            return Err(e);
        }
    }
    if !write && !is_script(spec.name) {
        return Ok(None);
    }
    let outermost = SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        s.depth += 1;
        s.depth == 1
    });
    // Scripts run with the world stopped, so they need no shards of their own.
    let hold = (outermost && write && !server.gate.owned_by(ctx.handle.id)).then(|| hold_for(server, spec, args));
    Ok(Some(Pending {
        _hold: hold,
        changes: CHANGES.with(Cell::get),
        reply_start: ctx.reply.out.len(),
        db: ctx.client.db,
        write,
    }))
}

/// One key per shard, so every shard can be held through `hold_keys`.
fn every_shard_key() -> &'static [Vec<u8>] {
    static KEYS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<Option<Vec<u8>>> = vec![None; roost_store::SHARDS];
        let mut missing = roost_store::SHARDS;
        let mut n = 0u64;
        while missing > 0 && n < 10_000_000 {
            let key = n.to_string().into_bytes();
            let i = Keyspace::shard_index(&key);
            if keys[i].is_none() {
                keys[i] = Some(key);
                missing -= 1;
            }
            n += 1;
        }
        keys.into_iter().flatten().collect()
    })
}

fn hold_for<'a>(server: &'a Server, spec: &CommandSpec, args: &Args) -> ShardHold<'a> {
    let base = spec.name.split('|').next().unwrap_or(spec.name);
    let beyond = matches!(spec.keys, Keys::None)
        || (matches!(base, "sort")
            && args.iter().skip(2).any(|a| a.eq_ignore_ascii_case(b"by") || a.eq_ignore_ascii_case(b"get")));
    if beyond {
        // Keyless writes (FLUSHALL, SWAPDB, FUNCTION LOAD) and SORT's patterns reach any shard:
        // hold them all, in order, so nothing interleaves with their record.
        server.keyspace.hold_keys(every_shard_key().iter().map(Vec::as_slice))
    } else if let Keys::Range { first, last, step } = spec.keys {
        // The table's key positions, without collecting them first.
        let argc = args.len() as i32;
        let last = if last < 0 { argc + last } else { last.min(argc - 1) };
        let positions = (first..=last).step_by(step.max(1) as usize).filter(move |&i| i >= 0 && i < argc);
        server.keyspace.hold_keys(positions.map(|i| args.get(i as usize)))
    } else {
        let positions = spec.key_positions(args);
        server.keyspace.hold_keys(positions.into_iter().map(|i| args.get(i)))
    }
}

/// After a command ran: its records (if it succeeded and changed something) join the
/// thread's scope, and the outermost command puts the scope in the log.
pub(crate) fn after(server: &Server, ctx: &Ctx, spec: &'static CommandSpec, args: &Args, p: Pending, ok: bool) {
    if p.write && ok {
        let announced = CHANGES.with(Cell::get) != p.changes;
        if announced || always_propagated(spec.name) {
            let reply = ctx.reply.out.get(p.reply_start..).unwrap_or(&[]);
            let rewritten = rewrite_argv::rewrite(server, p.db, spec, args, reply, announced);
            SCOPE.with(|s| {
                let mut s = s.borrow_mut();
                let s = &mut *s;
                match rewritten {
                    rewrite_argv::Rewritten::Verbatim => {
                        s.records.push((p.db as i64, s.buf.len()));
                        encode(&mut s.buf, args.iter());
                    }
                    rewrite_argv::Rewritten::Commands(cmds) => {
                        for cmd in cmds {
                            s.records.push((p.db as i64, s.buf.len()));
                            encode(&mut s.buf, cmd.iter().map(Vec::as_slice));
                        }
                    }
                    rewrite_argv::Rewritten::Nothing => {}
                }
            });
        }
    }
    end_scope(server);
    // Only now, with the records in the log, may other writers have the shards.
    drop(p);
}

/// Leaves one level of the thread's scope; leaving the outermost puts its records in the log.
fn end_scope(server: &Server) {
    SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        s.depth = s.depth.saturating_sub(1);
        if s.depth == 0 && !s.records.is_empty() {
            server.aof.append_records(&s.buf, &s.records);
            s.records.clear();
            s.buf.clear();
            if s.buf.capacity() > 1 << 20 {
                s.buf = Vec::new();
            }
        }
    });
}

/// A transaction's scope: the records of its commands enter the log together, wrapped in
/// MULTI/EXEC, while EXEC still holds their shards.
pub struct Wrap(bool);

impl Wrap {
    pub fn begin(server: &Server) -> Wrap {
        if !server.aof.is_on() {
            return Wrap(false);
        }
        SCOPE.with(|s| s.borrow_mut().depth += 1);
        Wrap(true)
    }

    pub fn end(self, server: &Server) {
        if self.0 {
            end_scope(server);
        }
    }
}

/// A key whose time was up was removed (lazily or by active expiry): the file gets a DEL, as
/// Redis writes. Called with the key's shard locked, so the DEL is in order with other writes.
pub(crate) fn key_expired(server: &Server, db: usize, key: &[u8]) {
    if !server.aof.is_on() {
        return;
    }
    let in_command = SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        if s.depth == 0 {
            return false;
        }
        let s = &mut *s;
        s.records.push((db as i64, s.buf.len()));
        encode(&mut s.buf, [&b"DEL"[..], key].into_iter());
        true
    });
    if !in_command {
        let mut buf = Vec::with_capacity(24 + key.len());
        encode(&mut buf, [&b"DEL"[..], key].into_iter());
        server.aof.append_records(&buf, &[(db as i64, 0)]);
    }
}

// ---------------------------------------------------------------------------------------------
// Switching on and off.

/// The layout named by the configuration.
pub(crate) fn configured_files(config: &Config) -> Files {
    Files {
        dir: PathBuf::from(config.get_one("appenddirname").unwrap_or_else(|| "appendonlydir".into())),
        filename: config.get_one("appendfilename").unwrap_or_else(|| "appendonly.aof".into()),
        base: None,
        incrs: Vec::new(),
    }
}

pub(crate) fn io_err(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

/// Starts appending to `files`' last incremental file (which must exist in the manifest).
pub(crate) fn start_feeding(server: &Arc<Server>, files: Files) -> Result<(), String> {
    let aof = &server.aof;
    let path = files.incr_path().ok_or("the manifest names no incremental file")?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io_err("Can't open the append-only file", &path, e))?;
    let incr: u64 = files.incrs.iter().map(|(n, _)| std::fs::metadata(files.dir.join(n)).map_or(0, |m| m.len())).sum();
    let base = files.base.as_ref().map_or(0, |(n, _)| std::fs::metadata(files.dir.join(n)).map_or(0, |m| m.len()));
    aof.base_size.store(base, Ordering::Relaxed);
    aof.incr_size.store(incr, Ordering::Relaxed);
    *aof.target.lock() = Some(file);
    *aof.files.lock() = files;
    {
        // A new file starts with no database selected.
        let mut log = aof.log.lock();
        log.selected_db = -1;
        log.last_ts = 0;
    }
    aof.failed.store(false, Ordering::Relaxed);
    WANTS_EXPIRED.store(true, Ordering::Relaxed);
    crate::notify::refresh_reports(&server.pubsub);
    aof.on.store(true, Ordering::Release);
    if !aof.writer_started.swap(true, Ordering::AcqRel) {
        writer::spawn(server.clone()).map_err(|e| format!("Can't start the AOF writer thread: {e}"))?;
    }
    Ok(())
}

/// Creates a fresh layout for an empty dataset: a base of no keys and an empty incremental file,
/// numbered after whatever the directory held, and the manifest naming only them. Files the old
/// manifest named are removed once the new one is in place.
fn create_fresh(config: &Config) -> Result<Files, String> {
    let mut files = configured_files(config);
    std::fs::create_dir_all(&files.dir).map_err(|e| io_err("Can't create the AOF directory", &files.dir, e))?;
    let old = load::read_manifest(&files).ok();
    let (base_seq, incr_seq) = old.as_ref().map_or((1, 1), |o| {
        (o.base.as_ref().map_or(0, |b| b.1) + 1, o.incrs.iter().map(|i| i.1).max().unwrap_or(0) + 1)
    });
    // As Redis: an RDB file with no keys, or with `aof-use-rdb-preamble no` an empty file.
    let rdb_base = config.get_one("aof-use-rdb-preamble").as_deref() != Some("no");
    let base = format!("{}.{base_seq}.base.{}", files.filename, if rdb_base { "rdb" } else { "aof" });
    let incr = format!("{}.{incr_seq}.incr.aof", files.filename);
    for (name, kind) in [(&base, "base"), (&incr, "incr")] {
        let path = files.dir.join(name);
        if kind == "base" && rdb_base {
            crate::persist::write_empty_base(&path, config).map_err(|e| io_err("Can't create", &path, e))?;
        } else {
            let f = File::create(&path).map_err(|e| io_err("Can't create", &path, e))?;
            f.sync_all().map_err(|e| io_err("Can't fsync", &path, e))?;
        }
        crate::log::log(crate::log::NOTICE, &format!("Creating AOF {kind} file {name}"));
    }
    files.base = Some((base, base_seq));
    files.incrs = vec![(incr, incr_seq)];
    files.write_manifest().map_err(|e| io_err("Can't write the manifest", &files.manifest_path(), e))?;
    if let Some(old) = old {
        for (name, _) in old.base.iter().chain(old.incrs.iter()) {
            if files.base.as_ref().is_some_and(|b| &b.0 == name) || files.incrs.iter().any(|i| &i.0 == name) {
                continue;
            }
            let _ = std::fs::remove_file(old.dir.join(name));
        }
    }
    Ok(files)
}

/// At startup, after the configuration is read and before clients are accepted: with
/// `appendonly yes`, loads the files the manifest names (or creates a fresh layout) and starts
/// appending.
pub fn start(server: &Arc<Server>) -> Result<(), String> {
    let config = server.config.read().clone();
    server.aof.apply_config(&config);
    if config.get_one("appendonly").as_deref() != Some("yes") {
        return Ok(());
    }
    let files = configured_files(&config);
    upgrade_single_file(&files)?;
    let files = if files.manifest_path().exists() {
        let truncated_ok = config.get_one("aof-load-truncated").as_deref() != Some("no");
        let mut files = load::load_all(server, &files, truncated_ok)?;
        if files.incrs.is_empty() {
            // A layout with a base only (a rewrite's result, an upgraded single file): appends
            // need an incremental file. Its sequence follows the incremental files' own, as in
            // Redis: with none listed, 1.
            let seq = 1;
            files.incrs.push((format!("{}.{seq}.incr.aof", files.filename), seq));
            files.write_manifest().map_err(|e| io_err("Can't write the manifest", &files.manifest_path(), e))?;
        }
        files
    } else {
        if !dataset_empty(server) {
            return Err("appendonly is yes but the AOF directory has no manifest and the dataset is not empty: \
                        writing a base of existing data is not supported yet"
                .into());
        }
        create_fresh(&config)?
    };
    start_feeding(server, files)
}

/// Moves a Redis 6 style single append-only file (`appendfilename` in `dir`) into the directory
/// as its base, as Redis 7.0 does on its first start after an upgrade: the manifest naming it is
/// written first, then the file is moved, so a crash between the two is finished by the next
/// start (a manifest naming only that base, with the file still outside). Loading then treats it
/// like any base (an RDB preamble and commands, or commands), and an incremental file is added.
fn upgrade_single_file(configured: &Files) -> Result<(), String> {
    let old = Path::new(&configured.filename);
    if !old.is_file() {
        return Ok(());
    }
    let moved = configured.dir.join(&configured.filename);
    let upgrading = if !configured.manifest_path().exists() || manifest_is_empty(configured) {
        true
    } else {
        // An unreadable manifest is not an upgrade: loading reports it.
        load::read_manifest(configured)
            .is_ok_and(|m| m.incrs.is_empty() && m.base.is_some_and(|b| b.0 == configured.filename) && !moved.exists())
    };
    if !upgrading {
        return Ok(());
    }
    std::fs::create_dir_all(&configured.dir)
        .map_err(|e| io_err("Can't create the AOF directory", &configured.dir, e))?;
    let mut files = configured.clone();
    files.base = Some((configured.filename.clone(), 1));
    files.incrs.clear();
    files.write_manifest().map_err(|e| io_err("Can't write the manifest", &files.manifest_path(), e))?;
    std::fs::rename(old, &moved).map_err(|e| io_err("Can't move the old-style AOF file", old, e))?;
    File::open(&configured.dir).and_then(|d| d.sync_all()).map_err(|e| io_err("Can't fsync", &configured.dir, e))?;
    crate::log::log(
        crate::log::NOTICE,
        &format!(
            "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
            configured.filename,
            configured.dir.display()
        ),
    );
    Ok(())
}

/// Whether the manifest file holds no entries (Redis treats that like no manifest).
fn manifest_is_empty(files: &Files) -> bool {
    std::fs::read_to_string(files.manifest_path())
        .is_ok_and(|text| text.lines().all(|l| l.trim().is_empty() || l.trim().starts_with('#')))
}

pub(crate) fn dataset_empty(server: &Server) -> bool {
    (0..server.keyspace.databases()).all(|db| server.keyspace.dbsize(db) == 0)
}

/// CONFIG SET appendonly yes|no at runtime. Switching on runs with the world stopped (see
/// `connection::world_needed`), so the emptiness check and the first record cannot race, and
/// a non-empty dataset's base is a snapshot of that instant.
pub(crate) fn switch(server: &Arc<Server>, on: bool) -> Result<(), String> {
    let _one = server.aof.switching.lock();
    let aof = &server.aof;
    if on == aof.is_on() {
        return Ok(());
    }
    if !on {
        switch_off(server);
        return Ok(());
    }
    if aof.written.load(Ordering::Acquire) < aof.appended.load(Ordering::Acquire) || aof.target.lock().is_some() {
        return Err("ERR The previous append-only file is still being flushed, try again".into());
    }
    if aof.rewrite.running() {
        // A rewrite made with appendonly off would write its manifest over the new layout's.
        return Err("ERR Background save or AOF rewrite in progress: switch appendonly on when it has ended".into());
    }
    if !dataset_empty(server) {
        return rewrite::switch_on_with_data(server);
    }
    let config = server.config.read().clone();
    let files = create_fresh(&config)?;
    start_feeding(server, files)
}

/// Stops appending; the caller holds `switching`.
pub(crate) fn switch_off(server: &Server) {
    let aof = &server.aof;
    aof.on.store(false, Ordering::Release);
    WANTS_EXPIRED.store(false, Ordering::Relaxed);
    crate::notify::refresh_reports(&server.pubsub);
    // The writer drains what is left into the old file, fsyncs it and closes it.
    aof.wake.notify_one();
}

/// Whether a CONFIG SET names appendonly (it then runs with the world stopped).
pub(crate) fn config_set_switches(args: &Args) -> bool {
    (2..args.len()).step_by(2).any(|i| args.get(i).eq_ignore_ascii_case(b"appendonly"))
}

/// The appendonly value a CONFIG SET asks for, if it names it.
pub(crate) fn config_set_value(pairs: &[(&[u8], &[u8])]) -> Option<bool> {
    let (_, v) = pairs.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(b"appendonly"))?;
    if v.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if v.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shard_has_a_key_to_hold_it_by() {
        let keys = every_shard_key();
        assert_eq!(keys.len(), roost_store::SHARDS);
        let mut seen: Vec<usize> = keys.iter().map(|k| Keyspace::shard_index(k)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), roost_store::SHARDS);
    }

    #[test]
    fn records_get_select_and_a_wrap_only_when_several() {
        let aof = Aof::new();
        let mut buf = Vec::new();
        encode(&mut buf, [&b"SET"[..], b"k", b"v"].into_iter());
        aof.append_records(&buf, &[(0, 0)]);
        let one = buf.len();
        encode(&mut buf, [&b"INCR"[..], b"n"].into_iter());
        aof.append_records(&buf, &[(0, 0), (1, one)]);
        let log = aof.log.lock();
        let text = String::from_utf8_lossy(&log.buf).replace("\r\n", " ");
        assert_eq!(
            text,
            "*2 $6 SELECT $1 0 *3 $3 SET $1 k $1 v \
             *1 $5 MULTI *3 $3 SET $1 k $1 v *2 $6 SELECT $1 1 *2 $4 INCR $1 n *1 $4 EXEC "
        );
        assert_eq!(aof.appended.load(Ordering::Relaxed), log.buf.len() as u64);
    }
}

//! RDB snapshots on disk: SAVE and BGSAVE write `dbfilename` (in `dir`, the working directory)
//! from a fork-less point-in-time snapshot of the keyspace, and startup loads it.
//!
//! A save begins the keyspace's snapshot (`roost_store::snapshot`) with a sink that encodes
//! each captured shard into RDB records on the thread that captured it and hands the bytes to
//! the save's writer thread through a channel. A driver thread captures the shards nobody
//! touched. The writer streams the records into a temp file, then the file is fsynced and
//! renamed over `dbfilename`, so a crash leaves the previous file whole. No worker thread
//! waits on the disk; extra memory is the encoded shards queued for the writer.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use parking_lot::Mutex;
use roost_store::rdb::crc64::crc64;
use roost_store::rdb::{put_key, put_select_db, EncodeOptions, Reader, Record, Writer};
use roost_store::snapshot::SnapshotKey;
use roost_store::{now_ms, ShardSink};

use crate::aof::command_base;
use crate::log;
use crate::mapped::MappedFile;
use crate::server::Server;
use crate::stats::WorkerStats;

/// What INFO persistence and LASTSAVE report about saves.
pub struct SaveState {
    in_progress: AtomicBool,
    /// Unix seconds of the last successful save (startup time before any).
    pub last_save: AtomicU64,
    last_ok: AtomicBool,
    /// Seconds the last background save took; -1 before any.
    pub last_duration: AtomicI64,
    /// Unix ms when the running save began; 0 when none runs.
    started_ms: AtomicU64,
    /// The write count (the workers' `dirty` sum) the last successful save covered.
    pub dirty_at_save: AtomicU64,
    pub saves: AtomicU64,
    /// BGSAVE SCHEDULE asked while a rewrite held the snapshot: started once it is free.
    pub scheduled: AtomicBool,
    /// Unix ms of the last failed attempt, so the save rules retry no sooner than Redis does.
    pub last_failure_ms: AtomicU64,
}

impl SaveState {
    pub fn new(now_secs: u64) -> SaveState {
        SaveState {
            in_progress: AtomicBool::new(false),
            last_save: AtomicU64::new(now_secs),
            last_ok: AtomicBool::new(true),
            last_duration: AtomicI64::new(-1),
            started_ms: AtomicU64::new(0),
            dirty_at_save: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            scheduled: AtomicBool::new(false),
            last_failure_ms: AtomicU64::new(0),
        }
    }

    pub fn in_progress(&self) -> bool {
        self.in_progress.load(Ordering::Acquire)
    }

    pub fn last_ok(&self) -> bool {
        self.last_ok.load(Ordering::Relaxed)
    }

    /// Seconds the running save has taken so far; -1 when none runs.
    pub fn current_secs(&self) -> i64 {
        match self.started_ms.load(Ordering::Relaxed) {
            0 => -1,
            t => (now_ms().saturating_sub(t) / 1000) as i64,
        }
    }
}

/// The most encoded bytes the driver lets queue up for the writer before it waits: the bound
/// on a save's buffers when the disk is slower than encoding. Writers changing keys never wait.
const MAX_QUEUED_BYTES: usize = 8 << 20;

/// The longest a background save's driver rests between two steps.
const MAX_REST: std::time::Duration = std::time::Duration::from_millis(5);

/// How long the writer sleeps when it finds the queue empty.
const WRITER_POLL: std::time::Duration = std::time::Duration::from_micros(500);

/// What a snapshot is written as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FileForm {
    /// An RDB file (`dbfilename`).
    Rdb,
    /// An RDB file as an append-only file's base (Redis's `aof-base` aux field set).
    RdbAofBase,
    /// An append-only file's base written as commands (`aof-use-rdb-preamble no`).
    Commands,
}

/// What the snapshot's sink queues for the writer thread: keys of database `db`, encoded. RDB
/// records carry their own database selector; commands get a SELECT from the writer when the
/// database changes.
struct Chunk {
    db: usize,
    bytes: Vec<u8>,
}

/// Encodes the snapshot's keys (into RDB records, or commands) and queues them for the writer.
struct ShardEncoder {
    tx: mpsc::Sender<Chunk>,
    opts: EncodeOptions,
    commands: bool,
    /// Bytes queued and not yet written; the writer thread subtracts what it writes.
    queued: Arc<AtomicUsize>,
    /// Set when the writer stops reading (done or failed), so pacing never waits on it.
    writer_gone: Arc<AtomicBool>,
    /// `rdb-key-save-delay`.
    key_delay_us: i64,
    /// A background save's driver rests between steps while clients are served (`rest`).
    rests: bool,
    workers: Vec<Arc<WorkerStats>>,
    /// Client reads counted at the end of the driver's last step, and when that was.
    last_step: Mutex<(u64, Instant)>,
}

impl ShardEncoder {
    fn send(&self, chunk: Chunk) {
        self.queued.fetch_add(chunk.bytes.len(), Ordering::Relaxed);
        // A writer that gave up (a failed disk) has dropped the receiver; the snapshot still
        // has to finish, so the error is not this thread's to act on.
        let _ = self.tx.send(chunk);
    }

    /// While clients are being served (their sockets were read since the last step), the driver
    /// rests after each step for twice as long as the step took, up to `MAX_REST`: it then
    /// takes at most a third of a core, and leaves the cores to the workers alone most of the
    /// time. The idle scheduling class alone is not enough: a driver that never stops cost the
    /// workers about a quarter of their write rate on two cores; resting cut that to about a
    /// tenth, and the save took about twice as long (docs/persistence.md). With no clients it
    /// runs unpaced.
    fn rest(&self) {
        let mut last = self.last_step.lock();
        let reads: u64 = self.workers.iter().map(|w| w.reads.load(Ordering::Relaxed)).sum();
        if reads != last.0 {
            std::thread::sleep((last.1.elapsed() * 2).min(MAX_REST));
        }
        *last = (reads, Instant::now());
    }
}

impl ShardSink for ShardEncoder {
    fn keys(&self, db: usize, keys: &mut dyn Iterator<Item = SnapshotKey<'_>>) {
        let mut out = Vec::new();
        for (key, entry, expire_at) in keys {
            if self.commands {
                command_base::put_key(&mut out, key.as_bytes(), &entry.value, expire_at);
                continue;
            }
            if out.is_empty() {
                put_select_db(&mut out, db, 0, 0);
            }
            let expire = (expire_at != 0).then_some(expire_at);
            put_key(&mut out, key.as_bytes(), &entry.value, expire, &self.opts);
        }
        if !out.is_empty() {
            self.send(Chunk { db, bytes: out });
        }
    }

    fn changing(&self, db: usize, (key, entry, expire_at): SnapshotKey<'_>) {
        // This runs on a worker in the middle of a command, during a background save (a save
        // someone waits for holds every command off): the key is encoded here, uncompressed, and
        // written as it is. LZF is most of encoding's cost, and compressing these keys later in
        // the writer, even in the idle scheduling class, cost about a tenth of the write rate
        // during the save (docs/persistence.md), for a smaller file. The buffer is sized up
        // front: growing it would copy the value again.
        let mut out = Vec::with_capacity(key.as_bytes().len() + entry.value.heap_size() + 64);
        if self.commands {
            command_base::put_key(&mut out, key.as_bytes(), &entry.value, expire_at);
        } else {
            put_select_db(&mut out, db, 0, 0);
            let opts = EncodeOptions { compress: false, ..self.opts };
            put_key(&mut out, key.as_bytes(), &entry.value, (expire_at != 0).then_some(expire_at), &opts);
        }
        self.send(Chunk { db, bytes: out });
    }

    fn pace(&self, given: usize) {
        // `rdb-key-save-delay`, a testing aid as in Redis: microseconds per key, or when
        // negative, one microsecond every that many keys.
        let micros = match self.key_delay_us {
            0 => 0,
            d if d > 0 => d as u64 * given as u64,
            d => given as u64 / d.unsigned_abs(),
        };
        if micros > 0 {
            std::thread::sleep(std::time::Duration::from_micros(micros));
        }
        // Bounded by the writer: it either drains the queue or sets `writer_gone`.
        while self.queued.load(Ordering::Relaxed) > MAX_QUEUED_BYTES && !self.writer_gone.load(Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        if self.rests {
            self.rest();
        }
    }
}

/// Moves the calling thread into the idle scheduling class (`idle`) or back to the normal one.
/// In the idle class the save's encoding and writing run in the time commands leave over
/// instead of taking it from them: a worker that wakes up preempts them at once.
fn run_when_idle(idle: bool) {
    let param = libc::sched_param { sched_priority: 0 };
    let policy = if idle { libc::SCHED_IDLE } else { libc::SCHED_OTHER };
    // SAFETY: a plain syscall on the calling thread (pid 0); a failure only leaves the policy
    // as it was.
    unsafe {
        libc::sched_setscheduler(0, policy, &param);
    }
}

/// How a save shares the cores with commands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SavePace {
    /// A background save (BGSAVE, the save rules, a rewrite): its threads run in the time
    /// commands leave over, the writer catching up at normal priority only when its queue
    /// passes its bound.
    Background,
    /// Someone waits for it (SAVE, shutdown): normal priority throughout.
    Now,
}

/// Why a save could not start.
pub enum SaveError {
    InProgress,
    /// Another snapshot (a rewrite) holds the keyspace's snapshot slot.
    Busy,
}

/// Writes a file of the keyspace as it is now to `path`, in `form`, on background threads,
/// then runs `done` there with the outcome. The snapshot's instant is this call: callers run it
/// with the world stopped (their command is EXCLUSIVE) so that no command is between its lock
/// and its unlock.
pub fn write_snapshot(
    server: &Arc<Server>,
    path: PathBuf,
    form: FileForm,
    pace: SavePace,
    done: impl FnOnce(&Server, Result<(), String>) + Send + 'static,
) -> Result<(), SaveError> {
    let (compress, checksum, key_delay_us, timestamp, sync_every) = {
        let config = server.config.read();
        let yes = |name: &str| config.get_one(name).is_none_or(|v| v == "yes");
        let delay = config.get_one("rdb-key-save-delay").and_then(|v| v.parse().ok()).unwrap_or(0);
        let timestamp = config.get_one("aof-timestamp-enabled").as_deref() == Some("yes");
        let incremental =
            if form == FileForm::Rdb { "rdb-save-incremental-fsync" } else { "aof-rewrite-incremental-fsync" };
        let sync_every = yes(incremental).then_some(INCREMENTAL_FSYNC_BYTES);
        (yes("rdbcompression"), yes("rdbchecksum"), delay, timestamp, sync_every)
    };
    let opts = EncodeOptions::new(compress, &server.keyspace.limits);
    let (tx, rx) = mpsc::channel();
    let libraries = server.scripting.library_codes();
    // Each database's key counts at the snapshot's instant (callers stop the world around this
    // call), written ahead of the keys as RESIZEDB hints so that a loader, Roost's or Redis's,
    // sizes its tables once.
    let sizes = if form == FileForm::Commands { Vec::new() } else { server.keyspace.db_stats() };
    let queued = Arc::new(AtomicUsize::new(0));
    let writer_gone = Arc::new(AtomicBool::new(false));
    let commands = form == FileForm::Commands;
    let encoder = ShardEncoder {
        tx,
        opts,
        commands,
        queued: queued.clone(),
        writer_gone: writer_gone.clone(),
        key_delay_us,
        rests: pace == SavePace::Background,
        workers: server.workers.clone(),
        last_step: Mutex::new((0, Instant::now())),
    };
    if !server.keyspace.begin_snapshot(Arc::new(encoder)) {
        return Err(SaveError::Busy);
    }
    let owner = server.clone();
    let spawned = std::thread::Builder::new().name("roost-save".into()).spawn(move || {
        let server = owner;
        let driver = {
            let server = server.clone();
            std::thread::Builder::new().name("roost-snapshot".into()).spawn(move || {
                // Writers changing keys the driver has not reached hand those keys over
                // themselves, so a driver kept waiting shifts work to them gradually rather
                // than stalling anything.
                if pace == SavePace::Background {
                    run_when_idle(true);
                }
                server.keyspace.drive_snapshot()
            })
        };
        let result = match driver {
            Ok(driver) => {
                let incoming = Incoming { rx, queued, pace };
                let written = if commands {
                    // As Redis: the base's own timestamp line first when timestamps are on.
                    let header = if timestamp { format!("#TS:{}\r\n", now_ms() / 1000) } else { String::new() };
                    write_atomically(&path, sync_every, |file| {
                        write_commands(file, incoming, header.as_bytes(), &libraries)
                    })
                } else {
                    let aof_base = form == FileForm::RdbAofBase;
                    write_atomically(&path, sync_every, |file| {
                        write_rdb(file, incoming, opts, checksum, aof_base, &libraries, &sizes)
                    })
                };
                if pace == SavePace::Background {
                    // What follows (`done`: a rewrite's manifest, a reply) is waited for.
                    run_when_idle(false);
                }
                writer_gone.store(true, Ordering::Release);
                let _ = driver.join();
                written
            }
            Err(e) => {
                // Without a driver the snapshot would never end: capture every shard here.
                server.keyspace.drive_snapshot();
                Err(format!("can't start the snapshot thread: {e}"))
            }
        };
        done(&server, result);
    });
    if spawned.is_err() {
        // The snapshot has begun and must end; nothing is written.
        server.keyspace.drive_snapshot();
        return Err(SaveError::Busy);
    }
    Ok(())
}

/// Starts a background save of `dbfilename` (BGSAVE, the save rules); `done` runs on the
/// writer thread with the outcome, after INFO's figures are updated. `pace` is how the save
/// shares the cores with commands.
pub fn start_save(
    server: &Arc<Server>,
    pace: SavePace,
    done: impl FnOnce(Result<(), String>) + Send + 'static,
) -> Result<(), SaveError> {
    let state = &server.save;
    if state.in_progress.swap(true, Ordering::AcqRel) {
        return Err(SaveError::InProgress);
    }
    let path = PathBuf::from(server.config.read().get_one("dbfilename").unwrap_or_else(|| "dump.rdb".into()));
    let dirty = server.sum(|w| w.dirty.load(Ordering::Relaxed));
    let started = now_ms();
    state.started_ms.store(started, Ordering::Relaxed);
    let begun = write_snapshot(server, path, FileForm::Rdb, pace, move |server, result| {
        let state = &server.save;
        state.last_duration.store((now_ms().saturating_sub(started) / 1000) as i64, Ordering::Relaxed);
        state.started_ms.store(0, Ordering::Relaxed);
        match &result {
            Ok(()) => {
                state.last_ok.store(true, Ordering::Relaxed);
                state.last_save.store(started / 1000, Ordering::Relaxed);
                state.dirty_at_save.store(dirty, Ordering::Relaxed);
                state.saves.fetch_add(1, Ordering::Relaxed);
                log::log('*', "DB saved on disk");
            }
            Err(e) => {
                state.last_ok.store(false, Ordering::Relaxed);
                state.last_failure_ms.store(now_ms(), Ordering::Relaxed);
                log::log('#', &format!("Background saving error: {e}"));
            }
        }
        state.in_progress.store(false, Ordering::Release);
        done(result);
    });
    if let Err(e) = begun {
        state.started_ms.store(0, Ordering::Relaxed);
        state.in_progress.store(false, Ordering::Release);
        return Err(e);
    }
    Ok(())
}

/// Writes an append-only file's base holding no keys as an RDB file, as Redis does for a new
/// layout with `aof-use-rdb-preamble yes`: header, aux fields, end and checksum.
pub(crate) fn write_empty_base(path: &Path, config: &roost_config::Config) -> std::io::Result<()> {
    let yes = |name: &str| config.get_one(name).is_none_or(|v| v == "yes");
    let opts = EncodeOptions::new(yes("rdbcompression"), &roost_store::EncodingLimits::default());
    let file = rdb_writer(BufWriter::new(File::create(path)?), opts, yes("rdbchecksum"), true)?.finish()?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// An RDB writer on `out`, its header written with the aux fields Redis 7.0 writes (without
/// replication's, which Roost has none of); `aof_base` marks an append-only file's base.
fn rdb_writer<W: Write>(out: W, opts: EncodeOptions, checksum: bool, aof_base: bool) -> std::io::Result<Writer<W>> {
    let (ctime, used) = ((now_ms() / 1000).to_string(), crate::alloc::used_memory().to_string());
    let aux: [(&[u8], &[u8]); 5] = [
        (b"redis-ver", roost_config::REDIS_VERSION.as_bytes()),
        (b"redis-bits", b"64"),
        (b"ctime", ctime.as_bytes()),
        (b"used-mem", used.as_bytes()),
        (b"aof-base", if aof_base { b"1" } else { b"0" }),
    ];
    Writer::new(out, opts, checksum, &aux)
}

/// The writer's end of the queue.
struct Incoming {
    rx: mpsc::Receiver<Chunk>,
    /// Bytes queued and not yet written (shared with the sink).
    queued: Arc<AtomicUsize>,
    pace: SavePace,
}

impl Incoming {
    /// Hands each queued chunk to `write` until the snapshot ends.
    fn drain(&self, mut write: impl FnMut(Chunk) -> std::io::Result<()>) -> std::io::Result<()> {
        // In the background, the writer runs when the cores are otherwise idle while it keeps
        // up, and competes with commands for them once the queue (the save's memory) passes
        // its bound: what workers hand over then is written before it piles up.
        let mut idle = false;
        loop {
            let behind = self.queued.load(Ordering::Relaxed) > MAX_QUEUED_BYTES;
            if self.pace == SavePace::Background && behind == idle {
                idle = !behind;
                run_when_idle(idle);
            }
            // Polled rather than waited on: a receiver blocked in `recv` would make every send
            // from a worker a wake-up system call.
            let chunk = match self.rx.try_recv() {
                Ok(chunk) => chunk,
                Err(mpsc::TryRecvError::Empty) => {
                    std::thread::sleep(WRITER_POLL);
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => return Ok(()),
            };
            let len = chunk.bytes.len();
            write(chunk)?;
            self.queued.fetch_sub(len, Ordering::Relaxed);
        }
    }
}

/// `rdb-save-incremental-fsync` and `aof-rewrite-incremental-fsync`: a file being written is
/// fsynced every this many bytes, as Redis does, so the final fsync has little left to flush
/// and the disk is not handed the whole file at once.
const INCREMENTAL_FSYNC_BYTES: u64 = 4 << 20;

/// A file being written, fsynced every `sync_every` bytes when set.
struct SyncingFile {
    file: File,
    sync_every: Option<u64>,
    unsynced: u64,
}

impl Write for SyncingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.sync_every.is_some_and(|every| self.unsynced >= every) {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Streams the queued records into `file` as an RDB file, after the function libraries and the
/// databases' `sizes` (keys, keys with an expiry).
fn write_rdb(
    file: SyncingFile,
    incoming: Incoming,
    opts: EncodeOptions,
    checksum: bool,
    aof_base: bool,
    libraries: &[Vec<u8>],
    sizes: &[(usize, usize)],
) -> std::io::Result<SyncingFile> {
    let mut w = rdb_writer(BufWriter::with_capacity(1 << 20, file), opts, checksum, aof_base)?;
    for code in libraries {
        w.function(code)?;
    }
    let mut hint = Vec::new();
    for (db, &(keys, expires)) in sizes.iter().enumerate().filter(|(_, size)| size.0 > 0) {
        hint.clear();
        put_select_db(&mut hint, db, keys as u64, expires as u64);
        w.records(&hint)?;
    }
    incoming.drain(|chunk| w.records(&chunk.bytes))?;
    w.finish()?.into_inner().map_err(|e| e.into_error())
}

/// Streams the queued commands into `file` after `header` and the function libraries, with a
/// SELECT wherever the database changes.
fn write_commands(
    file: SyncingFile,
    incoming: Incoming,
    header: &[u8],
    libraries: &[Vec<u8>],
) -> std::io::Result<SyncingFile> {
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut prelude = header.to_vec();
    for code in libraries {
        command_base::put_function(&mut prelude, code);
    }
    w.write_all(&prelude)?;
    let mut selected = None;
    let mut select = Vec::new();
    incoming.drain(|chunk| {
        if selected != Some(chunk.db) {
            selected = Some(chunk.db);
            select.clear();
            command_base::put_select(&mut select, chunk.db);
            w.write_all(&select)?;
        }
        w.write_all(&chunk.bytes)
    })?;
    w.into_inner().map_err(|e| e.into_error())
}

/// Writes `path` through a temp file beside it (`write` fills it), then fsyncs the file,
/// renames it over `path` and fsyncs the directory, so a crash leaves the previous file whole.
fn write_atomically(
    path: &Path,
    sync_every: Option<u64>,
    write: impl FnOnce(SyncingFile) -> std::io::Result<SyncingFile>,
) -> Result<(), String> {
    let temp = path.with_file_name(format!("temp-{}.rdb", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let file = write(SyncingFile { file: File::create(&temp)?, sync_every, unsynced: 0 })?.file;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename itself must survive a crash.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        } else {
            File::open(".")?.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("writing {}: {e}", path.display())
    })
}

/// What loading a file found.
pub struct Loaded {
    pub keys: u64,
    pub expired: u64,
}

/// Loads `path` into the keyspace (and its function libraries into the scripting engine).
/// Keys whose time is already up are skipped, as a primary does. Errors name the file and what
/// is wrong where.
pub fn load(server: &Server, path: &Path) -> Result<Loaded, String> {
    let data = MappedFile::open(path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
    let function =
        |code: Vec<u8>| server.scripting.load_library_code(&code).map_err(|e| format!("function library: {e}"));
    let (loaded, _) = load_rdb(server, &data, true, function).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(loaded)
}

/// Loads the RDB at the start of `data` into the keyspace: each key (unless its time is up,
/// as a primary skips it), each function library through `function`. Tables are sized from
/// the file's RESIZEDB hints. `whole` says the RDB should fill `data` (an RDB file, not an AOF
/// with commands after its RDB preamble). Returns what was loaded and where the RDB ends.
pub fn load_rdb(
    server: &Server,
    data: &[u8],
    whole: bool,
    mut function: impl FnMut(Vec<u8>) -> Result<(), String>,
) -> Result<(Loaded, usize), String> {
    let mut reader = Reader::new(data, &server.keyspace.limits).map_err(|e| format!("not a valid RDB file: {e}"))?;
    // The checksum is a pass over the whole file, a good part of loading's time when it
    // follows the records: for a whole file that has one (version 5 on, a trailer not zero) a
    // second thread computes it meanwhile, over the span a well-formed file's checksum covers
    // (all but its last 8 bytes). Any other span is computed at the end.
    reader.defer_checksum();
    let likely_span = data.len().saturating_sub(8);
    let has_checksum = reader.version() >= 5 && data[likely_span..].iter().any(|&b| b != 0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let checksum =
            (whole && has_checksum).then(|| scope.spawn(|| crc64_unless_stopped(&data[..likely_span], &stop)));
        let loaded = read_keys(server, data, &mut reader, &mut function);
        // A file that failed to read is not kept waiting for its checksum.
        stop.store(loaded.is_err(), Ordering::Relaxed);
        let computed = checksum.and_then(|t| t.join().ok().flatten());
        let loaded = loaded?;
        if let Some(stored) = reader.deferred_checksum() {
            let computed = match computed {
                Some(crc) if stored.covers == likely_span => crc,
                _ => crc64(0, &data[..stored.covers]),
            };
            stored.verify(computed).map_err(|e| e.to_string())?;
        }
        Ok((loaded, reader.offset()))
    })
}

/// The records of `reader` into the keyspace, for `load_rdb`.
fn read_keys(
    server: &Server,
    data: &[u8],
    reader: &mut Reader<'_>,
    function: &mut impl FnMut(Vec<u8>) -> Result<(), String>,
) -> Result<Loaded, String> {
    let now = now_ms();
    let mut loaded = Loaded { keys: 0, expired: 0 };
    let databases = server.keyspace.databases();
    // RESIZEDB hints are the file's word, read before its checksum: together they may ask for
    // no more keys than an eighth of its bytes, about the fewest a key takes.
    let mut hinted_room = data.len() / 8;
    let mut reserved = false;
    while let Some(record) = reader.next_record().map_err(|e| format!("at byte {}: {e}", reader.offset()))? {
        match record {
            Record::Key { db, key, value, expire_ms, .. } => {
                if db >= databases {
                    return Err(format!("key in database {db}, but databases is {databases}"));
                }
                // A negative time is long past.
                if expire_ms.is_some_and(|at| u64::try_from(at).map_or(true, |at| roost_store::has_expired(at, now))) {
                    loaded.expired += 1;
                    continue;
                }
                let expire = expire_ms.map_or(0, |at| at as u64);
                server.keyspace.lock_key(&key).db(db).set(&key, value, expire);
                loaded.keys += 1;
            }
            Record::ResizeDb { db, keys, .. } if db < databases => {
                let keys = usize::try_from(keys).unwrap_or(usize::MAX).min(hinted_room);
                hinted_room -= keys;
                reserved |= server.keyspace.reserve(db, keys);
            }
            Record::Function(code) => function(code)?,
            _ => {}
        }
    }
    if reserved {
        // Room the hints asked for and no key took (keys whose time was up, a wrong hint).
        server.keyspace.release_unused_room();
    }
    Ok(loaded)
}

/// CRC-64 of `data`, None if `stop` is set before it is done.
fn crc64_unless_stopped(data: &[u8], stop: &AtomicBool) -> Option<u64> {
    let mut crc = 0;
    for chunk in data.chunks(1 << 20) {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        crc = crc64(crc, chunk);
    }
    Some(crc)
}

/// Writes the file now and waits for it (SAVE, and SHUTDOWN's save).
pub fn save_now(server: &Arc<Server>) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    match start_save(server, SavePace::Now, move |r| {
        let _ = tx.send(r);
    }) {
        Ok(()) => rx.recv().unwrap_or_else(|_| Err("the save thread ended without a result".into())),
        Err(SaveError::InProgress) => Err("Background save already in progress".into()),
        Err(SaveError::Busy) => Err("another snapshot is running".into()),
    }
}

/// The `save` directive's rules: (seconds, changes) pairs; none when it is empty.
pub fn save_rules(value: &str) -> Vec<(u64, u64)> {
    let numbers: Vec<u64> = value.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// Writes since the last successful save.
pub fn changes_since_save(server: &Server) -> u64 {
    let dirty = server.sum(|w| w.dirty.load(Ordering::Relaxed));
    dirty.saturating_sub(server.save.dirty_at_save.load(Ordering::Relaxed))
}

/// Redis waits this long after a failed background save before the rules may start another.
const RETRY_AFTER_FAILURE_MS: u64 = 5_000;

/// Starts a background save when a `save` rule is met (at least `changes` writes and `seconds`
/// since the last save), as Redis's cron does, or one BGSAVE SCHEDULE asked for. Called by
/// housekeeping.
pub fn save_if_due(server: &Arc<Server>) {
    let state = &server.save;
    if state.in_progress() || server.aof.rewrite.running() {
        return;
    }
    if state.scheduled.swap(false, Ordering::Relaxed) {
        if start_between_commands(server) {
            log::log('*', "Background saving started");
        }
        return;
    }
    let rules = save_rules(&server.config.read().get_one("save").unwrap_or_default());
    if rules.is_empty() {
        return;
    }
    let now = now_ms();
    if !state.last_ok() && now.saturating_sub(state.last_failure_ms.load(Ordering::Relaxed)) < RETRY_AFTER_FAILURE_MS {
        return;
    }
    let changes = changes_since_save(server);
    let since = (now / 1000).saturating_sub(state.last_save.load(Ordering::Relaxed));
    if let Some((secs, n)) = rules.iter().find(|(secs, n)| changes >= *n && since >= *secs) {
        log::log('*', &format!("{n} changes in {secs} seconds. Saving..."));
        if start_between_commands(server) {
            log::log('*', "Background saving started");
        }
    }
}

/// Starts a background save from housekeeping with the world stopped for the instant it
/// begins, so that no command (a script's several writes) is cut in two.
fn start_between_commands(server: &Arc<Server>) -> bool {
    if !server.gate.stop_world_for_housekeeping(&server.workers) {
        return false;
    }
    let started = start_save(server, SavePace::Background, |_| {}).is_ok();
    server.gate.release(crate::gate::HOUSEKEEPER);
    started
}

/// Whether writes must be refused because the last background save failed while save rules
/// are configured (`stop-writes-on-bgsave-error`).
pub fn refuses_writes(server: &Server) -> bool {
    if server.save.last_ok() {
        return false;
    }
    let config = server.config.read();
    config.get_one("stop-writes-on-bgsave-error").as_deref() != Some("no")
        && !save_rules(&config.get_one("save").unwrap_or_default()).is_empty()
}

/// Redis's text for a write refused by `stop-writes-on-bgsave-error`.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// The save SHUTDOWN (and SIGTERM) makes before exiting: always with `forced` (SHUTDOWN SAVE),
/// otherwise when save rules are configured. Waits for a background save in progress first.
pub fn final_save(server: &Arc<Server>, forced: bool) -> Result<(), String> {
    if !forced && save_rules(&server.config.read().get_one("save").unwrap_or_default()).is_empty() {
        return Ok(());
    }
    // A background save already running covers an earlier instant: wait for it, then save.
    let deadline = now_ms() + 60_000;
    while server.save.in_progress() && now_ms() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    log::log('*', "Saving the final RDB snapshot before exiting.");
    save_now(server).map_err(|e| format!("Error trying to save the DB, can't exit: {e}"))?;
    log::log('*', "DB saved on disk");
    Ok(())
}

/// Loads `dbfilename` at startup when it exists; a missing file is an empty dataset, a
/// damaged one stops the start with a message naming the problem.
pub fn load_at_startup(server: &Server) -> Result<(), String> {
    let path = PathBuf::from(server.config.read().get_one("dbfilename").unwrap_or_else(|| "dump.rdb".into()));
    if !path.exists() {
        return Ok(());
    }
    let started = now_ms();
    let loaded = load(server, &path).map_err(|e| format!("Fatal error loading the DB: {e}. Exiting."))?;
    log::log(
        '*',
        &format!(
            "DB loaded from disk: {:.3} seconds ({} keys, {} expired keys skipped)",
            now_ms().saturating_sub(started) as f64 / 1000.0,
            loaded.keys,
            loaded.expired
        ),
    );
    Ok(())
}

/// `roost check-rdb FILE`: reads every record of an RDB file and reports what it holds, or the
/// first problem and where it is. The file is never changed.
pub fn check_rdb(path: &Path) -> Result<String, String> {
    let data = MappedFile::open(path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
    let limits = roost_store::EncodingLimits::default();
    let mut reader = Reader::new(&data, &limits).map_err(|e| format!("not an RDB file: {e}"))?;
    let mut keys = 0u64;
    let mut expires = 0u64;
    let mut functions = 0u64;
    let mut by_type: std::collections::BTreeMap<&'static str, u64> = Default::default();
    let mut aux = Vec::new();
    loop {
        let at = reader.offset();
        match reader.next_record() {
            Ok(None) => break,
            Ok(Some(Record::Key { value, expire_ms, .. })) => {
                keys += 1;
                expires += u64::from(expire_ms.is_some());
                *by_type.entry(value.type_name()).or_default() += 1;
            }
            Ok(Some(Record::Function(_))) => functions += 1,
            Ok(Some(Record::Aux(k, v))) => {
                aux.push(format!("{}={}", String::from_utf8_lossy(&k), String::from_utf8_lossy(&v)))
            }
            Ok(Some(_)) => {}
            Err(e) => {
                return Err(format!("error at byte {at} (record starting there) after {keys} keys: {e}"));
            }
        }
    }
    let types: Vec<String> = by_type.iter().map(|(t, n)| format!("{t}: {n}")).collect();
    // The reader has checked the trailer; a zero one means the writer had rdbchecksum off.
    let checksum = if data.ends_with(&[0; 8]) { "not written" } else { "verified" };
    Ok(format!(
        "RDB version {}, {} bytes, checksum {checksum}\naux: {}\nkeys: {keys} ({expires} with an expiry); {}\nfunction libraries: {functions}\n",
        reader.version(),
        data.len(),
        aux.join(" "),
        types.join(", ")
    ))
}

/// `roost check-rdb <file>`: prints what the file holds, or its first problem (exit status 1).
pub fn check_rdb_main(args: &[String]) -> std::process::ExitCode {
    let [path] = args else {
        eprintln!("Usage: roost check-rdb <dump.rdb>");
        return std::process::ExitCode::FAILURE;
    };
    match check_rdb(Path::new(path)) {
        Ok(report) => {
            print!("{report}");
            println!("RDB looks OK!");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("RDB check failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_fsync_syncs_every_so_many_bytes() {
        let path = std::env::temp_dir().join(format!("roost-syncing-{}", std::process::id()));
        for (sync_every, left) in [(Some(INCREMENTAL_FSYNC_BYTES), 1 << 20), (None, 5 << 20)] {
            let mut f = SyncingFile { file: File::create(&path).unwrap(), sync_every, unsynced: 0 };
            for _ in 0..80 {
                f.write_all(&[7u8; 64 << 10]).unwrap();
            }
            // 5 MB written: one fsync at 4 MB leaves 1 MB unsynced; without, all 5 MB are.
            assert_eq!(f.unsynced, left);
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 5 << 20);
        std::fs::remove_file(&path).unwrap();
    }
}

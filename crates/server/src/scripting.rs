//! The server's side of scripting: the shared engine, what other workers may know about the
//! script in progress (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, the -BUSY gate), and the
//! `Host` through which a script runs commands.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use parking_lot::Mutex;
use roost_resp::{OwnedArgs, ReplyBuf};
use roost_scripting::{Counts, Engine, Host, LogLevel};
use roost_store::now_ms;

use crate::client::ClientState;
use crate::command::{find_subcommand, flags};
use crate::connection::run_command;
use crate::ctx::Ctx;
use crate::log::{log, DEBUG, NOTICE, VERBOSE, WARNING};

const NONE: u8 = 0;
const EVAL: u8 = 1;
const FUNCTION: u8 = 2;

/// A running function's name and the command line that called it.
type CurrentFunction = (Vec<u8>, Vec<Vec<u8>>);

/// Scripting state shared by every worker.
pub struct Scripting {
    /// The engine: held by the worker running a script (which runs alone) or managing the caches.
    pub engine: Mutex<Engine>,
    running: AtomicU8,
    wrote: AtomicBool,
    kill: AtomicBool,
    started_ms: AtomicU64,
    /// The running function's name and command line, for FUNCTION STATS.
    current: Mutex<Option<CurrentFunction>>,
    /// Counts for FUNCTION STATS and INFO, readable while a script holds the engine.
    libraries: AtomicUsize,
    functions: AtomicUsize,
    scripts: AtomicUsize,
    script_bytes: AtomicUsize,
    library_bytes: AtomicUsize,
    lua_memory: AtomicUsize,
}

/// Why SCRIPT KILL / FUNCTION KILL could not stop anything.
pub enum KillError {
    NotBusy,
    Unkillable,
    /// A script of the other kind is running (SCRIPT KILL during a function or the reverse).
    WrongKind,
}

impl Scripting {
    pub fn new(version: &str) -> Result<Scripting, String> {
        let scripting = Scripting {
            engine: Mutex::new(Engine::new(version)?),
            running: AtomicU8::new(NONE),
            wrote: AtomicBool::new(false),
            kill: AtomicBool::new(false),
            started_ms: AtomicU64::new(0),
            current: Mutex::new(None),
            libraries: AtomicUsize::new(0),
            functions: AtomicUsize::new(0),
            scripts: AtomicUsize::new(0),
            script_bytes: AtomicUsize::new(0),
            library_bytes: AtomicUsize::new(0),
            lua_memory: AtomicUsize::new(0),
        };
        scripting.note_counts(&scripting.engine.lock());
        Ok(scripting)
    }

    /// Every function library's code, for an RDB file.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.engine.lock().library_codes()
    }

    /// Loads a library from an RDB file at startup (no client, nothing else running).
    pub fn load_library_code(&self, code: &[u8]) -> Result<(), String> {
        /// Library code may only log while it loads; the engine refuses its redis.call itself.
        struct Startup;
        impl roost_scripting::Host for Startup {
            fn call(&mut self, _args: &roost_resp::OwnedArgs, _resp: u8) -> Result<Vec<u8>, String> {
                Err("ERR redis.call is not available while loading a library".into())
            }
            fn log(&mut self, _level: roost_scripting::LogLevel, message: &str) {
                crate::log::log('*', message);
            }
            fn tick(&mut self) -> bool {
                false
            }
        }
        let mut engine = self.engine.lock();
        engine.load_library(code, false, &mut Startup)?;
        self.note_counts(&engine);
        Ok(())
    }

    /// None when no script runs; Some(true) for an EVAL-family script, Some(false) for a function.
    pub fn running(&self) -> Option<bool> {
        match self.running.load(Ordering::Acquire) {
            EVAL => Some(true),
            FUNCTION => Some(false),
            _ => None,
        }
    }

    pub(crate) fn begin(&self, is_eval: bool, function: Option<CurrentFunction>) {
        self.wrote.store(false, Ordering::Relaxed);
        self.kill.store(false, Ordering::Relaxed);
        self.started_ms.store(now_ms(), Ordering::Relaxed);
        // Keys are judged alive or expired by the script's start for all of its run.
        roost_store::CommandTime::freeze();
        *self.current.lock() = function;
        self.running.store(if is_eval { EVAL } else { FUNCTION }, Ordering::Release);
    }

    pub(crate) fn end(&self) {
        self.running.store(NONE, Ordering::Release);
        self.kill.store(false, Ordering::Relaxed);
        *self.current.lock() = None;
    }

    /// SCRIPT KILL (`eval` true) or FUNCTION KILL: asks the running script to stop.
    pub fn request_kill(&self, eval: bool) -> Result<(), KillError> {
        match self.running() {
            None => Err(KillError::NotBusy),
            Some(kind) if kind != eval => Err(KillError::WrongKind),
            Some(_) if self.wrote.load(Ordering::Acquire) => Err(KillError::Unkillable),
            Some(_) => {
                self.kill.store(true, Ordering::Release);
                Ok(())
            }
        }
    }

    /// After a run: only the VM's memory can have changed.
    pub(crate) fn note_memory(&self, engine: &Engine) {
        self.lua_memory.store(engine.lua_memory(), Ordering::Relaxed);
    }

    /// Refreshes the counts others read without the engine (after anything that changes them).
    pub(crate) fn note_counts(&self, engine: &Engine) {
        let c = engine.counts();
        self.libraries.store(c.libraries, Ordering::Relaxed);
        self.functions.store(c.functions, Ordering::Relaxed);
        self.scripts.store(c.scripts, Ordering::Relaxed);
        self.script_bytes.store(c.script_bytes, Ordering::Relaxed);
        self.library_bytes.store(c.library_bytes, Ordering::Relaxed);
        self.lua_memory.store(c.lua_memory, Ordering::Relaxed);
    }

    /// Counts for INFO (memory and keyspace-free sections) without taking the engine, so INFO
    /// works from inside a script too.
    pub fn counts(&self) -> Counts {
        Counts {
            scripts: self.scripts.load(Ordering::Relaxed),
            script_bytes: self.script_bytes.load(Ordering::Relaxed),
            library_bytes: self.library_bytes.load(Ordering::Relaxed),
            libraries: self.libraries.load(Ordering::Relaxed),
            functions: self.functions.load(Ordering::Relaxed),
            lua_memory: self.lua_memory.load(Ordering::Relaxed),
        }
    }

    /// (libraries, functions) for FUNCTION STATS.
    pub fn library_counts(&self) -> (usize, usize) {
        (self.libraries.load(Ordering::Relaxed), self.functions.load(Ordering::Relaxed))
    }

    /// The running function (name, command line, milliseconds so far), for FUNCTION STATS.
    pub fn current_function(&self) -> Option<(Vec<u8>, Vec<Vec<u8>>, u64)> {
        if self.running() != Some(false) {
            return None;
        }
        let (name, cmd) = self.current.lock().clone()?;
        Some((name, cmd, now_ms().saturating_sub(self.started_ms.load(Ordering::Relaxed))))
    }
}

/// Runs the commands a script calls, as the script's own client: the caller's database to start
/// with (SELECT changes it for the script only), replies in the protocol the script chose.
pub(crate) struct ScriptHost<'a, 'b> {
    pub ctx: &'a mut Ctx<'b>,
    pub db: usize,
    /// No writes allowed: EVAL_RO / FCALL_RO, or a script flagged no-writes.
    pub read_only: bool,
}

impl Host for ScriptHost<'_, '_> {
    fn call(&mut self, args: &OwnedArgs, resp: u8) -> Result<Vec<u8>, String> {
        let a = args.args();
        let server = self.ctx.server;
        let Some((mut spec, mut stat)) = server.commands.get(a.get(0)) else {
            return Err("ERR Unknown Redis command called from script".into());
        };
        if !spec.subcommands.is_empty() && a.len() >= 2 {
            match find_subcommand(spec, a.get(1)) {
                Some(sub) => {
                    spec = sub;
                    stat = server.commands.stat_index(sub);
                }
                None => return Err("ERR Unknown Redis command called from script".into()),
            }
        }
        if !spec.arity_ok(a.len()) {
            return Err("ERR Wrong number of args calling Redis command from script".into());
        }
        if spec.has(flags::NOSCRIPT) {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        let writes = spec.has(flags::WRITE);
        // Commands that may replicate (PUBLISH, PFCOUNT, ...) count as writes here, as in Redis.
        if (writes || spec.has(flags::MAY_REPLICATE)) && self.read_only {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        let mut client = ClientState::new(true);
        client.db = self.db;
        let mut reply = ReplyBuf { out: Vec::new(), resp3: resp == 3 };
        {
            let mut nested = Ctx {
                server: self.ctx.server,
                client: &mut client,
                handle: self.ctx.handle,
                reply: &mut reply,
                stats: self.ctx.stats,
                rng: &mut *self.ctx.rng,
                clock: &mut *self.ctx.clock,
            };
            run_command(&mut nested, spec, stat, &a);
        }
        if client.block.take().is_some() {
            // A script never waits: a command that would block answers at once.
            reply.out.clear();
            crate::blocking::answer_without_waiting(spec, &mut reply);
        }
        self.db = client.db;
        if writes {
            server.scripting.wrote.store(true, Ordering::Release);
        }
        Ok(reply.out)
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Debug => DEBUG,
            LogLevel::Verbose => VERBOSE,
            LogLevel::Notice => NOTICE,
            LogLevel::Warning => WARNING,
        };
        log(level, message);
    }

    fn tick(&mut self) -> bool {
        self.ctx.server.scripting.kill.load(Ordering::Acquire)
    }

    fn command_exists(&self, name: &[u8]) -> bool {
        self.ctx.server.commands.get(name).is_some()
    }
}

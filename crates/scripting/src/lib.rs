//! Lua 5.1 scripting as Redis 7 offers it: EVAL scripts, FUNCTION libraries, the `redis` API,
//! the sandbox and the libraries scripts expect (cjson, cmsgpack, bit, struct).
//!
//! Owns: the Lua VM, the conversions between Lua values and RESP2/RESP3 replies, the script cache
//! and the function-library registry.
//! Never: the keyspace, sockets or the command table. A script reaches the server only through
//! the [`Host`] the caller passes in, which runs commands and answers with RESP bytes.

mod cache;
mod convert;
mod functions;
pub mod libs;
mod vm;

use mlua::{MultiValue, Value};
use roost_resp::{OwnedArgs, ReplyBuf};

pub use cache::{parse_shebang, sha1_hex, ScriptFlags};

use cache::{CachedScript, ScriptCache};
use functions::{FunctionInfo, Library, Registry};
use vm::{Outcome, Vm, FUNCTION_SOURCE, SCRIPT_SOURCE};

/// redis.log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

/// What the engine needs from the server while a script runs.
pub trait Host {
    /// Runs one command called by the script. `resp` is the protocol the script selected (2 or
    /// 3). Returns the command's reply as RESP bytes (an error reply included), or the text of an
    /// error found before running it (e.g. "ERR Unknown Redis command called from script").
    fn call(&mut self, args: &OwnedArgs, resp: u8) -> Result<Vec<u8>, String>;
    /// redis.log.
    fn log(&mut self, level: LogLevel, message: &str);
    /// Called every so many VM instructions; true means the script must stop (SCRIPT KILL or
    /// FUNCTION KILL).
    fn tick(&mut self) -> bool;
    /// Whether `name` is a command (redis.acl_check_cmd).
    fn command_exists(&self, _name: &[u8]) -> bool {
        true
    }
}

/// What EVAL needs to know about a script before running it.
#[derive(Clone, Debug)]
pub struct ScriptInfo {
    pub sha: String,
    pub flags: ScriptFlags,
}

/// Counts for FUNCTION STATS and INFO.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub scripts: usize,
    pub script_bytes: usize,
    /// Bytes of library code held for FUNCTION (INFO's used_memory_functions).
    pub library_bytes: usize,
    pub libraries: usize,
    pub functions: usize,
    /// Bytes the Lua VM has allocated (INFO's used_memory_lua).
    pub lua_memory: usize,
}

/// How FUNCTION RESTORE treats libraries that already exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePolicy {
    Append,
    Replace,
    Flush,
}

/// The scripting engine: one Lua VM, the script cache and the function libraries.
pub struct Engine {
    vm: Vm,
    scripts: ScriptCache,
    functions: Registry,
}

/// A host for code that must not call commands (FUNCTION LOAD): logs, never stops.
struct LoadHost<'a>(&'a mut dyn Host);

impl Host for LoadHost<'_> {
    fn call(&mut self, _args: &OwnedArgs, _resp: u8) -> Result<Vec<u8>, String> {
        Err("ERR redis.call is not available while loading a library".into())
    }
    fn log(&mut self, level: LogLevel, message: &str) {
        self.0.log(level, message)
    }
    fn tick(&mut self) -> bool {
        false
    }
}

impl Engine {
    /// A fresh engine; `version` is the Redis version scripts see (redis.REDIS_VERSION).
    pub fn new(version: &str) -> Result<Engine, String> {
        let vm = Vm::new(version).map_err(|e| format!("Lua initialisation failed: {e}"))?;
        Ok(Engine { vm, scripts: ScriptCache::default(), functions: Registry::default() })
    }

    /// Bytes the Lua VM has allocated.
    pub fn lua_memory(&self) -> usize {
        self.vm.lua.used_memory()
    }

    pub fn counts(&self) -> Counts {
        Counts {
            scripts: self.scripts.scripts.len(),
            script_bytes: self.scripts.body_bytes,
            library_bytes: self.functions.libraries.values().map(|l| l.code.len()).sum(),
            libraries: self.functions.libraries.len(),
            functions: self.functions.function_count(),
            lua_memory: self.vm.lua.used_memory(),
        }
    }

    /// Compiles and caches a script body (SCRIPT LOAD, EVAL). Errors are whole error lines.
    pub fn load_script(&mut self, body: &[u8]) -> Result<ScriptInfo, String> {
        let sha = sha1_hex(body);
        if let Some(s) = self.scripts.scripts.get(&sha) {
            return Ok(ScriptInfo { sha, flags: s.flags });
        }
        let (flags, code) = parse_shebang(body)?;
        let func = self
            .vm
            .compile(&code, SCRIPT_SOURCE, &self.vm.script_env)
            .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
        self.scripts.scripts.insert(sha.clone(), CachedScript { func, flags });
        self.scripts.body_bytes += body.len();
        Ok(ScriptInfo { sha, flags })
    }

    /// The flags of a cached script (EVALSHA), if it is cached. `sha` is matched case-insensitively.
    pub fn script(&self, sha: &[u8]) -> Option<ScriptInfo> {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.scripts.scripts.get(&sha).map(|s| ScriptInfo { sha, flags: s.flags })
    }

    pub fn script_exists(&self, sha: &[u8]) -> bool {
        self.script(sha).is_some()
    }

    pub fn flush_scripts(&mut self) {
        self.scripts = ScriptCache::default();
        let _ = self.vm.lua.gc_collect();
    }

    /// Runs a cached script with its KEYS and ARGV, writing its reply (or error) into `reply`,
    /// whose `resp3` flag is the client's protocol.
    pub fn eval(&mut self, sha: &str, keys: &[&[u8]], argv: &[&[u8]], host: &mut dyn Host, reply: &mut ReplyBuf) {
        let Some(script) = self.scripts.scripts.get(sha) else {
            reply.error(b"NOSCRIPT No matching script. Please use EVAL.");
            return;
        };
        let func = script.func.clone();
        if let Err(e) = self.vm.set_keys_argv(Some((keys, argv))) {
            reply.error(format!("ERR {e}").as_bytes());
            return;
        }
        let outcome = self.vm.call(&func, MultiValue::new(), host, reply);
        let _ = self.vm.set_keys_argv(None);
        finish(outcome, sha, reply);
    }

    /// The flags of a function (FCALL), if it exists.
    pub fn function(&self, name: &[u8]) -> Option<ScriptFlags> {
        let name = std::str::from_utf8(name).ok()?;
        self.functions.find(name).map(|f| f.flags)
    }

    /// Runs a function with its keys and arguments, writing its reply (or error) into `reply`.
    pub fn fcall(&mut self, name: &[u8], keys: &[&[u8]], args: &[&[u8]], host: &mut dyn Host, reply: &mut ReplyBuf) {
        let found = std::str::from_utf8(name).ok().and_then(|n| self.functions.find(n));
        let Some(f) = found else {
            reply.error(b"ERR Function not found");
            return;
        };
        let (func, fname) = (f.func.clone(), f.name.clone());
        let params = (|| -> mlua::Result<MultiValue> {
            let mut m = MultiValue::new();
            m.push_back(Value::Table(self.vm.byte_table(keys)?));
            m.push_back(Value::Table(self.vm.byte_table(args)?));
            Ok(m)
        })();
        let params = match params {
            Ok(p) => p,
            Err(e) => {
                reply.error(format!("ERR {e}").as_bytes());
                return;
            }
        };
        let outcome = self.vm.call(&func, params, host, reply);
        finish(outcome, &fname, reply);
    }

    /// FUNCTION LOAD [REPLACE]: returns the library's name or the error line.
    pub fn load_library(&mut self, code: &[u8], replace: bool, host: &mut dyn Host) -> Result<String, String> {
        let (name, body) = functions::parse_metadata(code)?;
        if self.functions.libraries.contains_key(&name) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let chunk = self
            .vm
            .compile(&body, FUNCTION_SOURCE, &self.vm.library_env)
            .map_err(|e| format!("ERR Error compiling function: {e}"))?;
        let registered = self
            .vm
            .load_library(&chunk, &mut LoadHost(host))
            .map_err(|e| format!("ERR Error registering functions: {e}"))?;
        if registered.is_empty() {
            return Err("ERR No functions registered".into());
        }
        for r in &registered {
            if let Some(owner) = self.functions.owner(&r.name) {
                if *owner != name {
                    return Err(format!("ERR Function {} already exists", r.name));
                }
            }
        }
        let functions = registered
            .into_iter()
            .map(|r| {
                let mut flags = ScriptFlags { declared: true, ..ScriptFlags::default() };
                for f in &r.flags {
                    flags.set(f);
                }
                FunctionInfo { name: r.name, func: r.func, flags, description: r.description }
            })
            .collect();
        self.functions.remove(&name);
        self.functions.insert(name.clone(), Library { code: code.to_vec(), functions });
        Ok(name)
    }

    /// FUNCTION DELETE: false if there is no such library.
    pub fn delete_library(&mut self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        self.functions.remove(&name).is_some()
    }

    pub fn flush_functions(&mut self) {
        self.functions = Registry::default();
        let _ = self.vm.lua.gc_collect();
    }

    /// FUNCTION LIST's reply.
    pub fn list_functions(&self, matches: &dyn Fn(&[u8]) -> bool, with_code: bool, reply: &mut ReplyBuf) {
        self.functions.list(matches, with_code, reply);
    }

    /// Every library's code, as an RDB file keeps them.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.functions.libraries.values().map(|l| l.code.clone()).collect()
    }

    /// FUNCTION RESTORE of the libraries' code a payload carried. On failure the libraries are
    /// left as they were.
    pub fn restore_functions(
        &mut self,
        codes: Vec<Vec<u8>>,
        policy: RestorePolicy,
        host: &mut dyn Host,
    ) -> Result<(), String> {
        let saved: Vec<Vec<u8>> = self.functions.libraries.values().map(|l| l.code.clone()).collect();
        if policy == RestorePolicy::Append {
            for code in &codes {
                let (name, _) = functions::parse_metadata(code)?;
                if self.functions.libraries.contains_key(&name) {
                    return Err(format!("ERR Library {name} already exists"));
                }
            }
        }
        if policy == RestorePolicy::Flush {
            self.functions = Registry::default();
        }
        for code in &codes {
            if let Err(e) = self.load_library(code, policy != RestorePolicy::Append, host) {
                // Put back what was there.
                self.functions = Registry::default();
                for code in &saved {
                    let _ = self.load_library(code, true, host);
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Writes a failed run's error, as Redis words it: the message, then which script and where.
fn finish(outcome: Outcome, name: &str, reply: &mut ReplyBuf) {
    let (mut message, at) = match outcome {
        Outcome::Reply => return,
        Outcome::Error { message, at } => (message, at),
        // Redis words it so for functions too.
        Outcome::Killed { at } => (b"ERR Script killed by user with SCRIPT KILL...".to_vec(), at),
    };
    message.extend_from_slice(format!(" script: {name}").as_bytes());
    if let Some((src, line)) = at {
        message.extend_from_slice(format!(", on {src}:{line}.").as_bytes());
    }
    reply.error(&message);
}

#[cfg(test)]
mod tests;

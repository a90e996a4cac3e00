//! The one Lua VM: its sandbox, the Rust side of the `redis` table, the instruction-count hook
//! that lets SCRIPT KILL / FUNCTION KILL stop a script, and running a script or function to a
//! reply.

use std::time::{Duration, Instant};

use mlua::{ffi, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use roost_resp::{OwnedArgs, ReplyBuf};

use crate::convert;
use crate::libs::{Fail, LibResult};
use crate::{Host, LogLevel};

/// How often (in VM instructions) the hook asks the host whether to stop.
const TICK_INSTRUCTIONS: u32 = 100_000;
/// FUNCTION LOAD gives library code this long to register its functions.
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

pub(crate) const SCRIPT_SOURCE: &str = "@user_script";
pub(crate) const FUNCTION_SOURCE: &str = "@user_function";
const SANDBOX_SOURCE: &str = "=sandbox";

/// Redis's 48-bit linear congruential generator (`lrand48`), which `math.random` uses so that
/// scripts see the same sequence as on Redis.
pub(crate) struct Rand48(u64);

impl Rand48 {
    const A: u64 = 0x5_DEEC_E66D;
    const C: u64 = 0xB;
    const MASK: u64 = (1 << 48) - 1;

    pub(crate) fn new(seed: i32) -> Rand48 {
        Rand48((((seed as u32 as u64) << 16) | 0x330E) & Self::MASK)
    }

    /// The state before any seeding, as Redis starts.
    pub(crate) fn unseeded() -> Rand48 {
        Rand48(0x1234_ABCD_330E)
    }

    pub(crate) fn next(&mut self) -> i32 {
        self.0 = (Self::A.wrapping_mul(self.0).wrapping_add(Self::C)) & Self::MASK;
        (self.0 >> 17) as i32
    }
}

/// An EVAL script's KEYS and ARGV.
pub(crate) type KeysArgv<'a> = (&'a [&'a [u8]], &'a [&'a [u8]]);

/// The host of the run in progress. Only set while `Vm::call` has the host borrowed mutably.
struct HostPtr(*mut (dyn Host + 'static));
// SAFETY: the pointer is only dereferenced on the thread running the script, while the borrow
// it was made from is alive (see `Vm::call`).
unsafe impl Send for HostPtr {}

/// A function registered by library code during FUNCTION LOAD.
pub(crate) struct Registered {
    pub name: String,
    pub func: Function,
    pub flags: Vec<String>,
    pub description: Option<String>,
}

/// State of the run in progress, kept in the VM's app data.
struct RunState {
    host: Option<HostPtr>,
    /// The protocol the script selected with redis.setresp.
    resp: u8,
    killed: bool,
    /// Where the script was when it was killed: (source, line).
    killed_at: Option<(String, i64)>,
    rand: Rand48,
    /// Set while FUNCTION LOAD runs library code: what it registered so far.
    loading: Option<Vec<Registered>>,
    load_deadline: Option<Instant>,
}

/// The outcome of running a script or function.
pub(crate) enum Outcome {
    /// The value the script returned, written as a reply.
    Reply,
    /// The script failed: the error table's message and where it happened.
    Error { message: Vec<u8>, at: Option<(String, i64)> },
    /// SCRIPT KILL / FUNCTION KILL stopped it.
    Killed { at: Option<(String, i64)> },
}

pub(crate) struct Vm {
    pub lua: Lua,
    run: Function,
    pub script_env: Table,
    pub library_env: Table,
    set_loading: Function,
    globals: Table,
}

fn host_mut(lua: &Lua) -> Option<&'static mut (dyn Host + 'static)> {
    let state = lua.app_data_ref::<RunState>()?;
    let ptr = state.host.as_ref()?.0;
    drop(state);
    // SAFETY: see `HostPtr`; the reference does not outlive the callback that asked for it.
    Some(unsafe { &mut *ptr })
}

fn lua_arg_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(convert::double_text(*n)),
        _ => None,
    }
}

/// `raw.call`: runs one command through the host. Returns (true, reply) or (false, error table).
fn raw_call(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    let err = |msg: &str| -> mlua::Result<(bool, Value)> {
        let t = lua.create_table()?;
        t.raw_set("err", msg)?;
        Ok((false, Value::Table(t)))
    };
    if args.is_empty() {
        return err("ERR Please specify at least one argument for this redis lib call");
    }
    let mut owned = OwnedArgs::default();
    for v in args.iter() {
        // Strings and integers (the usual arguments) go straight into the argument buffer.
        match v {
            Value::String(s) => owned.push(&s.as_bytes()),
            Value::Integer(i) => owned.push(roost_resp::int_digits(*i, &mut [0u8; 20])),
            _ => match lua_arg_bytes(v) {
                Some(b) => owned.push(&b),
                None => return err("ERR Lua redis lib command arguments must be strings or integers"),
            },
        }
    }
    let resp = lua.app_data_ref::<RunState>().map_or(2, |s| s.resp);
    let Some(host) = host_mut(lua) else {
        return err("ERR redis.call is not available here");
    };
    match host.call(&owned, resp) {
        Err(e) => err(&e),
        Ok(bytes) => match roost_resp::parse_reply(&bytes) {
            None => err("ERR the command's reply could not be read"),
            Some((value, _)) => {
                let v = convert::reply_to_lua(lua, &value, 0)?;
                Ok((!matches!(value, roost_resp::RespValue::Error(_)), v))
            }
        },
    }
}

/// The message handler of every run: turns what was raised into an error table carrying the
/// position in the user's code where it happened.
fn handler(lua: &Lua, e: Value) -> mlua::Result<Table> {
    let mut at = None;
    for level in 1..200 {
        let found = lua.inspect_stack(level, |d| {
            let source = d.source();
            let src = source.source.map(|s| s.into_owned());
            (src, source.what == "C" || source.what == "tail", d.current_line())
        });
        let Some((src, is_c, line)) = found else { break };
        // The first frame of Lua code that is not the sandbox's own: where the script was.
        match src {
            Some(src) if !is_c && src != SANDBOX_SOURCE => {
                at = Some((src, line.map_or(-1, |l| l as i64)));
                break;
            }
            _ => {}
        }
    }
    let t = match e {
        Value::Table(t) if !t.raw_get::<Value>("err")?.is_nil() => t,
        other => {
            let text = match &other {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(i) => i.to_string().into_bytes(),
                Value::Number(n) => n.to_string().into_bytes(),
                Value::Error(e) => e.to_string().into_bytes(),
                Value::Nil => b"nil".to_vec(),
                Value::Table(_) => b"user_script: error object is not a string".to_vec(),
                _ => b"unknown error".to_vec(),
            };
            let t = lua.create_table()?;
            let mut msg = b"ERR ".to_vec();
            msg.extend_from_slice(&text);
            t.raw_set("err", lua.create_string(&msg)?)?;
            t
        }
    };
    if let Some((src, line)) = at {
        t.raw_set("source", src)?;
        t.raw_set("line", line)?;
    }
    Ok(t)
}

fn next_random(lua: &Lua) -> f64 {
    let r = lua.app_data_mut::<RunState>().map_or(0, |mut st| st.rand.next());
    (r as i64 % i32::MAX as i64) as f64 / i32::MAX as f64
}

/// `math.random` and `math.randomseed` over Redis's generator, with Lua 5.1's argument rules.
fn install_random(lua: &Lua) -> mlua::Result<()> {
    let math: Table = lua.globals().raw_get("math")?;
    let reg = crate::libs::Registrar;
    reg.add(lua, &math, "random", |lua, args| -> LibResult<f64> {
        let r = next_random(lua);
        match args.len() {
            0 => Ok(r),
            1 => {
                let u = args.integer(lua, 1)? as f64;
                if u < 1.0 {
                    return Err(Fail::Arg(1, "interval is empty".into()));
                }
                Ok((r * u).floor() + 1.0)
            }
            2 => {
                let l = args.integer(lua, 1)? as f64;
                let u = args.integer(lua, 2)? as f64;
                if l > u {
                    return Err(Fail::Arg(2, "interval is empty".into()));
                }
                Ok((r * (u - l + 1.0)).floor() + l)
            }
            _ => Err(Fail::Msg("wrong number of arguments".into())),
        }
    })?;
    reg.add(lua, &math, "randomseed", |lua, args| -> LibResult<()> {
        let seed = args.integer(lua, 1)?;
        if let Some(mut st) = lua.app_data_mut::<RunState>() {
            st.rand = Rand48::new(seed as i32);
        }
        Ok(())
    })
}

/// Calls the Lua function in its first upvalue with the arguments it got and returns all its
/// results. Wrapping the `redis` API's Lua-written functions in this C function gives them what
/// Redis's C functions have: a script's `return redis.call(...)` is not a tail call that erases
/// the script's frame, so error positions name the script's line.
unsafe extern "C-unwind" fn c_wrapper(state: *mut ffi::lua_State) -> std::ffi::c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    // An error raised inside unwinds through this frame, which holds nothing to drop.
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    ffi::lua_gettop(state)
}

fn cwrap(lua: &Lua, f: Function) -> mlua::Result<Function> {
    // SAFETY: the closure only turns the function already on the stack into a C closure over it.
    unsafe {
        lua.exec_raw(f, |state| {
            ffi::lua_pushcclosure(state, c_wrapper, 1);
        })
    }
}

fn version_num(version: &str) -> i64 {
    let mut parts = version.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a << 16) | (b << 8) | c
}

fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

pub(crate) const FUNCTION_FLAGS: &[&str] =
    &["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

impl Vm {
    pub(crate) fn new(version: &str) -> mlua::Result<Vm> {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default())?;
        lua.set_app_data(RunState {
            host: None,
            resp: 2,
            killed: false,
            killed_at: None,
            rand: Rand48::unseeded(),
            loading: None,
            load_deadline: None,
        });
        crate::libs::open_all(&lua)?;
        install_random(&lua)?;

        let raw = lua.create_table()?;
        raw.set("call", lua.create_function(raw_call)?)?;
        raw.set("cwrap", lua.create_function(cwrap)?)?;
        raw.set(
            "command_exists",
            lua.create_function(|lua, name: mlua::LuaString| {
                Ok(host_mut(lua).is_none_or(|h| h.command_exists(&name.as_bytes())))
            })?,
        )?;
        raw.set("handler", lua.create_function(handler)?)?;
        raw.set(
            "killed",
            lua.create_function(|lua, ()| Ok(lua.app_data_ref::<RunState>().is_some_and(|s| s.killed)))?,
        )?;
        raw.set(
            "sha1hex",
            lua.create_function(|_, s: mlua::LuaString| {
                Ok(sha1_smol::Sha1::from(&s.as_bytes()[..]).digest().to_string())
            })?,
        )?;
        raw.set(
            "log",
            lua.create_function(|lua, (level, msg): (i64, mlua::LuaString)| {
                if let Some(host) = host_mut(lua) {
                    let level = match level {
                        0 => LogLevel::Debug,
                        1 => LogLevel::Verbose,
                        2 => LogLevel::Notice,
                        _ => LogLevel::Warning,
                    };
                    host.log(level, &String::from_utf8_lossy(&msg.as_bytes()));
                }
                Ok(())
            })?,
        )?;
        raw.set(
            "setresp",
            lua.create_function(|lua, v: i64| {
                if let Some(mut st) = lua.app_data_mut::<RunState>() {
                    st.resp = v as u8;
                }
                Ok(())
            })?,
        )?;
        raw.set(
            "register",
            lua.create_function(|lua, (name, func, flags, desc): (mlua::LuaString, Function, Vec<String>, Option<String>)| {
                let name_bytes = name.as_bytes().to_vec();
                let Some(mut st) = lua.app_data_mut::<RunState>() else { return Ok(None) };
                let Some(loading) = st.loading.as_mut() else {
                    return Ok(Some("ERR redis.register_function can only be called on FUNCTION LOAD command".to_string()));
                };
                if !is_valid_name(&name_bytes) {
                    return Ok(Some(
                        "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
                            .to_string(),
                    ));
                }
                let name = String::from_utf8_lossy(&name_bytes).into_owned();
                if loading.iter().any(|r| r.name.eq_ignore_ascii_case(&name)) {
                    return Ok(Some("ERR Function already exists in the library".to_string()));
                }
                if flags.iter().any(|f| !FUNCTION_FLAGS.contains(&f.as_str())) {
                    return Ok(Some("ERR unknown flag given".to_string()));
                }
                loading.push(Registered { name, func, flags, description: desc });
                Ok(None)
            })?,
        )?;
        raw.set("version", version)?;
        raw.set("version_num", version_num(version))?;

        let setup: Table = lua.load(include_str!("sandbox.lua")).set_name(SANDBOX_SOURCE).call(raw)?;
        let vm = Vm {
            run: setup.get("run")?,
            script_env: setup.get("script_env")?,
            library_env: setup.get("library_env")?,
            set_loading: setup.get("set_loading")?,
            globals: setup.get("globals")?,
            lua,
        };
        vm.lua.set_global_hook(HookTriggers::new().every_nth_instruction(TICK_INSTRUCTIONS), |lua, debug| {
            let location = || {
                let src = debug.source().source.map(|s| s.into_owned()).unwrap_or_default();
                (src, debug.current_line().map_or(-1, |l| l as i64))
            };
            let Some(mut st) = lua.app_data_mut::<RunState>() else { return Ok(VmState::Continue) };
            if st.killed {
                return Err(mlua::Error::RuntimeError("Script killed by user".into()));
            }
            if let Some(deadline) = st.load_deadline {
                if Instant::now() > deadline {
                    st.killed = true;
                    return Err(mlua::Error::RuntimeError("FUNCTION LOAD timeout".into()));
                }
                return Ok(VmState::Continue);
            }
            let ptr = st.host.as_ref().map(|h| h.0);
            drop(st);
            if let Some(ptr) = ptr {
                // SAFETY: see `HostPtr`.
                let host = unsafe { &mut *ptr };
                if host.tick() {
                    let at = location();
                    if let Some(mut st) = lua.app_data_mut::<RunState>() {
                        st.killed = true;
                        st.killed_at = Some(at);
                    }
                    return Err(mlua::Error::RuntimeError("Script killed by user".into()));
                }
            }
            Ok(VmState::Continue)
        })?;
        Ok(vm)
    }

    /// Compiles `code` as a chunk named `source` with the given environment.
    pub(crate) fn compile(&self, code: &[u8], source: &str, env: &Table) -> Result<Function, String> {
        self.lua.load(code).set_name(source).set_environment(env.clone()).into_function().map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => message,
            other => other.to_string(),
        })
    }

    /// Sets KEYS and ARGV for an EVAL script (or removes them, for functions).
    pub(crate) fn set_keys_argv(&self, keys_argv: Option<KeysArgv>) -> mlua::Result<()> {
        match keys_argv {
            Some((keys, argv)) => {
                self.globals.raw_set("KEYS", self.byte_table(keys)?)?;
                self.globals.raw_set("ARGV", self.byte_table(argv)?)?;
            }
            None => {
                self.globals.raw_set("KEYS", Value::Nil)?;
                self.globals.raw_set("ARGV", Value::Nil)?;
            }
        }
        Ok(())
    }

    pub(crate) fn byte_table(&self, items: &[&[u8]]) -> mlua::Result<Table> {
        let t = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        Ok(t)
    }

    /// Runs `f` with `args` and the host in place, writing the returned value into `reply` (in
    /// the client's protocol) when it succeeds.
    pub(crate) fn call(&self, f: &Function, args: MultiValue, host: &mut dyn Host, reply: &mut ReplyBuf) -> Outcome {
        // SAFETY: the lifetime is erased only for the duration of this call; the pointer is
        // cleared below before `host` is released, and Lua never runs outside this call.
        let ptr: *mut (dyn Host + '_) = host;
        let ptr: *mut (dyn Host + 'static) = unsafe { std::mem::transmute(ptr) };
        if let Some(mut st) = self.lua.app_data_mut::<RunState>() {
            st.host = Some(HostPtr(ptr));
            st.resp = 2;
            st.killed = false;
            st.killed_at = None;
        }
        let mut call_args = MultiValue::new();
        call_args.push_back(Value::Function(f.clone()));
        call_args.extend(args);
        let result: mlua::Result<(bool, Value)> = self.run.call(call_args);
        let (resp, killed, killed_at) = match self.lua.app_data_mut::<RunState>() {
            Some(mut st) => {
                st.host = None;
                (st.resp, st.killed, st.killed_at.take())
            }
            None => (2, false, None),
        };
        if killed {
            return Outcome::Killed { at: killed_at };
        }
        match result {
            Ok((true, v)) => {
                convert::lua_to_reply(&v, resp, reply, 0);
                Outcome::Reply
            }
            Ok((false, Value::Table(t))) => {
                let message = t.raw_get::<mlua::LuaString>("err").map(|s| s.as_bytes().to_vec()).unwrap_or_default();
                let src: Option<String> = t.raw_get("source").ok().flatten();
                let line: Option<i64> = t.raw_get("line").ok().flatten();
                Outcome::Error { message, at: src.map(|s| (s, line.unwrap_or(-1))) }
            }
            Ok((false, other)) => {
                let text = match other {
                    Value::String(s) => s.as_bytes().to_vec(),
                    _ => b"error in error handling".to_vec(),
                };
                let mut message = b"ERR ".to_vec();
                message.extend_from_slice(&text);
                Outcome::Error { message, at: None }
            }
            Err(e) => Outcome::Error { message: format!("ERR {e}").into_bytes(), at: None },
        }
    }

    /// Runs library code for FUNCTION LOAD; returns what it registered or the error text.
    pub(crate) fn load_library(&self, f: &Function, host: &mut dyn Host) -> Result<Vec<Registered>, String> {
        let _ = self.set_loading.call::<()>(true);
        if let Some(mut st) = self.lua.app_data_mut::<RunState>() {
            st.loading = Some(Vec::new());
            st.load_deadline = Some(Instant::now() + LOAD_TIMEOUT);
        }
        let mut scratch = ReplyBuf::default();
        let outcome = self.call(f, MultiValue::new(), host, &mut scratch);
        let _ = self.set_loading.call::<()>(false);
        let registered = match self.lua.app_data_mut::<RunState>() {
            Some(mut st) => {
                st.load_deadline = None;
                st.loading.take().unwrap_or_default()
            }
            None => Vec::new(),
        };
        match outcome {
            Outcome::Reply => Ok(registered),
            Outcome::Error { message, .. } => Err(String::from_utf8_lossy(&message).into_owned()),
            Outcome::Killed { .. } => Err("ERR FUNCTION LOAD timeout".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rand48_matches_redis_sequence() {
        // Recorded from Redis 7.0 right after start: math.random() then math.random(100) five
        // times; then math.randomseed(7) and math.random(100).
        let mut r = Rand48::unseeded();
        let pick = |r: &mut Rand48, u: f64| {
            let x = (r.next() as i64 % i32::MAX as i64) as f64 / i32::MAX as f64;
            (x * u).floor() as i64 + 1
        };
        pick(&mut r, 1.0);
        let got: Vec<i64> = (0..6).map(|_| pick(&mut r, 100.0)).collect();
        assert_eq!(got, vec![85, 36, 45, 32, 89, 2]);
        let mut r = Rand48::new(7);
        assert_eq!(pick(&mut r, 100.0), 27);
    }

    #[test]
    fn version_number() {
        assert_eq!(version_num("7.0.15"), 458767);
    }
}

//! The libraries Redis makes available to scripts, each registered as a global table.
//!
//! Owns the calling convention shared by every library function: argument checks with Lua 5.1's
//! wording, and raising errors as plain Lua strings (as the C libraries do) rather than as mlua
//! error objects, so scripts that `pcall` and inspect the message see what Redis would give them.

mod bit;
mod cjson;
mod cmsgpack;
mod struct_lib;

use mlua::{ffi, Function, IntoLuaMulti, LightUserData, Lua, MultiValue, Table, Value};
use std::ffi::c_int;

/// Registers `cjson`, `cmsgpack`, `bit` and `struct` as global tables.
pub fn open_all(lua: &Lua) -> mlua::Result<()> {
    let reg = Registrar;
    let globals = lua.globals();
    globals.set("cjson", cjson::module(lua, &reg)?)?;
    globals.set("cmsgpack", cmsgpack::module(lua, &reg)?)?;
    globals.set("bit", bit::module(lua, &reg)?)?;
    globals.set("struct", struct_lib::module(lua, &reg)?)?;
    Ok(())
}

/// Why a library call failed.
pub(crate) enum Fail {
    /// A `luaL_error`-style failure: prefixed with the calling script's position.
    Msg(String),
    /// A `luaL_argerror`-style failure for the given 1-based argument.
    Arg(i64, String),
    /// A message raised as-is, like the VM's own "table index is nil".
    Raw(String),
    /// An error from mlua itself (allocation and the like), passed through unchanged.
    Lua(mlua::Error),
}

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Self {
        Fail::Lua(e)
    }
}

pub(crate) type LibResult<T> = std::result::Result<T, Fail>;

/// Marks a failed call for the trampoline. Its address is unique to this module, so it
/// cannot collide with `cjson.null` (a NULL light userdata) or any value a script can make.
static FAIL_MARK: u8 = 0;
/// Marks results passed as a [`Spread`].
static SPREAD_MARK: u8 = 0;

fn fail_mark() -> LightUserData {
    LightUserData(std::ptr::addr_of!(FAIL_MARK) as *mut std::ffi::c_void)
}

/// Builds library functions. Each Rust function sits behind a small C trampoline that turns a
/// failure marker into a real `lua_error` with a string message. Being a C function, the
/// trampoline also keeps what a C library function has: scripts' tail calls do not erase its
/// caller, so error positions and `bad argument ... to 'name'` come out as in Redis.
#[derive(Clone, Copy)]
pub(crate) struct Registrar;

unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    let nresults = ffi::lua_gettop(state);
    let marked = |mark: &u8| {
        ffi::lua_type(state, 1) == ffi::LUA_TLIGHTUSERDATA
            && ffi::lua_touserdata(state, 1) == std::ptr::addr_of!(*mark) as *mut std::ffi::c_void
    };
    if nresults == 2 && marked(&FAIL_MARK) {
        // Nothing with a destructor lives in this frame, so unwinding it with longjmp is sound.
        ffi::lua_error(state);
    }
    if nresults == 3 && marked(&SPREAD_MARK) {
        let n = ffi::lua_tointeger(state, 3);
        let count = c_int::try_from(n).unwrap_or(c_int::MAX);
        // Keep only the table, leaving the whole C stack allowance for the values.
        ffi::lua_settop(state, 2);
        ffi::lua_replace(state, 1);
        if ffi::lua_checkstack(state, count) == 0 {
            ffi::lua_pushstring(state, c"stack overflow (too many results)".as_ptr());
            ffi::lua_error(state);
        }
        for i in 1..=n {
            ffi::lua_rawgeti(state, 1, i);
        }
        return count;
    }
    nresults
}

/// Many results, passed back through a table that the trampoline spreads onto the stack, so that
/// producing them never holds one mlua reference per value (mlua has room for some thousands).
pub(crate) struct Spread {
    pub table: Table,
    pub len: usize,
}

impl IntoLuaMulti for Spread {
    fn into_lua_multi(self, lua: &Lua) -> mlua::Result<MultiValue> {
        let mark = LightUserData(std::ptr::addr_of!(SPREAD_MARK) as *mut std::ffi::c_void);
        (mark, self.table, self.len as f64).into_lua_multi(lua)
    }
}

impl Registrar {
    /// Adds `name` to `table`, implemented by `f`.
    pub(crate) fn add<F, R>(&self, lua: &Lua, table: &Table, name: &str, f: F) -> mlua::Result<()>
    where
        F: Fn(&Lua, Args) -> LibResult<R> + Send + 'static,
        R: IntoLuaMulti,
    {
        let imp = lua.create_function(move |lua, args: MultiValue| match f(lua, Args(args.into_vec())) {
            Ok(r) => r.into_lua_multi(lua),
            Err(Fail::Lua(e)) => Err(e),
            Err(fail) => (fail_mark(), render(lua, fail)).into_lua_multi(lua),
        })?;
        // SAFETY: the closure only pushes a C closure over the function already on the stack.
        let wrapped: Function = unsafe {
            lua.exec_raw(imp, |state| {
                ffi::lua_pushcclosure(state, trampoline, 1);
            })?
        };
        table.raw_set(name, wrapped)
    }
}

/// Formats a failure as the C library would have: level 0 is the Rust function, level 1 the
/// trampoline the script called (whose name `luaL_argerror` reports) and level 2 the caller.
fn render(lua: &Lua, fail: Fail) -> String {
    match fail {
        Fail::Raw(m) => m,
        Fail::Msg(m) => format!("{}{m}", position(lua)),
        Fail::Arg(mut n, m) => {
            let (name, what) = lua
                .inspect_stack(1, |d| {
                    let names = d.names();
                    (names.name.map(|c| c.into_owned()), names.name_what)
                })
                .unwrap_or((None, None));
            let name = name.unwrap_or_else(|| "?".to_string());
            if what == Some("method") {
                n -= 1;
                if n == 0 {
                    return format!("{}calling '{name}' on bad self ({m})", position(lua));
                }
            }
            format!("{}bad argument #{n} to '{name}' ({m})", position(lua))
        }
        Fail::Lua(e) => e.to_string(),
    }
}

fn position(lua: &Lua) -> String {
    lua.inspect_stack(2, |d| {
        let line = d.current_line()?;
        let src = d.source().short_src?.into_owned();
        Some(format!("{src}:{line}: "))
    })
    .flatten()
    .unwrap_or_default()
}

/// The arguments of a call, indexed from 1 as Lua does.
pub(crate) struct Args(pub Vec<Value>);

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// Lua 5.1's `lua_tointeger`: truncation, with x86's out-of-range result for values that do not
/// fit.
pub(crate) fn trunc_i64(n: f64) -> i64 {
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

impl Args {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i - 1)
    }

    /// True when argument `i` is absent or nil (`luaL_opt*` semantics).
    pub(crate) fn is_none_or_nil(&self, i: usize) -> bool {
        matches!(self.get(i), None | Some(Value::Nil))
    }

    fn type_error(&self, i: usize, want: &str) -> Fail {
        let got = self.get(i).map_or("no value", type_name);
        Fail::Arg(i as i64, format!("{want} expected, got {got}"))
    }

    pub(crate) fn number(&self, lua: &Lua, i: usize) -> LibResult<f64> {
        match self.get(i) {
            Some(Value::Integer(n)) => Ok(*n as f64),
            Some(Value::Number(n)) => Ok(*n),
            Some(v @ Value::String(_)) => match lua.coerce_number(v.clone())? {
                Some(n) => Ok(n),
                None => Err(self.type_error(i, "number")),
            },
            _ => Err(self.type_error(i, "number")),
        }
    }

    pub(crate) fn integer(&self, lua: &Lua, i: usize) -> LibResult<i64> {
        self.number(lua, i).map(trunc_i64)
    }

    pub(crate) fn opt_integer(&self, lua: &Lua, i: usize, default: i64) -> LibResult<i64> {
        if self.is_none_or_nil(i) {
            Ok(default)
        } else {
            self.integer(lua, i)
        }
    }

    pub(crate) fn bytes(&self, lua: &Lua, i: usize) -> LibResult<Vec<u8>> {
        match self.get(i) {
            Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => match lua.coerce_string(v.clone())? {
                Some(s) => Ok(s.as_bytes().to_vec()),
                None => Err(self.type_error(i, "string")),
            },
            _ => Err(self.type_error(i, "string")),
        }
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use mlua::Lua;

    pub fn lua() -> Lua {
        let lua = Lua::new();
        super::open_all(&lua).unwrap();
        lua
    }

    /// Runs `code` (a chunk that returns one value) and gives back that value's bytes.
    pub fn bytes(lua: &Lua, code: &str) -> Vec<u8> {
        let s: mlua::LuaString =
            lua.load(code).set_name("@user_script").eval().unwrap_or_else(|e| panic!("{code}: {e}"));
        s.as_bytes().to_vec()
    }

    pub fn string(lua: &Lua, code: &str) -> String {
        String::from_utf8(bytes(lua, code)).unwrap()
    }

    /// Runs `code` in `pcall` and gives back the error message it raised.
    pub fn error(lua: &Lua, code: &str) -> String {
        let wrapped = format!("local ok, e = pcall(function() {code} end) assert(not ok, 'no error') return e");
        let e: mlua::Value =
            lua.load(&wrapped).set_name("@user_script").eval().unwrap_or_else(|e| panic!("{code}: {e}"));
        match e {
            mlua::Value::String(s) => s.to_str().unwrap().to_string(),
            other => panic!("{code}: non-string error {other:?}"),
        }
    }

    /// Hex of bytes, for comparing binary output against recorded server output.
    pub fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

//! Conversions between replies and Lua values, both ways, as Redis 7.0 documents them.
//!
//! Reply -> Lua: integer -> number, bulk -> string, RESP2 null -> false, array -> table,
//! status -> {ok=}, error -> {err=}; RESP3: null -> nil, boolean -> boolean, map -> {map=},
//! set -> {set=}, double -> {double=}, big number -> {big_number=}, verbatim ->
//! {verbatim_string={format=, string=}}.
//! Lua -> reply: number -> integer (truncated), string -> bulk, table -> array up to the first
//! nil (or the special forms above), false -> null, true -> 1 in RESP2 (booleans when the script
//! chose RESP3), nil -> null.

use mlua::{Lua, Table, Value};
use roost_resp::{ReplyBuf, RespValue};

/// Nesting beyond this is refused, in both directions.
const MAX_DEPTH: usize = 1000;

fn too_deep() -> mlua::Error {
    mlua::Error::RuntimeError("reached lua stack limit".into())
}

/// Converts a command's reply into the Lua value a script receives.
pub(crate) fn reply_to_lua(lua: &Lua, v: &RespValue, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let single = |key: &str, value: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(key, value)?;
        Ok(Value::Table(t))
    };
    Ok(match v {
        RespValue::Int(i) => Value::Number(*i as f64),
        RespValue::Bulk(b) => Value::String(lua.create_string(b)?),
        RespValue::NullBulk | RespValue::NullArray => Value::Boolean(false),
        RespValue::Null => Value::Nil,
        RespValue::Bool(b) => Value::Boolean(*b),
        RespValue::Simple(s) => single("ok", Value::String(lua.create_string(s)?))?,
        RespValue::Error(s) => single("err", Value::String(lua.create_string(s)?))?,
        RespValue::Double(d) => single("double", Value::Number(*d))?,
        RespValue::BigNumber(s) => single("big_number", Value::String(lua.create_string(s)?))?,
        RespValue::Verbatim(format, text) => {
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            single("verbatim_string", Value::Table(inner))?
        }
        RespValue::Array(items) | RespValue::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, item, depth + 1)?)?;
            }
            Value::Table(t)
        }
        RespValue::Set(items) => {
            let inner = lua.create_table()?;
            for item in items {
                inner.raw_set(reply_to_lua(lua, item, depth + 1)?, true)?;
            }
            single("set", Value::Table(inner))?
        }
        RespValue::Map(pairs) => {
            let inner = lua.create_table()?;
            for (k, v) in pairs {
                inner.raw_set(reply_to_lua(lua, k, depth + 1)?, reply_to_lua(lua, v, depth + 1)?)?;
            }
            single("map", Value::Table(inner))?
        }
    })
}

/// A double as Redis prints it (`%.17g`), with C's sign on NaN (0/0 is a negative NaN on x86).
pub(crate) fn double_text(d: f64) -> Vec<u8> {
    if d.is_nan() {
        return if d.is_sign_negative() { b"-nan".to_vec() } else { b"nan".to_vec() };
    }
    let mut out = Vec::new();
    roost_resp::format_double(d, &mut out);
    out
}

fn reply_double(reply: &mut ReplyBuf, d: f64) {
    if !d.is_nan() {
        return reply.double(d);
    }
    let text = double_text(d);
    if reply.resp3 {
        reply.out.push(b',');
        reply.out.extend_from_slice(&text);
        reply.out.extend_from_slice(b"\r\n");
    } else {
        reply.bulk(&text);
    }
}

/// Lua 5.1 numbers become integers as C's cast does on x86: truncation, and the minimum for
/// anything out of range (NaN included).
pub(crate) fn lua_number_to_int(n: f64) -> i64 {
    crate::libs::trunc_i64(n)
}

fn field(t: &Table, key: &str) -> Value {
    t.raw_get::<Value>(key).unwrap_or(Value::Nil)
}

fn string_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => {
            // Lua's own number-to-string form (%.14g).
            Some(lua_number_string(*n).into_bytes())
        }
        _ => None,
    }
}

/// `tostring` of a Lua 5.1 number (`%.14g`).
pub(crate) fn lua_number_string(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if n == n.trunc() && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    // %.14g: 14 significant digits, shortest of fixed or exponent form, trailing zeros dropped.
    let exp = n.abs().log10().floor() as i32;
    if !(-5..14).contains(&exp) {
        let s = format!("{:.13e}", n);
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = trim_fraction(mantissa);
        let e: i32 = e.parse().unwrap_or(0);
        format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (13 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, n)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Writes a script's return value as a reply. `resp` is the protocol the script selected with
/// redis.setresp; `reply.resp3` is the client's.
pub(crate) fn lua_to_reply(v: &Value, resp: u8, reply: &mut ReplyBuf, depth: usize) {
    if depth > MAX_DEPTH {
        reply.error(b"ERR reached lua stack limit");
        return;
    }
    match v {
        Value::String(s) => reply.bulk(&s.as_bytes()),
        Value::Integer(i) => reply.int(*i),
        Value::Number(n) => reply.int(lua_number_to_int(*n)),
        Value::Boolean(b) => {
            if resp == 3 {
                reply.boolean(*b)
            } else if *b {
                reply.int(1)
            } else {
                reply.null()
            }
        }
        Value::Table(t) => table_to_reply(t, resp, reply, depth),
        _ => reply.null(),
    }
}

/// The bytes of a field that holds a Lua string (numbers do not count, as in Redis).
fn lua_string(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn table_to_reply(t: &Table, resp: u8, reply: &mut ReplyBuf, depth: usize) {
    if let Some(msg) = lua_string(&field(t, "err")) {
        reply.error(&msg);
        return;
    }
    if let Some(msg) = lua_string(&field(t, "ok")) {
        let clean: Vec<u8> = msg.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect();
        reply.simple(&clean);
        return;
    }
    match field(t, "double") {
        Value::Number(d) => return reply_double(reply, d),
        Value::Integer(i) => return reply_double(reply, i as f64),
        _ => {}
    }
    if let Some(digits) = lua_string(&field(t, "big_number")) {
        let clean: Vec<u8> = digits.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect();
        reply.big_number(&clean);
        return;
    }
    if let Value::Table(m) = field(t, "map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        reply.map(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(k, resp, reply, depth + 1);
            lua_to_reply(v, resp, reply, depth + 1);
        }
        return;
    }
    if let Value::Table(s) = field(t, "set") {
        let keys: Vec<Value> = s.pairs::<Value, Value>().filter_map(Result::ok).map(|(k, _)| k).collect();
        reply.set(keys.len());
        for k in &keys {
            lua_to_reply(k, resp, reply, depth + 1);
        }
        return;
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        if let (Some(format), Some(text)) = (string_bytes(&field(&v, "format")), string_bytes(&field(&v, "string"))) {
            if format.len() == 3 {
                let f = [format[0], format[1], format[2]];
                reply.verbatim(&f, &text);
                return;
            }
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        let item: Value = t.raw_get(i).unwrap_or(Value::Nil);
        if item.is_nil() {
            break;
        }
        items.push(item);
    }
    reply.array(items.len());
    for item in &items {
        lua_to_reply(item, resp, reply, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lua_numbers_print_as_lua_does() {
        assert_eq!(lua_number_string(1.0), "1");
        assert_eq!(lua_number_string(0.1), "0.1");
        assert_eq!(lua_number_string(1.5), "1.5");
        assert_eq!(lua_number_string(1e20), "1e+20");
        assert_eq!(lua_number_string(1.0 / 3.0), "0.33333333333333");
        assert_eq!(lua_number_string(-2.5e-7), "-2.5e-07");
    }

    #[test]
    fn numbers_truncate_like_c() {
        assert_eq!(lua_number_to_int(3.99), 3);
        assert_eq!(lua_number_to_int(-3.99), -3);
        assert_eq!(lua_number_to_int(1e20), i64::MIN);
        assert_eq!(lua_number_to_int(f64::NAN), i64::MIN);
    }
}

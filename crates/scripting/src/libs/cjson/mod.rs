//! The `cjson` table: JSON encoding and decoding with the behaviour of the lua-cjson 2.1.0 build
//! Redis ships: `%.14g` numbers, the sparse-array rules, `cjson.null`, nesting limits, the
//! configuration functions and the exact error messages.

use super::{Args, Fail, LibResult, Registrar};
use mlua::{LightUserData, Lua, Table, Value};
use std::sync::{Arc, Mutex, MutexGuard};

mod decode;

use decode::decode;

/// Nesting never goes past this, whatever the configured limits, so a raised limit cannot make
/// a cyclic table or a hostile document exhaust memory.
const HARD_DEPTH: i64 = 100_000;
/// Most `null` fillers one array may need before it is refused as too sparse.
const MAX_HOLES: f64 = 16_777_216.0;

#[derive(Clone, Copy, PartialEq)]
enum Invalid {
    Off,
    On,
    Null,
}

/// One instance's settings (`cjson.new()` makes an instance with its own).
struct Config {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    precision: usize,
    keep_buffer: bool,
    encode_invalid: Invalid,
    decode_invalid: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            keep_buffer: true,
            encode_invalid: Invalid::Off,
            decode_invalid: true,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

fn lock(cfg: &Shared) -> MutexGuard<'_, Config> {
    cfg.lock().unwrap_or_else(|p| p.into_inner())
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// C's `%.{prec}g` for a finite number.
fn format_g(x: f64, prec: usize) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= prec as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.unsigned_abs())
    } else {
        trim(&format!("{:.*}", (prec as i32 - 1 - exp) as usize, x))
    }
}

fn type_error(kind: &str, why: &str) -> Fail {
    Fail::Msg(format!("Cannot serialise {kind}: {why}"))
}

fn encode_number(out: &mut Vec<u8>, n: f64, cfg: &Config) -> LibResult<()> {
    if n.is_finite() {
        out.extend_from_slice(format_g(n, cfg.precision).as_bytes());
        return Ok(());
    }
    let text = match cfg.encode_invalid {
        Invalid::Off => return Err(type_error("number", "must not be NaN or Inf")),
        Invalid::Null => "null",
        Invalid::On if n.is_nan() => "nan",
        Invalid::On if n > 0.0 => "inf",
        Invalid::On => "-inf",
    };
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// How a table is written: as an array of `len` slots, or as an object.
enum Shape {
    Array(usize),
    Object,
}

fn shape(t: &Table, cfg: &Config) -> LibResult<Shape> {
    let (mut max, mut items, mut array) = (0f64, 0f64, true);
    t.for_each(|k: Value, _: Value| {
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => f64::NAN,
        };
        if n >= 1.0 && n.floor() == n {
            max = max.max(n);
            items += 1.0;
        } else {
            array = false;
        }
        Ok(())
    })?;
    // The library keeps the largest index in a C int, so a key beyond that range (inf too) wraps
    // it negative and the table is written as an object.
    if !array || max == 0.0 || max > f64::from(i32::MAX) {
        return Ok(Shape::Object);
    }
    let ratio = cfg.sparse_ratio as f64;
    let sparse = cfg.sparse_ratio > 0 && max > items * ratio && max > cfg.sparse_safe as f64;
    // With the ratio check switched off, a lone huge index would otherwise ask for gigabytes of
    // "null" fillers; past this many holes the table counts as excessively sparse regardless.
    let absurd = max - items > MAX_HOLES;
    if sparse || absurd {
        if cfg.sparse_convert {
            return Ok(Shape::Object);
        }
        return Err(type_error("table", "excessively sparse array"));
    }
    Ok(Shape::Array(max as usize))
}

/// An object key kept as plain data, so open objects pin no Lua references. Keys of other
/// types keep their type name: the library fails on them only when it reaches them.
enum Key {
    Str(Vec<u8>),
    Num(f64),
    Bad(&'static str),
}

enum Frame {
    Array { len: usize, next: usize },
    Object { keys: Vec<Key>, next: usize },
}

/// What the innermost open table produces next.
enum Next {
    Close(u8),
    Item { sep: bool, key: Option<Vec<u8>>, value: Value },
}

/// Encodes without recursion; each open table waits in `holder` at its depth.
struct Encoder<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    out: Vec<u8>,
    frames: Vec<Frame>,
    holder: Table,
}

impl Encoder<'_> {
    fn value(&mut self, v: Value) -> LibResult<()> {
        match v {
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::Boolean(b) => self.out.extend_from_slice(if b { b"true" } else { b"false" }),
            Value::Integer(i) => encode_number(&mut self.out, i as f64, self.cfg)?,
            Value::Number(n) => encode_number(&mut self.out, n, self.cfg)?,
            Value::String(s) => encode_string(&mut self.out, &s.as_bytes()),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Table(t) => self.open(t)?,
            other => return Err(type_error(super::type_name(&other), "type not supported")),
        }
        Ok(())
    }

    fn open(&mut self, t: Table) -> LibResult<()> {
        let depth = self.frames.len() as i64 + 1;
        if depth > self.cfg.encode_max_depth.min(HARD_DEPTH) {
            return Err(Fail::Msg(format!("Cannot serialise, excessive nesting ({depth})")));
        }
        let frame = match shape(&t, self.cfg)? {
            Shape::Array(len) => {
                self.out.push(b'[');
                Frame::Array { len, next: 1 }
            }
            Shape::Object => {
                let mut keys = Vec::new();
                t.for_each(|k: Value, _: Value| {
                    keys.push(match k {
                        Value::String(s) => Key::Str(s.as_bytes().to_vec()),
                        Value::Integer(i) => Key::Num(i as f64),
                        Value::Number(n) => Key::Num(n),
                        other => Key::Bad(super::type_name(&other)),
                    });
                    Ok(())
                })?;
                self.out.push(b'{');
                Frame::Object { keys, next: 0 }
            }
        };
        self.holder.raw_set(depth, t)?;
        self.frames.push(frame);
        Ok(())
    }

    /// Writes the next element of the innermost open table, or closes it.
    fn step(&mut self) -> LibResult<()> {
        let depth = self.frames.len();
        let table: Table = self.holder.raw_get(depth)?;
        let next = match self.frames.last_mut() {
            None => return Ok(()),
            Some(Frame::Array { len, next }) => {
                if *next > *len {
                    Next::Close(b']')
                } else {
                    let i = *next;
                    *next += 1;
                    Next::Item { sep: i > 1, key: None, value: table.raw_get(i)? }
                }
            }
            Some(Frame::Object { keys, next }) => match keys.get(*next) {
                None => Next::Close(b'}'),
                Some(key) => {
                    let sep = *next > 0;
                    *next += 1;
                    let (text, value) = match key {
                        Key::Bad(name) => return Err(type_error(name, "table key must be a number or string")),
                        Key::Str(s) => (s.clone(), table.raw_get(self.lua.create_string(s)?)?),
                        Key::Num(n) => {
                            let mut text = Vec::new();
                            encode_number(&mut text, *n, self.cfg)?;
                            (text, table.raw_get(*n)?)
                        }
                    };
                    Next::Item { sep, key: Some(text), value }
                }
            },
        };
        match next {
            Next::Close(c) => {
                self.out.push(c);
                self.frames.pop();
                self.holder.raw_set(depth, Value::Nil)?;
                Ok(())
            }
            Next::Item { sep, key, value } => {
                if sep {
                    self.out.push(b',');
                }
                if let Some(k) = key {
                    encode_string(&mut self.out, &k);
                    self.out.push(b':');
                }
                self.value(value)
            }
        }
    }
}

fn encode(lua: &Lua, cfg: &Config, v: Value) -> LibResult<mlua::LuaString> {
    let mut enc = Encoder { lua, cfg, out: Vec::new(), frames: Vec::new(), holder: lua.create_table()? };
    enc.value(v)?;
    while !enc.frames.is_empty() {
        enc.step()?;
    }
    Ok(lua.create_string(&enc.out)?)
}

fn max_args(args: &Args, n: usize) -> LibResult<()> {
    if args.len() > n {
        return Err(Fail::Arg(n as i64 + 1, "found too many arguments".into()));
    }
    Ok(())
}

/// An on/off style option: `Some(index into options)` when the argument sets it.
fn enum_option(lua: &Lua, args: &Args, i: usize, options: &[&str]) -> LibResult<Option<usize>> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(usize::from(*b))),
        Some(_) => {
            let s = args.bytes(lua, i)?;
            match options.iter().position(|o| o.as_bytes() == s.as_slice()) {
                Some(p) => Ok(Some(p)),
                None => Err(Fail::Arg(i as i64, format!("invalid option '{}'", String::from_utf8_lossy(&s)))),
            }
        }
    }
}

fn int_option(lua: &Lua, args: &Args, i: usize, min: i64, max: i64) -> LibResult<Option<i64>> {
    if args.is_none_or_nil(i) {
        return Ok(None);
    }
    let v = args.integer(lua, i)?;
    if v < min || v > max {
        // The bundled library names argument 1 here whichever argument was out of range.
        return Err(Fail::Arg(1, format!("expected integer between {min} and {max}")));
    }
    Ok(Some(v))
}

const INT_MAX: i64 = i32::MAX as i64;

fn instance(lua: &Lua, reg: Registrar) -> mlua::Result<Table> {
    let cfg: Shared = Arc::new(Mutex::new(Config::default()));
    let t = lua.create_table()?;
    let c = cfg.clone();
    reg.add(lua, &t, "encode", move |lua, a| {
        if a.len() != 1 {
            return Err(Fail::Arg(1, "expected 1 argument".into()));
        }
        let v = a.0.into_iter().next().unwrap_or(Value::Nil);
        encode(lua, &lock(&c), v)
    })?;
    let c = cfg.clone();
    reg.add(lua, &t, "decode", move |lua, a| {
        if a.len() != 1 {
            return Err(Fail::Arg(1, "expected 1 argument".into()));
        }
        let data = a.bytes(lua, 1)?;
        decode(lua, &lock(&c), &data)
    })?;
    let c = cfg.clone();
    reg.add(lua, &t, "encode_sparse_array", move |lua, a| {
        max_args(&a, 3)?;
        let convert = enum_option(lua, &a, 1, &["off", "on"])?;
        let ratio = int_option(lua, &a, 2, 0, INT_MAX)?;
        let safe = int_option(lua, &a, 3, 0, INT_MAX)?;
        let mut g = lock(&c);
        if let Some(v) = convert {
            g.sparse_convert = v == 1;
        }
        if let Some(v) = ratio {
            g.sparse_ratio = v;
        }
        if let Some(v) = safe {
            g.sparse_safe = v;
        }
        Ok((g.sparse_convert, g.sparse_ratio as f64, g.sparse_safe as f64))
    })?;
    type IntField = fn(&mut Config) -> &mut i64;
    let depths: [(&str, IntField); 2] =
        [("encode_max_depth", |c| &mut c.encode_max_depth), ("decode_max_depth", |c| &mut c.decode_max_depth)];
    for (name, field) in depths {
        let c = cfg.clone();
        reg.add(lua, &t, name, move |lua, a| {
            max_args(&a, 1)?;
            let v = int_option(lua, &a, 1, 1, INT_MAX)?;
            let mut g = lock(&c);
            if let Some(v) = v {
                *field(&mut g) = v;
            }
            Ok(*field(&mut g) as f64)
        })?;
    }
    let c = cfg.clone();
    reg.add(lua, &t, "encode_number_precision", move |lua, a| {
        max_args(&a, 1)?;
        let v = int_option(lua, &a, 1, 1, 14)?;
        let mut g = lock(&c);
        if let Some(v) = v {
            g.precision = v as usize;
        }
        Ok(g.precision as f64)
    })?;
    type BoolField = fn(&mut Config) -> &mut bool;
    let switches: [(&str, BoolField); 2] =
        [("encode_keep_buffer", |c| &mut c.keep_buffer), ("decode_invalid_numbers", |c| &mut c.decode_invalid)];
    for (name, field) in switches {
        let c = cfg.clone();
        reg.add(lua, &t, name, move |lua, a| {
            max_args(&a, 1)?;
            let v = enum_option(lua, &a, 1, &["off", "on"])?;
            let mut g = lock(&c);
            if let Some(v) = v {
                *field(&mut g) = v == 1;
            }
            Ok(*field(&mut g))
        })?;
    }
    let c = cfg;
    reg.add(lua, &t, "encode_invalid_numbers", move |lua, a| {
        max_args(&a, 1)?;
        let v = enum_option(lua, &a, 1, &["off", "on", "null"])?;
        let mut g = lock(&c);
        if let Some(v) = v {
            g.encode_invalid = [Invalid::Off, Invalid::On, Invalid::Null][v];
        }
        Ok(match g.encode_invalid {
            Invalid::Off => Value::Boolean(false),
            Invalid::On => Value::Boolean(true),
            Invalid::Null => Value::String(lua.create_string("null")?),
        })
    })?;
    reg.add(lua, &t, "new", move |lua, _| Ok(instance(lua, reg)?))?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

pub(crate) fn module(lua: &Lua, reg: &Registrar) -> mlua::Result<Table> {
    instance(lua, *reg)
}

#[cfg(test)]
mod tests {
    use super::format_g;
    use crate::libs::testutil::{error, lua, string};

    #[test]
    fn format_g_matches_printf() {
        let cases = [
            (0.1, "0.1"),
            (1e100, "1e+100"),
            (-0.0, "-0"),
            (3.0, "3"),
            (1.0 / 3.0, "0.33333333333333"),
            (123456789012345.0, "1.2345678901234e+14"),
            (-1.5e-7, "-1.5e-07"),
            (1e15, "1e+15"),
            (1e14, "1e+14"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (5e-324, "4.9406564584125e-324"),
            (1.7976931348623157e308, "1.7976931348623e+308"),
            (99999999999999.95, "1e+14"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g(x, 14), want, "{x}");
        }
        assert_eq!(format_g(12345.0, 3), "1.23e+04");
    }

    #[test]
    fn encode_matches_server() {
        let lua = lua();
        let cases = [
            ("{1,2,{a=3}}", r#"[1,2,{"a":3}]"#),
            ("0.1", "0.1"),
            ("1e100", "1e+100"),
            ("-0", "-0"),
            ("2^53", "9.007199254741e+15"),
            ("123456789.123", "123456789.123"),
            ("-123.456", "-123.456"),
            ("100", "100"),
            (
                r#""a/b\"c\\d\n\r\t\b\f" .. string.char(0,1,31,127,128,255)"#,
                "\"a\\/b\\\"c\\\\d\\n\\r\\t\\b\\f\\u0000\\u0001\\u001f\\u007f\u{80}\u{ff}\"",
            ),
            ("{}", "{}"),
            ("{[1]=1,[3]=3}", "[1,null,3]"),
            ("{1, nil, 3}", "[1,null,3]"),
            ("{[1]=1,x=2}", r#"{"1":1,"x":2}"#),
            ("{[0]=1}", r#"{"0":1}"#),
            ("{[-1]=1}", r#"{"-1":1}"#),
            ("{[1.5]=1}", r#"{"1.5":1}"#),
            ("{[5.0]=1}", "[null,null,null,null,1]"),
            ("{[1]=1, [2]=2, [4]=4, [10]=10}", "[1,2,null,4,null,null,null,null,null,10]"),
            (
                "{[2]=1,[4]=1,[6]=1,[8]=1,[10]=1,[12]=1,[14]=1,[16]=1,[18]=1,[20]=1,[22]=1,[24]=1}",
                "[null,1,null,1,null,1,null,1,null,1,null,1,null,1,null,1,null,1,null,1,null,1,null,1]",
            ),
            ("{a={b={c={}}}}", r#"{"a":{"b":{"c":{}}}}"#),
            ("{[\"1\"]=1,[2]=2}", r#"{"1":1,"2":2}"#),
            ("{[\"a\\\"b\"]=1}", r#"{"a\"b":1}"#),
            ("true", "true"),
            ("nil", "null"),
            ("cjson.null", "null"),
            ("{cjson.null}", "[null]"),
            ("{[2^40]=1}", r#"{"1099511627776":1}"#),
            ("{[2^31]=1}", r#"{"2147483648":1}"#),
        ];
        for (v, want) in cases {
            // Byte-exact comparison: the encoder passes bytes >= 0x80 through unchanged.
            let got = crate::libs::testutil::bytes(&lua, &format!("return cjson.encode({v})"));
            let want: Vec<u8> = want.chars().map(|c| c as u32 as u8).collect();
            assert_eq!(got, want, "{v}");
        }
        let utf8 = string(&lua, "return cjson.encode('\u{e9}')");
        assert_eq!(utf8, "\"\u{e9}\"");
    }

    #[test]
    fn encode_errors_match_server() {
        let lua = lua();
        let cases = [
            ("cjson.encode(0/0)", "user_script:1: Cannot serialise number: must not be NaN or Inf"),
            ("cjson.encode(-1/0)", "user_script:1: Cannot serialise number: must not be NaN or Inf"),
            ("cjson.encode({[1/0]=1})", "user_script:1: Cannot serialise number: must not be NaN or Inf"),
            ("cjson.encode({[1]=1,[12]=3})", "user_script:1: Cannot serialise table: excessively sparse array"),
            ("cjson.encode({[1]=1,[11]=3})", "user_script:1: Cannot serialise table: excessively sparse array"),
            ("cjson.encode({[20]=1})", "user_script:1: Cannot serialise table: excessively sparse array"),
            ("cjson.encode({[2^31-1]=1})", "user_script:1: Cannot serialise table: excessively sparse array"),
            (
                "cjson.encode({[true]=1})",
                "user_script:1: Cannot serialise boolean: table key must be a number or string",
            ),
            ("cjson.encode({[{}]=1})", "user_script:1: Cannot serialise table: table key must be a number or string"),
            ("cjson.encode(function() end)", "user_script:1: Cannot serialise function: type not supported"),
            ("cjson.encode({a=function() end})", "user_script:1: Cannot serialise function: type not supported"),
            (
                "cjson.encode(coroutine.create(function() end))",
                "user_script:1: Cannot serialise thread: type not supported",
            ),
            ("cjson.encode()", "user_script:1: bad argument #1 to 'encode' (expected 1 argument)"),
            ("cjson.encode(1, 2)", "user_script:1: bad argument #1 to 'encode' (expected 1 argument)"),
            (
                "(function() local t = {} t[1] = t return cjson.encode(t) end)()",
                "user_script:1: Cannot serialise, excessive nesting (1001)",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(error(&lua, &format!("return {code}")), want, "{code}");
        }
        let deep = |n| format!("local t={{}} local c=t for i=1,{n} do c[1]={{}} c=c[1] end return #cjson.encode(t)");
        assert_eq!(lua.load(deep(999)).eval::<i64>().unwrap(), 2000);
        assert_eq!(error(&lua, &deep(1000)), "user_script:1: Cannot serialise, excessive nesting (1001)");
    }

    #[test]
    fn configuration_matches_server() {
        let lua = lua();
        let show = |code: &str| {
            string(
                &lua,
                &format!("local r = {{{code}}} for i = 1, #r do r[i] = tostring(r[i]) end return table.concat(r, ' ')"),
            )
        };
        assert_eq!(show("cjson.encode_max_depth()"), "1000");
        assert_eq!(show("cjson.decode_max_depth()"), "1000");
        assert_eq!(show("cjson.encode_sparse_array()"), "false 2 10");
        assert_eq!(show("cjson.encode_number_precision()"), "14");
        assert_eq!(show("cjson.encode_keep_buffer()"), "true");
        assert_eq!(show("cjson.encode_invalid_numbers()"), "false");
        assert_eq!(show("cjson.decode_invalid_numbers()"), "true");
        assert_eq!(show("cjson.encode_sparse_array(true, 3, 5)"), "true 3 5");
        assert_eq!(show("cjson.encode_sparse_array(nil, 3)"), "true 3 5");
        assert_eq!(show("cjson.encode_sparse_array('on')"), "true 3 5");
        assert_eq!(show("cjson.encode({[1]=1,[12]=1})"), r#"{"1":1,"12":1}"#);
        assert_eq!(show("cjson.encode_sparse_array(false, 0, 10)"), "false 0 10");
        assert_eq!(show("#cjson.encode({[1000]=1})"), "4998");
        assert_eq!(
            error(&lua, "return cjson.encode({[2^30]=1})"),
            "user_script:1: Cannot serialise table: excessively sparse array"
        );
        assert_eq!(show("cjson.encode_sparse_array(false, 2, 10)"), "false 2 10");
        assert_eq!(show("cjson.encode_invalid_numbers(true)"), "true");
        assert_eq!(show("cjson.encode({0/0, 1/0, -1/0})"), "[nan,inf,-inf]");
        assert_eq!(show("cjson.encode_invalid_numbers('null')"), "null");
        assert_eq!(show("cjson.encode({0/0, 1/0, -1/0})"), "[null,null,null]");
        assert_eq!(show("cjson.encode_invalid_numbers('off')"), "false");
        assert_eq!(show("cjson.encode_number_precision(3)"), "3");
        assert_eq!(show("cjson.encode({1/3, 12345, 1234.5, {[0.5]=1}})"), r#"[0.333,1.23e+04,1.23e+03,{"0.5":1}]"#);
        assert_eq!(show("cjson.encode_number_precision(2.7)"), "2");
        assert_eq!(show("cjson.encode_number_precision(14)"), "14");
        assert_eq!(show("cjson.encode_max_depth(2)"), "2");
        assert_eq!(show("cjson.encode({{1}})"), "[[1]]");
        assert_eq!(
            error(&lua, "return cjson.encode({{{1}}})"),
            "user_script:1: Cannot serialise, excessive nesting (3)"
        );
        assert_eq!(show("cjson.encode_max_depth('5')"), "5");
        assert_eq!(show("cjson.encode_keep_buffer(false)"), "false");
        assert_eq!(show("cjson.encode_keep_buffer(nil)"), "false");
        assert_eq!(show("cjson.decode_max_depth(2)"), "2");
        assert_eq!(show("type(cjson.decode('[[1]]'))"), "table");
        assert_eq!(
            error(&lua, "return cjson.decode('[[[1]]]')"),
            "user_script:1: Found too many nested data structures (3) at character 3"
        );
        assert_eq!(
            error(&lua, r#"return cjson.decode('[{"a":[1]}]')"#),
            "user_script:1: Found too many nested data structures (3) at character 7"
        );
        let instance = "local c = cjson.new() return type(c.new), c.null == cjson.null, c._NAME, c._VERSION, \
                        c.encode_number_precision(5), cjson.encode_number_precision(), c.encode_max_depth()";
        assert_eq!(show(&format!("(function() {instance} end)()")), "function true cjson 2.1.0 5 14 1000");
        let errors = [
            (
                "cjson.encode_number_precision(0)",
                "bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)",
            ),
            (
                "cjson.encode_number_precision(15)",
                "bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)",
            ),
            (
                "cjson.encode_number_precision('x')",
                "bad argument #1 to 'encode_number_precision' (number expected, got string)",
            ),
            ("cjson.encode_sparse_array('bad')", "bad argument #1 to 'encode_sparse_array' (invalid option 'bad')"),
            ("cjson.encode_sparse_array(1)", "bad argument #1 to 'encode_sparse_array' (invalid option '1')"),
            (
                "cjson.encode_sparse_array(true, -1)",
                "bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)",
            ),
            (
                "cjson.encode_sparse_array(true, 2, -1)",
                "bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)",
            ),
            (
                "cjson.encode_sparse_array(true, 'x')",
                "bad argument #2 to 'encode_sparse_array' (number expected, got string)",
            ),
            (
                "cjson.encode_sparse_array(true, 2, 10, 5)",
                "bad argument #4 to 'encode_sparse_array' (found too many arguments)",
            ),
            (
                "cjson.encode_max_depth(0)",
                "bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)",
            ),
            ("cjson.encode_max_depth(5, 6)", "bad argument #2 to 'encode_max_depth' (found too many arguments)"),
            ("cjson.encode_keep_buffer('x')", "bad argument #1 to 'encode_keep_buffer' (invalid option 'x')"),
            (
                "cjson.encode_invalid_numbers({})",
                "bad argument #1 to 'encode_invalid_numbers' (string expected, got table)",
            ),
        ];
        for (code, want) in errors {
            assert_eq!(error(&lua, &format!("return {code}")), format!("user_script:1: {want}"), "{code}");
        }
    }

    #[test]
    fn round_trips() {
        let lua = lua();
        let code = r#"
            local v = {1, 0.5, -3, "x/y\"z", {a = {true, false, cjson.null}, b = {}}, 1e300}
            local s = cjson.encode(v)
            local back = cjson.decode(s)
            assert(cjson.encode(back) == s, s)
            local big = {}
            for i = 1, 20000 do big["k" .. i] = {i, tostring(i)} end
            local again = cjson.decode(cjson.encode(big))
            assert(again.k20000[2] == "20000" and again.k1[1] == 1)
            local arr = {}
            for i = 1, 20000 do arr[i] = {x = i} end
            assert(#cjson.decode(cjson.encode(arr)) == 20000)
            return s
        "#;
        assert_eq!(string(&lua, code), r#"[1,0.5,-3,"x\/y\"z",{"a":[true,false,null],"b":{}},1e+300]"#);
    }
}

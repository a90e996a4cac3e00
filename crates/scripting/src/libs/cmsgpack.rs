//! The `cmsgpack` table: MessagePack encoding of Lua values (`pack`) and decoding back
//! (`unpack`, `unpack_one`, `unpack_limit`) with the type choices, nesting limits and messages of
//! the lua-cmsgpack 0.4.0 build Redis ships.

use super::{Args, Fail, LibResult, Registrar, Spread};
use mlua::{Lua, Table, Value};

/// Tables nested deeper than this are packed as nil, which also stops reference cycles.
const MAX_PACK_NESTING: usize = 16;
/// The bundled library checks the Lua C stack, which caps arguments and results at these counts.
const MAX_PACK_ARGS: usize = 4000;
const MAX_RESULTS: usize = 7999;
const MAX_UNPACK_NESTING: usize = 4000;

fn encode_integer(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        let u = n as u64;
        if u < 128 {
            out.push(u as u8);
        } else if u < 256 {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u < 65536 {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= u64::from(u32::MAX) {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(out: &mut Vec<u8>, n: f64) {
    let in_range = (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n);
    if in_range && (n as i64) as f64 == n {
        encode_integer(out, n as i64);
    } else if f64::from(n as f32) == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, narrow: Option<u8>, wide: [u8; 2]) {
    if len < fix_max {
        out.push(fix | len as u8);
    } else if let Some(tag) = narrow.filter(|_| len < 256) {
        out.extend_from_slice(&[tag, len as u8]);
    } else if len < 65536 {
        out.push(wide[0]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(wide[1]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// The array length if every key is a positive integral number and they run 1..n without gaps.
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let (mut count, mut max) = (0usize, 0f64);
    let mut is_array = true;
    t.for_each(|k: Value, _: Value| {
        count += 1;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => f64::NAN,
        };
        if n > 0.0 && n.floor() == n {
            max = max.max(n);
        } else {
            is_array = false;
        }
        Ok(())
    })?;
    Ok((is_array && max == count as f64).then_some(count))
}

fn encode(out: &mut Vec<u8>, v: Value, level: usize) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_number(out, i as f64),
        Value::Number(n) => encode_number(out, n),
        Value::String(s) => {
            let b = s.as_bytes();
            encode_len(out, b.len(), 0xa0, 32, Some(0xd9), [0xda, 0xdb]);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MAX_PACK_NESTING => match array_len(&t)? {
            Some(n) => {
                encode_len(out, n, 0x90, 16, None, [0xdc, 0xdd]);
                for i in 1..=n {
                    encode(out, t.raw_get(i)?, level + 1)?;
                }
            }
            None => {
                let count = t.pairs::<Value, Value>().count();
                encode_len(out, count, 0x80, 16, None, [0xde, 0xdf]);
                // Entries are encoded as they are visited: collecting them first would hold a
                // Lua reference per entry, and mlua has room for only a few thousand.
                t.for_each(|k: Value, v: Value| {
                    encode(out, k, level + 1)?;
                    encode(out, v, level + 1)
                })?;
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

fn pack(lua: &Lua, args: Args) -> LibResult<mlua::LuaString> {
    if args.len() == 0 {
        return Err(Fail::Arg(0, "MessagePack pack needs input.".into()));
    }
    if args.len() >= MAX_PACK_ARGS {
        return Err(Fail::Arg(0, "Too many arguments for MessagePack pack.".into()));
    }
    let mut out = Vec::new();
    for v in args.0 {
        encode(&mut out, v, 0)?;
    }
    Ok(lua.create_string(&out)?)
}

/// A container being filled while decoding. The table itself (and a map's pending key) live in a
/// Lua-side holder table rather than in Rust, so deep input does not pin one mlua reference per
/// level.
struct Open {
    remaining: u64,
    is_map: bool,
    next_index: i64,
    has_key: bool,
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
}

fn missing() -> Fail {
    Fail::Msg("Missing bytes in input.".into())
}

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> LibResult<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or_else(missing)?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> LibResult<u64> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn string(&mut self, lua: &Lua, len: u64) -> LibResult<Value> {
        let len = usize::try_from(len).map_err(|_| missing())?;
        Ok(Value::String(lua.create_string(self.take(len)?)?))
    }

    /// Decodes one complete value, building nested containers without recursion.
    fn value(&mut self, lua: &Lua) -> LibResult<Value> {
        let mut stack: Vec<Open> = Vec::new();
        // Only containers need the holder, so scalars never pay for it.
        let mut holder: Option<Table> = None;
        loop {
            let tag = self.take(1)?[0];
            let scalar = match tag {
                0x00..=0x7f => Some(Value::Number(f64::from(tag))),
                0xe0..=0xff => Some(Value::Number(f64::from(tag as i8))),
                0xa0..=0xbf => Some(self.string(lua, u64::from(tag & 0x1f))?),
                0xc0 => Some(Value::Nil),
                0xc2 => Some(Value::Boolean(false)),
                0xc3 => Some(Value::Boolean(true)),
                0xca => Some(Value::Number(f64::from(f32::from_bits(self.uint(4)? as u32)))),
                0xcb => Some(Value::Number(f64::from_bits(self.uint(8)?))),
                0xcc => Some(Value::Number(self.uint(1)? as f64)),
                0xcd => Some(Value::Number(self.uint(2)? as f64)),
                0xce => Some(Value::Number(self.uint(4)? as f64)),
                0xcf => Some(Value::Number(self.uint(8)? as i64 as f64)),
                0xd0 => Some(Value::Number(f64::from(self.uint(1)? as u8 as i8))),
                0xd1 => Some(Value::Number(f64::from(self.uint(2)? as u16 as i16))),
                0xd2 => Some(Value::Number(f64::from(self.uint(4)? as u32 as i32))),
                0xd3 => Some(Value::Number(self.uint(8)? as i64 as f64)),
                0xd9 => {
                    let n = self.uint(1)?;
                    Some(self.string(lua, n)?)
                }
                0xda => {
                    let n = self.uint(2)?;
                    Some(self.string(lua, n)?)
                }
                0xdb => {
                    let n = self.uint(4)?;
                    Some(self.string(lua, n)?)
                }
                0x80..=0x9f | 0xdc..=0xdf => None,
                _ => return Err(Fail::Msg("Bad data format in input.".into())),
            };
            let mut done = match scalar {
                Some(v) => v,
                None => {
                    let (count, is_map) = match tag {
                        0x80..=0x8f => (u64::from(tag & 0x0f), true),
                        0x90..=0x9f => (u64::from(tag & 0x0f), false),
                        0xdc => (self.uint(2)?, false),
                        0xdd => (self.uint(4)?, false),
                        0xde => (self.uint(2)?, true),
                        _ => (self.uint(4)?, true),
                    };
                    if stack.len() + 1 >= MAX_UNPACK_NESTING {
                        let f = if is_map { "mp_decode_to_lua_hash" } else { "mp_decode_to_lua_array" };
                        return Err(Fail::Msg(format!("stack overflow (in function {f})")));
                    }
                    let table = lua.create_table()?;
                    if count > 0 {
                        let h = match holder.as_ref() {
                            Some(h) => h,
                            None => holder.insert(lua.create_table()?),
                        };
                        h.raw_set(2 * stack.len() + 1, table)?;
                        stack.push(Open { remaining: count, is_map, next_index: 1, has_key: false });
                        continue;
                    }
                    Value::Table(table)
                }
            };
            // Store the finished value into its parent, closing every container it completes.
            loop {
                let depth = stack.len();
                let (Some(top), Some(holder)) = (stack.last_mut(), holder.as_ref()) else {
                    return Ok(done);
                };
                let (table_slot, key_slot) = (2 * depth - 1, 2 * depth);
                if top.is_map && !top.has_key {
                    holder.raw_set(key_slot, done)?;
                    top.has_key = true;
                    break;
                }
                let table: Table = holder.raw_get(table_slot)?;
                if top.is_map {
                    let key: Value = holder.raw_get(key_slot)?;
                    match &key {
                        Value::Nil => return Err(Fail::Raw("table index is nil".into())),
                        Value::Number(n) if n.is_nan() => return Err(Fail::Raw("table index is NaN".into())),
                        _ => {}
                    }
                    table.raw_set(key, done)?;
                    top.has_key = false;
                } else {
                    table.raw_set(top.next_index, done)?;
                    top.next_index += 1;
                }
                top.remaining -= 1;
                if top.remaining > 0 {
                    break;
                }
                stack.pop();
                holder.raw_set(table_slot, Value::Nil)?;
                holder.raw_set(key_slot, Value::Nil)?;
                done = Value::Table(table);
            }
        }
    }
}

fn unpack_full(lua: &Lua, data: &[u8], limit: i64, offset: i64) -> LibResult<Spread> {
    let len = data.len();
    // The messages print these through a C int, so only the low 32 bits show.
    let (shown_offset, shown_len) = (offset as i32, len as i32);
    if offset < 0 || limit < 0 {
        return Err(Fail::Msg(format!(
            "Invalid request to unpack with offset of {shown_offset} and limit of {shown_len}."
        )));
    }
    if offset as u64 > len as u64 {
        return Err(Fail::Msg(format!("Start offset {shown_offset} greater than input length {shown_len}.")));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i64::MAX } else { limit };
    let mut dec = Decoder { data, pos: offset as usize };
    let values = lua.create_table()?;
    // Slot 1 is kept for the next offset when the caller asked for one.
    let first = usize::from(!decode_all);
    let mut count = 0usize;
    while dec.pos < len && (count as i64) < limit {
        if count + 1 > MAX_RESULTS {
            return Err(Fail::Msg(
                "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)".into(),
            ));
        }
        count += 1;
        values.raw_set(first + count, dec.value(lua)?)?;
    }
    if !decode_all {
        if count >= MAX_RESULTS {
            return Err(Fail::Msg("stack overflow (in function mp_unpack_full)".into()));
        }
        let next = if dec.pos < len { dec.pos as f64 } else { -1.0 };
        values.raw_set(1, next)?;
    }
    Ok(Spread { table: values, len: first + count })
}

pub(crate) fn module(lua: &Lua, reg: &Registrar) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    reg.add(lua, &t, "pack", pack)?;
    reg.add(lua, &t, "unpack", |lua, a| unpack_full(lua, &a.bytes(lua, 1)?, 0, 0))?;
    reg.add(lua, &t, "unpack_one", |lua, a| {
        let offset = a.opt_integer(lua, 2, 0)?;
        unpack_full(lua, &a.bytes(lua, 1)?, 1, offset)
    })?;
    reg.add(lua, &t, "unpack_limit", |lua, a| {
        let data = a.bytes(lua, 1)?;
        let limit = a.integer(lua, 2)?;
        let offset = a.opt_integer(lua, 3, 0)?;
        unpack_full(lua, &data, limit, offset)
    })?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::{bytes, error, hex, lua, string};

    #[test]
    fn pack_matches_server() {
        let lua = lua();
        let cases = [
            (
                "0,1,127,128,255,256,65535,65536,4294967295,4294967296,-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649",
                "00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffff",
            ),
            ("0.5, 0.1, -0.0, 1e300, 2^63, 2^64, -2^63", "ca3f000000cb3fb999999999999a00cb7e37e43c8800759cca5f000000ca5f800000d38000000000000000"),
            ("math.huge, -math.huge, 1.5, 3.14, 2^53+1", "ca7f800000caff800000ca3fc00000cb40091eb851eb851fcf0020000000000000"),
            ("1e39, 3.4028234663852886e38, 1e-45", "cb48078287f49c4a1dca7f7fffffcb3696d601ad376ab9"),
            ("-0.5, 2^31, -2^31, 2^32, 123456.789", "cabf000000ce80000000d280000000cf0000000100000000cb40fe240c9fbe76c9"),
            ("2^62, 2^64+4096, -2^64, -2^63-4096", "cf4000000000000000cb43f0000000000001cadf800000cbc3e0000000000002"),
            ("16777217, 16777217.5, 2^32-1+0.5", "ce01000001cb4170000018000000cb41effffffff00000"),
            ("nil, true, false", "c0c3c2"),
            ("'', 'abc', string.char(0, 255)", "a0a3616263a200ff"),
            ("{}, {1,2,3}, {a=1}, {[1]=1,[3]=3}", "909301020381a161018201010303"),
            ("{1,2,nil,4}, {[0]=1}, {[1.5]=1}, {[2]=2}, {[true]=1}", "8301010202040481000181ca3fc000000181020281c301"),
            ("function() end, coroutine.create(function() end)", "c0c0"),
            ("{{{{}}}}", "91919190"),
            ("{[1]=1,[2]=2,[3]=3,x=1}", "8401010202a178010303"),
        ];
        for (args, want) in cases {
            let code = format!("return cmsgpack.pack({args})");
            assert_eq!(hex(&bytes(&lua, &code)), want, "{args}");
        }
    }

    #[test]
    fn pack_lengths_and_nesting() {
        let lua = lua();
        let prefixes = [(31, "bf78"), (32, "d92078"), (255, "d9ff78"), (256, "da010078"), (65536, "db0001000078")];
        for (n, want) in prefixes {
            let got = hex(&bytes(&lua, &format!("return cmsgpack.pack(string.rep('x', {n}))")));
            assert!(got.starts_with(want), "{n}: {got}");
        }
        let deep = "local t={} local c=t for i=1,20 do c[1]={} c=c[1] end return cmsgpack.pack(t)";
        assert_eq!(hex(&bytes(&lua, deep)), "91".repeat(16) + "c0");
        let cycle = "local t={} t.a=t return cmsgpack.pack(t)";
        assert_eq!(hex(&bytes(&lua, cycle)), "81a161".repeat(16) + "c0");
        assert_eq!(
            hex(&bytes(&lua, "local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)")),
            "dc0014".to_string() + &(1..=20).map(|i| format!("{i:02x}")).collect::<String>()
        );
    }

    fn show(lua: &mlua::Lua, call: &str) -> String {
        let code = format!(
            "local function show(v) if type(v) == 'table' then local ks = {{}} \
             for k, x in pairs(v) do ks[#ks+1] = tostring(k) .. '=' .. show(x) end \
             table.sort(ks) return '{{' .. table.concat(ks, ',') .. '}}' end return tostring(v) end \
             local r = {{n = select('#', {call}), {call}}} local out = {{}} \
             for i = 1, r.n do out[i] = show(r[i]) end return table.concat(out, ' ')"
        );
        string(lua, &code)
    }

    #[test]
    fn unpack_matches_server() {
        let lua = lua();
        let cases = [
            ("cmsgpack.unpack(cmsgpack.pack(1,'a',nil,true,{1,2},{x=1}))", "1 a nil true {1=1,2=2} {x=1}"),
            ("cmsgpack.unpack('')", ""),
            ("cmsgpack.unpack(string.char(0xcf, 255,255,255,255,255,255,255,255))", "-1"),
            ("cmsgpack.unpack(string.char(0xd3, 128,0,0,0,0,0,0,0))", "-9.2233720368548e+18"),
            ("cmsgpack.unpack(string.char(0xdc, 0, 2, 1, 2))", "{1=1,2=2}"),
            ("cmsgpack.unpack(string.char(0xde, 0, 1, 1, 2))", "{1=2}"),
            ("cmsgpack.unpack(string.char(0xdf, 0, 0, 0, 1, 7, 8))", "{7=8}"),
            ("cmsgpack.unpack(string.char(0x93, 0xc0, 1, 0xc0))", "{2=1}"),
            ("cmsgpack.unpack(string.char(0xd0, 0x80, 0xd1, 0x80, 0, 0xd2, 0x80, 0,0,0))", "-128 -32768 -2147483648"),
            ("cmsgpack.unpack(string.char(0xc3, 0xc2, 0xe0, 0xff, 0xca, 0x3f, 0xc0, 0, 0))", "true false -32 -1 1.5"),
            ("cmsgpack.unpack(12)", "49 50"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3))", "1 1"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 1)", "2 2"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2)", "-1 3"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 3)", "-1"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 1.5)", "2 2"),
            ("cmsgpack.unpack_one('')", "-1"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)", "2 1 2"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 2)", "-1 3"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 0)", "1 2 3"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 5, 1)", "-1 2 3"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 1, 3)", "-1"),
        ];
        for (call, want) in cases {
            assert_eq!(show(&lua, call), want, "{call}");
        }
    }

    #[test]
    fn round_trips() {
        let lua = lua();
        let code = "local v = {1, -1, 0.5, 2^40, -2^40, 'x', string.rep('y', 70000), true, false, \
                    {a = {b = {1, 2, 3}}, [10] = 'ten'}, {}} \
                    local s = cmsgpack.pack(unpack(v)) local back = {cmsgpack.unpack(s)} \
                    return cmsgpack.pack(unpack(back)) == s and #back == #v \
                    and back[10].a.b[3] == 3 and back[10][10] == 'ten' and #back[7] == 70000";
        assert!(lua.load(code).eval::<bool>().unwrap());
        let deep = "local s = string.rep(string.char(0x91), 3990) .. string.char(1) \
                    local t = cmsgpack.unpack(s) for i = 1, 3990 do t = t[1] end return t";
        assert_eq!(lua.load(deep).eval::<i64>().unwrap(), 1);
        let many = "return select('#', cmsgpack.unpack(string.rep(string.char(1), 7999)))";
        assert_eq!(lua.load(many).eval::<i64>().unwrap(), 7999);
        let widest = "local t = {} for i = 1, 3999 do t[i] = i end \
                      return select('#', cmsgpack.unpack(cmsgpack.pack(unpack(t))))";
        assert_eq!(lua.load(widest).eval::<i64>().unwrap(), 3999);
        let limited = "return select('#', cmsgpack.unpack_limit(string.rep(string.char(1), 9000), 7998))";
        assert_eq!(lua.load(limited).eval::<i64>().unwrap(), 7999);
    }

    #[test]
    fn errors_match_server() {
        let lua = lua();
        let cases = [
            ("cmsgpack.unpack()", "user_script:1: bad argument #1 to 'unpack' (string expected, got no value)"),
            ("cmsgpack.unpack({})", "user_script:1: bad argument #1 to 'unpack' (string expected, got table)"),
            ("cmsgpack.unpack(string.char(0xc1))", "user_script:1: Bad data format in input."),
            ("cmsgpack.unpack(string.char(0xc4, 2, 65, 66))", "user_script:1: Bad data format in input."),
            ("cmsgpack.unpack(string.char(0xd4, 1, 65))", "user_script:1: Bad data format in input."),
            ("cmsgpack.unpack(string.char(0xcd, 1))", "user_script:1: Missing bytes in input."),
            ("cmsgpack.unpack(string.char(0x92, 1))", "user_script:1: Missing bytes in input."),
            ("cmsgpack.unpack(string.char(0xd9, 5, 65))", "user_script:1: Missing bytes in input."),
            ("cmsgpack.unpack(string.char(0xdd, 255,255,255,255))", "user_script:1: Missing bytes in input."),
            ("cmsgpack.unpack(string.char(0xdf, 255,255,255,255))", "user_script:1: Missing bytes in input."),
            ("cmsgpack.unpack(string.char(0x81, 0xc0, 1))", "table index is nil"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 4)", "user_script:1: Start offset 4 greater than input length 3."),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2), 2^40)", "user_script:1: Start offset 0 greater than input length 2."),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), -1)", "user_script:1: Invalid request to unpack with offset of -1 and limit of 3."),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), -1)", "user_script:1: Invalid request to unpack with offset of 0 and limit of 3."),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1,2,3))", "user_script:1: bad argument #2 to 'unpack_limit' (number expected, got no value)"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 'x')", "user_script:1: bad argument #2 to 'unpack_one' (number expected, got string)"),
            ("cmsgpack.pack()", "user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"),
            (
                "cmsgpack.unpack_limit(string.rep(string.char(1), 9000), 7999)",
                "user_script:1: stack overflow (in function mp_unpack_full)",
            ),
            (
                "cmsgpack.unpack(string.rep(string.char(1), 8000))",
                "user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            ),
            (
                "cmsgpack.unpack(string.rep(string.char(0x91), 100000) .. string.char(1))",
                "user_script:1: stack overflow (in function mp_decode_to_lua_array)",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(error(&lua, &format!("return {code}")), want, "{code}");
        }
        let many = "local t = {} for i = 1, 4000 do t[i] = i end return cmsgpack.pack(unpack(t))";
        assert_eq!(
            error(&lua, many),
            "user_script:1: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.)"
        );
    }
}

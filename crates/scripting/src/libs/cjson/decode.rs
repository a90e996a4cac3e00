//! JSON decoding for `cjson.decode`: the lenient tokenizer of the bundled lua-cjson (C `strtod`
//! numbers, its escape and surrogate rules, its error texts and positions) and a parser that
//! builds Lua tables without recursion.

use roost_resp::strtod_prefix as strtod;

use super::{null, Config, HARD_DEPTH};
use crate::libs::{Fail, LibResult};
use mlua::{Lua, Table, Value};

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(msg) => msg,
        }
    }
}

struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
    invalid_numbers: bool,
    /// The last string token's bytes.
    text: Vec<u8>,
}

impl Lexer<'_> {
    fn peek(&self, at: usize) -> u8 {
        self.data.get(at).copied().unwrap_or(0)
    }

    /// Inputs the library marks as non-JSON numbers: hex, leading zeros, '+', inf and nan.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        match self.peek(p) {
            b'+' => return true,
            b'-' => p += 1,
            _ => {}
        }
        let c = self.peek(p);
        if c == b'0' {
            let n = self.peek(p + 1);
            return matches!(n, b'x' | b'X') || n.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let word = &self.data[p.min(self.data.len())..];
        let starts = |w: &[u8]| word.len() >= 3 && word[..3].eq_ignore_ascii_case(w);
        starts(b"inf") || starts(b"nan")
    }

    fn number(&mut self) -> Tok {
        match strtod(&self.data[self.pos..]) {
            Some((len, v)) => {
                self.pos += len;
                Tok::Num(v)
            }
            None => Tok::Error("invalid number"),
        }
    }

    /// Returns the token and the 0-based offset an error about it should name.
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.peek(self.pos), b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
        let start = self.pos;
        let c = self.peek(start);
        let single = match c {
            0 => Some(Tok::End),
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = single {
            if t != Tok::End {
                self.pos += 1;
            }
            return (t, start);
        }
        if c == b'"' {
            return self.string();
        }
        let rest = &self.data[start..];
        if c == b'-' || c.is_ascii_digit() {
            if !self.invalid_numbers && self.is_invalid_number() {
                return (Tok::Error("invalid number"), start);
            }
            return (self.number(), start);
        }
        for (word, tok) in [("true", Tok::Bool(true)), ("false", Tok::Bool(false)), ("null", Tok::Null)] {
            if rest.starts_with(word.as_bytes()) {
                self.pos += word.len();
                return (tok, start);
            }
        }
        if self.invalid_numbers && self.is_invalid_number() {
            return (self.number(), start);
        }
        (Tok::Error("invalid token"), start)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.data.get(at..at + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(text, 16).ok()
    }

    /// A `\u` escape at `at` (the backslash): the code point and the escape's length.
    fn unicode(&self, at: usize) -> Option<(u32, usize)> {
        let hi = self.hex4(at + 2)?;
        if (0xdc00..0xe000).contains(&hi) {
            return None;
        }
        if !(0xd800..0xdc00).contains(&hi) {
            return Some((hi, 6));
        }
        if self.peek(at + 6) != b'\\' || self.peek(at + 7) != b'u' {
            return None;
        }
        let lo = self.hex4(at + 8)?;
        if !(0xdc00..0xe000).contains(&lo) {
            return None;
        }
        Some((0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00), 12))
    }

    fn string(&mut self) -> (Tok, usize) {
        self.text.clear();
        let mut p = self.pos + 1;
        loop {
            match self.peek(p) {
                0 => return (Tok::Error("unexpected end of string"), p),
                b'"' => break,
                b'\\' => {
                    let simple = match self.peek(p + 1) {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(0x08),
                        b'f' => Some(0x0c),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return (Tok::Error("invalid escape code"), p),
                    };
                    if let Some(b) = simple {
                        self.text.push(b);
                        p += 2;
                        continue;
                    }
                    let Some((cp, len)) = self.unicode(p) else {
                        return (Tok::Error("invalid unicode escape code"), p);
                    };
                    let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                    let mut buf = [0u8; 4];
                    self.text.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    p += len;
                }
                b => {
                    self.text.push(b);
                    p += 1;
                }
            }
        }
        let start = self.pos;
        self.pos = p + 1;
        (Tok::Str, start)
    }
}

/// A container being filled; the table itself waits in the holder at its depth.
enum Open {
    Array(i64),
    Object(Vec<u8>),
}

fn expected(what: &str, (tok, at): (Tok, usize)) -> Fail {
    Fail::Msg(format!("Expected {what} but found {} at character {}", tok.name(), at + 1))
}

pub(super) fn decode(lua: &Lua, cfg: &Config, data: &[u8]) -> LibResult<Value> {
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(Fail::Msg("JSON parser does not support UTF-16 or UTF-32".into()));
    }
    let mut lx = Lexer { data, pos: 0, invalid_numbers: cfg.decode_invalid, text: Vec::new() };
    let holder = lua.create_table()?;
    let mut stack: Vec<Open> = Vec::new();
    let max_depth = cfg.decode_max_depth.min(HARD_DEPTH);
    // Reads `"key" :` after an object's opening brace or a comma.
    let key = |lx: &mut Lexer<'_>| -> LibResult<Vec<u8>> {
        let t = lx.next();
        if t.0 != Tok::Str {
            return Err(expected("object key string", t));
        }
        let k = std::mem::take(&mut lx.text);
        let colon = lx.next();
        if colon.0 != Tok::Colon {
            return Err(expected("colon", colon));
        }
        Ok(k)
    };
    let mut tok = lx.next();
    loop {
        let mut value = match tok.0 {
            Tok::Str => Value::String(lua.create_string(&lx.text)?),
            Tok::Num(n) => Value::Number(n),
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Null => null(),
            Tok::ArrBegin | Tok::ObjBegin => {
                let depth = stack.len() as i64 + 1;
                if depth > max_depth {
                    return Err(Fail::Msg(format!(
                        "Found too many nested data structures ({depth}) at character {}",
                        tok.1 + 1
                    )));
                }
                let table = lua.create_table()?;
                let is_array = tok.0 == Tok::ArrBegin;
                let save = lx.pos;
                let after = lx.next();
                let empty = after.0 == if is_array { Tok::ArrEnd } else { Tok::ObjEnd };
                if empty {
                    Value::Table(table)
                } else {
                    holder.raw_set(depth, table)?;
                    if is_array {
                        stack.push(Open::Array(0));
                        tok = after;
                    } else {
                        lx.pos = save;
                        stack.push(Open::Object(key(&mut lx)?));
                        tok = lx.next();
                    }
                    continue;
                }
            }
            _ => return Err(expected("value", tok)),
        };
        // Store the value into its container; a closing bracket completes the container,
        // which is in turn stored into its own parent.
        loop {
            let depth = stack.len();
            let Some(open) = stack.last_mut() else {
                let end = lx.next();
                if end.0 != Tok::End {
                    return Err(expected("the end", end));
                }
                return Ok(value);
            };
            let table: Table = holder.raw_get(depth)?;
            let after = lx.next();
            let (close, what) = match open {
                Open::Array(n) => {
                    *n += 1;
                    table.raw_set(*n, value)?;
                    (Tok::ArrEnd, "comma or array end")
                }
                Open::Object(k) => {
                    table.raw_set(lua.create_string(k.as_slice())?, value)?;
                    (Tok::ObjEnd, "comma or object end")
                }
            };
            if after.0 == Tok::Comma {
                if let Open::Object(k) = open {
                    *k = key(&mut lx)?;
                }
                tok = lx.next();
                break;
            }
            if after.0 != close {
                return Err(expected(what, after));
            }
            stack.pop();
            holder.raw_set(depth, Value::Nil)?;
            value = Value::Table(table);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::{error, lua, string};

    fn decoded(lua: &mlua::Lua, json: &str) -> String {
        lua.globals().set("input", json).unwrap();
        string(
            lua,
            "local function show(v) if type(v) == 'table' then local ks = {} \
             for k, x in pairs(v) do ks[#ks+1] = tostring(k) .. '=' .. show(x) end \
             table.sort(ks) return '{' .. table.concat(ks, ',') .. '}' end \
             if v == cjson.null then return 'null' end \
             if type(v) == 'number' then return string.format('%.17g', v) end \
             return type(v) .. ':' .. tostring(v) end \
             return show(cjson.decode(input))",
        )
    }

    #[test]
    fn decode_matches_server() {
        let lua = lua();
        let cases = [
            ("[1,2,3]", "{1=1,2=2,3=3}"),
            (r#"{"a":[1,2.5,true,false,null],"b":{}}"#, "{a={1=1,2=2.5,3=boolean:true,4=boolean:false,5=null},b={}}"),
            (r#""\u00e9\u0041\ud83d\ude00""#, "string:\u{e9}A\u{1f600}"),
            (r#""\u0080\u0800\uffff\uD800\uDC00""#, "string:\u{80}\u{800}\u{ffff}\u{10000}"),
            ("\"a\nb\"", "string:a\nb"),
            (r#""\b\f\n\r\t\"\\\/""#, "string:\u{8}\u{c}\n\r\t\"\\/"),
            (" 12.5e3 ", "12500"),
            ("-0", "-0"),
            ("0x10", "16"),
            ("0x1p4", "16"),
            ("0x1.8p1", "3"),
            ("NaN", "nan"),
            ("inf", "inf"),
            ("infinity", "inf"),
            ("-Infinity", "-inf"),
            ("nan(123)", "nan"),
            ("01", "1"),
            ("00", "0"),
            ("-01.5", "-1.5"),
            ("1.", "1"),
            ("+1", "1"),
            ("1E2", "100"),
            ("1.5e+2", "150"),
            ("1e5000", "inf"),
            ("123456789012345678901234567890", "1.2345678901234568e+29"),
            ("\t\r\n 1", "1"),
            ("null", "null"),
            ("[null]", "{1=null}"),
            ("12", "12"),
            ("{}", "{}"),
            ("[1]\0xx", "{1=1}"),
            (r#"{"a":1,"a":2}"#, "{a=2}"),
        ];
        for (json, want) in cases {
            let got = decoded(&lua, json);
            let got = got.replace("-nan", "nan");
            assert_eq!(got, want, "{json}");
        }
        assert_eq!(string(&lua, "return cjson.decode('\"\\\\u0000\"')"), "\0");
    }

    #[test]
    fn decode_errors_match_server() {
        let lua = lua();
        let cases = [
            ("", "Expected value but found T_END at character 1"),
            ("{", "Expected object key string but found T_END at character 2"),
            ("[", "Expected value but found T_END at character 2"),
            ("[1,]", "Expected value but found T_ARR_END at character 4"),
            (r#"{"a" 1}"#, "Expected colon but found T_NUMBER at character 6"),
            (r#"{"a":1,}"#, "Expected object key string but found T_OBJ_END at character 8"),
            ("{1:2}", "Expected object key string but found T_NUMBER at character 2"),
            ("1 2", "Expected the end but found T_NUMBER at character 3"),
            ("tru", "Expected value but found invalid token at character 1"),
            ("\"abc", "Expected value but found unexpected end of string at character 5"),
            (r#""a\qb""#, "Expected value but found invalid escape code at character 3"),
            (r#""\ud83d""#, "Expected value but found invalid unicode escape code at character 2"),
            (r#""\u12""#, "Expected value but found invalid unicode escape code at character 2"),
            (r#""\udc00""#, "Expected value but found invalid unicode escape code at character 2"),
            (r#""\ud83dx""#, "Expected value but found invalid unicode escape code at character 2"),
            (r#""\ud83d\u0041""#, "Expected value but found invalid unicode escape code at character 2"),
            (r#""\uZZZZ""#, "Expected value but found invalid unicode escape code at character 2"),
            ("\"a\0b\"", "Expected value but found unexpected end of string at character 3"),
            (".5", "Expected value but found invalid token at character 1"),
            ("1e", "Expected the end but found invalid token at character 2"),
            ("1e+", "Expected the end but found invalid token at character 2"),
            ("0x", "Expected the end but found invalid token at character 2"),
            ("0xg", "Expected the end but found invalid token at character 2"),
            ("[1] x", "Expected the end but found invalid token at character 5"),
            ("  ", "Expected value but found T_END at character 3"),
            ("@", "Expected value but found invalid token at character 1"),
            ("]", "Expected value but found T_ARR_END at character 1"),
            (",", "Expected value but found T_COMMA at character 1"),
            (":", "Expected value but found T_COLON at character 1"),
            ("}", "Expected value but found T_OBJ_END at character 1"),
            ("[1 2]", "Expected comma or array end but found T_NUMBER at character 4"),
            (r#"{"a":}"#, "Expected value but found T_OBJ_END at character 6"),
            (r#"{"a",1}"#, "Expected colon but found T_COMMA at character 5"),
            ("[1:2]", "Expected comma or array end but found T_COLON at character 3"),
            ("[1,2", "Expected comma or array end but found T_END at character 5"),
            (r#"{"a":1"#, "Expected comma or object end but found T_END at character 7"),
            (r#"{"a":1 2}"#, "Expected comma or object end but found T_NUMBER at character 8"),
            ("truex", "Expected the end but found invalid token at character 5"),
            ("nul", "Expected value but found invalid token at character 1"),
            ("Null", "Expected value but found invalid token at character 1"),
            ("\u{b}1", "Expected value but found invalid token at character 1"),
            ("-", "Expected value but found invalid number at character 1"),
            ("-x", "Expected value but found invalid number at character 1"),
            ("infx", "Expected the end but found invalid token at character 4"),
            ("\0a", "JSON parser does not support UTF-16 or UTF-32"),
            ("1\0x", "JSON parser does not support UTF-16 or UTF-32"),
        ];
        for (json, want) in cases {
            lua.globals().set("input", json).unwrap();
            assert_eq!(error(&lua, "return cjson.decode(input)"), format!("user_script:1: {want}"), "{json:?}");
        }
        let nested = |open: &str, close: &str, n: usize| {
            format!("return cjson.decode(string.rep('{open}', {n}) .. '1' .. string.rep('{close}', {n}))")
        };
        assert_eq!(
            error(&lua, &nested("[", "]", 1001)),
            "user_script:1: Found too many nested data structures (1001) at character 1001"
        );
        assert_eq!(
            error(&lua, &nested("{\"a\":", "}", 1001)),
            "user_script:1: Found too many nested data structures (1001) at character 5001"
        );
        assert!(lua.load(nested("[", "]", 1000)).eval::<mlua::Table>().is_ok());
        let wrong = [
            ("cjson.decode()", "bad argument #1 to 'decode' (expected 1 argument)"),
            ("cjson.decode({})", "bad argument #1 to 'decode' (string expected, got table)"),
        ];
        for (code, want) in wrong {
            assert_eq!(error(&lua, &format!("return {code}")), format!("user_script:1: {want}"));
        }
        let strict = [
            ("0x10", "invalid number"),
            ("01", "invalid number"),
            ("-inf", "invalid number"),
            ("nan", "invalid token"),
            ("+1", "invalid token"),
            ("Infinity", "invalid token"),
        ];
        lua.load("cjson.decode_invalid_numbers(false)").exec().unwrap();
        for (json, found) in strict {
            lua.globals().set("input", json).unwrap();
            assert_eq!(
                error(&lua, "return cjson.decode(input)"),
                format!("user_script:1: Expected value but found {found} at character 1"),
                "{json}"
            );
        }
        assert_eq!(decoded(&lua, "-0.5"), "-0.5");
        assert_eq!(decoded(&lua, "0"), "0");
    }
}

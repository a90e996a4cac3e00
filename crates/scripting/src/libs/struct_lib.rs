//! The `struct` table: packing numbers and strings into binary layouts described by a format
//! string (`pack`, `unpack`, `size`), with the option letters, alignment rules and messages of
//! the version Redis bundles.

use super::{trunc_i64, Args, Fail, LibResult, Registrar, Spread};
use mlua::{Lua, Table, Value};

/// Widest integer option accepted (`i32`).
const MAX_INT_SIZE: u64 = 32;
/// What `!` without a number aligns to: the platform's strictest alignment.
const MAX_ALIGN: u64 = 8;
/// Values (counting the final position) one call may return, as the library's stack check allows.
const MAX_RESULTS: usize = 7998;

struct Parser<'a> {
    fmt: &'a [u8],
    at: usize,
    little: bool,
    align: u64,
    /// `struct.size` passes over unknown letters and digits (as size 0) instead of failing.
    lenient: bool,
}

/// One data option with its byte size (0 for `s` and for `c0`).
struct Opt {
    letter: u8,
    size: u64,
}

impl Parser<'_> {
    fn new(fmt: &[u8]) -> Parser<'_> {
        Parser { fmt, at: 0, little: true, align: 1, lenient: false }
    }

    fn number(&mut self, default: u64) -> LibResult<u64> {
        if !self.fmt.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: u64 = 0;
        while let Some(d) = self.fmt.get(self.at).filter(|c| c.is_ascii_digit()) {
            let d = u64::from(d - b'0');
            if a > i32::MAX as u64 / 10 || a * 10 > i32::MAX as u64 - d {
                return Err(Fail::Msg("integral size overflow".into()));
            }
            a = a * 10 + d;
            self.at += 1;
        }
        Ok(a)
    }

    /// The next data option, after applying any endianness and alignment controls before it.
    fn next(&mut self) -> LibResult<Option<Opt>> {
        while let Some(&c) = self.fmt.get(self.at) {
            self.at += 1;
            let size = match c {
                b' ' => continue,
                b'<' => {
                    self.little = true;
                    continue;
                }
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'!' => {
                    let a = self.number(MAX_ALIGN)?;
                    if !a.is_power_of_two() {
                        return Err(Fail::Msg(format!("alignment {a} is not a power of 2")));
                    }
                    self.align = a;
                    continue;
                }
                b'x' | b'b' | b'B' => 1,
                b'h' | b'H' => 2,
                b'l' | b'L' | b'T' | b'd' => 8,
                b'f' => 4,
                b's' => 0,
                b'c' => self.number(1)?,
                b'i' | b'I' => {
                    let n = self.number(4)?;
                    if n > MAX_INT_SIZE {
                        return Err(Fail::Msg(format!("integral size {n} is larger than limit of {MAX_INT_SIZE}")));
                    }
                    n
                }
                other if self.lenient && other.is_ascii_alphanumeric() => continue,
                other => {
                    let shown = String::from_utf8_lossy(&[other]).into_owned();
                    return Err(Fail::Arg(1, format!("invalid format option '{shown}'")));
                }
            };
            return Ok(Some(Opt { letter: c, size }));
        }
        Ok(None)
    }

    /// Padding needed before `opt` at offset `len`.
    fn padding(&self, len: u64, opt: &Opt) -> u64 {
        if opt.size == 0 || opt.letter == b'c' {
            return 0;
        }
        let s = opt.size.min(self.align);
        s.wrapping_sub(len & (s - 1)) & (s - 1)
    }
}

fn is_integer_option(c: u8) -> bool {
    matches!(c, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

/// The C conversion from a double to a 64-bit unsigned value as x86 performs it: negative
/// values go through a signed conversion, huge and NaN values collapse to the "indefinite" result.
fn to_u64(n: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if n < 0.0 {
        trunc_i64(n) as u64
    } else if n >= TWO_63 {
        (trunc_i64(n - TWO_63) as u64) ^ (1 << 63)
    } else {
        trunc_i64(n) as u64
    }
}

/// Pack arguments past the last one read as nil: the library pushes a nil marker after them.
fn pack_number(lua: &Lua, args: &Args, i: usize) -> LibResult<f64> {
    if i > args.len() {
        return Err(Fail::Arg(i as i64, "number expected, got nil".into()));
    }
    args.number(lua, i)
}

fn pack_bytes(lua: &Lua, args: &Args, i: usize) -> LibResult<Vec<u8>> {
    if i > args.len() {
        return Err(Fail::Arg(i as i64, "string expected, got nil".into()));
    }
    args.bytes(lua, i)
}

fn pack(lua: &Lua, args: Args) -> LibResult<mlua::LuaString> {
    let fmt = args.bytes(lua, 1)?;
    let mut p = Parser::new(&fmt);
    let mut out: Vec<u8> = Vec::new();
    let mut arg = 2;
    while let Some(opt) = p.next()? {
        let pad = p.padding(out.len() as u64, &opt);
        out.resize(out.len() + pad as usize, 0);
        match opt.letter {
            b'x' => out.push(0),
            c if is_integer_option(c) => {
                let mut v = to_u64(pack_number(lua, &args, arg)?);
                let mut bytes = vec![0u8; opt.size as usize];
                for b in bytes.iter_mut() {
                    *b = v as u8;
                    v = v.checked_shr(8).unwrap_or(0);
                }
                if !p.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
                arg += 1;
            }
            b'f' | b'd' => {
                let n = pack_number(lua, &args, arg)?;
                let mut bytes =
                    if opt.letter == b'f' { (n as f32).to_le_bytes().to_vec() } else { n.to_le_bytes().to_vec() };
                if !p.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
                arg += 1;
            }
            b'c' => {
                let s = pack_bytes(lua, &args, arg)?;
                let size = if opt.size == 0 { s.len() as u64 } else { opt.size };
                if (s.len() as u64) < size {
                    return Err(Fail::Arg(arg as i64, "string too short".into()));
                }
                out.extend_from_slice(&s[..size as usize]);
                arg += 1;
            }
            _ => {
                let s = pack_bytes(lua, &args, arg)?;
                out.extend_from_slice(&s);
                out.push(0);
                arg += 1;
            }
        }
    }
    Ok(lua.create_string(&out)?)
}

fn read_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| l = (l << 8) | u64::from(b);
    if little {
        bytes.iter().rev().for_each(|&b| push(b));
    } else {
        bytes.iter().for_each(|&b| push(b));
    }
    if !signed {
        return l as f64;
    }
    // The sign-extension mask is shifted by the hardware's modulo-64 rule, which is what makes
    // sizes above 8 behave as they do in the bundled library.
    let shift = ((bytes.len() as u32).wrapping_mul(8).wrapping_sub(1)) & 63;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, args: Args) -> LibResult<Spread> {
    let fmt = args.bytes(lua, 1)?;
    let data = args.bytes(lua, 2)?;
    let start = args.opt_integer(lua, 3, 1)? as u64;
    if start == 0 {
        return Err(Fail::Arg(3, "offset must be 1 or greater".into()));
    }
    let too_short = || Fail::Arg(2, "data string too short".into());
    let fits = |pos: u64, size: u64| pos.checked_add(size).is_some_and(|end| end <= data.len() as u64);
    let mut pos = start - 1;
    let mut p = Parser::new(&fmt);
    let results = lua.create_table()?;
    let mut count = 0usize;
    while let Some(opt) = p.next()? {
        pos = pos.wrapping_add(p.padding(pos, &opt));
        let mut size = opt.size;
        if !fits(pos, size) {
            return Err(too_short());
        }
        let at = pos as usize;
        if opt.letter != b'x' && count + 2 > MAX_RESULTS {
            return Err(Fail::Msg("stack overflow (too many results)".into()));
        }
        match opt.letter {
            b'x' => {}
            c if is_integer_option(c) => {
                let bytes = &data[at..at + size as usize];
                let n = read_integer(bytes, p.little, c.is_ascii_lowercase());
                count += 1;
                results.raw_set(count, n)?;
            }
            b'f' | b'd' => {
                let mut bytes = data[at..at + size as usize].to_vec();
                if !p.little {
                    bytes.reverse();
                }
                let n = match bytes.try_into() {
                    Ok(b4) => f64::from(f32::from_le_bytes(b4)),
                    Err(b8) => f64::from_le_bytes(b8.try_into().unwrap_or([0; 8])),
                };
                count += 1;
                results.raw_set(count, n)?;
            }
            b'c' => {
                if size == 0 {
                    let prev = match count {
                        0 => None,
                        _ => lua.coerce_number(results.raw_get::<Value>(count)?)?,
                    };
                    let Some(n) = prev else {
                        return Err(Fail::Msg("format 'c0' needs a previous size".into()));
                    };
                    size = to_u64(n);
                    results.raw_set(count, Value::Nil)?;
                    count -= 1;
                    if !fits(pos, size) {
                        return Err(too_short());
                    }
                }
                count += 1;
                results.raw_set(count, lua.create_string(&data[at..at + size as usize])?)?;
            }
            _ => {
                let Some(len) = data[at..].iter().position(|&b| b == 0) else {
                    return Err(Fail::Msg("unfinished string in data".into()));
                };
                count += 1;
                results.raw_set(count, lua.create_string(&data[at..at + len])?)?;
                size = len as u64 + 1;
            }
        }
        pos = pos.wrapping_add(size);
    }
    count += 1;
    results.raw_set(count, pos.wrapping_add(1) as i64 as f64)?;
    Ok(Spread { table: results, len: count })
}

fn size(lua: &Lua, args: Args) -> LibResult<f64> {
    let fmt = args.bytes(lua, 1)?;
    let mut p = Parser::new(&fmt);
    p.lenient = true;
    let mut total: u64 = 0;
    while let Some(opt) = p.next()? {
        if opt.letter == b's' {
            return Err(Fail::Arg(1, "option 's' has no fixed size".into()));
        }
        if opt.letter == b'c' && opt.size == 0 {
            return Err(Fail::Arg(1, "option 'c0' has no fixed size".into()));
        }
        total = total.wrapping_add(p.padding(total, &opt)).wrapping_add(opt.size);
    }
    Ok(total as f64)
}

pub(crate) fn module(lua: &Lua, reg: &Registrar) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    reg.add(lua, &t, "pack", pack)?;
    reg.add(lua, &t, "unpack", unpack)?;
    reg.add(lua, &t, "size", size)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::{bytes, error, hex, lua, string};

    #[test]
    fn pack_matches_server() {
        let lua = lua();
        let cases = [
            (r#"struct.pack(">i", 1)"#, "00000001"),
            (r#"struct.pack("<i", 1)"#, "01000000"),
            (r#"struct.pack("i", -2)"#, "feffffff"),
            (
                r#"struct.pack("bBhHlLT", -1, 255, -2, 65535, -3, 4, 5)"#,
                "fffffefffffffdffffffffffffff04000000000000000500000000000000",
            ),
            (r#"struct.pack(">i3", 0x123456)"#, "123456"),
            (r#"struct.pack(">I8", 2^53)"#, "0020000000000000"),
            (r#"struct.pack("<i16", -1)"#, "ffffffffffffffff0000000000000000"),
            (r#"struct.pack(">i17", 1)"#, "0000000000000000000000000000000001"),
            (r#"struct.pack("i0", 1)"#, ""),
            (r#"struct.pack("c3", "abcdef")"#, "616263"),
            (r#"struct.pack("c0", "abcdef")"#, "616263646566"),
            (r#"struct.pack("c", 5)"#, "35"),
            (r#"struct.pack("s", "a\0b")"#, "61006200"),
            (r#"struct.pack(">f", 1.5)"#, "3fc00000"),
            (r#"struct.pack(">d", 1.5)"#, "3ff8000000000000"),
            (r#"struct.pack("x")"#, "00"),
            (r#"struct.pack("!4 b i", 1, 2)"#, "0100000002000000"),
            (r#"struct.pack("!2 b i", 1, 2)"#, "010002000000"),
            (r#"struct.pack("!b d", 1, 2)"#, "01000000000000000000000000000040"),
            (r#"struct.pack("!8 b x h c2 i s", 1, 2, "ab", 3, "zz")"#, "0100020061620000030000007a7a00"),
            (r#"struct.pack("!b i3", 1, 2)"#, "010000020000"),
            (r#"struct.pack("!b i6", 1, 2)"#, "010000000000020000000000"),
            (r#"struct.pack("B", 256)"#, "00"),
            (r#"struct.pack("i", -1.7)"#, "ffffffff"),
            (r#"struct.pack("i", 2^40)"#, "00000000"),
            (r#"struct.pack(">L", 2^63)"#, "8000000000000000"),
            (r#"struct.pack(">l", 2^64)"#, "0000000000000000"),
            (r#"struct.pack(">l", 0/0)"#, "8000000000000000"),
            (r#"struct.pack("i", 1, 2)"#, "01000000"),
        ];
        for (code, want) in cases {
            assert_eq!(hex(&bytes(&lua, &format!("return {code}"))), want, "{code}");
        }
    }

    #[test]
    fn unpack_matches_server() {
        let lua = lua();
        let cases = [
            (r#"struct.unpack("i17", string.rep("a", 17))"#, "-31 18"),
            (r#"struct.unpack("<I", struct.pack("<i", -5))"#, "4294967291 5"),
            (
                r#"struct.unpack("bBhHlLT", struct.pack("bBhHlLT", -1, 255, -2, 65535, -3, 4, 5))"#,
                "-1 255 -2 65535 -3 4 5 31",
            ),
            (r#"struct.unpack(">i3", string.char(0xff,0xff,0xfe))"#, "-2 4"),
            (r#"struct.unpack(">I3", string.char(0xff,0xff,0xfe))"#, "16777214 4"),
            (r#"struct.unpack(">L", string.rep(string.char(255), 8))"#, "1.844674407371e+19 9"),
            (r#"struct.unpack(">i16", string.rep(string.char(255), 16))"#, "-1 17"),
            (r#"struct.unpack("<i9", string.char(0,0,0,0,0,0,0,0,255))"#, "0 10"),
            (r#"struct.unpack("b c0", string.char(3) .. "xyzw")"#, "xyz 5"),
            (r#"struct.unpack("c1 c0", "2abc")"#, "ab 4"),
            (r#"struct.unpack("s i", "ab\0" .. struct.pack("i", 7))"#, "ab 7 8"),
            (r#"struct.unpack("i", "abcdabcd", 5)"#, "1684234849 9"),
            (r#"struct.unpack("x b", "ab")"#, "98 3"),
            (r#"struct.unpack(">f d", struct.pack(">f d", 1.5, 0.1))"#, "1.5 0.1 13"),
            (r#"struct.unpack("!4 b i", struct.pack("!4 b i", 1, 2))"#, "1 2 9"),
            (r#"struct.unpack("", "ab")"#, "1"),
            (r#"struct.unpack("b", "a", "1")"#, "97 2"),
            (r#"struct.size("!4 b i")"#, "8"),
            (r#"struct.size("bhilT")"#, "23"),
            (r#"struct.size("c10 x")"#, "11"),
            (r#"struct.size("i20")"#, "20"),
            (r#"struct.size("b!i")"#, "8"),
            (r#"struct.size("IT1!")"#, "12"),
            (r#"struct.size("z")"#, "0"),
            (r#"struct.size("i1")"#, "1"),
            (r#"select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 8000)))"#, "7998"),
        ];
        for (code, want) in cases {
            let joined = string(
                &lua,
                &format!("local t = {{{code}}} for i = 1, #t do t[i] = tostring(t[i]) end return table.concat(t, ' ')"),
            );
            assert_eq!(joined, want, "{code}");
        }
    }

    #[test]
    fn errors_match_server() {
        let lua = lua();
        let cases = [
            (r#"struct.pack("i33", 1)"#, "user_script:1: integral size 33 is larger than limit of 32"),
            (r#"struct.size("i999999999999")"#, "user_script:1: integral size overflow"),
            (r#"struct.pack("!3 b i", 1, 2)"#, "user_script:1: alignment 3 is not a power of 2"),
            (r#"struct.pack("!0 b d", 1, 2)"#, "user_script:1: alignment 0 is not a power of 2"),
            (r#"struct.pack("z", 1)"#, "user_script:1: bad argument #1 to 'pack' (invalid format option 'z')"),
            (r#"struct.pack("=i", 1)"#, "user_script:1: bad argument #1 to 'pack' (invalid format option '=')"),
            (r#"struct.size("b=i")"#, "user_script:1: bad argument #1 to 'size' (invalid format option '=')"),
            (
                r#"struct.unpack("b z", "abc")"#,
                "user_script:1: bad argument #1 to 'unpack' (invalid format option 'z')",
            ),
            (r#"struct.pack("i", "x")"#, "user_script:1: bad argument #2 to 'pack' (number expected, got string)"),
            (r#"struct.pack("i")"#, "user_script:1: bad argument #2 to 'pack' (number expected, got nil)"),
            (r#"struct.pack()"#, "user_script:1: bad argument #1 to 'pack' (string expected, got no value)"),
            (r#"struct.pack("c5", "ab")"#, "user_script:1: bad argument #2 to 'pack' (string too short)"),
            (r#"struct.unpack("c3 c0", "abcdefgh")"#, "user_script:1: format 'c0' needs a previous size"),
            (r#"struct.unpack("s", "abc")"#, "user_script:1: unfinished string in data"),
            (r#"struct.unpack("i", "abc")"#, "user_script:1: bad argument #2 to 'unpack' (data string too short)"),
            (
                r#"struct.unpack("i", "abcdabcd", 6)"#,
                "user_script:1: bad argument #2 to 'unpack' (data string too short)",
            ),
            (
                r#"struct.unpack("i", "abcdabcd", 0)"#,
                "user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)",
            ),
            (
                r#"struct.unpack("i", "abcdabcd", -1)"#,
                "user_script:1: bad argument #2 to 'unpack' (data string too short)",
            ),
            (
                r#"struct.unpack("!4 b i", string.rep("a", 7))"#,
                "user_script:1: bad argument #2 to 'unpack' (data string too short)",
            ),
            (r#"struct.size("s")"#, "user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)"),
            (r#"struct.size("c0")"#, "user_script:1: bad argument #1 to 'size' (option 'c0' has no fixed size)"),
            (
                r#"struct.unpack(string.rep("b", 7998), string.rep("a", 8000))"#,
                "user_script:1: stack overflow (too many results)",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(error(&lua, &format!("return {code}")), want, "{code}");
        }
    }
}

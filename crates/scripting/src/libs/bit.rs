//! The `bit` table: LuaBitOp 1.0 operations on numbers normalised to signed 32-bit integers.

use super::{Args, LibResult, Registrar};
use mlua::{Lua, Table};

/// LuaBitOp's normalisation: adding 2^52 + 2^51 moves the integer part into the low mantissa
/// bits with round-half-even, so out-of-range values wrap modulo 2^32 and NaN/inf become 0.
fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn arg(lua: &Lua, args: &Args, i: usize) -> LibResult<i32> {
    args.number(lua, i).map(tobit)
}

fn fold(lua: &Lua, args: &Args, op: fn(i32, i32) -> i32) -> LibResult<f64> {
    let mut acc = arg(lua, args, 1)?;
    for i in 2..=args.len() {
        acc = op(acc, arg(lua, args, i)?);
    }
    Ok(acc as f64)
}

fn tohex(lua: &Lua, args: &Args) -> LibResult<String> {
    let x = arg(lua, args, 1)? as u32;
    let mut n = if args.get(2).is_none() { 8 } else { arg(lua, args, 2)? };
    let upper = n < 0;
    if upper {
        n = n.wrapping_neg();
    }
    // i32::MIN stays negative after negation; the library then prints all eight digits.
    let n = if !(0..=8).contains(&n) { 8 } else { n as usize };
    let full = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
    Ok(full[8 - n..].to_string())
}

type Shift = fn(i32, u32) -> i32;

pub(crate) fn module(lua: &Lua, reg: &Registrar) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    reg.add(lua, &t, "tobit", |lua, a| Ok(arg(lua, &a, 1)? as f64))?;
    reg.add(lua, &t, "bnot", |lua, a| Ok(!arg(lua, &a, 1)? as f64))?;
    reg.add(lua, &t, "bswap", |lua, a| Ok(arg(lua, &a, 1)?.swap_bytes() as f64))?;
    reg.add(lua, &t, "tohex", |lua, a| tohex(lua, &a))?;
    reg.add(lua, &t, "band", |lua, a| fold(lua, &a, |x, y| x & y))?;
    reg.add(lua, &t, "bor", |lua, a| fold(lua, &a, |x, y| x | y))?;
    reg.add(lua, &t, "bxor", |lua, a| fold(lua, &a, |x, y| x ^ y))?;
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |x, n| ((x as u32) << n) as i32),
        ("rshift", |x, n| ((x as u32) >> n) as i32),
        ("arshift", |x, n| x >> n),
        ("rol", |x, n| (x as u32).rotate_left(n) as i32),
        ("ror", |x, n| (x as u32).rotate_right(n) as i32),
    ];
    for (name, op) in shifts {
        reg.add(lua, &t, name, move |lua, a| {
            let x = arg(lua, &a, 1)?;
            let n = arg(lua, &a, 2)? as u32 & 31;
            Ok(op(x, n) as f64)
        })?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::{error, lua, string};

    fn num(code: &str) -> f64 {
        lua().load(code).eval::<f64>().unwrap()
    }

    #[test]
    fn tobit_matches_server() {
        let cases = [
            ("bit.tobit(0xffffffff)", -1.0),
            ("bit.tobit(2^32+5)", 5.0),
            ("bit.tobit(-1.5)", -2.0),
            ("bit.tobit(1.5)", 2.0),
            ("bit.tobit(2.5)", 2.0),
            ("bit.tobit(3.5)", 4.0),
            ("bit.tobit(-3.5)", -4.0),
            ("bit.tobit(2^53)", 0.0),
            ("bit.tobit(1e300)", -2013235812.0),
            ("bit.tobit(0/0)", 0.0),
            ("bit.tobit(1/0)", 0.0),
            ("bit.tobit('0x10')", 16.0),
            ("bit.tobit(-2^31-1)", 2147483647.0),
            ("bit.tobit(2^31)", -2147483648.0),
            ("bit.tobit(2^52+2^51+7)", 4.0),
            ("bit.tobit(2^60+3)", 0.0),
        ];
        for (code, want) in cases {
            assert_eq!(num(&format!("return {code}")), want, "{code}");
        }
    }

    #[test]
    fn operations_match_server() {
        let cases = [
            ("bit.bnot(0)", -1.0),
            ("bit.band(0xff, 0x0f, 0x3)", 3.0),
            ("bit.bor(1)", 1.0),
            ("bit.bxor(1, 3, 7)", 5.0),
            ("bit.lshift(1, 31)", -2147483648.0),
            ("bit.lshift(1, 32)", 1.0),
            ("bit.lshift(1, 33)", 2.0),
            ("bit.lshift(1, -1)", -2147483648.0),
            ("bit.lshift(1, 2^32+1)", 2.0),
            ("bit.rshift(-1, 28)", 15.0),
            ("bit.arshift(-256, 4)", -16.0),
            ("bit.rol(0x12345678, 4)", 591751041.0),
            ("bit.ror(0x12345678, 4)", -2128394905.0),
            ("bit.rol(1, -1)", -2147483648.0),
            ("bit.bswap(0x12345678)", 2018915346.0),
            ("bit.band(2^32+1, 3)", 1.0),
        ];
        for (code, want) in cases {
            assert_eq!(num(&format!("return {code}")), want, "{code}");
        }
    }

    #[test]
    fn tohex_matches_server() {
        let lua = lua();
        let cases = [
            ("bit.tohex(255)", "000000ff"),
            ("bit.tohex(-1)", "ffffffff"),
            ("bit.tohex(255, 4)", "00ff"),
            ("bit.tohex(255, -4)", "00FF"),
            ("bit.tohex(0x12345678, 0)", ""),
            ("bit.tohex(0x12345678, 9)", "12345678"),
            ("bit.tohex(0xabcdef, -9)", "00ABCDEF"),
            ("bit.tohex(0xabcdef, 2^31)", "00ABCDEF"),
            ("bit.tohex(0xabcdef, -2^31)", "00ABCDEF"),
            ("bit.tohex(0xabcdef, 2^32-3)", "DEF"),
            ("bit.tohex(0xabcdef, 1.5)", "ef"),
            ("bit.tohex(-1, -8)", "FFFFFFFF"),
        ];
        for (code, want) in cases {
            assert_eq!(string(&lua, &format!("return {code}")), want, "{code}");
        }
    }

    #[test]
    fn argument_errors_match_server() {
        let lua = lua();
        let cases = [
            ("return bit.bnot('z')", "user_script:1: bad argument #1 to 'bnot' (number expected, got string)"),
            ("return bit.bor()", "user_script:1: bad argument #1 to 'bor' (number expected, got no value)"),
            ("return bit.band(1, nil)", "user_script:1: bad argument #2 to 'band' (number expected, got nil)"),
            ("return bit.tohex(1, 'x')", "user_script:1: bad argument #2 to 'tohex' (number expected, got string)"),
            ("return bit.tobit({})", "user_script:1: bad argument #1 to 'tobit' (number expected, got table)"),
            (
                "local f = bit.tobit return f(true)",
                "user_script:1: bad argument #1 to 'f' (number expected, got boolean)",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(error(&lua, code), want, "{code}");
        }
        let direct: String = lua.load("local ok, e = pcall(bit.band, 'x') return e").eval().unwrap();
        assert_eq!(direct, "bad argument #1 to '?' (number expected, got string)");
    }
}

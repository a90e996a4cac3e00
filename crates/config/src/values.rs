//! Runtime values of directives: parsing arguments into them (with Redis's
//! exact error texts), rendering them for CONFIG GET, and the lines CONFIG
//! REWRITE writes for them.

use std::path::{Path, PathBuf};

use crate::directives::{Directive, Kind, NumFmt, StrCheck};
use crate::parse::repr;

/// One client class's output buffer limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: i32,
}

/// Class order everywhere: normal, replica, pubsub.
pub(crate) const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Bool(bool),
    /// Numbers live in a signed 64-bit slot; unsigned directives above
    /// i64::MAX wrap, exactly as they do in Redis's `long long` handling.
    Num(i64),
    Enum(i32),
    Str(Option<Vec<u8>>),
    Save(Vec<(i64, i32)>),
    Obuf([BufferLimit; 3]),
    Oom([i32; 3]),
    Notify(u32),
    Bind(Vec<Vec<u8>>),
    ReplicaOf(Option<(Vec<u8>, i32)>),
    Percentiles(Vec<f64>),
    Dir(PathBuf),
}

/// Keyspace notification classes, bit for bit as Redis numbers them.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 12;
    pub const NEW: u32 = 1 << 13;
    /// What `A` stands for: every class except key-miss and new-key.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// What a setter needs to know besides its arguments.
pub(crate) struct SetCtx<'a> {
    /// Directory relative paths (for `dir`) are resolved against.
    pub cwd: &'a Path,
    /// Proc-title validation depends on these two.
    pub cluster_enabled: bool,
    pub unixsocket_set: bool,
}

const MAX_BIND_ADDRS: usize = 16;

// ---------------------------------------------------------------------------
// Number parsing helpers, each matching one C routine's acceptance rules.

/// Strict integer: no sign but '-', no leading zeros, no spaces, fits i64.
pub(crate) fn parse_strict_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > 1u64 << 63 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Lenient C-style integer: leading whitespace, optional sign, digits in
/// `radix`, saturating on overflow. Returns (value, fully consumed, overflowed).
/// An empty string counts as fully consumed zero, as it does in C.
pub(crate) fn parse_c_integer(s: &[u8], radix: u32) -> (i64, bool, bool) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut acc: u128 = 0;
    let mut overflow = false;
    while i < s.len() {
        let d = match (s[i] as char).to_digit(radix) {
            Some(d) => d,
            None => break,
        };
        acc = acc * u128::from(radix) + u128::from(d);
        if acc > 1u128 << 64 {
            acc = 1u128 << 64;
        }
        i += 1;
    }
    if i == start {
        return (0, s.is_empty(), false);
    }
    let limit: u128 = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    let v = if acc > limit {
        overflow = true;
        if neg {
            i64::MIN
        } else {
            i64::MAX
        }
    } else if neg {
        (acc as i64).wrapping_neg()
    } else {
        acc as i64
    };
    (v, i == s.len(), overflow)
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Memory value: digits followed by an optional unit (b, k, kb, m, mb, g,
/// gb; k = 1000, kb = 1024; case-insensitive). Redis saturates the digits
/// at 2^64-1 and lets the unit multiplication wrap, so do we.
pub(crate) fn parse_memory(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[..digits] {
        v = v.checked_mul(10).and_then(|v| v.checked_add(u64::from(c - b'0'))).unwrap_or(u64::MAX);
    }
    Some(v.wrapping_mul(mul))
}

/// Floating point as Redis's string2d takes it: the whole string must be a
/// number (decimal, exponent or hex form), no leading space, not NaN.
pub(crate) fn parse_double(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let (neg, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let v = if body.len() > 2 && (body.starts_with("0x") || body.starts_with("0X")) {
        parse_hex_float(&body[2..])?
    } else {
        if body.starts_with(['+', '-']) {
            return None;
        }
        let lower = body.to_ascii_lowercase();
        if !matches!(lower.as_str(), "inf" | "infinity")
            && !lower.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    let v = if neg { -v } else { v };
    if v.is_nan() || (v.is_infinite() && !body.to_ascii_lowercase().starts_with("inf")) {
        return None;
    }
    // strtod reports underflow as a range error, which string2d rejects.
    let hex = body.starts_with("0x") || body.starts_with("0X");
    let mantissa = if hex {
        body[2..].split(['p', 'P']).next().unwrap_or("")
    } else {
        body.split(['e', 'E']).next().unwrap_or("")
    };
    if v == 0.0 && mantissa.bytes().any(|c| c.is_ascii_hexdigit() && c != b'0') {
        return None;
    }
    Some(v)
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.find(['p', 'P']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    if let Some(e) = exp {
        let e: i32 = e.parse().ok()?;
        v *= 2f64.powi(e);
    }
    Some(v)
}

/// printf("%f") with trailing zeros (and a bare dot) removed.
pub(crate) fn format_percentile(v: f64) -> String {
    let mut s = format!("{v:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Redis writes byte counts back with the largest exact binary unit.
pub(crate) fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    const KB: i64 = 1024;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

// ---------------------------------------------------------------------------
// Parsing arguments into values.

/// Parses `args` for directive `d`. `bounds` is false only for built-in
/// defaults, one of which (Roost's `threads 0`) sits outside the range a
/// user may choose.
/// `cur` is the value being replaced: client-output-buffer-limit only
/// changes the classes it names.
pub(crate) fn parse(
    d: &Directive,
    args: &[Vec<u8>],
    ctx: &SetCtx,
    bounds: bool,
    cur: Option<&Value>,
) -> Result<Value, String> {
    match d.kind {
        Kind::Bool => match one(args).to_ascii_lowercase().as_slice() {
            b"yes" if d.name == "activedefrag" => {
                Err("Active defragmentation cannot be enabled: it requires a Redis server compiled \
                 with a modified Jemalloc like the one shipped by default with the Redis source \
                 distribution"
                    .into())
            }
            b"yes" => Ok(Value::Bool(true)),
            b"no" => Ok(Value::Bool(false)),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Num { min, max, unsigned, fmt } => {
            let v = parse_number(one(args), fmt)?;
            if bounds {
                check_bounds(v, min, max, unsigned, fmt)?;
            }
            Ok(Value::Num(v))
        }
        Kind::Enum { items, flags } => parse_enum(items, flags, args).map(Value::Enum),
        Kind::Str { empty_is_null, check } => {
            let v = one(args);
            check_string(check, v, ctx)?;
            Ok(Value::Str(if empty_is_null && v.is_empty() { None } else { Some(v.to_vec()) }))
        }
        Kind::Save => parse_save(args).map(Value::Save),
        Kind::ClientOutputBufferLimit => parse_obuf(args).map(|updates| {
            let unset = BufferLimit { hard_bytes: 0, soft_bytes: 0, soft_seconds: 0 };
            let mut out = match cur {
                Some(Value::Obuf(limits)) => *limits,
                _ => [unset; 3],
            };
            for (class, limit) in updates {
                out[class] = limit;
            }
            Value::Obuf(out)
        }),
        Kind::OomScoreAdjValues => parse_oom(args).map(Value::Oom),
        Kind::NotifyKeyspaceEvents => {
            if args.len() != 1 {
                return Err("wrong number of arguments".into());
            }
            parse_notify(&args[0])
                .map(Value::Notify)
                .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
        }
        Kind::Bind => {
            if args.len() > MAX_BIND_ADDRS {
                return Err("Too many bind addresses specified.".into());
            }
            if args.len() == 1 && args[0].is_empty() {
                return Ok(Value::Bind(Vec::new()));
            }
            Ok(Value::Bind(args.to_vec()))
        }
        Kind::ReplicaOf => {
            if args.len() != 2 {
                return Err("wrong number of arguments".into());
            }
            if args[0].eq_ignore_ascii_case(b"no") && args[1].eq_ignore_ascii_case(b"one") {
                return Ok(Value::ReplicaOf(None));
            }
            let (port, all, _) = parse_c_integer(&args[1], 10);
            // The port lands in a C int before the range check.
            let port = port as i32;
            if !all || !(0..=65535).contains(&port) {
                return Err("Invalid master port".into());
            }
            Ok(Value::ReplicaOf(Some((args[0].clone(), port))))
        }
        Kind::Percentiles => {
            if args.len() == 1 && args[0].is_empty() {
                return Ok(Value::Percentiles(Vec::new()));
            }
            let mut out = Vec::with_capacity(args.len());
            for a in args {
                let v = parse_double(a).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                if !(0.0..=100.0).contains(&v) {
                    return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                }
                out.push(v);
            }
            Ok(Value::Percentiles(out))
        }
        Kind::Dir => {
            if args.len() != 1 {
                return Err("wrong number of arguments".into());
            }
            resolve_dir(ctx.cwd, &args[0]).map(Value::Dir)
        }
    }
}

/// Single-argument directives always get exactly one argument from callers.
fn one(args: &[Vec<u8>]) -> &[u8] {
    args.first().map(Vec::as_slice).unwrap_or(b"")
}

fn parse_number(s: &[u8], fmt: NumFmt) -> Result<i64, String> {
    if matches!(fmt, NumFmt::Memory | NumFmt::MemoryPercent) {
        if let Some(v) = parse_memory(s) {
            return Ok(v as i64);
        }
    }
    if fmt == NumFmt::MemoryPercent && s.len() > 1 && s.ends_with(b"%") {
        if let Some(v) = parse_strict_i64(&s[..s.len() - 1]) {
            if v >= 0 {
                // Percentages are kept negative to tell them from byte counts.
                return Ok(-v);
            }
        }
    }
    if fmt == NumFmt::Octal {
        let (v, all, overflow) = parse_c_integer(s, 8);
        if all && !overflow {
            return Ok(v);
        }
    }
    if fmt == NumFmt::Plain {
        if let Some(v) = parse_strict_i64(s) {
            return Ok(v);
        }
    }
    Err(match fmt {
        NumFmt::MemoryPercent => "argument must be a memory or percent value",
        NumFmt::Memory => "argument must be a memory value",
        NumFmt::Octal => "argument couldn't be parsed as an octal number",
        NumFmt::Plain => "argument couldn't be parsed into an integer",
    }
    .into())
}

fn check_bounds(v: i64, min: i64, max: i64, unsigned: bool, fmt: NumFmt) -> Result<(), String> {
    if unsigned {
        let (u, lo, hi) = (v as u64, min as u64, max as u64);
        if u > hi || u < lo {
            return Err(if fmt == NumFmt::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if fmt == NumFmt::MemoryPercent && v < 0 {
        if v < min {
            return Err(format!("percentage argument must be less or equal to {}", -min));
        }
    } else if v > max || v < min {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(())
}

fn parse_enum(items: &[(&str, i32)], flags: bool, args: &[Vec<u8>]) -> Result<i32, String> {
    let mut value = 0;
    let ok = !args.is_empty()
        && (flags || args.len() == 1)
        && args.iter().all(|a| {
            let mut matched = false;
            for (name, v) in items {
                if name.as_bytes().eq_ignore_ascii_case(a) {
                    value |= v;
                    matched = true;
                }
            }
            matched
        });
    if ok {
        return Ok(value);
    }
    let names: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
    let mut msg = format!("argument(s) must be one of the following: {}", names.join(", "));
    // Redis builds this message in a 256-byte buffer.
    msg.truncate(255);
    Err(msg)
}

/// Enum value back to text: an exact match wins, otherwise (flag enums)
/// the names of all set bits in table order, or "unknown".
pub(crate) fn enum_name(items: &[(&str, i32)], flags: bool, value: i32) -> String {
    if let Some((n, _)) = items.iter().find(|(_, v)| *v == value) {
        return (*n).to_string();
    }
    if flags {
        let mut left = value;
        let mut names = Vec::new();
        for (n, v) in items {
            if *v != 0 && left & v == *v {
                names.push(*n);
                left &= !v;
            }
        }
        if !names.is_empty() && left == 0 {
            return names.join(" ");
        }
    }
    "unknown".into()
}

fn check_string(check: StrCheck, v: &[u8], ctx: &SetCtx) -> Result<(), String> {
    let is_path = v.contains(&b'/') || v.contains(&b'\\');
    let err = match check {
        StrCheck::None => None,
        StrCheck::DbFilename if is_path => Some("dbfilename can't be a path, just a filename"),
        StrCheck::AofFilename if v.is_empty() => Some("appendfilename can't be empty"),
        StrCheck::AofFilename if is_path => Some("appendfilename can't be a path, just a filename"),
        StrCheck::AofDirname if v.is_empty() => Some("appenddirname can't be empty"),
        StrCheck::AofDirname if is_path => Some("appenddirname can't be a path, just a dirname"),
        StrCheck::Hostname if v.len() >= 256 => Some("Hostnames must be less than 256 characters"),
        StrCheck::Hostname if !v.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.') => {
            Some("Hostnames may only contain alphanumeric characters, hyphens or dots")
        }
        StrCheck::ProcTitle if !proc_title_valid(v, ctx) => {
            Some("template format is invalid or contains unknown variables")
        }
        _ => None,
    };
    err.map_or(Ok(()), |e| Err(e.into()))
}

/// A process title template is valid when every `{variable}` is known and
/// the expansion (with an empty title) is not blank.
fn proc_title_valid(t: &[u8], ctx: &SetCtx) -> bool {
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i] != b'{' {
            out.push(t[i]);
            i += 1;
            continue;
        }
        i += 1;
        match t.get(i) {
            None => return false,
            Some(b'{') => {
                out.push(b'{');
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        let end = match t[i..].iter().position(|&c| c == b'}') {
            Some(e) => i + e,
            None => return false,
        };
        let expansion: &[u8] = match &t[i..end] {
            b"title" => b"",
            b"server-mode" if ctx.cluster_enabled => b"[cluster]",
            b"server-mode" => b"",
            b"unixsocket" if ctx.unixsocket_set => b"x",
            b"unixsocket" => b"",
            b"listen-addr" | b"port" | b"tls-port" | b"config-file" => b"x",
            _ => return false,
        };
        out.extend_from_slice(expansion);
        i = end + 1;
    }
    out.iter().any(|&c| c != b' ')
}

fn parse_save(args: &[Vec<u8>]) -> Result<Vec<(i64, i32)>, String> {
    let args: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
    let bad = || "Invalid save parameters".to_string();
    if args.len() % 2 == 1 {
        return Err(bad());
    }
    let mut out = Vec::new();
    for pair in args.chunks(2) {
        let (secs, all_s, _) = parse_c_integer(&pair[0], 10);
        let (changes, all_c, _) = parse_c_integer(&pair[1], 10);
        if !all_s || !all_c || secs < 1 || changes < 0 {
            return Err(bad());
        }
        // The change count is kept in a C int.
        out.push((secs, changes as i32));
    }
    Ok(out)
}

fn obuf_class(name: &[u8]) -> Option<usize> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(0),
        b"slave" | b"replica" => Some(1),
        b"pubsub" => Some(2),
        _ => None,
    }
}

fn parse_obuf(args: &[Vec<u8>]) -> Result<Vec<(usize, BufferLimit)>, String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut out = Vec::new();
    for group in args.chunks(4) {
        let class = obuf_class(&group[0]).ok_or("Invalid client class specified in buffer limit configuration.")?;
        let hard = parse_memory(&group[1]);
        let soft = parse_memory(&group[2]);
        let (secs, all, _) = parse_c_integer(&group[3], 10);
        let secs = secs as i32;
        match (hard, soft) {
            (Some(hard_bytes), Some(soft_bytes)) if all && secs >= 0 => {
                out.push((class, BufferLimit { hard_bytes, soft_bytes, soft_seconds: secs }))
            }
            _ => {
                return Err("Error in hard, soft or soft_seconds setting in buffer limit \
                            configuration."
                    .into())
            }
        }
    }
    Ok(out)
}

fn parse_oom(args: &[Vec<u8>]) -> Result<[i32; 3], String> {
    if args.len() != 3 {
        return Err("wrong number of arguments".into());
    }
    let mut out = [0i32; 3];
    for (slot, a) in out.iter_mut().zip(args) {
        let (v, all, _) = parse_c_integer(a, 10);
        if !all || !(-2000..=2000).contains(&v) {
            return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into());
        }
        *slot = v as i32;
    }
    Ok(out)
}

pub(crate) fn parse_notify(s: &[u8]) -> Option<u32> {
    use notify::*;
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

pub(crate) fn notify_to_string(flags: u32) -> String {
    use notify::*;
    let mut s = String::new();
    if flags & ALL == ALL {
        // Redis prints `A` alone here, dropping `n` even when it is set.
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// What chdir() would land on, without changing the process's directory:
/// the server applies the change itself when told `dir` changed.
pub(crate) fn resolve_dir(cwd: &Path, arg: &[u8]) -> Result<PathBuf, String> {
    use std::os::unix::ffi::OsStrExt;
    if arg.is_empty() {
        return Err("No such file or directory".into());
    }
    let p = cwd.join(std::ffi::OsStr::from_bytes(arg));
    let canon = std::fs::canonicalize(&p).map_err(|e| os_error_text(&e))?;
    if !canon.is_dir() {
        return Err("Not a directory".into());
    }
    Ok(canon)
}

/// strerror()-style text: Rust appends " (os error N)", Redis does not.
pub(crate) fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

// ---------------------------------------------------------------------------
// Rendering.

/// The value as CONFIG GET prints it.
pub(crate) fn render(d: &Directive, v: &Value) -> Vec<u8> {
    match (v, d.kind) {
        (Value::Bool(b), _) => if *b { "yes" } else { "no" }.into(),
        (Value::Num(n), Kind::Num { fmt, .. }) => match fmt {
            NumFmt::MemoryPercent if *n < 0 => format!("{}%", n.unsigned_abs()).into(),
            NumFmt::Memory | NumFmt::MemoryPercent => (*n as u64).to_string().into(),
            NumFmt::Octal => format!("{:o}", *n as u64).into(),
            NumFmt::Plain => n.to_string().into(),
        },
        (Value::Enum(e), Kind::Enum { items, flags }) => enum_name(items, flags, *e).into(),
        (Value::Str(s), _) => s.clone().unwrap_or_default(),
        (Value::Save(pairs), _) => pairs.iter().map(|(s, c)| format!("{s} {c}")).collect::<Vec<_>>().join(" ").into(),
        (Value::Obuf(limits), _) => OBUF_CLASSES
            .iter()
            .zip(limits)
            .map(|(name, l)| format!("{name} {} {} {}", l.hard_bytes, l.soft_bytes, l.soft_seconds))
            .collect::<Vec<_>>()
            .join(" ")
            .into(),
        (Value::Oom(v), _) => format!("{} {} {}", v[0], v[1], v[2]).into(),
        (Value::Notify(f), _) => notify_to_string(*f).into(),
        (Value::Bind(addrs), _) => addrs.join(&b' '),
        (Value::ReplicaOf(None), _) => Vec::new(),
        (Value::ReplicaOf(Some((host, port))), _) => {
            let mut out = host.clone();
            out.extend_from_slice(format!(" {port}").as_bytes());
            out
        }
        (Value::Percentiles(p), _) => p.iter().map(|v| format_percentile(*v)).collect::<Vec<_>>().join(" ").into(),
        (Value::Dir(p), _) => {
            use std::os::unix::ffi::OsStrExt;
            p.as_os_str().as_bytes().to_vec()
        }
        // A value always matches its directive's kind.
        _ => Vec::new(),
    }
}

/// One line CONFIG REWRITE wants for a directive, and whether it must be
/// written even where the file never mentioned it.
pub(crate) struct RewriteLine {
    pub line: String,
    pub force: bool,
}

/// Lines for CONFIG REWRITE. An empty list means "remove every line of
/// this directive from the file".
pub(crate) fn rewrite_lines(d: &Directive, v: &Value, default: &Value, cluster_enabled: bool) -> Vec<RewriteLine> {
    let name = d.name;
    let differs = v != default;
    let simple = |line: String| vec![RewriteLine { line, force: differs }];
    match (v, d.kind) {
        (Value::Bool(b), _) => simple(format!("{name} {}", if *b { "yes" } else { "no" })),
        (Value::Num(n), Kind::Num { fmt, .. }) => simple(match fmt {
            NumFmt::MemoryPercent if *n < 0 => format!("{name} {}%", n.unsigned_abs()),
            NumFmt::Memory | NumFmt::MemoryPercent => format!("{name} {}", format_memory(*n)),
            NumFmt::Octal => format!("{name} {:o}", *n as u64),
            NumFmt::Plain => format!("{name} {n}"),
        }),
        (Value::Enum(e), Kind::Enum { items, flags }) => simple(format!("{name} {}", enum_name(items, flags, *e))),
        (Value::Str(None), _) => Vec::new(),
        (Value::Str(Some(s)), _) => simple(format!("{name} {}", repr(s))),
        (Value::Save(pairs), _) if pairs.is_empty() => vec![RewriteLine { line: "save \"\"".into(), force: true }],
        (Value::Save(pairs), _) => {
            pairs.iter().map(|(s, c)| RewriteLine { line: format!("save {s} {c}"), force: true }).collect()
        }
        (Value::Obuf(limits), _) => {
            let defaults = match default {
                Value::Obuf(d) => *d,
                _ => *limits,
            };
            ["normal", "replica", "pubsub"]
                .iter()
                .zip(limits.iter().zip(defaults.iter()))
                .map(|(class, (l, dl))| RewriteLine {
                    line: format!(
                        "{name} {class} {} {} {}",
                        format_memory(l.hard_bytes as i64),
                        format_memory(l.soft_bytes as i64),
                        l.soft_seconds
                    ),
                    force: l != dl,
                })
                .collect()
        }
        (Value::Oom(o), _) => simple(format!("{name} {} {} {}", o[0], o[1], o[2])),
        (Value::Notify(f), _) => {
            vec![RewriteLine { line: format!("{name} {}", repr(notify_to_string(*f).as_bytes())), force: *f != 0 }]
        }
        (Value::Bind(addrs), _) => {
            let list = if addrs.is_empty() {
                "\"\"".to_string()
            } else {
                String::from_utf8_lossy(&addrs.join(&b' ')).into_owned()
            };
            // Redis drops a bind line equal to its default ("* -::*"). Roost's
            // default is the line the stock redis.conf carries, so a file
            // saying exactly that keeps it, and only changes are appended.
            vec![RewriteLine { line: format!("{name} {list}"), force: differs }]
        }
        (Value::ReplicaOf(Some((host, port))), _) if !cluster_enabled => {
            vec![RewriteLine { line: format!("{name} {} {port}", String::from_utf8_lossy(host)), force: true }]
        }
        (Value::ReplicaOf(_), _) => Vec::new(),
        (Value::Percentiles(p), _) => {
            let mut line = name.to_string();
            if p.is_empty() {
                line.push_str(" \"\"");
            }
            for v in p {
                line.push(' ');
                line.push_str(&format_percentile(*v));
            }
            vec![RewriteLine { line, force: true }]
        }
        (Value::Dir(p), _) => {
            use std::os::unix::ffi::OsStrExt;
            vec![RewriteLine { line: format!("{name} {}", repr(p.as_os_str().as_bytes())), force: true }]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_strict_i64(b"0"), Some(0));
        assert_eq!(parse_strict_i64(b"-5"), Some(-5));
        assert_eq!(parse_strict_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_strict_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"01", b"-0", b"+1", b" 1", b"1 ", b"1a", b"-", b"9223372036854775808"] {
            assert_eq!(parse_strict_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory(b"1k"), Some(1000));
        assert_eq!(parse_memory(b"1kb"), Some(1024));
        assert_eq!(parse_memory(b"1M"), Some(1_000_000));
        assert_eq!(parse_memory(b"1mB"), Some(1024 * 1024));
        assert_eq!(parse_memory(b"2g"), Some(2_000_000_000));
        assert_eq!(parse_memory(b"180gb"), Some(193_273_528_320));
        assert_eq!(parse_memory(b"7B"), Some(7));
        assert_eq!(parse_memory(b"007"), Some(7));
        assert_eq!(parse_memory(b""), Some(0));
        assert_eq!(parse_memory(b"kb"), Some(0));
        assert_eq!(parse_memory(b"99999999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_memory(b"99999999999999999999999k"), Some(u64::MAX.wrapping_mul(1000)));
        for bad in [&b"-1"[..], b"1.5gb", b" 1", b"+1", b"1t", b"1 kb"] {
            assert_eq!(parse_memory(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn c_integers() {
        assert_eq!(parse_c_integer(b" +3", 10), (3, true, false));
        assert_eq!(parse_c_integer(b"", 10), (0, true, false));
        assert_eq!(parse_c_integer(b"  ", 10), (0, false, false));
        assert_eq!(parse_c_integer(b"12x", 10), (12, false, false));
        assert_eq!(parse_c_integer(b"777", 8), (511, true, false));
        assert!(!parse_c_integer(b"9", 8).1);
        assert_eq!(parse_c_integer(b"99999999999999999999", 10), (i64::MAX, true, true));
    }

    #[test]
    fn doubles() {
        assert_eq!(parse_double(b"99.9"), Some(99.9));
        assert_eq!(parse_double(b"1e2"), Some(100.0));
        assert_eq!(parse_double(b"0x10"), Some(16.0));
        assert_eq!(parse_double(b"-0.5"), Some(-0.5));
        assert!(parse_double(b"inf").unwrap().is_infinite());
        for bad in [&b""[..], b" 1", b"1 ", b"abc", b"nan", b"1e", b"--1"] {
            assert_eq!(parse_double(bad), None, "{:?}", bad);
        }
        assert_eq!(format_percentile(99.99999), "99.99999");
        assert_eq!(format_percentile(50.0), "50");
        assert_eq!(format_percentile(99.9), "99.9");
    }

    #[test]
    fn notify_round_trip() {
        let r = |s: &str| notify_to_string(parse_notify(s.as_bytes()).unwrap());
        assert_eq!(r("KEA"), "AKE");
        assert_eq!(r("An"), "A");
        assert_eq!(r("Kx"), "xK");
        assert_eq!(r("Ag$lshzxeKEtmdn"), "AKEm");
        assert_eq!(r(""), "");
        assert_eq!(r("gm"), "gm");
        assert!(parse_notify(b"Z").is_none());
    }

    #[test]
    fn memory_rewrite_units() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(193_273_528_320), "180gb");
        assert_eq!(format_memory(64 * 1024 * 1024), "64mb");
        assert_eq!(format_memory(2048), "2kb");
        assert_eq!(format_memory(1000), "1000");
    }
}

//! EVAL scripts: the shebang line (`#!lua flags=...`) and the cache of compiled scripts keyed by
//! the SHA1 of their body.

use std::collections::HashMap;

use mlua::Function;

/// Flags a script declares in its shebang (or a function at registration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// The script has a shebang: without `no-writes` it counts as a writing script.
    pub declared: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

impl ScriptFlags {
    /// Sets the flag called `name`; false if there is no such flag.
    pub fn set(&mut self, name: &str) -> bool {
        match name {
            "no-writes" => self.no_writes = true,
            "allow-oom" => self.allow_oom = true,
            "allow-stale" => self.allow_stale = true,
            "no-cluster" => self.no_cluster = true,
            "allow-cross-slot-keys" => self.allow_cross_slot_keys = true,
            _ => return false,
        }
        true
    }

    /// The flag names in Redis's order, as FUNCTION LIST shows them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.no_writes {
            v.push("no-writes");
        }
        if self.allow_oom {
            v.push("allow-oom");
        }
        if self.allow_stale {
            v.push("allow-stale");
        }
        if self.no_cluster {
            v.push("no-cluster");
        }
        if self.allow_cross_slot_keys {
            v.push("allow-cross-slot-keys");
        }
        v
    }
}

/// Reads an EVAL script's shebang, if it has one. Returns the flags and the code to compile (the
/// shebang turned into a comment, so line numbers stay those of the script).
pub fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, Vec<u8>), String> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), body.to_vec()));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = ScriptFlags { declared: true, ..ScriptFlags::default() };
    for part in parts {
        match part.strip_prefix("flags=") {
            Some(list) => {
                // An empty list means no flags; an empty item between commas is an error.
                for f in list.split(',').filter(|_| !list.is_empty()) {
                    if !flags.set(f) {
                        return Err(format!("ERR Unexpected flag in script shebang: {f}"));
                    }
                }
            }
            None => return Err(format!("ERR Unknown lua shebang option: {part}")),
        }
    }
    let mut code = b"--".to_vec();
    code.extend_from_slice(&body[2..]);
    Ok((flags, code))
}

pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

pub(crate) struct CachedScript {
    pub func: Function,
    pub flags: ScriptFlags,
}

#[derive(Default)]
pub(crate) struct ScriptCache {
    pub scripts: HashMap<String, CachedScript>,
    /// Bytes of script bodies held, for INFO's used_memory_scripts_eval.
    pub body_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        let (f, code) = parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert!(f.declared && f.no_writes && f.allow_oom && !f.allow_stale);
        assert_eq!(code, b"--lua flags=no-writes,allow-oom\nreturn 1");
        let (f, _) = parse_shebang(b"return 1").unwrap();
        assert!(!f.declared);
        assert_eq!(parse_shebang(b"#!lua flags=bogus\n").unwrap_err(), "ERR Unexpected flag in script shebang: bogus");
        assert_eq!(parse_shebang(b"#!luax\n").unwrap_err(), "ERR Unexpected engine in script shebang: #!luax");
        assert_eq!(parse_shebang(b"#!lua name=x\n").unwrap_err(), "ERR Unknown lua shebang option: name=x");
        assert!(parse_shebang(b"#!lua flags=\nreturn 1").unwrap().0.declared);
        assert_eq!(parse_shebang(b"#!lua flags=no-writes,\n").unwrap_err(), "ERR Unexpected flag in script shebang: ");
        assert_eq!(parse_shebang(b"#!lua").unwrap_err(), "ERR Invalid script shebang");
        assert!(parse_shebang(b"#!lua\r\nreturn 1").is_ok());
    }

    #[test]
    fn sha1() {
        assert_eq!(sha1_hex(b"return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    }
}

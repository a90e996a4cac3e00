//! FUNCTION libraries: metadata, the registry of libraries and functions, FUNCTION LIST's reply
//! and the DUMP/RESTORE payload.

use std::collections::{BTreeMap, HashMap};

use mlua::Function;
use roost_resp::ReplyBuf;

use crate::cache::ScriptFlags;

pub(crate) struct FunctionInfo {
    pub name: String,
    pub func: Function,
    pub flags: ScriptFlags,
    pub description: Option<String>,
}

pub(crate) struct Library {
    pub code: Vec<u8>,
    pub functions: Vec<FunctionInfo>,
}

#[derive(Default)]
pub(crate) struct Registry {
    /// By library name (listed in name order).
    pub libraries: BTreeMap<String, Library>,
    /// Function name -> library name.
    pub owners: HashMap<String, String>,
}

/// Reads `#!lua name=<lib>`: the library's name and the code to compile (the metadata line made
/// a comment so line numbers stay those of the code).
pub(crate) fn parse_metadata(code: &[u8]) -> Result<(String, Vec<u8>), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]).into_owned();
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("#!");
    let engine = &engine[2..];
    if engine != "lua" {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix("name=") {
            Some(_) if name.is_some() => {
                return Err("ERR Invalid metadata value, name argument was given multiple times".into())
            }
            Some(n) => name = Some(n.to_string()),
            None => return Err(format!("ERR Invalid metadata value given: {part}")),
        }
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err(
            "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
                .into(),
        );
    }
    let mut body = b"--".to_vec();
    body.extend_from_slice(&code[2..]);
    Ok((name, body))
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Registry {
    pub(crate) fn function_count(&self) -> usize {
        self.owners.len()
    }

    /// Function names are matched without regard to case, as Redis does.
    pub(crate) fn find(&self, name: &str) -> Option<&FunctionInfo> {
        let key = name.to_ascii_lowercase();
        let lib = self.owners.get(&key)?;
        self.libraries.get(lib)?.functions.iter().find(|f| f.name.to_ascii_lowercase() == key)
    }

    /// The library that has a function called `name` (any case).
    pub(crate) fn owner(&self, name: &str) -> Option<&String> {
        self.owners.get(&name.to_ascii_lowercase())
    }

    pub(crate) fn remove(&mut self, lib: &str) -> Option<Library> {
        let removed = self.libraries.remove(lib)?;
        for f in &removed.functions {
            self.owners.remove(&f.name.to_ascii_lowercase());
        }
        Some(removed)
    }

    pub(crate) fn insert(&mut self, name: String, lib: Library) {
        for f in &lib.functions {
            self.owners.insert(f.name.to_ascii_lowercase(), name.clone());
        }
        self.libraries.insert(name, lib);
    }

    /// FUNCTION LIST's reply for the libraries whose name `matches`.
    pub(crate) fn list(&self, matches: &dyn Fn(&[u8]) -> bool, with_code: bool, reply: &mut ReplyBuf) {
        let libs: Vec<(&String, &Library)> = self.libraries.iter().filter(|(n, _)| matches(n.as_bytes())).collect();
        reply.array(libs.len());
        for (name, lib) in libs {
            reply.map(if with_code { 4 } else { 3 });
            reply.bulk(b"library_name");
            reply.bulk(name.as_bytes());
            reply.bulk(b"engine");
            reply.bulk(b"LUA");
            reply.bulk(b"functions");
            reply.array(lib.functions.len());
            for f in &lib.functions {
                reply.map(3);
                reply.bulk(b"name");
                reply.bulk(f.name.as_bytes());
                reply.bulk(b"description");
                match &f.description {
                    Some(d) => reply.bulk(d.as_bytes()),
                    None => reply.null(),
                }
                reply.bulk(b"flags");
                let names = f.flags.names();
                reply.set(names.len());
                for n in names {
                    reply.simple(n.as_bytes());
                }
            }
            if with_code {
                reply.bulk(b"library_code");
                reply.bulk(&lib.code);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata() {
        assert_eq!(parse_metadata(b"#!lua name=lib\nx").unwrap().0, "lib");
        assert_eq!(parse_metadata(b"return 1").unwrap_err(), "ERR Missing library metadata");
        assert_eq!(parse_metadata(b"#!luax name=x\n").unwrap_err(), "ERR Engine 'luax' not found");
        assert_eq!(parse_metadata(b"#!lua name=x").unwrap_err(), "ERR Invalid library metadata");
        assert_eq!(parse_metadata(b"#!lua name=x\r\n").unwrap().0, "x");
        assert_eq!(parse_metadata(b"#!lua\n").unwrap_err(), "ERR Library name was not given");
        assert_eq!(parse_metadata(b"#!lua name=x foo=bar\n").unwrap_err(), "ERR Invalid metadata value given: foo=bar");
        assert!(parse_metadata(b"#!lua name=a-b\n").unwrap_err().contains("Library names can only contain"));
    }
}

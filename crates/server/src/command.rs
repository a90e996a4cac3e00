//! The command table's types and lookup. The table itself (`commands::TABLE`) is the one list of
//! commands: dispatch, arity checks, COMMAND INFO/DOCS/LIST, key extraction and (later) ACL and
//! cluster checks all read it.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use roost_resp::Args;

use crate::ctx::Ctx;
use crate::error::CmdResult;

pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// Command flags, named as COMMAND INFO prints them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const MOVABLEKEYS: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    pub const SENTINEL: u32 = 1 << 17;
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;
    /// Runs on a cluster node for a slot being imported when the client sent ASKING.
    pub const ASKING: u32 = 1 << 19;
    /// Not a Redis flag and never printed: the command's changes are made later by commands of
    /// their own (MIGRATE's DEL), so running it dirties nothing, wakes no WATCH, counts no write.
    pub const DEFERRED_WRITE: u32 = 1 << 30;
    /// Not a Redis flag and never printed: the command runs with every other worker stopped
    /// between commands (scripts, and transactions that reach beyond their declared keys).
    pub const EXCLUSIVE: u32 = 1 << 31;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are in its arguments.
#[derive(Clone, Copy, Debug)]
pub enum Keys {
    None,
    /// Redis's (first, last, step); a negative `last` counts from the end.
    Range {
        first: i32,
        last: i32,
        step: i32,
    },
    /// Keys are found by parsing (e.g. a numkeys argument); `find` returns their positions.
    Custom(fn(&Args) -> Vec<usize>),
}

/// One command or subcommand.
pub struct CommandSpec {
    pub name: &'static str,
    /// Redis arity: the argument count including the name; negative = at least that many.
    pub arity: i32,
    pub flags: u32,
    pub keys: Keys,
    /// Key-spec flags for COMMAND INFO (e.g. "RW", "ACCESS").
    pub key_flags: &'static [&'static str],
    pub acl: &'static [&'static str],
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub run: Handler,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }

    /// (first, last, step) as COMMAND INFO shows them.
    pub fn key_range(&self) -> (i32, i32, i32) {
        match self.keys {
            Keys::Range { first, last, step } => (first, last, step),
            Keys::None | Keys::Custom(_) => (0, 0, 0),
        }
    }

    /// Positions of the key arguments in `args`.
    pub fn key_positions(&self, args: &Args) -> Vec<usize> {
        match self.keys {
            Keys::None => Vec::new(),
            Keys::Custom(f) => f(args),
            Keys::Range { first, last, step } => {
                let argc = args.len() as i32;
                let last = if last < 0 { argc + last } else { last.min(argc - 1) };
                (first..=last).step_by(step.max(1) as usize).filter(|&i| i < argc).map(|i| i as usize).collect()
            }
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// Lookup by lowercase name, built once at startup after `rename-command` is applied.
pub struct CommandTable {
    by_name: HashMap<Vec<u8>, (&'static CommandSpec, usize), RandomState>,
    /// Position of every command and subcommand in `all`: its per-command statistics slot.
    index: HashMap<&'static str, usize>,
    pub all: Vec<&'static CommandSpec>,
}

impl CommandTable {
    pub fn new(table: &'static [CommandSpec], renames: &[(String, String)]) -> Result<CommandTable, String> {
        let mut by_name: HashMap<Vec<u8>, (&'static CommandSpec, usize), RandomState> =
            table.iter().enumerate().map(|(i, c)| (c.name.as_bytes().to_vec(), (c, i))).collect();
        for (old, new) in renames {
            let Some(spec) = by_name.remove(old.to_ascii_lowercase().as_bytes()) else {
                return Err(format!("No such command in rename-command: {old}"));
            };
            if !new.is_empty() {
                by_name.insert(new.to_ascii_lowercase().into_bytes(), spec);
            }
        }
        let mut all: Vec<&'static CommandSpec> = table.iter().collect();
        for c in table {
            all.extend(c.subcommands.iter());
        }
        let index = all.iter().enumerate().map(|(i, c)| (c.name, i)).collect();
        Ok(CommandTable { by_name, index, all })
    }

    /// Finds a command by name, case-insensitively, without allocating for ordinary names; also
    /// returns its statistics slot.
    pub fn get(&self, name: &[u8]) -> Option<(&'static CommandSpec, usize)> {
        let mut buf = [0u8; 32];
        if name.len() <= buf.len() {
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            self.by_name.get(&lower[..]).copied()
        } else {
            self.by_name.get(&name.to_ascii_lowercase()).copied()
        }
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The statistics slot of a command or subcommand.
    pub fn stat_index(&self, spec: &'static CommandSpec) -> usize {
        self.index.get(spec.name).copied().unwrap_or(0)
    }

    /// Commands as clients see them after renames: (name as called, spec).
    pub fn visible(&self) -> impl Iterator<Item = (&[u8], &'static CommandSpec)> {
        self.by_name.iter().map(|(k, v)| (k.as_slice(), v.0))
    }
}

/// Finds a subcommand of `parent` by its name (case-insensitive).
pub fn find_subcommand(parent: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    parent.subcommands.iter().find(|s| {
        let sub = s.name.rsplit('|').next().unwrap_or(s.name);
        sub.as_bytes().eq_ignore_ascii_case(name)
    })
}

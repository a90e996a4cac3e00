//! Roost's configuration: every Redis 7.0 configuration directive, how
//! redis.conf files and redis-server command lines are read, the current
//! value of each directive, and the semantics of CONFIG GET, CONFIG SET and
//! CONFIG REWRITE, down to Redis 7.0.15's error texts.
//!
//! This crate owns the directive table, config parsing and rewriting. It
//! must never touch sockets, clients, the keyspace or any other server
//! state: where a changed value needs a side effect (rebinding, resizing,
//! chdir for `dir`), it reports which directives changed and the server
//! acts on them.

mod directives;
mod parse;
mod rewrite;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};

pub use parse::{repr, split_args};
pub use values::{notify, BufferLimit};

use directives::{Mutability, TABLE};
use values::{SetCtx, Value};

/// The Redis version Roost reports and whose config behaviour it follows.
pub const REDIS_VERSION: &str = "7.0.15";

/// Where a configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Args,
}

/// A fatal configuration error, worded and laid out as redis-server prints
/// it to stderr before exiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub message: String,
    /// True when Redis reports this one through its log (a config file that
    /// cannot be opened) rather than the FATAL CONFIG FILE ERROR banner, so
    /// the server should print it as a log line.
    pub is_log_message: bool,
}

impl LoadError {
    fn banner() -> String {
        format!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n")
    }

    pub(crate) fn at_line(line_no: usize, line: &[u8], msg: &str) -> LoadError {
        LoadError {
            message: format!(
                "{}Reading the configuration file, at line {line_no}\n>>> '{}'\n{msg}\n",
                Self::banner(),
                String::from_utf8_lossy(line)
            ),
            is_log_message: false,
        }
    }

    pub(crate) fn general(msg: &str) -> LoadError {
        LoadError { message: format!("{}{msg}\n", Self::banner()), is_log_message: false }
    }

    pub(crate) fn cant_open(path: &str, e: &std::io::Error) -> LoadError {
        LoadError {
            message: format!("Fatal error, can't open config file '{path}': {}", values::os_error_text(e)),
            is_log_message: true,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

/// Every directive's current value, plus the multi-line directives that
/// are not settable at run time (rename-command, user, loadmodule).
///
/// Cloning is cheap enough to keep a backup around: a server whose side
/// effect for a CONFIG SET fails can restore the clone, as Redis restores
/// the previous values.
#[derive(Clone, Debug)]
pub struct Config {
    values: Vec<Value>,
    defaults: Vec<Value>,
    config_file: Option<PathBuf>,
    renames: Vec<(String, String)>,
    users: Vec<Vec<Vec<u8>>>,
    modules: Vec<Vec<Vec<u8>>>,
    module_configs: Vec<(String, Vec<u8>)>,
}

impl Default for Config {
    /// Redis 7.0's defaults, except: `save ""` (no snapshots unless asked),
    /// bind "127.0.0.1 -::1" as in the shipped redis.conf, and Roost's own
    /// `threads 0` (one per core). `dir` starts at the process's directory.
    fn default() -> Config {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Config::with_cwd(&cwd)
    }
}

fn default_values(cwd: &Path) -> Vec<Value> {
    let ctx = SetCtx { cwd, cluster_enabled: false, unixsocket_set: false };
    TABLE
        .iter()
        .map(|d| {
            let args: Vec<Vec<u8>> = if d.multi_arg() {
                split_args(d.default.as_bytes()).unwrap_or_default()
            } else {
                vec![d.default.as_bytes().to_vec()]
            };
            match d.kind {
                directives::Kind::Dir => Value::Dir(cwd.to_path_buf()),
                directives::Kind::ReplicaOf => Value::ReplicaOf(None),
                _ => values::parse(d, &args, &ctx, false, None)
                    .unwrap_or_else(|e| panic!("bad built-in default for {}: {e}", d.name)),
            }
        })
        .collect()
}

/// Splits a CONFIG SET value for a multi-word directive: on single spaces,
/// so doubled spaces give empty words, and "" gives no words at all.
fn split_spaces(v: &[u8]) -> Vec<Vec<u8>> {
    if v.is_empty() {
        Vec::new()
    } else {
        v.split(|&c| c == b' ').map(<[u8]>::to_vec).collect()
    }
}

impl Config {
    fn with_cwd(cwd: &Path) -> Config {
        let defaults = default_values(cwd);
        Config {
            values: defaults.clone(),
            defaults,
            config_file: None,
            renames: Vec::new(),
            users: Vec::new(),
            modules: Vec::new(),
            module_configs: Vec::new(),
        }
    }

    /// Loads configuration from the arguments that follow `roost server`,
    /// exactly as redis-server reads its argv: an optional config file
    /// first, then `--name value...` options appended to its text.
    pub fn from_args(args: &[String]) -> Result<Config, LoadError> {
        Config::load_args(args, None)
    }

    /// Like [`Config::from_args`], also checking `rename-command` against
    /// the server's command table (`is_command` gets lowercase names), so
    /// that unknown or clashing names fail the way Redis fails.
    pub fn from_args_checked(args: &[String], is_command: &dyn Fn(&str) -> bool) -> Result<Config, LoadError> {
        Config::load_args(args, Some(is_command))
    }

    fn load_args(args: &[String], is_command: Option<&dyn Fn(&str) -> bool>) -> Result<Config, LoadError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let mut cfg = Config::with_cwd(&cwd);
        if args.is_empty() {
            return Ok(cfg);
        }
        let (file, options) = parse::args_to_options(args);
        let mut text = Vec::new();
        if let Some(f) = file {
            let abs = parse::absolute_path(&cwd, f);
            text = std::fs::read(&abs).map_err(|e| LoadError::cant_open(&abs.to_string_lossy(), &e))?;
            cfg.config_file = Some(abs);
        }
        text.push(b'\n');
        text.extend_from_slice(options.as_bytes());
        parse::Loader::new(&mut cfg, cwd, is_command).load_text(&text)?;
        Ok(cfg)
    }

    /// Loads config text with no file behind it (CONFIG REWRITE will
    /// refuse). `base_dir` plays the process's working directory: relative
    /// `include`s, `dir` and `logfile` resolve against it.
    pub fn from_text(text: &str, base_dir: &Path) -> Result<Config, LoadError> {
        Config::from_text_checked_impl(text.as_bytes(), base_dir, None)
    }

    /// [`Config::from_text`] with `rename-command` checked against the
    /// command table.
    pub fn from_text_checked(
        text: &str,
        base_dir: &Path,
        is_command: &dyn Fn(&str) -> bool,
    ) -> Result<Config, LoadError> {
        Config::from_text_checked_impl(text.as_bytes(), base_dir, Some(is_command))
    }

    fn from_text_checked_impl(
        text: &[u8],
        base_dir: &Path,
        is_command: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<Config, LoadError> {
        let base = std::fs::canonicalize(base_dir).unwrap_or_else(|_| base_dir.to_path_buf());
        let mut cfg = Config::with_cwd(&base);
        parse::Loader::new(&mut cfg, base, is_command).load_text(text)?;
        Ok(cfg)
    }

    pub fn source(&self) -> Source {
        match &self.config_file {
            Some(p) => Source::File(p.clone()),
            None => Source::Args,
        }
    }

    /// CONFIG GET. Patterns without `*`, `?` or `[` name a directive exactly
    /// (hidden ones included) and are echoed back as typed; others are
    /// matched by `matcher(pattern, name)` against every visible name and
    /// alias, with the pattern lowercased so a case-sensitive glob gives
    /// Redis's case-insensitive result. Each name appears once.
    ///
    /// Redis answers in hash-table order, which changes from one process to
    /// the next; Roost answers in pattern order, then table order.
    pub fn get(&self, patterns: &[&[u8]], matcher: &dyn Fn(&[u8], &[u8]) -> bool) -> Vec<(String, String)> {
        self.get_raw(patterns, matcher)
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect()
    }

    /// [`Config::get`] with values as raw bytes (strings set through
    /// quoted `\xHH` escapes need not be UTF-8).
    pub fn get_raw(&self, patterns: &[&[u8]], matcher: &dyn Fn(&[u8], &[u8]) -> bool) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                let typed = String::from_utf8_lossy(pat).into_owned();
                if seen.contains(&typed.to_ascii_lowercase()) {
                    continue;
                }
                if let Some((i, _)) = directives::lookup(pat) {
                    seen.insert(typed.to_ascii_lowercase());
                    out.push((typed, values::render(&TABLE[i], &self.values[i])));
                }
                continue;
            }
            let lower = pat.to_ascii_lowercase();
            for (i, d) in TABLE.iter().enumerate() {
                if d.hidden {
                    continue;
                }
                for name in std::iter::once(d.name).chain(d.alias) {
                    if !seen.contains(name) && matcher(&lower, name.as_bytes()) {
                        seen.insert(name.to_string());
                        out.push((name.to_string(), values::render(d, &self.values[i])));
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET, as a client that is not local would run it (protected
    /// directives then need `enable-protected-configs yes`).
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        self.set_for_client(pairs, false)
    }

    /// CONFIG SET name value [name value ...]: all or nothing. Errors carry
    /// Redis's text including the "ERR " prefix. On success returns the
    /// primary names of the directives whose value actually changed, for
    /// the server to apply. `client_is_local` (unix socket or loopback)
    /// matters when enable-protected-configs is `local`.
    pub fn set_for_client(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        client_is_local: bool,
    ) -> Result<Vec<&'static str>, String> {
        let mut targets: Vec<(usize, bool)> = Vec::with_capacity(pairs.len());
        let mut first_error: Option<String> = None;
        let protected_allowed = match self.value("enable-protected-configs") {
            Value::Enum(v) => *v == directives::PROTECTED_YES || (*v == directives::PROTECTED_LOCAL && client_is_local),
            _ => false,
        };
        for (name, _) in pairs {
            let typed = String::from_utf8_lossy(name);
            let Some((i, alias)) = directives::lookup(name) else {
                first_error.get_or_insert_with(|| {
                    format!("ERR Unknown option or number of arguments for CONFIG SET - '{typed}'")
                });
                continue;
            };
            if first_error.is_some() {
                continue;
            }
            let failed = |why: &str| format!("ERR CONFIG SET failed (possibly related to argument '{typed}') - {why}");
            match TABLE[i].mutability {
                Mutability::Immutable => {
                    first_error = Some(failed("can't set immutable config"));
                    continue;
                }
                Mutability::Protected if !protected_allowed => {
                    first_error = Some(failed("can't set protected config"));
                    continue;
                }
                _ => {}
            }
            // A name and its alias count as different parameters here, as
            // they do in Redis.
            if targets.contains(&(i, alias)) {
                first_error = Some(failed("duplicate parameter"));
                continue;
            }
            targets.push((i, alias));
        }
        if let Some(e) = first_error {
            return Err(e);
        }

        let backup = self.values.clone();
        for ((i, alias), (_, value)) in targets.iter().zip(pairs) {
            let d = &TABLE[*i];
            let args = if d.multi_arg() { split_spaces(value) } else { vec![value.to_vec()] };
            let cwd = self.dir();
            let ctx = SetCtx {
                cwd: &cwd,
                cluster_enabled: self.bool_value("cluster-enabled"),
                unixsocket_set: self.str_value("unixsocket").is_some(),
            };
            match values::parse(d, &args, &ctx, true, Some(&self.values[*i])) {
                // Applying a new backlog size raises it to Redis's 16kb
                // minimum; a size read at startup is kept as written.
                Ok(Value::Num(n)) if d.name == "repl-backlog-size" => self.store(*i, Value::Num(n.max(16 * 1024))),
                Ok(v) => self.store(*i, v),
                Err(e) => {
                    self.values = backup;
                    let shown = if *alias { d.alias.unwrap_or(d.name) } else { d.name };
                    return Err(format!("ERR CONFIG SET failed (possibly related to argument '{shown}') - {e}"));
                }
            }
        }
        let mut changed = Vec::new();
        for (i, _) in &targets {
            if self.values[*i] != backup[*i] && !changed.contains(&TABLE[*i].name) {
                changed.push(TABLE[*i].name);
            }
        }
        Ok(changed)
    }

    /// CONFIG REWRITE: rewrites the file the configuration was loaded from,
    /// keeping its comments and layout, as Redis does.
    pub fn rewrite(&self) -> Result<(), String> {
        rewrite::rewrite(self)
    }

    /// Directives set to something other than their default that Roost
    /// does not honour yet, with whether each concerns persistence.
    pub fn unimplemented_in_use(&self) -> Vec<(&'static str, bool)> {
        let mut out: Vec<(&'static str, bool)> = TABLE
            .iter()
            .zip(self.values.iter().zip(&self.defaults))
            .filter(|(d, (v, def))| !d.implemented && v != def)
            .map(|(d, _)| (d.name, d.persistence))
            .collect();
        if !self.modules.is_empty() || !self.module_configs.is_empty() {
            out.push(("loadmodule", false));
        }
        if !self.users.is_empty() {
            out.push(("user", false));
        }
        out
    }

    /// Current value of one directive (name or alias, any case) as CONFIG
    /// GET prints it.
    pub fn get_one(&self, name: &str) -> Option<String> {
        self.get_one_raw(name).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    pub fn get_one_raw(&self, name: &str) -> Option<Vec<u8>> {
        directives::lookup(name.as_bytes()).map(|(i, _)| values::render(&TABLE[i], &self.values[i]))
    }

    /// Every directive name (primary names, table order), for CONFIG-style
    /// introspection and tests.
    pub fn directive_names() -> Vec<&'static str> {
        TABLE.iter().map(|d| d.name).collect()
    }

    /// Directives whose CONFIG SET value must be hidden from SLOWLOG,
    /// MONITOR and the like.
    pub fn is_sensitive(name: &[u8]) -> bool {
        directives::lookup(name)
            .is_some_and(|(i, _)| matches!(TABLE[i].name, "requirepass" | "masterauth" | "masteruser"))
    }

    /// Whether a directive (name or alias) is one Roost honours.
    pub fn is_implemented(name: &str) -> Option<bool> {
        directives::lookup(name.as_bytes()).map(|(i, _)| TABLE[i].implemented)
    }

    // ---- typed accessors -------------------------------------------------

    pub fn port(&self) -> u16 {
        self.num_value("port") as u16
    }

    pub fn bind(&self) -> Vec<String> {
        match self.value("bind") {
            Value::Bind(a) => a.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect(),
            _ => Vec::new(),
        }
    }

    /// Worker threads; 0 means one per core.
    pub fn threads(&self) -> usize {
        self.num_value("threads") as usize
    }

    pub fn databases(&self) -> usize {
        self.num_value("databases") as usize
    }

    pub fn requirepass(&self) -> Option<Vec<u8>> {
        self.str_value("requirepass")
    }

    pub fn maxclients(&self) -> u64 {
        self.num_value("maxclients") as u64
    }

    pub fn timeout_secs(&self) -> u64 {
        self.num_value("timeout") as u64
    }

    pub fn tcp_keepalive_secs(&self) -> u64 {
        self.num_value("tcp-keepalive") as u64
    }

    pub fn tcp_backlog(&self) -> u32 {
        self.num_value("tcp-backlog") as u32
    }

    /// Already clamped to 1..=500 as Redis does.
    pub fn hz(&self) -> u32 {
        self.num_value("hz") as u32
    }

    pub fn dynamic_hz(&self) -> bool {
        self.bool_value("dynamic-hz")
    }

    pub fn proto_max_bulk_len(&self) -> u64 {
        self.num_value("proto-max-bulk-len") as u64
    }

    pub fn client_query_buffer_limit(&self) -> u64 {
        self.num_value("client-query-buffer-limit") as u64
    }

    pub fn maxmemory(&self) -> u64 {
        self.num_value("maxmemory") as u64
    }

    pub fn protected_mode(&self) -> bool {
        self.bool_value("protected-mode")
    }

    pub fn daemonize(&self) -> bool {
        self.bool_value("daemonize")
    }

    /// One of "debug", "verbose", "notice", "warning".
    pub fn loglevel(&self) -> String {
        self.get_one("loglevel").unwrap_or_default()
    }

    /// Empty means standard output. A relative name is relative to `dir`.
    pub fn logfile(&self) -> String {
        self.get_one("logfile").unwrap_or_default()
    }

    /// Keyspace notification classes as [`notify`] bits.
    pub fn notify_keyspace_events(&self) -> u32 {
        match self.value("notify-keyspace-events") {
            Value::Notify(f) => *f,
            _ => 0,
        }
    }

    /// Output buffer limits for the normal, replica and pubsub classes.
    pub fn client_output_buffer_limits(&self) -> [BufferLimit; 3] {
        match self.value("client-output-buffer-limit") {
            Value::Obuf(l) => *l,
            _ => [BufferLimit { hard_bytes: 0, soft_bytes: 0, soft_seconds: 0 }; 3],
        }
    }

    /// Snapshot points as (seconds, changes).
    pub fn save_points(&self) -> Vec<(i64, i32)> {
        match self.value("save") {
            Value::Save(s) => s.clone(),
            _ => Vec::new(),
        }
    }

    /// The working directory Redis would be in: where `dir` points. The
    /// server should chdir there at startup and whenever `dir` changes.
    pub fn dir(&self) -> PathBuf {
        match self.value("dir") {
            Value::Dir(p) => p.clone(),
            _ => PathBuf::from("."),
        }
    }

    /// Absolute path of the config file, if one was given.
    pub fn config_file(&self) -> Option<PathBuf> {
        self.config_file.clone()
    }

    /// rename-command directives in file order: (old, new); an empty new
    /// name disables the command.
    pub fn renamed_commands(&self) -> Vec<(String, String)> {
        self.renames.clone()
    }

    /// `user` lines, each as its arguments after the directive name.
    pub fn acl_user_lines(&self) -> Vec<Vec<Vec<u8>>> {
        self.users.clone()
    }

    /// `loadmodule` lines (path, then arguments). Roost loads no modules.
    pub fn loadmodule_lines(&self) -> Vec<Vec<Vec<u8>>> {
        self.modules.clone()
    }

    /// `module.name value` lines, which Redis hands to modules.
    pub fn module_configs(&self) -> Vec<(String, Vec<u8>)> {
        self.module_configs.clone()
    }

    // ---- internals -------------------------------------------------------

    pub(crate) fn value(&self, name: &str) -> &Value {
        &self.values[directives::index_of(name)]
    }

    pub(crate) fn num_value(&self, name: &str) -> i64 {
        match self.value(name) {
            Value::Num(n) => *n,
            _ => 0,
        }
    }

    pub(crate) fn bool_value(&self, name: &str) -> bool {
        matches!(self.value(name), Value::Bool(true))
    }

    pub(crate) fn str_value(&self, name: &str) -> Option<Vec<u8>> {
        match self.value(name) {
            Value::Str(s) => s.clone(),
            _ => None,
        }
    }

    /// Stores a parsed value, applying the adjustments Redis makes on
    /// every set.
    pub(crate) fn store(&mut self, idx: usize, value: Value) {
        let value = match (TABLE[idx].name, value) {
            // hz is a hint: out-of-range values are accepted and clamped.
            ("hz", Value::Num(n)) => Value::Num(n.clamp(1, 500)),
            (_, v) => v,
        };
        self.values[idx] = value;
    }

    pub(crate) fn rewrite_inputs(&self) -> (&[Value], &[Value], Option<&Path>) {
        (&self.values, &self.defaults, self.config_file.as_deref())
    }
}

//! Reading configuration: Redis's argument splitting and quoting, the
//! config-file loader (includes, repeated directives, fatal errors) and the
//! translation of a redis-server command line into config text.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::directives::{self, TABLE};
use crate::values::{self, SetCtx, Value};
use crate::{Config, LoadError};

/// Redis's argument splitting (quotes, escapes), shared with inline requests.
pub use roost_resp::split_args;

/// Quotes bytes the way Redis writes strings into config files and
/// command-line options: always double-quoted, with C escapes and `\xHH`
/// for anything unprintable.
pub fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// Splits config text into trimmed lines the way the loader and CONFIG
/// REWRITE see them (a trailing newline yields a final empty line).
pub(crate) fn config_lines(text: &[u8]) -> Vec<&[u8]> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(|&c| c == b'\n').map(trim_line).collect()
}

fn trim_line(mut l: &[u8]) -> &[u8] {
    let t = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    while l.first().is_some_and(t) {
        l = &l[1..];
    }
    while l.last().is_some_and(t) {
        l = &l[..l.len() - 1];
    }
    l
}

/// Builds the config text redis-server would: the options after the file
/// name become "name arg arg" lines appended after the file's contents.
/// Returns (config file as given, options text).
pub(crate) fn args_to_options(args: &[String]) -> (Option<&str>, String) {
    let mut j = 0;
    let mut file = None;
    if let Some(first) = args.first() {
        if !first.starts_with('-') {
            file = Some(first.as_str());
            j = 1;
        }
    }
    let mut options = String::new();
    // False while an option name still waits for its first argument, so a
    // following "--word" is taken as that argument.
    let mut handled_last = true;
    while j < args.len() {
        let a = &args[j];
        if handled_last && a.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&a[2..]);
            options.push(' ');
            let words = split_args(a.as_bytes()).map_or(0, |v| v.len());
            if words == 1 {
                handled_last = false;
                let is_save = a.eq_ignore_ascii_case("--save");
                let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
                if is_save && next_is_option {
                    // `--save --other v` means an empty save list.
                    options.push_str("\"\"");
                    handled_last = true;
                } else if is_save && j == args.len() - 1 {
                    options.push_str("\"\"");
                }
            } else {
                handled_last = true;
            }
        } else {
            options.push_str(&repr(a.as_bytes()));
            options.push(' ');
            handled_last = true;
        }
        j += 1;
    }
    (file, options)
}

/// Redis's getAbsolutePath: relative names are joined to the current
/// directory, with leading "./" and "../" folded in.
pub(crate) fn absolute_path(cwd: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let mut base = cwd.to_path_buf();
    let mut rest = name;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            base.pop();
            rest = r;
        } else {
            break;
        }
    }
    base.join(rest)
}

/// Deep enough for any sane layout; Redis itself would overflow its stack.
const MAX_INCLUDE_DEPTH: usize = 64;

/// State of one configuration load (the main text and everything it
/// includes).
pub(crate) struct Loader<'a> {
    pub cfg: &'a mut Config,
    /// The directory relative paths resolve against; `dir` moves it, as
    /// chdir() does in Redis.
    pub cwd: PathBuf,
    /// Redis only lets `save` lines accumulate while it believes it is
    /// reading a file, and it stops believing so once any include returns.
    reading_file: bool,
    save_loaded: bool,
    depth: usize,
    is_command: Option<&'a dyn Fn(&str) -> bool>,
    removed: HashSet<String>,
    added: HashSet<String>,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(cfg: &'a mut Config, cwd: PathBuf, is_command: Option<&'a dyn Fn(&str) -> bool>) -> Loader<'a> {
        Loader {
            cfg,
            cwd,
            reading_file: true,
            save_loaded: false,
            depth: 0,
            is_command,
            removed: HashSet::new(),
            added: HashSet::new(),
        }
    }

    /// Reads a config file (or, with wildcards, every file matching it) the
    /// way Redis does before handing the text to the line parser.
    pub(crate) fn read_file(&self, name: &str) -> Result<Vec<u8>, LoadError> {
        let path = self.cwd.join(name);
        if name.contains(['*', '?', '[']) {
            let mut text = Vec::new();
            for p in glob(&path) {
                let bytes = std::fs::read(&p).map_err(|e| LoadError::cant_open(&p.to_string_lossy(), &e))?;
                text.extend_from_slice(&bytes);
            }
            Ok(text)
        } else {
            std::fs::read(&path).map_err(|e| LoadError::cant_open(name, &e))
        }
    }

    /// Processes config text line by line; any error is fatal, as in Redis.
    pub(crate) fn load_text(&mut self, text: &[u8]) -> Result<(), LoadError> {
        self.reading_file = true;
        let lines = config_lines(text);
        for (i, line) in lines.iter().enumerate() {
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            match self.load_line(line) {
                Ok(()) => {}
                Err(LineError::Msg(msg)) => return Err(LoadError::at_line(i + 1, line, &msg)),
                Err(LineError::Fatal(e)) => return Err(e),
            }
        }
        self.finish()?;
        self.reading_file = false;
        Ok(())
    }

    /// Checks Redis makes once a piece of config text has been read.
    fn finish(&mut self) -> Result<(), LoadError> {
        if let Some(logfile) = self.cfg.str_value("logfile").filter(|l| !l.is_empty()) {
            use std::os::unix::ffi::OsStrExt;
            let path = self.cwd.join(std::ffi::OsStr::from_bytes(&logfile));
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|e| LoadError::general(&format!("Can't open the log file: {}", values::os_error_text(&e))))?;
        }
        let replica = !matches!(self.cfg.value("replicaof"), Value::ReplicaOf(None));
        if self.cfg.bool_value("cluster-enabled") && replica {
            return Err(LoadError::general("replicaof directive not allowed in cluster mode"));
        }
        Ok(())
    }

    fn load_line(&mut self, line: &[u8]) -> Result<(), LineError> {
        let argv = split_args(line).ok_or("Unbalanced quotes in configuration line")?;
        if argv.is_empty() {
            return Ok(());
        }
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        if let Some((idx, _)) = directives::lookup(name.as_bytes()) {
            let d = &TABLE[idx];
            let args: Vec<Vec<u8>> = if !d.multi_arg() {
                if argv.len() != 2 {
                    return Err("wrong number of arguments".into());
                }
                argv[1..].to_vec()
            } else if argv.len() == 2 && !argv[1].is_empty() {
                // `--save "900 1"` arrives as one quoted argument.
                split_args(&argv[1]).unwrap_or_default()
            } else {
                argv[1..].to_vec()
            };
            return self.set(idx, &args).map_err(LineError::Msg);
        }
        let argc = argv.len();
        if directives::DEPRECATED.contains(&name.as_str()) && argc == 2 {
            return Ok(());
        }
        match name.as_str() {
            "include" if argc == 2 => self.include(&argv[1]),
            "rename-command" if argc == 3 => self.rename(&argv[1], &argv[2]).map_err(LineError::Msg),
            "user" if argc >= 2 => {
                self.cfg.users.push(argv[1..].to_vec());
                Ok(())
            }
            "loadmodule" if argc >= 2 => {
                self.cfg.modules.push(argv[1..].to_vec());
                Ok(())
            }
            _ if name.contains('.') => {
                if argc < 2 {
                    return Err("Module config specified without value".into());
                }
                // Roost loads no modules; kept so the server can refuse them.
                let value = argv[1..].join(&b' ');
                self.cfg.module_configs.push((name, value));
                Ok(())
            }
            "sentinel" => {
                // A bare `sentinel` selects sentinel mode in Redis's main();
                // anything more needs that mode, which Roost does not have.
                if argc != 1 {
                    return Err("sentinel directive while not in sentinel mode".into());
                }
                Ok(())
            }
            _ => Err("Bad directive or wrong number of arguments".into()),
        }
    }

    fn set(&mut self, idx: usize, args: &[Vec<u8>]) -> Result<(), String> {
        let d = &TABLE[idx];
        let ctx = SetCtx {
            cwd: &self.cwd,
            cluster_enabled: self.cfg.bool_value("cluster-enabled"),
            unixsocket_set: self.cfg.str_value("unixsocket").is_some(),
        };
        let value = values::parse(d, args, &ctx, true, Some(&self.cfg.values[idx]))?;
        let value = match (value, &self.cfg.values[idx]) {
            // While reading a file the first `save` replaces the default and
            // later ones add to it; a lone `save ""` always empties the list.
            (Value::Save(new), Value::Save(old)) if self.reading_file => {
                let empty_arg = args.len() == 1 && args[0].is_empty();
                let mut all = if self.save_loaded && !empty_arg { old.clone() } else { Vec::new() };
                self.save_loaded = true;
                all.extend(new);
                Value::Save(all)
            }
            (v, _) => v,
        };
        if let Value::Dir(p) = &value {
            self.cwd = p.clone();
        }
        self.cfg.store(idx, value);
        Ok(())
    }

    /// An error inside an included file is reported against that file's
    /// own line numbers, so it passes through unchanged.
    fn include(&mut self, name: &[u8]) -> Result<(), LineError> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err("include nesting too deep".into());
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let text = self.read_file(&name).map_err(LineError::Fatal)?;
        self.depth += 1;
        let r = self.load_text(&text);
        self.depth -= 1;
        r.map_err(LineError::Fatal)
    }

    fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), String> {
        let from = String::from_utf8_lossy(from).into_owned();
        let to = String::from_utf8_lossy(to).into_owned();
        if let Some(is_command) = self.is_command {
            let from_l = from.to_ascii_lowercase();
            let to_l = to.to_ascii_lowercase();
            let exists = |l: &Loader, n: &str| l.added.contains(n) || (!l.removed.contains(n) && is_command(n));
            if !exists(self, &from_l) {
                return Err("No such command in rename-command".into());
            }
            self.added.remove(&from_l);
            self.removed.insert(from_l);
            if !to_l.is_empty() {
                if exists(self, &to_l) {
                    return Err("Target command name already exists".into());
                }
                self.added.insert(to_l);
            }
        }
        self.cfg.renames.push((from, to));
        Ok(())
    }
}

enum LineError {
    /// Reported with the offending line.
    Msg(String),
    /// Already complete (from an included file).
    Fatal(LoadError),
}

impl From<&str> for LineError {
    fn from(s: &str) -> LineError {
        LineError::Msg(s.to_string())
    }
}

/// Paths matching a shell wildcard pattern, sorted, existing ones only
/// (glob(3) without flags: `*` and `?` skip names starting with a dot).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut found: Vec<PathBuf> = vec![if pattern.is_absolute() { PathBuf::from("/") } else { PathBuf::new() }];
    for comp in pattern.components() {
        let part = comp.as_os_str().as_bytes();
        if part == b"/" {
            continue;
        }
        let wild = part.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        let mut next = Vec::new();
        for base in &found {
            if !wild {
                next.push(base.join(comp.as_os_str()));
                continue;
            }
            let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base.as_path() };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<Vec<u8>> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().as_bytes().to_vec())
                .filter(|n| n.first() != Some(&b'.') || part.first() == Some(&b'.'))
                .filter(|n| wildcard_match(part, n))
                .collect();
            names.sort();
            for n in names {
                next.push(base.join(std::ffi::OsStr::from_bytes(&n)));
            }
        }
        found = next;
    }
    found.retain(|p| p.exists());
    found
}

/// fnmatch-style matching of one path component.
fn wildcard_match(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|k| wildcard_match(&p[1..], &s[k..])),
        Some(b'?') => !s.is_empty() && wildcard_match(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(&c) = s.first() else { return false };
            let mut i = 1;
            let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
            if negate {
                i += 1;
            }
            let mut matched = false;
            let mut first = true;
            while i < p.len() && (first || p[i] != b']') {
                first = false;
                if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
                    if p[i] <= c && c <= p[i + 2] {
                        matched = true;
                    }
                    i += 3;
                } else {
                    if p[i] == c {
                        matched = true;
                    }
                    i += 1;
                }
            }
            if i >= p.len() {
                // No closing bracket: the '[' is an ordinary character.
                return c == b'[' && wildcard_match(&p[1..], &s[1..]);
            }
            matched != negate && wildcard_match(&p[i + 1..], &s[1..])
        }
        Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && wildcard_match(&p[2..], &s[1..]),
        Some(&c) => s.first() == Some(&c) && wildcard_match(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| v.into_iter().map(|a| String::from_utf8_lossy(&a).into()).collect())
    }

    #[test]
    fn splitting() {
        assert_eq!(split("port 6379").unwrap(), ["port", "6379"]);
        assert_eq!(split("  a   b\t c ").unwrap(), ["a", "b", "c"]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert_eq!(split("   ").unwrap(), Vec::<String>::new());
        assert_eq!(split(r#"a "b c" d"#).unwrap(), ["a", "b c", "d"]);
        assert_eq!(split(r#""\n\r\t\b\a\\\"\x41\x4a\q""#).unwrap(), ["\n\r\t\u{8}\u{7}\\\"AJq"]);
        assert_eq!(split(r#""\x4""#).unwrap(), ["x4"]);
        assert_eq!(split(r"'it\'s' 'a\nb'").unwrap(), ["it's", "a\\nb"]);
        assert_eq!(split(r#"x "" ''"#).unwrap(), ["x", "", ""]);
        // A quote opening inside a word joins the quoted part to it.
        assert_eq!(split(r#"ab"c d" e"#).unwrap(), ["abc d", "e"]);
        assert_eq!(split("a\x0bb").unwrap(), ["a\x0bb"]);
        assert_eq!(split("\x0b a").unwrap(), ["a"]);
        assert!(split(r#""abc"#).is_none());
        assert!(split(r#""12"3"#).is_none());
        assert!(split("'1'2").is_none());
        assert!(split("'abc").is_none());
        assert!(split(r#""abc\"#).is_none());
    }

    #[test]
    fn quoting() {
        assert_eq!(repr(b"abc"), "\"abc\"");
        assert_eq!(repr(b"a b\"c\\"), r#""a b\"c\\""#);
        assert_eq!(repr(b"\n\r\t\x07\x08\x01\xff"), r#""\n\r\t\a\b\x01\xff""#);
        for s in [&b"x y"[..], b"\x00\x7f\"'", b""] {
            assert_eq!(split_args(repr(s).as_bytes()).unwrap(), vec![s.to_vec()]);
        }
    }

    #[test]
    fn options_from_argv() {
        let opts = |a: &[&str]| {
            let v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            let (f, o) = args_to_options(&v);
            (f.map(str::to_string), o)
        };
        assert_eq!(opts(&["--port", "7000"]), (None, "port \"7000\" ".into()));
        assert_eq!(
            opts(&["r.conf", "--maxmemory", "1", "2"]),
            (Some("r.conf".into()), "maxmemory \"1\" \"2\" ".into())
        );
        assert_eq!(opts(&["--save"]).1, "save \"\"");
        assert_eq!(opts(&["--save", "--appendonly", "yes"]).1, "save \"\"\nappendonly \"yes\" ");
        assert_eq!(opts(&["--port", "--maxmemory", "5"]).1, "port \"--maxmemory\" \"5\" ");
        assert_eq!(opts(&["--port 7393 foo"]).1, "port 7393 foo ");
        assert_eq!(opts(&["--port", "1", "--loglevel"]).1, "port \"1\" \nloglevel ");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*.conf", b"a.conf"));
        assert!(!wildcard_match(b"*.conf", b"a.cnf"));
        assert!(wildcard_match(b"a?[0-9]", b"ab7"));
        assert!(!wildcard_match(b"a[!0-9]", b"a7"));
        assert!(wildcard_match(b"[]x]", b"]"));
    }

    #[test]
    fn absolute_paths() {
        let cwd = Path::new("/a/b");
        assert_eq!(absolute_path(cwd, "x.conf"), Path::new("/a/b/x.conf"));
        assert_eq!(absolute_path(cwd, "./x.conf"), Path::new("/a/b/x.conf"));
        assert_eq!(absolute_path(cwd, "../x.conf"), Path::new("/a/x.conf"));
        assert_eq!(absolute_path(cwd, "/x.conf"), Path::new("/x.conf"));
    }
}

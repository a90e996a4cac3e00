//! Reading the AOF: the manifest, command files (RESP arrays of bulk strings, `#` annotation
//! lines), replay at startup through the command table, and `roost check-aof`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use roost_resp::{OwnedArgs, ReplyBuf};

use super::Files;
use crate::client::{ClientHandle, ClientState};
use crate::command::find_subcommand;
use crate::ctx::Ctx;
use crate::log::{log, NOTICE, WARNING};
use crate::mapped::MappedFile;
use crate::server::{Rng, Server};

/// Reads `<dir>/<filename>.manifest`: the base (type b) and incremental files (type i) in the
/// order listed; history files (type h) are not part of the data.
pub fn read_manifest(files: &Files) -> Result<Files, String> {
    let path = files.manifest_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("Can't read {}: {e}", path.display()))?;
    parse_manifest(&text, files).map_err(|e| format!("Invalid AOF manifest {}: {e}", path.display()))
}

fn parse_manifest(text: &str, files: &Files) -> Result<Files, String> {
    let mut out = Files { dir: files.dir.clone(), filename: files.filename.clone(), base: None, incrs: Vec::new() };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_words(line).ok_or_else(|| format!("line {}: unbalanced quotes", n + 1))?;
        let (mut name, mut seq, mut kind) = (None, None, None);
        for pair in words.chunks(2) {
            match pair {
                [k, v] if k == "file" => name = Some(v.clone()),
                [k, v] if k == "seq" => seq = v.parse::<u64>().ok(),
                [k, v] if k == "type" => kind = Some(v.clone()),
                [_, _] => {}
                _ => return Err(format!("line {}: a key without a value", n + 1)),
            }
        }
        let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
            return Err(format!("line {}: needs file, seq and type", n + 1));
        };
        if name.contains('/') {
            return Err(format!("line {}: a file name may not contain '/'", n + 1));
        }
        match kind.as_str() {
            "b" if out.base.is_some() => return Err("more than one base file".into()),
            "b" => out.base = Some((name, seq)),
            "i" => out.incrs.push((name, seq)),
            "h" => {}
            other => return Err(format!("line {}: unknown file type '{other}'", n + 1)),
        }
    }
    if out.base.is_none() && out.incrs.is_empty() {
        return Err("it names no files".into());
    }
    Ok(out)
}

/// Splits a manifest line into words, honouring double quotes (Redis quotes odd file names).
fn split_words(line: &str) -> Option<Vec<String>> {
    let args = roost_resp::split_args(line.as_bytes())?;
    Some(args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
}

/// One step through a command file.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A command and the offset just past it.
    Command(Vec<Vec<u8>>, usize),
    /// A `#...` annotation line, and the offset past it.
    Annotation(usize),
    End,
    /// The file ends inside a command that starts at this offset.
    Truncated(usize),
    /// Not the AOF format at this offset.
    Invalid(usize, String),
}

/// Reads the command or annotation starting at `pos`.
pub fn next_step(buf: &[u8], pos: usize) -> Step {
    if pos >= buf.len() {
        return Step::End;
    }
    let start = pos;
    let mut pos = pos;
    let line = |pos: &mut usize| -> Option<Result<&[u8], ()>> {
        let rest = &buf[*pos..];
        let end = rest.iter().position(|&b| b == b'\n')?;
        if end == 0 || rest[end - 1] != b'\r' {
            return Some(Err(()));
        }
        *pos += end + 1;
        Some(Ok(&rest[..end - 1]))
    };
    if buf[pos] == b'#' {
        return match line(&mut pos) {
            Some(Ok(_)) => Step::Annotation(pos),
            Some(Err(())) => Step::Invalid(start, "an annotation line not ending in CRLF".into()),
            None => Step::Truncated(start),
        };
    }
    if buf[pos] != b'*' {
        return Step::Invalid(start, format!("expected '*', got '{}'", buf[pos].escape_ascii()));
    }
    let number = |l: &[u8]| std::str::from_utf8(l).ok().and_then(|s| s.parse::<i64>().ok());
    let count = match line(&mut pos) {
        None => return Step::Truncated(start),
        Some(Err(())) => return Step::Invalid(start, "a header not ending in CRLF".into()),
        Some(Ok(l)) => match number(&l[1..]) {
            Some(n) if n >= 1 => n as usize,
            _ => return Step::Invalid(start, "a bad argument count".into()),
        },
    };
    let mut args = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        if pos >= buf.len() {
            return Step::Truncated(start);
        }
        if buf[pos] != b'$' {
            return Step::Invalid(pos, format!("expected '$', got '{}'", buf[pos].escape_ascii()));
        }
        let len = match line(&mut pos) {
            None => return Step::Truncated(start),
            Some(Err(())) => return Step::Invalid(start, "a length not ending in CRLF".into()),
            Some(Ok(l)) => match number(&l[1..]) {
                Some(n) if n >= 0 => n as usize,
                _ => return Step::Invalid(start, "a bad argument length".into()),
            },
        };
        if buf.len() - pos < len + 2 {
            return Step::Truncated(start);
        }
        if &buf[pos + len..pos + len + 2] != b"\r\n" {
            return Step::Invalid(pos + len, "an argument not followed by CRLF".into());
        }
        args.push(buf[pos..pos + len].to_vec());
        pos += len + 2;
    }
    Step::Command(args, pos)
}

/// How a command file ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Complete,
    /// Incomplete from this offset on (a half-written command, or a MULTI without its EXEC).
    Truncated(usize),
    Invalid(usize, String),
}

/// Walks a command file, handing each command (MULTI/EXEC blocks whole, only once complete) to
/// `run`; returns how it ended and how many commands ran.
pub fn walk(buf: &[u8], mut run: impl FnMut(&[Vec<u8>])) -> (Ending, u64) {
    let mut pos = 0;
    let mut commands = 0u64;
    // (offset of MULTI, queued commands)
    let mut multi: Option<(usize, Vec<Vec<Vec<u8>>>)> = None;
    loop {
        match next_step(buf, pos) {
            Step::End => {
                return match multi {
                    Some((at, _)) => (Ending::Truncated(at), commands),
                    None => (Ending::Complete, commands),
                }
            }
            Step::Annotation(next) => pos = next,
            Step::Truncated(at) => return (Ending::Truncated(multi.map_or(at, |m| m.0)), commands),
            Step::Invalid(at, why) => return (Ending::Invalid(at, why), commands),
            Step::Command(args, next) => {
                let name = &args[0];
                if name.eq_ignore_ascii_case(b"multi") {
                    if multi.is_some() {
                        return (Ending::Invalid(pos, "MULTI inside MULTI".into()), commands);
                    }
                    multi = Some((pos, Vec::new()));
                } else if name.eq_ignore_ascii_case(b"exec") {
                    let Some((_, queued)) = multi.take() else {
                        return (Ending::Invalid(pos, "EXEC without MULTI".into()), commands);
                    };
                    for c in &queued {
                        run(c);
                        commands += 1;
                    }
                } else if let Some((_, queued)) = multi.as_mut() {
                    queued.push(args);
                } else {
                    run(&args);
                    commands += 1;
                }
                pos = next;
            }
        }
    }
}

/// The replaying client: a connection nobody is on, whose replies are dropped.
struct Replayer {
    server: Arc<Server>,
    client: ClientState,
    handle: Arc<ClientHandle>,
    reply: ReplyBuf,
    rng: Rng,
    /// A command the table does not know: loading stops.
    unknown: Option<String>,
}

impl Replayer {
    fn new(server: &Arc<Server>) -> Replayer {
        let addr: std::net::SocketAddr = ([0, 0, 0, 0], 0).into();
        Replayer {
            server: server.clone(),
            client: ClientState::new(true),
            handle: Arc::new(ClientHandle::new(0, addr, addr, -1)),
            reply: ReplyBuf::new(),
            rng: Rng::seeded(),
            unknown: None,
        }
    }

    fn run(&mut self, args: &[Vec<u8>]) {
        if self.unknown.is_some() {
            return;
        }
        let owned = OwnedArgs::from_slices(args.iter().map(Vec::as_slice));
        let a = owned.args();
        let server = self.server.clone();
        let Some((mut spec, mut stat)) = server.commands.get(a.get(0)) else {
            self.unknown = Some(String::from_utf8_lossy(a.get(0)).into_owned());
            return;
        };
        if !spec.subcommands.is_empty() && a.len() >= 2 {
            if let Some(sub) = find_subcommand(spec, a.get(1)) {
                spec = sub;
                stat = server.commands.stat_index(sub);
            }
        }
        if !spec.arity_ok(a.len()) {
            return;
        }
        let mut clock = Instant::now();
        let stats = server.workers[0].clone();
        let mut ctx = Ctx {
            server: &server,
            client: &mut self.client,
            handle: &self.handle,
            reply: &mut self.reply,
            stats: &stats,
            rng: &mut self.rng,
            clock: &mut clock,
        };
        crate::connection::run_command(&mut ctx, spec, stat, &a);
        self.client.block = None;
        self.reply.out.clear();
    }
}

fn read(path: &Path) -> Result<MappedFile, String> {
    MappedFile::open(path).map_err(|e| format!("Can't read the append-only file {}: {e}", path.display()))
}

/// Loads every file the manifest names into the keyspace, in order. A truncated tail of the
/// last file is cut off (with `aof-load-truncated yes`) or stops the start.
pub(super) fn load_all(server: &Arc<Server>, configured: &Files, truncated_ok: bool) -> Result<Files, String> {
    let files = read_manifest(configured)?;
    let started = Instant::now();
    let mut replayer = Replayer::new(server);
    let mut names: Vec<&String> = Vec::new();
    if let Some((base, _)) = &files.base {
        names.push(base);
    }
    names.extend(files.incrs.iter().map(|(n, _)| n));
    let mut total = 0u64;
    for (i, name) in names.iter().enumerate() {
        let path = files.dir.join(name);
        let last = i + 1 == names.len();
        if !path.exists() {
            // Redis tolerates a missing last incremental file (created on first append).
            if last && files.incrs.last().is_some_and(|(n, _)| n == *name) {
                continue;
            }
            return Err(format!("The AOF file {} named in the manifest doesn't exist", path.display()));
        }
        let buf = read(&path)?;
        // A base written with aof-use-rdb-preamble is an RDB file; commands may follow it.
        let commands_from = if buf.starts_with(b"REDIS") {
            let (keys, end) = load_rdb(&mut replayer, &buf)
                .map_err(|e| format!("Can't load the RDB part of the AOF file {}: {e}", path.display()))?;
            total += keys;
            end
        } else {
            0
        };
        let (ending, n) = walk(&buf[commands_from..], |args| replayer.run(args));
        let ending = match ending {
            Ending::Truncated(at) => Ending::Truncated(at + commands_from),
            Ending::Invalid(at, why) => Ending::Invalid(at + commands_from, why),
            Ending::Complete => Ending::Complete,
        };
        total += n;
        if let Some(cmd) = &replayer.unknown {
            return Err(format!("Unknown command '{cmd}' reading the append only file {}", path.display()));
        }
        match ending {
            Ending::Complete => {}
            Ending::Invalid(at, why) => {
                return Err(format!(
                    "Bad file format reading the append only file {} at offset {at} ({why}): make a backup of \
                     your AOF directory, then use roost check-aof --fix <manifest or file>",
                    path.display()
                ))
            }
            Ending::Truncated(at) if !last => {
                return Err(format!(
                    "The AOF file {} is truncated at offset {at} but is not the last file: use roost check-aof",
                    path.display()
                ))
            }
            Ending::Truncated(at) if !truncated_ok => {
                return Err(format!(
                    "Unrecoverable error reading the append only file {}: truncated at offset {at} of {} bytes. \
                     Use roost check-aof --fix <file> (after a backup), or set aof-load-truncated yes",
                    path.display(),
                    buf.len()
                ))
            }
            Ending::Truncated(at) => {
                log(WARNING, &format!("!!! Warning: short read while loading the AOF file {}!!!", path.display()));
                truncate(&path, at as u64)?;
                log(
                    WARNING,
                    &format!(
                        "AOF {} loaded anyway because aof-load-truncated is enabled; truncated to {at} bytes (was {})",
                        path.display(),
                        buf.len()
                    ),
                );
            }
        }
    }
    log(
        NOTICE,
        &format!("DB loaded from append only file: {:.3} seconds ({total} commands)", started.elapsed().as_secs_f64()),
    );
    Ok(files)
}

/// Loads the RDB at the start of `buf` (`persist::load_rdb`), function libraries through
/// FUNCTION LOAD. Returns the keys loaded and where the RDB ends.
fn load_rdb(replayer: &mut Replayer, buf: &[u8]) -> Result<(u64, usize), String> {
    let server = replayer.server.clone();
    let function = |code: Vec<u8>| {
        replayer.run(&[b"FUNCTION".to_vec(), b"LOAD".to_vec(), b"REPLACE".to_vec(), code]);
        Ok(())
    };
    let (loaded, end) = crate::persist::load_rdb(&server, buf, false, function)?;
    Ok((loaded.keys, end))
}

fn truncate(path: &Path, len: u64) -> Result<(), String> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("Can't open {} to truncate it: {e}", path.display()))?;
    f.set_len(len).map_err(|e| format!("Can't truncate {}: {e}", path.display()))?;
    f.sync_all().map_err(|e| format!("Can't fsync {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// roost check-aof

const CHECK_USAGE: &str = "Usage: roost check-aof [--fix] <file.manifest|file.aof>";

/// `roost check-aof [--fix] <manifest or file>`: reports the first invalid or truncated position
/// of each command file; with --fix, truncates a damaged last file there (no confirmation asked).
pub fn check_main(args: &[String]) -> std::process::ExitCode {
    use std::process::ExitCode;
    let (fix, path) = match args {
        [p] if p != "--fix" => (false, p),
        [f, p] if f == "--fix" => (true, p),
        _ => {
            eprintln!("{CHECK_USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match check(Path::new(path), fix) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Checks a manifest's files or one file; Ok(true) when everything is (now) valid.
pub fn check(path: &Path, fix: bool) -> Result<bool, String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let files: Vec<PathBuf> = if let Some(stem) = name.strip_suffix(".manifest") {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let m = read_manifest(&Files { dir: dir.clone(), filename: stem.to_string(), base: None, incrs: Vec::new() })?;
        println!("Start checking Multi Part AOF");
        m.base.iter().chain(m.incrs.iter()).map(|(n, _)| dir.join(n)).collect()
    } else {
        vec![path.to_path_buf()]
    };
    let mut all_ok = true;
    'files: for (i, file) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let buf = match MappedFile::open(file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && last => {
                println!("AOF {} doesn't exist yet (nothing appended): ok", file.display());
                continue;
            }
            Err(e) => return Err(format!("Cannot open file {}: {e}", file.display())),
        };
        // An RDB preamble is checked by reading it through; the commands after it as usual.
        let mut from = 0;
        if buf.starts_with(b"REDIS") {
            let limits = roost_store::EncodingLimits::default();
            let mut reader = match roost_store::rdb::Reader::new(&buf, &limits) {
                Ok(r) => r,
                Err(e) => {
                    println!("AOF {}: invalid RDB preamble: {e}", file.display());
                    all_ok = false;
                    continue;
                }
            };
            loop {
                match reader.next_record() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        println!("AOF {}: invalid RDB preamble: {e} (not fixable by truncation)", file.display());
                        all_ok = false;
                        continue 'files;
                    }
                }
            }
            from = reader.offset();
            println!("RDB preamble of {} is OK ({from} bytes)", file.display());
        }
        let (ending, commands) = walk(&buf[from..], |_| {});
        let ending = match ending {
            Ending::Truncated(at) => Ending::Truncated(at + from),
            Ending::Invalid(at, why) => Ending::Invalid(at + from, why),
            Ending::Complete => Ending::Complete,
        };
        let (ok_up_to, problem) = match &ending {
            Ending::Complete => (buf.len(), None),
            Ending::Truncated(at) => (*at, Some("truncated".to_string())),
            Ending::Invalid(at, why) => (*at, Some(format!("invalid ({why})"))),
        };
        println!(
            "AOF analyzed: filename={}, size={}, ok_up_to={ok_up_to}, commands={commands}, diff={}",
            file.display(),
            buf.len(),
            buf.len() - ok_up_to
        );
        let Some(problem) = problem else {
            println!("AOF {} is valid", file.display());
            continue;
        };
        println!("AOF {} is {problem} at offset {ok_up_to}", file.display());
        if !fix {
            println!("Use --fix to truncate it at offset {ok_up_to}.");
            all_ok = false;
        } else if !last {
            println!("Only the last file of a manifest can be fixed by truncation; {} is not.", file.display());
            all_ok = false;
        } else {
            truncate(file, ok_up_to as u64)?;
            println!("Successfully truncated AOF {} to {ok_up_to} bytes", file.display());
        }
    }
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_all(buf: &[u8]) -> (Ending, Vec<Vec<Vec<u8>>>) {
        let mut seen = Vec::new();
        let (e, _) = walk(buf, |a| seen.push(a.to_vec()));
        (e, seen)
    }

    #[test]
    fn commands_annotations_and_transactions_replay_in_order() {
        let f = b"#TS:1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*1\r\n$4\r\nEXEC\r\n";
        let (e, seen) = run_all(f);
        assert_eq!(e, Ending::Complete);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1], vec![b"INCR".to_vec(), b"k".to_vec()]);
    }

    #[test]
    fn a_cut_command_or_open_transaction_is_truncation_at_its_start() {
        let whole = b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n";
        for cut in 1..whole.len() {
            let mut f = whole.to_vec();
            f.extend_from_slice(&whole[..cut]);
            assert_eq!(run_all(&f).0, Ending::Truncated(whole.len()), "cut at {cut}");
        }
        let mut f = whole.to_vec();
        f.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
        f.extend_from_slice(whole);
        let (e, seen) = run_all(&f);
        assert_eq!(e, Ending::Truncated(whole.len()));
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn garbage_is_invalid_not_truncated() {
        assert!(matches!(run_all(b"*1\r\n$4\r\nPING\r\nxx").0, Ending::Invalid(14, _)));
        assert!(matches!(run_all(b"*1\r\n$4\r\nPINGxx\r\n").0, Ending::Invalid(_, _)));
        assert!(matches!(run_all(b"*0\r\n").0, Ending::Invalid(0, _)));
    }

    #[test]
    fn manifest_lines_parse_as_redis_writes_them() {
        let files = Files { dir: PathBuf::from("d"), filename: "appendonly.aof".into(), ..Default::default() };
        let m = parse_manifest(
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n",
            &files,
        )
        .unwrap();
        assert_eq!(m.base, Some(("appendonly.aof.1.base.rdb".into(), 1)));
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(parse_manifest(&m.manifest_text(), &files).unwrap().incrs, m.incrs);
        assert!(parse_manifest("file x seq 1\n", &files).is_err());
        assert!(parse_manifest("", &files).is_err());
    }
}

//! `roost proxy` command line: nutcracker's flags (short and long), plus Roost's own
//! `--threads` and `--close-on-unsupported`.

use std::process::ExitCode;

use crate::config::Config;
use crate::log;
use crate::server::{self, RunOptions};
use crate::stats::DESCRIPTIONS;

const DEFAULT_CONF: &str = "conf/nutcracker.yml";

pub const USAGE: &str = "Usage: roost proxy [-?hVdDt] [-v verbosity level] [-o output file]
                   [-c conf file] [-s stats port] [-a stats addr]
                   [-i stats interval] [-p pid file] [-m mbuf size]
                   [--threads N] [--close-on-unsupported]

Options:
  -h, --help             : this help
  -V, --version          : show version and exit
  -t, --test-conf        : test configuration for syntax errors and exit
  -d, --daemonize        : not supported: run under a service manager instead
  -D, --describe-stats   : print stats description and exit
  -v, --verbose=N        : set logging level (default: 5, min: 0, max: 11)
  -o, --output=S         : set logging file (default: stderr)
  -c, --conf-file=S      : set configuration file (default: conf/nutcracker.yml)
  -s, --stats-port=N     : set stats monitoring port (default: 22222)
  -a, --stats-addr=S     : set stats monitoring ip (default: 0.0.0.0)
  -i, --stats-interval=N : set the hot-key interval in msec (default: 30000 msec); counters are live
  -p, --pid-file=S       : set pid file (default: off)
  -m, --mbuf-size=N      : accepted for compatibility; buffers grow as needed
  --threads=N            : worker threads (default: one per core)
  --close-on-unsupported : close the connection on an unsupported command, as nutcracker does,
                           instead of replying -ERR";

#[derive(Debug, Clone)]
struct Flags {
    conf: String,
    test: bool,
    describe: bool,
    help: bool,
    version: bool,
    verbosity: u8,
    output: Option<String>,
    run: RunOptions,
}

fn parse_flags(args: &[String]) -> Result<Flags, String> {
    let mut f = Flags {
        conf: DEFAULT_CONF.into(),
        test: false,
        describe: false,
        help: false,
        version: false,
        verbosity: log::LOG_NOTICE,
        output: None,
        run: RunOptions::default(),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        // `--name=value`, `--name value`, `-xvalue` and `-x value` are all accepted.
        let (flag, inline): (&str, Option<String>) = if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            }
        } else if arg.len() > 2 && arg.starts_with('-') {
            (&arg[1..2], Some(arg[2..].to_string()))
        } else if let Some(short) = arg.strip_prefix('-') {
            (short, None)
        } else {
            return Err(format!("unexpected argument '{arg}'"));
        };
        let takes_value = matches!(
            flag,
            "v" | "verbose"
                | "o"
                | "output"
                | "c"
                | "conf-file"
                | "s"
                | "stats-port"
                | "a"
                | "stats-addr"
                | "i"
                | "stats-interval"
                | "p"
                | "pid-file"
                | "m"
                | "mbuf-size"
                | "threads"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => {
                    let v = args.get(i).ok_or_else(|| format!("option '{arg}' requires a value"))?.clone();
                    i += 1;
                    v
                }
            }
        } else {
            if inline.is_some() {
                return Err(format!("invalid option '{arg}'"));
            }
            String::new()
        };
        let number =
            |what: &str| value.parse::<u64>().map_err(|_| format!("option -{flag} requires a number for {what}"));
        match flag {
            "h" | "?" | "help" => f.help = true,
            "V" | "version" => f.version = true,
            "t" | "test-conf" => f.test = true,
            "D" | "describe-stats" => f.describe = true,
            "d" | "daemonize" => return Err("daemonizing is not supported; run under a service manager".into()),
            "close-on-unsupported" => f.run.client.close_on_unsupported = true,
            "v" | "verbose" => f.verbosity = number("verbosity")?.min(11) as u8,
            "o" | "output" => f.output = Some(value),
            "c" | "conf-file" => f.conf = value,
            "s" | "stats-port" => {
                f.run.stats_port = u16::try_from(number("stats port")?)
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or("option -s requires a valid port")?
            }
            "a" | "stats-addr" => f.run.stats_addr = value,
            "i" | "stats-interval" => f.run.stats_interval_ms = number("stats interval")?,
            "p" | "pid-file" => f.run.pid_file = Some(value),
            "m" | "mbuf-size" => {
                number("mbuf size")?;
            }
            "threads" => f.run.threads = number("threads")?.min(1024) as usize,
            _ => return Err(format!("invalid option '{arg}'")),
        }
    }
    Ok(f)
}

/// Entry point for `roost proxy ARGS...`.
pub fn main(args: &[String]) -> ExitCode {
    let flags = match parse_flags(args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("roost proxy: {e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    if flags.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if flags.version {
        println!("This is roost proxy-{} (nutcracker 0.5.0 compatible)", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if flags.describe {
        for (name, what) in DESCRIPTIONS {
            println!("    {name:<20}\"{what}\"");
        }
        return ExitCode::SUCCESS;
    }
    let config = Config::load_file(&flags.conf);
    if flags.test {
        return match config {
            Ok(_) => {
                eprintln!("roost proxy: configuration file '{}' syntax is ok", flags.conf);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                eprintln!("roost proxy: configuration file '{}' syntax is invalid", flags.conf);
                ExitCode::FAILURE
            }
        };
    }
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("roost proxy: configuration file '{}' syntax is invalid", flags.conf);
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = log::init(flags.verbosity, flags.output.as_deref()) {
        eprintln!("roost proxy: opening log file '{}' failed: {e}", flags.output.unwrap_or_default());
        return ExitCode::FAILURE;
    }
    let mut run = flags.run;
    run.conf_path = Some(flags.conf.clone());
    match server::run(config, run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::warn(format_args!("{e}"));
            eprintln!("roost proxy: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, String> {
        parse_flags(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn nutcracker_flags() {
        let f = parse(&[
            "-c",
            "x.yml",
            "-s",
            "22223",
            "-a",
            "127.0.0.1",
            "-i",
            "1000",
            "-v",
            "7",
            "-o",
            "log",
            "-p",
            "pid",
            "-t",
        ])
        .unwrap();
        assert_eq!(f.conf, "x.yml");
        assert_eq!(f.run.stats_port, 22223);
        assert_eq!(f.run.stats_addr, "127.0.0.1");
        assert_eq!(f.run.stats_interval_ms, 1000);
        assert_eq!(f.verbosity, 7);
        assert_eq!(f.output.as_deref(), Some("log"));
        assert_eq!(f.run.pid_file.as_deref(), Some("pid"));
        assert!(f.test);
        let f = parse(&["--conf-file=y.yml", "--stats-port", "1", "-cz.yml", "--threads=2", "--close-on-unsupported"])
            .unwrap();
        assert_eq!(f.conf, "z.yml");
        assert_eq!(f.run.stats_port, 1);
        assert_eq!(f.run.threads, 2);
        assert!(f.run.client.close_on_unsupported);
    }

    #[test]
    fn bad_flags() {
        assert!(parse(&["-c"]).is_err());
        assert!(parse(&["-s", "0"]).is_err());
        assert!(parse(&["-s", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["-d"]).is_err());
        assert!(parse(&["stray"]).is_err());
    }

    #[test]
    fn defaults() {
        let f = parse(&[]).unwrap();
        assert_eq!(f.conf, "conf/nutcracker.yml");
        assert_eq!(f.run.stats_port, 22222);
        assert_eq!(f.run.stats_addr, "0.0.0.0");
        assert_eq!(f.verbosity, 5);
    }
}

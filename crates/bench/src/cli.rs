//! `roost bench` options: redis-benchmark's flags where they exist, plus the workload, open-loop,
//! cluster and report options of this tool.

use crate::workload::mix::{Mix, DEFAULT_MIX};
use crate::workload::suite::{self, Test};
use std::time::Duration;

pub const USAGE: &str = "Usage: roost bench [options]

Connection:
  -h <host>          Server hostname (default 127.0.0.1)
  -p <port>          Server port (default 6379)
  -a <password>      Password for AUTH
  --user <username>  Username for AUTH (with -a)
  --cluster          Read CLUSTER SLOTS from the server and send each request to its slot's node

Load:
  -c <clients>       Parallel connections (default 50)
  -n <requests>      Operations in total, per test with -t (default 100000)
  --duration <secs>  Run for this long instead of -n operations
  -d <size>          Value size in bytes for SET, LPUSH, ... (default 3)
  -r <keyspace>      Random keys key:000000000000 .. in [0, keyspace) (default: one fixed key)
  -P <numreq>        Pipeline depth: requests in flight per connection (default 1)
  --threads <n>      Worker threads the connections are spread over (default 1)
  --rate <ops/s>     Open loop: start operations on a fixed timetable at this total rate and
                     measure latency from the scheduled send time (default: closed loop)
  --seed <n>         Seed of the random keys, operation mix and follower graph (default 1)

Workloads:
  -t <tests>         redis-benchmark tests, comma separated: ping_inline, ping_mbulk (ping = both),
                     set, get, incr, lpush, rpush, lpop, rpop, sadd, hset, spop, zadd, lrange_100,
                     lrange_300, lrange_500, lrange_600 (lrange = all four), mset
  --workload <name>  tests (default; the -t tests), mix, or timeline
  --mix <spec>       Proportions of the mix workload (default get=60,set=25,incr=10,timeline=5)
  --zipf <s>         Draw keys (and timelines) from a Zipf distribution with exponent s > 0
  --users <n>        Users of the timeline and mix workloads (default 1000)
  --post-rate <n>    Posts per second of the timeline workload (default 100)
  --writers <n>      Connections publishing posts in the timeline workload (default: a tenth of -c,
                     at least 1); the others read timelines

Output:
  -q                 Quiet: one line per test
  --csv              CSV output, as redis-benchmark --csv
  --json             One JSON object with every percentile (microseconds)
  --output <file>    Also write an SVG chart: latency by percentile, and operations/s over time
  --help             This help";

#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    Tests(Vec<Test>),
    Mix(Mix),
    Timeline,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Quiet,
    Csv,
    Json,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub password: Option<String>,
    pub user: Option<String>,
    pub cluster: bool,
    pub clients: usize,
    pub requests: u64,
    pub duration: Option<Duration>,
    pub data_size: usize,
    pub keyspace: Option<u64>,
    pub pipeline: usize,
    pub threads: usize,
    pub rate: Option<f64>,
    pub seed: u64,
    pub workload: Workload,
    pub zipf: Option<f64>,
    pub users: u32,
    pub post_rate: f64,
    pub writers: Option<usize>,
    pub format: Format,
    pub output: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 6379,
            password: None,
            user: None,
            cluster: false,
            clients: 50,
            requests: 100_000,
            duration: None,
            data_size: 3,
            keyspace: None,
            pipeline: 1,
            threads: 1,
            rate: None,
            seed: 1,
            workload: Workload::Tests(suite::ALL.to_vec()),
            zipf: None,
            users: 1000,
            post_rate: 100.0,
            writers: None,
            format: Format::Text,
            output: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Run(Box<Options>),
    Help,
}

pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut tests: Option<Vec<Test>> = None;
    let mut workload = "tests".to_string();
    let mut mix = None;
    let (mut csv, mut json, mut quiet) = (false, false, false);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("option {flag} needs a value"));
        match flag.as_str() {
            "--help" => return Ok(Parsed::Help),
            "-h" => o.host = value()?.clone(),
            "-p" => o.port = number(flag, value()?, 1.0, 65535.0)? as u16,
            "-a" => o.password = Some(value()?.clone()),
            "--user" => o.user = Some(value()?.clone()),
            "--cluster" => o.cluster = true,
            "-c" => o.clients = number(flag, value()?, 1.0, 100_000.0)? as usize,
            "-n" => o.requests = number(flag, value()?, 1.0, 1e15)? as u64,
            "--duration" => o.duration = Some(Duration::from_secs_f64(float(flag, value()?, 0.001, 1e7)?)),
            "-d" => o.data_size = number(flag, value()?, 0.0, 512.0 * 1024.0 * 1024.0)? as usize,
            "-r" => o.keyspace = Some(number(flag, value()?, 1.0, 1e15)? as u64),
            "-P" => o.pipeline = number(flag, value()?, 1.0, 1_000_000.0)? as usize,
            "--threads" => o.threads = number(flag, value()?, 1.0, 1024.0)? as usize,
            "--rate" => o.rate = Some(float(flag, value()?, 0.001, 1e10)?),
            "--seed" => o.seed = number(flag, value()?, 0.0, u64::MAX as f64)? as u64,
            "-t" => tests = Some(suite::parse_tests(value()?)?),
            "--workload" => workload = value()?.to_ascii_lowercase(),
            "--mix" => mix = Some(Mix::parse(value()?)?),
            "--zipf" => o.zipf = Some(float(flag, value()?, 1e-9, 1e6)?),
            "--users" => o.users = number(flag, value()?, 2.0, 100_000_000.0)? as u32,
            "--post-rate" => o.post_rate = float(flag, value()?, 0.001, 1e9)?,
            "--writers" => o.writers = Some(number(flag, value()?, 1.0, 100_000.0)? as usize),
            "-q" => quiet = true,
            "--csv" => csv = true,
            "--json" => json = true,
            "--output" => o.output = Some(value()?.clone()),
            other => return Err(format!("unknown option '{other}' (roost bench --help lists them)")),
        }
    }
    o.format = match (json, csv, quiet) {
        (true, true, _) => return Err("--json and --csv exclude each other".into()),
        (true, _, _) => Format::Json,
        (_, true, _) => Format::Csv,
        (_, _, true) => Format::Quiet,
        _ => Format::Text,
    };
    let tests_given = tests.is_some();
    o.workload = match workload.as_str() {
        "tests" => Workload::Tests(tests.unwrap_or_else(|| suite::ALL.to_vec())),
        "mix" => Workload::Mix(match mix {
            Some(m) => m,
            None => Mix::parse(DEFAULT_MIX)?,
        }),
        "timeline" => Workload::Timeline,
        other => return Err(format!("unknown workload '{other}' (tests, mix, timeline)")),
    };
    if tests_given && !matches!(o.workload, Workload::Tests(_)) {
        return Err("-t selects redis-benchmark tests; it does not combine with --workload mix/timeline".into());
    }
    if o.zipf.is_some() && o.keyspace.is_none() && !matches!(o.workload, Workload::Timeline) {
        // Zipf ranks need a keyspace to range over.
        o.keyspace = Some(1_000_000);
    }
    if matches!(o.workload, Workload::Mix(_)) && o.keyspace.is_none() {
        o.keyspace = Some(1_000_000);
    }
    if matches!(o.workload, Workload::Timeline) {
        if o.clients < 2 {
            return Err("the timeline workload needs -c 2 or more (writers and readers)".into());
        }
        if o.writers.is_some_and(|w| w >= o.clients) {
            return Err("--writers must be below -c (at least one connection reads)".into());
        }
    }
    if o.user.is_some() && o.password.is_none() {
        return Err("--user needs -a <password>".into());
    }
    Ok(Parsed::Run(Box::new(o)))
}

fn float(flag: &str, v: &str, min: f64, max: f64) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= min && x <= max => Ok(x),
        _ => Err(format!("option {flag}: '{v}' is not a number in [{min}, {max}]")),
    }
}

fn number(flag: &str, v: &str, min: f64, max: f64) -> Result<f64, String> {
    match v.parse::<u64>() {
        Ok(x) if (x as f64) >= min && (x as f64) <= max => Ok(x as f64),
        _ => Err(format!("option {flag}: '{v}' is not a whole number in [{min}, {max}]")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &str) -> Result<Options, String> {
        let args: Vec<String> = args.split_whitespace().map(String::from).collect();
        match parse(&args)? {
            Parsed::Run(o) => Ok(*o),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn redis_benchmark_flags_parse() {
        let o = run("-h 10.0.0.1 -p 7000 -a pw -c 8 -n 500 -d 64 -r 1000 -P 16 --threads 2 -t get,set --csv").unwrap();
        assert_eq!((o.host.as_str(), o.port, o.password.as_deref()), ("10.0.0.1", 7000, Some("pw")));
        assert_eq!(
            (o.clients, o.requests, o.data_size, o.keyspace, o.pipeline, o.threads),
            (8, 500, 64, Some(1000), 16, 2)
        );
        assert_eq!(o.workload, Workload::Tests(vec![Test::Set, Test::Get]));
        assert_eq!(o.format, Format::Csv);
        assert_eq!(run("--help").unwrap_err(), "help");
    }

    #[test]
    fn bad_flags_are_errors_not_panics() {
        for (args, want) in [
            ("-p 70000", "option -p"),
            ("-c 0", "option -c"),
            ("-n -5", "option -n"),
            ("-P", "needs a value"),
            ("--rate fast", "option --rate"),
            ("--zipf 0", "option --zipf"),
            ("--bogus", "unknown option '--bogus'"),
            ("--workload nope", "unknown workload"),
            ("--json --csv", "exclude"),
            ("--workload timeline -c 1", "-c 2 or more"),
            ("--workload mix -t get", "does not combine"),
            ("-t nope", "unknown test"),
            ("--user u", "needs -a"),
        ] {
            let err = run(args).unwrap_err();
            assert!(err.contains(want), "{args}: {err}");
        }
    }

    #[test]
    fn workloads_get_their_defaults() {
        let o = run("--workload mix --zipf 0.99").unwrap();
        assert!(matches!(o.workload, Workload::Mix(_)));
        assert_eq!((o.keyspace, o.zipf), (Some(1_000_000), Some(0.99)));
        let o = run("--workload timeline --users 500 --post-rate 20 --duration 2.5").unwrap();
        assert_eq!((o.users, o.post_rate, o.duration), (500, 20.0, Some(Duration::from_millis(2500))));
        assert_eq!(run("-q").unwrap().format, Format::Quiet);
    }
}

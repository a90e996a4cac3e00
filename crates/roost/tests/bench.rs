//! `roost bench` end to end: the real binary driving a real Roost server on loopback. The JSON
//! report must carry every percentile, and the keys the workloads claim to write must be there.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use common::{free_port, TestServer};
use roost_bench::cluster::key_slot;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roost")).arg("bench").args(args).output().expect("run roost bench")
}

/// Runs `roost bench ... --json` against `port` and returns the JSON, failing on a non-zero exit.
fn bench_json(port: u16, args: &[&str]) -> String {
    let port = port.to_string();
    let mut all = vec!["-h", "127.0.0.1", "-p", &port, "--json"];
    all.extend_from_slice(args);
    let out = bench(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "roost bench {all:?} failed: {}{stdout}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON object on one line: {stdout}");
    stdout.trim().to_string()
}

/// The first number after `"key":` at or after `from` in `json`.
fn number_after(json: &str, from: &str, key: &str) -> f64 {
    let start = json.find(from).unwrap_or_else(|| panic!("{from} missing in {json}"));
    let rest = &json[start..];
    let at = rest.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} missing after {from} in {json}"));
    let digits: String = rest[at + key.len() + 3..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    digits.parse().unwrap_or_else(|_| panic!("{key} is not a number in {json}"))
}

fn assert_latency_fields(json: &str, section: &str) {
    for key in ["ops", "ops_per_sec", "p50", "p90", "p99", "p99.9", "p99.99", "max"] {
        number_after(json, section, key);
    }
    let (p50, p99, max) =
        (number_after(json, section, "p50"), number_after(json, section, "p99"), number_after(json, section, "max"));
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{section}: p50 {p50} p99 {p99} max {max}");
}

fn keys(s: &TestServer, pattern: &str) -> Vec<String> {
    let reply = s.raw().cmd_str(&["KEYS", pattern]);
    reply.lines().filter(|l| !l.starts_with('*') && !l.starts_with('$')).map(String::from).collect()
}

#[test]
fn tests_workload_reports_every_percentile_and_writes_the_keys() {
    let s = TestServer::start(&[]);
    let json = bench_json(s.port, &["-t", "set,get,lpush,mset", "-n", "2000", "-r", "1000", "-c", "4", "-P", "4"]);
    assert!(json.contains("\"errors\":0"), "{json}");
    assert!(number_after(&json, "{", "ops_per_sec") > 0.0);
    for section in ["\"SET\":", "\"GET\":", "\"LPUSH\":", "\"MSET (10 keys)\":", "\"overall\":"] {
        assert_latency_fields(&json, section);
    }
    assert_eq!(number_after(&json, "\"SET\":", "ops"), 2000.0);
    assert_eq!(number_after(&json, "\"overall\":", "ops"), 8000.0);
    let mut c = s.raw();
    assert!(c.int(&["DBSIZE"]) > 100, "random keys key:000000000000 .. were written");
    assert_eq!(c.int(&["LLEN", "mylist"]), 2000);
    assert!(keys(&s, "key:*").iter().all(|k| k.len() == "key:000000001234".len()), "redis-benchmark key shape");
}

#[test]
fn mix_workload_runs_every_operation_including_timeline_assembly() {
    let s = TestServer::start(&[]);
    let json = bench_json(
        s.port,
        &[
            "--workload",
            "mix",
            "--mix",
            "get=50,set=20,incr=10,timeline=20",
            "--zipf",
            "1.1",
            "-r",
            "500",
            "--users",
            "50",
            "-n",
            "3000",
            "-c",
            "4",
        ],
    );
    assert!(json.contains("\"workload\":\"mix\"") && json.contains("\"errors\":0"), "{json}");
    for section in ["\"GET\":", "\"SET\":", "\"INCR\":", "\"TIMELINE\":", "\"overall\":"] {
        assert_latency_fields(&json, section);
    }
    // A timeline operation is two requests (LRANGE, then MGET of the posts it named).
    let ops = number_after(&json, "{", "ops");
    let timelines = number_after(&json, "\"TIMELINE\":", "ops");
    assert_eq!(number_after(&json, "{", "requests"), ops + timelines);
    let mut c = s.raw();
    assert_eq!(c.int(&["LLEN", "timeline:000000000007"]), 50);
    assert!(c.int(&["EXISTS", "post:0"]) == 1);
}

#[test]
fn timeline_workload_fans_out_posts_and_trims_home_timelines() {
    let s = TestServer::start(&[]);
    let json = bench_json(
        s.port,
        &[
            "--workload",
            "timeline",
            "--users",
            "20",
            "--post-rate",
            "2000",
            "--duration",
            "1.5",
            "-c",
            "4",
            "--writers",
            "2",
        ],
    );
    assert!(json.contains("\"errors\":0"), "{json}");
    assert_latency_fields(&json, "\"LRANGE\":");
    assert_latency_fields(&json, "\"FANOUT\":");
    assert_latency_fields(&json, "\"largest_account\":");
    let posts = number_after(&json, "\"timeline\":", "posts");
    let deliveries = number_after(&json, "\"timeline\":", "deliveries");
    assert!(posts > 100.0 && deliveries >= 3.0 * posts, "posts {posts}, deliveries {deliveries}");
    number_after(&json, "\"timeline\":", "posts_per_sec");
    number_after(&json, "\"timeline\":", "deliveries_per_sec");
    let timelines = keys(&s, "timeline:*");
    assert!(!timelines.is_empty());
    let mut c = s.raw();
    let lens: Vec<i64> = timelines.iter().map(|k| c.int(&["LLEN", k])).collect();
    assert!(lens.iter().all(|&n| (1..=800).contains(&n)), "{lens:?}");
    if deliveries / 20.0 > 900.0 {
        // Home timelines received over 800 posts on average: LTRIM 0 799 kept them at 800.
        assert_eq!(lens.iter().max(), Some(&800), "{lens:?}");
    }
    assert_eq!(c.int(&["EXISTS", "post:0"]), 1);
}

#[test]
fn open_loop_runs_on_the_timetable() {
    let s = TestServer::start(&[]);
    let json = bench_json(s.port, &["-t", "get", "--rate", "2000", "-n", "1000", "-c", "5"]);
    assert!(json.contains("\"mode\":\"open\""), "{json}");
    // 1000 operations at 2000/s take half a second, not less, however fast the server is.
    let secs = number_after(&json, "{", "duration_sec");
    assert!((0.49..2.0).contains(&secs), "{secs}");
    let rate = number_after(&json, "{", "ops_per_sec");
    assert!(rate <= 2050.0, "{rate}");
}

#[test]
fn chart_and_text_output() {
    let s = TestServer::start(&[]);
    let dir = std::env::temp_dir().join(format!("roost-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("plot.svg");
    let out =
        bench(&["-p", &s.port.to_string(), "-t", "set,get", "-n", "500", "-c", "2", "--output", svg.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("====== SET ======") && text.contains("====== GET ======"), "{text}");
    assert!(text.contains("throughput summary: ") && text.contains("latency summary (msec):"), "{text}");
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.contains("<polyline"));
    let out = bench(&["-p", &s.port.to_string(), "-t", "set", "-n", "100", "-q"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("SET: "), "{:?}", out);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_flags_and_unreachable_servers_fail_cleanly() {
    let out = bench(&["--bogus"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option '--bogus'"));
    let out = bench(&["-c", "zero"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("option -c"));
    let out = bench(&["-p", &free_port().to_string(), "-n", "10"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not connect"), "{out:?}");
}

#[test]
fn missing_or_wrong_password_is_reported() {
    let s = TestServer::start(&["--requirepass", "secret"]);
    let out = bench(&["-p", &s.port.to_string(), "-a", "nope", "-n", "10"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH"), "{out:?}");
    let out = bench(&["-p", &s.port.to_string(), "-n", "10"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOAUTH"), "{out:?}");
    let json = bench_json(s.port, &["-a", "secret", "-t", "set", "-n", "100", "-r", "10"]);
    assert!(json.contains("\"errors\":0"), "{json}");
}

/// A stand-in cluster seed: answers CLUSTER SLOTS with `ranges` ((first, last, port)) and
/// nothing else. Roost has no cluster mode, so real Roost servers serve the slots.
fn fake_seed(ranges: Vec<(u16, u16, u16)>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut reply = format!("*{}\r\n", ranges.len());
    for (first, last, node) in &ranges {
        reply.push_str(&format!("*3\r\n:{first}\r\n:{last}\r\n*3\r\n$9\r\n127.0.0.1\r\n:{node}\r\n$4\r\nnode\r\n"));
    }
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let reply = reply.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(7).any(|w| w.eq_ignore_ascii_case(b"SLOTS\r\n")) {
                        let _ = conn.write_all(reply.as_bytes());
                        seen.clear();
                    }
                }
            });
        }
    });
    port
}

#[test]
fn cluster_mode_routes_each_key_to_its_slots_node() {
    let (a, b) = (TestServer::start(&[]), TestServer::start(&[]));
    let seed = fake_seed(vec![(0, 8191, a.port), (8192, 16383, b.port)]);
    let json =
        bench_json(seed, &["--cluster", "-t", "set,incr,mset", "-n", "2000", "-r", "5000", "-c", "4", "-P", "8"]);
    assert!(json.contains("\"errors\":0"), "{json}");
    let (on_a, on_b) = (keys(&a, "*"), keys(&b, "*"));
    assert!(on_a.len() > 100 && on_b.len() > 100, "{} / {} keys", on_a.len(), on_b.len());
    assert!(on_a.iter().all(|k| key_slot(k.as_bytes()) < 8192), "a key on the low node has a high slot");
    assert!(on_b.iter().all(|k| key_slot(k.as_bytes()) >= 8192), "a key on the high node has a low slot");
}

#[test]
fn cluster_mode_reports_a_server_without_cluster_support() {
    let s = TestServer::start(&[]);
    let out = bench(&["-p", &s.port.to_string(), "--cluster", "-n", "10"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLUSTER SLOTS"), "{out:?}");
}

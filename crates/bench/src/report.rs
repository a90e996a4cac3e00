//! Printing results: redis-benchmark's text, quiet and CSV shapes, and one JSON object per run
//! with every percentile in microseconds.

use crate::histogram::{Latency, PERCENTILES};
use crate::runner::RunResult;
use std::fmt::Write;
use std::time::Duration;

/// What the header lines describe.
pub struct RunInfo {
    pub workload: String,
    pub clients: usize,
    pub data_size: usize,
    pub pipeline: usize,
    pub threads: usize,
    pub rate: Option<f64>,
}

/// Fan-out figures of the timeline workload.
pub struct TimelineStats {
    pub users: u32,
    pub edges: u64,
    pub largest_followers: usize,
    pub deliveries: u64,
    pub post_rate: f64,
}

/// One named latency series: a test, or an operation of a mix.
pub struct Entry<'a> {
    pub name: String,
    pub hist: &'a Latency,
    pub elapsed: Duration,
}

/// The entries of a set of runs: a single-label run (one redis-benchmark test) is named after the
/// run, the operations of a multi-label run after their labels.
pub fn entries(runs: &[RunResult]) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    for r in runs {
        for (i, h) in r.rec.hists.iter().enumerate() {
            let name = if r.labels.len() == 1 { r.name.clone() } else { r.labels[i].clone() };
            if h.count() > 0 || r.labels.len() == 1 {
                out.push(Entry { name, hist: h, elapsed: r.elapsed });
            }
        }
    }
    out
}

fn per_sec(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

fn ms(us: f64) -> f64 {
    us / 1000.0
}

/// redis-benchmark's block for one run, plus the full percentile table.
pub fn text(run: &RunResult, info: &RunInfo, timeline: Option<&TimelineStats>) -> String {
    let mut s = String::new();
    let overall = run.rec.overall();
    let ops = overall.count();
    let _ = writeln!(s, "====== {} ======", run.name);
    let _ = writeln!(s, "  {} requests completed in {:.2} seconds", ops, run.elapsed.as_secs_f64());
    let _ = writeln!(s, "  {} parallel clients", info.clients);
    let _ = writeln!(s, "  {} bytes payload", info.data_size);
    let _ = writeln!(s, "  keep alive: 1");
    let _ = writeln!(s, "  pipeline: {}", info.pipeline);
    let _ = writeln!(s, "  multi-thread: {}", if info.threads > 1 { "yes" } else { "no" });
    if let Some(rate) = info.rate {
        let _ = writeln!(s, "  open loop: {rate} requests per second scheduled, latency from the scheduled send time");
    }
    if run.rec.errors > 0 {
        let _ = writeln!(s, "  errors: {} (first: {})", run.rec.errors, run.rec.first_error.as_deref().unwrap_or(""));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Summary:");
    let _ = writeln!(s, "  throughput summary: {:.2} requests per second", per_sec(ops, run.elapsed));
    let _ = writeln!(s, "  latency summary (msec):");
    let _ = writeln!(s, "  {:>11}{:>10}{:>10}{:>10}{:>10}{:>10}", "avg", "min", "p50", "p95", "p99", "max");
    let _ = writeln!(
        s,
        "  {:>11.3}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{:>10.3}",
        ms(overall.mean_us()),
        ms(overall.min_us()),
        ms(overall.percentile_us(50.0)),
        ms(overall.percentile_us(95.0)),
        ms(overall.percentile_us(99.0)),
        ms(overall.max_us())
    );
    let _ = writeln!(s, "  latency percentiles (msec):");
    let _ = writeln!(
        s,
        "  {:<16}{:>10}{:>12}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "command", "ops", "ops/s", "p50", "p90", "p99", "p99.9", "p99.99", "max"
    );
    let mut rows: Vec<(String, &Latency)> = Vec::new();
    if run.labels.len() > 1 {
        for (i, h) in run.rec.hists.iter().enumerate() {
            if h.count() > 0 {
                rows.push((run.labels[i].clone(), h));
            }
        }
    }
    rows.push(("all".into(), &overall));
    for (name, h) in rows {
        let _ = write!(s, "  {:<16}{:>10}{:>12.0}", name, h.count(), per_sec(h.count(), run.elapsed));
        for (_, p) in PERCENTILES {
            let _ = write!(s, "{:>9.3}", ms(h.percentile_us(p)));
        }
        let _ = writeln!(s, "{:>9.3}", ms(h.max_us()));
    }
    if let Some(t) = timeline {
        let fan = &run.rec.hists[crate::workload::timeline::FANOUT as usize];
        let largest = &run.rec.hists[crate::workload::timeline::FANOUT_LARGEST as usize];
        let _ = writeln!(s, "  timeline:");
        let _ = writeln!(
            s,
            "    follower graph: {} users, {} follows, largest account {} followers",
            t.users, t.edges, t.largest_followers
        );
        let _ = writeln!(
            s,
            "    posts: {} ({:.2}/s, {} scheduled), deliveries: {} ({:.0}/s)",
            fan.count(),
            per_sec(fan.count(), run.elapsed),
            t.post_rate,
            t.deliveries,
            per_sec(t.deliveries, run.elapsed)
        );
        let _ = writeln!(
            s,
            "    fan-out completion (msec): p50 {:.3}  p99 {:.3}  max {:.3}",
            ms(fan.percentile_us(50.0)),
            ms(fan.percentile_us(99.0)),
            ms(fan.max_us())
        );
        let _ = writeln!(
            s,
            "    largest account's posts: {}, fan-out (msec): p50 {:.3}  p99 {:.3}  max {:.3}",
            largest.count(),
            ms(largest.percentile_us(50.0)),
            ms(largest.percentile_us(99.0)),
            ms(largest.max_us())
        );
    }
    s
}

/// redis-benchmark -q: one line per test or operation.
pub fn quiet(runs: &[RunResult]) -> String {
    let mut s = String::new();
    for e in entries(runs) {
        let _ = writeln!(
            s,
            "{}: {:.2} requests per second, p50={:.3} msec",
            e.name,
            per_sec(e.hist.count(), e.elapsed),
            ms(e.hist.percentile_us(50.0))
        );
    }
    s
}

/// redis-benchmark --csv's columns.
pub fn csv(runs: &[RunResult]) -> String {
    let mut s = String::from(
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n",
    );
    for e in entries(runs) {
        let h = e.hist;
        let _ = writeln!(
            s,
            "\"{}\",\"{:.2}\",\"{:.3}\",\"{:.3}\",\"{:.3}\",\"{:.3}\",\"{:.3}\",\"{:.3}\"",
            e.name.replace('"', "\"\""),
            per_sec(h.count(), e.elapsed),
            ms(h.mean_us()),
            ms(h.min_us()),
            ms(h.percentile_us(50.0)),
            ms(h.percentile_us(95.0)),
            ms(h.percentile_us(99.0)),
            ms(h.max_us())
        );
    }
    s
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number (JSON has no NaN or infinity).
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{}", (x * 1000.0).round() / 1000.0)
    } else {
        "null".into()
    }
}

fn latency_json(h: &Latency, elapsed: Duration) -> String {
    let mut s = format!(
        "{{\"ops\":{},\"ops_per_sec\":{},\"avg\":{},\"min\":{}",
        h.count(),
        num(per_sec(h.count(), elapsed)),
        num(h.mean_us()),
        num(h.min_us())
    );
    for (name, p) in PERCENTILES {
        let _ = write!(s, ",{}:{}", json_str(name), num(h.percentile_us(p)));
    }
    let _ = write!(s, ",\"max\":{}}}", num(h.max_us()));
    s
}

/// One JSON object for the whole invocation; latencies in microseconds.
pub fn json(runs: &[RunResult], info: &RunInfo, timeline: Option<&TimelineStats>) -> String {
    let mut overall = Latency::new();
    let (mut requests, mut errors, mut elapsed) = (0u64, 0u64, Duration::ZERO);
    let mut first_error: Option<&str> = None;
    for r in runs {
        overall.merge(&r.rec.overall());
        requests += r.rec.requests;
        errors += r.rec.errors;
        elapsed += r.elapsed;
        first_error = first_error.or(r.rec.first_error.as_deref());
    }
    let mut s = String::from("{");
    let _ = write!(s, "\"workload\":{}", json_str(&info.workload));
    let _ = write!(s, ",\"mode\":{}", json_str(if info.rate.is_some() { "open" } else { "closed" }));
    let _ = write!(s, ",\"rate\":{}", info.rate.map_or("null".into(), num));
    let _ = write!(
        s,
        ",\"clients\":{},\"pipeline\":{},\"threads\":{},\"data_size\":{}",
        info.clients, info.pipeline, info.threads, info.data_size
    );
    let _ = write!(s, ",\"duration_sec\":{}", num(elapsed.as_secs_f64()));
    let _ = write!(s, ",\"ops\":{},\"requests\":{}", overall.count(), requests);
    let _ = write!(s, ",\"ops_per_sec\":{}", num(per_sec(overall.count(), elapsed)));
    let _ = write!(s, ",\"errors\":{}", errors);
    if let Some(e) = first_error {
        let _ = write!(s, ",\"first_error\":{}", json_str(e));
    }
    s.push_str(",\"unit\":\"us\",\"commands\":{");
    for (i, e) in entries(runs).iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{}:{}", json_str(&e.name), latency_json(e.hist, e.elapsed));
    }
    let _ = write!(s, "}},\"overall\":{}", latency_json(&overall, elapsed));
    if let (Some(t), Some(run)) = (timeline, runs.first()) {
        let fan = &run.rec.hists[crate::workload::timeline::FANOUT as usize];
        let largest = &run.rec.hists[crate::workload::timeline::FANOUT_LARGEST as usize];
        let reads = &run.rec.hists[crate::workload::timeline::READ as usize];
        let _ = write!(
            s,
            ",\"timeline\":{{\"users\":{},\"follows\":{},\"posts\":{},\"posts_per_sec\":{},\"deliveries\":{},\"deliveries_per_sec\":{},\"fanout\":{},\"largest_account\":{{\"followers\":{},\"fanout\":{}}},\"reads\":{}}}",
            t.users,
            t.edges,
            fan.count(),
            num(per_sec(fan.count(), run.elapsed)),
            t.deliveries,
            num(per_sec(t.deliveries, run.elapsed)),
            latency_json(fan, run.elapsed),
            t.largest_followers,
            latency_json(largest, run.elapsed),
            latency_json(reads, run.elapsed)
        );
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::Recorder;

    fn run_with(name: &str, labels: &[&str], samples: &[(usize, u64)]) -> RunResult {
        let mut rec = Recorder::new(labels.len());
        for &(label, us) in samples {
            rec.hists[label].record(Duration::from_micros(us));
        }
        rec.requests = samples.len() as u64;
        RunResult {
            name: name.into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            rec,
            elapsed: Duration::from_secs(2),
            series: Vec::new(),
        }
    }

    fn info() -> RunInfo {
        RunInfo { workload: "tests".into(), clients: 1, data_size: 3, pipeline: 1, threads: 1, rate: None }
    }

    #[test]
    fn json_has_every_percentile_per_command_and_overall() {
        let runs = [run_with("SET", &["SET"], &[(0, 100), (0, 300)]), run_with("GET", &["GET"], &[(0, 200)])];
        let j = json(&runs, &info(), None);
        for key in
            ["\"ops_per_sec\":0.75", "\"SET\":{", "\"GET\":{", "\"overall\":{", "\"p99.99\":", "\"p99.9\":", "\"p90\":"]
        {
            assert!(j.contains(key), "{key} missing in {j}");
        }
        assert!(j.contains("\"GET\":{\"ops\":1,\"ops_per_sec\":0.5,\"avg\":200"), "{j}");
        assert_eq!(j.matches('{').count(), j.matches('}').count());
    }

    #[test]
    fn text_and_csv_follow_redis_benchmark() {
        let runs = [run_with("SET", &["SET"], &[(0, 1000), (0, 1000)])];
        let t = text(&runs[0], &info(), None);
        assert!(t.starts_with("====== SET ======\n  2 requests completed in 2.00 seconds\n"), "{t}");
        assert!(t.contains("throughput summary: 1.00 requests per second"));
        assert!(t.contains("latency summary (msec):"));
        let c = csv(&runs);
        assert!(c.lines().nth(1).unwrap().starts_with("\"SET\",\"1.00\",\"1.000\""), "{c}");
        assert_eq!(quiet(&runs), "SET: 1.00 requests per second, p50=1.000 msec\n");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}

//! `roost bench`: a load generator for any Redis-protocol endpoint (Roost, redis-server, a proxy,
//! a cluster).
//!
//! Owns: the command line of `roost bench`, connection handling on the client side, workloads
//! (redis-benchmark's tests, the GET/SET/INCR/timeline mix, timeline fan-out over a power-law
//! follower graph), key distributions (uniform, Zipf), open- and closed-loop pacing, latency
//! histograms and the text/CSV/JSON/SVG reports.
//! Never: the keyspace or the server. This crate depends on the protocol crate only, never on the
//! store or the server crates, so it measures Roost exactly as any other client sees it.

pub mod cli;
pub mod cluster;
pub mod conn;
pub mod histogram;
pub mod report;
pub mod rng;
pub mod runner;
pub mod schedule;
pub mod svg;
pub mod workload;

use cli::{Format, Options, Parsed, Workload};
use conn::Endpoint;
use report::{RunInfo, TimelineStats};
use roost_resp::RespValue;
use runner::{ClientSpec, Pacing, RunResult, RunSpec};
use std::process::ExitCode;
use std::sync::Arc;
use workload::mix::{MixDriver, PrefillDriver};
use workload::suite::SuiteDriver;
use workload::timeline::{PostDriver, ReadDriver, Timeline};
use workload::KeyDist;

/// Entry point of `roost bench` (arguments after the subcommand).
pub fn cli_main(args: &[String]) -> ExitCode {
    let options = match cli::parse(args) {
        Ok(Parsed::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(o)) => o,
        Err(e) => {
            eprintln!("roost bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match bench(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roost bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn seed_of(o: &Options, salt: u64, client: usize) -> u64 {
    o.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(1_000_003) ^ client as u64
}

/// Runs what the options ask for and prints the report.
pub fn bench(o: &Options) -> Result<(), String> {
    let endpoint = Endpoint { host: o.host.clone(), port: o.port, user: o.user.clone(), password: o.password.clone() };
    // One connection up front: a refused connection or a wrong password is reported once, clearly.
    let mut probe = conn::connect(&endpoint)?;
    let slots = if o.cluster {
        let reply = conn::call(&mut probe, &[b"CLUSTER", b"SLOTS"])?;
        Some(Arc::new(cluster::SlotMap::from_cluster_slots(&reply, &o.host)?))
    } else {
        // A server that wants a password answers everything with NOAUTH: say so once, up front.
        if let RespValue::Error(e) = conn::call(&mut probe, &[b"PING"])? {
            return Err(format!("{} answered PING with: {}", endpoint.addr(), String::from_utf8_lossy(&e)));
        }
        None
    };
    drop(probe);
    let value: Arc<[u8]> = vec![b'x'; o.data_size].into();
    let progress = o.format == Format::Text;
    let info = RunInfo {
        workload: match &o.workload {
            Workload::Tests(_) => "tests".into(),
            Workload::Mix(_) => "mix".into(),
            Workload::Timeline => "timeline".into(),
        },
        clients: o.clients,
        data_size: o.data_size,
        pipeline: o.pipeline,
        threads: o.threads,
        rate: o.rate,
    };
    let spec = |name: String, labels: Vec<String>, clients: Vec<ClientSpec>, ops: Option<u64>| RunSpec {
        name,
        views: if matches!(o.workload, Workload::Timeline) { 1 } else { 0 },
        labels,
        clients,
        threads: o.threads,
        endpoint: endpoint.clone(),
        slots: slots.clone(),
        ops,
        duration: o.duration,
        progress,
    };
    let pacing = |i: usize, of: usize| match o.rate {
        Some(rate) => Pacing::Open { rate, index: i, of },
        None => Pacing::Closed { depth: o.pipeline },
    };
    let ops = if o.duration.is_some() { None } else { Some(o.requests) };
    let keys = KeyDist::new(o.keyspace, o.zipf);
    let users = KeyDist::new(Some(o.users as u64), o.zipf);
    let mut runs: Vec<RunResult> = Vec::new();
    let mut timeline_stats = None;
    match &o.workload {
        Workload::Tests(tests) => {
            for (t, &test) in tests.iter().enumerate() {
                let clients = (0..o.clients)
                    .map(|i| ClientSpec {
                        driver: Box::new(SuiteDriver::new(test, keys.clone(), seed_of(o, t as u64, i), value.clone())),
                        pacing: pacing(i, o.clients),
                        counted: true,
                    })
                    .collect();
                let run = runner::run(spec(test.title(), vec![test.title()], clients, ops))?;
                show(o, &run, &info, None);
                runs.push(run);
            }
        }
        Workload::Mix(mix) => {
            if mix.has(workload::mix::MixOp::Timeline) {
                prefill(o, &endpoint, &slots, &value)?;
            }
            let mix = Arc::new(mix.clone());
            let clients = (0..o.clients)
                .map(|i| ClientSpec {
                    driver: Box::new(MixDriver::new(
                        mix.clone(),
                        keys.clone(),
                        users.clone(),
                        seed_of(o, 1, i),
                        value.clone(),
                    )),
                    pacing: pacing(i, o.clients),
                    counted: true,
                })
                .collect();
            let labels = workload::mix::LABELS.iter().map(|s| s.to_string()).collect();
            let run = runner::run(spec("MIX".into(), labels, clients, ops))?;
            show(o, &run, &info, None);
            runs.push(run);
        }
        Workload::Timeline => {
            let graph = workload::graph::Graph::generate(o.users, o.seed);
            let (edges, largest_followers) = (graph.edges(), graph.followers[graph.largest as usize].len());
            let shared = Arc::new(Timeline::new(graph, value.clone()));
            let writers = o.writers.unwrap_or((o.clients / 10).max(1));
            let readers = o.clients - writers;
            let mut clients: Vec<ClientSpec> = (0..writers)
                .map(|i| ClientSpec {
                    driver: Box::new(PostDriver::new(shared.clone(), seed_of(o, 2, i))),
                    pacing: Pacing::Open { rate: o.post_rate, index: i, of: writers },
                    counted: false,
                })
                .collect();
            clients.extend((0..readers).map(|i| ClientSpec {
                driver: Box::new(ReadDriver::new(users.clone(), seed_of(o, 3, i))),
                pacing: pacing(i, readers),
                counted: true,
            }));
            let labels = workload::timeline::LABELS.iter().map(|s| s.to_string()).collect();
            let run = runner::run(spec("TIMELINE".into(), labels, clients, ops))?;
            let stats = TimelineStats {
                users: o.users,
                edges,
                largest_followers,
                deliveries: shared.deliveries.load(std::sync::atomic::Ordering::Relaxed),
                post_rate: o.post_rate,
            };
            show(o, &run, &info, Some(&stats));
            timeline_stats = Some(stats);
            runs.push(run);
        }
    }
    match o.format {
        Format::Csv => print!("{}", report::csv(&runs)),
        Format::Json => println!("{}", report::json(&runs, &info, timeline_stats.as_ref())),
        Format::Text | Format::Quiet => {}
    }
    let errors: u64 = runs.iter().map(|r| r.rec.errors).sum();
    if errors > 0 && o.format != Format::Text {
        let first = runs.iter().find_map(|r| r.rec.first_error.clone()).unwrap_or_default();
        eprintln!("roost bench: {errors} requests got an error reply (first: {first})");
    }
    if let Some(path) = &o.output {
        write_chart(path, &runs)?;
    }
    Ok(())
}

/// Prints one run as soon as it is done (text and quiet output), as redis-benchmark does.
fn show(o: &Options, run: &RunResult, info: &RunInfo, timeline: Option<&TimelineStats>) {
    match o.format {
        Format::Text => println!("{}", report::text(run, info, timeline)),
        Format::Quiet => print!("{}", report::quiet(std::slice::from_ref(run))),
        Format::Csv | Format::Json => {}
    }
}

/// Fills the home timelines and posts the mix's timeline operations read.
fn prefill(
    o: &Options,
    endpoint: &Endpoint,
    slots: &Option<Arc<cluster::SlotMap>>,
    value: &Arc<[u8]>,
) -> Result<(), String> {
    let users = o.users as u64;
    runner::run(RunSpec {
        name: "prefill".into(),
        labels: vec!["prefill".into()],
        views: 0,
        clients: vec![ClientSpec {
            driver: Box::new(PrefillDriver::new(users, seed_of(o, 4, 0), value.clone())),
            pacing: Pacing::Closed { depth: 64 },
            counted: true,
        }],
        threads: 1,
        endpoint: endpoint.clone(),
        slots: slots.clone(),
        ops: Some(PrefillDriver::ops(users)),
        duration: None,
        progress: false,
    })?;
    Ok(())
}

fn write_chart(path: &str, runs: &[RunResult]) -> Result<(), String> {
    let entries = report::entries(runs);
    let curves: Vec<(String, &histogram::Latency)> = entries.iter().map(|e| (e.name.clone(), e.hist)).collect();
    // Phases run one after the other: their throughput samples go end to end.
    let mut series = Vec::new();
    let mut offset = 0.0;
    for r in runs {
        series.extend(r.series.iter().map(|&(t, v)| (offset + t, v)));
        offset += r.elapsed.as_secs_f64();
    }
    let title = runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ");
    std::fs::write(path, svg::chart(&format!("roost bench: {title}"), &curves, &series))
        .map_err(|e| format!("could not write {path}: {e}"))
}

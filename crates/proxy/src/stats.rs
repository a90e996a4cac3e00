//! Stats on the stats port: nutcracker's JSON (its field names, so existing collectors keep
//! working) and the same counters as Prometheus text for `GET /metrics`.
//!
//! Values are read live from the counters rather than aggregated every `-i` milliseconds, so
//! they never lag.

use std::fmt::Write;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::pool::{unix_secs, PoolShared, PoolStats, PoolView, Server, ServerStats, LATENCY_BOUNDS_US};
use crate::server::{RunOptions, CURR_CONNECTIONS, TOTAL_CONNECTIONS};

/// What each field means, for `-D` (describe stats).
pub const DESCRIPTIONS: &[(&str, &str)] = &[
    ("client_eof", "pool: # eof on client connections"),
    ("client_err", "pool: # errors on client connections"),
    ("client_connections", "pool: # active client connections"),
    ("server_ejects", "pool: # times backend server was ejected"),
    ("forward_error", "pool: # times we encountered a forwarding error"),
    ("fragments", "pool: # fragments created from a multi-vector request"),
    ("server_eof", "server: # eof on server connections"),
    ("server_err", "server: # errors on server connections"),
    ("server_timedout", "server: # timeouts on server connections"),
    ("server_connections", "server: # active server connections"),
    ("server_ejected_at", "server: timestamp when server was ejected in usec since epoch"),
    ("requests", "server: # requests"),
    ("request_bytes", "server: total request bytes"),
    ("responses", "server: # responses"),
    ("response_bytes", "server: total response bytes"),
    ("in_queue", "server: # requests in incoming queue"),
    ("in_queue_bytes", "server: current request bytes in incoming queue"),
    ("out_queue", "server: # requests in outgoing queue"),
    ("out_queue_bytes", "server: current request bytes in outgoing queue"),
];

/// A JSON string literal.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

pub fn render(pools: &[Arc<PoolShared>], started: u64, _opts: &RunOptions) -> String {
    let now = unix_secs();
    let mut j = String::with_capacity(1024);
    let _ = write!(
        j,
        "{{\"service\":\"nutcracker\", \"source\":{}, \"version\":{}, \"uptime\":{}, \"timestamp\":{}, \
         \"total_connections\":{}, \"curr_connections\":{}",
        quoted(&hostname()),
        quoted(env!("CARGO_PKG_VERSION")),
        now.saturating_sub(started),
        now,
        TOTAL_CONNECTIONS.load(Relaxed),
        CURR_CONNECTIONS.load(Relaxed)
    );
    for p in pools {
        let s = &p.stats;
        let view = p.view();
        let _ = write!(
            j,
            ", {}: {{\"client_eof\":{}, \"client_err\":{}, \"client_connections\":{}, \"server_ejects\":{}, \
             \"forward_error\":{}, \"fragments\":{}",
            quoted(&p.name),
            s.client_eof.load(Relaxed),
            s.client_err.load(Relaxed),
            s.client_connections.load(Relaxed),
            s.server_ejects.load(Relaxed),
            s.forward_error.load(Relaxed),
            s.fragments.load(Relaxed)
        );
        for st in view.servers.iter() {
            let v = &st.stats;
            let _ = write!(
                j,
                ", {}: {{\"server_eof\":{}, \"server_err\":{}, \"server_timedout\":{}, \"server_connections\":{}, \
                 \"server_ejected_at\":{}, \"requests\":{}, \"request_bytes\":{}, \"responses\":{}, \
                 \"response_bytes\":{}, \"in_queue\":{}, \"in_queue_bytes\":{}, \"out_queue\":{}, \
                 \"out_queue_bytes\":{}}}",
                quoted(&st.cfg.name),
                v.server_eof.load(Relaxed),
                v.server_err.load(Relaxed),
                v.server_timedout.load(Relaxed),
                v.server_connections.load(Relaxed),
                v.server_ejected_at.load(Relaxed) * 1_000_000,
                v.requests.load(Relaxed),
                v.request_bytes.load(Relaxed),
                v.responses.load(Relaxed),
                v.response_bytes.load(Relaxed),
                v.in_queue.load(Relaxed),
                v.in_queue_bytes.load(Relaxed),
                v.out_queue.load(Relaxed),
                v.out_queue_bytes.load(Relaxed)
            );
        }
        j.push('}');
    }
    j.push_str("}\n");
    j
}

/// `{"pool": [{"key": "...", "requests": N}, ...], ...}`: each pool's hottest keys over the last
/// stats interval, most requested first.
pub fn render_hot_keys(pools: &[Arc<PoolShared>]) -> String {
    let mut j = String::from("{");
    for (i, p) in pools.iter().enumerate() {
        if i > 0 {
            j.push_str(", ");
        }
        let _ = write!(j, "{}: [", quoted(&p.name));
        for (n, (key, count)) in p.hot_keys().iter().enumerate() {
            if n > 0 {
                j.push_str(", ");
            }
            let _ = write!(j, "{{\"key\":{}, \"requests\":{count}}}", quoted(&String::from_utf8_lossy(key)));
        }
        j.push(']');
    }
    j.push_str("}\n");
    j
}

/// A Prometheus label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Per-pool counters for /metrics: name, help text, and where the count lives.
type PoolCounter = (&'static str, &'static str, fn(&PoolStats) -> &AtomicU64);
const POOL_COUNTERS: &[PoolCounter] = &[
    ("client_eof_total", "Client connections closed by the client.", |s| &s.client_eof),
    ("client_err_total", "Client connections closed on an error.", |s| &s.client_err),
    ("server_ejects_total", "Times a backend server was ejected.", |s| &s.server_ejects),
    ("forward_error_total", "Requests that could not be forwarded (no live server).", |s| &s.forward_error),
    ("fragments_total", "Sub-requests created by splitting multi-key commands.", |s| &s.fragments),
];

/// Per-server counters for /metrics.
type ServerCounter = (&'static str, &'static str, fn(&ServerStats) -> &AtomicU64);
// The health-check counters are Roost's own and so are only here, not in nutcracker's JSON.
const SERVER_COUNTERS: &[ServerCounter] = &[
    ("server_requests_total", "Requests sent to the server.", |s| &s.requests),
    ("server_request_bytes_total", "Request bytes sent to the server.", |s| &s.request_bytes),
    ("server_responses_total", "Replies received from the server.", |s| &s.responses),
    ("server_response_bytes_total", "Reply bytes received from the server.", |s| &s.response_bytes),
    ("server_eof_total", "Server connections closed by the server.", |s| &s.server_eof),
    ("server_err_total", "Server connections that failed (connect, I/O or protocol errors).", |s| &s.server_err),
    ("server_timedout_total", "Server connections closed by the request timeout.", |s| &s.server_timedout),
    ("server_health_checks_total", "PING probes sent to the server while it was ejected.", |s| &s.health_checks),
    ("server_health_check_failures_total", "PING probes to the ejected server that got no +PONG.", |s| {
        &s.health_check_failures
    }),
];

/// The counters in Prometheus text format, per pool and per server.
pub fn render_prometheus(pools: &[Arc<PoolShared>]) -> String {
    let mut m = String::with_capacity(4096);
    let mut family = |name: &str, kind: &str, help: &str, rows: &mut dyn Iterator<Item = (String, u64)>| {
        let _ = writeln!(m, "# HELP roost_proxy_{name} {help}");
        let _ = writeln!(m, "# TYPE roost_proxy_{name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(m, "roost_proxy_{name}{{{labels}}} {v}");
        }
    };
    let pool_rows = |f: &dyn Fn(&PoolShared) -> u64| -> Vec<(String, u64)> {
        pools.iter().map(|p| (format!("pool=\"{}\"", label(&p.name)), f(p))).collect()
    };
    // One view per pool for the whole page, so every family lists the same servers.
    let views: Vec<(&PoolShared, Arc<PoolView>)> = pools.iter().map(|p| (&**p, p.view())).collect();
    let server_rows = |f: &dyn Fn(&Server) -> u64| -> Vec<(String, u64)> {
        views
            .iter()
            .flat_map(|(p, v)| {
                v.servers
                    .iter()
                    .map(move |s| (format!("pool=\"{}\",server=\"{}\"", label(&p.name), label(&s.cfg.name)), f(s)))
            })
            .collect()
    };
    let n = |v: i64| v.max(0) as u64;
    family(
        "client_connections",
        "gauge",
        "Client connections open now.",
        &mut pool_rows(&|p| n(p.stats.client_connections.load(Relaxed))).into_iter(),
    );
    for (name, help, counter) in POOL_COUNTERS {
        family(name, "counter", help, &mut pool_rows(&|p| counter(&p.stats).load(Relaxed)).into_iter());
    }
    for (name, help, counter) in SERVER_COUNTERS {
        family(name, "counter", help, &mut server_rows(&|s| counter(&s.stats).load(Relaxed)).into_iter());
    }
    family(
        "server_connections",
        "gauge",
        "Server connections open now, over all worker threads.",
        &mut server_rows(&|s| n(s.stats.server_connections.load(Relaxed))).into_iter(),
    );
    family(
        "server_outstanding_requests",
        "gauge",
        "Requests sent to the server and not answered yet.",
        &mut server_rows(&|s| n(s.stats.out_queue.load(Relaxed))).into_iter(),
    );
    family(
        "server_ejected",
        "gauge",
        "1 while the server is ejected from the ring.",
        &mut server_rows(&|s| u64::from(s.is_ejected())).into_iter(),
    );
    let _ = writeln!(m, "# HELP roost_proxy_hot_key_requests Requests for the pool's hottest keys in the last stats interval (estimated from a sample).");
    let _ = writeln!(m, "# TYPE roost_proxy_hot_key_requests gauge");
    for p in pools {
        for (key, n) in p.hot_keys() {
            let key = label(&String::from_utf8_lossy(&key));
            let _ = writeln!(m, "roost_proxy_hot_key_requests{{pool=\"{}\",key=\"{key}\"}} {n}", label(&p.name));
        }
    }
    let _ = writeln!(m, "# HELP roost_proxy_server_latency_seconds Time from queueing a request to its reply.");
    let _ = writeln!(m, "# TYPE roost_proxy_server_latency_seconds histogram");
    for (p, v) in &views {
        for st in v.servers.iter() {
            let labels = format!("pool=\"{}\",server=\"{}\"", label(&p.name), label(&st.cfg.name));
            let lat = &st.stats.latency;
            let mut cumulative = 0u64;
            for (i, bucket) in lat.buckets.iter().enumerate() {
                cumulative += bucket.load(Relaxed);
                let le = match LATENCY_BOUNDS_US.get(i) {
                    Some(us) => format!("{}", *us as f64 / 1e6),
                    None => "+Inf".to_string(),
                };
                let _ = writeln!(m, "roost_proxy_server_latency_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let sum = lat.sum_us.load(Relaxed) as f64 / 1e6;
            let _ = writeln!(m, "roost_proxy_server_latency_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(m, "roost_proxy_server_latency_seconds_count{{{labels}}} {cumulative}");
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn renders_nutcracker_field_names() {
        let cfg = Config::load_str(
            "alpha:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:7001:1 server1\n   - 127.0.0.1:7002:1 se\"r\n",
            "t",
        )
        .unwrap();
        let pools: Vec<Arc<PoolShared>> = cfg.pools.into_iter().map(|p| Arc::new(PoolShared::new(p))).collect();
        pools[0].stats.client_eof.fetch_add(3, Relaxed);
        let j = render(&pools, unix_secs(), &RunOptions::default());
        assert!(j.starts_with("{\"service\":\"nutcracker\""));
        assert!(j.contains("\"alpha\": {\"client_eof\":3,"));
        assert!(j.contains("\"server1\": {\"server_eof\":0,"));
        assert!(j.contains("\"se\\\"r\": {"));
        assert!(j.trim_end().ends_with("}}}"));
        for (field, _) in DESCRIPTIONS {
            assert!(j.contains(&format!("\"{field}\":")), "{field}");
        }
    }

    #[test]
    fn prometheus_text_has_labels_per_pool_and_server() {
        let cfg = Config::load_str(
            "alpha:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:7001:1 server1\n   - 127.0.0.1:7002:1 se\"r\n",
            "t",
        )
        .unwrap();
        let pools: Vec<Arc<PoolShared>> = cfg.pools.into_iter().map(|p| Arc::new(PoolShared::new(p))).collect();
        // Sorted by name length: se"r is server 0, server1 is server 1.
        pools[0].view().servers[1].stats.requests.fetch_add(7, Relaxed);
        let m = render_prometheus(&pools);
        assert!(m.contains("# TYPE roost_proxy_server_requests_total counter\n"));
        assert!(m.contains("roost_proxy_server_requests_total{pool=\"alpha\",server=\"server1\"} 7\n"), "{m}");
        assert!(m.contains("roost_proxy_server_ejected{pool=\"alpha\",server=\"se\\\"r\"} 0\n"), "{m}");
        assert!(m.contains("roost_proxy_client_connections{pool=\"alpha\"} 0\n"));
        let mut batch = crate::pool::LatencyBatch::default();
        batch.observe(300);
        pools[0].view().servers[1].stats.latency.add(&batch);
        let m = render_prometheus(&pools);
        assert!(
            m.contains(
                "roost_proxy_server_latency_seconds_bucket{pool=\"alpha\",server=\"server1\",le=\"0.00025\"} 0\n"
            ),
            "{m}"
        );
        assert!(
            m.contains(
                "roost_proxy_server_latency_seconds_bucket{pool=\"alpha\",server=\"server1\",le=\"0.0005\"} 1\n"
            ),
            "{m}"
        );
        assert!(
            m.contains("roost_proxy_server_latency_seconds_bucket{pool=\"alpha\",server=\"server1\",le=\"+Inf\"} 1\n")
        );
        assert!(m.contains("roost_proxy_server_latency_seconds_count{pool=\"alpha\",server=\"server1\"} 1\n"));
    }
}

//! INFO: Redis's sections and field names, filled from Roost's own counters.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use roost_config::REDIS_VERSION;
use roost_resp::Args;
use roost_store::now_ms;

use super::BASE;
use crate::alloc;
use crate::command::{flags::*, CommandSpec};
use crate::ctx::Ctx;
use crate::error::CmdResult;
use crate::stats::LatencyHistogram;

pub const INFO: CommandSpec = CommandSpec {
    name: "info",
    arity: -1,
    flags: LOADING | STALE | SENTINEL,
    acl: &["@slow", "@dangerous"],
    group: "server",
    summary: "Returns information and statistics about the server.",
    run: info,
    ..BASE
};

/// Sections in the order INFO prints them, and whether `INFO` without arguments includes them.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut wanted: Vec<&str> = Vec::new();
    let requested: Vec<String> = args.iter().skip(1).map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    if requested.is_empty() {
        wanted.extend(SECTIONS.iter().filter(|(_, d)| *d).map(|(n, _)| *n));
    }
    for r in &requested {
        match r.as_str() {
            "all" | "everything" => wanted.extend(SECTIONS.iter().map(|(n, _)| *n)),
            "default" => wanted.extend(SECTIONS.iter().filter(|(_, d)| *d).map(|(n, _)| *n)),
            other => {
                if let Some((n, _)) = SECTIONS.iter().find(|(n, _)| *n == other) {
                    wanted.push(n);
                }
            }
        }
    }
    let mut text = String::new();
    for (name, _) in SECTIONS.iter().filter(|(n, _)| wanted.contains(n)) {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        section(ctx, name, &mut text);
    }
    ctx.reply.verbatim(b"txt", text.as_bytes());
    Ok(())
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=1023 => format!("{bytes}B"),
        1024..=1_048_575 => format!("{:.2}K", b / 1024.0),
        1_048_576..=1_073_741_823 => format!("{:.2}M", b / 1_048_576.0),
        1_073_741_824..=1_099_511_627_775 => format!("{:.2}G", b / 1_073_741_824.0),
        _ => format!("{:.2}T", b / 1_099_511_627_776.0),
    }
}

fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(usage.ru_stime), t(usage.ru_utime))
}

fn section(ctx: &Ctx, name: &str, out: &mut String) {
    let s = ctx.server;
    let config = s.config.read();
    let get = |n: &str| config.get_one(n).unwrap_or_default();
    macro_rules! field {
        ($k:expr, $v:expr) => {
            let _ = write!(out, "{}:{}\r\n", $k, $v);
        };
    }
    match name {
        "server" => {
            out.push_str("# Server\r\n");
            let uptime = s.started.elapsed().as_secs();
            field!("redis_version", REDIS_VERSION);
            field!("redis_git_sha1", "00000000");
            field!("redis_git_dirty", 0);
            field!("redis_build_id", "0");
            field!("redis_mode", "standalone");
            field!("os", format!("{} {}", std::env::consts::OS, std::env::consts::ARCH));
            field!("arch_bits", 64);
            field!("monotonic_clock", "POSIX clock_gettime");
            field!("multiplexing_api", "epoll");
            field!("atomicvar_api", "c11-builtin");
            field!("gcc_version", "0.0.0");
            field!("process_id", std::process::id());
            field!("process_supervised", "no");
            field!("run_id", s.run_id);
            field!("tcp_port", s.tcp_port.load(Ordering::Relaxed));
            field!("server_time_usec", now_ms() * 1000);
            field!("uptime_in_seconds", uptime);
            field!("uptime_in_days", uptime / 86400);
            field!("hz", s.live.hz.load(Ordering::Relaxed));
            field!("configured_hz", get("hz"));
            field!("lru_clock", (now_ms() / 1000) & ((1 << 24) - 1));
            field!("executable", std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default());
            field!("config_file", config.config_file().map(|p| p.display().to_string()).unwrap_or_default());
            field!("io_threads_active", 0);
            field!("roost_version", env!("CARGO_PKG_VERSION"));
            field!("roost_worker_threads", s.threads);
        }
        "clients" => {
            out.push_str("# Clients\r\n");
            field!("connected_clients", s.client_count.load(Ordering::Relaxed));
            field!("cluster_connections", 0);
            field!("maxclients", s.live.maxclients.load(Ordering::Relaxed));
            let clients = s.clients.lock();
            let max_in = clients.values().map(|c| c.query_buf.load(Ordering::Relaxed)).max().unwrap_or(0);
            let max_out = clients.values().map(|c| c.output_len.load(Ordering::Relaxed)).max().unwrap_or(0);
            drop(clients);
            field!("client_recent_max_input_buffer", max_in);
            field!("client_recent_max_output_buffer", max_out);
            field!("blocked_clients", s.blocking.blocked_clients());
            field!("tracking_clients", s.tracking.clients());
            field!("clients_in_timeout_table", 0);
        }
        "memory" => {
            out.push_str("# Memory\r\n");
            let used = alloc::used_memory();
            let peak = alloc::peak_memory();
            let rss = alloc::rss_bytes();
            let system = alloc::total_system_memory();
            let maxmemory = config.maxmemory();
            field!("used_memory", used);
            field!("used_memory_human", human(used));
            field!("used_memory_rss", rss);
            field!("used_memory_rss_human", human(rss));
            field!("used_memory_peak", peak);
            field!("used_memory_peak_human", human(peak));
            field!("used_memory_peak_perc", format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64));
            field!("total_system_memory", system);
            field!("total_system_memory_human", human(system));
            // One Lua VM serves scripts and functions alike, so its memory is reported as the
            // scripts' VM and the functions' VM shows none of its own.
            let lua = s.scripting.counts();
            field!("used_memory_lua", lua.lua_memory);
            field!("used_memory_vm_eval", lua.lua_memory);
            field!("used_memory_lua_human", human(lua.lua_memory as u64));
            field!("used_memory_scripts_eval", lua.script_bytes);
            field!("number_of_cached_scripts", lua.scripts);
            field!("number_of_functions", lua.functions);
            field!("number_of_libraries", lua.libraries);
            field!("used_memory_vm_functions", 0);
            field!("used_memory_vm_total", lua.lua_memory);
            field!("used_memory_vm_total_human", human(lua.lua_memory as u64));
            field!("used_memory_functions", lua.library_bytes);
            field!("used_memory_scripts", lua.script_bytes + lua.library_bytes);
            field!("used_memory_scripts_human", human((lua.script_bytes + lua.library_bytes) as u64));
            field!("maxmemory", maxmemory);
            field!("maxmemory_human", human(maxmemory));
            field!("maxmemory_policy", get("maxmemory-policy"));
            field!("mem_fragmentation_ratio", format!("{:.2}", rss as f64 / used.max(1) as f64));
            field!("mem_allocator", "libc");
            field!("lazyfree_pending_objects", 0);
            field!("lazyfreed_objects", 0);
        }
        "persistence" => {
            out.push_str("# Persistence\r\n");
            field!("loading", 0);
            field!("async_loading", 0);
            field!("current_cow_peak", 0);
            field!("current_cow_size", 0);
            field!("current_cow_size_age", 0);
            field!("current_fork_perc", "0.00");
            field!("current_save_keys_processed", 0);
            field!("current_save_keys_total", 0);
            field!("rdb_changes_since_last_save", crate::persist::changes_since_save(s));
            field!("rdb_bgsave_in_progress", s.save.in_progress() as u8);
            field!("rdb_last_save_time", s.save.last_save.load(Ordering::Relaxed));
            field!("rdb_last_bgsave_status", if s.save.last_ok() { "ok" } else { "err" });
            field!("rdb_last_bgsave_time_sec", s.save.last_duration.load(Ordering::Relaxed));
            field!("rdb_current_bgsave_time_sec", s.save.current_secs());
            field!("rdb_saves", s.save.saves.load(Ordering::Relaxed));
            field!("rdb_last_cow_size", 0);
            field!("rdb_last_load_keys_expired", 0);
            field!("rdb_last_load_keys_loaded", 0);
            field!("aof_enabled", s.aof.is_on() as u8);
            for (name, value) in s.aof.rewrite.info_fields() {
                field!(name, value);
            }
            field!("aof_last_write_status", if s.aof.last_write_ok() { "ok" } else { "err" });
            field!("aof_last_cow_size", 0);
            field!("module_fork_in_progress", 0);
            field!("module_fork_last_cow_size", 0);
            if s.aof.is_on() {
                for (name, value) in s.aof.info_fields() {
                    field!(name, value);
                }
            }
        }
        "stats" => {
            out.push_str("# Stats\r\n");
            let (ops, in_kbps, out_kbps) = s.instant.rates();
            let sum = |f: fn(&crate::stats::WorkerStats) -> &std::sync::atomic::AtomicU64| {
                s.sum(|w| f(w).load(Ordering::Relaxed))
            };
            field!("total_connections_received", s.stats.connections_received.load(Ordering::Relaxed));
            field!("total_commands_processed", s.total_commands());
            field!("instantaneous_ops_per_sec", ops);
            field!("total_net_input_bytes", sum(|w| &w.net_input_bytes));
            field!("total_net_output_bytes", sum(|w| &w.net_output_bytes));
            field!("total_net_repl_input_bytes", 0);
            field!("total_net_repl_output_bytes", 0);
            field!("instantaneous_input_kbps", format!("{in_kbps:.2}"));
            field!("instantaneous_output_kbps", format!("{out_kbps:.2}"));
            field!("instantaneous_input_repl_kbps", "0.00");
            field!("instantaneous_output_repl_kbps", "0.00");
            field!("rejected_connections", s.stats.rejected_connections.load(Ordering::Relaxed));
            field!("sync_full", 0);
            field!("sync_partial_ok", 0);
            field!("sync_partial_err", 0);
            field!("expired_keys", s.keyspace.expired_total());
            field!("expired_stale_perc", "0.00");
            field!("expired_time_cap_reached_count", 0);
            field!("expire_cycle_cpu_milliseconds", s.expire_cycle_ms.load(Ordering::Relaxed));
            field!("evicted_keys", 0);
            field!("evicted_clients", 0);
            field!("total_eviction_exceeded_time", 0);
            field!("current_eviction_exceeded_time", 0);
            field!("keyspace_hits", sum(|w| &w.keyspace_hits));
            field!("keyspace_misses", sum(|w| &w.keyspace_misses));
            let (channels, patterns, shard_channels) = s.pubsub.counts();
            field!("pubsub_channels", channels);
            field!("pubsub_patterns", patterns);
            field!("pubsubshard_channels", shard_channels);
            field!("latest_fork_usec", 0);
            field!("total_forks", 0);
            field!("migrate_cached_sockets", 0);
            field!("slave_expires_tracked_keys", 0);
            field!("active_defrag_hits", 0);
            field!("active_defrag_misses", 0);
            field!("active_defrag_key_hits", 0);
            field!("active_defrag_key_misses", 0);
            field!("total_active_defrag_time", 0);
            field!("current_active_defrag_time", 0);
            field!("tracking_total_keys", s.tracking.total_keys());
            field!("tracking_total_items", s.tracking.total_items());
            field!("tracking_total_prefixes", s.tracking.total_prefixes());
            field!("unexpected_error_replies", 0);
            field!("total_error_replies", s.stats.total_errors());
            field!("dump_payload_sanitizations", 0);
            field!("total_reads_processed", sum(|w| &w.reads));
            field!("total_writes_processed", sum(|w| &w.writes));
            field!("io_threaded_reads_processed", 0);
            field!("io_threaded_writes_processed", 0);
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            field!("role", "master");
            field!("connected_slaves", 0);
            field!("master_failover_state", "no-failover");
            field!("master_replid", s.run_id);
            field!("master_replid2", "0000000000000000000000000000000000000000");
            field!("master_repl_offset", 0);
            field!("second_repl_offset", -1);
            field!("repl_backlog_active", 0);
            field!("repl_backlog_size", get("repl-backlog-size"));
            field!("repl_backlog_first_byte_offset", 0);
            field!("repl_backlog_histlen", 0);
        }
        "cpu" => {
            out.push_str("# CPU\r\n");
            let (sys, user) = cpu_times();
            field!("used_cpu_sys", format!("{sys:.6}"));
            field!("used_cpu_user", format!("{user:.6}"));
            field!("used_cpu_sys_children", "0.000000");
            field!("used_cpu_user_children", "0.000000");
        }
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            for (i, spec) in s.commands.all.iter().enumerate() {
                let load = |f: fn(&crate::stats::CommandStat) -> &std::sync::atomic::AtomicU64| {
                    s.workers.iter().map(|w| f(&w.commands[i]).load(Ordering::Relaxed)).sum::<u64>()
                };
                let (calls, usec) = (load(|c| &c.calls), load(|c| &c.usec));
                let (rejected, failed) = (load(|c| &c.rejected), load(|c| &c.failed));
                if calls == 0 && rejected == 0 && failed == 0 {
                    continue;
                }
                let per_call = if calls == 0 { 0.0 } else { usec as f64 / calls as f64 };
                let _ = write!(
                    out,
                    "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                    spec.name
                );
            }
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            for (code, count) in s.stats.errors.lock().iter() {
                let _ = write!(out, "errorstat_{code}:count={count}\r\n");
            }
        }
        "latencystats" => {
            out.push_str("# Latencystats\r\n");
            for (i, spec) in s.commands.all.iter().enumerate() {
                let mut counts = LatencyHistogram::empty_counts();
                for w in &s.workers {
                    w.commands[i].latency.add_to(&mut counts);
                }
                if counts.iter().all(|&c| c == 0) {
                    continue;
                }
                let us = |p: f64| LatencyHistogram::percentile(&counts, p) as f64 / 1000.0;
                let _ = write!(
                    out,
                    "latency_percentiles_usec_{}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
                    spec.name,
                    us(50.0),
                    us(99.0),
                    us(99.9)
                );
            }
        }
        "cluster" => {
            out.push_str("# Cluster\r\n");
            field!("cluster_enabled", 0);
        }
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for (db, (keys, expires)) in s.keyspace.db_stats().into_iter().enumerate() {
                if keys > 0 {
                    let _ = write!(out, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}

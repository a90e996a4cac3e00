//! SIGHUP: re-reading the configuration file and applying it to the running proxy.
//!
//! Owns: what a new configuration changes against the running one (pools and servers kept,
//! added and removed, options changed) and the order in which the change is applied. A reload
//! is all or nothing: the file is validated and every new listener is bound before anything
//! changes, so an invalid file or a taken port leaves the proxy exactly as it was.
//!
//! Pools are matched by name and keep their shared state (counters, client count); a listener
//! is reused by any pool that listens on the same address, so clients never see a refused
//! connect across a reload. Servers are matched by their whole entry (address, weight, name):
//! an unchanged server keeps its backend connections, failure count and ejection. Workers are
//! not interrupted: they see a pool's new view through its generation counter on their next
//! request, and are told about new and removed pools by message.

use std::sync::{Arc, RwLock};

use crate::config::{io_reason, Config, ListenAddr, PoolConfig, ServerConfig};
use crate::log;
use crate::pool::PoolShared;
use crate::server::{bind, check_supported, Listener, WorkerMsg};

/// How a pool's new server list relates to the old one, by index in each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServerDiff {
    /// (old index, new index) of servers whose entry is unchanged.
    pub kept: Vec<(usize, usize)>,
    /// New indexes of servers that are new or changed (a changed weight or address is a new
    /// server: its ring points or its connections would differ).
    pub added: Vec<usize>,
    /// Old indexes of servers that are gone or changed.
    pub removed: Vec<usize>,
}

pub fn diff_servers(old: &[ServerConfig], new: &[ServerConfig]) -> ServerDiff {
    let mut diff = ServerDiff::default();
    let mut matched = vec![false; old.len()];
    for (n, s) in new.iter().enumerate() {
        // Names are unique within a pool, so at most one old entry can be equal.
        match old.iter().position(|o| o == s) {
            Some(o) => {
                matched[o] = true;
                diff.kept.push((o, n));
            }
            None => diff.added.push(n),
        }
    }
    diff.removed = matched.iter().enumerate().filter(|(_, &m)| !m).map(|(o, _)| o).collect();
    diff
}

/// Pools by name: in the new file only, in the old only, in both.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PoolDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}

pub fn diff_pools(old: &Config, new: &Config) -> PoolDiff {
    let has = |c: &Config, name: &str| c.pools.iter().any(|p| p.name == name);
    PoolDiff {
        added: new.pools.iter().filter(|p| !has(old, &p.name)).map(|p| p.name.clone()).collect(),
        removed: old.pools.iter().filter(|p| !has(new, &p.name)).map(|p| p.name.clone()).collect(),
        kept: new.pools.iter().filter(|p| has(old, &p.name)).map(|p| p.name.clone()).collect(),
    }
}

/// The pool directives that differ, by their YAML names (servers aside), for the log.
pub fn changed_options(old: &PoolConfig, new: &PoolConfig) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            out.push(name);
        }
    };
    check("listen", old.listen != new.listen);
    check("hash", old.hash != new.hash);
    check("hash_tag", old.hash_tag != new.hash_tag);
    check("distribution", old.distribution != new.distribution);
    check("timeout", old.timeout != new.timeout);
    check("backlog", old.backlog != new.backlog);
    check("client_connections", old.client_connections != new.client_connections);
    check("redis_auth", old.redis_auth != new.redis_auth);
    check("redis_db", old.redis_db != new.redis_db);
    check("preconnect", old.preconnect != new.preconnect);
    check("auto_eject_hosts", old.auto_eject_hosts != new.auto_eject_hosts);
    check("server_connections", old.server_connections != new.server_connections);
    check("server_retry_timeout", old.server_retry_timeout != new.server_retry_timeout);
    check("server_failure_limit", old.server_failure_limit != new.server_failure_limit);
    check("tcpkeepalive", old.tcpkeepalive != new.tcpkeepalive);
    check("health_check_interval", old.health_check_interval != new.health_check_interval);
    check("backend", old.backend != new.backend);
    out
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The running proxy's configuration and the handles a reload changes.
pub(crate) struct Running {
    pub conf_path: Option<String>,
    pub config: Config,
    /// In configuration order; the stats port reads the same list.
    pub pools: Vec<Arc<PoolShared>>,
    pub registry: Arc<RwLock<Vec<Arc<PoolShared>>>>,
    /// One listener per address in use. Keeping a copy here is what lets a pool that is renamed
    /// or replaced take over an address without the socket ever closing.
    pub listeners: Vec<(ListenAddr, Listener)>,
    pub workers: Vec<tokio::sync::mpsc::UnboundedSender<WorkerMsg>>,
}

/// A pool of the new configuration, ready to apply: its listener, and copies of it for every
/// worker when the workers must start accepting on it.
struct Prepared {
    cfg: PoolConfig,
    listener: Listener,
    for_workers: Option<Vec<Listener>>,
}

impl Running {
    /// Re-reads the configuration file and applies it; on any error logs it and changes nothing.
    pub fn reload(&mut self) {
        let Some(path) = self.conf_path.clone() else {
            log::notice(format_args!("SIGHUP received; no configuration file to reload"));
            return;
        };
        log::notice(format_args!("SIGHUP received, reloading '{path}'"));
        let new = match Config::load_file(&path).map_err(|e| e.0).and_then(|c| check_supported(&c).map(|()| c)) {
            Ok(c) => c,
            Err(e) => {
                log::warn(format_args!("reload of '{path}' failed, keeping the running configuration: {e}"));
                return;
            }
        };
        let prepared = match self.prepare(&new) {
            Ok(p) => p,
            Err(e) => {
                log::warn(format_args!("reload of '{path}' failed, keeping the running configuration: {e}"));
                return;
            }
        };
        let diff = diff_pools(&self.config, &new);
        self.apply(prepared);
        self.config = new;
        log::notice(format_args!(
            "configuration reloaded from '{path}': pools added: {}; removed: {}; kept: {}",
            list(&diff.added),
            list(&diff.removed),
            list(&diff.kept)
        ));
    }

    /// Finds or binds every listener the new configuration needs and makes the workers' copies,
    /// so that applying it cannot fail half-way.
    fn prepare(&self, new: &Config) -> Result<Vec<Prepared>, String> {
        let mut out: Vec<Prepared> = Vec::with_capacity(new.pools.len());
        for cfg in &new.pools {
            let existing = self.listeners.iter().find(|(a, _)| *a == cfg.listen);
            let listener = match existing {
                Some((_, l)) => l.try_clone().map_err(|e| e.to_string())?,
                None => bind(&cfg.listen, cfg.backlog).map_err(|e| {
                    format!("failed to listen on '{}' of pool '{}': {}", cfg.listen_pname, cfg.name, io_reason(&e))
                })?,
            };
            // Workers keep accepting from what they have unless the pool is new to them or its
            // address moved.
            let serving = self.config.pools.iter().find(|p| p.name == cfg.name);
            let needs_workers = serving.is_none_or(|p| p.listen != cfg.listen);
            let for_workers = if needs_workers {
                let copies = self.workers.iter().map(|_| listener.try_clone()).collect::<std::io::Result<Vec<_>>>();
                Some(copies.map_err(|e| e.to_string())?)
            } else {
                None
            };
            out.push(Prepared { cfg: cfg.clone(), listener, for_workers });
        }
        Ok(out)
    }

    fn apply(&mut self, prepared: Vec<Prepared>) {
        let mut pools = Vec::with_capacity(prepared.len());
        let mut listeners = Vec::with_capacity(prepared.len());
        // Removals go out first: a new pool taking over a removed pool's address must find the
        // old accept loops gone, not racing it for the same sockets.
        for old in &self.pools {
            if !prepared.iter().any(|p| p.cfg.name == old.name) {
                old.mark_removed();
                for w in &self.workers {
                    let _ = w.send(WorkerMsg::Remove(old.clone()));
                }
                log::notice(format_args!(
                    "pool '{}' removed; its connected clients are served until they leave",
                    old.name
                ));
            }
        }
        for Prepared { cfg, listener, for_workers } in prepared {
            let name = cfg.name.clone();
            let listen = cfg.listen.clone();
            let shared = match self.pools.iter().find(|p| p.name == name) {
                Some(shared) => {
                    let old_view = shared.view();
                    let options = changed_options(&old_view.cfg, &cfg);
                    let changes = shared.reconfigure(cfg);
                    log::notice(format_args!(
                        "pool '{name}': servers kept: {}; added: {}; removed: {}; options changed: {}",
                        list(&changes.kept),
                        list(&changes.added),
                        list(&changes.removed),
                        if options.is_empty() { "none".to_string() } else { options.join(", ") }
                    ));
                    shared.clone()
                }
                None => {
                    log::notice(format_args!(
                        "pool '{name}' added, listening on '{}' with {} servers",
                        cfg.listen_pname,
                        cfg.servers.len()
                    ));
                    let shared = Arc::new(PoolShared::new(cfg));
                    tokio::spawn(crate::health::run(shared.clone()));
                    tokio::spawn(crate::cluster::run(shared.clone()));
                    shared
                }
            };
            if let Some(copies) = for_workers {
                for (w, l) in self.workers.iter().zip(copies) {
                    let _ = w.send(WorkerMsg::Listen(shared.clone(), l));
                }
            }
            pools.push(shared);
            listeners.push((listen, listener));
        }
        // Dropping the old list closes this process's copy of every address no pool uses now;
        // the socket closes once the workers' accept loops have stopped too.
        self.listeners = listeners;
        self.pools = pools;
        *self.registry.write().unwrap_or_else(|p| p.into_inner()) = self.pools.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Config {
        Config::load_str(text, "t").unwrap()
    }

    fn pool(name: &str, port: u16, extra: &str, servers: &[&str]) -> String {
        let mut s = format!("{name}:\n  listen: 127.0.0.1:{port}\n{extra}  servers:\n");
        for srv in servers {
            s.push_str(&format!("   - {srv}\n"));
        }
        s
    }

    fn names(cfg: &Config, pool: usize, idx: &[usize]) -> Vec<String> {
        idx.iter().map(|&i| cfg.pools[pool].servers[i].name.clone()).collect()
    }

    #[test]
    fn unchanged_servers_are_kept_and_changed_ones_replaced() {
        let old = load(&pool("a", 1, "", &["10.0.0.1:6379:1 s1", "10.0.0.2:6379:1 s2", "10.0.0.3:6379:1 s3"]));
        let new = load(&pool(
            "a",
            1,
            "",
            &["10.0.0.1:6379:1 s1", "10.0.0.2:6379:2 s2", "10.0.0.9:6379:1 s3", "10.0.0.4:6379:1 s4"],
        ));
        let d = diff_servers(&old.pools[0].servers, &new.pools[0].servers);
        assert_eq!(d.kept, [(0, 0)]);
        assert_eq!(names(&new, 0, &d.added), ["s2", "s3", "s4"], "new weight or address = new server");
        assert_eq!(names(&old, 0, &d.removed), ["s2", "s3"]);
    }

    #[test]
    fn kept_servers_follow_the_new_sort_order() {
        // Unnamed servers are named host:port; a shorter new name sorts first and shifts indexes.
        let old = load(&pool("a", 1, "", &["127.0.0.1:7001:1", "127.0.0.1:7002:1"]));
        let new = load(&pool("a", 1, "", &["127.0.0.1:7002:1", "127.0.0.1:7001:1", "10.0.0.1:1:1"]));
        let d = diff_servers(&old.pools[0].servers, &new.pools[0].servers);
        assert_eq!(d.kept, [(0, 1), (1, 2)]);
        assert_eq!(names(&new, 0, &d.added), ["10.0.0.1:1"]);
        assert!(d.removed.is_empty());
    }

    #[test]
    fn renaming_a_server_moves_its_ring_points_so_it_is_a_new_server() {
        let old = load(&pool("a", 1, "", &["10.0.0.1:6379:1 s1"]));
        let new = load(&pool("a", 1, "", &["10.0.0.1:6379:1 t1"]));
        let d = diff_servers(&old.pools[0].servers, &new.pools[0].servers);
        assert!(d.kept.is_empty());
        assert_eq!((d.added.len(), d.removed.len()), (1, 1));
    }

    #[test]
    fn pools_are_matched_by_name() {
        let s = ["10.0.0.1:6379:1"];
        let old = load(&(pool("a", 1, "", &s) + &pool("b", 2, "", &s)));
        let new = load(&(pool("c", 2, "", &s) + &pool("a", 3, "", &s)));
        let d = diff_pools(&old, &new);
        assert_eq!(d.added, ["c"]);
        assert_eq!(d.removed, ["b"]);
        assert_eq!(d.kept, ["a"]);
    }

    #[test]
    fn changed_options_are_named_as_in_the_file() {
        let s = ["10.0.0.1:6379:1"];
        let old = load(&pool("a", 1, "  hash: md5\n", &s));
        let same = load(&pool("a", 1, "  hash: md5\n", &["10.0.0.2:6379:1"]));
        assert!(changed_options(&old.pools[0], &same.pools[0]).is_empty(), "servers are not an option");
        let new = load(&pool("a", 2, "  hash: md5\n  timeout: 100\n  health_check_interval: 0\n", &s));
        assert_eq!(changed_options(&old.pools[0], &new.pools[0]), ["listen", "timeout", "health_check_interval"]);
    }
}

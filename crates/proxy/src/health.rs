//! The active health check, a Roost extension (`health_check_interval`): every interval, each
//! ejected server of the pool is sent `PING` (after `AUTH` with `redis_auth`) on a connection of
//! its own, and rejoins the ring as soon as it answers `+PONG`.
//!
//! nutcracker only waits `server_retry_timeout` and then sends live traffic to the server,
//! failing those requests if it is still down. That blind re-add stays as the fallback (with
//! the check off, or for a server that answers only after its retry time). Live servers are not
//! probed: their open connections already report a death by EOF, which counts as a failure.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crate::config::ServerAddr;
use crate::log;
use crate::pool::{PoolShared, Server};

/// How long a probe may take when the pool sets no `timeout`.
const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a pool with the check off looks again (a reload may turn it on).
const IDLE_RECHECK: Duration = Duration::from_secs(1);

/// Probes the pool's ejected servers until a reload removes the pool. Runs on the main thread's
/// runtime: probes are rare and tiny, and keeping them off the workers keeps their loops for
/// client traffic.
pub async fn run(pool: Arc<PoolShared>) {
    while !pool.is_removed() {
        let view = pool.view();
        let Some(every) = view.cfg.health_check_interval else {
            tokio::time::sleep(IDLE_RECHECK).await;
            continue;
        };
        let timeout = view.cfg.timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT);
        for s in view.servers.iter().filter(|s| s.is_ejected()) {
            if !s.probing.swap(true, Relaxed) {
                let auth = view.cfg.redis_auth.clone();
                tokio::spawn(probe_and_readmit(pool.clone(), s.clone(), auth, timeout));
            }
        }
        drop(view);
        tokio::time::sleep(every).await;
    }
}

async fn probe_and_readmit(pool: Arc<PoolShared>, server: Arc<Server>, auth: Option<String>, timeout: Duration) {
    server.stats.health_checks.fetch_add(1, Relaxed);
    let outcome = match tokio::time::timeout(timeout, probe(&server.cfg.addr, auth.as_deref())).await {
        Ok(r) => r,
        Err(_) => Err("timed out".to_string()),
    };
    match outcome {
        Ok(()) => {
            if pool.readmit(&server) {
                log::notice(format_args!(
                    "server '{}' answered PING, re-admitted to pool '{}'",
                    server.cfg.name, pool.name
                ));
            }
        }
        Err(why) => {
            server.stats.health_check_failures.fetch_add(1, Relaxed);
            log::info(format_args!("health check of server '{}' failed: {why}", server.cfg.name));
        }
    }
    server.probing.store(false, Relaxed);
}

/// `Ok` when the server answers `PING` with `+PONG` (and accepts the password first).
pub async fn probe(addr: &ServerAddr, auth: Option<&str>) -> Result<(), String> {
    // A PING reply is a few bytes; anything long is not a Redis answering PING.
    let reply = crate::cluster::query(addr, auth, &[b"PING"], 64 * 1024).await?;
    if reply == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(format!("PING answered {}", String::from_utf8_lossy(reply.trim_ascii_end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-connection fake backend that reads a request and answers with `reply`.
    fn fake(reply: &'static [u8]) -> ServerAddr {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut c, _)) = l.accept() {
                let mut b = [0u8; 256];
                let _ = c.read(&mut b);
                let _ = c.write_all(reply);
            }
        });
        ServerAddr::Tcp { host: "127.0.0.1".into(), port }
    }

    fn run_probe(addr: ServerAddr, auth: Option<&str>) -> Result<(), String> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), probe(&addr, auth)).await.unwrap() })
    }

    #[test]
    fn only_pong_passes() {
        assert_eq!(run_probe(fake(b"+PONG\r\n"), None), Ok(()));
        assert_eq!(
            run_probe(fake(b"-LOADING Redis is loading\r\n"), None),
            Err("PING answered -LOADING Redis is loading".into())
        );
        assert_eq!(run_probe(fake(b"+OK\r\n+PONG\r\n"), Some("pw")), Ok(()));
        assert_eq!(
            run_probe(fake(b"-WRONGPASS x\r\n-NOAUTH y\r\n"), Some("pw")),
            Err("AUTH answered -WRONGPASS x".into())
        );
        assert_eq!(run_probe(fake(b""), None), Err("connection closed".into()));
    }

    #[test]
    fn a_refused_connect_fails() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let r = run_probe(ServerAddr::Tcp { host: "127.0.0.1".into(), port }, None);
        assert_eq!(r, Err("Connection refused".into()));
    }
}

//! Threads: one acceptor, N workers (each a single-threaded async runtime owning the connections
//! it was handed; a connection never migrates), one housekeeping thread for periodic work.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use roost_store::now_ms;

use crate::client::ClientHandle;
use crate::connection::serve;
use crate::log::{log, NOTICE, WARNING};
use crate::server::{Rng, Server};

/// Binds every configured address. Addresses prefixed with '-' are optional, as in Redis.
async fn bind_all(server: &Server) -> Result<Vec<TcpListener>, String> {
    let (binds, port, backlog) = {
        let c = server.config.read();
        (c.bind(), c.port(), c.tcp_backlog())
    };
    let mut listeners = Vec::new();
    for b in binds {
        let (optional, host) = match b.strip_prefix('-') {
            Some(h) => (true, h.to_string()),
            None => (false, b.clone()),
        };
        let addr: SocketAddr = match (host.as_str(), port).try_into_addr() {
            Some(a) => a,
            None if optional => continue,
            None => return Err(format!("Invalid bind address '{host}'")),
        };
        let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
        let listener = socket.and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(backlog.max(1))
        });
        match listener {
            Ok(l) => listeners.push(l),
            Err(_) if optional => {}
            Err(e) => return Err(format!("Could not create server TCP listening socket {host}:{port}: {e}")),
        }
    }
    if listeners.is_empty() {
        return Err("Failed listening on any configured address".into());
    }
    Ok(listeners)
}

trait TryIntoAddr {
    fn try_into_addr(self) -> Option<SocketAddr>;
}

impl TryIntoAddr for (&str, u16) {
    fn try_into_addr(self) -> Option<SocketAddr> {
        let host = self.0.trim_start_matches('[').trim_end_matches(']');
        let host = if host == "*" { "0.0.0.0" } else { host };
        host.parse::<std::net::IpAddr>().ok().map(|ip| SocketAddr::new(ip, self.1))
    }
}

fn set_keepalive(stream: &TcpStream, secs: u64) {
    use std::os::fd::AsRawFd;
    if secs == 0 {
        return;
    }
    let fd = stream.as_raw_fd();
    let set = |level: i32, opt: i32, val: i32| {
        // SAFETY: fd is a valid open socket owned by `stream`; the option value is a plain int.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                opt,
                &val as *const i32 as *const libc::c_void,
                std::mem::size_of::<i32>() as u32,
            );
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs as i32);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (secs / 3).max(1) as i32);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}

/// Runs the server until SHUTDOWN. Blocks the calling thread.
pub fn run(server: Arc<Server>) -> Result<(), String> {
    let mut senders = Vec::new();
    for (i, stats) in server.workers.iter().enumerate() {
        let (tx, mut rx) = mpsc::unbounded_channel::<std::net::TcpStream>();
        senders.push(tx);
        let server = server.clone();
        let stats = stats.clone();
        std::thread::Builder::new()
            .name(format!("roost-worker-{i}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("worker runtime");
                rt.block_on(async move {
                    while let Some(std_stream) = rx.recv().await {
                        // The acceptor counted this client; a connection that dies before it is
                        // registered must be uncounted here.
                        let Ok(stream) = TcpStream::from_std(std_stream) else {
                            server.client_count.fetch_sub(1, Ordering::Relaxed);
                            continue;
                        };
                        let (Ok(addr), Ok(laddr)) = (stream.peer_addr(), stream.local_addr()) else {
                            server.client_count.fetch_sub(1, Ordering::Relaxed);
                            continue;
                        };
                        use std::os::fd::AsRawFd;
                        let handle =
                            Arc::new(ClientHandle::new(server.next_client_id(), addr, laddr, stream.as_raw_fd()));
                        server.register(handle.clone());
                        tokio::spawn(serve(server.clone(), stats.clone(), stream, handle));
                    }
                });
            })
            .map_err(|e| e.to_string())?;
    }
    spawn_housekeeping(server.clone());

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listeners = bind_all(&server).await?;
        log(
            NOTICE,
            &format!(
                "Ready to accept connections tcp (port {}, {} worker threads)",
                server.config.read().port(),
                server.threads
            ),
        );
        let mut next = 0usize;
        let mut sigterm =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
        let mut sigint =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let (conn_tx, mut conn_rx) = mpsc::unbounded_channel::<TcpStream>();
        for l in listeners {
            let tx = conn_tx.clone();
            tokio::spawn(async move {
                loop {
                    match l.accept().await {
                        Ok((s, _)) => {
                            if tx.send(s).is_err() {
                                return;
                            }
                        }
                        // Out of descriptors and the like: back off instead of spinning.
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
            });
        }
        loop {
            let stream = tokio::select! {
                s = conn_rx.recv() => match s { Some(s) => s, None => return Ok(()) },
                _ = server.shutdown.notified() => return Ok(()),
                _ = sigterm.recv() => {
                    log(WARNING, "Received SIGTERM scheduling shutdown...");
                    if shutdown_now(&server) {
                        return Ok(());
                    }
                    continue;
                }
                _ = sigint.recv() => {
                    log(WARNING, "Received SIGINT scheduling shutdown...");
                    if shutdown_now(&server) {
                        return Ok(());
                    }
                    continue;
                }
            };
            server.stats.connections_received.fetch_add(1, Ordering::Relaxed);
            let max = server.live.maxclients.load(Ordering::Relaxed);
            if server.client_count.load(Ordering::Relaxed) as u64 >= max {
                server.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                let mut s = stream;
                let _ = s.write_all(b"-ERR max number of clients reached\r\n").await;
                continue;
            }
            let _ = stream.set_nodelay(true);
            set_keepalive(&stream, server.live.tcp_keepalive_secs.load(Ordering::Relaxed));
            let Ok(std_stream) = stream.into_std() else { continue };
            // Counted here, not when the worker registers it, so a burst of connections cannot
            // slip past maxclients before the workers catch up.
            server.client_count.fetch_add(1, Ordering::Relaxed);
            if senders[next % senders.len()].send(std_stream).is_err() {
                server.client_count.fetch_sub(1, Ordering::Relaxed);
                log(WARNING, "worker thread is gone");
            }
            next = next.wrapping_add(1);
        }
    })
}

/// Prepares the process to exit on a signal: saves when save rules are configured, as Redis
/// does. False when that save failed: like Redis, the server then keeps running.
fn shutdown_now(server: &Arc<Server>) -> bool {
    log(WARNING, "User requested shutdown...");
    // As in Redis, no command runs from the final save to the exit: a write acknowledged after
    // the save's instant would be lost. A client holding the world (a transaction, a script)
    // is waited for, up to a bound.
    let mut held = false;
    for _ in 0..1000 {
        held = server.gate.stop_world_for_housekeeping(&server.workers);
        if held {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Err(e) = crate::persist::final_save(server, false) {
        if held {
            server.gate.release(crate::gate::HOUSEKEEPER);
        }
        log(
            WARNING,
            &format!(
                "{e}; SIGTERM received but errors trying to shut down the server, check the logs for more information"
            ),
        );
        return false;
    }
    server.shutting_down.store(true, Ordering::Relaxed);
    if server.aof.is_on() {
        // Whatever the fsync policy, what was acknowledged is on disk before the process ends.
        log(NOTICE, "Calling fsync() on the AOF file.");
        server.aof.flush_now();
    }
    log(WARNING, "Roost is now ready to exit, bye bye...");
    true
}

/// Periodic work, `hz` times a second: active expiry, ending CLIENT PAUSE on time.
fn spawn_housekeeping(server: Arc<Server>) {
    std::thread::Builder::new()
        .name("roost-housekeeping".into())
        .spawn(move || {
            let mut rng = Rng::seeded();
            let mut next_shard = 0usize;
            loop {
                let hz = server.live.hz.load(Ordering::Relaxed).max(1);
                let period = 1000 / hz;
                std::thread::sleep(Duration::from_millis(period));
                if server.shutting_down.load(Ordering::Relaxed) {
                    return;
                }
                roost_store::tick_clock();
                let until = server.pause.until_ms.load(Ordering::Acquire);
                if until != 0 && now_ms() >= until {
                    server.pause.until_ms.store(0, Ordering::Release);
                    server.pause.lifted.notify_waiters();
                }
                // Expiry is a writer like any command: it stays out while a client holds the world.
                server.gate.housekeeping_active.store(true, Ordering::SeqCst);
                if server.active_expire.load(Ordering::Relaxed) && !server.gate.is_stopped() {
                    // At most a quarter of each period, like Redis's slow expire cycle.
                    let start = now_ms();
                    server.keyspace.active_expire(&mut next_shard, start + (period / 4).max(1), &mut || rng.next_u64());
                    server.expire_cycle_ms.fetch_add(now_ms() - start, Ordering::Relaxed);
                }
                // A save's instant must not fall inside a world-stopping command (a script's
                // writes are several commands), so it starts under the same flag as expiry.
                if !server.gate.is_stopped() {
                    crate::persist::save_if_due(&server);
                    crate::aof::rewrite::rewrite_if_due(&server);
                }
                server.gate.housekeeping_active.store(false, Ordering::SeqCst);
                server.instant.sample(
                    server.total_commands(),
                    server.sum(|w| w.net_input_bytes.load(Ordering::Relaxed)),
                    server.sum(|w| w.net_output_bytes.load(Ordering::Relaxed)),
                    now_ms(),
                );
            }
        })
        .expect("housekeeping thread");
}

//! nutcracker.yml: loading, defaults and validation, with nutcracker 0.5.0's error texts.
//!
//! Owns: the pool and server definitions exactly as nutcracker reads them (server entries parsed
//! from the right, names defaulting to `host:port`, servers sorted by name length then bytes,
//! which fixes each server's index and therefore the key mapping).
//! Never: sockets or routing; the only outside call is resolving `listen:` addresses, which
//! nutcracker also does while loading.
//!
//! Checks run in nutcracker's order (one document, allowed tokens, tree shape, directives in
//! file order, then per-pool and cross-pool rules) so the first error reported is the same.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Scanner, TokenType};

use crate::distribution::Distribution;
use crate::hash::HashKind;

/// A key named after a server at this port hashes without the port (libmemcached compatibility).
const KETAMA_DEFAULT_PORT: u16 = 11211;
/// Depth of a pool's directives: root mapping (1), pool mapping (2).
const ROOT_DEPTH: usize = 1;
const MAX_DEPTH: usize = ROOT_DEPTH + 1;

pub const DEFAULT_BACKLOG: u32 = 512;
pub const DEFAULT_SERVER_CONNECTIONS: u32 = 1;
pub const DEFAULT_SERVER_RETRY_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_SERVER_FAILURE_LIMIT: u32 = 2;
/// Roost's own key: how often ejected servers are sent PING (0 turns the health check off).
pub const DEFAULT_HEALTH_CHECK_INTERVAL_MS: u64 = 1_000;

/// A configuration error: the `conf: ...` line nutcracker logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Where a pool listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Tcp(SocketAddr),
    /// A unix socket path and the permission bits to give it.
    Unix {
        path: String,
        perm: Option<u32>,
    },
}

/// Where a backend is. The host is resolved when connecting, not when loading (DNS is lazy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddr {
    Tcp { host: String, port: u16 },
    Unix { path: String },
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp { host, port } => write!(f, "{host}:{port}"),
            ServerAddr::Unix { path } => f.write_str(path),
        }
    }
}

/// How a pool maps keys to servers (`backend:`, a Roost key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// nutcracker's: `hash`, `hash_tag` and `distribution` over the listed servers.
    Twemproxy,
    /// The listed servers are seeds of a Redis Cluster; keys go to their slot's owner, learned
    /// from `CLUSTER SLOTS` and from `MOVED` redirections.
    RedisCluster,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Twemproxy => "twemproxy",
            BackendKind::RedisCluster => "redis-cluster",
        }
    }

    pub fn from_name(name: &str) -> Option<BackendKind> {
        [BackendKind::Twemproxy, BackendKind::RedisCluster].into_iter().find(|b| b.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The entry without its name: `host:port:weight` (what nutcracker's logs and stats call pname).
    pub pname: String,
    /// The ring identity: the given name, else `host:port` (`host` alone for port 11211).
    pub name: String,
    pub addr: ServerAddr,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub name: String,
    /// `listen:` as written.
    pub listen_pname: String,
    pub listen: ListenAddr,
    pub hash: HashKind,
    pub hash_tag: Option<[u8; 2]>,
    pub distribution: Distribution,
    /// `None`: wait forever (nutcracker's -1).
    pub timeout: Option<Duration>,
    pub backlog: u32,
    /// Nutcracker parses and then ignores this; Roost honours it (0 = unlimited).
    pub client_connections: u32,
    pub redis: bool,
    pub redis_auth: Option<String>,
    pub redis_db: u32,
    pub preconnect: bool,
    pub auto_eject_hosts: bool,
    pub server_connections: u32,
    pub server_retry_timeout: Duration,
    pub server_failure_limit: u32,
    pub tcpkeepalive: bool,
    /// Roost extension: PING ejected servers this often and re-admit one that answers, instead
    /// of only waiting out `server_retry_timeout`. `None`: off (`health_check_interval: 0`).
    pub health_check_interval: Option<Duration>,
    /// Roost extension: nutcracker's hashing (the default) or Redis Cluster's slots.
    pub backend: BackendKind,
    /// Sorted by (name length, name bytes): the position here is the server index.
    pub servers: Vec<ServerConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// In file order.
    pub pools: Vec<PoolConfig>,
}

impl Config {
    pub fn load_file(path: &str) -> Result<Config, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Config::load_str(&text, path),
                Err(_) => err("conf: failed to get the next yaml document: invalid UTF-8"),
            },
            Err(e) => err(format!("conf: failed to open configuration '{path}': {}", io_reason(&e))),
        }
    }

    /// Parses and validates a configuration; `fname` only appears in error texts.
    pub fn load_str(text: &str, fname: &str) -> Result<Config, ConfigError> {
        validate_document(text, fname)?;
        validate_tokens(text)?;
        let events = events(text)?;
        validate_structure(&events, fname)?;
        let raw = parse(&events)?;
        post_validate(raw, fname)
    }
}

/// strerror-like text of an I/O error, without Rust's "(os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn events(text: &str) -> Result<Vec<Event>, ConfigError> {
    let mut parser = Parser::new_from_str(text);
    let mut out = Vec::new();
    // A YAML stream always ends with StreamEnd; the parser guarantees progress per call.
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => {
                out.push(Event::StreamEnd);
                return Ok(out);
            }
            Ok((ev, _)) => out.push(ev),
            Err(e) => return err(format!("conf: failed to get next event: {e}")),
        }
    }
}

fn validate_document(text: &str, fname: &str) -> Result<(), ConfigError> {
    let mut parser = Parser::new_from_str(text);
    let mut count = 0u32;
    let mut in_document = false;
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((Event::DocumentStart, _)) => in_document = true,
            Ok((Event::DocumentEnd, _)) => in_document = false,
            // A document counts when it has a root node.
            Ok((_, _)) if in_document => {
                count += 1;
                in_document = false;
            }
            Ok(_) => {}
            Err(e) => return err(format!("conf: failed to get the next yaml document: {e}")),
        }
    }
    if count != 1 {
        return err(format!("conf: '{fname}' must contain only 1 document; found {count} documents"));
    }
    Ok(())
}

/// Anchors, aliases, tags, flow collections and explicit document markers are refused, as
/// nutcracker refuses them. The numbers are libyaml's token type codes, which its messages show.
fn validate_tokens(text: &str) -> Result<(), ConfigError> {
    let mut scanner = Scanner::new(text.chars());
    for token in &mut scanner {
        let (what, code) = match token.1 {
            TokenType::VersionDirective(..) => ("version directive", 3),
            TokenType::TagDirective(..) => ("tag directive", 4),
            TokenType::DocumentStart => ("document start", 5),
            TokenType::DocumentEnd => ("document end", 6),
            TokenType::FlowSequenceStart => ("flow sequence start", 10),
            TokenType::FlowSequenceEnd => ("flow sequence end", 11),
            TokenType::FlowMappingStart => ("flow mapping start", 12),
            TokenType::FlowMappingEnd => ("flow mapping end", 13),
            TokenType::FlowEntry => ("flow entry", 15),
            TokenType::Alias(_) => ("alias", 18),
            TokenType::Anchor(_) => ("anchor", 19),
            TokenType::Tag(..) => ("tag", 20),
            TokenType::StreamEnd => return Ok(()),
            _ => continue,
        };
        return err(format!("conf: {what} token ({code}) is disallowed"));
    }
    match scanner.get_error() {
        Some(e) => err(format!("conf: failed to scan next token: {e}")),
        None => Ok(()),
    }
}

/// The accepted shape: `pool: { key: scalar, ..., one_key: [scalars] }`, repeated.
fn validate_structure(events: &[Event], fname: &str) -> Result<(), ConfigError> {
    let mut depth = 0usize;
    let mut count = [0u32; MAX_DEPTH + 1];
    let mut seq = false;
    for ev in events {
        match ev {
            Event::MappingStart(..) => {
                if depth == ROOT_DEPTH && count[depth] != 1 {
                    return err(format!("conf: '{fname}' has more than one \"key:value\" at depth {depth}"));
                } else if depth >= MAX_DEPTH {
                    return err(format!("conf: '{fname}' has a depth greater than {MAX_DEPTH}"));
                }
                depth += 1;
            }
            Event::MappingEnd => {
                if depth == MAX_DEPTH {
                    if seq {
                        seq = false;
                    } else {
                        return err(format!("conf: '{fname}' missing sequence directive at depth {depth}"));
                    }
                }
                depth = depth.saturating_sub(1);
                count[depth] = 0;
            }
            Event::SequenceStart(..) => {
                if seq {
                    return err(format!("conf: '{fname}' has more than one sequence directive"));
                } else if depth != MAX_DEPTH {
                    return err(format!("conf: '{fname}' has sequence at depth {depth} instead of {MAX_DEPTH}"));
                } else if count[depth] != 1 {
                    return err(format!("conf: '{fname}' has invalid \"key:value\" at depth {depth}"));
                }
                seq = true;
            }
            Event::SequenceEnd if depth <= MAX_DEPTH => count[depth] = 0,
            Event::Scalar(..) | Event::Alias(_) => {
                if depth == 0 {
                    return err(format!("conf: '{fname}' has invalid empty \"key:\" at depth {depth}"));
                } else if depth == ROOT_DEPTH && count[depth] != 0 {
                    return err(format!("conf: '{fname}' has invalid mapping \"key:\" at depth {depth}"));
                } else if depth == MAX_DEPTH && count[depth] == 2 {
                    // A complete "key: value": start counting the next pair.
                    count[depth] = 0;
                }
                if depth <= MAX_DEPTH {
                    count[depth] += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A pool's directives as set, before defaults: `None` is nutcracker's "unset".
#[derive(Default)]
struct RawPool {
    name: String,
    listen: Option<(String, ListenAddr)>,
    hash: Option<HashKind>,
    hash_tag: Option<Vec<u8>>,
    distribution: Option<Distribution>,
    timeout: Option<u32>,
    backlog: Option<u32>,
    client_connections: Option<u32>,
    redis: Option<bool>,
    redis_auth: Option<String>,
    redis_db: Option<u32>,
    preconnect: Option<bool>,
    auto_eject_hosts: Option<bool>,
    server_connections: Option<u32>,
    server_retry_timeout: Option<u32>,
    server_failure_limit: Option<u32>,
    tcpkeepalive: Option<bool>,
    health_check_interval: Option<u32>,
    backend: Option<BackendKind>,
    servers: Vec<ServerConfig>,
}

fn parse(events: &[Event]) -> Result<Vec<RawPool>, ConfigError> {
    let mut pools: Vec<RawPool> = Vec::new();
    let mut depth = 0usize;
    let mut key: Option<String> = None;
    let mut in_seq = false;
    for ev in events {
        match ev {
            Event::MappingStart(..) => depth += 1,
            Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                key = None;
            }
            Event::SequenceStart(..) => in_seq = true,
            Event::SequenceEnd => {
                in_seq = false;
                key = None;
            }
            Event::Scalar(value, ..) => {
                if depth == ROOT_DEPTH {
                    pools.push(RawPool { name: value.clone(), ..RawPool::default() });
                } else if depth == MAX_DEPTH {
                    let Some(pool) = pools.last_mut() else { continue };
                    match &key {
                        None => key = Some(value.clone()),
                        Some(k) => {
                            set_directive(pool, k, value)?;
                            if !in_seq {
                                key = None;
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(pools)
}

/// nutcracker's nc_atoi: decimal digits only (the empty string is 0); `None` for anything else.
fn atoi(s: &str) -> Option<u32> {
    let mut v: u32 = 0;
    for c in s.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    (v <= i32::MAX as u32).then_some(v)
}

fn valid_port(p: u32) -> Option<u16> {
    u16::try_from(p).ok().filter(|&p| p > 0)
}

fn set_directive(pool: &mut RawPool, key: &str, value: &str) -> Result<(), ConfigError> {
    let fail = |why: &str| err(format!("conf: directive \"{key}\" {why}"));
    fn num(slot: &mut Option<u32>, value: &str) -> Result<(), &'static str> {
        if slot.is_some() {
            return Err("is a duplicate");
        }
        *slot = Some(atoi(value).ok_or("is not a number")?);
        Ok(())
    }
    fn boolean(slot: &mut Option<bool>, value: &str) -> Result<(), &'static str> {
        if slot.is_some() {
            return Err("is a duplicate");
        }
        *slot = Some(match value {
            "true" => true,
            "false" => false,
            _ => return Err("is not \"true\" or \"false\""),
        });
        Ok(())
    }
    let outcome: Result<(), &str> = match key {
        "listen" => {
            if pool.listen.is_some() {
                Err("is a duplicate")
            } else {
                match parse_listen(value) {
                    Ok(addr) => {
                        pool.listen = Some((value.to_string(), addr));
                        Ok(())
                    }
                    Err(why) => Err(why),
                }
            }
        }
        "hash" => {
            if pool.hash.is_some() {
                Err("is a duplicate")
            } else {
                HashKind::from_name(value).map(|h| pool.hash = Some(h)).ok_or("is not a valid hash")
            }
        }
        "hash_tag" => {
            if pool.hash_tag.is_some() {
                Err("is a duplicate")
            } else if value.len() != 2 {
                Err("is not a valid hash tag string with two characters")
            } else {
                pool.hash_tag = Some(value.as_bytes().to_vec());
                Ok(())
            }
        }
        "distribution" => {
            if pool.distribution.is_some() {
                Err("is a duplicate")
            } else {
                Distribution::from_name(value).map(|d| pool.distribution = Some(d)).ok_or("is not a valid distribution")
            }
        }
        "timeout" => num(&mut pool.timeout, value),
        "backlog" => num(&mut pool.backlog, value),
        "client_connections" => num(&mut pool.client_connections, value),
        "redis" => boolean(&mut pool.redis, value),
        "tcpkeepalive" => boolean(&mut pool.tcpkeepalive, value),
        "redis_auth" => {
            if pool.redis_auth.is_some() {
                Err("is a duplicate")
            } else {
                pool.redis_auth = Some(value.to_string());
                Ok(())
            }
        }
        "redis_db" => num(&mut pool.redis_db, value),
        "preconnect" => boolean(&mut pool.preconnect, value),
        "auto_eject_hosts" => boolean(&mut pool.auto_eject_hosts, value),
        "server_connections" => num(&mut pool.server_connections, value),
        "server_retry_timeout" => num(&mut pool.server_retry_timeout, value),
        "server_failure_limit" => num(&mut pool.server_failure_limit, value),
        // Not a nutcracker key: a file using it fails nutcracker's -t with "is unknown".
        "health_check_interval" => num(&mut pool.health_check_interval, value),
        "backend" => {
            if pool.backend.is_some() {
                Err("is a duplicate")
            } else {
                BackendKind::from_name(value)
                    .map(|b| pool.backend = Some(b))
                    .ok_or("is not \"twemproxy\" or \"redis-cluster\"")
            }
        }
        "servers" => parse_server(value).map(|s| pool.servers.push(s)),
        _ => return err(format!("conf: directive \"{key}\" is unknown")),
    };
    outcome.or_else(fail)
}

/// `host:port`, or `/path/to/socket [octal permissions]`.
fn parse_listen(value: &str) -> Result<ListenAddr, &'static str> {
    if value.starts_with('/') {
        return Ok(match value.rfind(' ') {
            None => ListenAddr::Unix { path: value.to_string(), perm: None },
            Some(sp) => {
                // strtol(.., 8): leading octal digits, the rest ignored.
                let digits: String = value[sp + 1..].chars().take_while(|c| ('0'..='7').contains(c)).collect();
                let perm = if digits.is_empty() { 0 } else { u32::from_str_radix(&digits, 8).unwrap_or(u32::MAX) };
                if perm > 0o777 {
                    return Err("has an invalid file permission in \"socket_path permission\" format string");
                }
                ListenAddr::Unix { path: value[..sp].to_string(), perm: Some(perm) }
            }
        });
    }
    let Some(colon) = value.rfind(':') else {
        return Err("has an invalid \"hostname:port\" format string");
    };
    let port = atoi(&value[colon + 1..])
        .and_then(valid_port)
        .ok_or("has an invalid port in \"hostname:port\" format string")?;
    let host = &value[..colon];
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match (host, port).to_socket_addrs().ok().and_then(|mut a| a.next()) {
        Some(addr) => Ok(ListenAddr::Tcp(addr)),
        None => Err("has an invalid value"),
    }
}

/// `host:port:weight [name]` or `/path/unix_socket:weight [name]`, taken apart from the right.
fn parse_server(value: &str) -> Result<ServerConfig, &'static str> {
    const FORMAT: &str =
        "has an invalid \"hostname:port:weight [name]\"or \"/path/unix_socket:weight [name]\" format string";
    let unix = value.starts_with('/');
    let (rest, name) = match value.rfind(' ') {
        Some(sp) => (&value[..sp], Some(&value[sp + 1..])),
        None => (value, None),
    };
    let Some(wc) = rest.rfind(':') else { return Err(FORMAT) };
    let weight_str = &rest[wc + 1..];
    let before_weight = &rest[..wc];
    let (addr_str, port_str) = match before_weight.rfind(':') {
        Some(pc) => (&before_weight[..pc], Some(&before_weight[pc + 1..])),
        None => (before_weight, None),
    };
    // TCP needs exactly the port colon; a unix path must not contain another colon.
    if unix == port_str.is_some() {
        return Err(FORMAT);
    }
    let weight = match atoi(weight_str) {
        None => return Err("has an invalid weight in \"hostname:port:weight [name]\" format string"),
        Some(0) => return Err("has a zero weight in \"hostname:port:weight [name]\" format string"),
        Some(w) => w,
    };
    let pname = rest.to_string();
    let (addr, port_text) = match port_str {
        Some(p) => {
            let port = atoi(p)
                .and_then(valid_port)
                .ok_or("has an invalid port in \"hostname:port:weight [name]\" format string")?;
            (ServerAddr::Tcp { host: addr_str.to_string(), port }, p)
        }
        None => (ServerAddr::Unix { path: addr_str.to_string() }, ""),
    };
    let name = match name {
        Some(n) => n.to_string(),
        None => match &addr {
            ServerAddr::Tcp { port, .. } if *port == KETAMA_DEFAULT_PORT => addr_str.to_string(),
            // For a unix socket the port text is empty, leaving "path:" (nutcracker does the same).
            _ => format!("{addr_str}:{port_text}"),
        },
    };
    Ok(ServerConfig { pname, name, addr, weight })
}

/// nutcracker's string_compare: shorter strings first, then bytes.
pub fn name_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

fn post_validate(raw: Vec<RawPool>, fname: &str) -> Result<Config, ConfigError> {
    if raw.is_empty() {
        return err(format!("conf: '{fname}' has no pools"));
    }
    let mut pools = Vec::with_capacity(raw.len());
    for p in raw {
        pools.push(validate_pool(p)?);
    }
    let mut by_listen: Vec<&PoolConfig> = pools.iter().collect();
    by_listen.sort_by(|a, b| name_order(&a.listen_pname, &b.listen_pname));
    for w in by_listen.windows(2) {
        if w[0].listen_pname == w[1].listen_pname {
            return err(format!(
                "conf: pools '{}' and '{}' have the same listen address '{}'",
                w[0].name, w[1].name, w[0].listen_pname
            ));
        }
    }
    let mut by_name: Vec<&PoolConfig> = pools.iter().collect();
    by_name.sort_by(|a, b| name_order(&a.name, &b.name));
    for w in by_name.windows(2) {
        if w[0].name == w[1].name {
            // The unbalanced quote is nutcracker's own.
            return err(format!("conf: '{fname}' has pools with same name {}'", w[0].name));
        }
    }
    Ok(Config { pools })
}

fn validate_pool(p: RawPool) -> Result<PoolConfig, ConfigError> {
    let Some((listen_pname, listen)) = p.listen else {
        return err("conf: directive \"listen:\" is missing");
    };
    let server_connections = match p.server_connections {
        None => DEFAULT_SERVER_CONNECTIONS,
        Some(0) => return err("conf: directive \"server_connections:\" cannot be 0"),
        Some(n) => n,
    };
    let redis = p.redis.unwrap_or(false);
    if !redis && p.redis_auth.as_deref().is_some_and(|a| !a.is_empty()) {
        return err("conf: directive \"redis_auth:\" is only valid for a redis pool");
    }
    let backend = p.backend.unwrap_or(BackendKind::Twemproxy);
    if backend == BackendKind::RedisCluster {
        // Cluster nodes speak only RESP and have only database 0 (SELECT n fails on them).
        if !redis {
            return err("conf: directive \"backend: redis-cluster\" is only valid for a redis pool");
        }
        if p.redis_db.is_some_and(|db| db != 0) {
            return err("conf: directive \"redis_db:\" must be 0 with \"backend: redis-cluster\"");
        }
    }
    let mut servers = p.servers;
    if servers.is_empty() {
        return err(format!("conf: pool '{}' has no servers", p.name));
    }
    servers.sort_by(|a, b| name_order(&a.name, &b.name));
    for w in servers.windows(2) {
        if w[0].name == w[1].name {
            return err(format!("conf: pool '{}' has servers with same name '{}'", p.name, w[0].name));
        }
    }
    let hash_tag = p.hash_tag.map(|t| [t[0], t[1]]);
    Ok(PoolConfig {
        name: p.name,
        listen_pname,
        listen,
        hash: p.hash.unwrap_or(HashKind::Fnv1a64),
        hash_tag,
        distribution: p.distribution.unwrap_or(Distribution::Ketama),
        timeout: p.timeout.map(|ms| Duration::from_millis(u64::from(ms))),
        backlog: p.backlog.unwrap_or(DEFAULT_BACKLOG),
        client_connections: p.client_connections.unwrap_or(0),
        redis,
        redis_auth: p.redis_auth.filter(|a| !a.is_empty()),
        redis_db: p.redis_db.unwrap_or(0),
        preconnect: p.preconnect.unwrap_or(false),
        auto_eject_hosts: p.auto_eject_hosts.unwrap_or(false),
        server_connections,
        server_retry_timeout: Duration::from_millis(
            p.server_retry_timeout.map(u64::from).unwrap_or(DEFAULT_SERVER_RETRY_TIMEOUT_MS),
        ),
        server_failure_limit: p.server_failure_limit.unwrap_or(DEFAULT_SERVER_FAILURE_LIMIT),
        tcpkeepalive: p.tcpkeepalive.unwrap_or(false),
        health_check_interval: match p.health_check_interval.map(u64::from) {
            Some(0) => None,
            ms => Some(Duration::from_millis(ms.unwrap_or(DEFAULT_HEALTH_CHECK_INTERVAL_MS))),
        },
        backend,
        servers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        Config::load_str(text, "t.yml").map_err(|e| e.0)
    }

    fn load_err(text: &str) -> String {
        load(text).expect_err("config should be rejected")
    }

    const MINIMAL: &str = "alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6379:1\n";

    #[test]
    fn defaults_are_nutcrackers() {
        let c = load(MINIMAL).unwrap();
        let p = &c.pools[0];
        assert_eq!(p.name, "alpha");
        assert_eq!(p.listen, ListenAddr::Tcp("127.0.0.1:22121".parse().unwrap()));
        assert_eq!(p.hash, HashKind::Fnv1a64);
        assert_eq!(p.hash_tag, None);
        assert_eq!(p.distribution, Distribution::Ketama);
        assert_eq!(p.timeout, None);
        assert_eq!(p.backlog, 512);
        assert!(!p.redis && !p.preconnect && !p.auto_eject_hosts && !p.tcpkeepalive);
        assert_eq!(p.redis_db, 0);
        assert_eq!(p.server_connections, 1);
        assert_eq!(p.server_retry_timeout, Duration::from_secs(30));
        assert_eq!(p.server_failure_limit, 2);
        assert_eq!(p.health_check_interval, Some(Duration::from_secs(1)));
        assert_eq!(p.servers[0].name, "127.0.0.1:6379");
        assert_eq!(p.servers[0].pname, "127.0.0.1:6379:1");
    }

    #[test]
    fn the_seed_config_loads_with_500_servers() {
        let mut text = String::from(
            "twitter_redis:\n  listen: 0.0.0.0:22121\n  hash: fnv1a_64\n  distribution: ketama\n  timeout: 400\n  \
             redis: true\n  backlog: 1024\n  preconnect: true\n  auto_eject_hosts: true\n  \
             server_retry_timeout: 30000\n  server_failure_limit: 3\n  servers:\n",
        );
        for i in 1..=500 {
            text.push_str(&format!("   - redis-{i:03}.internal:6379:1 twemproxy-{i:03}\n"));
        }
        let c = load(&text).unwrap();
        let p = &c.pools[0];
        assert_eq!(p.servers.len(), 500);
        assert_eq!(p.timeout, Some(Duration::from_millis(400)));
        assert_eq!(p.backlog, 1024);
        assert!(p.redis && p.preconnect && p.auto_eject_hosts);
        assert_eq!(p.server_failure_limit, 3);
        assert_eq!(p.servers[0].addr, ServerAddr::Tcp { host: "redis-001.internal".into(), port: 6379 });
    }

    #[test]
    fn all_keys_and_several_pools() {
        let text = "a:\n  listen: 127.0.0.1:1\n  hash: murmur\n  hash_tag: \"{}\"\n  distribution: modula\n  \
                    timeout: 10\n  backlog: 5\n  preconnect: true\n  redis: true\n  redis_auth: pw\n  redis_db: 3\n  \
                    server_connections: 4\n  auto_eject_hosts: true\n  server_retry_timeout: 7\n  \
                    server_failure_limit: 9\n  tcpkeepalive: true\n  client_connections: 100\n  servers:\n   \
                    - 127.0.0.1:2:1 x\nb:\n  listen: /tmp/p.sock 0600\n  distribution: random\n  servers:\n   \
                    - /tmp/r.sock:2\n";
        let c = load(text).unwrap();
        let a = &c.pools[0];
        assert_eq!(a.hash, HashKind::Murmur);
        assert_eq!(a.hash_tag, Some(*b"{}"));
        assert_eq!(a.distribution, Distribution::Modula);
        assert_eq!(a.redis_auth.as_deref(), Some("pw"));
        assert_eq!((a.redis_db, a.server_connections, a.server_failure_limit), (3, 4, 9));
        assert_eq!(a.server_retry_timeout, Duration::from_millis(7));
        assert_eq!(a.client_connections, 100);
        assert!(a.tcpkeepalive);
        let b = &c.pools[1];
        assert_eq!(b.listen, ListenAddr::Unix { path: "/tmp/p.sock".into(), perm: Some(0o600) });
        assert_eq!(b.distribution, Distribution::Random);
        assert_eq!(b.servers[0].addr, ServerAddr::Unix { path: "/tmp/r.sock".into() });
        assert_eq!(b.servers[0].name, "/tmp/r.sock:");
        assert_eq!(b.servers[0].weight, 2);
    }

    #[test]
    fn server_names_and_sort_order() {
        let text = "a:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:7001:2 server10\n   \
                    - 127.0.0.1:7002:1 server2\n   - 127.0.0.1:7003:1 server1\n   - 10.0.0.1:11211:1\n";
        let c = load(text).unwrap();
        let names: Vec<&str> = c.pools[0].servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["server1", "server2", "10.0.0.1", "server10"]);
        assert_eq!(c.pools[0].servers[3].weight, 2);
    }

    #[test]
    fn validation_errors_have_nutcrackers_texts() {
        let base = |extra: &str| format!("a:\n  listen: 127.0.0.1:1\n{extra}  servers:\n   - 127.0.0.1:2:1\n");
        assert_eq!(load_err(&base("  sentinels: x\n")), "conf: directive \"sentinels\" is unknown");
        assert_eq!(load_err(&base("  reuseport: true\n")), "conf: directive \"reuseport\" is unknown");
        assert_eq!(load_err(&base("  hash: fnv\n")), "conf: directive \"hash\" is not a valid hash");
        assert_eq!(
            load_err(&base("  distribution: ring\n")),
            "conf: directive \"distribution\" is not a valid distribution"
        );
        assert_eq!(
            load_err(&base("  hash_tag: \"{\"\n")),
            "conf: directive \"hash_tag\" is not a valid hash tag string with two characters"
        );
        assert_eq!(load_err(&base("  timeout: -1\n")), "conf: directive \"timeout\" is not a number");
        assert_eq!(load_err(&base("  redis: yes\n")), "conf: directive \"redis\" is not \"true\" or \"false\"");
        assert_eq!(load_err(&base("  timeout: 1\n  timeout: 2\n")), "conf: directive \"timeout\" is a duplicate");
        assert_eq!(load_err(&base("  server_connections: 0\n")), "conf: directive \"server_connections:\" cannot be 0");
        assert_eq!(
            load_err(&base("  redis_auth: pw\n")),
            "conf: directive \"redis_auth:\" is only valid for a redis pool"
        );
        assert_eq!(
            load_err("a:\n  listen: 127.0.0.1\n  servers:\n   - 127.0.0.1:2:1\n"),
            "conf: directive \"listen\" has an invalid \"hostname:port\" format string"
        );
        assert_eq!(
            load_err("a:\n  listen: 127.0.0.1:70000\n  servers:\n   - 127.0.0.1:2:1\n"),
            "conf: directive \"listen\" has an invalid port in \"hostname:port\" format string"
        );
        assert_eq!(
            load_err("a:\n  hash: md5\n  servers:\n   - 127.0.0.1:2:1\n"),
            "conf: directive \"listen:\" is missing"
        );
    }

    #[test]
    fn server_entry_errors() {
        let with = |s: &str| format!("a:\n  listen: 127.0.0.1:1\n  servers:\n   - {s}\n");
        assert_eq!(
            load_err(&with("127.0.0.1:6379:0")),
            "conf: directive \"servers\" has a zero weight in \"hostname:port:weight [name]\" format string"
        );
        assert_eq!(
            load_err(&with("127.0.0.1:6379:x")),
            "conf: directive \"servers\" has an invalid weight in \"hostname:port:weight [name]\" format string"
        );
        assert_eq!(
            load_err(&with("127.0.0.1:0:1")),
            "conf: directive \"servers\" has an invalid port in \"hostname:port:weight [name]\" format string"
        );
        assert!(load_err(&with("127.0.0.1")).contains("format string"));
        assert!(load_err(&with("/tmp/a:b:1")).contains("format string"));
        // Unnamed servers differing only in weight collide: the weight is not part of the name.
        assert_eq!(
            load_err("a:\n  listen: 127.0.0.1:1\n  servers:\n   - h:6379:1\n   - h:6379:2\n"),
            "conf: pool 'a' has servers with same name 'h:6379'"
        );
    }

    #[test]
    fn cross_pool_and_shape_errors() {
        let pool = |name: &str, listen: &str| format!("{name}:\n  listen: {listen}\n  servers:\n   - 127.0.0.1:2:1\n");
        assert_eq!(
            load_err(&(pool("a", "127.0.0.1:1") + &pool("b", "127.0.0.1:1"))),
            "conf: pools 'a' and 'b' have the same listen address '127.0.0.1:1'"
        );
        assert_eq!(
            load_err(&(pool("a", "127.0.0.1:1") + &pool("a", "127.0.0.1:2"))),
            "conf: 't.yml' has pools with same name a'"
        );
        assert_eq!(load_err(""), "conf: 't.yml' must contain only 1 document; found 0 documents");
        assert_eq!(
            load_err(&format!("---\n{}", pool("a", "127.0.0.1:1"))),
            "conf: document start token (5) is disallowed"
        );
        assert_eq!(
            load_err("a:\n  listen: 127.0.0.1:1\n  servers: [127.0.0.1:2:1]\n"),
            "conf: flow sequence start token (10) is disallowed"
        );
        assert_eq!(
            load_err("a:\n  listen: &x 127.0.0.1:1\n  servers:\n   - 127.0.0.1:2:1\n"),
            "conf: anchor token (19) is disallowed"
        );
        assert_eq!(load_err("a:\n  listen: 127.0.0.1:1\n"), "conf: 't.yml' missing sequence directive at depth 2");
        assert_eq!(
            load_err("a:\n  listen:\n    x: y\n  servers:\n   - 127.0.0.1:2:1\n"),
            "conf: 't.yml' has a depth greater than 2"
        );
        assert_eq!(load_err("a: b\n"), "conf: 't.yml' has invalid mapping \"key:\" at depth 1");
        assert_eq!(
            load_err("a:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:2:1\n  more:\n   - x\n"),
            "conf: 't.yml' has more than one sequence directive"
        );
        assert!(load_err("a:\n  listen: [\n").starts_with("conf: failed"));
        assert_eq!(load_err("a:\n  servers:\n   - x\n"), "conf: directive \"servers\" has an invalid \"hostname:port:weight [name]\"or \"/path/unix_socket:weight [name]\" format string");
    }

    #[test]
    fn health_check_interval_is_a_roost_key() {
        let with = |v: &str| {
            format!("a:\n  listen: 127.0.0.1:1\n  health_check_interval: {v}\n  servers:\n   - 127.0.0.1:2:1\n")
        };
        assert_eq!(load(&with("250")).unwrap().pools[0].health_check_interval, Some(Duration::from_millis(250)));
        assert_eq!(load(&with("0")).unwrap().pools[0].health_check_interval, None);
        assert_eq!(load_err(&with("fast")), "conf: directive \"health_check_interval\" is not a number");
        assert_eq!(
            load_err(&with("5\n  health_check_interval: 6")),
            "conf: directive \"health_check_interval\" is a duplicate"
        );
    }

    #[test]
    fn backend_is_a_roost_key() {
        let with =
            |extra: &str| format!("a:\n  listen: 127.0.0.1:1\n  redis: true\n{extra}  servers:\n   - 127.0.0.1:2:1\n");
        assert_eq!(load(&with("")).unwrap().pools[0].backend, BackendKind::Twemproxy);
        assert_eq!(load(&with("  backend: twemproxy\n")).unwrap().pools[0].backend, BackendKind::Twemproxy);
        assert_eq!(load(&with("  backend: redis-cluster\n")).unwrap().pools[0].backend, BackendKind::RedisCluster);
        assert_eq!(
            load_err(&with("  backend: cluster\n")),
            "conf: directive \"backend\" is not \"twemproxy\" or \"redis-cluster\""
        );
        assert_eq!(
            load_err(&with("  backend: twemproxy\n  backend: twemproxy\n")),
            "conf: directive \"backend\" is a duplicate"
        );
        assert_eq!(
            load_err(&with("  backend: redis-cluster\n  redis_db: 2\n")),
            "conf: directive \"redis_db:\" must be 0 with \"backend: redis-cluster\""
        );
        assert_eq!(
            load_err("a:\n  listen: 127.0.0.1:1\n  backend: redis-cluster\n  servers:\n   - 127.0.0.1:2:1\n"),
            "conf: directive \"backend: redis-cluster\" is only valid for a redis pool"
        );
        // Unknown keys are still refused.
        assert_eq!(load_err(&with("  backends: twemproxy\n")), "conf: directive \"backends\" is unknown");
    }

    #[test]
    fn atoi_is_digits_only() {
        assert_eq!(atoi(""), Some(0));
        assert_eq!(atoi("0400"), Some(400));
        assert_eq!(atoi("+1"), None);
        assert_eq!(atoi("99999999999"), None);
    }
}

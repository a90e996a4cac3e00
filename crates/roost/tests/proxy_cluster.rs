//! `roost proxy` with `backend: redis-cluster` in front of a real three-node Redis Cluster on
//! loopback: keys reach their slot's owner, split commands split by slot, cross-slot commands
//! get CROSSSLOT, and a slot moved under a running proxy (MOVED) or being migrated (ASK) never
//! shows the client a redirection.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, redis_server_path, temp_dir, RawClient, TempDir};
use roost_proxy::cluster::key_slot;

/// The slot ranges given to the three nodes.
const RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

/// A cluster-enabled redis-server we started, stopped by its PID when dropped.
struct Node {
    child: Child,
    port: u16,
    /// The cluster bus port (not port + 10000, which may be out of range or taken).
    bus: u16,
    id: String,
}

impl Node {
    fn start(dir: &std::path::Path) -> Node {
        for _ in 0..5 {
            let (port, bus) = (free_port(), free_port());
            if port == bus {
                continue;
            }
            let mut child = Command::new(redis_server_path())
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-port", &bus.to_string()])
                .args(["--cluster-config-file", dir.join(format!("nodes-{port}.conf")).to_str().unwrap()])
                .args(["--dir", dir.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let mut c = RawClient::connect(port);
                    let id = c.cmd_str(&["CLUSTER", "MYID"]);
                    let id = id.lines().nth(1).unwrap_or_default().to_string();
                    assert_eq!(id.len(), 40, "CLUSTER MYID");
                    return Node { child, port, bus, id };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("cluster node did not start");
    }

    fn client(&self) -> RawClient {
        RawClient::connect(self.port)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three masters with the slots split in three, joined and agreeing the cluster is up.
struct Cluster {
    nodes: Vec<Node>,
    _dir: TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = temp_dir("proxy-cluster");
        let nodes: Vec<Node> = (0..3).map(|_| Node::start(&dir.0)).collect();
        for (node, (first, last)) in nodes.iter().zip(RANGES) {
            let r = node.client().cmd_str(&["CLUSTER", "ADDSLOTSRANGE", &first.to_string(), &last.to_string()]);
            assert_eq!(r, "+OK\r\n");
        }
        let mut c = nodes[0].client();
        for other in &nodes[1..] {
            let meet = ["CLUSTER", "MEET", "127.0.0.1", &other.port.to_string(), &other.bus.to_string()];
            assert_eq!(c.cmd_str(&meet), "+OK\r\n");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &nodes {
            let mut c = node.client();
            loop {
                let info = c.cmd_str(&["CLUSTER", "INFO"]);
                if info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3") {
                    break;
                }
                assert!(Instant::now() < deadline, "cluster did not come up:\n{info}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Cluster { nodes, _dir: dir }
    }

    /// The node that owns `key`'s slot as first assigned.
    fn owner_at_start(&self, key: &str) -> &Node {
        let slot = key_slot(key.as_bytes());
        let i = RANGES.iter().position(|&(a, b)| (a..=b).contains(&slot)).unwrap();
        &self.nodes[i]
    }

    fn node_for_slot(&self, slot: u16) -> usize {
        RANGES.iter().position(|&(a, b)| (a..=b).contains(&slot)).unwrap()
    }
}

/// A redis-cluster pool listening on `port` with one seed.
fn cluster_pool(port: u16, seed_port: u16) -> String {
    format!(
        "cluster:\n  listen: 127.0.0.1:{port}\n  redis: true\n  backend: redis-cluster\n  timeout: 3000\n  \
         servers:\n   - 127.0.0.1:{seed_port}:1 seed\n"
    )
}

struct Proxy {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Proxy {
    /// `roost proxy` with a redis-cluster pool whose only seed is `seed`.
    fn start(seed: &Node) -> Proxy {
        Self::start_with_seed(seed.port)
    }

    fn start_with_seed(seed_port: u16) -> Proxy {
        for _ in 0..5 {
            let dir = temp_dir("proxy-cluster");
            let port = free_port();
            let yml = cluster_pool(port, seed_port);
            let path = dir.0.join("nutcracker.yml");
            std::fs::write(&path, yml).unwrap();
            let log = dir.0.join("proxy.log");
            let mut child = Command::new(env!("CARGO_BIN_EXE_roost"))
                .args(["proxy", "-c", path.to_str().unwrap(), "-o", log.to_str().unwrap(), "-v", "6"])
                .args(["-s", &free_port().to_string(), "-a", "127.0.0.1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start roost proxy");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let p = Proxy { child, port, dir };
                    p.wait_for_log("slot map from");
                    return p;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("roost proxy did not start");
    }

    fn client(&self) -> RawClient {
        RawClient::connect(self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("proxy.log")).unwrap_or_default()
    }

    /// Points the pool at another seed and sends SIGHUP.
    fn reload_with_seed(&self, seed_port: u16) {
        std::fs::write(self.dir.0.join("nutcracker.yml"), cluster_pool(self.port, seed_port)).unwrap();
        assert!(Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().unwrap().success());
    }

    fn wait_for_log(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(what) {
            assert!(Instant::now() < deadline, "no {what:?} in the proxy log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

/// Keys whose slots are spread over all three nodes.
fn spread_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("key:{i}")).collect()
}

/// `count` distinct keys in `slot` (found by trying `prefix:i` names).
fn keys_in_slot(slot: u16, prefix: &str, count: usize) -> Vec<String> {
    let keys: Vec<String> = (0..2_000_000)
        .map(|i| format!("{prefix}:{i}"))
        .filter(|k| key_slot(k.as_bytes()) == slot)
        .take(count)
        .collect();
    assert_eq!(keys.len(), count, "keys in slot {slot}");
    keys
}

#[test]
fn slots_are_redis_clusters() {
    let cluster = Cluster::start();
    let mut c = cluster.nodes[0].client();
    for key in ["foo", "{user}:1", "a{}b", "x{y}z{w}", "123456789", ""] {
        let want = format!(":{}\r\n", key_slot(key.as_bytes()));
        assert_eq!(c.cmd_str(&["CLUSTER", "KEYSLOT", key]), want, "{key:?}");
    }
}

#[test]
fn a_reload_asks_the_new_seed_for_the_slot_map() {
    let cluster = Cluster::start();
    let proxy = Proxy::start(&cluster.nodes[0]);
    proxy.wait_for_log(&format!("slot map from 127.0.0.1:{}: 3 masters, 16384 slots", cluster.nodes[0].port));
    let mut p = proxy.client();
    assert_eq!(p.cmd_str(&["SET", "before", "1"]), "+OK\r\n");
    proxy.reload_with_seed(cluster.nodes[2].port);
    proxy.wait_for_log(&format!("slot map from 127.0.0.1:{}: 3 masters", cluster.nodes[2].port));
    assert_eq!(p.cmd_str(&["GET", "before"]), bulk("1"));
    for k in spread_keys(50) {
        assert_eq!(p.cmd_str(&["SET", &k, "x"]), "+OK\r\n");
        assert_eq!(cluster.owner_at_start(&k).client().cmd_str(&["GET", &k]), bulk("x"));
    }
}

#[test]
fn keys_reach_their_slot_owner_and_multi_key_commands_split_by_slot() {
    let cluster = Cluster::start();
    let proxy = Proxy::start(&cluster.nodes[1]);
    let mut p = proxy.client();
    let keys = spread_keys(300);
    for k in &keys {
        assert_eq!(p.cmd_str(&["SET", k, &format!("v-{k}")]), "+OK\r\n", "{k}");
    }
    let mut owners = [0usize; 3];
    for k in &keys {
        assert_eq!(p.cmd_str(&["GET", k]), bulk(&format!("v-{k}")));
        // A node answers GET only for its own slots (others reply MOVED).
        let owner = cluster.owner_at_start(k);
        assert_eq!(owner.client().cmd_str(&["GET", k]), bulk(&format!("v-{k}")), "{k} on its owner");
        owners[cluster.node_for_slot(key_slot(k.as_bytes()))] += 1;
    }
    assert!(owners.iter().all(|&n| n > 50), "keys spread over the nodes: {owners:?}");

    // MSET/MGET/EXISTS/DEL over many slots, merged in key order.
    let mut mset = vec!["MSET".to_string()];
    for i in 0..40 {
        mset.push(format!("m:{i}"));
        mset.push(format!("mv{i}"));
    }
    let mset: Vec<&str> = mset.iter().map(String::as_str).collect();
    assert_eq!(p.cmd_str(&mset), "+OK\r\n");
    let mut mget = vec!["MGET".to_string()];
    let mut want = String::from("*41\r\n");
    for i in 0..40 {
        mget.push(format!("m:{i}"));
        want.push_str(&bulk(&format!("mv{i}")));
        if i == 19 {
            mget.push("m:missing".into());
            want.push_str("$-1\r\n");
        }
    }
    let mget: Vec<&str> = mget.iter().map(String::as_str).collect();
    assert_eq!(p.cmd_str(&mget), want);
    assert_eq!(p.int(&["EXISTS", "m:0", "m:1", "m:2", "nope", "m:0"]), 4);
    assert_eq!(p.int(&["DEL", "m:0", "m:1", "m:2", "nope"]), 3);
    assert_eq!(p.cmd_str(&["MGET", "m:0", "m:3"]), format!("*2\r\n$-1\r\n{}", bulk("mv3")));
    for i in 3..40 {
        let k = format!("m:{i}");
        assert_eq!(cluster.owner_at_start(&k).client().cmd_str(&["GET", &k]), bulk(&format!("mv{i}")));
    }

    // Hash tags keep keys in one slot, so multi-key commands forwarded whole work...
    assert_eq!(p.cmd_str(&["SADD", "{team}:a", "x", "y"]), ":2\r\n");
    assert_eq!(p.cmd_str(&["SADD", "{team}:b", "y", "z"]), ":2\r\n");
    assert_eq!(p.cmd_str(&["SINTER", "{team}:a", "{team}:b"]), format!("*1\r\n{}", bulk("y")));
    assert_eq!(p.cmd_str(&["SUNIONSTORE", "{team}:u", "{team}:a", "{team}:b"]), ":3\r\n");
    let owner = cluster.owner_at_start("team");
    assert_eq!(owner.client().cmd_str(&["SCARD", "{team}:u"]), ":3\r\n");
    assert_eq!(p.cmd_str(&["MSET", "{team}:1", "a", "{team}:2", "b"]), "+OK\r\n");
    assert_eq!(owner.client().cmd_str(&["MGET", "{team}:1", "{team}:2"]), format!("*2\r\n{}{}", bulk("a"), bulk("b")));

    // ...and without one they are refused with Redis's own error, before reaching a node.
    let crossslot = "-CROSSSLOT Keys in a request don't hash to the same slot\r\n";
    assert_ne!(key_slot(b"s1"), key_slot(b"s2"));
    assert_eq!(p.cmd_str(&["SUNION", "s1", "s2"]), crossslot);
    assert_eq!(p.cmd_str(&["RPOPLPUSH", "s1", "s2"]), crossslot);
    assert_eq!(p.cmd_str(&["ZUNIONSTORE", "{team}:z", "2", "{team}:a", "s2"]), crossslot);
    assert_eq!(p.cmd_str(&["EVAL", "return #KEYS", "2", "s1", "s2"]), crossslot);
    assert_eq!(p.cmd_str(&["EVAL", "return #KEYS", "2", "{team}:a", "{team}:b"]), ":2\r\n");
    // The connection is still in order after all that.
    assert_eq!(p.cmd_str(&["GET", "key:7"]), bulk("v-key:7"));
}

/// Moves `slot` from node `from` to node `to` the way redis-cli's reshard does: IMPORTING and
/// MIGRATING, then the keys with MIGRATE, then the new owner announced to every node.
fn start_migration(cluster: &Cluster, slot: u16, from: usize, to: usize) {
    let (src, dst) = (&cluster.nodes[from], &cluster.nodes[to]);
    let s = slot.to_string();
    assert_eq!(dst.client().cmd_str(&["CLUSTER", "SETSLOT", &s, "IMPORTING", &src.id]), "+OK\r\n");
    assert_eq!(src.client().cmd_str(&["CLUSTER", "SETSLOT", &s, "MIGRATING", &dst.id]), "+OK\r\n");
}

fn migrate_keys(cluster: &Cluster, from: usize, to: usize, keys: &[&str]) {
    let dst_port = cluster.nodes[to].port.to_string();
    let mut args = vec!["MIGRATE", "127.0.0.1", &dst_port, "", "0", "5000", "KEYS"];
    args.extend_from_slice(keys);
    assert_eq!(cluster.nodes[from].client().cmd_str(&args), "+OK\r\n");
}

fn finish_migration(cluster: &Cluster, slot: u16, to: usize) {
    let s = slot.to_string();
    let id = cluster.nodes[to].id.clone();
    // The new owner first, as redis-cli does, so it never forgets it is importing.
    for i in std::iter::once(to).chain((0..3).filter(|&i| i != to)) {
        assert_eq!(cluster.nodes[i].client().cmd_str(&["CLUSTER", "SETSLOT", &s, "NODE", &id]), "+OK\r\n");
    }
}

#[test]
fn a_moved_slot_is_followed_without_the_client_seeing_moved() {
    let cluster = Cluster::start();
    let proxy = Proxy::start(&cluster.nodes[0]);
    let mut p = proxy.client();
    let slot = key_slot(b"moving");
    let from = cluster.node_for_slot(slot);
    let to = (from + 1) % 3;
    let keys = keys_in_slot(slot, "mv", 5);
    for k in &keys {
        assert_eq!(p.cmd_str(&["SET", k, &format!("v-{k}")]), "+OK\r\n");
    }
    start_migration(&cluster, slot, from, to);
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    migrate_keys(&cluster, from, to, &refs);
    finish_migration(&cluster, slot, to);

    // The proxy's table still names the old owner: each request meets a MOVED the client must
    // not see, and the first one makes the proxy learn the new map.
    for k in &keys {
        assert_eq!(p.cmd_str(&["GET", k]), bulk(&format!("v-{k}")), "{k} after the move");
    }
    assert_eq!(p.cmd_str(&["SET", &keys[0], "new"]), "+OK\r\n");
    assert_eq!(cluster.nodes[to].client().cmd_str(&["GET", &keys[0]]), bulk("new"), "written on the new owner");
    // A pipeline of several requests to the moved slot, in order, on a new connection.
    let mut q = proxy.client();
    let mut batch = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        batch.extend_from_slice(&common::encode(&[b"SET", k.as_bytes(), format!("p{i}").as_bytes()]));
        batch.extend_from_slice(&common::encode(&[b"GET", k.as_bytes()]));
    }
    q.send(&batch);
    for i in 0..keys.len() {
        assert_eq!(q.read_reply(), b"+OK\r\n");
        assert_eq!(String::from_utf8(q.read_reply()).unwrap(), bulk(&format!("p{i}")));
    }
    // MGET over the moved slot and others.
    let other = keys_in_slot((slot + 7000) % 16384, "o", 1).remove(0);
    assert_eq!(p.cmd_str(&["SET", &other, "o"]), "+OK\r\n");
    assert_eq!(
        p.cmd_str(&["MGET", &keys[1], &other, &keys[2]]),
        format!("*3\r\n{}{}{}", bulk("p1"), bulk("o"), bulk("p2"))
    );

    // The proxy learnt the new owner: requests for the slot stop going to the old one.
    let mut old = cluster.nodes[from].client();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(old.cmd_str(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
        assert_eq!(p.cmd_str(&["GET", &keys[3]]), bulk("p3"));
        if !old.cmd_str(&["INFO", "commandstats"]).contains("cmdstat_get:") {
            break;
        }
        assert!(Instant::now() < deadline, "GET still sent to the old owner:\n{}", proxy.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_asked_key_is_read_from_the_importing_node() {
    let cluster = Cluster::start();
    let proxy = Proxy::start(&cluster.nodes[2]);
    let mut p = proxy.client();
    let slot = key_slot(b"asking");
    let from = cluster.node_for_slot(slot);
    let to = (from + 2) % 3;
    let keys = keys_in_slot(slot, "ask", 4);
    for k in &keys {
        assert_eq!(p.cmd_str(&["SET", k, &format!("v-{k}")]), "+OK\r\n");
    }
    start_migration(&cluster, slot, from, to);
    migrate_keys(&cluster, from, to, &[&keys[0], &keys[1]]);

    // keys 0 and 1 are on the importing node now: the old owner answers ASK for them.
    let direct = cluster.nodes[from].client().cmd_str(&["GET", &keys[0]]);
    assert!(direct.starts_with("-ASK "), "{direct}");
    for k in &keys {
        assert_eq!(p.cmd_str(&["GET", k]), bulk(&format!("v-{k}")), "{k} during the migration");
    }
    // A new key in a migrating slot is created on the importing node.
    assert_eq!(p.cmd_str(&["SET", "{asking}:new", "n"]), "+OK\r\n");
    let mut on_target = cluster.nodes[to].client();
    assert_eq!(on_target.cmd_str(&["ASKING"]), "+OK\r\n");
    assert_eq!(on_target.cmd_str(&["GET", "{asking}:new"]), bulk("n"));
    // ASK does not change the map: the slot still belongs to the old owner.
    assert_eq!(p.cmd_str(&["GET", &keys[3]]), bulk(&format!("v-{}", keys[3])));
    assert_eq!(cluster.nodes[from].client().cmd_str(&["GET", &keys[3]]), bulk(&format!("v-{}", keys[3])));
}

/// The arguments of one multibulk request at the start of `buf`, and its length.
fn request(buf: &[u8]) -> Option<(Vec<String>, usize)> {
    let n = common::frame_len(buf)?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    // "*N", then "$len" / "arg" pairs.
    let args = text.split("\r\n").skip(2).step_by(2).filter(|a| !a.is_empty()).map(str::to_string).collect();
    Some((args, n))
}

/// A fake cluster node: its first `CLUSTER SLOTS` gives it every slot, later ones answer
/// garbage, and every other command is told `MOVED` to itself. Counts the commands it redirects.
struct FakeNode {
    port: u16,
    redirected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeNode {
    fn start() -> FakeNode {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let redirected = Arc::new(AtomicUsize::new(0));
        let slots_asked = Arc::new(AtomicUsize::new(0));
        let counter = redirected.clone();
        std::thread::spawn(move || {
            // The test process ends these threads; each connection stops when the proxy closes it.
            for conn in listener.incoming().take(64) {
                let Ok(mut conn) = conn else { return };
                let (counter, slots_asked) = (counter.clone(), slots_asked.clone());
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        while let Some((args, n)) = request(&buf) {
                            buf.drain(..n);
                            let name = args.first().map(|a| a.to_ascii_uppercase()).unwrap_or_default();
                            let reply = if name == "CLUSTER" {
                                if slots_asked.fetch_add(1, SeqCst) == 0 {
                                    format!("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:{port}\r\n")
                                } else {
                                    "*1\r\n:5\r\n".to_string()
                                }
                            } else {
                                counter.fetch_add(1, SeqCst);
                                format!("-MOVED 866 127.0.0.1:{port}\r\n")
                            };
                            if conn.write_all(reply.as_bytes()).is_err() {
                                return;
                            }
                        }
                        match conn.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        FakeNode { port, redirected }
    }
}

#[test]
fn endless_redirections_stop_at_the_bound_and_a_bad_slot_map_is_not_taken() {
    use std::sync::atomic::Ordering::SeqCst;
    let fake = FakeNode::start();
    let proxy = Proxy::start_with_seed(fake.port);
    let mut p = proxy.client();
    let moved = format!("-MOVED 866 127.0.0.1:{}\r\n", fake.port);
    assert_eq!(p.cmd_str(&["GET", "k"]), moved, "the last redirection, once the bound is hit");
    assert_eq!(fake.redirected.load(SeqCst), 6, "the request and five redirections");
    // The MOVED asked for a new map; the garbage reply is logged and the old map kept.
    proxy.wait_for_log("malformed CLUSTER SLOTS reply");
    proxy.wait_for_log("keeping the current one");
    assert_eq!(p.cmd_str(&["GET", "k"]), moved);
    assert_eq!(fake.redirected.load(SeqCst), 12);
    assert_eq!(p.cmd_str(&["PING"]), "+PONG\r\n");
}

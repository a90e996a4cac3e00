//! The machinery of differential tests: run the same commands against Roost and a real
//! redis-server, compare replies, shrink a failing sequence to a short one.

use super::*;

/// A deterministic generator so a failing seed can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One command: its arguments.
pub type Cmd = Vec<String>;

/// Makes replies that legitimately differ comparable: remaining TTLs become their sign, KEYS
/// is sorted, RANDOMKEY only says whether there was a key.
pub fn normalize(cmd: &Cmd, reply: Vec<u8>) -> Vec<u8> {
    let name = cmd[0].to_ascii_uppercase();
    let text = String::from_utf8_lossy(&reply).into_owned();
    match name.as_str() {
        "TTL" | "PTTL" | "EXPIRETIME" | "PEXPIRETIME" => {
            match text.strip_prefix(':').and_then(|t| t.trim_end().parse::<i64>().ok()) {
                Some(v) if v >= 0 => b":positive\r\n".to_vec(),
                _ => reply,
            }
        }
        "KEYS" => {
            let mut items: Vec<&str> = text.split("\r\n").skip(1).collect();
            items.sort();
            items.join("|").into_bytes()
        }
        "RANDOMKEY" => (if reply.starts_with(b"$-1") { "nil" } else { "key" }).as_bytes().to_vec(),
        // hashes: a hashtable's order is its own, so pairs and items are sorted; random picks
        // keep only their shape (how many, or whether there was one).
        "HGETALL" | "HKEYS" | "HVALS" => match flat_bulks(&text) {
            Some(items) => {
                let per = if name == "HGETALL" { 2 } else { 1 };
                let mut groups: Vec<String> = items.chunks(per).map(|c| c.join("=")).collect();
                groups.sort();
                format!("{name} {}", groups.join("|")).into_bytes()
            }
            None => reply,
        },
        "HSCAN" => match text.split_once("\r\n*").filter(|_| text.starts_with("*2\r\n$")) {
            Some((head, rest)) => {
                let cursor = head.rsplit("\r\n").next().unwrap_or("");
                let items = flat_bulks(&format!("*{rest}")).unwrap_or_default();
                let mut pairs: Vec<String> = items.chunks(2).map(|c| c.join("=")).collect();
                pairs.sort();
                format!("HSCAN {cursor} {}", pairs.join("|")).into_bytes()
            }
            None => reply,
        },
        "HRANDFIELD" => match reply.first() {
            Some(b'*') => text.split("\r\n").next().unwrap_or("").as_bytes().to_vec(),
            Some(b'$') if !reply.starts_with(b"$-1") => b"field".to_vec(),
            _ => reply,
        },
        // sets: member order is each server's own, so members are sorted. Random picks keep
        // their shape: how many, and (for a positive count) that they are all distinct.
        "SMEMBERS" | "SUNION" | "SINTER" | "SDIFF" => match flat_bulks(&text) {
            Some(mut items) => {
                items.sort();
                format!("{name} {}", items.join("|")).into_bytes()
            }
            None => reply,
        },
        "SSCAN" => match text.split_once("\r\n*").filter(|_| text.starts_with("*2\r\n$")) {
            Some((head, rest)) => {
                // Only a finished scan is comparable: pages of a hashtable are split differently.
                let cursor = head.rsplit("\r\n").next().unwrap_or("");
                let mut items = flat_bulks(&format!("*{rest}")).unwrap_or_default();
                items.sort();
                match cursor {
                    "0" => format!("SSCAN 0 {}", items.join("|")).into_bytes(),
                    _ => b"SSCAN unfinished".to_vec(),
                }
            }
            None => reply,
        },
        "SPOP" | "SRANDMEMBER" => match flat_bulks(&text) {
            Some(items) if cmd.len() == 3 => {
                let positive = cmd[2].parse::<i64>().is_ok_and(|c| c > 0);
                let mut distinct = items.clone();
                distinct.sort();
                distinct.dedup();
                let shape =
                    if positive { format!(" distinct={}", distinct.len() == items.len()) } else { String::new() };
                format!("{name} {}{shape}", items.len()).into_bytes()
            }
            _ if reply.starts_with(b"$") && !reply.starts_with(b"$-1") => b"member".to_vec(),
            _ => reply,
        },
        // sorted sets: a skiplist's ZSCAN order is each server's own, so pairs are sorted and
        // only a finished scan compares; random picks keep their shape.
        "ZSCAN" => match text.split_once("\r\n*").filter(|_| text.starts_with("*2\r\n$")) {
            Some((head, rest)) => {
                let cursor = head.rsplit("\r\n").next().unwrap_or("");
                let items = flat_bulks(&format!("*{rest}")).unwrap_or_default();
                let mut pairs: Vec<String> = items.chunks(2).map(|c| c.join("=")).collect();
                pairs.sort();
                match cursor {
                    "0" => format!("ZSCAN 0 {}", pairs.join("|")).into_bytes(),
                    _ => b"ZSCAN unfinished".to_vec(),
                }
            }
            None => reply,
        },
        "ZRANDMEMBER" => match reply.first() {
            Some(b'*') => text.split("\r\n").next().unwrap_or("").as_bytes().to_vec(),
            Some(b'$') if !reply.starts_with(b"$-1") => b"member".to_vec(),
            _ => reply,
        },
        _ => reply,
    }
}

/// The items of a flat RESP2 array of bulk strings (nulls as "nil"); None for other shapes.
fn flat_bulks(text: &str) -> Option<Vec<String>> {
    let mut lines = text.split("\r\n");
    let n: usize = lines.next()?.strip_prefix('*')?.parse().ok()?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let head = lines.next()?;
        if head == "$-1" {
            items.push("nil".to_string());
        } else {
            head.strip_prefix('$')?;
            items.push(lines.next()?.to_string());
        }
    }
    Some(items)
}

/// SCAN to the end (the pseudo-command SCANALL), returning the sorted set of keys seen.
pub fn scan_all(c: &mut RawClient, extra: &[String]) -> Vec<u8> {
    let mut cursor = "0".to_string();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        let mut args = vec!["SCAN".to_string(), cursor.clone(), "COUNT".into(), "3".into()];
        args.extend(extra.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let reply = c.cmd_str(&refs);
        let parts: Vec<&str> = reply.split("\r\n").collect();
        cursor = parts[2].to_string();
        for item in parts[4..].iter().skip(1).step_by(2) {
            seen.insert(item.to_string());
        }
        if cursor == "0" {
            break;
        }
    }
    seen.into_iter().collect::<Vec<_>>().join("|").into_bytes()
}

pub fn run(port: u16, cmds: &[Cmd]) -> Vec<Vec<u8>> {
    let mut c = RawClient::connect(port);
    assert_eq!(c.cmd(&["FLUSHALL"]), b"+OK\r\n");
    cmds.iter()
        .map(|cmd| {
            if cmd[0] == "SCANALL" {
                return scan_all(&mut c, &cmd[1..]);
            }
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            normalize(cmd, c.cmd_bytes(&args))
        })
        .collect()
}

/// Index of the first reply that differs, if any.
pub fn first_difference(roost: u16, redis: u16, cmds: &[Cmd]) -> Option<usize> {
    let a = run(roost, cmds);
    let b = run(redis, cmds);
    a.iter().zip(&b).position(|(x, y)| x != y)
}

/// Drops commands one at a time while the streams still differ (bounded passes).
pub fn shrink(roost: u16, redis: u16, mut cmds: Vec<Cmd>) -> Vec<Cmd> {
    for _ in 0..3 {
        let mut i = 0;
        let mut changed = false;
        while i < cmds.len() {
            let mut candidate = cmds.clone();
            candidate.remove(i);
            if first_difference(roost, redis, &candidate).is_some() {
                cmds = candidate;
                changed = true;
            } else {
                i += 1;
            }
        }
        if !changed {
            break;
        }
    }
    cmds
}

pub fn compare(roost: &TestServer, redis: &TestServer, cmds: Vec<Cmd>, seed: u64) {
    if let Some(at) = first_difference(roost.port, redis.port, &cmds) {
        let cmds = shrink(roost.port, redis.port, cmds[..=at].to_vec());
        let a = run(roost.port, &cmds);
        let b = run(redis.port, &cmds);
        let mut report = format!("seed {seed}: replies differ; shortest sequence found:\n");
        for c in &cmds {
            report.push_str(&format!("  {c:?}\n"));
        }
        let last = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(cmds.len() - 1);
        report.push_str(&format!("first difference at command {}: {:?}\n", last + 1, cmds[last]));
        report.push_str(&format!(
            "last reply:\n  roost: {:?}\n  redis: {:?}\n",
            String::from_utf8_lossy(&a[last]),
            String::from_utf8_lossy(&b[last])
        ));
        panic!("{report}");
    }
}

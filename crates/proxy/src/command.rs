//! Which commands the proxy accepts and how each is routed: the one table every routing decision
//! reads.
//!
//! The forwarded set is nutcracker 0.5.0's (single-key commands, multi-key commands routed by
//! their first key, split commands, EVAL/EVALSHA, keyless COMMAND/LOLWUT); everything else is
//! unsupported because it has no single backend (INFO, KEYS, SCAN, MULTI, pub/sub, blocking pops).

use roost_resp::{parse_i64, Args};

/// How a command is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Answered by the proxy itself.
    Local(LocalCommand),
    /// Routed by the argument at this index (which must exist).
    Key(usize),
    /// Split across servers by key and merged.
    Split(SplitKind),
    /// EVAL/EVALSHA: `script numkeys key...`, routed by the first key.
    Script,
    /// No key: always the same backend, as nutcracker routes it.
    Keyless,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalCommand {
    Ping,
    Quit,
    Auth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitKind {
    /// MGET: array merged in key order.
    Mget,
    /// DEL/UNLINK/TOUCH/EXISTS: integers summed.
    Sum,
    /// MSET: key/value pairs, `+OK` when every part succeeded.
    Mset,
}

/// The key nutcracker hashes for keyless commands, so they always reach the same backend.
pub const KEYLESS_ROUTING_KEY: &[u8] = b"placeholder";

/// Commands routed by their first argument. Multi-key ones among them (SDIFF, PFMERGE, ...) are
/// forwarded whole: their keys must share a hash tag to be on one backend.
const FIRST_KEY: &[&str] = &[
    "append",
    "bitcount",
    "bitfield",
    "bitpos",
    "copy",
    "decr",
    "decrby",
    "dump",
    "expire",
    "expireat",
    "geoadd",
    "geodist",
    "geohash",
    "geopos",
    "georadius",
    "georadiusbymember",
    "geosearch",
    "geosearchstore",
    "get",
    "getbit",
    "getdel",
    "getex",
    "getrange",
    "getset",
    "hdel",
    "hexists",
    "hget",
    "hgetall",
    "hincrby",
    "hincrbyfloat",
    "hkeys",
    "hlen",
    "hmget",
    "hmset",
    "hrandfield",
    "hscan",
    "hset",
    "hsetnx",
    "hstrlen",
    "hvals",
    "incr",
    "incrby",
    "incrbyfloat",
    "lindex",
    "linsert",
    "llen",
    "lmove",
    "lpop",
    "lpos",
    "lpush",
    "lpushx",
    "lrange",
    "lrem",
    "lset",
    "ltrim",
    "persist",
    "pexpire",
    "pexpireat",
    "pfadd",
    "pfcount",
    "pfmerge",
    "psetex",
    "pttl",
    "restore",
    "rpop",
    "rpoplpush",
    "rpush",
    "rpushx",
    "sadd",
    "scard",
    "sdiff",
    "sdiffstore",
    "set",
    "setbit",
    "setex",
    "setnx",
    "setrange",
    "sinter",
    "sinterstore",
    "sismember",
    "smembers",
    "smismember",
    "smove",
    "sort",
    "spop",
    "srandmember",
    "srem",
    "sscan",
    "strlen",
    "sunion",
    "sunionstore",
    "ttl",
    "type",
    "zadd",
    "zcard",
    "zcount",
    "zdiffstore",
    "zincrby",
    "zinterstore",
    "zlexcount",
    "zmscore",
    "zpopmax",
    "zpopmin",
    "zrandmember",
    "zrange",
    "zrangebylex",
    "zrangebyscore",
    "zrangestore",
    "zrank",
    "zrem",
    "zremrangebylex",
    "zremrangebyrank",
    "zremrangebyscore",
    "zrevrange",
    "zrevrangebylex",
    "zrevrangebyscore",
    "zrevrank",
    "zscan",
    "zscore",
    "zunionstore",
];

/// `ZDIFF/ZINTER/ZUNION numkeys key ...`: nutcracker hashes the numkeys string; the proxy
/// routes by the first key instead, where the data is.
const NUMKEYS_FIRST: &[&str] = &["zdiff", "zinter", "zunion"];

/// Looks a command up by name (any case). `None`: unsupported.
pub fn route_of(name: &[u8]) -> Option<Route> {
    let mut lower = [0u8; 24];
    let lower = lower.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    route_table().get(lower)
}

/// Every supported command's lowercase name and route, in an open-addressed table: a lookup
/// costs one hash and usually one comparison, where searching the name lists took a dozen.
struct RouteTable {
    slots: Box<[Option<NamedRoute>]>,
}

type NamedRoute = (&'static [u8], Route);

impl RouteTable {
    fn build() -> RouteTable {
        let mut named = vec![
            ("ping", Route::Local(LocalCommand::Ping)),
            ("quit", Route::Local(LocalCommand::Quit)),
            ("auth", Route::Local(LocalCommand::Auth)),
            ("mget", Route::Split(SplitKind::Mget)),
            ("mset", Route::Split(SplitKind::Mset)),
            ("eval", Route::Script),
            ("evalsha", Route::Script),
            ("command", Route::Keyless),
            ("lolwut", Route::Keyless),
        ];
        named.extend(["del", "unlink", "touch", "exists"].map(|n| (n, Route::Split(SplitKind::Sum))));
        named.extend(NUMKEYS_FIRST.iter().map(|&n| (n, Route::Key(2))));
        named.extend(FIRST_KEY.iter().map(|&n| (n, Route::Key(1))));
        // A quarter full: probe runs stay short.
        let mut slots = vec![None; (named.len() * 4).next_power_of_two()].into_boxed_slice();
        let mask = slots.len() - 1;
        for (name, route) in named {
            let mut i = name_hash(name.as_bytes()) & mask;
            loop {
                match slots[i] {
                    // A name listed twice keeps its first route.
                    Some((taken, _)) if taken == name.as_bytes() => break,
                    Some(_) => i = (i + 1) & mask,
                    None => {
                        slots[i] = Some((name.as_bytes(), route));
                        break;
                    }
                }
            }
        }
        RouteTable { slots }
    }

    fn get(&self, name: &[u8]) -> Option<Route> {
        let mask = self.slots.len() - 1;
        let mut i = name_hash(name) & mask;
        // Bounded: the table always has empty slots.
        loop {
            match self.slots[i] {
                Some((taken, route)) if taken == name => return Some(route),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }
}

fn route_table() -> &'static RouteTable {
    static TABLE: std::sync::OnceLock<RouteTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(RouteTable::build)
}

/// FNV-1a over a command name: short names, a fixed table, no attacker-chosen keys.
fn name_hash(name: &[u8]) -> usize {
    name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)) as usize
}

/// Calls `each` with every key of a command forwarded whole, beyond the one it is routed by,
/// so that a Redis Cluster pool can refuse keys in several slots. Keys named inside patterns
/// (SORT's BY/GET) are not keys here; the node judges those.
pub fn other_keys<'a>(args: &Args<'a>, mut each: impl FnMut(&'a [u8])) {
    let mut lower = [0u8; 24];
    let name = args.get(0);
    if name.len() > lower.len() || args.len() < 3 {
        return;
    }
    for (l, c) in lower.iter_mut().zip(name) {
        *l = c.to_ascii_lowercase();
    }
    let name = &lower[..name.len()];
    let numkeys = |at: usize| args.len().min(at + 1 + parse_i64(args.get(at)).unwrap_or(0).max(0) as usize);
    let mut range = |from: usize, to: usize| (from..to.min(args.len())).for_each(|i| each(args.get(i)));
    match name {
        b"sdiff" | b"sinter" | b"sunion" | b"sdiffstore" | b"sinterstore" | b"sunionstore" | b"pfcount"
        | b"pfmerge" => range(2, args.len()),
        b"rpoplpush" | b"lmove" | b"smove" | b"copy" | b"zrangestore" | b"geosearchstore" => range(2, 3),
        // dest numkeys key...: routed by dest.
        b"zdiffstore" | b"zinterstore" | b"zunionstore" if args.len() > 3 => range(3, numkeys(2)),
        // numkeys key...: routed by the first key.
        b"zdiff" | b"zinter" | b"zunion" => range(3, numkeys(1)),
        // script numkeys key...: routed by the first key.
        b"eval" | b"evalsha" if args.len() > 3 => range(4, numkeys(2)),
        b"georadius" => store_option(args, 6, each),
        b"georadiusbymember" => store_option(args, 5, each),
        b"sort" => store_option(args, 2, each),
        _ => {}
    }
}

/// The destination of a `STORE`/`STOREDIST key` option among the options from `from` on.
fn store_option<'a>(args: &Args<'a>, from: usize, mut each: impl FnMut(&'a [u8])) {
    let mut i = from;
    while i + 1 < args.len() {
        let opt = args.get(i);
        if opt.eq_ignore_ascii_case(b"store") || opt.eq_ignore_ascii_case(b"storedist") {
            each(args.get(i + 1));
            i += 1;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_is_found_in_any_case() {
        // Sorted and without repeats, so that a reader can find a name in the list.
        assert!(FIRST_KEY.windows(2).all(|w| w[0] < w[1]));
        for name in FIRST_KEY {
            assert_eq!(route_of(name.as_bytes()), Some(Route::Key(1)), "{name}");
            assert_eq!(route_of(name.to_ascii_uppercase().as_bytes()), Some(Route::Key(1)), "{name}");
        }
        for name in NUMKEYS_FIRST {
            assert_eq!(route_of(name.as_bytes()), Some(Route::Key(2)), "{name}");
        }
    }

    #[test]
    fn routes() {
        assert_eq!(route_of(b"GET"), Some(Route::Key(1)));
        assert_eq!(route_of(b"zUnion"), Some(Route::Key(2)));
        assert_eq!(route_of(b"mget"), Some(Route::Split(SplitKind::Mget)));
        assert_eq!(route_of(b"EXISTS"), Some(Route::Split(SplitKind::Sum)));
        assert_eq!(route_of(b"MSET"), Some(Route::Split(SplitKind::Mset)));
        assert_eq!(route_of(b"evalsha"), Some(Route::Script));
        assert_eq!(route_of(b"PING"), Some(Route::Local(LocalCommand::Ping)));
        assert_eq!(route_of(b"COMMAND"), Some(Route::Keyless));
        for unsupported in
            [&b"INFO"[..], b"keys", b"MULTI", b"subscribe", b"blpop", b"msetnx", b"rename", b"move", b"select"]
        {
            assert_eq!(route_of(unsupported), None);
        }
        assert_eq!(route_of(&[0xff; 4]), None);
        assert_eq!(route_of(&[b'a'; 1000]), None);
    }

    fn others(parts: &[&str]) -> Vec<String> {
        let args = roost_resp::OwnedArgs::from_slices(parts.iter().map(|p| p.as_bytes()));
        let mut out = Vec::new();
        other_keys(&args.args(), |k| out.push(String::from_utf8_lossy(k).into_owned()));
        out
    }

    #[test]
    fn other_keys_of_commands_forwarded_whole() {
        assert!(others(&["SET", "k", "v"]).is_empty());
        assert!(others(&["get", "k"]).is_empty());
        assert_eq!(others(&["SUNION", "a", "b", "c"]), ["b", "c"]);
        assert_eq!(others(&["lmove", "a", "b", "LEFT", "RIGHT"]), ["b"]);
        assert_eq!(others(&["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]), ["a", "b"]);
        assert_eq!(others(&["zinter", "2", "a", "b", "WITHSCORES"]), ["b"]);
        assert_eq!(others(&["EVAL", "return 1", "2", "a", "b", "argv"]), ["b"]);
        assert!(others(&["EVAL", "return 1", "0"]).is_empty());
        assert_eq!(others(&["EVAL", "s", "99", "a", "b"]), ["b"], "numkeys beyond the arguments is cut");
        assert_eq!(others(&["sort", "k", "BY", "w_*", "STORE", "d"]), ["d"]);
        assert_eq!(others(&["GEORADIUS", "k", "1", "2", "3", "km", "STOREDIST", "d"]), ["d"]);
        assert!(others(&["GEORADIUSBYMEMBER", "k", "store", "3", "km"]).is_empty(), "a member named store");
    }
}

//! Which commands the proxy accepts and how each is routed: the one table every routing decision
//! reads.
//!
//! The forwarded set is nutcracker 0.5.0's (single-key commands, multi-key commands routed by
//! their first key, split commands, EVAL/EVALSHA, keyless COMMAND/LOLWUT); everything else is
//! unsupported because it has no single backend (INFO, KEYS, SCAN, MULTI, pub/sub, blocking pops).

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
    if name.len() > 24 {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let name = std::str::from_utf8(&lower).ok()?;
    Some(match name {
        "ping" => Route::Local(LocalCommand::Ping),
        "quit" => Route::Local(LocalCommand::Quit),
        "auth" => Route::Local(LocalCommand::Auth),
        "mget" => Route::Split(SplitKind::Mget),
        "del" | "unlink" | "touch" | "exists" => Route::Split(SplitKind::Sum),
        "mset" => Route::Split(SplitKind::Mset),
        "eval" | "evalsha" => Route::Script,
        "command" | "lolwut" => Route::Keyless,
        _ if NUMKEYS_FIRST.contains(&name) => Route::Key(2),
        _ if FIRST_KEY.binary_search(&name).is_ok() => Route::Key(1),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(FIRST_KEY.windows(2).all(|w| w[0] < w[1]));
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
}

//! The command table and the command families, one file each.

pub mod aof;
pub mod bitmap;
pub mod client;
pub mod config;
pub mod connection;
pub mod debug;
pub mod dump;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod info;
pub mod introspection;
pub mod keys;
pub mod list;
pub mod migrate;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod tracking;
pub mod transaction;
pub mod zset;

use roost_resp::Args;

use crate::command::{CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};

/// Defaults every entry starts from; each entry names the fields that make it what it is.
pub const BASE: CommandSpec = CommandSpec {
    name: "",
    arity: 1,
    flags: 0,
    keys: Keys::None,
    key_flags: &[],
    acl: &[],
    group: "generic",
    since: "1.0.0",
    summary: "",
    complexity: "O(1)",
    run: container,
    subcommands: &[],
};

/// The run function of a container command (CLIENT, CONFIG, ...): dispatch resolves the
/// subcommand before this is reached, so getting here means the subcommand was not found.
pub fn container(_ctx: &mut Ctx, args: &Args) -> CmdResult {
    Err(CmdError::UnknownSubcommand(
        String::from_utf8_lossy(args.get(1.min(args.len() - 1))).into_owned(),
        String::from_utf8_lossy(args.get(0)).to_ascii_uppercase(),
    ))
}

/// Every command Roost serves. Dispatch, COMMAND and statistics read this list and nothing else.
pub static TABLE: &[CommandSpec] = &[
    // connection
    connection::PING,
    connection::ECHO,
    connection::QUIT,
    connection::HELLO,
    connection::AUTH,
    connection::SELECT,
    connection::SWAPDB,
    connection::RESET,
    client::CLIENT,
    // transactions
    transaction::MULTI,
    transaction::EXEC,
    transaction::DISCARD,
    transaction::WATCH,
    transaction::UNWATCH,
    // server
    config::CONFIG,
    info::INFO,
    server::DBSIZE,
    server::FLUSHDB,
    server::FLUSHALL,
    server::TIME,
    server::SHUTDOWN,
    persistence::SAVE,
    persistence::BGSAVE,
    persistence::LASTSAVE,
    aof::BGREWRITEAOF,
    introspection::COMMAND,
    debug::DEBUG,
    // strings
    string::GET,
    string::SET,
    string::SETNX,
    string::SETEX,
    string::PSETEX,
    string::GETSET,
    string::GETEX,
    string::GETDEL,
    string::MGET,
    string::MSET,
    string::MSETNX,
    string::APPEND,
    string::STRLEN,
    string::GETRANGE,
    string::SUBSTR,
    string::SETRANGE,
    string::INCR,
    string::DECR,
    string::INCRBY,
    string::DECRBY,
    string::INCRBYFLOAT,
    string::LCS,
    // keys
    keys::DEL,
    keys::UNLINK,
    keys::EXISTS,
    keys::TYPE,
    keys::RENAME,
    keys::RENAMENX,
    keys::COPY,
    keys::MOVE,
    keys::KEYS,
    keys::SCAN,
    keys::RANDOMKEY,
    keys::TOUCH,
    keys::EXPIRE,
    keys::PEXPIRE,
    keys::EXPIREAT,
    keys::PEXPIREAT,
    keys::TTL,
    keys::PTTL,
    keys::EXPIRETIME,
    keys::PEXPIRETIME,
    keys::PERSIST,
    keys::OBJECT,
    keys::MEMORY,
    dump::DUMP,
    dump::RESTORE,
    dump::RESTORE_ASKING,
    migrate::MIGRATE,
    // hashes
    hash::HSET,
    hash::HSETNX,
    hash::HGET,
    hash::HMSET,
    hash::HMGET,
    hash::HGETALL,
    hash::HDEL,
    hash::HLEN,
    hash::HEXISTS,
    hash::HINCRBY,
    hash::HINCRBYFLOAT,
    hash::HKEYS,
    hash::HVALS,
    hash::HSTRLEN,
    hash::HRANDFIELD,
    hash::HSCAN,
    // lists
    list::LPUSH,
    list::RPUSH,
    list::LPUSHX,
    list::RPUSHX,
    list::LPOP,
    list::RPOP,
    list::LRANGE,
    list::LINDEX,
    list::LSET,
    list::LINSERT,
    list::LREM,
    list::LTRIM,
    list::LLEN,
    list::LPOS,
    list::LMOVE,
    list::RPOPLPUSH,
    list::LMPOP,
    list::BLPOP,
    list::BRPOP,
    list::BLMOVE,
    list::BRPOPLPUSH,
    list::BLMPOP,
    // sets
    set::SADD,
    set::SREM,
    set::SMEMBERS,
    set::SISMEMBER,
    set::SMISMEMBER,
    set::SCARD,
    set::SPOP,
    set::SRANDMEMBER,
    set::SMOVE,
    set::SINTER,
    set::SINTERCARD,
    set::SINTERSTORE,
    set::SUNION,
    set::SUNIONSTORE,
    set::SDIFF,
    set::SDIFFSTORE,
    set::SSCAN,
    // sorted sets
    zset::ZADD,
    zset::ZINCRBY,
    zset::ZREM,
    zset::ZCARD,
    zset::ZSCORE,
    zset::ZMSCORE,
    zset::ZRANK,
    zset::ZREVRANK,
    zset::ZCOUNT,
    zset::ZLEXCOUNT,
    zset::ZRANGE,
    zset::ZRANGESTORE,
    zset::ZRANGEBYSCORE,
    zset::ZREVRANGEBYSCORE,
    zset::ZRANGEBYLEX,
    zset::ZREVRANGEBYLEX,
    zset::ZREVRANGE,
    zset::ZREMRANGEBYRANK,
    zset::ZREMRANGEBYSCORE,
    zset::ZREMRANGEBYLEX,
    zset::ZPOPMIN,
    zset::ZPOPMAX,
    zset::BZPOPMIN,
    zset::BZPOPMAX,
    zset::ZMPOP,
    zset::BZMPOP,
    zset::ZUNION,
    zset::ZINTER,
    zset::ZDIFF,
    zset::ZUNIONSTORE,
    zset::ZINTERSTORE,
    zset::ZDIFFSTORE,
    zset::ZINTERCARD,
    zset::ZRANDMEMBER,
    zset::ZSCAN,
    // streams
    stream::XADD,
    stream::XLEN,
    stream::XRANGE,
    stream::XREVRANGE,
    stream::XDEL,
    stream::XTRIM,
    stream::XSETID,
    stream::XREAD,
    stream::XGROUP,
    stream::XREADGROUP,
    stream::XACK,
    stream::XPENDING,
    stream::XCLAIM,
    stream::XAUTOCLAIM,
    stream::XINFO,
    // geo
    geo::GEOADD,
    geo::GEOPOS,
    geo::GEODIST,
    geo::GEOHASH,
    geo::GEORADIUS,
    geo::GEORADIUS_RO,
    geo::GEORADIUSBYMEMBER,
    geo::GEORADIUSBYMEMBER_RO,
    geo::GEOSEARCH,
    geo::GEOSEARCHSTORE,
    // hyperloglog
    hyperloglog::PFADD,
    hyperloglog::PFCOUNT,
    hyperloglog::PFMERGE,
    hyperloglog::PFDEBUG,
    hyperloglog::PFSELFTEST,
    // bitmaps
    bitmap::SETBIT,
    bitmap::GETBIT,
    bitmap::BITCOUNT,
    bitmap::BITPOS,
    bitmap::BITOP,
    bitmap::BITFIELD,
    bitmap::BITFIELD_RO,
    // sort
    sort::SORT,
    sort::SORT_RO,
    // scripting
    scripting::EVAL,
    scripting::EVALSHA,
    scripting::EVAL_RO,
    scripting::EVALSHA_RO,
    scripting::FCALL,
    scripting::FCALL_RO,
    scripting::SCRIPT,
    scripting::FUNCTION,
    // pub/sub
    pubsub::SUBSCRIBE,
    pubsub::UNSUBSCRIBE,
    pubsub::PSUBSCRIBE,
    pubsub::PUNSUBSCRIBE,
    pubsub::SSUBSCRIBE,
    pubsub::SUNSUBSCRIBE,
    pubsub::PUBLISH,
    pubsub::SPUBLISH,
    pubsub::PUBSUB_CMD,
];

/// Parses an integer argument with Redis's rules and error.
pub fn parse_int(arg: &[u8]) -> Result<i64, CmdError> {
    roost_resp::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parses a float argument as Redis does (strtod over the whole argument, no NaN).
pub fn parse_float(arg: &[u8]) -> Result<f64, CmdError> {
    let s = std::str::from_utf8(arg).map_err(|_| CmdError::NotFloat)?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(CmdError::NotFloat);
    }
    let v: f64 = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        lower if lower.contains("nan") => return Err(CmdError::NotFloat),
        _ => s.parse().map_err(|_| CmdError::NotFloat)?,
    };
    Ok(v)
}

/// HRANDFIELD's and ZRANDMEMBER's `count [WITHVALUES|WITHSCORES]` (the flag named by
/// `with_word`), with Redis's bounds: the doubled RESP2 length of a reply with values must not
/// overflow.
pub fn random_count(args: &Args, with_word: &str) -> Result<(i64, bool), CmdError> {
    let count = parse_int(args.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with = match args.len() {
        3 => false,
        4 if is(args.get(3), with_word) => true,
        _ => return Err(CmdError::Syntax),
    };
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    Ok((count, with))
}

/// Whether an argument equals an option name, ignoring case.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

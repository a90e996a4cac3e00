//! Differential tests for scripting: a corpus of scripts of the kinds applications run (counters,
//! rate limiters, lock release, queue moves, conversions, cjson and cmsgpack round trips), plus
//! random streams of them, against Roost and a real redis-server, replies compared byte for
//! byte.

mod common;
use common::differential::*;
use common::*;

fn cmd(parts: &[&str]) -> Cmd {
    parts.iter().map(|s| s.to_string()).collect()
}

const INCR_BY_CAPPED: &str = "local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[2])
  return tonumber(ARGV[2])
end
return v";

const RATE_LIMIT: &str = "local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
if current > tonumber(ARGV[2]) then
  return {err='RATELIMIT too many requests'}
end
return {current, redis.call('TTL', KEYS[1]) > 0}";

const UNLOCK: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
else
  return 0
end";

const MOVE_TO_ACTIVE: &str = "local job = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
if not job then return false end
redis.call('HSET', KEYS[3] .. job, 'state', 'active', 'at', ARGV[1])
redis.call('ZADD', KEYS[4], tonumber(ARGV[1]), job)
return {job, redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[4])}";

const CONVERSIONS: &[&str] = &[
    "return {1, 2.9, -2.9, 'x', true, false, nil, 'after nil'}",
    "return {ok='STATUS'}",
    "return {err='CUSTOM failure'}",
    "return redis.call('HGETALL', KEYS[1])",
    "return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')",
    "return redis.call('GET', 'missing')",
    "return redis.pcall('HGET', KEYS[1])",
    "return redis.pcall('INCR', KEYS[1])",
    "return {double=1.5}",
    "return {map={}}",
    "redis.setresp(3) return redis.call('HGETALL', KEYS[1])",
    "redis.setresp(3) return redis.call('GET', 'missing')",
    "redis.setresp(3) return redis.call('ZSCORE', KEYS[1], 'a')",
    "return tostring(1/3) .. ' ' .. tostring(100) .. ' ' .. tostring(1e300)",
    "return string.format('%d %s %5.2f', 42, 'x', 3.14159)",
    "return table.concat({'a','b','c'}, ',')",
    "return #KEYS + #ARGV",
    "return redis.sha1hex('hello')",
    "return {string.byte('AB', 1, 2)}",
    "return tonumber('0x10')",
    "return math.floor(-3.5)",
    "return redis.call('TYPE', KEYS[1])",
    "return redis.call('EXISTS', KEYS[1], 'missing')",
    "return {redis.call('SET', 'tmp', 'v', 'GET')}",
    "local t = {} for i = 1, 5 do t[i] = i * i end return t",
    "return error('plain failure')",
    "return redis.call('NOSUCH')",
];

const LIB_ROUND_TRIPS: &[&str] = &[
    "return cjson.encode({a=1})",
    "return cjson.encode({1,2,3,'x'})",
    "return cjson.decode('[1,2,3]')",
    "local t = cjson.decode('{\"k\":[1,{\"n\":null}]}') return type(t.k[2].n)",
    "return cjson.encode(cjson.decode('{\"x\":1.5,\"y\":\"z\"}').x)",
    "return cmsgpack.unpack(cmsgpack.pack({1,2,3}))",
    "return cmsgpack.pack('abc', 1, -1, 1.5)",
    "return {cmsgpack.unpack(cmsgpack.pack('abc', 300, -70000))}",
    "return bit.band(0xff, 0x0f) .. ' ' .. bit.bor(1, 2) .. ' ' .. bit.tohex(255)",
    "return struct.pack('>I2', 258)",
    "return {struct.unpack('>I2', struct.pack('>I2', 258))}",
];

fn run_both(roost: &TestServer, redis: &TestServer, cmds: Vec<Cmd>) {
    compare(roost, redis, cmds, 0);
}

#[test]
fn application_scripts_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let mut cmds = vec![
        cmd(&["EVAL", INCR_BY_CAPPED, "1", "counter", "5", "12"]),
        cmd(&["EVAL", INCR_BY_CAPPED, "1", "counter", "5", "12"]),
        cmd(&["EVAL", INCR_BY_CAPPED, "1", "counter", "5", "12"]),
        cmd(&["GET", "counter"]),
        cmd(&["EVAL", INCR_BY_CAPPED, "1", "counter", "x", "12"]),
    ];
    for _ in 0..4 {
        cmds.push(cmd(&["EVAL", RATE_LIMIT, "1", "rl:user", "60", "3"]));
    }
    cmds.extend([
        cmd(&["SET", "lock", "token-1"]),
        cmd(&["EVAL", UNLOCK, "1", "lock", "token-2"]),
        cmd(&["EVAL", UNLOCK, "1", "lock", "token-1"]),
        cmd(&["EXISTS", "lock"]),
        cmd(&["RPUSH", "wait", "j1", "j2", "j3"]),
        cmd(&["EVAL", MOVE_TO_ACTIVE, "4", "wait", "active", "job:", "active:z", "1000"]),
        cmd(&["EVAL", MOVE_TO_ACTIVE, "4", "wait", "active", "job:", "active:z", "1001"]),
        cmd(&["HGETALL", "job:j3"]),
        cmd(&["LRANGE", "active", "0", "-1"]),
        cmd(&["ZRANGE", "active:z", "0", "-1", "WITHSCORES"]),
        cmd(&["EVAL", MOVE_TO_ACTIVE, "4", "empty", "active", "job:", "active:z", "1"]),
    ]);
    run_both(&roost, &redis, cmds);
}

#[test]
fn conversions_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let mut cmds = vec![cmd(&["HSET", "h", "f", "v"]), cmd(&["ZADD", "z", "1.5", "a", "2", "b"])];
    for key in ["h", "z"] {
        for body in CONVERSIONS {
            cmds.push(cmd(&["EVAL", body, "1", key, "arg"]));
        }
    }
    run_both(&roost, &redis, cmds.clone());
    // The same over RESP3 (HELLO's own reply names the server, so it is not compared).
    let replies = |port: u16| -> Vec<String> {
        let mut c = RawClient::connect(port);
        c.cmd(&["HELLO", "3"]);
        cmds.iter()
            .map(|cmd| {
                let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
                c.cmd_str(&args)
            })
            .collect()
    };
    let ours = replies(roost.port);
    let theirs = replies(redis.port);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "RESP3, command {i}: {:?}", cmds[i]);
    }
}

#[test]
fn library_round_trips_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let cmds = LIB_ROUND_TRIPS.iter().map(|b| cmd(&["EVAL", b, "0"])).collect();
    run_both(&roost, &redis, cmds);
}

#[test]
fn functions_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let lib = "#!lua name=queue
local function push(keys, args)
  return redis.call('RPUSH', keys[1], unpack(args))
end
local function take(keys, args)
  local job = redis.call('LPOP', keys[1])
  if job then redis.call('HINCRBY', keys[2], job, 1) end
  return job
end
redis.register_function('push', push)
redis.register_function{function_name='take', callback=take}
redis.register_function{function_name='peek', callback=function(keys) return redis.call('LRANGE', keys[1], 0, -1) end, flags={'no-writes'}}";
    let cmds = vec![
        cmd(&["FUNCTION", "FLUSH"]),
        cmd(&["FUNCTION", "LOAD", lib]),
        cmd(&["FUNCTION", "LOAD", lib]),
        cmd(&["FCALL", "push", "1", "q", "a", "b", "c"]),
        cmd(&["FCALL", "take", "2", "q", "counts"]),
        cmd(&["FCALL_RO", "peek", "1", "q"]),
        cmd(&["FCALL_RO", "take", "2", "q", "counts"]),
        cmd(&["FCALL", "take", "2", "q", "counts"]),
        cmd(&["HGETALL", "counts"]),
        cmd(&["FCALL", "take", "x"]),
        // A library's functions are listed in an order of Redis's hash table; one function keeps
        // the listing comparable.
        cmd(&["FUNCTION", "LOAD", "#!lua name=one\nredis.register_function{function_name='one', callback=function() return 1 end, description='the one'}"]),
        cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "o*", "WITHCODE"]),
        cmd(&["FUNCTION", "DELETE", "queue"]),
        cmd(&["FCALL", "push", "1", "q", "z"]),
        cmd(&["FUNCTION", "STATS"]),
    ];
    run_both(&roost, &redis, cmds);
}

#[test]
fn random_script_streams_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let bodies = [
        "return redis.call('INCRBY', KEYS[1], ARGV[1])",
        "return redis.call('GET', KEYS[1])",
        "return redis.pcall('LPUSH', KEYS[1], ARGV[1])",
        "return redis.call('LPUSH', KEYS[1], ARGV[1])",
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
        "return redis.call('SET', KEYS[1], ARGV[1], 'NX')",
        "return {redis.call('TYPE', KEYS[1]).ok, redis.call('EXISTS', KEYS[1])}",
        "return redis.call('HINCRBY', KEYS[1], 'f', ARGV[1])",
        "return redis.call('LRANGE', KEYS[1], 0, -1)",
        "return tonumber(ARGV[1]) and tonumber(ARGV[1]) * 2 or ARGV[1]",
    ];
    for seed in 1..=6u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let cmds: Vec<Cmd> = (0..60)
            .map(|_| {
                let body = bodies[r.below(bodies.len() as u64) as usize];
                let key = ["a", "b", "c"][r.below(3) as usize];
                let arg = ["1", "-3", "x", "10", ""][r.below(5) as usize];
                if r.below(8) == 0 {
                    cmd(&["GET", key])
                } else {
                    cmd(&["EVAL", body, "1", key, arg])
                }
            })
            .collect();
        compare(&roost, &redis, cmds, seed);
    }
}

/// The bulk payload of a `$<len>\r\n<payload>\r\n` reply.
fn bulk_payload(reply: &[u8]) -> Vec<u8> {
    let start = reply.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
    reply[start..reply.len().saturating_sub(2)].to_vec()
}

#[test]
fn function_dumps_move_between_redis_and_roost() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let mut ro = roost.raw();
    let mut re = redis.raw();
    // Long enough that Redis compresses it.
    let long =
        format!("#!lua name=big\nredis.register_function('big', function() return '{}' end)", "abcabcabc".repeat(20));
    for c in [&mut ro, &mut re] {
        assert_eq!(c.cmd_str(&["FUNCTION", "FLUSH"]), "+OK\r\n");
        assert_eq!(c.cmd_str(&["FUNCTION", "LOAD", &long]), "$3\r\nbig\r\n");
        assert_eq!(
            c.cmd_str(&[
                "FUNCTION",
                "LOAD",
                "#!lua name=small\nredis.register_function('small', function() return 1 end)"
            ]),
            "$5\r\nsmall\r\n"
        );
    }
    let from_redis = bulk_payload(&re.cmd(&["FUNCTION", "DUMP"]));
    let from_roost = bulk_payload(&ro.cmd(&["FUNCTION", "DUMP"]));
    for (c, payload) in [(&mut ro, &from_redis), (&mut re, &from_roost)] {
        assert_eq!(String::from_utf8_lossy(&c.cmd_bytes(&[b"FUNCTION", b"RESTORE", payload, b"FLUSH"])), "+OK\r\n");
        assert_eq!(c.cmd_str(&["FCALL", "small", "0"]), ":1\r\n");
        assert_eq!(c.cmd_str(&["FCALL", "big", "0"]), format!("$180\r\n{}\r\n", "abcabcabc".repeat(20)));
        // The first library of the payload that exists is named; the order is the dumper's.
        let again = String::from_utf8_lossy(&c.cmd_bytes(&[b"FUNCTION", b"RESTORE", payload])).into_owned();
        assert!(
            again == "-ERR Library big already exists\r\n" || again == "-ERR Library small already exists\r\n",
            "{again}"
        );
    }
    // With one library the order cannot differ: the payload is Redis's byte for byte, the code
    // LZF-compressed as Redis compresses it.
    for c in [&mut ro, &mut re] {
        assert_eq!(c.cmd_str(&["FUNCTION", "DELETE", "small"]), "+OK\r\n");
    }
    let from_redis = bulk_payload(&re.cmd(&["FUNCTION", "DUMP"]));
    assert_eq!(bulk_payload(&ro.cmd(&["FUNCTION", "DUMP"])), from_redis);
    assert!(from_redis.len() < long.len(), "Redis compressed the library");
}

/// Busy-waits `ms` milliseconds inside a script, by the server's clock.
const WAIT: &str = "local function now() local t = redis.call('TIME') return t[1] * 1000000 + t[2] end
local start = now()
while now() - start < tonumber(ARGV[1]) * 1000 do end";

#[test]
fn keys_keep_their_state_for_the_length_of_a_script_or_a_transaction() {
    let roost = TestServer::start(&["--enable-debug-command", "yes"]);
    let redis = TestServer::start_redis_with(&["--enable-debug-command", "yes"]);
    let looked_at_first = format!(
        "local alive = redis.call('EXISTS', KEYS[1])\n{WAIT}\nreturn {{alive, redis.call('EXISTS', KEYS[1]), redis.call('GET', KEYS[1])}}"
    );
    let looked_at_last = format!("{WAIT}\nreturn {{redis.call('EXISTS', KEYS[1]), redis.call('GET', KEYS[1])}}");
    let cmds = vec![
        // The key's time runs out while the script waits; the script still sees it.
        cmd(&["SET", "k", "v", "PX", "100"]),
        cmd(&["EVAL", &looked_at_first, "1", "k", "250"]),
        cmd(&["EXISTS", "k"]),
        // Also when the script first looks after the time has passed: its time is its start.
        cmd(&["SET", "k", "v", "PX", "100"]),
        cmd(&["EVAL", &looked_at_last, "1", "k", "250"]),
        cmd(&["EXISTS", "k"]),
        // A transaction's commands judge the key by EXEC's start.
        cmd(&["SET", "k", "v", "PX", "100"]),
        cmd(&["MULTI"]),
        cmd(&["DEBUG", "SLEEP", "0.25"]),
        cmd(&["EXISTS", "k"]),
        cmd(&["GET", "k"]),
        cmd(&["EXEC"]),
        cmd(&["EXISTS", "k"]),
    ];
    run_both(&roost, &redis, cmds);
}

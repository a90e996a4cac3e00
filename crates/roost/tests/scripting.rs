//! Lua scripting and functions: EVAL/EVALSHA and the read-only forms, SCRIPT, FCALL and
//! FUNCTION, with exact replies (as Redis 7.0 gives them) in RESP2 and RESP3.

mod common;
use common::*;

/// SHA1 of a script body, as the server computes it (a separate connection, so the caller's
/// state is untouched).
fn sha1(body: &str) -> String {
    let port = PORT.with(|p| p.get());
    let mut c = RawClient::connect(port);
    let r = c.cmd_str(&["EVAL", "return redis.sha1hex(ARGV[1])", "0", body]);
    r.split("\r\n").nth(1).unwrap_or_default().to_string()
}

thread_local! {
    static PORT: std::cell::Cell<u16> = const { std::cell::Cell::new(0) };
}

/// Starts a server and remembers its port for `sha1`.
fn start(extra: &[&str]) -> TestServer {
    let s = TestServer::start(extra);
    PORT.with(|p| p.set(s.port));
    s
}

fn eval(c: &mut RawClient, body: &str) -> String {
    c.cmd_str(&["EVAL", body, "0"])
}

/// The tail Redis adds to an error raised by a script at `line`.
fn at(body: &str, line: u32) -> String {
    format!(" script: {}, on @user_script:{line}.\r\n", sha1(body))
}

#[test]
fn lua_values_become_resp2_replies() {
    let s = start(&[]);
    let mut c = s.raw();
    assert_eq!(eval(&mut c, "return {1,2,3,'ciao',{1,2}}"), "*5\r\n:1\r\n:2\r\n:3\r\n$4\r\nciao\r\n*2\r\n:1\r\n:2\r\n");
    assert_eq!(eval(&mut c, "return 3.99"), ":3\r\n");
    assert_eq!(eval(&mut c, "return -3.99"), ":-3\r\n");
    assert_eq!(eval(&mut c, "return true"), ":1\r\n");
    assert_eq!(eval(&mut c, "return false"), "$-1\r\n");
    assert_eq!(eval(&mut c, "return nil"), "$-1\r\n");
    assert_eq!(eval(&mut c, "return {1,2,nil,3}"), "*2\r\n:1\r\n:2\r\n");
    assert_eq!(eval(&mut c, "return {ok='fine'}"), "+fine\r\n");
    assert_eq!(eval(&mut c, "return {err='bad'}"), "-bad\r\n");
    assert_eq!(eval(&mut c, "return {1,{err='bad'},{ok='x'}}"), "*3\r\n:1\r\n-bad\r\n+x\r\n");
    assert_eq!(eval(&mut c, "return {double=3.5}"), "$3\r\n3.5\r\n");
    assert_eq!(eval(&mut c, "return {map={a=1}}"), "*2\r\n$1\r\na\r\n:1\r\n");
    assert_eq!(eval(&mut c, "return 1e20"), ":-9223372036854775808\r\n");
    assert_eq!(eval(&mut c, "return {a=1}"), "*0\r\n");
    assert_eq!(
        eval(&mut c, "return {1,'2',3.7,{4},false,true}"),
        "*6\r\n:1\r\n$1\r\n2\r\n:3\r\n*1\r\n:4\r\n$-1\r\n:1\r\n"
    );
    assert_eq!(eval(&mut c, "return redis.status_reply('x')"), "+x\r\n");
    assert_eq!(eval(&mut c, "return redis.error_reply('X y')"), "-X y\r\n");
    assert_eq!(eval(&mut c, "return redis.error_reply('y')"), "-ERR y\r\n");
    assert_eq!(eval(&mut c, "return redis.error_reply('-MY x').err"), "$4\r\nMY x\r\n");
    assert_eq!(eval(&mut c, "return redis.error_reply()"), "-ERR wrong number or type of arguments\r\n");
    assert_eq!(eval(&mut c, "return redis.sha1hex('')"), "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
    assert_eq!(
        eval(&mut c, "return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM"),
        "$13\r\n7.0.15 458767\r\n"
    );
    assert_eq!(
        eval(&mut c, "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}"),
        "*5\r\n:0\r\n:1\r\n:2\r\n:2\r\n:3\r\n"
    );
    assert_eq!(eval(&mut c, "return redis.set_repl(redis.REPL_ALL)"), "$-1\r\n");
    assert_eq!(eval(&mut c, "return redis.replicate_commands()"), ":1\r\n");
    assert_eq!(eval(&mut c, "return redis.breakpoint()"), "$-1\r\n");
    assert_eq!(eval(&mut c, "return _VERSION"), "$7\r\nLua 5.1\r\n");
    assert_eq!(c.cmd_str(&["EVAL", "return 'a'..KEYS[1]..ARGV[1]", "1", "k", "v"]), "$3\r\nakv\r\n");
    assert_eq!(c.cmd_str(&["EVAL", "return {#KEYS, #ARGV}", "0", "a", "b"]), "*2\r\n:0\r\n:2\r\n");
}

#[test]
fn replies_become_lua_values() {
    let s = start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "s", "v"]);
    assert_eq!(eval(&mut c, "return redis.call('ping')"), "+PONG\r\n");
    assert_eq!(eval(&mut c, "return redis.call('get','nokey')"), "$-1\r\n");
    assert_eq!(eval(&mut c, "return type(redis.call('get','nokey'))"), "$7\r\nboolean\r\n");
    assert_eq!(eval(&mut c, "return {redis.call('get','nokey')}"), "*1\r\n$-1\r\n");
    assert_eq!(eval(&mut c, "return redis.call('ping').ok"), "$4\r\nPONG\r\n");
    assert_eq!(eval(&mut c, "return redis.pcall('incr','s')"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        eval(&mut c, "local t = redis.pcall('incr','s'); return type(t) .. t.err"),
        "$48\r\ntableERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        eval(&mut c, "redis.call('set','a',0.1) return redis.call('get','a')"),
        "$19\r\n0.10000000000000001\r\n"
    );
    assert_eq!(eval(&mut c, "redis.call('set','a',1e20) return redis.call('get','a')"), "$5\r\n1e+20\r\n");
    assert_eq!(eval(&mut c, "redis.call('set','a',3) return redis.call('incr','a')"), ":4\r\n");
    c.cmd(&["RPUSH", "l", "a", "b"]);
    assert_eq!(eval(&mut c, "return redis.call('lrange','l',0,-1)"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    c.cmd(&["ZADD", "z", "1.5", "m"]);
    assert_eq!(eval(&mut c, "return redis.call('zscore','z','m')"), "$3\r\n1.5\r\n");
}

#[test]
fn resp3_conversions() {
    let s = start(&[]);
    let mut c = s.raw();
    assert!(c.cmd_str(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(eval(&mut c, "return {double=3.5}"), ",3.5\r\n");
    assert_eq!(eval(&mut c, "return {map={a=1}}"), "%1\r\n$1\r\na\r\n:1\r\n");
    assert_eq!(eval(&mut c, "return {set={a=true}}"), "~1\r\n$1\r\na\r\n");
    assert_eq!(eval(&mut c, "return {big_number='123'}"), "(123\r\n");
    assert_eq!(eval(&mut c, "return {verbatim_string={format='txt',string='hi'}}"), "=6\r\ntxt:hi\r\n");
    assert_eq!(eval(&mut c, "return true"), ":1\r\n");
    assert_eq!(eval(&mut c, "return false"), "_\r\n");
    assert_eq!(eval(&mut c, "return nil"), "_\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return true"), "#t\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return false"), "#f\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return nil"), "_\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return redis.call('hgetall','nokey')"), "%0\r\n");
    c.cmd(&["HSET", "h", "a", "1"]);
    assert_eq!(eval(&mut c, "redis.setresp(3); return redis.call('hgetall','h')"), "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return type(redis.call('hgetall','h').map)"), "$5\r\ntable\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return type(redis.call('get','nokey'))"), "$3\r\nnil\r\n");
    assert_eq!(eval(&mut c, "return redis.call('get','nokey')"), "_\r\n");
    c.cmd(&["SADD", "st", "x"]);
    assert_eq!(eval(&mut c, "redis.setresp(3); return redis.call('smembers','st')"), "~1\r\n$1\r\nx\r\n");
    c.cmd(&["ZADD", "z", "1.5", "m"]);
    assert_eq!(eval(&mut c, "redis.setresp(3); return redis.call('zscore','z','m')"), ",1.5\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return type(redis.call('zscore','z','m').double)"), "$6\r\nnumber\r\n");
    assert_eq!(eval(&mut c, "redis.setresp(3); return redis.call('exists','z')"), ":1\r\n");
    // A RESP2 client gets RESP2 forms of what a RESP3 script returns.
    let mut c2 = s.raw();
    assert_eq!(eval(&mut c2, "redis.setresp(3); return redis.call('hgetall','h')"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(eval(&mut c2, "redis.setresp(3); return false"), ":0\r\n");
}

#[test]
fn error_forms() {
    let s = start(&[]);
    let mut c = s.raw();
    c.cmd(&["SET", "s", "v"]);
    let cases: &[(&str, &str)] = &[
        ("x=1", "-ERR user_script:1: Attempt to modify a readonly table"),
        ("return y", "-ERR user_script:1: Script attempted to access nonexistent global variable 'y'"),
        ("error('boom')", "-ERR user_script:1: boom"),
        ("error({err='MY thing'})", "-MY thing"),
        ("error('x', 0)", "-ERR x"),
        ("return redis.call('nosuch')", "-ERR Unknown Redis command called from script"),
        ("return redis.call('get')", "-ERR Wrong number of args calling Redis command from script"),
        ("return redis.call('incr','s')", "-ERR value is not an integer or out of range"),
        ("math.x=1", "-ERR user_script:1: Attempt to modify a readonly table"),
        ("return redis.call('eval','return 1',0)", "-ERR This Redis command is not allowed from script"),
        ("return redis.call('config','get','maxmemory')", "-ERR This Redis command is not allowed from script"),
        ("return redis.call('config')", "-ERR Wrong number of args calling Redis command from script"),
        ("return redis.call('config', 'nosuch')", "-ERR Unknown Redis command called from script"),
        ("return redis.call('multi')", "-ERR This Redis command is not allowed from script"),
        ("os.exit()", "-ERR user_script:1: Script attempted to access nonexistent global variable 'os'"),
        (
            "return tostring(print)",
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'print'",
        ),
        ("return redis.call()", "-ERR Please specify at least one argument for this redis lib call"),
        ("return redis.call({})", "-ERR Lua redis lib command arguments must be strings or integers"),
        ("return redis.setresp(4)", "-ERR RESP version must be 2 or 3."),
        ("return redis.log()", "-ERR redis.log() requires two arguments or more."),
        ("return redis.sha1hex()", "-ERR wrong number of arguments"),
        (
            "return redis.set_repl(99)",
            "-ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ),
        ("return type(debug)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'debug'"),
        (
            "return redis.register_function('a', function() end)",
            "-ERR user_script:1: attempt to call field 'register_function' (a nil value)",
        ),
        ("return redis.call('lpush', 's', 'x')", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
    ];
    for (body, prefix) in cases {
        assert_eq!(eval(&mut c, body), format!("{prefix}{}", at(body, 1)), "{body}");
    }
    let body = "\n\nerror('boom')";
    assert_eq!(eval(&mut c, body), format!("-ERR user_script:3: boom{}", at(body, 3)));
    let body = "local function f()\n redis.call('nosuch')\nend\n\nf()";
    assert_eq!(eval(&mut c, body), format!("-ERR Unknown Redis command called from script{}", at(body, 2)));
    assert_eq!(
        eval(&mut c, "return 1+"),
        "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"
    );
    // pcall sees the messages themselves.
    assert_eq!(
        eval(&mut c, "local ok, e = pcall(function() redis.call('lpush', 's', 'x') end); return e"),
        "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(eval(&mut c, "local ok, e = pcall(function() error('x') end); return e"), "$16\r\nuser_script:1: x\r\n");
    assert_eq!(eval(&mut c, "local ok, e = pcall(function() error({err='x'}) end); return e"), "$1\r\nx\r\n");
    assert_eq!(
        eval(&mut c, "local ok, e = pcall(function() redis.call('incr', 'nokey', 'x') end); return e"),
        "$58\r\nERR Wrong number of args calling Redis command from script\r\n"
    );
    assert_eq!(eval(&mut c, "return redis.pcall('nosuch')"), "-ERR Unknown Redis command called from script\r\n");
    // Numkeys.
    assert_eq!(c.cmd_str(&["EVAL", "return 1", "-1"]), "-ERR Number of keys can't be negative\r\n");
    assert_eq!(
        c.cmd_str(&["EVAL", "return 1", "2", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(c.cmd_str(&["EVAL", "return 1", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.cmd_str(&["EVAL", "return 1"]), "-ERR wrong number of arguments for 'eval' command\r\n");
    // The connection still works after all of that.
    assert_eq!(c.cmd_str(&["GET", "s"]), "$1\r\nv\r\n");
}

#[test]
fn evalsha_and_script_subcommands() {
    let s = start(&[]);
    let mut c = s.raw();
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
    assert_eq!(c.cmd_str(&["EVALSHA", sha, "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    assert_eq!(c.cmd_str(&["EVALSHA", "abc", "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "LOAD", "return 1"]), format!("$40\r\n{sha}\r\n"));
    assert_eq!(c.cmd_str(&["EVALSHA", sha, "0"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EVALSHA", &sha.to_uppercase(), "0"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["EVALSHA_RO", sha, "0"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "EXISTS", sha, "abc"]), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "EXISTS"]), "-ERR wrong number of arguments for 'script|exists' command\r\n");
    // EVAL caches what it runs.
    assert_eq!(eval(&mut c, "return 2"), ":2\r\n");
    assert_eq!(c.cmd_str(&["EVALSHA", &sha1("return 2"), "0"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "FLUSH"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "EXISTS", sha]), "*1\r\n:0\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "FLUSH", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "FLUSH", "SYNC"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SCRIPT", "FLUSH", "bogus"]), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
    assert_eq!(
        c.cmd_str(&["SCRIPT", "LOAD", "return +"]),
        "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'\r\n"
    );
    assert_eq!(c.cmd_str(&["SCRIPT", "KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
    let help = c.cmd_str(&["SCRIPT", "HELP"]);
    assert!(help.starts_with("*17\r\n+SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"), "{help}");
    assert_eq!(c.cmd_str(&["SCRIPT", "NOSUCH"]), "-ERR unknown subcommand 'NOSUCH'. Try SCRIPT HELP.\r\n");
}

#[test]
fn shebang_flags_and_read_only() {
    let s = start(&[]);
    let mut c = s.raw();
    let body = "#!lua flags=no-writes\nreturn redis.call('set','a','b')";
    assert_eq!(
        eval(&mut c, body),
        format!("-ERR Write commands are not allowed from read-only scripts.{}", at(body, 2))
    );
    assert_eq!(eval(&mut c, "#!lua\nreturn redis.call('set','a','b')"), "+OK\r\n");
    assert_eq!(eval(&mut c, "#!lua flags=bogus\nreturn 1"), "-ERR Unexpected flag in script shebang: bogus\r\n");
    assert_eq!(eval(&mut c, "#!luax\nreturn 1"), "-ERR Unexpected engine in script shebang: #!luax\r\n");
    assert_eq!(eval(&mut c, "#!lua name=x\nreturn 1"), "-ERR Unknown lua shebang option: name=x\r\n");
    assert_eq!(eval(&mut c, "#!lua flags=no-writes,allow-oom\nreturn 1"), ":1\r\n");
    assert_eq!(
        c.cmd_str(&["EVAL", "#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\nreturn KEYS[1]", "1", "a"]),
        "$1\r\na\r\n"
    );
    let body = "return redis.call('set','a','b')";
    assert_eq!(
        c.cmd_str(&["EVAL_RO", body, "0"]),
        format!("-ERR Write commands are not allowed from read-only scripts.{}", at(body, 1))
    );
    assert_eq!(
        c.cmd_str(&["EVAL_RO", "#!lua\nreturn redis.call('set','a','b')", "0"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(c.cmd_str(&["EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get','a')", "0"]), "$1\r\nb\r\n");
    assert_eq!(c.cmd_str(&["EVAL_RO", "return redis.call('get','a')", "0"]), "$1\r\nb\r\n");
}

#[test]
fn select_inside_a_script_is_the_scripts_own() {
    let s = start(&[]);
    let mut c = s.raw();
    assert_eq!(
        eval(&mut c, "redis.call('select', 1) redis.call('set', 'k', 'in1') return redis.call('get', 'k')"),
        "$3\r\nin1\r\n"
    );
    assert_eq!(c.cmd_str(&["GET", "k"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$3\r\nin1\r\n");
    // A script starts in the caller's database.
    assert_eq!(eval(&mut c, "return redis.call('get', 'k')"), "$3\r\nin1\r\n");
    assert_eq!(
        eval(&mut c, "return redis.call('blpop', 'nolist', 0)"),
        format!(
            "-ERR This Redis command is not allowed from script{}",
            at("return redis.call('blpop', 'nolist', 0)", 1)
        )
    );
}

#[test]
fn random_follows_redis() {
    let s = start(&[]);
    let mut c = s.raw();
    assert_eq!(eval(&mut c, "math.random() return math.random(100)"), ":85\r\n");
    assert_eq!(eval(&mut c, "return math.random(100)"), ":36\r\n");
    assert_eq!(eval(&mut c, "math.randomseed(7); return math.random(100)"), ":27\r\n");
}

fn lib(c: &mut RawClient, code: &str) -> String {
    c.cmd_str(&["FUNCTION", "LOAD", code])
}

#[test]
fn function_load_and_call() {
    let s = start(&[]);
    let mut c = s.raw();
    let code = "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)";
    assert_eq!(lib(&mut c, code), "$5\r\nmylib\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "f1", "1", "k", "a"]), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    assert_eq!(lib(&mut c, code), "-ERR Library 'mylib' already exists\r\n");
    let code2 = "#!lua name=mylib\nredis.register_function{function_name='f1', callback=function(keys, args) return 7 end, flags={'no-writes'}, description='desc'}";
    assert_eq!(c.cmd_str(&["FUNCTION", "LOAD", "REPLACE", code2]), "$5\r\nmylib\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "f1", "0"]), ":7\r\n");
    assert_eq!(c.cmd_str(&["FCALL_RO", "f1", "0"]), ":7\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "nosuch", "0"]), "-ERR Function not found\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "nosuch", "x"]), "-ERR Function not found\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "f1", "x"]), "-ERR Bad number of keys provided\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "f1", "-1"]), "-ERR Number of keys can't be negative\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "f1", "5"]), "-ERR Number of keys can't be greater than number of args\r\n");
    assert_eq!(
        c.cmd_str(&["FUNCTION", "LIST"]),
        "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"
    );
    assert_eq!(
        c.cmd_str(&["FUNCTION", "LIST", "WITHCODE"]),
        format!("*1\r\n*8\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n$12\r\nlibrary_code\r\n${}\r\n{code2}\r\n", code2.len())
    );
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST", "LIBRARYNAME", "my*"]).len(), c.cmd_str(&["FUNCTION", "LIST"]).len());
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST", "LIBRARYNAME", "y*"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST", "foo"]), "-ERR Unknown argument foo\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST", "WITHCODE", "WITHCODE"]), "-ERR Unknown argument WITHCODE\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST", "LIBRARYNAME"]), "-ERR library name argument was not given\r\n");
    assert_eq!(
        c.cmd_str(&["FUNCTION", "STATS"]),
        "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n"
    );
    assert!(c.cmd_str(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(
        c.cmd_str(&["FUNCTION", "STATS"]),
        "%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n"
    );
    assert_eq!(
        c.cmd_str(&["FUNCTION", "LIST"]),
        "*1\r\n%3\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n%3\r\n$4\r\nname\r\n$2\r\nf1\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n~1\r\n+no-writes\r\n"
    );
    assert_eq!(c.cmd_str(&["FUNCTION", "DELETE", "nosuch"]), "-ERR Library not found\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "DELETE", "mylib"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "f1", "0"]), "-ERR Function not found\r\n");
}

#[test]
fn function_load_errors() {
    let s = start(&[]);
    let mut c = s.raw();
    assert_eq!(
        lib(&mut c, "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)"),
        "$5\r\nmylib\r\n"
    );
    let cases: &[(&str, &str)] = &[
        ("#!lua\nredis.register_function('f1', function() end)", "ERR Library name was not given"),
        ("#!lua name=x\nreturn 1", "ERR No functions registered"),
        ("#!lua name=x foo=bar\nreturn 1", "ERR Invalid metadata value given: foo=bar"),
        ("#!luax name=x\nreturn 1", "ERR Engine 'luax' not found"),
        ("return 1", "ERR Missing library metadata"),
        ("#!lua name=x\nredis.register_function('f1', function() end)", "ERR Function f1 already exists"),
        (
            "#!lua name=x\nredis.register_function('f 1', function() end)",
            "ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ),
        (
            "#!lua name=x\nredis.register_function('fx', function() end, 1)",
            "ERR Error registering functions: ERR wrong number of arguments to redis.register_function",
        ),
        (
            "#!lua name=x\nredis.call('ping')",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'",
        ),
        (
            "#!lua name=x\nlocal a = KEYS",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'KEYS'",
        ),
        (
            "#!lua name=x\nredis.register_function{function_name='fb', callback=function() end, flags={'bogus'}}",
            "ERR Error registering functions: ERR unknown flag given",
        ),
        (
            "#!lua name=x\nredis.register_function{function_name='fb', callback=function() end, foo=1}",
            "ERR Error registering functions: ERR unknown argument given to redis.register_function",
        ),
        (
            "#!lua name=x\nredis.register_function{function_name='fb'}",
            "ERR Error registering functions: ERR redis.register_function must get a callback argument",
        ),
        (
            "#!lua name=x\nredis.register_function('fb')",
            "ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
        ),
        ("#!lua name=x\nredis.register_function()", "ERR Error registering functions: ERR wrong number of arguments to redis.register_function"),
        (
            "#!lua name=x\nredis.register_function('a', function() end)\nredis.register_function('a', function() end)",
            "ERR Error registering functions: ERR Function already exists in the library",
        ),
        ("#!lua name=x\n1+", "ERR Error compiling function: user_function:2: unexpected symbol near '1'"),
        (
            "#!lua name=x\nerror('oops')",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'",
        ),
        ("#!lua name=x\nx=1", "ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table"),
        (
            "#!lua name=x\nlocal b = redis.sha1hex\nredis.register_function('f', function() end)",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'sha1hex'",
        ),
    ];
    for (code, err) in cases {
        assert_eq!(lib(&mut c, code), format!("-{err}\r\n"), "{code}");
    }
    assert_eq!(c.cmd_str(&["FUNCTION", "LOAD", "REPLACE"]), "-ERR Missing library metadata\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "LOAD", "foo", "#!lua name=a\nx"]), "-ERR Unknown option given: foo\r\n");
    // Nothing of the failed loads was kept.
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST", "LIBRARYNAME", "x"]), "*0\r\n");
    // Load-time code may log and read the version.
    assert_eq!(
        lib(&mut c, "#!lua name=h2\nredis.log(redis.LOG_WARNING, 'x')\nlocal v = redis.REDIS_VERSION\nredis.register_function('fh2', function() return v end)"),
        "$2\r\nh2\r\n"
    );
    assert_eq!(c.cmd_str(&["FCALL", "fh2", "0"]), "$6\r\n7.0.15\r\n");
}

#[test]
fn function_runtime_behaviour() {
    let s = start(&[]);
    let mut c = s.raw();
    let code = "#!lua name=x\nredis.register_function('fx', function() return redis.call('set','a','b') end)\nredis.register_function{function_name='fro', callback=function() return redis.call('set','a','b') end, flags={'no-writes'}}\nredis.register_function('fh9', function() error('zzz') end)\nlocal function helper() return {type(redis.call), type(string)} end\nredis.register_function('fh', function() return helper() end)\nredis.register_function('fk', function() return KEYS end)";
    assert_eq!(lib(&mut c, code), "$1\r\nx\r\n");
    assert_eq!(
        c.cmd_str(&["FCALL_RO", "fx", "0"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(
        c.cmd_str(&["FCALL_RO", "fro", "0"]),
        "-ERR Write commands are not allowed from read-only scripts. script: fro, on @user_function:3.\r\n"
    );
    assert_eq!(
        c.cmd_str(&["FCALL", "fro", "0"]),
        "-ERR Write commands are not allowed from read-only scripts. script: fro, on @user_function:3.\r\n"
    );
    assert_eq!(c.cmd_str(&["FCALL", "fx", "0"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "fh9", "0"]), "-ERR user_function:4: zzz script: fh9, on @user_function:4.\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "fh", "0"]), "*2\r\n$8\r\nfunction\r\n$5\r\ntable\r\n");
    assert_eq!(
        c.cmd_str(&["FCALL", "fk", "0"]),
        "-ERR user_function:7: Script attempted to access nonexistent global variable 'KEYS' script: fk, on @user_function:7.\r\n"
    );
    assert_eq!(c.cmd_str(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "FLUSH", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "FLUSH", "bogus"]), "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "LIST"]), "*0\r\n");
    let help = c.cmd_str(&["FUNCTION", "HELP"]);
    assert!(
        help.starts_with("*40\r\n+FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"),
        "{help}"
    );
}

#[test]
fn function_dump_and_restore() {
    let s = start(&[]);
    let mut c = s.raw();
    lib(&mut c, "#!lua name=a\nredis.register_function('fa', function() return 'a' end)");
    lib(&mut c, "#!lua name=b\nredis.register_function('fb', function() return 'b' end)");
    let dump = c.cmd(&["FUNCTION", "DUMP"]);
    assert_eq!(dump[0], b'$');
    let start = dump.iter().position(|&b| b == b'\n').unwrap() + 1;
    let payload = dump[start..dump.len() - 2].to_vec();
    assert_eq!(c.cmd_str(&["FUNCTION", "RESTORE", "garbage"]), "-ERR DUMP payload version or checksum are wrong\r\n");
    assert_eq!(
        c.cmd_str(&["FUNCTION", "RESTORE", "garbage", "bogus"]),
        "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n"
    );
    let mut flipped = payload.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    assert_eq!(
        String::from_utf8_lossy(&c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &flipped])),
        "-ERR DUMP payload version or checksum are wrong\r\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload])),
        "-ERR Library a already exists\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"])), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    lib(&mut c, "#!lua name=other\nredis.register_function('fo', function() return 'o' end)");
    assert_eq!(String::from_utf8_lossy(&c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload])), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "fa", "0"]), "$1\r\na\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "fo", "0"]), "$1\r\no\r\n");
    assert_eq!(String::from_utf8_lossy(&c.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"])), "+OK\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "fo", "0"]), "-ERR Function not found\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "fb", "0"]), "$1\r\nb\r\n");
}

/// Sends a request without reading its reply.
fn send(c: &mut RawClient, args: &[&str]) {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send(&encode(&bytes));
}

#[test]
fn script_kill_and_busy() {
    let s = start(&["--busy-reply-threshold", "100"]);
    let mut runner = s.raw();
    let mut other = s.raw();
    let body = "local i = 0 while true do i = i + 1 end";
    send(&mut runner, &["EVAL", body, "0"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        other.cmd_str(&["PING"]),
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(
        other.cmd_str(&["FUNCTION", "KILL"]),
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(
        other.cmd_str(&["FUNCTION", "STATS"]),
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(other.cmd_str(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert_eq!(
        String::from_utf8_lossy(&runner.read_reply()),
        format!("-ERR Script killed by user with SCRIPT KILL...{}", at(body, 1))
    );
    assert_eq!(other.cmd_str(&["PING"]), "+PONG\r\n");

    // A script that wrote cannot be killed; FUNCTION KILL stops a function.
    lib(
        &mut other,
        "#!lua name=busy\nredis.register_function('busy', function() local i = 0 while true do i = i + 1 end end)",
    );
    send(&mut runner, &["FCALL", "busy", "0"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        other.cmd_str(&["GET", "x"]),
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(
        other.cmd_str(&["SCRIPT", "KILL"]),
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    );
    let stats = other.cmd_str(&["FUNCTION", "STATS"]);
    assert!(
        stats.contains("$4\r\nname\r\n$4\r\nbusy\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nbusy\r\n$1\r\n0\r\n"),
        "{stats}"
    );
    assert_eq!(other.cmd_str(&["FUNCTION", "KILL"]), "+OK\r\n");
    assert_eq!(
        String::from_utf8_lossy(&runner.read_reply()),
        "-ERR Script killed by user with SCRIPT KILL... script: busy, on @user_function:2.\r\n"
    );
}

#[test]
fn unkillable_after_a_write() {
    let s = start(&["--busy-reply-threshold", "100"]);
    let mut runner = s.raw();
    let mut other = s.raw();
    // Bounded, so the test ends on its own.
    let body = "redis.call('set','x','1') local i = 0 while i < 100000000 do i = i + 1 end return i";
    send(&mut runner, &["EVAL", body, "0"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let r = other.cmd_str(&["SCRIPT", "KILL"]);
    if r != "-NOTBUSY No scripts in execution right now.\r\n" {
        assert_eq!(r, "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n");
    }
    assert_eq!(String::from_utf8_lossy(&runner.read_reply()), ":100000000\r\n");
}

#[test]
fn sandbox_details() {
    let s = start(&[]);
    let mut c = s.raw();
    let cases: &[(&str, &str)] = &[
        ("return getmetatable('').__index == string", ":1\r\n"),
        ("local s = 0 for k, v in pairs(redis) do s = s + 1 end return s", ":23\r\n"),
        ("local s = 0 for k, v in pairs(math) do s = s + 1 end return s", ":31\r\n"),
        ("local n = 0 for k in pairs(_G) do n = n + 1 end return n", ":35\r\n"),
        ("return redis.acl_check_cmd('get')", ":1\r\n"),
        ("return loadstring('return 1')()", ":1\r\n"),
        ("return {loadstring('return +')}", "*0\r\n"),
        ("return loadstring('\\27Lua')", "$-1\r\n"),
        ("return coroutine.wrap(function() coroutine.yield(5) end)()", ":5\r\n"),
        ("return {double=0/0}", "$4\r\n-nan\r\n"),
        ("return {err=3}", "*0\r\n"),
        ("return redis.call('echo', 1e300)", "$23\r\n1.0000000000000001e+300\r\n"),
        ("return redis.sha1hex(12)", "$40\r\n7b52009b64fd0a2a49e6d8a939753077792b0554\r\n"),
        ("#!lua\r\nreturn 1", ":1\r\n"),
        ("#!lua", "-ERR Invalid script shebang\r\n"),
        ("#!lua flags=no-writes,\nreturn 1", "-ERR Unexpected flag in script shebang: \r\n"),
    ];
    for (body, reply) in cases {
        assert_eq!(eval(&mut c, body), *reply, "{body}");
    }
    let errors: &[(&str, &str)] = &[
        ("rawset(_G, 'x', 1)", "-ERR Attempt to modify a readonly table"),
        ("setmetatable(_G, nil)", "-ERR Attempt to modify a readonly table"),
        ("getmetatable('').x = 1 return 1", "-ERR user_script:1: Attempt to modify a readonly table"),
        ("local t = getmetatable(_G) t.x = 1 return 1", "-ERR user_script:1: Attempt to modify a readonly table"),
        ("return load('return 1')", "-ERR user_script:1: bad argument #1 to 'load' (function expected, got string)"),
        ("return redis.acl_check_cmd('nosuch')", "-ERR Invalid command passed to redis.acl_check_cmd()"),
        ("return math.random(0)", "-ERR user_script:1: bad argument #1 to 'random' (interval is empty)"),
        ("return redis.log('a', 'x')", "-ERR First argument must be a number (log level)."),
        ("return redis.set_repl()", "-ERR redis.set_repl() requires two arguments."),
    ];
    for (body, prefix) in errors {
        assert_eq!(eval(&mut c, body), format!("{prefix}{}", at(body, 1)), "{body}");
    }
    // Functions are found whatever the case of their name.
    assert_eq!(
        lib(&mut c, "#!lua name=z13\nredis.register_function{function_name='A13', callback=function() return 13 end}"),
        "$3\r\nz13\r\n"
    );
    assert_eq!(c.cmd_str(&["FCALL", "a13", "0"]), ":13\r\n");
    assert_eq!(
        lib(&mut c, "#!lua name=z14\nredis.register_function{function_name='a13', callback=function() return 14 end}"),
        "-ERR Function a13 already exists\r\n"
    );
    assert_eq!(lib(&mut c, "#!lua name=f3"), "-ERR Invalid library metadata\r\n");
    assert_eq!(
        lib(&mut c, "#!lua name=z name=y\nredis.register_function('a', function() end)"),
        "-ERR Invalid metadata value, name argument was given multiple times\r\n"
    );
    assert!(c.cmd_str(&["FUNCTION", "LIST", "LIBRARYNAME", "Z1*"]).starts_with("*1\r\n"));
    // Inside MULTI, scripts run at EXEC like any command.
    assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["EVAL", "return redis.call('incr', 'c')", "0"]), "+QUEUED\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "a13", "0"]), "+QUEUED\r\n");
    assert_eq!(c.cmd_str(&["EXEC"]), "*2\r\n:1\r\n:13\r\n");
}

/// INFO memory counts cached scripts and loaded functions, and can be read from inside a script
/// (the engine is not locked to answer it).
#[test]
fn info_memory_counts_scripts_and_functions() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let field = |c: &mut RawClient, name: &str| -> String {
        let info = c.cmd_str(&["INFO", "memory"]);
        info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().to_string()
    };
    assert_eq!(field(&mut c, "number_of_cached_scripts"), "0");
    assert!(c.cmd_str(&["SCRIPT", "LOAD", "return 1"]).starts_with("$40\r\n"));
    assert_eq!(
        c.cmd_str(&["FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"]),
        "$3\r\nlib\r\n"
    );
    assert_eq!(field(&mut c, "number_of_cached_scripts"), "1");
    assert_eq!(field(&mut c, "number_of_functions"), "1");
    assert_eq!(field(&mut c, "number_of_libraries"), "1");
    assert_eq!(field(&mut c, "used_memory_scripts_eval"), "8");
    assert!(field(&mut c, "used_memory_lua").parse::<u64>().unwrap() > 0);
    assert_eq!(c.cmd_str(&["EVAL", "return string.len(redis.call('INFO', 'memory')) > 0", "0"]), ":1\r\n");
}

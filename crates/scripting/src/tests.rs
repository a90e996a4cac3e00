//! Engine tests with a tiny in-memory host.

use std::collections::HashMap;

use roost_resp::{OwnedArgs, ReplyBuf};

use crate::{Engine, Host, LogLevel, RestorePolicy};

#[derive(Default)]
struct FakeHost {
    data: HashMap<Vec<u8>, Vec<u8>>,
    logs: Vec<(LogLevel, String)>,
    kill: bool,
    calls: usize,
}

impl Host for FakeHost {
    fn call(&mut self, args: &OwnedArgs, resp: u8) -> Result<Vec<u8>, String> {
        self.calls += 1;
        let a = args.args();
        let name = String::from_utf8_lossy(a.get(0)).to_ascii_lowercase();
        let mut r = ReplyBuf { resp3: resp == 3, ..ReplyBuf::default() };
        match (name.as_str(), a.len()) {
            ("set", 3) => {
                self.data.insert(a.get(1).to_vec(), a.get(2).to_vec());
                r.ok();
            }
            ("get", 2) => match self.data.get(a.get(1)) {
                Some(v) => r.bulk(v),
                None => r.null(),
            },
            ("ping", 1) => r.simple(b"PONG"),
            ("hgetall", 2) => {
                r.map(1);
                r.bulk(b"f");
                r.bulk(b"v");
            }
            ("bool", 1) => r.boolean(true),
            ("fail", 1) => r.error(b"WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("set" | "get", _) => return Err("ERR Wrong number of args calling Redis command from script".into()),
            _ => return Err("ERR Unknown Redis command called from script".into()),
        }
        Ok(r.out)
    }
    fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_string()));
    }
    fn tick(&mut self) -> bool {
        self.kill
    }
}

fn eval_with(e: &mut Engine, h: &mut FakeHost, body: &str, keys: &[&str], argv: &[&str], resp3: bool) -> String {
    let mut reply = ReplyBuf { resp3, ..ReplyBuf::default() };
    match e.load_script(body.as_bytes()) {
        Ok(info) => {
            let k: Vec<&[u8]> = keys.iter().map(|s| s.as_bytes()).collect();
            let a: Vec<&[u8]> = argv.iter().map(|s| s.as_bytes()).collect();
            e.eval(&info.sha, &k, &a, h, &mut reply);
        }
        Err(err) => reply.error(err.as_bytes()),
    }
    String::from_utf8_lossy(&reply.out).into_owned()
}

fn eval(e: &mut Engine, body: &str) -> String {
    let mut h = FakeHost::default();
    eval_with(e, &mut h, body, &[], &[], false)
}

fn engine() -> Engine {
    Engine::new("7.0.15").unwrap()
}

#[test]
fn lua_to_resp2() {
    let mut e = engine();
    assert_eq!(eval(&mut e, "return {1,2,3,'ciao',{1,2}}"), "*5\r\n:1\r\n:2\r\n:3\r\n$4\r\nciao\r\n*2\r\n:1\r\n:2\r\n");
    assert_eq!(eval(&mut e, "return 3.99"), ":3\r\n");
    assert_eq!(eval(&mut e, "return -3.99"), ":-3\r\n");
    assert_eq!(eval(&mut e, "return true"), ":1\r\n");
    assert_eq!(eval(&mut e, "return false"), "$-1\r\n");
    assert_eq!(eval(&mut e, "return nil"), "$-1\r\n");
    assert_eq!(eval(&mut e, "return {1,2,nil,3}"), "*2\r\n:1\r\n:2\r\n");
    assert_eq!(eval(&mut e, "return {ok='fine'}"), "+fine\r\n");
    assert_eq!(eval(&mut e, "return {err='bad'}"), "-bad\r\n");
    assert_eq!(eval(&mut e, "return {double=3.5}"), "$3\r\n3.5\r\n");
    assert_eq!(eval(&mut e, "return {map={a=1}}"), "*2\r\n$1\r\na\r\n:1\r\n");
    assert_eq!(eval(&mut e, "return 1e20"), ":-9223372036854775808\r\n");
    assert_eq!(eval(&mut e, "return {a=1}"), "*0\r\n");
    assert_eq!(eval(&mut e, "return redis.error_reply('y')"), "-ERR y\r\n");
    assert_eq!(eval(&mut e, "return redis.error_reply('X y')"), "-X y\r\n");
    assert_eq!(eval(&mut e, "return redis.error_reply('-MY x')"), "-MY x\r\n");
    assert_eq!(eval(&mut e, "return redis.status_reply('x')"), "+x\r\n");
    assert_eq!(eval(&mut e, "return redis.error_reply()"), "-ERR wrong number or type of arguments\r\n");
    assert_eq!(eval(&mut e, "return redis.sha1hex('')"), "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
    assert_eq!(
        eval(&mut e, "return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM"),
        "$13\r\n7.0.15 458767\r\n"
    );
}

#[test]
fn lua_to_resp3() {
    let mut e = engine();
    let mut h = FakeHost::default();
    let mut r3 = |body: &str| eval_with(&mut e, &mut h, body, &[], &[], true);
    assert_eq!(r3("return {double=3.5}"), ",3.5\r\n");
    assert_eq!(r3("return {map={a=1}}"), "%1\r\n$1\r\na\r\n:1\r\n");
    assert_eq!(r3("return {set={a=true}}"), "~1\r\n$1\r\na\r\n");
    assert_eq!(r3("return {big_number='123'}"), "(123\r\n");
    assert_eq!(r3("return {verbatim_string={format='txt',string='hi'}}"), "=6\r\ntxt:hi\r\n");
    assert_eq!(r3("return true"), ":1\r\n");
    assert_eq!(r3("return false"), "_\r\n");
    assert_eq!(r3("redis.setresp(3); return true"), "#t\r\n");
    assert_eq!(r3("redis.setresp(3); return false"), "#f\r\n");
    assert_eq!(r3("redis.setresp(3); return redis.call('hgetall','h')"), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(r3("redis.setresp(3); return type(redis.call('get','nokey'))"), "$3\r\nnil\r\n");
    assert_eq!(r3("return type(redis.call('get','nokey'))"), "$7\r\nboolean\r\n");
    assert_eq!(r3("redis.setresp(3); return redis.call('bool')"), "#t\r\n");
}

#[test]
fn calls_and_errors() {
    let mut e = engine();
    let mut h = FakeHost::default();
    assert_eq!(
        eval_with(&mut e, &mut h, "return redis.call('set', KEYS[1], ARGV[1])", &["k"], &["v"], false),
        "+OK\r\n"
    );
    assert_eq!(eval_with(&mut e, &mut h, "return redis.call('get', KEYS[1])", &["k"], &[], false), "$1\r\nv\r\n");
    assert_eq!(
        eval_with(&mut e, &mut h, "redis.call('set','n',1.5) return redis.call('get','n')", &[], &[], false),
        "$3\r\n1.5\r\n"
    );
    let sha = crate::sha1_hex(b"return redis.call('nosuch')");
    assert_eq!(
        eval(&mut e, "return redis.call('nosuch')"),
        format!("-ERR Unknown Redis command called from script script: {sha}, on @user_script:1.\r\n")
    );
    assert_eq!(eval(&mut e, "return redis.pcall('nosuch')"), "-ERR Unknown Redis command called from script\r\n");
    let sha = crate::sha1_hex(b"return redis.call('fail')");
    assert_eq!(
        eval(&mut e, "return redis.call('fail')"),
        format!(
            "-WRONGTYPE Operation against a key holding the wrong kind of value script: {sha}, on @user_script:1.\r\n"
        )
    );
    assert_eq!(
        eval(&mut e, "local ok, err = pcall(function() redis.call('fail') end) return err"),
        "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    let body = "local function f()\n error('boom')\nend\n\nf()";
    assert_eq!(
        eval(&mut e, body),
        format!("-ERR user_script:2: boom script: {}, on @user_script:2.\r\n", crate::sha1_hex(body.as_bytes()))
    );
    let body = "x=1";
    assert_eq!(
        eval(&mut e, body),
        format!(
            "-ERR user_script:1: Attempt to modify a readonly table script: {}, on @user_script:1.\r\n",
            crate::sha1_hex(body.as_bytes())
        )
    );
    let body = "return y";
    assert_eq!(
        eval(&mut e, body),
        format!(
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'y' script: {}, on @user_script:1.\r\n",
            crate::sha1_hex(body.as_bytes())
        )
    );
    let body = "error({err='MY thing'})";
    assert_eq!(
        eval(&mut e, body),
        format!("-MY thing script: {}, on @user_script:1.\r\n", crate::sha1_hex(body.as_bytes()))
    );
    let body = "math.x = 1";
    assert!(eval(&mut e, body).starts_with("-ERR user_script:1: Attempt to modify a readonly table"));
    assert_eq!(
        eval(&mut e, "return 1+"),
        "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"
    );
    let body = "return redis.call()";
    assert_eq!(
        eval(&mut e, body),
        format!(
            "-ERR Please specify at least one argument for this redis lib call script: {}, on @user_script:1.\r\n",
            crate::sha1_hex(body.as_bytes())
        )
    );
    let body = "return redis.call('set','a',{})";
    assert!(eval(&mut e, body).starts_with("-ERR Lua redis lib command arguments must be strings or integers script:"));
    let body = "return redis.setresp(4)";
    assert!(eval(&mut e, body).starts_with("-ERR RESP version must be 2 or 3. script:"));
    assert!(eval(&mut e, "return os.time()").contains("nonexistent global variable 'os'"));
    assert!(eval(&mut e, "return print").contains("nonexistent global variable 'print'"));
    assert_eq!(eval(&mut e, "return _VERSION"), "$7\r\nLua 5.1\r\n");
    assert_eq!(
        eval(&mut e, "return type(cjson)..type(bit)..type(struct)..type(cmsgpack)"),
        "$20\r\ntabletabletabletable\r\n"
    );
    assert_eq!(eval(&mut e, "return loadstring('\\27Lua')"), "$-1\r\n");
    assert_eq!(eval(&mut e, "local s = '\\27Lua' return load(function() local r = s s = nil return r end)"), "$-1\r\n");
    assert_eq!(
        eval(&mut e, "local s = 'return 7' return load(function() local r = s s = nil return r end)()"),
        ":7\r\n"
    );
}

#[test]
fn random_is_redis_sequence() {
    let mut e = engine();
    assert_eq!(eval(&mut e, "math.random() return math.random(100)"), ":85\r\n");
    assert_eq!(eval(&mut e, "return math.random(100)"), ":36\r\n");
    assert_eq!(eval(&mut e, "math.randomseed(7) return math.random(100)"), ":27\r\n");
}

#[test]
fn logging_and_kill() {
    let mut e = engine();
    let mut h = FakeHost::default();
    assert_eq!(
        eval_with(&mut e, &mut h, "redis.log(redis.LOG_WARNING, 'hello', 'world') return 1", &[], &[], false),
        ":1\r\n"
    );
    assert_eq!(h.logs, vec![(LogLevel::Warning, "hello world".to_string())]);
    h.kill = true;
    let body = "while true do end";
    assert_eq!(
        eval_with(&mut e, &mut h, body, &[], &[], false),
        format!(
            "-ERR Script killed by user with SCRIPT KILL... script: {}, on @user_script:1.\r\n",
            crate::sha1_hex(body.as_bytes())
        )
    );
    // A script cannot swallow the kill with pcall.
    let body = "while true do pcall(function() while true do end end) end";
    assert!(
        eval_with(&mut e, &mut h, body, &[], &[], false).starts_with("-ERR Script killed by user with SCRIPT KILL...")
    );
    // Nor by running the loop in a coroutine.
    let body = "local co = coroutine.wrap(function() while true do end end) co()";
    assert!(
        eval_with(&mut e, &mut h, body, &[], &[], false).starts_with("-ERR Script killed by user with SCRIPT KILL...")
    );
    h.kill = false;
    assert_eq!(eval_with(&mut e, &mut h, "return 2", &[], &[], false), ":2\r\n");
    assert_eq!(e.counts().scripts, 5);
}

fn load(e: &mut Engine, code: &str, replace: bool) -> Result<String, String> {
    let mut h = FakeHost::default();
    e.load_library(code.as_bytes(), replace, &mut h)
}

fn fcall(e: &mut Engine, name: &str, keys: &[&str], args: &[&str]) -> String {
    let mut h = FakeHost::default();
    let mut reply = ReplyBuf::default();
    let k: Vec<&[u8]> = keys.iter().map(|s| s.as_bytes()).collect();
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    e.fcall(name.as_bytes(), &k, &a, &mut h, &mut reply);
    String::from_utf8_lossy(&reply.out).into_owned()
}

#[test]
fn functions() {
    let mut e = engine();
    let lib = "#!lua name=mylib\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)";
    assert_eq!(load(&mut e, lib, false).unwrap(), "mylib");
    assert_eq!(fcall(&mut e, "f1", &["k"], &["a"]), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
    assert_eq!(load(&mut e, lib, false).unwrap_err(), "ERR Library 'mylib' already exists");
    assert_eq!(load(&mut e, lib, true).unwrap(), "mylib");
    assert_eq!(fcall(&mut e, "nosuch", &[], &[]), "-ERR Function not found\r\n");
    let err = |e: &mut Engine, code: &str| load(e, code, false).unwrap_err();
    assert_eq!(err(&mut e, "#!lua name=x\nreturn 1"), "ERR No functions registered");
    assert_eq!(
        err(&mut e, "#!lua name=x\nredis.register_function('f1', function() end)"),
        "ERR Function f1 already exists"
    );
    assert_eq!(
        err(&mut e, "#!lua name=x\nredis.call('ping')"),
        "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"
    );
    assert_eq!(
        err(&mut e, "#!lua name=x\nredis.register_function('fx', function() end, 1)"),
        "ERR Error registering functions: ERR wrong number of arguments to redis.register_function"
    );
    assert_eq!(
        err(
            &mut e,
            "#!lua name=x\nredis.register_function{function_name='fb', callback=function() end, flags={'bogus'}}"
        ),
        "ERR Error registering functions: ERR unknown flag given"
    );
    assert_eq!(
        err(&mut e, "#!lua name=x\n1+"),
        "ERR Error compiling function: user_function:2: unexpected symbol near '1'"
    );
    assert_eq!(
        err(&mut e, "#!lua name=x\nx=1"),
        "ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table"
    );
    // Helpers defined at load time see the full globals when called.
    let lib = "#!lua name=h\nlocal function helper() return {type(redis.call), type(string)} end\nredis.register_function('fh', function() return helper() end)";
    load(&mut e, lib, false).unwrap();
    assert_eq!(fcall(&mut e, "fh", &[], &[]), "*2\r\n$8\r\nfunction\r\n$5\r\ntable\r\n");
    let lib = "#!lua name=h9\nredis.register_function('fh9', function() error('zzz') end)";
    load(&mut e, lib, false).unwrap();
    assert_eq!(fcall(&mut e, "fh9", &[], &[]), "-ERR user_function:2: zzz script: fh9, on @user_function:2.\r\n");
    let lib = "#!lua name=ro\nredis.register_function{function_name='fro', callback=function() return 1 end, flags={'no-writes'}, description='d'}";
    load(&mut e, lib, false).unwrap();
    assert!(e.function(b"fro").unwrap().no_writes);
    assert!(!e.function(b"fh9").unwrap().no_writes);

    let dump = e.library_codes();
    let mut h = FakeHost::default();
    assert_eq!(
        e.restore_functions(dump.clone(), RestorePolicy::Append, &mut h).unwrap_err(),
        "ERR Library h already exists"
    );
    e.flush_functions();
    assert_eq!(fcall(&mut e, "fro", &[], &[]), "-ERR Function not found\r\n");
    e.restore_functions(dump.clone(), RestorePolicy::Append, &mut h).unwrap();
    assert_eq!(fcall(&mut e, "fro", &[], &[]), ":1\r\n");
    assert_eq!(e.counts().libraries, 4);
    assert!(e.delete_library(b"ro"));
    assert!(!e.delete_library(b"ro"));
}

//! MIGRATE: moves keys to another server as DUMP payloads restored there, deleting them here
//! once the target has accepted them.
//!
//! Redis does all of it in one blocking call; here a worker thread must never wait on the
//! network, so it runs in three steps. The command body validates the arguments and
//! serialises the keys under their locks, then leaves a [`Job`] on the client instead of a
//! reply. The connection sends the job ([`transfer::run`], asynchronous, the worker serves its
//! other clients meanwhile) and then calls [`finish`], which deletes what the target accepted
//! and replies. The cost of not blocking the server: a key written by another client during
//! the transfer is newer than the copy the target got, and is kept rather than deleted.

mod transfer;

use std::time::Duration;

use roost_resp::{Args, OwnedArgs};
use roost_store::{now_ms, rdb};

use super::{dump, is, keys, parse_int, BASE};
use crate::client::ReplyMode;
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;

pub use transfer::run;

pub const MIGRATE: CommandSpec = CommandSpec {
    name: "migrate",
    arity: -6,
    flags: WRITE | MOVABLEKEYS | DEFERRED_WRITE,
    keys: Keys::Custom(migrate_keys),
    key_flags: &["RW", "ACCESS", "DELETE"],
    acl: &["@keyspace", "@write", "@slow", "@dangerous"],
    group: "generic",
    since: "2.6.0",
    summary: "Atomically transfer a key from a Redis instance to another one.",
    complexity: "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.",
    run: migrate,
    ..BASE
};

/// Redis's `migrateGetKeys`: the key argument, or everything after KEYS when the key argument
/// is empty. Like Redis, any argument spelled KEYS counts, even one that is a password.
fn migrate_keys(args: &Args) -> Vec<usize> {
    if args.len() > 6 && args.get(3).is_empty() {
        if let Some(i) = (6..args.len()).find(|&i| is(args.get(i), "keys")) {
            return (i + 1..args.len()).collect();
        }
    }
    vec![3]
}

/// One key on its way: what RESTORE gets on the target.
pub struct Moving {
    pub key: Vec<u8>,
    /// Milliseconds left to live, 0 for none (RESTORE's TTL argument).
    pub ttl: i64,
    pub payload: Vec<u8>,
}

/// What the command body hands its connection: everything the transfer needs, owned.
pub struct Job {
    pub host: Vec<u8>,
    /// The port argument as C's `atoi` reads it, as Redis does: "6379x" is 6379.
    pub port: i64,
    pub timeout: Duration,
    pub db: i64,
    pub copy: bool,
    pub replace: bool,
    /// AUTH password, or AUTH2 username password.
    pub auth: Option<(Option<Vec<u8>>, Vec<u8>)>,
    pub keys: Vec<Moving>,
    /// The client asked for no reply (CLIENT REPLY OFF / SKIP) when the command ran.
    pub silent: bool,
}

/// How the transfer ended: the keys the target accepted (indices into `Job::keys`), and the
/// error to reply, if any. Accepted keys are deleted even when the reply is an error, as Redis
/// does when a later key fails.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub accepted: Vec<usize>,
    pub error: Option<Vec<u8>>,
}

/// MIGRATE's options, parsed as Redis parses them.
#[derive(Debug, Default, PartialEq)]
struct Options {
    copy: bool,
    replace: bool,
    auth: Option<(Option<Vec<u8>>, Vec<u8>)>,
    /// Where the keys start in the arguments, and how many.
    first_key: usize,
    num_keys: usize,
}

impl Options {
    fn parse(args: &Args) -> Result<Options, CmdError> {
        let mut o = Options { first_key: 3, num_keys: 1, ..Options::default() };
        let mut j = 6;
        while j < args.len() {
            let more = args.len() - 1 - j;
            let a = args.get(j);
            if is(a, "copy") {
                o.copy = true;
            } else if is(a, "replace") {
                o.replace = true;
            } else if is(a, "auth") {
                if more == 0 {
                    return Err(CmdError::Syntax);
                }
                j += 1;
                o.auth = Some((None, args.get(j).to_vec()));
            } else if is(a, "auth2") {
                if more < 2 {
                    return Err(CmdError::Syntax);
                }
                o.auth = Some((Some(args.get(j + 1).to_vec()), args.get(j + 2).to_vec()));
                j += 2;
            } else if is(a, "keys") {
                if !args.get(3).is_empty() {
                    return Err(CmdError::msg(
                        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                    ));
                }
                o.first_key = j + 1;
                o.num_keys = args.len() - j - 1;
                break;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(o)
    }
}

/// C's `atoi` as glibc has it: leading blanks, a sign, digits, anything after ignored; out of
/// range values saturate as `strtol` does, then are cut to an int.
fn atoi(s: &[u8]) -> i64 {
    let s = s.trim_ascii_start();
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &c in digits.iter().take_while(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    let v = if negative { v.saturating_neg() } else { v };
    i64::from(v as i32)
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
///     [AUTH password | AUTH2 username password] [KEYS key [key ...]]
fn migrate(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let opts = Options::parse(args)?;
    // Redis's order: the timeout is checked before the database.
    let timeout = parse_int(args.get(5))?;
    let db = parse_int(args.get(4))?;
    let timeout = if timeout <= 0 { 1000 } else { timeout };
    let encode = dump::encode_options(ctx);
    let mut moving = Vec::new();
    for key in (opts.first_key..opts.first_key + opts.num_keys).map(|i| args.get(i)) {
        let mut shard = ctx.server.keyspace.lock_key(key);
        let table = shard.db(ctx.client.db);
        let found = table.read(key).map(|e| rdb::dump_payload(&e.value, &encode));
        let expire_at = table.expire_at(key);
        drop(shard);
        notify::count_lookup(ctx, found.is_some(), key);
        let Some(payload) = found else { continue };
        // RESTORE reads a TTL of 0 as "none", so a key in its last millisecond gets 1.
        let ttl = match expire_at {
            0 => 0,
            at => (at as i64).saturating_sub(now_ms() as i64).max(1),
        };
        moving.push(Moving { key: key.to_vec(), ttl, payload });
    }
    if moving.is_empty() {
        // Not an error: the keys may simply have expired meanwhile.
        ctx.reply.simple(b"NOKEY");
        return Ok(());
    }
    if crate::connection::nested() {
        // The transfer needs the connection to wait, which a transaction or a script cannot.
        return Err(CmdError::msg("ERR MIGRATE is not supported inside MULTI/EXEC or scripts"));
    }
    ctx.client.migrate = Some(Box::new(Job {
        host: args.get(1).to_vec(),
        port: atoi(args.get(2)),
        timeout: Duration::from_millis(timeout as u64),
        db,
        copy: opts.copy,
        replace: opts.replace,
        auth: opts.auth,
        keys: moving,
        silent: ctx.client.reply_mode != ReplyMode::On,
    }));
    Ok(())
}

/// The end of a MIGRATE, back on the worker after the transfer: deletes the keys the target
/// accepted (unless COPY), then replies.
pub fn finish(ctx: &mut Ctx, job: Box<Job>, outcome: Outcome) {
    let start = ctx.reply.out.len();
    let stat = ctx.server.commands.stat_index(&MIGRATE);
    if !job.copy && !outcome.accepted.is_empty() {
        delete_unchanged(ctx, &job, &outcome.accepted, stat);
    }
    match &outcome.error {
        None => ctx.reply.ok(),
        Some(text) => {
            ctx.reply.error(text);
            ctx.server.stats.count_error(&String::from_utf8_lossy(text));
            ctx.stats.commands[stat].failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    if job.silent {
        ctx.reply.out.truncate(start);
    }
}

/// Deletes the accepted keys whose value is still the one sent, as one DEL (so the AOF,
/// WATCH, tracking, blocked clients and keyspace events see a DEL, as Redis propagates one).
/// A key changed by another client while the transfer ran is kept: deleting it would lose
/// that write, which Redis, blocking everyone meanwhile, never has to choose.
fn delete_unchanged(ctx: &mut Ctx, job: &Job, accepted: &[usize], stat: usize) {
    let keyspace = &ctx.server.keyspace;
    let db = ctx.client.db;
    let encode = dump::encode_options(ctx);
    let sent: Vec<&Moving> = accepted.iter().filter_map(|&i| job.keys.get(i)).collect();
    // Held from the comparison to the DEL, so nothing slips in between.
    let _hold = keyspace.hold_keys(sent.iter().map(|m| m.key.as_slice()));
    let mut del: Vec<&[u8]> = vec![b"DEL"];
    // KEYS may name a key twice; it is deleted once.
    let mut seen = std::collections::HashSet::new();
    for m in &sent {
        if !seen.insert(m.key.as_slice()) {
            continue;
        }
        let mut shard = keyspace.lock_key(&m.key);
        let same = shard.db(db).peek(&m.key).is_some_and(|e| rdb::dump_payload(&e.value, &encode) == m.payload);
        if same {
            del.push(&m.key);
        }
    }
    if del.len() == 1 {
        return;
    }
    let args = OwnedArgs::from_slices(del.iter().copied());
    let start = ctx.reply.out.len();
    crate::connection::run_command(ctx, &keys::DEL, stat, &args.args());
    ctx.reply.out.truncate(start);
    // The DEL is part of this MIGRATE, not a second call of it.
    ctx.stats.commands[stat].calls.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(a: &[&str]) -> OwnedArgs {
        OwnedArgs::from_slices(a.iter().map(|s| s.as_bytes()))
    }

    #[test]
    fn options_parse_like_redis() {
        let parse = |a: &[&str]| Options::parse(&owned(a).args());
        let base = ["migrate", "h", "1", "k", "0", "5"];
        let with = |extra: &[&str]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            parse(&all)
        };
        assert_eq!(with(&[]).unwrap(), Options { first_key: 3, num_keys: 1, ..Options::default() });
        let o = with(&["copy", "REPLACE", "auth", "pw"]).unwrap();
        assert!(o.copy && o.replace && o.auth == Some((None, b"pw".to_vec())));
        let o = with(&["auth2", "u", "p"]).unwrap();
        assert_eq!(o.auth, Some((Some(b"u".to_vec()), b"p".to_vec())));
        assert_eq!(with(&["auth"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(with(&["auth2", "u"]).unwrap_err(), CmdError::Syntax);
        assert_eq!(with(&["nope"]).unwrap_err(), CmdError::Syntax);
        assert!(with(&["keys", "a"]).unwrap_err().text().starts_with("ERR When using MIGRATE KEYS"));
        // A password spelled KEYS is a password.
        assert_eq!(with(&["auth", "keys"]).unwrap().num_keys, 1);
        let o = parse(&["migrate", "h", "1", "", "0", "5", "copy", "keys", "a", "b"]).unwrap();
        assert_eq!((o.first_key, o.num_keys), (8, 2));
        let o = parse(&["migrate", "h", "1", "", "0", "5", "keys"]).unwrap();
        assert_eq!(o.num_keys, 0);
    }

    #[test]
    fn keys_are_found_like_redis() {
        let keys = |a: &[&str]| migrate_keys(&owned(a).args());
        assert_eq!(keys(&["migrate", "h", "1", "k", "0", "5"]), vec![3]);
        assert_eq!(keys(&["migrate", "h", "1", "", "0", "5", "copy", "KEYS", "a", "b"]), vec![8, 9]);
        assert_eq!(keys(&["migrate", "h", "1", "k", "0", "5", "keys", "a"]), vec![3]);
    }

    #[test]
    fn ports_read_like_atoi() {
        assert_eq!(atoi(b"6379"), 6379);
        assert_eq!(atoi(b" 6379abc"), 6379);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"-1"), -1);
        assert_eq!(atoi(b"+12"), 12);
        assert_eq!(atoi(b"99999999999999999999"), -1);
    }
}

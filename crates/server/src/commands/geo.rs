//! Geospatial commands: GEOADD, GEOPOS, GEODIST, GEOHASH and the searches (GEOSEARCH,
//! GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their read-only forms).
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes (see `roost_store::geo`), so
//! there is no geo type: GEOADD is ZADD with computed scores, and every sorted set command
//! works on a geo set. A search scans the score ranges of the nine grid cells around its center
//! and keeps the members the exact distance test accepts, in the order Redis finds them; with
//! COUNT ... ANY it stops as soon as it has enough, so which members come back depends on that
//! order.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ffi::CStr;

use foldhash::fast::RandomState;
use roost_resp::{Args, OwnedArgs, ReplyBuf};
use roost_store::geo::{self, Shape, ShapeKind};
use roost_store::zset::{ZSet, ZSetLimits};
use roost_store::{Table, Value};

use super::zset::{limits, score_or, zset_at, ZADD};
use super::{parse_int, BASE};
use crate::command::{flags::*, CommandSpec, Keys};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify::{self, class, notify};

const GEO: CommandSpec =
    CommandSpec { group: "geo", since: "3.2.0", keys: Keys::Range { first: 1, last: 1, step: 1 }, ..BASE };
const GEO_READ: CommandSpec =
    CommandSpec { flags: READONLY, key_flags: &["RO", "ACCESS"], acl: &["@read", "@geo", "@slow"], ..GEO };
const RADIUS_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.";
const SEARCH_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape";

pub const GEOADD: CommandSpec = CommandSpec {
    name: "geoadd",
    arity: -5,
    flags: WRITE | DENYOOM,
    key_flags: &["RW", "UPDATE"],
    acl: &["@write", "@geo", "@slow"],
    summary: "Add one or more geospatial items in the geospatial index represented using a sorted set",
    complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    run: geoadd,
    ..GEO
};
pub const GEOPOS: CommandSpec = CommandSpec {
    name: "geopos",
    arity: -2,
    summary: "Returns longitude and latitude of members of a geospatial index",
    complexity: "O(N) where N is the number of members requested.",
    run: geopos,
    ..GEO_READ
};
pub const GEODIST: CommandSpec = CommandSpec {
    name: "geodist",
    arity: -4,
    summary: "Returns the distance between two members of a geospatial index",
    complexity: "O(log(N))",
    run: geodist,
    ..GEO_READ
};
pub const GEOHASH: CommandSpec = CommandSpec {
    name: "geohash",
    arity: -2,
    summary: "Returns members of a geospatial index as standard geohash strings",
    complexity: "O(log(N)) for each member requested, where N is the number of elements in the sorted set.",
    run: geohash,
    ..GEO_READ
};
pub const GEORADIUS: CommandSpec = CommandSpec {
    name: "georadius",
    arity: -6,
    flags: WRITE | DENYOOM | MOVABLEKEYS,
    // STORE's key can be anywhere among the options, so keys are found by scanning them.
    keys: Keys::Custom(georadius_keys),
    acl: &["@write", "@geo", "@slow"],
    summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
    complexity: RADIUS_COMPLEXITY,
    run: georadius,
    ..GEO_READ
};
pub const GEORADIUS_RO: CommandSpec = CommandSpec {
    name: "georadius_ro",
    arity: -6,
    since: "3.2.10",
    summary: "A read-only variant for GEORADIUS",
    complexity: RADIUS_COMPLEXITY,
    run: georadius_ro,
    ..GEO_READ
};
pub const GEORADIUSBYMEMBER: CommandSpec = CommandSpec {
    name: "georadiusbymember",
    arity: -5,
    summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
    run: georadiusbymember,
    ..GEORADIUS
};
pub const GEORADIUSBYMEMBER_RO: CommandSpec = CommandSpec {
    name: "georadiusbymember_ro",
    arity: -5,
    summary: "A read-only variant for GEORADIUSBYMEMBER",
    run: georadiusbymember_ro,
    ..GEORADIUS_RO
};
pub const GEOSEARCH: CommandSpec = CommandSpec {
    name: "geosearch",
    arity: -7,
    since: "6.2.0",
    summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.",
    complexity: SEARCH_COMPLEXITY,
    run: geosearch,
    ..GEO_READ
};
pub const GEOSEARCHSTORE: CommandSpec = CommandSpec {
    name: "geosearchstore",
    arity: -8,
    flags: WRITE | DENYOOM,
    keys: Keys::Range { first: 1, last: 2, step: 1 },
    key_flags: &["OW", "UPDATE"],
    acl: &["@write", "@geo", "@slow"],
    since: "6.2.0",
    summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
    complexity: SEARCH_COMPLEXITY,
    run: geosearchstore,
    ..GEO
};

/// GEORADIUS's keys: the source, and the last STORE or STOREDIST destination.
fn georadius_keys(args: &Args) -> Vec<usize> {
    let mut keys = vec![1];
    keys.extend(store_key_at(args));
    keys
}

/// Where the last STORE / STOREDIST names its key, scanning from the fifth argument as Redis's
/// key extraction does. For any request the parser accepts this is the key it stores to.
fn store_key_at(args: &Args) -> Option<usize> {
    let mut found = None;
    let mut i = 5;
    while i < args.len() {
        let a = args.get(i);
        if (word(a, "store") || word(a, "storedist")) && i + 1 < args.len() {
            found = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    found
}

// ---- arguments ----

/// An option name, compared as C's strcasecmp compares Redis's argument: up to a NUL byte.
fn word(arg: &[u8], name: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(name.as_bytes())
}

/// Meters per unit.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    match () {
        _ if word(arg, "m") => Ok(1.0),
        _ if word(arg, "km") => Ok(1000.0),
        _ if word(arg, "ft") => Ok(0.3048),
        _ if word(arg, "mi") => Ok(1609.34),
        _ => Err(CmdError::msg("ERR unsupported unit provided. please use M, KM, FT, MI")),
    }
}

/// A longitude, latitude pair that can be indexed.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = score_or(lon, CmdError::NotFloat)?;
    let lat = score_or(lat, CmdError::NotFloat)?;
    if !geo::valid(lon, lat) {
        return Err(CmdError::msg(format!(
            "ERR invalid longitude,latitude pair {},{}",
            c_format(c"%f", lon),
            c_format(c"%f", lat)
        )));
    }
    Ok((lon, lat))
}

/// A radius and its unit: (radius, meters per unit).
fn radius(value: &[u8], unit_arg: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = score_or(value, CmdError::msg("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::msg("ERR radius cannot be negative"));
    }
    Ok((r, unit(unit_arg)?))
}

/// A box's width, height and unit: (width, height, meters per unit).
fn dimensions(width: &[u8], height: &[u8], unit_arg: &[u8]) -> Result<(f64, f64, f64), CmdError> {
    let w = score_or(width, CmdError::msg("ERR need numeric width"))?;
    let h = score_or(height, CmdError::msg("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::msg("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(unit_arg)?))
}

/// The position of a member, the center of a search.
fn member_position(z: &ZSet, member: &[u8]) -> Result<(f64, f64), CmdError> {
    z.score(member).map(geo::position).ok_or_else(|| CmdError::msg("ERR could not decode requested zset member"))
}

// ---- number formatting ----

/// `v` printed by C's printf with a one-conversion format, so replies carry the digits Redis
/// prints, including how it rounds ties.
fn c_format(fmt: &CStr, v: f64) -> String {
    // %f of the largest double needs 309 digits before the point.
    let mut buf = [0u8; 400];
    // SAFETY: the buffer is writable for its whole length, which snprintf is told, and the
    // format holds exactly one double conversion, matched by `v`.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), v) };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A distance as Redis replies it: four decimals.
fn distance_text(d: f64) -> String {
    c_format(c"%.4f", d)
}

/// A coordinate in Redis's human long double form: 17 decimals without trailing zeros.
fn coordinate_text(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut s = c_format(c"%.17f", v);
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// A coordinate reply: a bulk string in RESP2, a double in RESP3, with the same digits.
fn reply_coordinate(reply: &mut ReplyBuf, v: f64) {
    let text = coordinate_text(v);
    if reply.resp3 {
        reply.out.push(b',');
        reply.out.extend_from_slice(text.as_bytes());
        reply.out.extend_from_slice(b"\r\n");
    } else {
        reply.bulk(text.as_bytes());
    }
}

// ---- GEOADD, GEOPOS, GEODIST, GEOHASH ----

/// GEOADD key [NX | XX] [CH] longitude latitude member [...]: ZADD of the members' hashes,
/// run as ZADD itself so options, replies and notifications ("zadd") are ZADD's.
fn geoadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut rewritten = OwnedArgs::from_slices([&b"zadd"[..], args.get(1)]);
    let (mut nx, mut xx) = (false, false);
    let mut at = 2;
    while at < args.len() {
        let a = args.get(at);
        let option: &[u8] = match () {
            _ if word(a, "nx") => {
                nx = true;
                b"nx"
            }
            _ if word(a, "xx") => {
                xx = true;
                b"xx"
            }
            _ if word(a, "ch") => b"ch",
            _ => break,
        };
        rewritten.push(option);
        at += 1;
    }
    if !(args.len() - at).is_multiple_of(3) || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    for j in (at..args.len()).step_by(3) {
        let (lon, lat) = lon_lat(args.get(j), args.get(j + 1))?;
        let score = geo::score(lon, lat).unwrap_or(0);
        rewritten.push(score.to_string().as_bytes());
        rewritten.push(args.get(j + 2));
    }
    (ZADD.run)(ctx, &rewritten.args())
}

/// Runs `f` on the sorted set at `args[1]` (None when absent), counting the lookup.
fn read<R>(ctx: &mut Ctx, args: &Args, f: impl FnOnce(Option<&ZSet>, &mut ReplyBuf) -> R) -> Result<R, CmdError> {
    let key = args.get(1);
    let mut shard = ctx.server.keyspace.lock_key(key);
    let z = zset_at(shard.db(ctx.client.db), key)?;
    notify::count_lookup(ctx, z.is_some(), key);
    Ok(f(z.map(|z| &*z), ctx.reply))
}

fn geopos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    read(ctx, args, |z, r| {
        r.array(args.len() - 2);
        for m in args.iter().skip(2) {
            match z.and_then(|z| z.score(m)) {
                Some(s) => {
                    let (lon, lat) = geo::position(s);
                    r.array(2);
                    reply_coordinate(r, lon);
                    reply_coordinate(r, lat);
                }
                None => r.null_array(),
            }
        }
    })
}

fn geodist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let to_meter = match args.len() {
        5 => unit(args.get(4))?,
        n if n > 5 => return Err(CmdError::Syntax),
        _ => 1.0,
    };
    read(ctx, args, |z, r| {
        let Some(z) = z else { return r.null() };
        match (z.score(args.get(2)), z.score(args.get(3))) {
            (Some(a), Some(b)) => {
                let ((lon1, lat1), (lon2, lat2)) = (geo::position(a), geo::position(b));
                r.bulk(distance_text(geo::distance(lon1, lat1, lon2, lat2) / to_meter).as_bytes());
            }
            _ => r.null(),
        }
    })
}

fn geohash(ctx: &mut Ctx, args: &Args) -> CmdResult {
    read(ctx, args, |z, r| {
        r.array(args.len() - 2);
        for m in args.iter().skip(2) {
            match z.and_then(|z| z.score(m)) {
                Some(s) => r.bulk(&geo::geohash_text(s)),
                None => r.null(),
            }
        }
    })
}

// ---- searches ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// GEORADIUS: center and radius are positional.
    Radius {
        store: bool,
    },
    /// GEORADIUSBYMEMBER: a member's position is the center.
    Member {
        store: bool,
    },
    GeoSearch,
    GeoSearchStore,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Unsorted,
    Asc,
    Desc,
}

/// A parsed search request.
struct Request {
    shape: Shape,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    order: Order,
    any: bool,
    /// 0 when there is no COUNT.
    count: usize,
    /// The argument naming the destination.
    store: Option<usize>,
    storedist: bool,
}

/// Parses a search's arguments, failing with the first error Redis reports. The set is needed
/// for member centers; when the key is absent, members are not looked up (and GEORADIUSBYMEMBER
/// does not read its radius) because the reply will be empty whatever they are.
fn parse(args: &Args, mode: Mode, z: Option<&ZSet>) -> Result<Request, CmdError> {
    let mut center = (0.0, 0.0);
    let mut kind = ShapeKind::Radius(0.0);
    let mut unit = 0.0;
    let mut store = None;
    let base = match mode {
        Mode::Radius { .. } => {
            center = lon_lat(args.get(2), args.get(3))?;
            let (r, u) = radius(args.get(4), args.get(5))?;
            (kind, unit) = (ShapeKind::Radius(r), u);
            6
        }
        Mode::Member { .. } => {
            if let Some(z) = z {
                center = member_position(z, args.get(2))?;
                let (r, u) = radius(args.get(3), args.get(4))?;
                (kind, unit) = (ShapeKind::Radius(r), u);
            }
            5
        }
        Mode::GeoSearch => 2,
        Mode::GeoSearchStore => {
            store = Some(1);
            3
        }
    };
    let storable = matches!(mode, Mode::Radius { store: true } | Mode::Member { store: true });
    let search = matches!(mode, Mode::GeoSearch | Mode::GeoSearchStore);
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut order = Order::Unsorted;
    let mut count = 0i64;
    let mut storedist = false;
    let n = args.len();
    let mut i = base;
    while i < n {
        let a = args.get(i);
        // How many arguments follow this one.
        let left = n - i - 1;
        if word(a, "withdist") {
            withdist = true;
        } else if word(a, "withhash") {
            withhash = true;
        } else if word(a, "withcoord") {
            withcoord = true;
        } else if word(a, "any") {
            any = true;
        } else if word(a, "asc") {
            order = Order::Asc;
        } else if word(a, "desc") {
            order = Order::Desc;
        } else if word(a, "count") && left >= 1 {
            count = parse_int(args.get(i + 1))?;
            if count <= 0 {
                return Err(CmdError::msg("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (word(a, "store") || word(a, "storedist")) && left >= 1 && storable {
            store = Some(i + 1);
            storedist = word(a, "storedist");
            i += 1;
        } else if word(a, "storedist") && mode == Mode::GeoSearchStore {
            storedist = true;
        } else if word(a, "frommember") && left >= 1 && search && !fromloc {
            if let Some(z) = z {
                center = member_position(z, args.get(i + 1))?;
            }
            frommember = true;
            i += 1;
        } else if word(a, "fromlonlat") && left >= 2 && search && !frommember {
            center = lon_lat(args.get(i + 1), args.get(i + 2))?;
            fromloc = true;
            i += 2;
        } else if word(a, "byradius") && left >= 2 && search && !bybox {
            let (r, u) = radius(args.get(i + 1), args.get(i + 2))?;
            (kind, unit) = (ShapeKind::Radius(r), u);
            byradius = true;
            i += 2;
        } else if word(a, "bybox") && left >= 3 && search && !byradius {
            let (width, height, u) = dimensions(args.get(i + 1), args.get(i + 2), args.get(i + 3))?;
            (kind, unit) = (ShapeKind::Box { width, height }, u);
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if mode == Mode::GeoSearchStore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(CmdError::msg(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = || String::from_utf8_lossy(args.get(0)).into_owned();
    if search && !(frommember || fromloc) {
        return Err(CmdError::msg(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            name()
        )));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::msg(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {}", name())));
    }
    if any && count == 0 {
        return Err(CmdError::msg("ERR the ANY argument requires COUNT argument"));
    }
    // Only the nearest COUNT make sense, so COUNT sorts unless ANY asked for any COUNT.
    if count != 0 && order == Order::Unsorted && !any {
        order = Order::Asc;
    }
    Ok(Request {
        shape: Shape { center, kind, unit },
        withdist,
        withhash,
        withcoord,
        order,
        any,
        count: usize::try_from(count).unwrap_or(usize::MAX),
        store,
        storedist,
    })
}

/// A member found by a search.
struct Point {
    member: Vec<u8>,
    lon: f64,
    lat: f64,
    /// Meters from the center.
    dist: f64,
    score: f64,
}

/// The members inside `shape`, cell by cell in scan order and by score within a cell. A
/// nonzero `limit` stops the scan once that many are found.
fn find(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let cells = shape.cells();
    let mut found = Vec::new();
    // Near the poles or with a huge radius, neighbouring cells can be one and the same; a cell
    // equal to the last one scanned is skipped. The center cell (index 0) is never compared,
    // as in Redis, where "nothing scanned yet" and "scanned the center" look alike.
    let mut last = 0;
    for (i, &cell) in cells.iter().enumerate() {
        if cell.is_zero() || (last != 0 && cell == cells[last]) {
            continue;
        }
        if limit != 0 && found.len() >= limit {
            break;
        }
        let (min, max) = cell.score_range();
        let start = z.count_while(|s, _| s < min);
        let end = z.count_while(|s, _| s < max);
        for (member, score) in z.range(start, end, false) {
            let (lon, lat) = geo::position(score);
            if let Some(dist) = shape.contains(lon, lat) {
                found.push(Point { member: member.to_vec(), lon, lat, dist, score });
            }
            if limit != 0 && found.len() >= limit {
                break;
            }
        }
        last = i;
    }
    found
}

/// Nearer first. A NaN distance (antipodal points, where rounding takes the haversine's
/// square root past 1) compares as nearer than anything, as the C comparison does.
fn by_distance(a: &Point, b: &Point) -> Ordering {
    if a.dist > b.dist {
        Ordering::Greater
    } else if a.dist == b.dist {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

/// A top-down merge sort taking from the left run on ties: stable, and it never relies on the
/// comparison being a total order.
fn merge_sort<T>(v: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> Ordering) {
    fn sort<T>(v: Vec<T>, cmp: &impl Fn(&T, &T) -> Ordering) -> Vec<T> {
        if v.len() <= 1 {
            return v;
        }
        let mut left = v;
        let right = left.split_off(left.len() / 2);
        let (left, right) = (sort(left, cmp), sort(right, cmp));
        let mut out = Vec::with_capacity(left.len() + right.len());
        let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
        while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
            let next = if cmp(a, b) != Ordering::Greater { l.next() } else { r.next() };
            out.extend(next);
        }
        out.extend(l);
        out.extend(r);
        out
    }
    let taken = std::mem::take(v);
    *v = sort(taken, cmp);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

/// Bentley and McIlroy's three-way quicksort, recursing only into parts that overlap the
/// positions `lo..=hi`, which end up holding what a full sort would put there: the partial
/// sort Redis uses when COUNT keeps fewer than were found. Its exact pivots and swaps decide
/// the order of equal elements, so they are kept.
fn partial_quicksort<T>(v: &mut [T], mut base: usize, mut n: usize, hi: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    let lo = 0;
    let outside = |start: usize, len: usize| (lo < start && hi < start) || (lo >= start + len && hi >= start + len);
    loop {
        if n < 7 {
            for pm in base + 1..base + n {
                let mut pl = pm;
                while pl > base && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = base + n / 2;
        if n > 7 {
            let mut pl = base;
            let mut pn = base + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(base, pm);
        let (mut pa, mut pb) = (base + 1, base + 1);
        let (mut pc, mut pd) = (base + n - 1, base + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[base]);
                if c == Ordering::Greater {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[base]);
                if c == Ordering::Less {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = base + n;
        let r = (pa - base).min(pb - pa);
        swap_runs(v, base, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        swap_runs(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(base, r) {
            partial_quicksort(v, base, r, hi, cmp);
        }
        let r = pd - pc;
        if r <= 1 {
            return;
        }
        base = pn - r;
        n = r;
        if outside(base, n) {
            return;
        }
    }
}

/// Swaps the `len` elements from `a` with the `len` from `b`, pairwise.
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, len: usize) {
    for i in 0..len {
        v.swap(a + i, b + i);
    }
}

fn georadius(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search(ctx, args, Mode::Radius { store: true })
}

fn georadius_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search(ctx, args, Mode::Radius { store: false })
}

fn georadiusbymember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search(ctx, args, Mode::Member { store: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search(ctx, args, Mode::Member { store: false })
}

fn geosearch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search(ctx, args, Mode::GeoSearch)
}

fn geosearchstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search(ctx, args, Mode::GeoSearchStore)
}

fn search(ctx: &mut Ctx, args: &Args, mode: Mode) -> CmdResult {
    let src = args.get(if mode == Mode::GeoSearchStore { 2 } else { 1 });
    let dst_at = match mode {
        Mode::GeoSearchStore => Some(1),
        Mode::Radius { store: true } | Mode::Member { store: true } => store_key_at(args),
        _ => None,
    };
    let db = ctx.client.db;
    let limits = limits(ctx);
    let mut locked = ctx.server.keyspace.lock_keys(std::iter::once(src).chain(dst_at.map(|i| args.get(i))));
    let found = zset_at(locked.table(db, src), src)?.map(|z| &*z);
    notify::count_lookup(ctx, found.is_some(), src);
    let req = parse(args, mode, found)?;
    if req.store.is_some() && req.store != dst_at {
        // Unreachable for any request the parser accepts (see `store_key_at`); refusing keeps
        // the write inside the locks taken.
        return Err(CmdError::Syntax);
    }
    let Some(z) = found else {
        let deleted = req.store.is_some_and(|at| locked.table(db, args.get(at)).remove(args.get(at)).is_some());
        drop(locked);
        return match req.store {
            Some(at) => announce_store(ctx, mode, args.get(at), 0, deleted),
            None => {
                ctx.reply.array(0);
                Ok(())
            }
        };
    };
    let limit = if req.any { req.count } else { 0 };
    let mut points = find(z, &req.shape, limit);
    let returned = if req.count == 0 { points.len() } else { points.len().min(req.count) };
    if req.order != Order::Unsorted {
        let desc = req.order == Order::Desc;
        let cmp = |a: &Point, b: &Point| if desc { by_distance(b, a) } else { by_distance(a, b) };
        // Members at the same distance come out in the order Redis's sorts leave them: a
        // stable merge sort when all are returned, a partial quicksort when COUNT cuts.
        if returned == points.len() {
            merge_sort(&mut points, &cmp);
        } else if returned > 0 {
            let len = points.len();
            partial_quicksort(&mut points, 0, len, returned - 1, &cmp);
        }
    }
    points.truncate(returned);
    let unit = req.shape.unit;
    if let Some(at) = req.store {
        let dst = args.get(at);
        let items: Vec<(Vec<u8>, f64)> =
            points.into_iter().map(|p| (p.member, if req.storedist { p.dist / unit } else { p.score })).collect();
        let (n, deleted) = replace(locked.table(db, dst), dst, items, &limits);
        drop(locked);
        return announce_store(ctx, mode, dst, n, deleted);
    }
    drop(locked);
    let r = &mut *ctx.reply;
    let options = usize::from(req.withdist) + usize::from(req.withhash) + usize::from(req.withcoord);
    r.array(points.len());
    for p in &points {
        if options > 0 {
            r.array(options + 1);
        }
        r.bulk(&p.member);
        if req.withdist {
            r.bulk(distance_text(p.dist / unit).as_bytes());
        }
        if req.withhash {
            r.int(p.score as i64);
        }
        if req.withcoord {
            r.array(2);
            reply_coordinate(r, p.lon);
            reply_coordinate(r, p.lat);
        }
    }
    Ok(())
}

/// Replaces `dst` with the found members, or deletes it when there are none: (how many were
/// stored, whether a key was deleted).
fn replace(table: &mut Table, dst: &[u8], mut items: Vec<(Vec<u8>, f64)>, limits: &ZSetLimits) -> (usize, bool) {
    // A member is found at most once unless two scanned cells coincide; keep its first find.
    let mut seen: HashSet<Vec<u8>, RandomState> = HashSet::default();
    items.retain(|(m, _)| seen.insert(m.clone()));
    let n = items.len();
    if n == 0 {
        return (0, table.remove(dst).is_some());
    }
    table.set(dst, Value::ZSet(Box::new(ZSet::from_entries(items, limits))), 0);
    (n, false)
}

/// Announces a stored result and replies with its size; Redis announces before it replies.
fn announce_store(ctx: &mut Ctx, mode: Mode, dst: &[u8], n: usize, deleted: bool) -> CmdResult {
    if n > 0 {
        let event = if matches!(mode, Mode::GeoSearchStore) { "geosearchstore" } else { "georadiusstore" };
        notify(ctx, class::ZSET, event, dst);
    } else if deleted {
        notify(ctx, class::GENERIC, "del", dst);
    }
    ctx.reply.int(n as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_redis_prints_them() {
        assert_eq!(coordinate_text(13.361389338970184), "13.36138933897018433");
        assert_eq!(coordinate_text(180.0), "180");
        assert_eq!(coordinate_text(-0.0), "0");
        assert_eq!(distance_text(166274.15156960033), "166274.1516");
        assert_eq!(c_format(c"%f", 200.0), "200.000000");
    }

    #[test]
    fn units_compare_up_to_a_nul() {
        assert_eq!(unit(b"KM"), Ok(1000.0));
        assert_eq!(unit(b"m\0x"), Ok(1.0));
        assert!(unit(b"yd").is_err());
    }
}

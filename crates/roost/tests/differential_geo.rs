//! Differential tests for the geo commands: random points (clustered, spread over the globe,
//! at the poles' limits and the antimeridian, repeated under other names) and random searches
//! of every shape and option, run against Roost and a real redis-server. Replies must agree to
//! the byte: which members a search finds (COUNT ... ANY stops early, so the scan order
//! matters), their order, distances, hashes, coordinates and stored results.

mod common;
use common::differential::*;
use common::*;

/// Two geo sets, one also written with plain ZADD scores, and a string.
fn key(r: &mut Rng) -> String {
    ["g0", "g0", "g1", "str", "nokey"][r.below(5) as usize].to_string()
}

fn dest(r: &mut Rng) -> String {
    ["d0", "d1", "g1", "str"][r.below(4) as usize].to_string()
}

fn member(r: &mut Rng) -> String {
    format!("m{}", r.below(60))
}

/// A coordinate in [lo, hi] with up to six decimals.
fn coord(r: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * (r.below(1_000_001) as f64 / 1_000_000.0)
}

/// A point: mostly near a few centers so searches find something, sometimes anywhere, at the
/// edges of the indexable area, or out of it.
fn point(r: &mut Rng) -> (String, String) {
    let centers = [(13.36, 38.11), (-0.12, 51.5), (179.9, -16.5), (-179.95, 65.0), (2.35, 84.9), (0.0, 0.0)];
    let (lon, lat) = match r.below(20) {
        0..=11 => {
            let (cx, cy) = centers[r.below(centers.len() as u64) as usize];
            let spread = [0.001, 0.05, 0.5, 3.0][r.below(4) as usize];
            (
                (cx + coord(r, -spread, spread)).clamp(-180.0, 180.0),
                (cy + coord(r, -spread, spread)).clamp(-85.05, 85.05),
            )
        }
        12..=15 => (coord(r, -180.0, 180.0), coord(r, -85.05, 85.05)),
        16 => {
            return (
                r.pick(&["180", "-180", "0", "179.999999"]).into(),
                r.pick(&["85.05112878", "-85.05112878", "0"]).into(),
            )
        }
        17 => return (r.pick(&["180.0001", "x", "1e400", "-inf"]).into(), "0".into()),
        18 => return ("10".into(), r.pick(&["85.06", "-90", "nan", " 1"]).into()),
        _ => (coord(r, -180.0, 180.0), coord(r, 80.0, 85.05)),
    };
    (format!("{lon:.6}"), format!("{lat:.6}"))
}

fn unit(r: &mut Rng) -> String {
    r.pick(&["m", "km", "KM", "mi", "ft", "m", "km", "yd"]).into()
}

fn distance(r: &mut Rng) -> String {
    r.pick(&["0", "1", "50", "500", "5000", "100000", "750000", "5000000", "20000000", "-1", "x", "0.5", "inf"]).into()
}

fn center(r: &mut Rng, search: bool) -> Vec<String> {
    let from_member = r.below(3) == 0;
    match (search, from_member) {
        (true, true) => vec!["FROMMEMBER".into(), member(r)],
        (true, false) => {
            let (lon, lat) = point(r);
            vec!["FROMLONLAT".into(), lon, lat]
        }
        (false, _) => {
            let (lon, lat) = point(r);
            vec![lon, lat]
        }
    }
}

fn options(r: &mut Rng, c: &mut Vec<String>, store: bool) {
    for _ in 0..r.below(5) {
        match r.below(12) {
            0 => c.push("WITHDIST".into()),
            1 => c.push("WITHCOORD".into()),
            2 => c.push("WITHHASH".into()),
            3 => c.push("ASC".into()),
            4 => c.push("DESC".into()),
            5 | 6 => {
                c.push("COUNT".into());
                c.push(r.pick(&["1", "2", "3", "5", "10", "0", "-1", "x"]).into());
            }
            7 | 8 => c.push("ANY".into()),
            9 if store => {
                c.push(r.pick(&["STORE", "STOREDIST"]).into());
                c.push(dest(r));
            }
            _ => c.push(r.pick(&["STOREDIST", "WITHDIST", "junk"]).into()),
        }
    }
}

fn geo_command(r: &mut Rng) -> Cmd {
    let k = key(r);
    let mut c: Vec<String> = match r.below(30) {
        0..=7 => {
            let mut c = vec!["GEOADD".to_string(), k];
            for _ in 0..r.below(2) {
                c.push(r.pick(&["NX", "XX", "CH"]).into());
            }
            for _ in 0..=r.below(6) {
                let (lon, lat) = point(r);
                c.extend([lon, lat, member(r)]);
            }
            c
        }
        8 => vec!["ZADD".into(), k, r.pick(&["-1", "1e30", "4503599627370496", "3.5", "inf"]).into(), member(r)],
        9 => {
            let mut c = vec!["GEOPOS".to_string(), k];
            for _ in 0..r.below(4) {
                c.push(member(r));
            }
            c
        }
        10 => {
            let mut c = vec!["GEODIST".to_string(), k, member(r), member(r)];
            if r.below(2) == 0 {
                c.push(unit(r));
            }
            c
        }
        11 => {
            let mut c = vec!["GEOHASH".to_string(), k];
            for _ in 0..r.below(4) {
                c.push(member(r));
            }
            c
        }
        12..=19 => {
            let store = r.below(4) == 0;
            let mut c = if store {
                let mut c = vec!["GEOSEARCHSTORE".to_string(), dest(r), k];
                c.extend(center(r, true));
                c
            } else {
                let mut c = vec!["GEOSEARCH".to_string(), k];
                c.extend(center(r, true));
                c
            };
            if r.below(2) == 0 {
                c.extend(["BYRADIUS".into(), distance(r), unit(r)]);
            } else {
                c.extend(["BYBOX".into(), distance(r), distance(r), unit(r)]);
            }
            // Now and then a second shape, a missing shape or a missing center.
            match r.below(25) {
                0 => c.extend(["BYRADIUS".into(), "1".into(), "km".into()]),
                1 => c.extend(["FROMLONLAT".into(), "1".into(), "1".into()]),
                _ => {}
            }
            options(r, &mut c, false);
            if store && r.below(3) == 0 {
                c.push("STOREDIST".into());
            }
            c
        }
        20..=24 => {
            let name = r.pick(&["GEORADIUS", "GEORADIUS_RO", "GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]);
            let mut c = vec![name.to_string(), k];
            if name.starts_with("GEORADIUSBYMEMBER") {
                c.push(member(r));
            } else {
                c.extend(center(r, false));
            }
            c.extend([distance(r), unit(r)]);
            options(r, &mut c, !name.ends_with("_RO"));
            c
        }
        25 => s(&["ZRANGE", &dest(r), "0", "-1", "WITHSCORES"]),
        26 => s(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]),
        27 => vec!["OBJECT".into(), "ENCODING".into(), dest(r)],
        28 => vec!["SET".into(), "str".into(), "v".into()],
        _ => vec!["DEL".into(), k],
    };
    if r.below(50) == 0 && c.len() > 1 {
        c.pop();
    }
    c
}

fn s(v: &[&str]) -> Cmd {
    v.iter().map(|x| x.to_string()).collect()
}

fn run_streams(roost: &TestServer, redis: &TestServer, salt: u64) {
    for seed in 1..=30u64 {
        let mut r = Rng(seed.wrapping_mul(salt));
        let cmds: Vec<Cmd> = (0..300).map(|_| geo_command(&mut r)).collect();
        compare(roost, redis, cmds, seed);
    }
}

#[test]
fn random_geo_commands_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    run_streams(&roost, &redis, 0x9E37_79B9_7F4A_7C15);
}

#[test]
fn random_geo_commands_match_redis_on_skiplists() {
    let small = ["--zset-max-listpack-entries", "4"];
    let roost = TestServer::start(&small);
    let redis = TestServer::start_redis_with(&small);
    run_streams(&roost, &redis, 0xD1B5_4A32_D192_ED03);
}

/// Big sets and every search shape from many centers: results of all sizes, sorted, limited
/// and unsorted.
#[test]
fn dense_searches_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    let mut cmds: Vec<Cmd> = Vec::new();
    for batch in 0..20 {
        let mut c = s(&["GEOADD", "big"]);
        for i in 0..50 {
            let (lon, lat) = (coord(&mut r, -10.0, 10.0), coord(&mut r, 40.0, 60.0));
            c.extend([format!("{lon:.6}"), format!("{lat:.6}"), format!("p{}", batch * 50 + i)]);
        }
        cmds.push(c);
    }
    // The same place under several names: ties in distance.
    cmds.push(s(&["GEOADD", "big", "1", "50", "t1", "1", "50", "t0", "1", "50", "t2", "1.000001", "50", "t3"]));
    for _ in 0..300 {
        let (lon, lat) = (coord(&mut r, -12.0, 12.0), coord(&mut r, 38.0, 62.0));
        let mut c = s(&["GEOSEARCH", "big", "FROMLONLAT", &format!("{lon:.5}"), &format!("{lat:.5}")]);
        if r.below(2) == 0 {
            c.extend(s(&["BYRADIUS", r.pick(&["10", "50", "100", "300", "1000", "3000"]), "km"]));
        } else {
            c.extend(s(&["BYBOX", r.pick(&["20", "100", "400", "1500"]), r.pick(&["20", "100", "400", "1500"]), "km"]));
        }
        match r.below(4) {
            0 => c.extend(s(&["COUNT", r.pick(&["1", "5", "20"]), "ANY"])),
            1 => c.extend(s(&["COUNT", r.pick(&["1", "5", "20"])])),
            _ => {}
        }
        c.push(r.pick(&["ASC", "DESC", "WITHDIST", "WITHHASH"]).into());
        c.push(r.pick(&["WITHCOORD", "WITHDIST", "ASC"]).into());
        cmds.push(c);
    }
    cmds.push(s(&["GEOSEARCH", "big", "FROMLONLAT", "1", "50", "BYRADIUS", "1", "m", "ASC", "WITHDIST"]));
    cmds.push(s(&["GEORADIUS", "big", "1", "50", "1", "m", "DESC", "STORE", "near"]));
    cmds.push(s(&["ZRANGE", "near", "0", "-1", "WITHSCORES"]));
    cmds.push(s(&["GEORADIUSBYMEMBER", "big", "p7", "200", "km", "COUNT", "30", "STOREDIST", "near"]));
    cmds.push(s(&["ZRANGE", "near", "0", "-1", "WITHSCORES"]));
    cmds.push(s(&["OBJECT", "ENCODING", "near"]));
    compare(&roost, &redis, cmds, 0);
}

/// RESP3 shapes: coordinates are doubles, distances stay strings.
#[test]
fn resp3_replies_match_redis() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let mut replies = Vec::new();
    for port in [roost.port, redis.port] {
        let mut c = RawClient::connect(port);
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
        let mut got = Vec::new();
        for cmd in [
            &["GEOPOS", "g", "Palermo", "nosuch"][..],
            &["GEODIST", "g", "Palermo", "Catania"],
            &["GEODIST", "g", "Palermo", "nosuch"],
            &["GEOHASH", "g", "Palermo", "nosuch"],
            &["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHCOORD", "WITHDIST", "WITHHASH"],
            &["GEOSEARCH", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
        ] {
            got.push(String::from_utf8_lossy(&c.cmd(cmd)).into_owned());
        }
        replies.push(got);
    }
    assert_eq!(replies[0], replies[1]);
}

/// Many members at a few places, so most distances tie: which of the tied members COUNT keeps,
/// and in what order, is decided by the exact sorting algorithm.
#[test]
fn tied_distances_keep_redis_order() {
    let roost = TestServer::start(&[]);
    let redis = TestServer::start_redis();
    let mut r = Rng(0x5851_F42D_4C95_7F2D);
    let spots = [("1", "50"), ("1.001", "50"), ("1", "50.001"), ("0.999", "49.999"), ("1.002", "50.002")];
    let mut add = s(&["GEOADD", "ties"]);
    for i in 0..120 {
        let (lon, lat) = spots[r.below(spots.len() as u64) as usize];
        add.extend([lon.to_string(), lat.to_string(), format!("t{i}")]);
    }
    let mut cmds = vec![add];
    for count in 1..=121 {
        for order in ["ASC", "DESC"] {
            let (lon, lat) = spots[r.below(spots.len() as u64) as usize];
            cmds.push(s(&[
                "GEOSEARCH",
                "ties",
                "FROMLONLAT",
                lon,
                lat,
                "BYRADIUS",
                "5",
                "km",
                "COUNT",
                &count.to_string(),
                order,
            ]));
        }
    }
    compare(&roost, &redis, cmds, 0);
}

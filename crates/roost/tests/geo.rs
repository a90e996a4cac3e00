//! Geo commands: exact replies and error texts, RESP3 shapes, what stores write and announce.

mod common;
use common::*;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
    }
    s
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn err(msg: &str) -> String {
    format!("-ERR {msg}\r\n")
}

fn sicily(c: &mut RawClient) {
    let r = c.cmd_str(&["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    assert_eq!(r, ":2\r\n");
}

#[test]
fn geoadd_stores_hash_scores_and_takes_zadd_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    sicily(&mut c);
    assert_eq!(c.cmd_str(&["ZSCORE", "Sicily", "Palermo"]), bulk("3479099956230698"));
    assert_eq!(c.cmd_str(&["TYPE", "Sicily"]), "+zset\r\n");
    assert_eq!(c.cmd_str(&["GEOADD", "Sicily", "CH", "XX", "13.361389", "38.2", "Palermo", "1", "1", "new"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZSCORE", "Sicily", "new"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["GEOADD", "Sicily", "NX", "1", "1", "Palermo", "1", "1", "new"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["GEOADD", "Sicily", "CH", "1", "1", "new"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GEOADD", "nokey", "XX", "1", "1", "a"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "nokey"]), ":0\r\n");
}

#[test]
fn geoadd_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd_str(&["GEOADD", "k", "200", "100", "x"]),
        err("invalid longitude,latitude pair 200.000000,100.000000")
    );
    assert_eq!(
        c.cmd_str(&["GEOADD", "k", "0", "85.06", "x"]),
        err("invalid longitude,latitude pair 0.000000,85.060000")
    );
    assert_eq!(c.cmd_str(&["GEOADD", "k", "x", "1", "m"]), err("value is not a valid float"));
    assert_eq!(c.cmd_str(&["GEOADD", "k", "XX", "NX", "1", "1", "m"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["GEOADD", "k", "1", "1", "m", "2"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["GEOADD", "k", "GT", "1", "1", "m"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["GEOADD", "k", "CH", "CH", "CH"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["GEOADD", "k", "1", "1"]), err("wrong number of arguments for 'geoadd' command"));
    // Coordinates are checked before the key's type.
    c.cmd(&["SET", "str", "v"]);
    assert_eq!(
        c.cmd_str(&["GEOADD", "str", "1", "1", "m", "200", "0", "n"]),
        err("invalid longitude,latitude pair 200.000000,0.000000")
    );
    assert_eq!(c.cmd_str(&["GEOADD", "str", "1", "1", "m"]), WRONGTYPE);
}

#[test]
fn geopos_geodist_geohash() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    sicily(&mut c);
    assert_eq!(
        c.cmd_str(&["GEOPOS", "Sicily", "Palermo", "nosuch", "Catania"]),
        format!(
            "*3\r\n*2\r\n{}{}*-1\r\n*2\r\n{}{}",
            bulk("13.36138933897018433"),
            bulk("38.11555639549629859"),
            bulk("15.08726745843887329"),
            bulk("37.50266842333162032")
        )
    );
    assert_eq!(c.cmd_str(&["GEOPOS", "nokey", "a"]), "*1\r\n*-1\r\n");
    assert_eq!(c.cmd_str(&["GEOPOS", "Sicily"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "Catania"]), bulk("166274.1516"));
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "Catania", "km"]), bulk("166.2742"));
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "Catania", "MI"]), bulk("103.3182"));
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "Catania", "ft"]), bulk("545518.8700"));
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "Palermo"]), bulk("0.0000"));
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "nosuch"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["GEODIST", "nokey", "a", "b"]), "$-1\r\n");
    assert_eq!(
        c.cmd_str(&["GEODIST", "Sicily", "a", "b", "yd"]),
        err("unsupported unit provided. please use M, KM, FT, MI")
    );
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "a", "b", "km", "x"]), err("syntax error"));
    assert_eq!(c.cmd_str(&["GEOHASH", "Sicily", "Palermo", "Catania", "nosuch"]), {
        let mut s = bulks(&["sqc8b49rny0", "sqdtr74hyu0"]).replacen("*2", "*3", 1);
        s.push_str("$-1\r\n");
        s
    });
    assert_eq!(c.cmd_str(&["GEOHASH", "nokey", "a"]), "*1\r\n$-1\r\n");
    c.cmd(&["SET", "str", "v"]);
    for cmd in [&["GEOPOS", "str", "a"][..], &["GEODIST", "str", "a", "b"], &["GEOHASH", "str", "a"]] {
        assert_eq!(c.cmd_str(cmd), WRONGTYPE, "{cmd:?}");
    }
}

#[test]
fn scores_that_are_not_hashes_decode_to_the_edges() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "-1", "neg", "inf", "inf"]);
    assert_eq!(
        c.cmd_str(&["GEOPOS", "z", "neg"]),
        format!("*1\r\n*2\r\n{}{}", bulk("180"), bulk("85.0511287799999991"))
    );
    assert_eq!(
        c.cmd_str(&["GEOPOS", "z", "inf"]),
        format!("*1\r\n*2\r\n{}{}", bulk("-179.99999731779098511"), bulk("-85.05112751263942528"))
    );
    assert_eq!(c.cmd_str(&["GEOHASH", "z", "inf"]), bulks(&["00bh0hbj200"]));
}

#[test]
fn searches_reply_with_the_options_asked() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    sicily(&mut c);
    assert_eq!(
        c.cmd_str(&[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
            "ASC",
            "WITHCOORD",
            "WITHDIST"
        ]),
        format!(
            "*2\r\n*3\r\n{}{}*2\r\n{}{}*3\r\n{}{}*2\r\n{}{}",
            bulk("Catania"),
            bulk("56.4413"),
            bulk("15.08726745843887329"),
            bulk("37.50266842333162032"),
            bulk("Palermo"),
            bulk("190.4424"),
            bulk("13.36138933897018433"),
            bulk("38.11555639549629859")
        )
    );
    assert_eq!(
        c.cmd_str(&["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHHASH"]),
        format!("*2\r\n*2\r\n{}:3479447370796909\r\n*2\r\n{}:3479099956230698\r\n", bulk("Catania"), bulk("Palermo"))
    );
    assert_eq!(c.cmd_str(&["GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC"]), bulks(&["Palermo", "Catania"]));
    assert_eq!(c.cmd_str(&["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1"]), bulks(&["Catania"]));
    assert_eq!(c.cmd_str(&["GEORADIUS_RO", "Sicily", "15", "37", "100", "km"]), bulks(&["Catania"]));
    assert_eq!(c.cmd_str(&["GEORADIUSBYMEMBER", "Sicily", "Palermo", "100", "km"]), bulks(&["Palermo"]));
    assert_eq!(
        c.cmd_str(&["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "200", "km", "ASC"]),
        bulks(&["Palermo", "Catania"])
    );
    assert_eq!(
        c.cmd_str(&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "m"]),
        bulks(&["Palermo"])
    );
    assert_eq!(c.cmd_str(&["GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"]), "*0\r\n");
    assert_eq!(c.cmd_str(&["GEORADIUSBYMEMBER", "nokey", "x", "bad", "radius"]), "*0\r\n");
}

#[test]
fn search_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    sicily(&mut c);
    let g = |rest: &[&str]| {
        let mut v = vec!["GEOSEARCH", "Sicily"];
        v.extend_from_slice(rest);
        v.iter().map(|s| s.to_string()).collect::<Vec<String>>()
    };
    let cases: Vec<(Vec<String>, String)> = vec![
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"]), err("syntax error")),
        (g(&["FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"]), err("syntax error")),
        (
            g(&["BYRADIUS", "1", "km", "ASC", "WITHDIST"]),
            err("exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"),
        ),
        (
            g(&["FROMMEMBER", "Palermo", "ASC", "WITHDIST", "WITHHASH"]),
            err("exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH"),
        ),
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "ANY"]), err("the ANY argument requires COUNT argument")),
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "0"]), err("COUNT must be > 0")),
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "-3"]), err("COUNT must be > 0")),
        (
            g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "x"]),
            err("value is not an integer or out of range"),
        ),
        (g(&["FROMMEMBER", "nosuch", "BYRADIUS", "1", "km"]), err("could not decode requested zset member")),
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "-1", "km"]), err("radius cannot be negative")),
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "x", "km"]), err("need numeric radius")),
        (
            g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "parsec"]),
            err("unsupported unit provided. please use M, KM, FT, MI"),
        ),
        (g(&["FROMMEMBER", "Palermo", "BYBOX", "x", "1", "km"]), err("need numeric width")),
        (g(&["FROMMEMBER", "Palermo", "BYBOX", "1", "x", "km"]), err("need numeric height")),
        (g(&["FROMMEMBER", "Palermo", "BYBOX", "1", "-1", "km"]), err("height or width cannot be negative")),
        (
            g(&["FROMLONLAT", "181", "0", "BYBOX", "1", "1", "km"]),
            err("invalid longitude,latitude pair 181.000000,0.000000"),
        ),
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "d"]), err("syntax error")),
        (g(&["FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STOREDIST"]), err("syntax error")),
    ];
    for (cmd, want) in cases {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        assert_eq!(c.cmd_str(&args), want, "{cmd:?}");
    }
    // The command's name appears as it was typed.
    assert_eq!(
        c.cmd_str(&["geosearchstore", "d", "Sicily", "BYRADIUS", "1", "km", "ASC", "DESC"]),
        err("exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearchstore")
    );
    assert_eq!(
        c.cmd_str(&["GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "WITHDIST"]),
        err("GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    );
    assert_eq!(
        c.cmd_str(&["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHHASH", "STORE", "d"]),
        err("STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    );
    assert_eq!(c.cmd_str(&["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "d"]), err("syntax error"));
    assert_eq!(
        c.cmd_str(&["GEORADIUSBYMEMBER", "Sicily", "nosuch", "1", "km"]),
        err("could not decode requested zset member")
    );
    assert_eq!(
        c.cmd_str(&["GEORADIUS", "Sicily", "15", "37", "200"]),
        err("wrong number of arguments for 'georadius' command")
    );
    c.cmd(&["SET", "str", "v"]);
    // The type is checked before any argument.
    assert_eq!(c.cmd_str(&["GEORADIUS", "str", "x", "y", "z", "w"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["GEOSEARCH", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"]), WRONGTYPE);
    assert_eq!(c.cmd_str(&["GEOSEARCHSTORE", "d", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"]), WRONGTYPE);
}

#[test]
fn stores_write_hashes_or_distances_and_delete_on_empty() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    sicily(&mut c);
    let stored =
        c.cmd_str(&["GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "STOREDIST"]);
    assert_eq!(stored, ":2\r\n");
    assert_eq!(
        c.cmd_str(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
        bulks(&["Palermo", "0", "Catania", "166.27415156960032"])
    );
    assert_eq!(c.cmd_str(&["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d2"]), ":2\r\n");
    assert_eq!(
        c.cmd_str(&["ZRANGE", "d2", "0", "-1", "WITHSCORES"]),
        bulks(&["Palermo", "3479099956230698", "Catania", "3479447370796909"])
    );
    assert_eq!(c.cmd_str(&["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "d2", "COUNT", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "d2", "0", "-1", "WITHSCORES"]), bulks(&["Catania", "56.441257870158204"]));
    // An empty result deletes the destination, whatever it held.
    c.cmd(&["SET", "str", "v"]);
    assert_eq!(
        c.cmd_str(&["GEOSEARCHSTORE", "str", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"]),
        ":0\r\n"
    );
    assert_eq!(c.cmd_str(&["EXISTS", "str"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "d"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "d"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["GEOSEARCHSTORE", "d2", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["EXISTS", "d2"]), ":0\r\n");
    // The destination may be the source.
    let self_store =
        c.cmd_str(&["GEOSEARCHSTORE", "Sicily", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "10", "km"]);
    assert_eq!(self_store, ":1\r\n");
    assert_eq!(c.cmd_str(&["ZRANGE", "Sicily", "0", "-1"]), bulks(&["Palermo"]));
}

#[test]
fn count_any_stops_at_the_first_found() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["GEOADD", "g", "1", "50", "a", "1.5", "50", "b", "2", "50", "c"]);
    // Without ANY the nearest come back; with ANY the first found in the scan, unsorted.
    assert_eq!(
        c.cmd_str(&["GEOSEARCH", "g", "FROMLONLAT", "2", "50", "BYRADIUS", "500", "km", "COUNT", "1"]),
        bulks(&["c"])
    );
    assert_eq!(
        c.cmd_str(&["GEOSEARCH", "g", "FROMLONLAT", "2", "50", "BYRADIUS", "500", "km", "COUNT", "1", "ANY"]),
        bulks(&["a"])
    );
    assert_eq!(
        c.cmd_str(&["GEOSEARCH", "g", "FROMLONLAT", "2", "50", "BYRADIUS", "500", "km", "COUNT", "2", "ANY", "DESC"]),
        bulks(&["a", "b"])
    );
}

#[test]
fn resp3_coordinates_are_doubles() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd(&["HELLO", "3"]);
    sicily(&mut c);
    assert_eq!(
        c.cmd_str(&["GEOPOS", "Sicily", "Palermo", "nosuch"]),
        "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
    );
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "Catania"]), bulk("166274.1516"));
    assert_eq!(c.cmd_str(&["GEODIST", "Sicily", "Palermo", "nosuch"]), "_\r\n");
    assert_eq!(c.cmd_str(&["GEOHASH", "Sicily", "nosuch"]), "*1\r\n_\r\n");
}

#[test]
fn writes_announce_as_redis_does() {
    let s = TestServer::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = s.raw();
    sub.cmd(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    let mut c = s.raw();
    sicily(&mut c);
    c.cmd(&["GEOADD", "Sicily", "XX", "13.361389", "38.115556", "Palermo"]);
    c.cmd(&["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km"]);
    c.cmd(&["GEORADIUS", "Sicily", "15", "37", "300", "km", "STORE", "d2"]);
    c.cmd(&["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"]);
    c.cmd(&["GEORADIUS", "nokey", "0", "0", "1", "km", "STORE", "d2"]);
    let mut events = Vec::new();
    for _ in 0..5 {
        let msg = String::from_utf8_lossy(&sub.read_reply()).into_owned();
        let parts: Vec<&str> = msg.split("\r\n").collect();
        events.push(format!("{} {}", parts[6].rsplit(':').next().unwrap_or(""), parts[8]));
    }
    assert_eq!(events, ["zadd Sicily", "geosearchstore d", "georadiusstore d2", "del d", "del d2"]);
}

#[test]
fn a_stored_search_breaks_a_watch_on_its_destination() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut other = s.raw();
    sicily(&mut c);
    c.cmd(&["WATCH", "d"]);
    other.cmd(&["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["PING"]);
    assert_eq!(c.cmd_str(&["EXEC"]), "*-1\r\n");
    // The destination is the last STORE or STOREDIST, the one written.
    let keys =
        c.cmd_str(&["COMMAND", "GETKEYS", "GEORADIUS", "src", "0", "0", "1", "km", "STORE", "a", "STOREDIST", "b"]);
    assert_eq!(keys, bulks(&["src", "b"]));
}

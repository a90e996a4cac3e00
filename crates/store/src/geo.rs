//! Geospatial indexing in Redis's own terms: a point is a sorted set member whose score is a
//! 52-bit geohash, 26 bits of longitude and 26 of latitude interleaved.
//!
//! Owns: the hash (encode, decode, neighbouring cells), great-circle distances, the cells a
//! radius or box search visits, and the standard base32 geohash text.
//! Never: the keyspace or replies; the geo commands bring the sorted set and the formatting.
//!
//! Every replied digit (scores, coordinates, distances, which members a search finds and in
//! what order) follows from the exact floating-point steps below, so they are done in the same
//! order and with the same constants as Redis does them; reordering an expression, even one
//! that is equal on paper, changes the last digit of some reply.

/// Longitudes and latitudes a point may have. The latitude limit is where the Web Mercator
/// projection makes the map square.
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;

/// Bits per coordinate in a stored score.
pub const STEP_MAX: u8 = 26;

/// The Earth's mean radius in meters, the one the haversine distance uses.
pub const EARTH_RADIUS: f64 = 6372797.560856;

/// Half the Earth's circumference on the Mercator map, in meters: where step estimation stops.
const MERCATOR_MAX: f64 = 20037726.37;

/// Degrees to radians, computed the way Redis computes it (the quotient rounded once).
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A geohash: `step` bits per coordinate, longitude bits at odd positions, latitude at even.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// The "no cell" marker of a search: a neighbour ruled out.
    pub const ZERO: HashBits = HashBits { bits: 0, step: 0 };

    pub fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash moved to the top of a 52-bit score: the lowest score of the cell.
    pub fn align52(self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }

    /// The sorted set scores of the members inside the cell: `min <= score < max`.
    pub fn score_range(self) -> (f64, f64) {
        let next = HashBits { bits: self.bits.wrapping_add(1), step: self.step };
        (self.align52() as f64, next.align52() as f64)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// A cell of the grid.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

const WGS84_LONG: Range = Range { min: LONG_MIN, max: LONG_MAX };
const WGS84_LAT: Range = Range { min: LAT_MIN, max: LAT_MAX };
/// The latitude range of standard geohash text, which the stored hash is not based on.
const STANDARD_LAT: Range = Range { min: -90.0, max: 90.0 };

/// Whether a longitude, latitude pair can be indexed.
pub fn valid(longitude: f64, latitude: f64) -> bool {
    (LONG_MIN..=LONG_MAX).contains(&longitude) && (LAT_MIN..=LAT_MAX).contains(&latitude)
}

/// Spreads the bits of `lat` to the even positions and those of `lon` to the odd ones.
fn interleave(lat: u32, lon: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(lat) | (spread(lon) << 1)
}

/// The inverse of [`interleave`]: latitude bits in the low half, longitude in the high half.
fn deinterleave(bits: u64) -> u64 {
    fn squash(v: u64) -> u64 {
        let mut v = v & 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    squash(bits) | (squash(bits >> 1) << 32)
}

/// The cell of `step` bits holding the point, over the given ranges. None outside the
/// indexable area or the ranges.
fn encode_in(lon_range: Range, lat_range: Range, longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    if step == 0 || step > 32 || !valid(longitude, latitude) {
        return None;
    }
    if latitude < lat_range.min || latitude > lat_range.max || longitude < lon_range.min || longitude > lon_range.max {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - lon_range.min) / (lon_range.max - lon_range.min);
    let cells = (1u64 << step) as f64;
    lat_offset *= cells;
    long_offset *= cells;
    Some(HashBits { bits: interleave(lat_offset as u32, long_offset as u32), step })
}

/// The cell of `step` bits holding a valid point.
pub fn encode(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode_in(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

/// The score a point is stored under: its full-precision hash.
pub fn score(longitude: f64, latitude: f64) -> Option<u64> {
    encode(longitude, latitude, STEP_MAX).map(HashBits::align52)
}

fn decode_in(lon_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = lon_range.max - lon_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    // The cell index plus one is 32-bit arithmetic: it wraps for the top index, which only a
    // score that is not a geohash can hold.
    Some(Area {
        latitude: Range {
            min: lat_range.min + (f64::from(ilato) / cells) * lat_scale,
            max: lat_range.min + (f64::from(ilato.wrapping_add(1)) / cells) * lat_scale,
        },
        longitude: Range {
            min: lon_range.min + (f64::from(ilono) / cells) * long_scale,
            max: lon_range.min + (f64::from(ilono.wrapping_add(1)) / cells) * long_scale,
        },
    })
}

/// The area of a cell of the indexing grid.
pub fn decode(hash: HashBits) -> Option<Area> {
    decode_in(WGS84_LONG, WGS84_LAT, hash)
}

/// The center of a cell, pulled inside the indexable area.
fn center(area: &Area) -> (f64, f64) {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// A score as a hash: the conversion x86-64 C code makes of a double to an unsigned 64-bit
/// integer, including what it gives for scores no point has (negative, 2^64 and above,
/// infinite), so any sorted set member decodes to the position Redis reports for it.
pub fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    // The signed truncation gives 0x8000000000000000 for anything it cannot represent.
    let signed = |v: f64| -> u64 {
        if v > -TWO63 - 1.0 && v < TWO63 {
            v as i64 as u64
        } else {
            1 << 63
        }
    };
    if score < TWO63 || score.is_nan() {
        signed(score)
    } else {
        signed(score - TWO63) ^ (1 << 63)
    }
}

/// The position (longitude, latitude) a stored score stands for: the center of its cell.
pub fn position(score: f64) -> (f64, f64) {
    let hash = HashBits { bits: score_bits(score), step: STEP_MAX };
    decode(hash).map_or((0.0, 0.0), |area| center(&area))
}

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The standard 11-character geohash text of a stored score. The stored hash uses the Mercator
/// latitude range, so the position is decoded and encoded again over -90..90; the text has
/// 55 bits of room and the last character stands for bits the index does not keep (always '0').
pub fn geohash_text(score: f64) -> [u8; 11] {
    let (lon, lat) = position(score);
    let bits = encode_in(WGS84_LONG, STANDARD_LAT, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut text = [b'0'; 11];
    for (i, c) in text.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = BASE32[idx as usize];
    }
    text
}

/// The haversine great-circle distance in meters between two points given in degrees.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lat1r = deg_rad(lat1);
    let lon1r = deg_rad(lon1);
    let lat2r = deg_rad(lat2);
    let lon2r = deg_rad(lon2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// The cells around one, clockwise names; moving past an edge of the grid wraps around.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Neighbors {
    pub north: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub south: HashBits,
    pub north_east: HashBits,
    pub south_east: HashBits,
    pub north_west: HashBits,
    pub south_west: HashBits,
}

const ODD: u64 = 0xaaaa_aaaa_aaaa_aaaa;
const EVEN: u64 = 0x5555_5555_5555_5555;

/// Moves one cell east (`d > 0`) or west along the longitude bits. The bits outside the
/// cell's step are carried over untouched, as the latitude bits of a hash are.
fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & ODD;
    let y = hash.bits & EVEN;
    let zz = EVEN >> shift;
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= ODD >> shift;
    hash.bits = x | y;
}

/// Moves one cell north (`d > 0`) or south along the latitude bits.
fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & ODD;
    let mut y = hash.bits & EVEN;
    let zz = ODD >> shift;
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= EVEN >> shift;
    hash.bits = x | y;
}

pub fn neighbors(hash: HashBits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        north_east: at(1, 1),
        south_east: at(1, -1),
        south_west: at(-1, -1),
    }
}

/// The coarsest step whose cells are about as large as the search radius, so the center cell
/// and its eight neighbours cover it. Cells narrow toward the poles, hence one or two steps
/// coarser there.
pub fn estimate_steps(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return STEP_MAX;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(STEP_MAX)) as u8
}

/// What a search covers around its center.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    /// Within `radius` of the center.
    Radius(f64),
    /// An axis-aligned box of `width` by `height` centered on the center.
    Box { width: f64, height: f64 },
}

/// A search area: center (longitude, latitude), shape in `unit`s, and meters per unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub center: (f64, f64),
    pub kind: ShapeKind,
    pub unit: f64,
}

impl Shape {
    /// The shape's bounding box as (min lon, min lat, max lon, max lat). The east-west extent
    /// is taken at the edge nearer the pole in each hemisphere, where it is widest in degrees.
    pub fn bounding_box(&self) -> [f64; 4] {
        let (longitude, latitude) = self.center;
        let (height, width) = match self.kind {
            ShapeKind::Radius(r) => (self.unit * r, self.unit * r),
            ShapeKind::Box { width, height } => (self.unit * (height / 2.0), self.unit * (width / 2.0)),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS / deg_rad(latitude - lat_delta).cos());
        let long_delta = if latitude < 0.0 { long_delta_bottom } else { long_delta_top };
        [longitude - long_delta, latitude - lat_delta, longitude + long_delta, latitude + lat_delta]
    }

    /// The cells to scan, in the order they are scanned: the center cell, then north, south,
    /// east, west, north-east, north-west, south-east, south-west. Cells the shape cannot
    /// reach are [`HashBits::ZERO`].
    pub fn cells(&self) -> [HashBits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let (longitude, latitude) = self.center;
        // A box's reach is its half diagonal.
        let radius_meters = match self.kind {
            ShapeKind::Radius(r) => r,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.unit;
        let mut steps = estimate_steps(radius_meters, latitude);
        let around = |steps: u8| {
            let hash = encode(longitude, latitude, steps).unwrap_or(HashBits { bits: 0, step: steps });
            (hash, neighbors(hash), decode(hash).unwrap_or_default())
        };
        let (mut hash, mut n, mut area) = around(steps);
        // When the shape pokes out of the ring of neighbours, the cells are too small.
        let edge = |h: HashBits| decode(h).unwrap_or_default();
        let too_small = edge(n.north).latitude.max < max_lat
            || edge(n.south).latitude.min > min_lat
            || edge(n.east).longitude.max < max_lon
            || edge(n.west).longitude.min > min_lon;
        if steps > 1 && too_small {
            steps -= 1;
            (hash, n, area) = around(steps);
        }
        if steps >= 2 {
            if area.latitude.min < min_lat {
                n.south = HashBits::ZERO;
                n.south_west = HashBits::ZERO;
                n.south_east = HashBits::ZERO;
            }
            if area.latitude.max > max_lat {
                n.north = HashBits::ZERO;
                n.north_east = HashBits::ZERO;
                n.north_west = HashBits::ZERO;
            }
            if area.longitude.min < min_lon {
                n.west = HashBits::ZERO;
                n.south_west = HashBits::ZERO;
                n.north_west = HashBits::ZERO;
            }
            if area.longitude.max > max_lon {
                n.east = HashBits::ZERO;
                n.south_east = HashBits::ZERO;
                n.north_east = HashBits::ZERO;
            }
        }
        [hash, n.north, n.south, n.east, n.west, n.north_east, n.north_west, n.south_east, n.south_west]
    }

    /// The distance in meters from the center to the point, when the point lies inside.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        let (x1, y1) = self.center;
        match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(x1, y1, lon, lat);
                (d <= r * self.unit).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let (width_m, height_m) = (width * self.unit, height * self.unit);
                let lon_distance = distance(lon, lat, x1, lat);
                let lat_distance = distance(lon, lat, lon, y1);
                if lon_distance > width_m / 2.0 || lat_distance > height_m / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, lon, lat))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (lat, lon) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ff_ffff, 0x155_5555), (u32::MAX, 7)] {
            let d = deinterleave(interleave(lat, lon));
            assert_eq!((d as u32, (d >> 32) as u32), (lat, lon));
        }
    }

    #[test]
    fn known_scores_and_positions() {
        // Palermo and Catania, as Redis stores and reports them.
        assert_eq!(score(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score(15.087269, 37.502669), Some(3479447370796909));
        let (lon, lat) = position(3479099956230698.0);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(&geohash_text(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&geohash_text(3479447370796909.0), b"sqdtr74hyu0");
    }

    #[test]
    fn encode_decode_round_trips_within_a_cell() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lon = (x % 3_600_000) as f64 / 10_000.0 - 180.0;
            let lat = ((x >> 24) % 1_701_000) as f64 / 10_000.0 - 85.05;
            let s = score(lon, lat).expect("valid point");
            assert!(s < 1 << 52);
            let (dlon, dlat) = position(s as f64);
            // A cell at step 26 is under 6e-6 degrees wide.
            assert!((dlon - lon).abs() < 6e-6 && (dlat - lat).abs() < 3e-6, "{lon},{lat} -> {dlon},{dlat}");
            assert_eq!(score(dlon, dlat), Some(s), "the center encodes to its own cell");
        }
    }

    #[test]
    fn scores_that_are_not_hashes_convert_as_x86_does() {
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(1e30), 0);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(score_bits(-9.3e18), 1 << 63);
        assert_eq!(position(-1.0), (180.0, LAT_MAX));
    }

    #[test]
    fn out_of_range_points_do_not_encode() {
        assert_eq!(score(180.1, 0.0), None);
        assert_eq!(score(0.0, 85.06), None);
        assert!(score(180.0, LAT_MAX).is_some());
        assert!(!valid(f64::NAN, 0.0));
    }

    #[test]
    fn neighbours_wrap_around_the_grid() {
        let h = encode(179.9, 0.0, 3).unwrap();
        let n = neighbors(h);
        assert!(decode(n.east).unwrap().longitude.min == LONG_MIN);
        assert_eq!(neighbors(n.east).west, h);
        assert_eq!(neighbors(n.north).south, h);
    }

    #[test]
    fn distances_match_redis() {
        let (a, b) = (position(3479099956230698.0), position(3479447370796909.0));
        assert_eq!(format!("{:.4}", distance(a.0, a.1, b.0, b.1)), "166274.1516");
        assert_eq!(distance(1.0, 2.0, 1.0, 2.0), 0.0);
    }

    #[test]
    fn steps_shrink_with_the_radius() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(1.0, 0.0), 24);
        assert_eq!(estimate_steps(1e9, 0.0), 1);
        assert_eq!(estimate_steps(1000.0, 70.0), estimate_steps(1000.0, 0.0) - 1);
        assert_eq!(estimate_steps(f64::INFINITY, 0.0), 1);
    }
}

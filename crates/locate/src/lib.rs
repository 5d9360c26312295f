//! Locate: join each record to its village and check its point against the village and county
//! polygons.
//!
//! Points arrive in the CRS the pipeline declares for the file (CGCS2000 geographic EPSG:4490,
//! WGS 84, or a CGCS2000 Gauss-Krüger zone such as EPSG:4544) and are reprojected to EPSG:4490
//! with [`proj4rs`] (pure Rust; a test compares it with PROJ). Village polygons are indexed once
//! in an R-tree ([`rstar`]); the point-in-polygon test counts the boundary as inside (geo's
//! `Intersects`), so a point on a shared border belongs to the declared village when that is one
//! of its neighbours.
//!
//! ```
//! use riskcensus_locate::{Crs, VillageIndex, Village};
//! use geo_types::{polygon, MultiPolygon};
//! let square = |x0: f64, code: &str| Village {
//!     code: code.into(), name: code.into(), county: code[..6].into(), township: code[..9].into(),
//!     geometry: MultiPolygon(vec![polygon![(x: x0, y: 36.0), (x: x0 + 1.0, y: 36.0),
//!         (x: x0 + 1.0, y: 37.0), (x: x0, y: 37.0), (x: x0, y: 36.0)]]),
//! };
//! let index = VillageIndex::new(vec![square(104.0, "620421100201"), square(105.0, "620421100202")]);
//! assert_eq!(index.containing(105.5, 36.5).map(|v| v.code.as_str()), Some("620421100202"));
//! assert!(Crs::parse("EPSG:4544").is_ok());
//! ```
#![deny(missing_docs)]

pub mod cache;
pub mod counties;
pub mod layers;
pub mod outlines;
pub mod repair;

use std::collections::{HashMap, HashSet};

use geo::{BoundingRect, Intersects};
use geo_types::{MultiPolygon, Point};
use rayon::prelude::*;
use riskcensus_core::{DivisionCode, Finding, Rule};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// Errors of the locate stage (geometry inputs, CRS definitions).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    /// The CRS string is not one riskcensus knows.
    #[error("unknown CRS `{0}`: use EPSG:4490, EPSG:4326 or a CGCS2000 Gauss-Krüger zone (EPSG:4491–4554)")]
    UnknownCrs(String),
    /// A coordinate could not be transformed.
    #[error("cannot reproject from {crs}: {message}")]
    Reproject {
        /// Source CRS.
        crs: String,
        /// proj4rs' message.
        message: String,
    },
    /// A polygon file could not be read or is malformed.
    #[error("{path}: {message}")]
    Geometry {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A coordinate reference system of an input.
#[derive(Debug, Clone)]
pub struct Crs {
    epsg: u16,
    proj: proj4rs::Proj,
}

impl Crs {
    /// Parse `EPSG:NNNN`.
    pub fn parse(text: &str) -> Result<Self, LocateError> {
        let code: u16 = text
            .trim()
            .to_ascii_uppercase()
            .strip_prefix("EPSG:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| LocateError::UnknownCrs(text.to_string()))?;
        let supported = matches!(code, 4490 | 4326 | 4491..=4554);
        if !supported {
            return Err(LocateError::UnknownCrs(text.to_string()));
        }
        let proj = proj4rs::Proj::from_epsg_code(code)
            .map_err(|_| LocateError::UnknownCrs(text.to_string()))?;
        Ok(Crs { epsg: code, proj })
    }

    /// EPSG:4490.
    pub fn cgcs2000() -> Self {
        Crs::parse("EPSG:4490").unwrap_or_else(|_| unreachable!("EPSG:4490 is built in"))
    }

    /// The EPSG code.
    pub fn epsg(&self) -> u16 {
        self.epsg
    }

    /// Whether coordinates are longitude/latitude degrees.
    pub fn is_geographic(&self) -> bool {
        self.proj.is_latlong()
    }

    /// Reproject one coordinate to EPSG:4490 longitude/latitude degrees. Geographic CGCS2000 and
    /// WGS 84 are taken as equal (they differ by well under a metre).
    pub fn to_cgcs2000(&self, x: f64, y: f64) -> Result<(f64, f64), LocateError> {
        if self.is_geographic() {
            return Ok((x, y));
        }
        let target = Crs::cgcs2000();
        let mut p = (x, y, 0.0);
        proj4rs::transform::transform(&self.proj, &target.proj, &mut p).map_err(|e| {
            LocateError::Reproject {
                crs: format!("EPSG:{}", self.epsg),
                message: e.to_string(),
            }
        })?;
        Ok((p.0.to_degrees(), p.1.to_degrees()))
    }

    /// Reproject polygons to EPSG:4490.
    pub fn polygons_to_cgcs2000(
        &self,
        mp: MultiPolygon<f64>,
    ) -> Result<MultiPolygon<f64>, LocateError> {
        if self.is_geographic() {
            return Ok(mp);
        }
        use geo::MapCoords;
        mp.try_map_coords(|c| {
            self.to_cgcs2000(c.x, c.y)
                .map(|(x, y)| geo_types::coord! { x: x, y: y })
        })
    }

    /// Project EPSG:4490 degrees into this CRS (for tests and sample generation).
    pub fn from_cgcs2000(&self, lon: f64, lat: f64) -> Result<(f64, f64), LocateError> {
        if self.is_geographic() {
            return Ok((lon, lat));
        }
        let source = Crs::cgcs2000();
        let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&source.proj, &self.proj, &mut p).map_err(|e| {
            LocateError::Reproject {
                crs: format!("EPSG:{}", self.epsg),
                message: e.to_string(),
            }
        })?;
        Ok((p.0, p.1))
    }
}

/// One village (or community) polygon.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Village {
    /// 12-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// 9-digit township code.
    pub township: String,
    /// 6-digit county code.
    pub county: String,
    /// Polygon(s), EPSG:4490.
    pub geometry: MultiPolygon<f64>,
}

/// Villages with an R-tree over their bounding boxes.
#[derive(Debug)]
pub struct VillageIndex {
    villages: Vec<Village>,
    /// By [`riskcensus_core::DivisionCode::number`] (foldhash: looked up per row).
    by_code: foldhash::HashMap<u64, usize>,
    /// Codes more than one village has (a defect [`check_villages`] reports).
    shared_codes: foldhash::HashSet<u64>,
    townships: foldhash::HashSet<String>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl VillageIndex {
    /// Index villages (built once, reused for every file).
    pub fn new(villages: Vec<Village>) -> Self {
        // The tree and the code tables are built at the same time.
        let (tree, (by_code, shared_codes, townships)) = rayon::join(
            || {
                let entries = villages
                    .par_iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        let r = v.geometry.bounding_rect()?;
                        Some(GeomWithData::new(
                            Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                            i,
                        ))
                    })
                    .collect();
                RTree::bulk_load(entries)
            },
            || {
                // Both readers take 12-digit codes only; a village made otherwise with another
                // code is indexed by its polygon, not by its code.
                let mut by_code = foldhash::HashMap::default();
                let mut shared_codes = foldhash::HashSet::default();
                for (i, v) in villages.iter().enumerate() {
                    if let Some(key) = DivisionCode::number(&v.code) {
                        if by_code.insert(key, i).is_some() {
                            shared_codes.insert(key);
                        }
                    }
                }
                let townships = villages.iter().map(|v| v.township.clone()).collect();
                (by_code, shared_codes, townships)
            },
        );
        VillageIndex {
            shared_codes,
            townships,
            villages,
            by_code,
            tree,
        }
    }

    /// Villages from a polygon layer in any format ([`layers`]), each feature's code a 12-digit
    /// division code, without building the index: the villages in input order and the codes of
    /// those whose rings were not closed (closed on reading), as [`check_villages`] takes them.
    pub fn read_layer(
        spec: &layers::LayerSpec<'_>,
    ) -> Result<(Vec<Village>, Vec<String>), LocateError> {
        let features = layers::read_polygons(spec)?;
        let mut villages = Vec::with_capacity(features.len());
        let mut unclosed = Vec::new();
        for (i, f) in features.into_iter().enumerate() {
            if f.code.len() != 12 || !f.code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(LocateError::Geometry {
                    path: spec.shown.to_string(),
                    message: format!(
                        "feature {i}: `{}` {} is not a 12-digit division code",
                        spec.code_field, f.code
                    ),
                });
            }
            if f.unclosed {
                unclosed.push(f.code.clone());
            }
            villages.push(Village {
                name: f.name,
                township: f.code[..9].to_string(),
                county: f.code[..6].to_string(),
                code: f.code,
                geometry: f.geometry,
            });
        }
        Ok((villages, unclosed))
    }

    /// All villages, in input order.
    pub fn villages(&self) -> &[Village] {
        &self.villages
    }

    /// Township outlines dissolved from their villages (9-digit township code → polygons).
    pub fn township_outlines(&self) -> std::collections::BTreeMap<String, MultiPolygon<f64>> {
        let mut members: std::collections::BTreeMap<&str, Vec<&geo_types::Polygon<f64>>> =
            Default::default();
        for v in &self.villages {
            members
                .entry(v.township.as_str())
                .or_default()
                .extend(v.geometry.0.iter());
        }
        // Each township dissolved on its own, in parallel (40,000 unions at national scale).
        let members: Vec<(&str, Vec<&geo_types::Polygon<f64>>)> = members.into_iter().collect();
        members
            .into_par_iter()
            .map(|(t, polygons)| (t.to_string(), geo::unary_union(polygons)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    }

    /// Whether any village belongs to this 9-digit township.
    pub fn has_township(&self, township: &str) -> bool {
        self.townships.contains(township)
    }

    /// A village by code.
    pub fn get(&self, code: &str) -> Option<&Village> {
        let key = DivisionCode::number(code)?;
        self.by_code.get(&key).map(|&i| &self.villages[i])
    }

    /// The village with this code, when no other village has it.
    ///
    /// ```
    /// use geo_types::{polygon, MultiPolygon};
    /// use riskcensus_locate::{Village, VillageIndex};
    /// let square = |code: &str, x: f64| Village {
    ///     code: code.into(),
    ///     name: code.into(),
    ///     township: code[..9].into(),
    ///     county: code[..6].into(),
    ///     geometry: MultiPolygon(vec![polygon![(x: x, y: 36.0), (x: x + 1.0, y: 36.0),
    ///         (x: x + 1.0, y: 37.0), (x: x, y: 37.0), (x: x, y: 36.0)]]),
    /// };
    /// let index = VillageIndex::new(vec![square("620402001001", 104.0),
    ///     square("620402001002", 105.0), square("620402001002", 106.0)]);
    /// assert_eq!(index.sole("620402001001").map(|v| v.name.as_str()), Some("620402001001"));
    /// assert!(index.sole("620402001002").is_none()); // two villages have this code
    /// assert!(index.sole("620402001009").is_none());
    /// ```
    pub fn sole(&self, code: &str) -> Option<&Village> {
        let key = DivisionCode::number(code)?;
        if self.shared_codes.contains(&key) {
            return None;
        }
        self.by_code.get(&key).map(|&i| &self.villages[i])
    }

    /// The first village (in input order) whose polygon holds the point, boundary included.
    pub fn containing(&self, lon: f64, lat: f64) -> Option<&Village> {
        self.containing_preferred(lon, lat, |_| false)
    }

    /// The first village (in input order) whose polygon holds the point (boundary included) that
    /// `preferred` accepts, else the first holding it, found without collecting the villages that
    /// hold it. A polygon is tested only when its village could still be the answer.
    ///
    /// ```
    /// use geo_types::{polygon, MultiPolygon};
    /// use riskcensus_locate::{Village, VillageIndex};
    /// let square = |code: &str, x: f64| Village {
    ///     code: code.into(),
    ///     name: code.into(),
    ///     township: code[..9].into(),
    ///     county: code[..6].into(),
    ///     geometry: MultiPolygon(vec![polygon![(x: x, y: 36.0), (x: x + 1.0, y: 36.0),
    ///         (x: x + 1.0, y: 37.0), (x: x, y: 37.0), (x: x, y: 36.0)]]),
    /// };
    /// // Two villages share the border x = 105.
    /// let index = VillageIndex::new(vec![square("620402001001", 104.0), square("620402001002", 105.0)]);
    /// let on_border = |preferred: &str| {
    ///     index.containing_preferred(105.0, 36.5, |v| v.code == preferred).map(|v| v.code.as_str())
    /// };
    /// assert_eq!(on_border("620402001002"), Some("620402001002"));
    /// assert_eq!(on_border("620402001009"), Some("620402001001"));
    /// assert_eq!(index.containing_preferred(110.0, 36.5, |_| true), None);
    /// ```
    pub fn containing_preferred(
        &self,
        lon: f64,
        lat: f64,
        preferred: impl Fn(&Village) -> bool,
    ) -> Option<&Village> {
        let (mut first, mut first_preferred): (Option<usize>, Option<usize>) = (None, None);
        let earlier = |best: Option<usize>, i: usize| best.is_some_and(|b| b < i);
        for i in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .map(|e| e.data)
        {
            let village = &self.villages[i];
            let is_preferred = preferred(village);
            let could_be_the_answer = if is_preferred {
                !earlier(first_preferred, i)
            } else {
                first_preferred.is_none() && !earlier(first, i)
            };
            if !could_be_the_answer || !covers(&village.geometry, lon, lat) {
                continue;
            }
            if is_preferred {
                first_preferred = Some(i);
            }
            if !earlier(first, i) {
                first = Some(i);
            }
        }
        first_preferred.or(first).map(|i| &self.villages[i])
    }
}

/// Whether a village's polygons hold the point, boundary included: `geometry.intersects(point)`
/// without the bounding box geo computes first by walking every vertex (the R-tree has matched
/// the box already, and the test itself walks the vertices once more).
fn covers(geometry: &MultiPolygon<f64>, lon: f64, lat: f64) -> bool {
    let point = geo_types::Coord { x: lon, y: lat };
    geometry.iter().any(|polygon| polygon.intersects(&point))
}

/// The outline of a county (every ring's segments in an R-tree), to tell a village the county
/// holds whole, or not at all, without intersecting the two polygons.
///
/// ```
/// use geo_types::{polygon, MultiPolygon};
/// use riskcensus_locate::CountyOutline;
/// let county = MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.)]]);
/// let outline = CountyOutline::new(&county).expect("a valid county");
/// let square = |x: f64, y: f64| MultiPolygon(vec![polygon![(x: x, y: y), (x: x + 1., y: y), (x: x + 1., y: y + 1.), (x: x, y: y + 1.)]]);
/// assert_eq!(outline.holds_whole(&square(4., 4.)), Some(true));
/// assert_eq!(outline.holds_whole(&square(20., 4.)), Some(false));
/// assert_eq!(outline.holds_whole(&square(9.5, 4.)), None); // across the outline: intersect
/// ```
pub struct CountyOutline {
    segments: RTree<rstar::primitives::Line<[f64; 2]>>,
}

impl CountyOutline {
    /// `None` for a county polygon that is not valid: crossings need not tell inside from
    /// outside where its parts overlap (see [`repair::rings_are_simple`] for what is checked of
    /// a large outline; the pipeline's outlines are repaired first).
    pub fn new(county: &MultiPolygon<f64>) -> Option<Self> {
        if !repair::rings_are_simple(county) {
            return None;
        }
        let segments = county
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.lines())
            .map(|l| rstar::primitives::Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]))
            .collect();
        Some(CountyOutline {
            segments: RTree::bulk_load(segments),
        })
    }

    /// `Some(true)` when `area` lies inside the county, `Some(false)` when it lies outside, both
    /// exactly, where no segment of the outline comes into the area's bounding box; `None`
    /// otherwise (the polygons must then be intersected).
    pub fn holds_whole(&self, area: &MultiPolygon<f64>) -> Option<bool> {
        use geo::kernels::{Kernel, Orientation, RobustKernel};
        let bbox = area.bounding_rect()?;
        let (min, max) = (bbox.min(), bbox.max());
        let envelope = AABB::from_corners([min.x, min.y], [max.x, max.y]);
        if self
            .segments
            .locate_in_envelope_intersecting(&envelope)
            .next()
            .is_some()
        {
            return None;
        }
        // The box holds no point of the outline, so the box (and the area in it) is all inside
        // or all outside: one point of the area tells which, by the parity of the outline's
        // crossings of the ray from it to the east (robust orientation; the point cannot lie on
        // the outline).
        let p = *area.0.first()?.exterior().0.first()?;
        let east = self.segments.root().envelope().upper()[0].max(p.x);
        let ray = AABB::from_corners([p.x, p.y], [east, p.y]);
        let mut inside = false;
        for s in self.segments.locate_in_envelope_intersecting(&ray) {
            let (a, b): (geo_types::Coord, geo_types::Coord) = (s.from.into(), s.to.into());
            let crosses = if a.y <= p.y && b.y > p.y {
                RobustKernel::orient2d(a, b, p) == Orientation::CounterClockwise
            } else if b.y <= p.y && a.y > p.y {
                RobustKernel::orient2d(a, b, p) == Orientation::Clockwise
            } else {
                false
            };
            inside ^= crosses;
        }
        Some(inside)
    }
}

/// The class name geometry findings carry.
pub const GEOMETRY_CLASS: &str = "geometry";
/// Overlap between two villages that is reported: more than this (deg², ≈ 1,000 m² at Baiyin's
/// latitude) and more than 0.1 % of the smaller village — slivers from digitising are not news.
pub const OVERLAP_TOLERANCE: f64 = 1e-7;

/// The most vertices a village polygon keeps: the validity checks and repairs grow faster than
/// the vertex count, and no village outline needs more at the census's scale. A polygon with
/// more is simplified (Ramer–Douglas–Peucker, the smallest tolerance from 0.1 m up that brings
/// it under the limit) and says so in a `geom.repaired` finding.
pub const MAX_VILLAGE_VERTICES: usize = 20_000;

pub(crate) fn vertex_count(geometry: &MultiPolygon<f64>) -> usize {
    geometry
        .0
        .iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum()
}

/// Simplify `geometry` to at most `limit` vertices; the count before, if it had to.
pub(crate) fn simplify_to_limit(geometry: &mut MultiPolygon<f64>, limit: usize) -> Option<usize> {
    use geo::Simplify;
    let before = vertex_count(geometry);
    if before <= limit {
        return None;
    }
    let mut tolerance = 1e-6; // degrees: about 0.1 m
    loop {
        let simpler = geometry.simplify(tolerance);
        if vertex_count(&simpler) <= limit || tolerance > 1.0 {
            *geometry = simpler;
            return Some(before);
        }
        tolerance *= 4.0;
    }
}

/// Check village polygons against each other and their counties; repair what can be repaired.
/// Returns the villages to use and the findings (row = the feature's 1-based position).
pub fn check_villages(
    (villages, unclosed): (Vec<Village>, Vec<String>),
    counties: &std::collections::BTreeMap<String, (String, MultiPolygon<f64>)>,
    file: &str,
) -> (Vec<Village>, Vec<Finding>) {
    use geo::{Area, BooleanOps};
    let mut findings = Vec::new();
    let mut kept: Vec<(usize, Village)> = Vec::new();
    let finding = |rule: Rule, row: usize, code: &str, zh: String, en: String| {
        Finding::new(file, GEOMETRY_CLASS, rule, zh, en)
            .at_row(row as u64 + 1)
            .in_column("code", Some(code.to_string()))
    };
    // Duplicate codes first (order matters: the later feature is dropped), then each village on
    // its own, in parallel.
    let mut first_of: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    first_of.reserve(villages.len());
    let first: Vec<usize> = villages
        .iter()
        .enumerate()
        .map(|(i, v)| *first_of.entry(v.code.as_str()).or_insert(i))
        .collect();
    drop(first_of);
    let mut unique: Vec<(usize, Village)> = Vec::with_capacity(villages.len());
    for ((i, v), first) in villages.into_iter().enumerate().zip(first) {
        if first != i {
            findings.push(finding(
                Rule::GeomDuplicateCode,
                i,
                &v.code,
                format!(
                    "村代码 {} 与第 {} 个要素重复，本要素已删除",
                    v.code,
                    first + 1
                ),
                format!(
                    "village code {} repeats feature {}; this feature is dropped",
                    v.code,
                    first + 1
                ),
            ));
            continue;
        }
        unique.push((i, v));
    }
    let unclosed: HashSet<&str> = unclosed.iter().map(String::as_str).collect();
    // Most villages lie inside their county away from its outline: those are told by the outline
    // alone (the intersections were 0.8 CPU-s of a national census's polygon check).
    let outlines: HashMap<&str, Option<CountyOutline>> = counties
        .par_iter()
        .map(|(code, (_, county))| (code.as_str(), CountyOutline::new(county)))
        .collect();
    // (the village with its feature number, unless dropped; its findings)
    type Checked = (Option<(usize, Village)>, Vec<Finding>);
    let checked: Vec<Checked> = unique
        .into_par_iter()
        .map(|(i, mut v)| {
            let mut found = Vec::new();
            if let Some(before) = simplify_to_limit(&mut v.geometry, MAX_VILLAGE_VERTICES) {
                found.push(finding(
                    Rule::GeomRepaired,
                    i,
                    &v.code,
                    format!(
                        "{}（{}）的面有 {before} 个顶点，超过上限 {MAX_VILLAGE_VERTICES}，已简化为 {} 个",
                        v.name, v.code, vertex_count(&v.geometry)
                    ),
                    format!(
                        "the polygon of {} ({}) had {before} vertices, over the limit of {MAX_VILLAGE_VERTICES}; simplified to {}",
                        v.name, v.code, vertex_count(&v.geometry)
                    ),
                ));
            }
            if unclosed.contains(v.code.as_str()) {
                found.push(finding(
                    Rule::GeomRepaired,
                    i,
                    &v.code,
                    format!("{}（{}）的面有未闭合的环，已闭合", v.name, v.code),
                    format!(
                        "the polygon of {} ({}) had an unclosed ring; closed",
                        v.name, v.code
                    ),
                ));
            }
            if let Some(reason) = repair::repair(&mut v.geometry) {
                found.push(finding(
                    Rule::GeomRepaired,
                    i,
                    &v.code,
                    format!("{}（{}）的面无效（{reason}），已修复", v.name, v.code),
                    format!(
                        "the polygon of {} ({}) was invalid ({reason}) and has been repaired",
                        v.name, v.code
                    ),
                ));
            }
            let area = v.geometry.unsigned_area();
            if area == 0.0 {
                found.push(finding(
                    Rule::GeomEmpty,
                    i,
                    &v.code,
                    format!("{}（{}）的面没有面积，已删除", v.name, v.code),
                    format!(
                        "the polygon of {} ({}) has no area; dropped",
                        v.name, v.code
                    ),
                ));
                return (None, found);
            }
            if let Some((county_name, county)) = counties.get(&v.county) {
                let whole = outlines
                    .get(v.county.as_str())
                    .and_then(Option::as_ref)
                    .and_then(|outline| outline.holds_whole(&v.geometry));
                let inside = match whole {
                    Some(true) => area,
                    Some(false) => 0.0,
                    None => v.geometry.intersection(county).unsigned_area(),
                };
                if inside < 0.5 * area {
                    found.push(finding(
                        Rule::GeomOutsideCounty,
                        i,
                        &v.code,
                        format!("{}（{}）的面大部分不在{county_name}内", v.name, v.code),
                        format!("most of {} ({}) lies outside {county_name}", v.name, v.code),
                    ));
                }
            }
            (Some((i, v)), found)
        })
        .collect();
    let mut per_feature: Vec<(usize, Finding)> = findings.drain(..).map(|f| (0, f)).collect();
    for (kept_village, found) in checked {
        per_feature.extend(found.into_iter().map(|f| (0, f)));
        if let Some(k) = kept_village {
            kept.push(k);
        }
    }
    // Findings in feature order (duplicates were found first): sort by the feature's row.
    for (key, f) in &mut per_feature {
        *key = f.row.unwrap_or(0) as usize;
    }
    per_feature.sort_by_key(|(k, _)| *k);
    findings.extend(per_feature.into_iter().map(|(_, f)| f));
    let areas: Vec<f64> = kept
        .par_iter()
        .map(|(_, v)| v.geometry.unsigned_area())
        .collect();
    // Each county's villages, unioned. The county less that union is its gap; and the villages'
    // areas less the union's bound every overlap among them: Σ area − area(∪) counts each point
    // once for every village beyond the first that covers it, so it is at least the area any two
    // of them share. Where it is below the smallest overlap reported, no two villages of that
    // county are intersected below (those intersections were two thirds of the village check of
    // a synthetic national census).
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, (_, v)) in kept.iter().enumerate() {
        members.entry(v.county.as_str()).or_default().push(k);
    }
    let counties: Vec<(&String, &(String, MultiPolygon<f64>))> = counties.iter().collect();
    // (per county in code order: the union of its villages and their excess area, if it has any)
    let covers: Vec<Option<(MultiPolygon<f64>, f64)>> = counties
        .par_iter()
        .map(|(code, _)| {
            let members = members.get(code.as_str())?;
            let covered =
                geo::unary_union(members.iter().flat_map(|&k| kept[k].1.geometry.0.iter()));
            let excess = members.iter().map(|&k| areas[k]).sum::<f64>() - covered.unsigned_area();
            Some((covered, excess))
        })
        .collect();
    // Half the tolerance: the union's area is exact only to the grid i_overlay snaps to.
    let without_overlaps: HashSet<&str> = counties
        .iter()
        .map(|(code, _)| code)
        .zip(&covers)
        .filter(|(_, cover)| {
            cover
                .as_ref()
                .is_some_and(|(_, excess)| *excess <= 0.5 * OVERLAP_TOLERANCE)
        })
        .map(|(code, _)| code.as_str())
        .collect();
    // Overlaps between neighbours, found through their bounding boxes.
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = kept
        .iter()
        .enumerate()
        .filter_map(|(k, (_, v))| {
            let r = v.geometry.bounding_rect()?;
            Some(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                k,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(boxes.clone());
    let overlaps: Vec<Vec<Finding>> = boxes
        .par_iter()
        .map(|b| {
            let j = b.data;
            let county = kept[j].1.county.as_str();
            let county_without_overlaps = without_overlaps.contains(county);
            let own = rstar::RTreeObject::envelope(b.geom());
            // Each earlier neighbour, with the area its box shares with this one's.
            let mut others: Vec<(usize, f64)> = tree
                .locate_in_envelope_intersecting(&own)
                .filter(|o| o.data < j)
                .filter(|o| !(county_without_overlaps && kept[o.data].1.county == county))
                .map(|o| {
                    let other = rstar::RTreeObject::envelope(o.geom());
                    let shared = |axis: usize| {
                        (own.upper()[axis].min(other.upper()[axis])
                            - own.lower()[axis].max(other.lower()[axis]))
                        .max(0.0)
                    };
                    (o.data, shared(0) * shared(1))
                })
                .collect();
            others.sort_unstable_by_key(|(k, _)| *k);
            let mut found = Vec::new();
            for (k, shared_box) in others {
                let smaller = areas[j].min(areas[k]);
                let reported = OVERLAP_TOLERANCE.max(1e-3 * smaller);
                // Two polygons overlap by no more than their boxes do: where the boxes share
                // less than half of what would be reported, the polygons are not intersected
                // (41 % of the pairs of a synthetic national census, 1 % of Baiyin's villages).
                if shared_box < 0.5 * reported {
                    continue;
                }
                let overlap = kept[j]
                    .1
                    .geometry
                    .intersection(&kept[k].1.geometry)
                    .unsigned_area();
                if overlap > reported {
                    let (a, bv) = (&kept[k].1, &kept[j].1);
                    found.push(finding(
                        Rule::GeomOverlap,
                        kept[j].0,
                        &bv.code,
                        format!(
                            "{}（{}）与 {}（{}）重叠 {overlap:.2e} 平方度",
                            bv.name, bv.code, a.name, a.code
                        ),
                        format!(
                            "{} ({}) overlaps {} ({}) by {overlap:.2e} deg²",
                            bv.name, bv.code, a.name, a.code
                        ),
                    ));
                }
            }
            found
        })
        .collect();
    findings.extend(overlaps.into_iter().flatten());
    // Gaps: the part of each county its villages leave uncovered.
    let gaps: Vec<Option<Finding>> = counties
        .par_iter()
        .zip(covers.par_iter())
        .map(|((code, (name, county)), cover)| {
            let (covered, _) = cover.as_ref()?;
            let gap = county.difference(covered).unsigned_area();
            let tolerance = (1e-3 * county.unsigned_area()).max(1e-6);
            (gap > tolerance).then(|| {
                Finding::new(
                    file,
                    GEOMETRY_CLASS,
                    Rule::GeomGap,
                    format!("{name}（{code}）有 {gap:.2e} 平方度未被任何村覆盖"),
                    format!("{gap:.2e} deg² of {name} ({code}) is covered by no village"),
                )
            })
        })
        .collect();
    findings.extend(gaps.into_iter().flatten());
    (kept.into_iter().map(|(_, v)| v).collect(), findings)
}

/// China's extent as the census uses it (taxonomy.md §3): 73–136°E, 3–54°N.
pub const CHINA_LON: (f64, f64) = (73.0, 136.0);
/// See [`CHINA_LON`].
pub const CHINA_LAT: (f64, f64) = (3.0, 54.0);

fn in_china(lon: f64, lat: f64) -> bool {
    (CHINA_LON.0..=CHINA_LON.1).contains(&lon) && (CHINA_LAT.0..=CHINA_LAT.1).contains(&lat)
}

/// The input of [`locate`]: one file's points and declared village codes.
#[derive(Debug, Clone, Copy)]
pub struct PointInput<'a> {
    /// The file name for findings.
    pub file: &'a str,
    /// The class code.
    pub class: &'a str,
    /// Line numbers of the rows.
    pub lines: &'a [u64],
    /// X (longitude or easting) per row.
    pub x: &'a [Option<f64>],
    /// Y (latitude or northing) per row.
    pub y: &'a [Option<f64>],
    /// The declared 12-digit village code per row.
    pub codes: &'a [Option<&'a str>],
    /// Header of the longitude column (for findings).
    pub x_header: &'a str,
    /// Header of the latitude column.
    pub y_header: &'a str,
    /// The record names (for near-duplicate detection).
    pub names: &'a [Option<&'a str>],
    /// Header of the name column.
    pub name_header: &'a str,
    /// The codes are township codes (乡镇 returns): check the point against the township.
    pub township_level: bool,
}

/// Where each row's point is, in EPSG:4490.
#[derive(Debug, Clone, Default)]
pub struct Located<'v> {
    /// Longitude per row (None when absent or unusable).
    pub lon: Vec<Option<f64>>,
    /// Latitude per row.
    pub lat: Vec<Option<f64>>,
    /// The code of the village whose polygon contains the point, per row (borrowed from the
    /// index: no copy per row).
    pub village: Vec<Option<&'v str>>,
    /// Spatial findings.
    pub findings: Vec<Finding>,
}

/// Check every point against China's extent and the polygons of its declared village and county.
pub fn locate<'v>(
    input: PointInput<'_>,
    crs: &Crs,
    index: &'v VillageIndex,
    county_names: &HashMap<String, String>,
) -> Result<Located<'v>, LocateError> {
    let n = input.lines.len();
    let mut out = Located {
        lon: vec![None; n],
        lat: vec![None; n],
        village: vec![None; n],
        findings: Vec::new(),
    };
    let both = format!("{}/{}", input.x_header, input.y_header);
    // Rows whose point is outside the declared village: (row, its finding, point, declared code).
    let mut outside: Vec<(usize, usize, (f64, f64), &str)> = Vec::new();
    let mut inside: Vec<(usize, (f64, f64), &str)> = Vec::new();
    for i in 0..n {
        let (Some(x), Some(y)) = (input.x[i], input.y[i]) else {
            continue;
        };
        let line = input.lines[i];
        // The cell text is formatted only for rows with a finding (most rows have none).
        let finding = |rule: Rule, zh: String, en: String| {
            Finding::new(input.file, input.class, rule, zh, en)
                .at_row(line)
                .in_column(both.clone(), Some(format!("{x}, {y}")))
        };
        if x == 0.0 && y == 0.0 {
            out.findings.push(finding(
                Rule::ZeroPoint,
                "坐标为 (0, 0)，未定位".into(),
                "point is (0, 0): not located".into(),
            ));
            continue;
        }
        // A coordinate the CRS cannot take (far outside its zone, non-finite) is this row's
        // finding, not the run's end.
        let Ok((lon, lat)) = crs.to_cgcs2000(x, y) else {
            out.findings.push(finding(
                Rule::OutsideChina,
                format!(
                    "坐标 ({x}, {y}) 无法从 EPSG:{} 换算为经纬度，不在中国范围内",
                    crs.epsg()
                ),
                format!(
                    "point ({x}, {y}) cannot be reprojected from EPSG:{}: it is nowhere in China",
                    crs.epsg()
                ),
            ));
            continue;
        };
        if !in_china(lon, lat) {
            if in_china(lat, lon) {
                out.findings.push(finding(Rule::Swapped,
                    format!("经纬度填反，应为 经度 {lat}、纬度 {lon}"),
                    format!("longitude and latitude are swapped; the point is probably ({lat}, {lon})")).at_point(lat, lon));
            } else {
                out.findings.push(finding(
                    Rule::OutsideChina,
                    format!("坐标 ({lon}, {lat}) 不在中国范围内（经度73–136，纬度3–54）"),
                    format!("point ({lon}, {lat}) is outside China (73–136°E, 3–54°N)"),
                ));
            }
            continue;
        }
        out.lon[i] = Some(lon);
        out.lat[i] = Some(lat);
        let declared = input.codes[i];
        let matches = |v: &Village, d: &str| {
            if input.township_level {
                v.township == d[..9]
            } else {
                v.code == d
            }
        };
        // Most points lie in the village they declare. When that village is the only one with
        // its code, it is the preferred answer if it holds the point, and the R-tree walk (cache
        // misses down a tree of 600,000 boxes: a third of locating) is not needed.
        let sole_declared = declared
            .filter(|_| !input.township_level)
            .and_then(|d| index.sole(d))
            .filter(|v| covers(&v.geometry, lon, lat));
        let hit = sole_declared.or_else(|| {
            index.containing_preferred(lon, lat, |v| declared.is_some_and(|d| matches(v, d)))
        });
        out.village[i] = hit.map(|v| v.code.as_str());
        let known = |d: &&str| {
            if input.township_level {
                index.has_township(&d[..9])
            } else {
                index.get(d).is_some()
            }
        };
        // A declared village found by its code is known without a second look-up.
        let Some(declared) = declared.filter(|d| sole_declared.is_some() || known(d)) else {
            continue;
        };
        let declared_county = &declared[..6];
        if hit.is_some_and(|v| matches(v, declared)) {
            inside.push((i, (lon, lat), declared));
        } else {
            outside.push((i, out.findings.len(), (lon, lat), declared));
        }
        match hit {
            Some(v) if matches(v, declared) => {}
            Some(v) if v.county == declared_county => out.findings.push(
                finding(
                    Rule::OtherVillage,
                    format!("坐标落在 {}（{}），而非所填的村 {declared}", v.name, v.code),
                    format!(
                        "point lies in {} ({}), not in the declared village {declared}",
                        v.name, v.code
                    ),
                )
                .at_point(lon, lat),
            ),
            other => {
                let declared_name = county_names
                    .get(declared_county)
                    .map_or(declared_county, String::as_str);
                let (zh_where, en_where) = match other {
                    Some(v) => {
                        let cn = county_names
                            .get(&v.county)
                            .map_or(v.county.as_str(), String::as_str);
                        (
                            format!("落在{cn}的 {}（{}）", v.name, v.code),
                            format!("lies in {} ({}) of {cn}", v.name, v.code),
                        )
                    }
                    None => (
                        "不在任何已知村界内".to_string(),
                        "lies in no known village".to_string(),
                    ),
                };
                out.findings.push(
                    finding(
                        Rule::OutsideCounty,
                        format!("坐标不在所填区县 {declared_name} 内：{zh_where}"),
                        format!(
                            "point is outside the declared county {declared_name}: it {en_where}"
                        ),
                    )
                    .at_point(lon, lat),
                );
            }
        }
    }
    let shift = if input.township_level {
        None
    } else {
        detect_gcj02(index, &inside, &outside)
    };
    if let Some(shift) = shift {
        for &(i, finding, _, _) in &outside {
            if let Some((lon, lat)) = shift.corrected.get(&i) {
                let f = &mut out.findings[finding];
                f.message_zh.push_str(&format!(
                    "；按GCJ-02纠正后为 ({lon:.6}, {lat:.6})，位于所填村内"
                ));
                f.message_en.push_str(&format!("; corrected from GCJ-02 it is ({lon:.6}, {lat:.6}), inside the declared village"));
            }
        }
        out.findings.push(Finding::new(input.file, input.class, Rule::Gcj02Shift,
            format!("整批坐标疑为GCJ-02（网络地图）坐标：{} 个落在所填村外的点中，{} 个经GCJ-02→CGCS2000纠正后落回所填村内；纠正后的坐标见各行提示",
                outside.len(), shift.fixed),
            format!("the file looks shifted by the GCJ-02 (web map) offset: of {} points outside their declared village, {} fall inside it once corrected from GCJ-02 to CGCS2000; each row's finding gives the corrected point",
                outside.len(), shift.fixed)).in_column(both.clone(), None));
    }
    out.findings.extend(near_duplicates(&input, &out));
    Ok(out)
}

/// Points closer than this, with similar names, are likely the same object.
pub const NEAR_DUPLICATE_METRES: f64 = 50.0;

/// The most earlier points within reach that one point is compared with: a cluster of
/// thousands of rows at one spot (a placeholder coordinate) stays linear, and a
/// `check.capped` finding says how many points had more.
pub const NEAR_DUPLICATE_CANDIDATES: usize = 64;

/// Pairs of rows closer than [`NEAR_DUPLICATE_METRES`] with similar (not identical-in-the-same-
/// village, which `dup.name_in_village` reports) names; the later row gets the finding, naming
/// the earliest such row among the candidates it was compared with.
fn near_duplicates(input: &PointInput<'_>, located: &Located) -> Vec<Finding> {
    use geo::{Distance, Haversine};
    let names: Vec<Option<String>> = input
        .names
        .iter()
        .map(|n| n.map(riskcensus_core::schema::normalize_name))
        .collect();
    let mut findings = Vec::new();
    let pad = 0.001; // degrees: > 50 m in both directions at China's latitudes
                     // The tree holds the earlier rows only: each row is looked for, then added, so that a
                     // query never walks the rows after it (all rows at one spot made this quadratic).
    let mut earlier_rows: RTree<GeomWithData<[f64; 2], usize>> = RTree::new();
    let mut capped = 0usize;
    for j in 0..input.lines.len() {
        // A row without a name or a point is compared with nothing, and nothing with it.
        let (Some(lon), Some(lat), Some(name_j)) =
            (located.lon[j], located.lat[j], names[j].as_deref())
        else {
            continue;
        };
        let envelope = AABB::from_corners([lon - pad, lat - pad], [lon + pad, lat + pad]);
        let mut earlier: Vec<usize> = earlier_rows
            .locate_in_envelope(&envelope)
            .map(|e| e.data)
            .take(NEAR_DUPLICATE_CANDIDATES + 1)
            .collect();
        earlier_rows.insert(GeomWithData::new([lon, lat], j));
        if earlier.len() > NEAR_DUPLICATE_CANDIDATES {
            earlier.truncate(NEAR_DUPLICATE_CANDIDATES);
            capped += 1;
        }
        earlier.sort_unstable();
        for i in earlier {
            let Some(name_i) = names[i].as_deref() else {
                continue;
            };
            let same_village = input.codes[i].is_some() && input.codes[i] == input.codes[j];
            if name_i == name_j && same_village {
                continue;
            }
            let similar = names_similar(name_i, name_j);
            let (Some(lon_i), Some(lat_i)) = (located.lon[i], located.lat[i]) else {
                continue;
            };
            let metres = Haversine.distance(Point::new(lon_i, lat_i), Point::new(lon, lat));
            if similar && metres < NEAR_DUPLICATE_METRES {
                let (shown_i, shown_j) = (
                    input.names[i].unwrap_or_default(),
                    input.names[j].unwrap_or_default(),
                );
                findings.push(
                    Finding::new(input.file, input.class, Rule::NearDuplicate,
                        format!("与第 {} 行相距 {metres:.0} 米且名称相近（“{shown_i}”/“{shown_j}”），疑为同一对象", input.lines[i]),
                        format!("{metres:.0} m from row {} with a similar name (“{shown_i}” / “{shown_j}”): likely the same object", input.lines[i]))
                    .at_row(input.lines[j])
                    .in_column(input.name_header, Some(shown_j.to_string()))
                    .at_point(lon, lat),
                );
                break;
            }
        }
    }
    if capped > 0 {
        findings.push(Finding::new(input.file, input.class, Rule::CheckCapped,
            format!("{capped} 个点在 {NEAR_DUPLICATE_METRES} 米范围内有超过 {NEAR_DUPLICATE_CANDIDATES} 个更早的点，疑似重复检查只比较了其中 {NEAR_DUPLICATE_CANDIDATES} 个"),
            format!("{capped} points had more than {NEAR_DUPLICATE_CANDIDATES} earlier points within reach: the near-duplicate check compared each with {NEAR_DUPLICATE_CANDIDATES} of them")));
    }
    findings
}

/// Whether two normalised names likely name one object: equal, one containing the other, or a
/// normalised Levenshtein similarity of at least 0.8 — but never when they differ only in digits
/// (`第1小学` and `第2小学` are two schools).
pub fn names_similar(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    if a != b && strip(a) == strip(b) {
        return false;
    }
    a == b || a.contains(b) || b.contains(a) || strsim::normalized_levenshtein(a, b) >= 0.8
}

/// What [`detect_gcj02`] found.
struct Gcj02Shift {
    fixed: usize,
    corrected: HashMap<usize, (f64, f64)>,
}

/// A file is taken to be in GCJ-02 when at least 3 of its points lie outside their declared
/// village, at least three quarters of those fall inside it once corrected from GCJ-02, and the
/// correction moves at most 5 % (at least 1) of the points that were inside out of their village.
/// A file in CGCS2000 fails the last test: shifting correct points by ~500 m moves the ones near
/// a border out, and rarely moves a misplaced point into its own village.
fn detect_gcj02(
    index: &VillageIndex,
    inside: &[(usize, (f64, f64), &str)],
    outside: &[(usize, usize, (f64, f64), &str)],
) -> Option<Gcj02Shift> {
    if outside.len() < 3 {
        return None;
    }
    let in_declared = |(lon, lat): (f64, f64), code: &str| {
        index
            .get(code)
            .is_some_and(|v| covers(&v.geometry, lon, lat))
    };
    let correct = |(lon, lat): (f64, f64)| coordtransform::gcj02_to_wgs84(lon, lat);
    let corrected: HashMap<usize, (f64, f64)> = outside
        .iter()
        .filter_map(|&(i, _, p, code)| {
            let c = correct(p);
            in_declared(c, code).then_some((i, c))
        })
        .collect();
    let fixed = corrected.len();
    // The points inside are corrected only when the outside ones vote for a shift: most files
    // have a few misplaced points and no shift, and this pass over every point was ≈ 3 % of a
    // national validation (perf).
    if fixed < 3 || fixed * 4 < outside.len() * 3 {
        return None;
    }
    let broken = inside
        .iter()
        .filter(|&&(_, p, code)| !in_declared(correct(p), code))
        .count();
    let allowed_broken = (inside.len() / 20).max(1);
    (broken <= allowed_broken).then_some(Gcj02Shift { fixed, corrected })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from PROJ 9.5.1 (pyproj 3.7.2, EPSG:4490 → EPSG:4544, always_xy);
    /// the Python reader tests compare whole files against PROJ as well.
    #[test]
    fn gauss_kruger_agrees_with_proj_and_round_trips() {
        let gk = Crs::parse("EPSG:4544").unwrap();
        let (e, n) = gk.from_cgcs2000(104.6, 36.5).unwrap();
        assert!(
            (e - 464_163.473_859_738_2).abs() < 1e-3 && (n - 4_041_098.901_171_946).abs() < 1e-3,
            "{e} {n}"
        );
        let (lon, lat) = gk.to_cgcs2000(e, n).unwrap();
        assert!((lon - 104.6).abs() < 1e-9 && (lat - 36.5).abs() < 1e-9);
    }

    #[test]
    fn geojson_villages_load_in_file_order_and_the_first_bad_feature_is_reported() {
        let square = |x: f64, closed: bool| {
            let mut ring = vec![[x, 36.0], [x + 0.1, 36.0], [x + 0.1, 36.1], [x, 36.1]];
            if closed {
                ring.push([x, 36.0]);
            }
            serde_json::json!({"type": "Polygon", "coordinates": [ring]})
        };
        let feature = |code: &str, geometry: serde_json::Value| {
            serde_json::json!({"type": "Feature", "properties": {"code": code, "name": code},
                "geometry": geometry})
        };
        let collection = |features: Vec<serde_json::Value>| {
            serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.geojson");
        let from_geojson = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let spec = layers::LayerSpec {
                path: &path,
                shown: "v.geojson",
                crs: None,
                layer: None,
                code_field: "code",
                name_field: "name",
            };
            VillageIndex::read_layer(&spec)
                .map(|(villages, unclosed)| (VillageIndex::new(villages), unclosed))
        };
        let good = collection(
            (0..40)
                .map(|i| feature(&format!("620402{i:06}"), square(104.0 + i as f64, i != 7)))
                .collect(),
        );
        let (index, unclosed) = from_geojson(&good).unwrap();
        let codes: Vec<String> = (0..40).map(|i| format!("620402{i:06}")).collect();
        let loaded: Vec<&str> = index.villages().iter().map(|v| v.code.as_str()).collect();
        assert_eq!(loaded, codes.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(unclosed, ["620402000007"]);

        let mut features: Vec<serde_json::Value> = (0..40)
            .map(|i| feature(&format!("620402{i:06}"), square(104.0, true)))
            .collect();
        features[30] = feature("62040200003", square(104.0, true));
        features[12] = serde_json::json!({"type": "Feature", "properties": {},
            "geometry": square(104.0, true)});
        let bad = from_geojson(&collection(features));
        let message = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("feature 12 has no `code`"), "{message}");

        let not_a_collection = feature("620402000001", square(104.0, true)).to_string();
        let message = from_geojson(&not_a_collection)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("FeatureCollection"), "{message}");
    }

    /// The outline's verdict agrees with intersecting the polygons, for a grid of small squares
    /// over a concave county with a hole and a second part with a slanted side.
    #[test]
    fn county_outline_agrees_with_the_intersection() {
        use geo::{Area, BooleanOps};
        use geo_types::polygon;
        let county = MultiPolygon(vec![
            // A U with a square hole in its left arm.
            polygon!(
                exterior: [(x: 0., y: 0.), (x: 9., y: 0.), (x: 9., y: 9.), (x: 6., y: 9.),
                           (x: 6., y: 3.), (x: 3., y: 3.), (x: 3., y: 9.), (x: 0., y: 9.)],
                interiors: [[(x: 1., y: 5.), (x: 2., y: 5.), (x: 2., y: 7.), (x: 1., y: 7.)]],
            ),
            // An island to the east, with a slanted side.
            polygon![(x: 12., y: 1.), (x: 15., y: 2.), (x: 14., y: 6.), (x: 12., y: 5.)],
        ]);
        let outline = CountyOutline::new(&county).unwrap();
        let (mut told, mut whole, mut outside) = (0, 0, 0);
        for i in 0..70 {
            for j in 0..45 {
                let (x, y) = (-1.0 + 0.25 * i as f64, -1.0 + 0.25 * j as f64);
                let square = MultiPolygon(vec![polygon![
                    (x: x + 0.01, y: y + 0.01), (x: x + 0.2, y: y + 0.01),
                    (x: x + 0.2, y: y + 0.2), (x: x + 0.01, y: y + 0.2)
                ]]);
                let inside = square.intersection(&county).unsigned_area();
                let area = square.unsigned_area();
                match outline.holds_whole(&square) {
                    Some(true) => {
                        // (the intersection itself is exact to ≈ 1e-8: i_overlay snaps to a grid)
                        assert!(
                            (inside - area).abs() < 1e-6 * area,
                            "({x}, {y}) said inside"
                        );
                        whole += 1;
                    }
                    Some(false) => {
                        assert!(inside < 1e-6 * area, "({x}, {y}) said outside");
                        outside += 1;
                    }
                    None => {}
                }
                told += 1;
            }
        }
        // Most squares are told by the outline alone, on both sides of it.
        assert!(
            whole > 300 && outside > 1_000,
            "{whole} inside, {outside} outside of {told}"
        );
        // A county whose parts overlap is not used.
        let overlapping = MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 2., y: 0.), (x: 2., y: 2.), (x: 0., y: 2.)],
            polygon![(x: 1., y: 1.), (x: 3., y: 1.), (x: 3., y: 3.), (x: 1., y: 3.)],
        ]);
        assert!(CountyOutline::new(&overlapping).is_none());
    }

    /// Overlaps are found inside a county whose villages overlap, and across counties, while the
    /// pairs inside a county whose villages' areas add up to their union are not intersected.
    #[test]
    fn overlaps_are_found_within_and_across_counties() {
        use geo_types::polygon;
        let square = |x0: f64, y0: f64, x1: f64, y1: f64| {
            MultiPolygon(vec![polygon![
                (x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1)
            ]])
        };
        // Counties 620401 (x 0–3), 620402 (x 3–6) and 620403 (y 3–6), nine unit villages each.
        let county_boxes = [
            ("620401", 0.0, 0.0),
            ("620402", 3.0, 0.0),
            ("620403", 0.0, 3.0),
        ];
        let counties: std::collections::BTreeMap<String, (String, MultiPolygon<f64>)> =
            county_boxes
                .iter()
                .map(|&(code, x, y)| {
                    let outline = square(x, y, x + 3.0, y + 3.0);
                    (code.to_string(), (code.to_string(), outline))
                })
                .collect();
        let mut villages = Vec::new();
        for &(county, x, y) in &county_boxes {
            for i in 0..3 {
                for j in 0..3 {
                    let (x0, y0) = (x + i as f64, y + j as f64);
                    let code = format!("{county}100{}{j}{i}", 2 + j);
                    villages.push(Village {
                        name: code.clone(),
                        township: code[..9].to_string(),
                        county: county.to_string(),
                        code,
                        geometry: square(x0, y0, x0 + 1.0, y0 + 1.0),
                    });
                }
            }
        }
        let reach = |code: &str, geometry: MultiPolygon<f64>, villages: &mut Vec<Village>| {
            if let Some(v) = villages.iter_mut().find(|v| v.code == code) {
                v.geometry = geometry;
            }
        };
        // Across counties: 620402's village at x 3–4 reaches 0.1 into 620401's at x 2–3.
        reach("620402100200", square(2.9, 0.0, 4.0, 1.0), &mut villages);
        // Inside 620403: its village at x 0–1 reaches 0.2 into the one at x 1–2 (reported there).
        reach("620403100200", square(0.0, 3.0, 1.2, 4.0), &mut villages);
        let (kept, findings) = check_villages((villages, vec![]), &counties, "v.geojson");
        assert_eq!(kept.len(), 27);
        // Exactly the two overlaps: no gap, nothing outside its county.
        let found: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.rule.code(), f.value.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            found,
            [
                ("geom.overlap", "620402100200"),
                ("geom.overlap", "620403100201")
            ],
            "{findings:#?}"
        );
    }

    #[test]
    fn similar_names() {
        assert!(names_similar(
            "民安社区广场应急避难场所",
            "民安社区广场避难场所"
        ));
        assert!(names_similar("白银市第一中学", "白银市第一中学"));
        assert!(!names_similar("红柳村育才小学", "红柳村光明小学"));
        assert!(!names_similar("红柳村第1学校", "红柳村第4学校"));
    }

    #[test]
    fn unsupported_crs_is_an_error() {
        assert!(Crs::parse("EPSG:3857").is_err());
        assert!(Crs::parse("4490").is_err());
    }
}

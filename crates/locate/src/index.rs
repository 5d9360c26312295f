//! The village polygons in an R-tree, looked up by code or by point, and county outlines.

use geo::{BoundingRect, Intersects};
use geo_types::MultiPolygon;
use rayon::prelude::*;
use riskcensus_core::DivisionCode;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::{layers, repair, LocateError};

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
pub(crate) fn covers(geometry: &MultiPolygon<f64>, lon: f64, lat: f64) -> bool {
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

//! Checks of the village polygons before they are indexed: codes, validity, overlaps, gaps
//! and vertex counts.

use std::collections::{HashMap, HashSet};

use geo::BoundingRect;
use geo_types::MultiPolygon;
use rayon::prelude::*;
use riskcensus_core::{Finding, Rule};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use crate::{repair, CountyOutline, Village};

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
                // Nor where a tighter bound rules an overlap of `reported` out: neighbours whose
                // borders differ by slivers, as in digitised boundaries (those intersections
                // took most of the check of 600 k such villages; this bound cut it by a seventh).
                let (a, b) = (&kept[j].1.geometry, &kept[k].1.geometry);
                if crate::overlap_bound::shares_less_than(a, b, reported) {
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

//! Near duplicates: points of one file closer than [`NEAR_DUPLICATE_METRES`] with similar names.

use geo_types::Point;
use riskcensus_core::{Finding, Rule};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};

use crate::{Located, PointInput};

/// Points closer than this, with similar names, are likely the same object.
pub const NEAR_DUPLICATE_METRES: f64 = 50.0;

/// The most earlier points within reach that one point is compared with: a cluster of
/// thousands of rows at one spot (a placeholder coordinate) stays linear, and a
/// `check.capped` finding says how many points had more.
pub const NEAR_DUPLICATE_CANDIDATES: usize = 64;

/// Pairs of rows closer than [`NEAR_DUPLICATE_METRES`] with similar (not identical-in-the-same-
/// village, which `dup.name_in_village` reports) names; the later row gets the finding, naming
/// the earliest such row among the candidates it was compared with.
pub(crate) fn near_duplicates(input: &PointInput<'_>, located: &Located) -> Vec<Finding> {
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

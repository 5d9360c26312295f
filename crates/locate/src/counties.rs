//! County outlines checked before the villages are checked against them: an outline with more
//! vertices than [`MAX_COUNTY_VERTICES`] is simplified, an invalid one (a ring crossing itself)
//! repaired, one without area dropped — each said in a finding on the county layer. Unchecked,
//! a self-crossing outline silently put its villages "outside the county", and a million-vertex
//! one held the village check for minutes.
//!
//! ```
//! use geo_types::{polygon, MultiPolygon};
//! use riskcensus_locate::counties::check_counties;
//!
//! // A bow tie: its ring crosses itself.
//! let bow_tie = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0)];
//! let counties = [("620402".to_string(), ("白银区".to_string(), MultiPolygon(vec![bow_tie])))];
//! let (kept, findings) = check_counties(counties.into_iter().collect(), "counties.geojson");
//! assert_eq!(kept.len(), 1);
//! assert_eq!(findings[0].rule.code(), "geom.repaired");
//! ```

use std::collections::BTreeMap;

use geo::Area;
use geo_types::MultiPolygon;
use riskcensus_core::{Finding, Rule};

use crate::{simplify_to_limit, vertex_count, GEOMETRY_CLASS};

/// The most vertices a county outline keeps. Real county boundaries at 1:10,000 have tens of
/// thousands; beyond this the checks of the villages on the boundary slow down with no gain.
pub const MAX_COUNTY_VERTICES: usize = 200_000;

/// Counties by code: (name, outline).
pub type Counties = BTreeMap<String, (String, MultiPolygon<f64>)>;

/// Check each county outline; returns the counties to use and the findings (`file` is the
/// county layer as findings show it).
pub fn check_counties(counties: Counties, file: &str) -> (Counties, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut kept = Counties::new();
    for (code, (name, mut outline)) in counties {
        let mut found = |rule: Rule, zh: String, en: String| {
            findings.push(
                Finding::new(file, GEOMETRY_CLASS, rule, zh, en)
                    .in_column("adcode", Some(code.clone())),
            );
        };
        if let Some(before) = simplify_to_limit(&mut outline, MAX_COUNTY_VERTICES) {
            let after = vertex_count(&outline);
            found(
                Rule::GeomRepaired,
                format!("{name}（{code}）的县界有 {before} 个顶点，超过上限 {MAX_COUNTY_VERTICES}，已简化为 {after} 个"),
                format!("the outline of {name} ({code}) had {before} vertices, over the limit of {MAX_COUNTY_VERTICES}; simplified to {after}"),
            );
        }
        if let Some(reason) = crate::repair::repair(&mut outline) {
            found(
                Rule::GeomRepaired,
                format!("{name}（{code}）的县界无效（{reason}），已修复"),
                format!(
                    "the outline of {name} ({code}) was invalid ({reason}) and has been repaired"
                ),
            );
        }
        if outline.unsigned_area() == 0.0 {
            found(
                Rule::GeomEmpty,
                format!("{name}（{code}）的县界没有面积，已删除"),
                format!("the outline of {name} ({code}) has no area; dropped"),
            );
            continue;
        }
        kept.insert(code, (name, outline));
    }
    (kept, findings)
}

//! Polygon locations (the census 面位置, as GeoPackage returns carry them for 社区 and 乡镇) checked
//! against the village their division code names: an outline less than half inside that village
//! is `geo.outline_elsewhere`, naming the share and the village that holds the outline's centre.
//! The outline is compared whole, not reduced to a centroid.
//!
//! ```
//! use geo_types::{polygon, MultiPolygon};
//! use riskcensus_locate::{outlines::check_outlines, Village, VillageIndex};
//! let square = |x0: f64| MultiPolygon(vec![polygon![(x: x0, y: 36.0), (x: x0 + 1.0, y: 36.0),
//!     (x: x0 + 1.0, y: 37.0), (x: x0, y: 37.0), (x: x0, y: 36.0)]]);
//! let village = |code: &str, x0: f64| Village { code: code.into(), name: code.into(),
//!     county: code[..6].into(), township: code[..9].into(), geometry: square(x0) };
//! let index = VillageIndex::new(vec![village("620421100201", 104.0), village("620421100202", 105.0)]);
//! let rows = [(2, square(104.1)), (3, square(104.9))];
//! let code = |_line: u64| Some("620421100201");
//! let findings = check_outlines("c.gpkg", "DR-GRS-02", &rows, code, &index);
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].row, Some(3));
//! ```

use geo::{Area, BooleanOps, Centroid};
use geo_types::MultiPolygon;
use riskcensus_core::{Finding, Rule};

use crate::VillageIndex;

/// The share of an outline that must lie in its village.
pub const MIN_SHARE: f64 = 0.5;

/// Findings for the outlines (by line) that lie mostly outside the village of their line's
/// code. Lines without a code, or whose code names no village, are left to the code checks.
pub fn check_outlines<'c>(
    file: &str,
    class: &str,
    outlines: &[(u64, MultiPolygon<f64>)],
    code_of_line: impl Fn(u64) -> Option<&'c str>,
    villages: &VillageIndex,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (line, outline) in outlines {
        let Some(village) = code_of_line(*line).and_then(|c| villages.get(c)) else {
            continue;
        };
        let area = outline.unsigned_area();
        if !area.is_finite() || area <= 0.0 {
            continue;
        }
        let inside = outline.intersection(&village.geometry).unsigned_area();
        let share = inside / area;
        if share >= MIN_SHARE {
            continue;
        }
        let holder = outline
            .centroid()
            .and_then(|c| villages.containing(c.x(), c.y()))
            .filter(|v| v.code != village.code);
        let percent = (share * 100.0).round();
        let (zh_where, en_where) = match holder {
            Some(v) => (
                format!("，大部分在{}（{}）", v.name, v.code),
                format!("; its centre is in {} ({})", v.name, v.code),
            ),
            None => (String::new(), String::new()),
        };
        findings.push(
            Finding::new(
                file,
                class,
                Rule::OutlineElsewhere,
                format!(
                    "面位置仅 {percent}% 在所报村（社区）{}（{}）内{zh_where}",
                    village.name, village.code
                ),
                format!(
                    "only {percent}% of the outline lies in its village {} ({}){en_where}",
                    village.name, village.code
                ),
            )
            .at_row(*line),
        );
    }
    findings
}

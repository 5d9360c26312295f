//! A whole file shifted by the GCJ-02 (web map) offset: found when correcting its points puts
//! them back inside their declared villages.

use std::collections::HashMap;

use crate::{covers, VillageIndex};

/// What [`detect_gcj02`] found.
pub(crate) struct Gcj02Shift {
    pub(crate) fixed: usize,
    pub(crate) corrected: HashMap<usize, (f64, f64)>,
}

/// A file is taken to be in GCJ-02 when at least 3 of its points lie outside their declared
/// village, at least three quarters of those fall inside it once corrected from GCJ-02, and the
/// correction moves at most 5 % (at least 1) of the points that were inside out of their village.
/// A file in CGCS2000 fails the last test: shifting correct points by ~500 m moves the ones near
/// a border out, and rarely moves a misplaced point into its own village.
pub(crate) fn detect_gcj02(
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

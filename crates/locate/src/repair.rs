//! Polygon validity at any size. geo's `Validation` compares every pair of a ring's segments, so
//! a village of 100,000 vertices took 40 s and a county outline of 200,000 did not finish in
//! minutes. Up to [`PAIRWISE_LIMIT`] vertices geo's check stands as it is; above, a sweep line
//! (geo's `Intersections`) finds crossing segments in near-linear time, and a union tells by a
//! change of area that parts overlap or holes lie outside; an invalid geometry is replaced by
//! that union (valid), a valid one kept as it came.
//!
//! ```
//! use geo_types::{polygon, MultiPolygon};
//! use riskcensus_locate::repair::repair;
//!
//! let mut bow_tie = MultiPolygon(vec![polygon![
//!     (x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0)
//! ]]);
//! assert!(repair(&mut bow_tie).is_some_and(|why| why.contains("self-intersection")));
//! let mut square = MultiPolygon(vec![polygon![
//!     (x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)
//! ]]);
//! assert_eq!(repair(&mut square), None);
//! ```

use geo::{Area, Intersections, Validation};
use geo_types::{LineString, MultiPolygon};

use crate::vertex_count;

/// Up to this many vertices geo's own (pairwise) validity check is used.
pub const PAIRWISE_LIMIT: usize = 4_000;

/// Make `geometry` valid; why it was not, if it was not.
pub fn repair(geometry: &mut MultiPolygon<f64>) -> Option<String> {
    if vertex_count(geometry) <= PAIRWISE_LIMIT {
        if geometry.is_valid() {
            return None;
        }
        let reason = geometry
            .validation_errors()
            .first()
            .map(|e| e.to_string())
            .unwrap_or_default();
        *geometry = geo::unary_union(geometry.0.iter());
        return Some(reason);
    }
    let crossing = geometry
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .find_map(ring_problem);
    let union = geo::unary_union(geometry.0.iter());
    let (before, after) = (geometry.unsigned_area(), union.unsigned_area());
    let reason = crossing.or_else(|| {
        ((before - after).abs() > 1e-9 * before.max(after))
            .then(|| "parts overlap or a hole lies outside its polygon".to_string())
    });
    // A valid geometry is kept as it came.
    if reason.is_some() {
        *geometry = union;
    }
    reason
}

/// Whether `geometry` is valid, in near-linear time at any size. Above [`PAIRWISE_LIMIT`] only
/// the rings are checked (parts overlapping one another pass): for outlines that went through
/// [`repair`] already.
pub fn rings_are_simple(geometry: &MultiPolygon<f64>) -> bool {
    if vertex_count(geometry) <= PAIRWISE_LIMIT {
        return geometry.is_valid();
    }
    geometry
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .all(|ring| ring_problem(ring).is_none())
}

/// A ring that is not a simple closed line: too short, a coordinate not finite, or two
/// segments that meet other than end to end (as geo's check counts them).
fn ring_problem(ring: &LineString<f64>) -> Option<String> {
    if ring.0.iter().any(|c| !c.x.is_finite() || !c.y.is_finite()) {
        return Some("a ring has a coordinate that is not a finite number".into());
    }
    if ring.0.len() < 4 {
        return Some("a ring has fewer than 4 points".into());
    }
    Intersections::from_iter(ring.lines())
        .any(|(a, b, _)| a.start != b.end && a.end != b.start)
        .then(|| "a ring has a self-intersection".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{Coord, Polygon};

    /// A star-shaped ring of `n` vertices around (0, 0); `crossed` swaps two far-apart
    /// vertices so that the ring crosses itself.
    fn ring(n: usize, crossed: bool) -> MultiPolygon<f64> {
        let mut coords: Vec<Coord<f64>> = (0..n)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / n as f64;
                let r = if i % 2 == 0 { 1.0 } else { 0.999 };
                Coord {
                    x: r * a.cos(),
                    y: r * a.sin(),
                }
            })
            .collect();
        if crossed {
            coords.swap(10, n / 2);
        }
        MultiPolygon(vec![Polygon::new(LineString::new(coords), vec![])])
    }

    #[test]
    fn the_sweep_agrees_with_geos_pairwise_check() {
        for n in [200, 1_000, 3_000] {
            for crossed in [false, true] {
                let mut fast = ring(n, crossed);
                let slow = fast.is_valid();
                let before = vertex_count(&fast);
                // Force the sweep path by looking at the rings directly.
                let sweep = fast
                    .0
                    .iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                    .find_map(ring_problem);
                assert_eq!(sweep.is_none(), slow, "n = {n}, crossed = {crossed}");
                assert_eq!(repair(&mut fast).is_none(), slow);
                assert!(fast.is_valid() && vertex_count(&fast) <= before + 4);
            }
        }
    }

    #[test]
    fn a_large_crossed_ring_is_found_and_repaired() {
        let mut big = ring(200_000, true);
        let why = repair(&mut big);
        assert!(why.is_some_and(|w| w.contains("self-intersection")));
        let mut fine = ring(200_000, false);
        let as_it_came = fine.clone();
        assert_eq!(repair(&mut fine), None);
        assert_eq!(fine, as_it_came, "a valid geometry is kept as it came");
    }
}

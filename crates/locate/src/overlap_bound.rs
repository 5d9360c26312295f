//! An upper bound of the area two polygons share, cheap enough to rule out neighbour pairs
//! before they are intersected.
//!
//! Within a window (an axis-aligned box), two polygons share no more than the smaller of their
//! areas inside it (counted without holes, which only take area away). Clipping a polygon to a
//! box (Sutherland–Hodgman, one pass per side) keeps its area inside the box exactly, concave or
//! not, and costs one pass over its vertices. The first window is the box both polygons' boxes
//! share; where the bound is not yet below the limit, the window shrinks to where both clipped
//! polygons are and is cut in two along its longer side, each half bounded the same way (the
//! shared area is the sum over the halves), up to [`MAX_DEPTH`] times. Neighbours that overlap in
//! a thin sliver along a straight border are ruled out without a boolean intersection.
//!
//! ```text
//! let limit = 1e-7;
//! if shares_less_than(&a, &b, limit) {
//!     // not intersected: they cannot overlap by more than `limit`
//! }
//! ```

use geo::BoundingRect;
use geo_types::{Coord, MultiPolygon, Rect};

/// How many times a window is halved before the bound gives up: deeper bounds rule out more pairs
/// but cost more than the intersections they save (600 k sliver villages, check and index:
/// median 12.2 s without the bound, 10.5 s at 1, 10.1–11.6 s at 3, 17.8–20.2 s at 8).
const MAX_DEPTH: u32 = 1;

/// Whether `a` and `b` certainly share less than `limit` of area. `false` means "maybe not":
/// intersect them to know.
pub(crate) fn shares_less_than(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>, limit: f64) -> bool {
    let (Some(ra), Some(rb)) = (a.bounding_rect(), b.bounding_rect()) else {
        return true;
    };
    let Some(window) = common(ra, rb) else {
        return true;
    };
    // Exteriors only: a hole only takes area away, and the bound may be high, never low.
    let rings = |p: &MultiPolygon<f64>| -> Vec<Vec<Coord<f64>>> {
        p.0.iter()
            .map(|polygon| polygon.exterior().0.clone())
            .collect()
    };
    bound(&rings(a), &rings(b), window, limit, MAX_DEPTH) < limit
}

/// An upper bound of the area the regions of rings `a` and `b` share inside `window`; refined
/// only until it is below `limit`.
fn bound(
    a: &[Vec<Coord<f64>>],
    b: &[Vec<Coord<f64>>],
    window: Rect<f64>,
    limit: f64,
    depth: u32,
) -> f64 {
    let (ca, cb) = (clip(a, window), clip(b, window));
    let whole = area(&ca).min(area(&cb));
    if whole < limit || depth == 0 {
        return whole;
    }
    let (Some(ba), Some(bb)) = (extent(&ca), extent(&cb)) else {
        return 0.0;
    };
    let Some(shared) = common(ba, bb) else {
        return 0.0;
    };
    let (min, max) = (shared.min(), shared.max());
    let halves = if shared.width() >= shared.height() {
        let mid = (min.x + max.x) / 2.0;
        [
            Rect::new(min, Coord { x: mid, y: max.y }),
            Rect::new(Coord { x: mid, y: min.y }, max),
        ]
    } else {
        let mid = (min.y + max.y) / 2.0;
        [
            Rect::new(min, Coord { x: max.x, y: mid }),
            Rect::new(Coord { x: min.x, y: mid }, max),
        ]
    };
    let first = bound(&ca, &cb, halves[0], limit, depth - 1);
    if first >= limit {
        return whole.min(first);
    }
    let second = bound(&ca, &cb, halves[1], limit - first, depth - 1);
    whole.min(first + second)
}

/// The box two boxes share, if they share one with an area.
fn common(a: Rect<f64>, b: Rect<f64>) -> Option<Rect<f64>> {
    let min = Coord {
        x: a.min().x.max(b.min().x),
        y: a.min().y.max(b.min().y),
    };
    let max = Coord {
        x: a.max().x.min(b.max().x),
        y: a.max().y.min(b.max().y),
    };
    (min.x < max.x && min.y < max.y).then(|| Rect::new(min, max))
}

/// The box of the vertices of some rings.
fn extent(rings: &[Vec<Coord<f64>>]) -> Option<Rect<f64>> {
    let mut points = rings.iter().flatten();
    let first = *points.next()?;
    let (min, max) = points.fold((first, first), |(min, max), p| {
        (
            Coord {
                x: min.x.min(p.x),
                y: min.y.min(p.y),
            },
            Coord {
                x: max.x.max(p.x),
                y: max.y.max(p.y),
            },
        )
    });
    Some(Rect::new(min, max))
}

/// The area the rings (each a part's exterior, cut to a window) enclose, parts added.
fn area(rings: &[Vec<Coord<f64>>]) -> f64 {
    rings.iter().map(|r| signed_area(r).abs()).sum()
}

fn signed_area(ring: &[Coord<f64>]) -> f64 {
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let twice: f64 = (0..n)
        .map(|i| {
            let (p, q) = (ring[i], ring[(i + 1) % n]);
            p.x * q.y - q.x * p.y
        })
        .sum();
    twice / 2.0
}

/// Each ring clipped to `window` (Sutherland–Hodgman): rings that leave it are dropped.
fn clip(rings: &[Vec<Coord<f64>>], window: Rect<f64>) -> Vec<Vec<Coord<f64>>> {
    let (min, max) = (window.min(), window.max());
    rings
        .iter()
        .map(|ring| {
            let ring = half_plane(ring, |p| p.x >= min.x, |p, q| at_x(p, q, min.x));
            let ring = half_plane(&ring, |p| p.x <= max.x, |p, q| at_x(p, q, max.x));
            let ring = half_plane(&ring, |p| p.y >= min.y, |p, q| at_y(p, q, min.y));
            half_plane(&ring, |p| p.y <= max.y, |p, q| at_y(p, q, max.y))
        })
        .filter(|ring| ring.len() >= 3)
        .collect()
}

/// One Sutherland–Hodgman pass: the ring cut to the side of a line where `inside` holds;
/// `cross` gives where an edge crosses the line.
fn half_plane(
    ring: &[Coord<f64>],
    inside: impl Fn(Coord<f64>) -> bool,
    cross: impl Fn(Coord<f64>, Coord<f64>) -> Coord<f64>,
) -> Vec<Coord<f64>> {
    let mut out = Vec::with_capacity(ring.len() + 4);
    let Some(&last) = ring.last() else {
        return out;
    };
    let mut previous = last;
    for &current in ring {
        match (inside(previous), inside(current)) {
            (true, true) => out.push(current),
            (true, false) => out.push(cross(previous, current)),
            (false, true) => {
                out.push(cross(previous, current));
                out.push(current);
            }
            (false, false) => {}
        }
        previous = current;
    }
    out
}

fn at_x(p: Coord<f64>, q: Coord<f64>, x: f64) -> Coord<f64> {
    let t = (x - p.x) / (q.x - p.x);
    Coord {
        x,
        y: p.y + t * (q.y - p.y),
    }
}

fn at_y(p: Coord<f64>, q: Coord<f64>, y: f64) -> Coord<f64> {
    let t = (y - p.y) / (q.y - p.y);
    Coord {
        x: p.x + t * (q.x - p.x),
        y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps};
    use geo_types::{polygon, MultiPolygon};
    use proptest::prelude::*;

    fn square(x: f64, y: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x, y: y), (x: x + side, y: y), (x: x + side, y: y + side), (x: x, y: y + side), (x: x, y: y),
        ]])
    }

    #[test]
    fn neighbours_sharing_a_border_or_a_sliver_are_ruled_out_and_overlaps_are_not() {
        let a = square(0.0, 0.0, 1.0);
        // Touching: nothing shared.
        assert!(shares_less_than(&a, &square(1.0, 0.0, 1.0), 1e-9));
        // A sliver 1e-5 wide along the border: 1e-5 shared, below 1e-4, not below 1e-6.
        let sliver = square(1.0 - 1e-5, 0.0, 1.0);
        assert!(shares_less_than(&a, &sliver, 1e-4));
        assert!(!shares_less_than(&a, &sliver, 1e-6));
        // Half overlapping.
        assert!(!shares_less_than(&a, &square(0.5, 0.0, 1.0), 0.4));
        // Far apart.
        assert!(shares_less_than(&a, &square(5.0, 5.0, 1.0), 1e-12));
    }

    #[test]
    fn an_l_shape_and_the_square_in_its_notch_share_nothing() {
        // Their boxes overlap by a quarter; the polygons only touch.
        let l = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 2.0), (x: 0.0, y: 2.0), (x: 0.0, y: 0.0),
        ]]);
        assert!(shares_less_than(&l, &square(1.0, 1.0, 1.0), 1e-9));
        assert!(!shares_less_than(&l, &square(0.9, 0.9, 1.0), 0.01));
    }

    fn star(cx: f64, cy: f64, radii: &[f64]) -> MultiPolygon<f64> {
        let n = radii.len();
        let mut ring: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let angle = std::f64::consts::TAU * i as f64 / n as f64;
                (cx + radii[i] * angle.cos(), cy + radii[i] * angle.sin())
            })
            .collect();
        ring.push(ring[0]);
        MultiPolygon(vec![geo_types::Polygon::new(ring.into(), vec![])])
    }

    proptest! {
        /// The bound never rules out a pair that overlaps by the limit or more (checked
        /// against geo's boolean intersection) on star-shaped, often concave, polygons.
        #[test]
        fn never_rules_out_a_real_overlap(
            ra in prop::collection::vec(0.2f64..1.0, 3..12),
            rb in prop::collection::vec(0.2f64..1.0, 3..12),
            dx in -1.5f64..1.5,
            dy in -1.5f64..1.5,
            limit in 1e-4f64..0.5,
        ) {
            let (a, b) = (star(0.0, 0.0, &ra), star(dx, dy, &rb));
            let shared = a.intersection(&b).unsigned_area();
            if shares_less_than(&a, &b, limit) {
                prop_assert!(shared < limit * (1.0 + 1e-9), "shared {shared}, limit {limit}");
            }
        }
    }
}

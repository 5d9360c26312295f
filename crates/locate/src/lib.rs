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

mod crs;
mod error;
mod gcj02;
mod index;
mod near_duplicates;
mod overlap_bound;
mod points;
mod polygon_checks;

pub use crs::Crs;
pub use error::LocateError;
pub use index::{CountyOutline, Village, VillageIndex};
pub use near_duplicates::{names_similar, NEAR_DUPLICATE_CANDIDATES, NEAR_DUPLICATE_METRES};
pub use points::{locate, Located, PointInput, CHINA_LAT, CHINA_LON};
pub use polygon_checks::{check_villages, GEOMETRY_CLASS, MAX_VILLAGE_VERTICES, OVERLAP_TOLERANCE};

pub(crate) use gcj02::detect_gcj02;
pub(crate) use index::covers;
pub(crate) use near_duplicates::near_duplicates;
pub(crate) use polygon_checks::{simplify_to_limit, vertex_count};

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::MultiPolygon;

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

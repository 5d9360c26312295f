//! The offline map: the pipeline's county and village polygons as SVG (no tile server), with
//! each finding's point and each coordinate correction as an arrow.
//!
//! Polygons are simplified once at start (≈ 30 m) and drawn in an equirectangular projection
//! scaled by the cosine of the middle latitude. A pipeline of up to 40 counties is drawn whole;
//! a larger one only where the points are. Villages are drawn while there are at most
//! [`MAX_VILLAGES`] of them in view.

use std::collections::BTreeMap;
use std::fmt::Write;

use geo::{BoundingRect, Simplify};
use geo_types::{MultiPolygon, Rect};
use riskcensus_core::{Finding, Severity};
use riskcensus_pipeline::{Pipeline, PipelineError};

use crate::check::Arrow;

/// Most village outlines one map draws.
pub const MAX_VILLAGES: usize = 20_000;
const WIDTH: f64 = 1000.0;
const SIMPLIFY_DEGREES: f64 = 0.0003;

/// One county's shapes.
#[derive(Debug)]
struct County {
    name: String,
    outline: MultiPolygon<f64>,
    bounds: Rect<f64>,
    villages: Vec<MultiPolygon<f64>>,
}

/// The shapes of the pipeline, by county code.
#[derive(Debug, Default)]
pub struct MapData {
    counties: BTreeMap<String, County>,
}

impl MapData {
    /// Load and simplify the pipeline's counties and villages.
    pub fn load(pipeline: &Pipeline) -> Result<Self, PipelineError> {
        let ctx = riskcensus_pipeline::prepare(pipeline, &mut Default::default())?;
        let mut counties: BTreeMap<String, County> = ctx
            .counties
            .iter()
            .filter_map(|(code, (name, outline))| {
                let bounds = outline.bounding_rect()?;
                Some((
                    code.clone(),
                    County {
                        name: name.clone(),
                        outline: outline.simplify(SIMPLIFY_DEGREES),
                        bounds,
                        villages: Vec::new(),
                    },
                ))
            })
            .collect();
        for v in ctx.villages.villages() {
            if let Some(c) = counties.get_mut(&v.county) {
                c.villages.push(v.geometry.simplify(SIMPLIFY_DEGREES));
            }
        }
        Ok(Self { counties })
    }

    /// The map of a session's findings and corrections; empty when nothing can be drawn.
    pub fn svg(&self, findings: &[Finding], arrows: &[Arrow]) -> String {
        let points: Vec<(f64, f64)> = findings
            .iter()
            .filter_map(|f| f.lon.zip(f.lat))
            .chain(arrows.iter().map(|a| a.to))
            .collect();
        let shown: Vec<(&String, &County)> = self
            .counties
            .iter()
            .filter(|(_, c)| {
                self.counties.len() <= 40 || points.iter().any(|&(x, y)| contains(&c.bounds, x, y))
            })
            .collect();
        let Some(bounds) = shown
            .iter()
            .map(|(_, c)| c.bounds)
            .reduce(|a, b| union(&a, &b))
        else {
            return String::new();
        };
        let view = View::new(&bounds);
        let mut svg = format!(
            r#"<svg id="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {:.0} {:.0}" role="img" aria-label="map">"#,
            WIDTH,
            view.height()
        );
        svg.push_str(r##"<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1a7f37"/></marker></defs>"##);
        let villages: usize = shown.iter().map(|(_, c)| c.villages.len()).sum();
        if villages <= MAX_VILLAGES {
            svg.push_str(r#"<g class="villages">"#);
            for (_, c) in &shown {
                for v in &c.villages {
                    let _ = write!(svg, r#"<path d="{}"/>"#, view.path(v));
                }
            }
            svg.push_str("</g>");
        }
        svg.push_str(r#"<g class="counties">"#);
        for (code, c) in &shown {
            let _ = write!(
                svg,
                r#"<path d="{}"><title>{} {}</title></path>"#,
                view.path(&c.outline),
                code,
                html_escape::encode_text(&c.name)
            );
        }
        svg.push_str("</g><g class=\"points\">");
        for f in findings {
            let Some((lon, lat)) = f.lon.zip(f.lat) else {
                continue;
            };
            if !contains(&bounds, lon, lat) {
                continue;
            }
            let (x, y) = view.xy(lon, lat);
            let severity = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            let row = f.row.map(|r| r.to_string()).unwrap_or_default();
            let _ = write!(
                svg,
                r#"<circle class="{severity}" data-rule="{}" cx="{x:.1}" cy="{y:.1}" r="4"><title>{} 行 row {row}: {} {}</title></circle>"#,
                f.rule.code(),
                html_escape::encode_text(&f.file),
                f.rule.code(),
                html_escape::encode_text(&f.message_zh),
            );
        }
        svg.push_str("</g><g class=\"arrows\">");
        for a in arrows {
            let (lon, lat) = a.to;
            if !contains(&bounds, lon, lat) {
                continue;
            }
            let (x2, y2) = view.xy(lon, lat);
            let title = format!(
                "{} 行 row {}: → ({lon:.6}, {lat:.6})",
                html_escape::encode_text(&a.file),
                a.row
            );
            match a.from.filter(|&(x, y)| contains(&bounds, x, y)) {
                Some((from_lon, from_lat)) => {
                    let (x1, y1) = view.xy(from_lon, from_lat);
                    let _ = write!(
                        svg,
                        r#"<line class="correction" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" marker-end="url(#arrowhead)"><title>{title}</title></line>"#
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r#"<circle class="corrected" cx="{x2:.1}" cy="{y2:.1}" r="5"><title>{title}</title></circle>"#
                    );
                }
            }
        }
        svg.push_str("</g></svg>");
        svg
    }
}

fn contains(r: &Rect<f64>, x: f64, y: f64) -> bool {
    x >= r.min().x && x <= r.max().x && y >= r.min().y && y <= r.max().y
}

fn union(a: &Rect<f64>, b: &Rect<f64>) -> Rect<f64> {
    Rect::new(
        (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
        (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
    )
}

/// Degrees to SVG units.
struct View {
    min_x: f64,
    max_y: f64,
    scale_x: f64,
    scale_y: f64,
    height: f64,
}

impl View {
    fn new(r: &Rect<f64>) -> Self {
        let mid = (r.min().y + r.max().y) / 2.0;
        let k = mid.to_radians().cos().max(0.1);
        let width_deg = (r.max().x - r.min().x).max(1e-6) * k;
        let scale = WIDTH / width_deg;
        Self {
            min_x: r.min().x,
            max_y: r.max().y,
            scale_x: scale * k,
            scale_y: scale,
            height: ((r.max().y - r.min().y) * scale).max(1.0),
        }
    }
    fn height(&self) -> f64 {
        self.height
    }
    fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.min_x) * self.scale_x,
            (self.max_y - lat) * self.scale_y,
        )
    }
    fn path(&self, shape: &MultiPolygon<f64>) -> String {
        let mut d = String::new();
        for polygon in shape {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for (i, c) in ring.coords().enumerate() {
                    let (x, y) = self.xy(c.x, c.y);
                    let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
                }
                d.push('Z');
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn points_land_inside_their_county_on_the_map() {
        let square: MultiPolygon<f64> =
            polygon![(x: 104.0, y: 36.0), (x: 105.0, y: 36.0), (x: 105.0, y: 37.0), (x: 104.0, y: 37.0)].into();
        let mut map = MapData::default();
        map.counties.insert(
            "620402".into(),
            County {
                name: "平川区".into(),
                bounds: square.bounding_rect().expect("rect"),
                outline: square.clone(),
                villages: vec![square],
            },
        );
        let f = Finding::new(
            "a.csv",
            "HB-PSF-01",
            riskcensus_core::Rule::OtherVillage,
            "坐标",
            "point",
        )
        .at_row(7)
        .at_point(104.5, 36.5);
        let arrow = Arrow {
            file: "a.csv".into(),
            row: 7,
            from: Some((104.5, 36.5)),
            to: (104.6, 36.4),
        };
        let svg = map.svg(&[f], &[arrow]);
        assert!(svg.contains(r#"<title>620402 平川区</title>"#), "{svg}");
        // 104.5 is the middle: x = 500; 36.5 is the middle of the height.
        let height = View::new(&map.counties["620402"].bounds).height();
        assert!(
            svg.contains(&format!(r#"cx="500.0" cy="{:.1}""#, height / 2.0)),
            "{svg}"
        );
        assert!(svg.contains(r#"marker-end="url(#arrowhead)""#));
        assert!(
            map.svg(&[], &[]).contains("<path"),
            "a small pipeline is drawn whole"
        );
    }
}

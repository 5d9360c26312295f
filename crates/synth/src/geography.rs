//! The synthetic country: a province → city → county → township → village hierarchy with
//! 12-digit codes, names, and village polygons that tile each county without gaps or overlaps.
//!
//! Counties are rectangles on a grid over eastern China (98–122°E, 24–42°N). A county's villages
//! are laid out in horizontal strips; every strip is cut into cells at jittered x positions and
//! the strip borders are jittered polylines shared by the cells above and below, so neighbours
//! share their borders exactly and the county outline stays the rectangle. Townships are runs of
//! consecutive cells in boustrophedon order, hence contiguous.
//!
//! [`VillageShape`] picks other tessellations of the same hierarchy: axis-aligned grid cells
//! (straight borders, four villages meeting at a corner), or slivers (every village's vertices
//! moved by up to ≈ 2 m on their own, so neighbours overlap and leave gaps as digitised
//! boundaries do).

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::names;

/// Villages per county and per township, as in the real census (≈ 600 k villages in ≈ 2,850
/// counties and ≈ 38,000 townships).
const VILLAGES_PER_COUNTY: usize = 210;
const VILLAGES_PER_TOWNSHIP: usize = 16;
const COUNTIES_PER_CITY: usize = 10;
/// The 31 provincial-level divisions of the mainland (code, name): GB/T 2260's list without
/// Taiwan, Hong Kong and Macao.
fn mainland_provinces() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    riskcensus_core::division::PROVINCES
        .iter()
        .filter(|(code, _)| *code < "70")
}
const WEST: f64 = 98.0;
const SOUTH: f64 = 24.0;
const WIDTH: f64 = 24.0;
const HEIGHT: f64 = 18.0;

/// How villages tile a county.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VillageShape {
    /// Strips cut at jittered positions with jittered borders, shared exactly by neighbours.
    #[default]
    Tiling,
    /// Rectangles on a grid: straight borders, cuts aligned from strip to strip.
    Grid,
    /// The tiling with each village's vertices moved by up to [`SLIVER`] degrees on their own:
    /// neighbours no longer share borders, leaving slivers of overlap and gap.
    Slivers,
}

/// How far (degrees, ≈ 2 m) [`VillageShape::Slivers`] moves a vertex in x and in y.
pub const SLIVER: f64 = 2e-5;

impl std::fmt::Display for VillageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VillageShape::Tiling => "tiling",
            VillageShape::Grid => "grid",
            VillageShape::Slivers => "slivers",
        })
    }
}

impl std::str::FromStr for VillageShape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tiling" => Ok(VillageShape::Tiling),
            "grid" => Ok(VillageShape::Grid),
            "slivers" => Ok(VillageShape::Slivers),
            _ => Err(format!(
                "unknown village shape “{s}” (tiling, grid, slivers)"
            )),
        }
    }
}

/// A province.
#[derive(Debug, Clone)]
pub struct Province {
    /// 2-digit code.
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// Its villages: `first_village .. end_village` (villages are numbered province by province).
    pub first_village: usize,
    /// One past its last village.
    pub end_village: usize,
}

/// A prefecture-level city.
#[derive(Debug, Clone)]
pub struct City {
    /// 4-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Index of its province.
    pub province: usize,
}

/// A county and the layout of its villages.
#[derive(Debug, Clone)]
pub struct County {
    /// 6-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Index of its city.
    pub city: usize,
    /// Outline: west, south, east, north.
    pub rect: [f64; 4],
    /// Villages `first_village ..` (`villages` of them), in boustrophedon order.
    pub first_village: usize,
    /// Number of villages.
    pub villages: usize,
    /// Townships `first_township ..`.
    pub first_township: usize,
    /// Number of townships.
    pub townships: usize,
    /// Cell borders: for each strip, the x positions of its cuts (west edge … east edge).
    strips: Vec<Vec<f64>>,
    /// Strip borders, south to north (`strips.len() + 1` polylines), each sorted by x.
    borders: Vec<Vec<(f64, f64)>>,
}

/// A township.
#[derive(Debug, Clone)]
pub struct Township {
    /// 9-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Index of its county.
    pub county: usize,
    /// Villages `first_village .. first_village + villages`.
    pub first_village: usize,
    /// Number of villages.
    pub villages: usize,
}

/// A village or community.
#[derive(Debug, Clone)]
pub struct Village {
    /// 12-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Index of its township.
    pub township: usize,
    /// Index of its county.
    pub county: usize,
    /// Its cell: strip and position in the strip.
    strip: u32,
    cell: u32,
}

/// The whole hierarchy.
#[derive(Debug, Clone)]
pub struct Geography {
    /// Provinces.
    pub provinces: Vec<Province>,
    /// Cities.
    pub cities: Vec<City>,
    /// Counties.
    pub counties: Vec<County>,
    /// Townships.
    pub townships: Vec<Township>,
    /// Villages.
    pub villages: Vec<Village>,
    /// How villages tile their county.
    pub shape: VillageShape,
    seed: u64,
}

impl Geography {
    /// Lay out `villages` villages (at least 1).
    ///
    /// ```
    /// let g = riskcensus_synth::Geography::new(500, 1);
    /// assert_eq!(g.villages.len(), 500);
    /// // Every code nests in its township's and county's code.
    /// assert!(g.villages.iter().all(|v| v.code.len() == 12
    ///     && v.code.starts_with(&g.townships[v.township].code)
    ///     && v.code.starts_with(&g.counties[v.county].code)));
    /// ```
    pub fn new(villages: usize, seed: u64) -> Geography {
        Geography::shaped(villages, seed, VillageShape::Tiling)
    }

    /// Lay out `villages` villages (at least 1) tiling their counties as `shape` says.
    ///
    /// ```
    /// use riskcensus_synth::{Geography, VillageShape};
    /// let grid = Geography::shaped(500, 1, VillageShape::Grid);
    /// let v = &grid.villages[0];
    /// // A grid cell is a rectangle: five vertices, closed.
    /// assert_eq!(grid.ring(v).len(), 5);
    /// ```
    pub fn shaped(villages: usize, seed: u64, shape: VillageShape) -> Geography {
        let villages = villages.max(1);
        let n_counties = villages.div_ceil(VILLAGES_PER_COUNTY);
        let n_provinces = n_counties.div_ceil(20).min(mainland_provinces().count());
        let cols = ((n_counties as f64 * WIDTH / HEIGHT).sqrt().ceil() as usize).max(1);
        let rows = n_counties.div_ceil(cols);
        let (cw, ch) = (WIDTH / cols as f64, HEIGHT / rows as f64);
        let mut g = Geography {
            provinces: Vec::new(),
            cities: Vec::new(),
            counties: Vec::with_capacity(n_counties),
            townships: Vec::new(),
            villages: Vec::with_capacity(villages),
            shape,
            seed,
        };
        let mut county_index = 0;
        for (p, (pcode, pname)) in mainland_provinces().take(n_provinces).enumerate() {
            let counties_here = n_counties * (p + 1) / n_provinces - n_counties * p / n_provinces;
            let first_village = g.villages.len();
            for k in 0..counties_here {
                if k % COUNTIES_PER_CITY == 0 {
                    let city_no = k / COUNTIES_PER_CITY + 1;
                    g.cities.push(City {
                        code: format!("{pcode}{city_no:02}"),
                        name: format!("{}市", names::place(p * 100 + city_no, 1)),
                        province: p,
                    });
                }
                let city = g.cities.len() - 1;
                let county_no = k % COUNTIES_PER_CITY + 1;
                let code = format!("{}{county_no:02}", g.cities[city].code);
                let v = villages * (county_index + 1) / n_counties
                    - villages * county_index / n_counties;
                let (col, row) = (county_index % cols, county_index / cols);
                let rect = [
                    WEST + col as f64 * cw,
                    SOUTH + row as f64 * ch,
                    WEST + (col + 1) as f64 * cw,
                    SOUTH + (row + 1) as f64 * ch,
                ];
                let mut rng =
                    ChaCha8Rng::seed_from_u64(crate::mix(seed, 0x6e0_0000 + county_index as u64));
                let name = format!("{}县", names::place(county_index, 2));
                g.add_county(code, name, city, rect, v, &mut rng);
                county_index += 1;
            }
            g.provinces.push(Province {
                code: pcode,
                name: pname,
                first_village,
                end_village: g.villages.len(),
            });
        }
        g
    }

    fn add_county(
        &mut self,
        code: String,
        name: String,
        city: usize,
        rect: [f64; 4],
        villages: usize,
        rng: &mut ChaCha8Rng,
    ) {
        let [x0, y0, x1, y1] = rect;
        let (w, h) = (x1 - x0, y1 - y0);
        let side = (w * h / villages as f64).sqrt();
        let mut n_strips = ((h / side).round() as usize).clamp(1, villages);
        let grid = self.shape == VillageShape::Grid;
        // A grid has the same cells in every strip (but the last, which holds the rest).
        let per_strip = villages.div_ceil(n_strips);
        if grid {
            n_strips = villages.div_ceil(per_strip);
        }
        let cells_in = |s: usize| {
            if grid {
                per_strip.min(villages - per_strip * s)
            } else {
                villages * (s + 1) / n_strips - villages * s / n_strips
            }
        };
        let jitter = if grid { 0.0 } else { 1.0 };
        let strip_h = h / n_strips as f64;
        // Cuts of every strip: evenly spaced, jittered by up to a quarter cell.
        let strips: Vec<Vec<f64>> = (0..n_strips)
            .map(|s| {
                let cells = cells_in(s);
                let cell_w = w / cells as f64;
                (0..=cells)
                    .map(|c| {
                        if c == 0 {
                            x0
                        } else if c == cells {
                            x1
                        } else {
                            x0 + cell_w * (c as f64 + jitter * rng.random_range(-0.25..0.25))
                        }
                    })
                    .collect()
            })
            .collect();
        // Borders: the outline's south and north edges are straight; inner borders carry every
        // cut of the strips on either side, each moved up or down by up to a fifth of a strip.
        let borders: Vec<Vec<(f64, f64)>> = (0..=n_strips)
            .map(|b| {
                let mut xs: Vec<f64> = Vec::new();
                if b > 0 {
                    xs.extend(strips[b - 1].iter().map(|&x| round6(x)));
                }
                if b < n_strips {
                    xs.extend(strips[b].iter().map(|&x| round6(x)));
                }
                xs.sort_by(f64::total_cmp);
                xs.dedup();
                let y = y0 + strip_h * b as f64;
                xs.into_iter()
                    .map(|x| {
                        let dy = if b == 0 || b == n_strips {
                            0.0
                        } else {
                            jitter * strip_h * rng.random_range(-0.2..0.2)
                        };
                        (x, round6(y + dy))
                    })
                    .collect()
            })
            .collect();
        let strips: Vec<Vec<f64>> = strips
            .into_iter()
            .map(|s| s.into_iter().map(round6).collect())
            .collect();
        let county = self.counties.len();
        let first_village = self.villages.len();
        let first_township = self.townships.len();
        // Boustrophedon order: strip 0 west → east, strip 1 east → west, …
        let mut order: Vec<(u32, u32)> = Vec::with_capacity(villages);
        for (s, cuts) in strips.iter().enumerate() {
            let cells = cuts.len() - 1;
            let range: Box<dyn Iterator<Item = usize>> = if s % 2 == 0 {
                Box::new(0..cells)
            } else {
                Box::new((0..cells).rev())
            };
            order.extend(range.map(|c| (s as u32, c as u32)));
        }
        let n_townships = villages.div_ceil(VILLAGES_PER_TOWNSHIP);
        for t in 0..n_townships {
            let start = villages * t / n_townships;
            let end = villages * (t + 1) / n_townships;
            let tcode = format!("{code}{:03}", 100 + t);
            self.townships.push(Township {
                name: format!("{}镇", names::place(county * 37 + t, 3)),
                code: tcode.clone(),
                county,
                first_village: first_village + start,
                villages: end - start,
            });
            for (j, &(strip, cell)) in order[start..end].iter().enumerate() {
                self.villages.push(Village {
                    code: format!("{tcode}{:03}", 200 + j),
                    name: format!("{}村", names::place(county * 613 + start + j, 4)),
                    township: first_township + t,
                    county,
                    strip,
                    cell,
                });
            }
        }
        self.counties.push(County {
            code,
            name,
            city,
            rect,
            first_village,
            villages,
            first_township,
            townships: n_townships,
            strips,
            borders,
        });
    }

    /// The village's polygon ring, counter-clockwise and closed.
    pub fn ring(&self, v: &Village) -> Vec<(f64, f64)> {
        let county = &self.counties[v.county];
        let (s, c) = (v.strip as usize, v.cell as usize);
        let (xl, xr) = (county.strips[s][c], county.strips[s][c + 1]);
        let within = |&&(x, _): &&(f64, f64)| x >= xl && x <= xr;
        let mut ring: Vec<(f64, f64)> = county.borders[s].iter().filter(within).copied().collect();
        ring.extend(county.borders[s + 1].iter().rev().filter(within));
        if self.shape == VillageShape::Slivers {
            let stream = (v.county as u64) << 32 | (s as u64) << 16 | c as u64;
            let mut rng = ChaCha8Rng::seed_from_u64(crate::mix(self.seed, stream));
            for (x, y) in &mut ring {
                *x = round6(*x + rng.random_range(-SLIVER..SLIVER));
                *y = round6(*y + rng.random_range(-SLIVER..SLIVER));
            }
        }
        ring.push(ring[0]);
        ring
    }

    /// A point well inside the village (at least an eighth of the cell from its border, so
    /// rounding to 6 decimals keeps it inside and points of neighbours stay hundreds of metres
    /// apart), rounded to 6 decimals.
    pub fn point_in(&self, v: &Village, rng: &mut impl Rng) -> (f64, f64) {
        let county = &self.counties[v.county];
        let (s, c) = (v.strip as usize, v.cell as usize);
        let (xl, xr) = (county.strips[s][c], county.strips[s][c + 1]);
        let m = (xr - xl) / 8.0;
        let x = rng.random_range(xl + m..xr - m);
        let (yb, yt) = (
            interpolate(&county.borders[s], x),
            interpolate(&county.borders[s + 1], x),
        );
        let m = (yt - yb) / 8.0;
        let y = rng.random_range(yb + m..yt - m);
        (round6(x), round6(y))
    }

    /// The five names (province … village) of a village.
    pub fn names<'a>(&'a self, v: &'a Village) -> [&'a str; 5] {
        let county = &self.counties[v.county];
        let city = &self.cities[county.city];
        [
            self.provinces[city.province].name,
            &city.name,
            &county.name,
            &self.townships[v.township].name,
            &v.name,
        ]
    }

    /// The province of a county.
    pub fn province_of(&self, county: usize) -> usize {
        self.cities[self.counties[county].city].province
    }

    /// The register CSV (the columns `riskcensus` reads, as in the sample register).
    pub fn write_register(&self, w: impl Write) -> Result<(), crate::SynthError> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record([
            "code",
            "name",
            "level",
            "parent_code",
            "urban_rural_code",
            "code12",
            "parent_code12",
            "source_year",
        ])?;
        let pad = |c: &str| format!("{c:0<12}");
        for (p, prov) in self.provinces.iter().enumerate() {
            out.write_record([
                prov.code,
                prov.name,
                "province",
                "",
                "",
                &pad(prov.code),
                "",
                "2023",
            ])?;
            for (ci, city) in self
                .cities
                .iter()
                .enumerate()
                .filter(|(_, c)| c.province == p)
            {
                out.write_record([
                    &city.code,
                    &city.name,
                    "city",
                    prov.code,
                    "",
                    &pad(&city.code),
                    &pad(prov.code),
                    "2023",
                ])?;
                for county in self.counties.iter().filter(|c| c.city == ci) {
                    out.write_record([
                        &county.code,
                        &county.name,
                        "county",
                        &city.code,
                        "",
                        &pad(&county.code),
                        &pad(&city.code),
                        "2023",
                    ])?;
                    for t in &self.townships[county.first_township..][..county.townships] {
                        out.write_record([
                            &t.code,
                            &t.name,
                            "township",
                            &county.code,
                            "",
                            &pad(&t.code),
                            &pad(&county.code),
                            "2023",
                        ])?;
                        for v in &self.villages[t.first_village..][..t.villages] {
                            out.write_record([
                                &v.code,
                                &v.name,
                                "village",
                                &t.code,
                                "220",
                                &v.code,
                                &pad(&t.code),
                                "2023",
                            ])?;
                        }
                    }
                }
            }
        }
        out.flush()?;
        Ok(())
    }

    /// Village polygons as GeoJSON (properties `code`, `name`, `township_code`, `county_code`).
    pub fn write_villages(&self, mut w: impl Write) -> Result<(), crate::SynthError> {
        w.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
        for (i, v) in self.villages.iter().enumerate() {
            let coords: Vec<[f64; 2]> = self.ring(v).into_iter().map(|(x, y)| [x, y]).collect();
            let feature = serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [coords]},
                "properties": {
                    "code": v.code,
                    "name": v.name,
                    "township_code": self.townships[v.township].code,
                    "county_code": self.counties[v.county].code,
                },
            });
            if i > 0 {
                w.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut w, &feature)?;
        }
        w.write_all(b"\n]}\n")?;
        w.flush()?;
        Ok(())
    }

    /// County outlines as GeoJSON (properties `adcode`, `name`, `level`).
    pub fn write_counties(&self, mut w: impl Write) -> Result<(), crate::SynthError> {
        let features: Vec<serde_json::Value> = self
            .counties
            .iter()
            .map(|c| {
                let [x0, y0, x1, y1] = c.rect.map(round6);
                serde_json::json!({
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
                    "properties": {"adcode": c.code, "name": c.name, "level": "county"},
                })
            })
            .collect();
        serde_json::to_writer(
            &mut w,
            &serde_json::json!({"type": "FeatureCollection", "features": features}),
        )?;
        w.flush()?;
        Ok(())
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// y of a polyline (sorted by x) at x.
fn interpolate(line: &[(f64, f64)], x: f64) -> f64 {
    let i = line
        .partition_point(|&(lx, _)| lx <= x)
        .clamp(1, line.len() - 1);
    let ((xa, ya), (xb, yb)) = (line[i - 1], line[i]);
    if xb > xa {
        ya + (yb - ya) * (x - xa) / (xb - xa)
    } else {
        ya
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Contains, Validation};
    use geo_types::{LineString, Point, Polygon};

    fn polygon(ring: Vec<(f64, f64)>) -> Polygon<f64> {
        Polygon::new(LineString::from(ring), vec![])
    }

    #[test]
    fn villages_are_valid_tile_their_county_and_hold_their_points() {
        for shape in [VillageShape::Tiling, VillageShape::Grid] {
            valid_holding_points(&Geography::shaped(1_000, 3, shape));
        }
    }

    #[test]
    fn grid_cells_are_rectangles_with_straight_shared_borders() {
        let g = Geography::shaped(1_000, 3, VillageShape::Grid);
        for v in &g.villages {
            let ring = g.ring(v);
            // Every edge is horizontal or vertical.
            assert!(
                ring.windows(2)
                    .all(|e| e[0].0 == e[1].0 || e[0].1 == e[1].1),
                "{}: {ring:?}",
                v.code
            );
        }
        // Most cells are plain rectangles (a strip with fewer cells adds corners to its border).
        let rectangles = g.villages.iter().filter(|v| g.ring(v).len() == 5).count();
        assert!(rectangles * 10 > g.villages.len() * 9, "{rectangles}");
    }

    #[test]
    fn slivers_move_each_vertex_a_little_so_neighbours_share_none() {
        let tiling = Geography::shaped(1_000, 3, VillageShape::Tiling);
        let slivers = Geography::shaped(1_000, 3, VillageShape::Slivers);
        let mut shared = (0, 0);
        for (t, s) in tiling.villages.iter().zip(&slivers.villages) {
            let (a, b) = (tiling.ring(t), slivers.ring(s));
            assert_eq!(a.len(), b.len());
            for (p, q) in a.iter().zip(&b) {
                let moved = (p.0 - q.0).abs().max((p.1 - q.1).abs());
                assert!(moved <= SLIVER + 1e-6, "{}: {p:?} → {q:?}", t.code);
            }
        }
        // Neighbours in a strip: the tiling's share a border, the slivers' not one vertex.
        for pair in tiling.villages.windows(2).zip(slivers.villages.windows(2)) {
            let common = |g: &Geography, v: &[Village]| {
                let second = g.ring(&v[1]);
                g.ring(&v[0]).iter().filter(|p| second.contains(p)).count()
            };
            shared.0 += common(&tiling, pair.0);
            shared.1 += common(&slivers, pair.1);
        }
        assert!(shared.0 > 1_000, "{shared:?}");
        assert_eq!(shared.1, 0);
        valid_holding_points_within(&slivers, 1e-3);
    }

    fn valid_holding_points(g: &Geography) {
        valid_holding_points_within(g, 1e-9);
    }

    /// Every village is a valid counter-clockwise polygon holding its points, and the villages
    /// of a county add up to its area (within `tolerance`, relative).
    fn valid_holding_points_within(g: &Geography, tolerance: f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for county in &g.counties {
            let [x0, y0, x1, y1] = county.rect;
            let mut area = 0.0;
            for v in &g.villages[county.first_village..][..county.villages] {
                let p = polygon(g.ring(v));
                assert!(p.is_valid(), "{}", v.code);
                assert!(p.signed_area() > 0.0, "{} is counter-clockwise", v.code);
                area += p.unsigned_area();
                for _ in 0..5 {
                    let (x, y) = g.point_in(v, &mut rng);
                    assert!(p.contains(&Point::new(x, y)), "{} ({x}, {y})", v.code);
                }
            }
            let rect = (x1 - x0) * (y1 - y0);
            assert!(
                (area - rect).abs() < tolerance * rect.max(1.0),
                "{}: {area} vs {rect}",
                county.code
            );
        }
    }

    #[test]
    fn the_same_seed_lays_out_the_same_country() {
        let (a, b) = (Geography::new(700, 5), Geography::new(700, 5));
        let rings = |g: &Geography| g.villages.iter().map(|v| g.ring(v)).collect::<Vec<_>>();
        assert_eq!(rings(&a), rings(&b));
        assert_ne!(rings(&a), rings(&Geography::new(700, 6)));
    }
}

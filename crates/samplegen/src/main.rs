//! Generates `sample_data/`: synthetic village polygons for the 860 real Baiyin divisions and
//! census returns for four classes, with planted defects and the list of findings they must
//! produce.
//!
//! Deterministic: the same seed writes the same bytes. Run from the repository root:
//! `cargo run -p riskcensus-samplegen -- sample_data`.
//!
//! Village shapes are synthetic. Real village boundaries are not public; these are two-level
//! Voronoi tilings (townships inside the real county outline, villages inside their township), so
//! every village lies inside its real county and townships stay contiguous.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use geo::{
    Area, BooleanOps, BoundingRect, Centroid, Contains, MultiPoint, Voronoi, VoronoiClip,
    VoronoiParams,
};
use geo_types::{Coord, MultiPolygon, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use riskcensus_core::{Level, Register};
use riskcensus_synth::{class_short, credit_code_with, numbered_credit_code};

const SEED: u64 = 20201231;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("scale") {
        let rows: usize = args
            .get(1)
            .and_then(|n| n.parse().ok())
            .context("usage: riskcensus-samplegen scale ROWS OUT_DIR [SAMPLE_DATA]")?;
        let out = PathBuf::from(
            args.get(2)
                .context("usage: riskcensus-samplegen scale ROWS OUT_DIR [SAMPLE_DATA]")?,
        );
        let sample = PathBuf::from(args.get(3).map_or("sample_data", String::as_str));
        return scale(rows, &out, &sample);
    }
    let out = PathBuf::from(args.first().map_or("sample_data", String::as_str));
    let register_text = std::fs::read_to_string(out.join("register/baiyin_divisions.csv"))
        .context("reading register/baiyin_divisions.csv")?;
    let register = Register::from_csv_str(&register_text)?;
    let counties_text = std::fs::read_to_string(out.join("geometry/baiyin_counties.geojson"))?;
    let counties = read_counties(&counties_text)?;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let villages = build_villages(&register, &counties, &mut rng)?;
    write_villages(&out.join("geometry/baiyin_villages.geojson"), &villages)?;
    let world = World {
        register: &register,
        villages: &villages,
    };
    let mut returns = Returns::default();
    returns.schools(&world, &mut rng)?;
    returns.medical(&world, &mut rng)?;
    returns.shelters(&world, &mut rng)?;
    returns.communities(&world, &mut rng)?;
    returns.schools_supplement(&world, &mut rng)?;
    returns.shelters_gcj02(&world, &mut rng)?;
    let schemas = riskcensus_core::SchemaSet::load(&out.join("../schemas"))?;
    returns.every_other_class(&world, &schemas, &mut rng)?;
    returns.capacity_elsewhere(&world, &schemas)?;
    returns.write(&out)?;
    eprintln!(
        "wrote {} villages and {} returns files",
        villages.len(),
        returns.files.len()
    );
    Ok(())
}

/// Writes `ROWS` clean school returns spread over all 860 villages, and a pipeline file that runs
/// them against the sample register and polygons: the synthetic scale-up for benchmarks.
fn scale(rows: usize, out: &Path, sample: &Path) -> Result<()> {
    let sample = sample
        .canonicalize()
        .with_context(|| format!("{}", sample.display()))?;
    let register = Register::from_csv_str(&std::fs::read_to_string(
        sample.join("register/baiyin_divisions.csv"),
    )?)?;
    let counties = read_counties(&std::fs::read_to_string(
        sample.join("geometry/baiyin_counties.geojson"),
    )?)?;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let villages = build_villages(&register, &counties, &mut rng)?;
    let world = World {
        register: &register,
        villages: &villages,
    };
    let names: Vec<[String; 5]> = villages.iter().map(|v| world.names(&v.code)).collect();
    std::fs::create_dir_all(out)?;
    let file = std::fs::File::create(out.join("schools.csv"))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
    let mut header = COMMON.to_vec();
    header.extend([
        "学校类别",
        "办学性质",
        "在校（园）学生数（人）",
        "其中：寄宿生数（人）",
        "教职工数（人）",
        "占地面积（m²）",
        "校舍建筑面积（m²）",
        "是否为应急避难场所",
    ]);
    w.write_record(&header)?;
    for i in 0..rows {
        let k = i % villages.len();
        let v = &villages[k];
        let [p, c, x, t, vil] = &names[k];
        // A point that stays inside the village once written with 6 decimals.
        let (lon, lat) = loop {
            let p = random_point_in(&v.geometry, &mut rng)?;
            let (x, y) = ((p.x() * 1e6).round() / 1e6, (p.y() * 1e6).round() / 1e6);
            if v.geometry.contains(&Point::new(x, y)) {
                break (x, y);
            }
        };
        let students = 100 + (i * 7919) % 1500;
        let credit = numbered_credit_code("12", &v.code[..6], i as u64);
        w.write_record([
            format!("{}第{}学校", short_name(&v.name), i / villages.len() + 1),
            credit,
            "统一社会信用代码".into(),
            v.code.clone(),
            p.clone(),
            c.clone(),
            x.clone(),
            t.clone(),
            vil.clone(),
            format!("{x}{t}{vil}"),
            format!("{lon:.6}"),
            format!("{lat:.6}"),
            "小学".into(),
            "公办".into(),
            students.to_string(),
            (students / 10).to_string(),
            (students / 14 + 3).to_string(),
            "12000.5".into(),
            "5400.0".into(),
            "否".into(),
        ])?;
    }
    w.flush()?;
    let pipeline = format!(
        "# Synthetic scale-up: {rows} clean school returns (riskcensus-samplegen scale).\nname = \"scale-{rows}\"\nreference_date = \"2020-12-31\"\noutput = \"db\"\nschemas = \"{schemas}\"\n\n[register]\npath = \"{s}/register/baiyin_divisions.csv\"\nedition = \"NBS 统计用区划代码 2023\"\n\n[geometry]\nvillages = \"{s}/geometry/baiyin_villages.geojson\"\ncounties = \"{s}/geometry/baiyin_counties.geojson\"\n\n[[returns]]\nclass = \"HB-PSF-01\"\npath = \"schools.csv\"\n",
        schemas = sample.parent().unwrap_or(&sample).join("schemas").display(),
        s = sample.display(),
    );
    std::fs::write(out.join("pipeline.toml"), pipeline)?;
    eprintln!("wrote {rows} rows to {}", out.join("schools.csv").display());
    Ok(())
}

struct County {
    code: String,
    geometry: MultiPolygon<f64>,
}

fn read_counties(text: &str) -> Result<Vec<County>> {
    let fc: geojson::FeatureCollection = text.parse()?;
    let mut out = Vec::new();
    for f in fc.features {
        if f.property("level").and_then(|v| v.as_str()) != Some("county") {
            continue;
        }
        let code = f
            .property("adcode")
            .and_then(|v| v.as_str())
            .context("adcode")?
            .to_string();
        let g: geo_types::Geometry<f64> = f.geometry.context("geometry")?.try_into()?;
        let geometry = match g {
            geo_types::Geometry::MultiPolygon(mp) => mp,
            geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            _ => bail!("county {code} is not a polygon"),
        };
        out.push(County { code, geometry });
    }
    Ok(out)
}

/// A generated village.
struct Village {
    code: String,
    name: String,
    township: String,
    geometry: MultiPolygon<f64>,
}

fn random_point_in(region: &MultiPolygon<f64>, rng: &mut ChaCha8Rng) -> Result<Point<f64>> {
    let r = region.bounding_rect().context("empty region")?;
    for _ in 0..100_000 {
        let p = Point::new(
            rng.random_range(r.min().x..r.max().x),
            rng.random_range(r.min().y..r.max().y),
        );
        if region.contains(&p) {
            return Ok(p);
        }
    }
    bail!("no point found inside region")
}

/// Split `region` into `n` Voronoi cells around seeds, relaxed twice towards cell centroids.
fn tile(
    region: &MultiPolygon<f64>,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<MultiPolygon<f64>>> {
    if n == 1 {
        return Ok(vec![region.clone()]);
    }
    let mut seeds: Vec<Point<f64>> = (0..n)
        .map(|_| random_point_in(region, rng))
        .collect::<Result<_>>()?;
    let r = region.bounding_rect().context("empty region")?;
    let (dx, dy) = (r.width() * 0.1 + 1e-3, r.height() * 0.1 + 1e-3);
    let frame = geo_types::Rect::new(
        Coord {
            x: r.min().x - dx,
            y: r.min().y - dy,
        },
        Coord {
            x: r.max().x + dx,
            y: r.max().y + dy,
        },
    )
    .to_polygon();
    let mut cells = Vec::new();
    for round in 0..3 {
        let sites = MultiPoint::from(seeds.clone());
        // Clip to the region's bounding box (padded), not the seeds': far parts of a county
        // (separate polygons) must get cells too.
        let raw = sites
            .voronoi_cells_with_params(VoronoiParams::new().clip(VoronoiClip::Polygon(&frame)))
            .map_err(|e| anyhow::anyhow!("voronoi: {e:?}"))?;
        cells = seeds
            .iter()
            .map(|s| {
                let cell = raw
                    .iter()
                    .find(|c| c.contains(s) || geo::Intersects::intersects(*c, s));
                cell.map(|c| MultiPolygon(vec![c.clone()]).intersection(region))
                    .unwrap_or_else(|| MultiPolygon(vec![]))
            })
            .collect::<Vec<_>>();
        if round < 2 {
            for (seed, cell) in seeds.iter_mut().zip(&cells) {
                if let Some(c) = cell.centroid().filter(|c| region.contains(c)) {
                    *seed = c;
                }
            }
        }
    }
    if cells.iter().any(|c| c.unsigned_area() == 0.0) {
        bail!("a Voronoi cell came out empty");
    }
    Ok(cells)
}

fn round6(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    use geo::MapCoords;
    mp.map_coords(|c| Coord {
        x: (c.x * 1e6).round() / 1e6,
        y: (c.y * 1e6).round() / 1e6,
    })
}

fn build_villages(
    register: &Register,
    counties: &[County],
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Village>> {
    let mut villages = Vec::new();
    for county in counties {
        let townships: Vec<_> = register
            .of_level(Level::Township)
            .filter(|t| t.code.county() == county.code)
            .collect();
        let township_cells = tile(&county.geometry, townships.len(), rng)?;
        for (township, cell) in townships.iter().zip(township_cells) {
            let members: Vec<_> = register
                .of_level(Level::Village)
                .filter(|v| v.code.township() == township.code.township())
                .collect();
            let cells = tile(&cell, members.len(), rng)?;
            for (v, c) in members.iter().zip(cells) {
                villages.push(Village {
                    code: v.code.to_string(),
                    name: v.name.clone(),
                    township: township.code.township().to_string(),
                    geometry: round6(&c),
                });
            }
        }
    }
    Ok(villages)
}

fn write_villages(path: &Path, villages: &[Village]) -> Result<()> {
    let mut features = Vec::with_capacity(villages.len());
    for v in villages {
        let geometry = geojson::Geometry::new(geojson::GeometryValue::from(&v.geometry));
        let mut props = serde_json::Map::new();
        props.insert("code".into(), v.code.clone().into());
        props.insert("name".into(), v.name.clone().into());
        props.insert("township_code".into(), v.township.clone().into());
        props.insert("county_code".into(), v.code[..6].to_string().into());
        features.push(geojson::Feature {
            geometry: Some(geometry),
            properties: Some(props),
            ..Default::default()
        });
    }
    let mut foreign = serde_json::Map::new();
    foreign.insert("crs_note".into(), "EPSG:4490 (CGCS2000 geographic)".into());
    foreign.insert("note".into(), "SYNTHETIC village shapes: two-level Voronoi tiling of the real county outlines. Codes and names are the real NBS 2023 register.".into());
    let fc = geojson::FeatureCollection {
        bbox: None,
        features,
        foreign_members: Some(foreign),
    };
    std::fs::write(path, fc.to_string() + "\n")?;
    Ok(())
}

struct World<'a> {
    register: &'a Register,
    villages: &'a [Village],
}

impl World<'_> {
    fn names(&self, village_code: &str) -> [String; 5] {
        let chain = self.register.names_down_to(village_code);
        let name = |l: Level| {
            chain
                .iter()
                .find(|d| d.level == l)
                .map(|d| d.name.clone())
                .unwrap_or_default()
        };
        [
            "甘肃省".to_string(),
            name(Level::City),
            name(Level::County),
            name(Level::Township),
            name(Level::Village),
        ]
    }

    /// The village whose polygon contains the point.
    fn locate(&self, lon: f64, lat: f64) -> Option<&Village> {
        let p = Point::new(lon, lat);
        self.villages.iter().find(|v| v.geometry.contains(&p))
    }

    /// A point well inside the village (6 decimals, still inside after rounding).
    fn point_in(&self, v: &Village, rng: &mut ChaCha8Rng) -> Result<(f64, f64)> {
        for _ in 0..1000 {
            let p = random_point_in(&v.geometry, rng)?;
            let (x, y) = ((p.x() * 1e6).round() / 1e6, (p.y() * 1e6).round() / 1e6);
            let rounded = Point::new(x, y);
            let clear = self
                .villages
                .iter()
                .filter(|o| o.geometry.contains(&rounded))
                .count()
                == 1;
            if v.geometry.contains(&rounded) && clear {
                return Ok((x, y));
            }
        }
        bail!("no interior point for {}", v.code)
    }
}

/// A valid credit code: `reg`(2) + county(6) + organisation code(8 + GB 11714 check) + check.
fn credit_code(prefix: &str, county: &str, rng: &mut ChaCha8Rng) -> String {
    const ORG_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let body: String = (0..8)
        .map(|_| ORG_CHARS[rng.random_range(0..10usize)] as char)
        .collect();
    credit_code_with(prefix, county, &body)
}

/// One CSV file being built: header, rows, encoding and the findings its defects must raise.
struct ReturnFile {
    /// Owned header (generic classes); used when `header` is empty.
    csv_header: Vec<String>,
    trailing_blank: bool,
    /// Written as a census Excel form of this class (filled template); numbers stored as numbers?
    xlsx: Option<(riskcensus_core::ResolvedClass, bool)>,
    name: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    encoding: &'static str,
    expected: Vec<(u64, &'static str, &'static str)>,
}

impl ReturnFile {
    fn new(name: &str, header: Vec<&'static str>, encoding: &'static str) -> Self {
        ReturnFile {
            trailing_blank: false,
            xlsx: None,
            csv_header: Vec::new(),
            name: name.into(),
            header,
            rows: Vec::new(),
            encoding,
            expected: Vec::new(),
        }
    }
    fn col(&self, h: &str) -> usize {
        self.header
            .iter()
            .position(|x| *x == h)
            .unwrap_or_else(|| panic!("no column {h}"))
    }
    /// Line number of row index `i` (1 = header).
    fn line(i: usize) -> u64 {
        i as u64 + 2
    }
    /// Plant a defect in row `i`: change cells, record the expected finding(s).
    fn plant(
        &mut self,
        i: usize,
        edits: &[(&str, &str)],
        rules: &[&'static str],
        what: &'static str,
    ) {
        for (h, v) in edits {
            let c = self.col(h);
            self.rows[i][c] = (*v).to_string();
        }
        for r in rules {
            self.expected.push((Self::line(i), r, what));
        }
    }
}

#[derive(Default)]
struct Returns {
    files: Vec<ReturnFile>,
    taxonomy: Option<riskcensus_core::schema::Taxonomy>,
}

const COMMON: [&str; 12] = [
    "单位名称",
    "统一社会信用代码",
    "代码类型",
    "行政区划代码",
    "省",
    "市",
    "县",
    "乡镇",
    "村",
    "详细地址",
    "经度",
    "纬度",
];

fn common_cells(
    world: &World,
    v: &Village,
    name: &str,
    credit: Option<&str>,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<String>> {
    let [p, c, x, t, vil] = world.names(&v.code);
    let (lon, lat) = world.point_in(v, rng)?;
    let n = rng.random_range(1..300);
    Ok(vec![
        name.to_string(),
        credit.unwrap_or("").to_string(),
        if credit.is_some() {
            "统一社会信用代码".into()
        } else {
            String::new()
        },
        v.code.clone(),
        p,
        c,
        x.clone(),
        t.clone(),
        vil.clone(),
        format!("{x}{t}{vil}{n}号"),
        format!("{lon:.6}"),
        format!("{lat:.6}"),
    ])
}

/// `红柳村村民委员会` → `红柳村`, `人民路社区居民委员会` → `人民路社区`.
fn short_name(name: &str) -> &str {
    ["村民委员会", "居民委员会", "委员会", "村委会"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|n| !n.is_empty())
        .unwrap_or(name)
}

fn pick<'a>(
    villages: &'a [Village],
    rng: &mut ChaCha8Rng,
    pred: impl Fn(&Village) -> bool,
) -> &'a Village {
    let pool: Vec<&Village> = villages.iter().filter(|v| pred(v)).collect();
    pool[rng.random_range(0..pool.len())]
}

/// A village of the same county as `v` but not `v` itself, and a village in another county.
fn neighbours<'a>(
    world: &'a World,
    v: &Village,
    rng: &mut ChaCha8Rng,
) -> (&'a Village, &'a Village) {
    let same = pick(world.villages, rng, |o| {
        o.code[..6] == v.code[..6] && o.code != v.code
    });
    let other = pick(world.villages, rng, |o| o.code[..6] != v.code[..6]);
    (same, other)
}

impl Returns {
    fn schools(&mut self, world: &World, rng: &mut ChaCha8Rng) -> Result<()> {
        let mut header = COMMON.to_vec();
        header.extend([
            "学校类别",
            "办学性质",
            "在校（园）学生数（人）",
            "其中：寄宿生数（人）",
            "教职工数（人）",
            "占地面积（m²）",
            "校舍建筑面积（m²）",
            "是否为应急避难场所",
        ]);
        let mut f = ReturnFile::new("HB-PSF-01_学校.csv", header, "UTF-8");
        let mut used = std::collections::BTreeSet::new();
        for i in 0..120 {
            let v = pick(world.villages, rng, |v| !used.contains(&v.code));
            used.insert(v.code.clone());
            let (kind, suffix, students) = match i % 4 {
                0 => ("幼儿园", "幼儿园", rng.random_range(40..300)),
                1 | 2 => ("小学", "小学", rng.random_range(60..1200)),
                _ => ("初中", "中学", rng.random_range(200..1800)),
            };
            let base = short_name(&v.name);
            let base = if base.ends_with('村') || base.ends_with("社区") {
                base.to_string()
            } else {
                format!("{base}村")
            };
            let name = format!("{base}{}{suffix}", if i % 7 == 0 { "第二" } else { "" });
            let credit = credit_code("12", &v.code[..6], rng);
            let mut row = common_cells(world, v, &name, Some(&credit), rng)?;
            let boarders = if kind == "初中" {
                rng.random_range(0..students / 2)
            } else {
                0
            };
            let staff = students / rng.random_range(12..18) + 3;
            row.extend([
                kind.to_string(),
                if i % 9 == 0 { "民办" } else { "公办" }.to_string(),
                students.to_string(),
                boarders.to_string(),
                staff.to_string(),
                format!("{:.1}", rng.random_range(2000.0..40000.0)),
                format!("{:.1}", rng.random_range(800.0..15000.0)),
                if i % 5 == 0 { "是" } else { "否" }.to_string(),
            ]);
            f.rows.push(row);
        }
        let code_of = |f: &ReturnFile, i: usize| f.rows[i][f.col("行政区划代码")].clone();
        f.plant(
            3,
            &[("单位名称", "")],
            &["cell.required"],
            "单位名称 left empty",
        );
        let bad = {
            let c = f.rows[7][f.col("统一社会信用代码")].clone();
            let last = if c.ends_with('0') { '1' } else { '0' };
            format!("{}{last}", &c[..17])
        };
        f.plant(
            7,
            &[("统一社会信用代码", &bad)],
            &["id.uscc_checksum"],
            "credit code with a wrong check character",
        );
        let unknown = format!("{}999", &code_of(&f, 12)[..9]);
        f.plant(
            12,
            &[("行政区划代码", &unknown)],
            &["id.division_unknown"],
            "village code that is not in the register",
        );
        let (lon, lat) = (f.rows[18][10].clone(), f.rows[18][11].clone());
        f.plant(
            18,
            &[("经度", &lat), ("纬度", &lon)],
            &["geo.swapped"],
            "longitude and latitude swapped",
        );
        let here = world
            .villages
            .iter()
            .find(|v| v.code == code_of(&f, 25))
            .context("village")?;
        let (same, _) = neighbours(world, here, rng);
        let (x, y) = world.point_in(same, rng)?;
        f.plant(
            25,
            &[("经度", &format!("{x:.6}")), ("纬度", &format!("{y:.6}"))],
            &["geo.other_village"],
            "point in another village of the same county",
        );
        f.plant(
            31,
            &[
                ("在校（园）学生数（人）", "300"),
                ("其中：寄宿生数（人）", "450"),
            ],
            &["xf.part_exceeds_total"],
            "boarders (其中) exceed students (合计)",
        );
        let dup = f.rows[40].clone();
        f.rows[41] = dup;
        f.expected.push((
            ReturnFile::line(41),
            "dup.credit_code",
            "row 43 repeats row 42 (same credit code)",
        ));
        f.expected.push((
            ReturnFile::line(41),
            "dup.name_in_village",
            "row 43 repeats row 42 (same name, same village)",
        ));
        f.plant(
            50,
            &[("学校类别", "职业高中")],
            &["cell.code_list"],
            "school type not in the code list",
        );
        f.plant(
            57,
            &[("在校（园）学生数（人）", "四百二十")],
            &["cell.type"],
            "student count written in words",
        );
        let here = world
            .villages
            .iter()
            .find(|v| v.code == code_of(&f, 63))
            .context("village")?;
        let (_, other) = neighbours(world, here, rng);
        let (x, y) = world.point_in(other, rng)?;
        f.plant(
            63,
            &[("经度", &format!("{x:.6}")), ("纬度", &format!("{y:.6}"))],
            &["geo.outside_county"],
            "point in another county",
        );
        // 乌兰镇 (靖远县): NBS township 620421103, civil-affairs 620421100.
        let wulan = world
            .villages
            .iter()
            .find(|v| v.township == "620421103")
            .context("乌兰镇")?;
        let [_, _, county, township, village] = world.names(&wulan.code);
        let (x, y) = world.point_in(wulan, rng)?;
        let mca = format!("620421100{}", &wulan.code[9..]);
        let credit = credit_code("12", "620421", rng);
        f.plant(
            70,
            &[
                ("行政区划代码", &mca),
                ("县", &county),
                ("乡镇", &township),
                ("村", &village),
                ("经度", &format!("{x:.6}")),
                ("纬度", &format!("{y:.6}")),
                ("统一社会信用代码", &credit),
            ],
            &["id.division_mca"],
            "civil-affairs (MCA) township number 620421100 instead of NBS 620421103 for 乌兰镇",
        );
        let beijing = credit_code("12", "110105", rng);
        f.plant(
            105,
            &[("统一社会信用代码", &beijing)],
            &["id.uscc_region"],
            "credit code registered in Beijing (110105) for a Baiyin school",
        );
        let charset = {
            let c = f.rows[77][f.col("统一社会信用代码")].clone();
            format!("{}O{}", &c[..9], &c[10..])
        };
        f.plant(
            77,
            &[("统一社会信用代码", &charset)],
            &["id.uscc_charset"],
            "credit code containing the letter O",
        );
        let township = format!("{}000", &code_of(&f, 84)[..9]);
        f.plant(
            84,
            &[("行政区划代码", &township)],
            &["id.division_level"],
            "township-level code instead of a village code",
        );
        f.plant(
            91,
            &[("教职工数（人）", "-5")],
            &["cell.range"],
            "negative staff count",
        );
        let county98 = code_of(&f, 98)[..6].to_string();
        let wrong_township = world
            .register
            .of_level(Level::Township)
            .find(|t| t.code.county() != county98)
            .map(|t| t.name.clone())
            .context("township")?;
        f.plant(
            98,
            &[("乡镇", &wrong_township)],
            &["id.division_name"],
            "township name of another county typed in 乡镇",
        );
        self.files.push(f);
        Ok(())
    }

    fn medical(&mut self, world: &World, rng: &mut ChaCha8Rng) -> Result<()> {
        let mut header = COMMON.to_vec();
        header.extend([
            "医疗机构类型（大类）",
            "医院等级",
            "医疗机构性质",
            "在岗职工人数（人）",
            "卫生技术人员总数（人）",
            "注册护士人数（人）",
            "实有住院床位数（张）",
            "重症加强护理病房（ICU）床位数（张）",
            "负压病房床位数（张）",
            "运转型急救车数量（辆）",
            "年度总诊疗人次数（人次）",
            "占地面积（平方米）",
            "房屋建筑面积（平方米）",
        ]);
        let mut f = ReturnFile::new("HB-PSF-02_医疗卫生机构_GBK.csv", header, "GBK");
        let townships: Vec<&Village> = {
            let mut seen = BTreeMap::new();
            for v in world
                .villages
                .iter()
                .filter(|v| !encoding_rs::GBK.encode(&v.name).2)
            {
                seen.entry(v.township.clone()).or_insert(v);
            }
            seen.into_values().collect()
        };
        for i in 0..90 {
            let hospital = i % 6 == 0;
            let v = townships[i % townships.len()];
            let [_, _, county, township, _] = world.names(&v.code);
            let name = if hospital {
                format!(
                    "{county}{}医院",
                    ["人民", "中医", "妇幼保健", "第二人民", "康复", "骨科"][(i / 6) % 6]
                )
            } else {
                format!(
                    "{township}{}",
                    if i < townships.len() {
                        "卫生院"
                    } else {
                        "中心卫生院"
                    }
                )
            };
            let name = if hospital && i >= 36 {
                format!("{township}中心医院")
            } else {
                name
            };
            let credit = credit_code("12", &v.code[..6], rng);
            let mut row = common_cells(world, v, &name, Some(&credit), rng)?;
            let beds = if hospital {
                rng.random_range(80..600)
            } else {
                rng.random_range(5..40)
            };
            let staff = beds * rng.random_range(12..16) / 10 + 5;
            let workers = staff * 8 / 10;
            let nurses = workers * 45 / 100;
            let icu = if hospital { beds / 25 } else { 0 };
            row.extend([
                if hospital {
                    "医院"
                } else {
                    "基层医疗卫生机构"
                }
                .to_string(),
                if hospital {
                    ["二级甲等", "二级乙等", "三级乙等", "一级甲等"][i % 4]
                } else {
                    "未定级"
                }
                .to_string(),
                "公立".to_string(),
                staff.to_string(),
                workers.to_string(),
                nurses.to_string(),
                beds.to_string(),
                icu.to_string(),
                (icu / 2).to_string(),
                (if hospital {
                    rng.random_range(2..12)
                } else {
                    rng.random_range(0..2)
                })
                .to_string(),
                (beds * rng.random_range(300..900)).to_string(),
                format!("{:.1}", rng.random_range(1500.0..60000.0)),
                format!("{:.1}", rng.random_range(600.0..40000.0)),
            ]);
            f.rows.push(row);
        }
        f.plant(
            6,
            &[
                ("实有住院床位数（张）", "100"),
                ("重症加强护理病房（ICU）床位数（张）", "80"),
                ("负压病房床位数（张）", "30"),
            ],
            &["xf.part_exceeds_total"],
            "ICU + negative-pressure beds exceed inpatient beds",
        );
        f.plant(
            11,
            &[("实有住院床位数（张）", "")],
            &["cell.required"],
            "inpatient beds left empty",
        );
        f.plant(
            17,
            &[("医院等级", "三甲")],
            &["cell.code_list"],
            "hospital grade abbreviated (三甲 instead of 三级甲等)",
        );
        let short = f.rows[23][f.col("统一社会信用代码")][..17].to_string();
        f.plant(
            23,
            &[("统一社会信用代码", &short)],
            &["id.uscc_length"],
            "credit code of 17 characters",
        );
        f.plant(
            29,
            &[("经度", "0"), ("纬度", "0")],
            &["geo.zero"],
            "point at (0, 0)",
        );
        f.plant(
            35,
            &[
                ("卫生技术人员总数（人）", "20"),
                ("注册护士人数（人）", "35"),
            ],
            &["xf.part_exceeds_total"],
            "nurses exceed health professionals",
        );
        f.plant(
            44,
            &[("经度", "10.412345")],
            &["geo.outside_china"],
            "longitude typed as 10.4 (digit dropped)",
        );
        f.plant(
            52,
            &[("代码类型", "")],
            &["cell.derived"],
            "credit code given without its code type (derived from the valid code, not rejected)",
        );
        // Coordinates rounded to 2 decimals (≈1 km) that still fall in the declared village.
        let coarse = (60..f.rows.len())
            .find_map(|i| {
                let (lon, lat) = (
                    f.rows[i][10].parse::<f64>().ok()?,
                    f.rows[i][11].parse::<f64>().ok()?,
                );
                let (lon2, lat2) = ((lon * 100.0).round() / 100.0, (lat * 100.0).round() / 100.0);
                let hit = world.locate(lon2, lat2)?;
                (hit.code == f.rows[i][3]).then(|| (i, format!("{lon2:.2}"), format!("{lat2:.2}")))
            })
            .context("a row to round")?;
        f.plant(
            coarse.0,
            &[("经度", &coarse.1), ("纬度", &coarse.2)],
            &["geo.few_decimals"],
            "coordinates given to 2 decimals (≈1 km)",
        );
        self.files.push(f);
        Ok(())
    }

    fn shelters(&mut self, world: &World, rng: &mut ChaCha8Rng) -> Result<()> {
        let mut header = COMMON.to_vec();
        header.extend([
            "避灾种类",
            "室内/室外类型",
            "应急避难场所占地总面积（m²）",
            "应急避难场所室内面积（m²）",
            "避难所容纳人数（人）",
            "日常维护或管理人员数量（人）",
            "其中：专职维护或管理人员数（人）",
        ]);
        let mut f = ReturnFile::new("DR-GOV-10_应急避难场所_BOM.csv", header, "UTF-8-BOM");
        let mut used = std::collections::BTreeSet::new();
        for i in 0..60 {
            let v = pick(world.villages, rng, |v| !used.contains(&v.code));
            used.insert(v.code.clone());
            let outdoor = i % 3 != 0;
            let name = format!(
                "{}{}",
                short_name(&v.name),
                if outdoor {
                    "广场应急避难场所"
                } else {
                    "学校体育馆避难场所"
                }
            );
            let mut row = common_cells(world, v, &name, None, rng)?;
            // Village squares are small: capacity stays within 10 × a village's residents.
            let land: f64 = if &v.code[9..] < "200" {
                rng.random_range(3000.0..50000.0)
            } else {
                rng.random_range(1000.0..5000.0)
            };
            let usable = land * rng.random_range(0.4..0.8);
            let indoor = if outdoor { 0.0 } else { land * 0.3 };
            let keepers = (land / 5000.0).ceil() as u64 + 1;
            row.extend([
                [
                    "地震;地质灾害;综合灾害(自然灾害)",
                    "地震、洪水、火灾（含森林火灾）",
                    "地震;地质灾害",
                ][i % 3]
                    .to_string(),
                if outdoor { "室外" } else { "室内" }.to_string(),
                format!("{land:.0}"),
                format!("{indoor:.0}"),
                format!("{:.0}", usable / 1.5),
                keepers.to_string(),
                (keepers / 2).to_string(),
            ]);
            f.rows.push(row);
        }
        f.plant(
            4,
            &[
                ("日常维护或管理人员数量（人）", "2"),
                ("其中：专职维护或管理人员数（人）", "5"),
            ],
            &["xf.part_exceeds_total"],
            "more full-time keepers than keepers",
        );
        f.plant(
            9,
            &[("室内/室外类型", "露天")],
            &["cell.code_list"],
            "indoor/outdoor given as 露天 instead of 室外",
        );
        f.plant(
            15,
            &[("避难所容纳人数（人）", "")],
            &["cell.required"],
            "capacity left empty",
        );
        let here = world
            .villages
            .iter()
            .find(|v| v.code == f.rows[21][3])
            .context("village")?;
        let (same, _) = neighbours(world, here, rng);
        let (x, y) = world.point_in(same, rng)?;
        f.plant(
            21,
            &[("经度", &format!("{x:.6}")), ("纬度", &format!("{y:.6}"))],
            &["geo.other_village"],
            "point in another village of the same county",
        );
        let mut dup = f.rows[30].clone();
        dup[f.col("避难所容纳人数（人）")] = "1200".into();
        dup[f.col("单位名称")] = format!(" {} ", dup[0]);
        f.rows[31] = dup;
        f.expected.push((
            ReturnFile::line(31),
            "dup.name_in_village",
            "same shelter filed twice (name padded with spaces)",
        ));
        let short = f.rows[38][3][..11].to_string();
        f.plant(
            38,
            &[("行政区划代码", &short)],
            &["id.division_format"],
            "division code with 11 digits",
        );
        let baiyin = (40..f.rows.len())
            .find(|&i| f.rows[i][3].starts_with("620402"))
            .context("a 白银区 shelter")?;
        f.plant(
            baiyin,
            &[("避难所容纳人数（人）", "999999")],
            &["plaus.capacity_vs_population"],
            "capacity 999999, far above 10 × the village's residents",
        );
        // The same shelter entered again 20 m away under a slightly different name.
        let mut near = f.rows[50].clone();
        near[0] = near[0]
            .replace("广场应急避难场所", "广场避难场所")
            .replace("学校体育馆避难场所", "学校体育馆应急避难场所");
        let lat: f64 = near[11].parse()?;
        let lon: f64 = near[10].parse()?;
        let moved = [0.0002, -0.0002]
            .iter()
            .map(|d| (lon, lat + d))
            .find(|&(x, y)| world.locate(x, y).is_some_and(|v| v.code == near[3]))
            .context("a nearby point")?;
        near[11] = format!("{:.6}", moved.1);
        f.rows[51] = near;
        f.expected.push((
            ReturnFile::line(51),
            "dup.near_point",
            "row 52 repeats row 51 20 m away with a slightly different name",
        ));
        self.files.push(f);
        Ok(())
    }

    fn communities(&mut self, world: &World, rng: &mut ChaCha8Rng) -> Result<()> {
        let mut header = COMMON.to_vec();
        header.extend([
            "总户数（户）",
            "常住人口数量（人）",
            "其中：0-14岁人数（人）",
            "其中：65岁（含）以上人数（人）",
            "其中：残障人员人数（人）",
            "社区医疗卫生服务站或村卫生室数量（个）",
            "是否有本辖区地质灾害等隐患点清单",
            "是否有社区（行政村）应急预案",
            "上一年度防灾减灾救灾资金投入总金额（万元）",
            "登记注册志愿者人数（人）",
            "民兵预备役人数（人）",
            "灾害信息员人数（人）",
            "本级灾害应急避难场所数量（个）",
            "本级灾害应急避难场所容量（人）",
            "上一年度演练活动次数（次）",
            "参与演练的居民人次（人次）",
            "备注",
        ]);
        let mut f = ReturnFile::new("DR-GRS-02_社区行政村_白银区.csv", header, "UTF-8");
        for v in world
            .villages
            .iter()
            .filter(|v| v.code.starts_with("620402"))
        {
            let urban = &v.code[9..] < "200";
            let residents: u32 = if urban {
                rng.random_range(3000..15000)
            } else {
                rng.random_range(600..3500)
            };
            let households = residents * 10 / rng.random_range(26..34);
            let mut row = common_cells(world, v, &v.name, None, rng)?;
            let shelters = rng.random_range(0..3u32);
            row.extend([
                households.to_string(),
                residents.to_string(),
                (residents * rng.random_range(12..20) / 100).to_string(),
                (residents * rng.random_range(10..22) / 100).to_string(),
                (residents * rng.random_range(1..4) / 100).to_string(),
                rng.random_range(1..3u32).to_string(),
                if rng.random_bool(0.7) { "是" } else { "否" }.to_string(),
                "是".to_string(),
                format!("{:.2}", rng.random_range(0.5..12.0)),
                rng.random_range(5..80u32).to_string(),
                rng.random_range(0..40u32).to_string(),
                rng.random_range(1..3u32).to_string(),
                shelters.to_string(),
                (shelters * rng.random_range(300..1500)).to_string(),
                rng.random_range(1..5u32).to_string(),
                rng.random_range(50..600u32).to_string(),
                String::new(),
            ]);
            f.rows.push(row);
        }
        f.expected.push((
            1,
            "struct.unknown_column",
            "column 备注 is not in the schema",
        ));
        f.plant(
            5,
            &[
                ("常住人口数量（人）", "1000"),
                ("其中：0-14岁人数（人）", "600"),
                ("其中：65岁（含）以上人数（人）", "500"),
            ],
            &["xf.part_exceeds_total"],
            "0–14 plus 65+ exceed the resident population",
        );
        f.plant(
            13,
            &[("常住人口数量（人）", "约3000")],
            &["cell.type"],
            "population written as 约3000",
        );
        f.plant(
            22,
            &[("是否有社区（行政村）应急预案", "有")],
            &["cell.type"],
            "有 instead of 是",
        );
        f.plant(
            37,
            &[("行政区划代码", "")],
            &["cell.required"],
            "division code left empty",
        );
        f.plant(
            48,
            &[("上一年度防灾减灾救灾资金投入总金额（万元）", "-2.5")],
            &["cell.range"],
            "negative funding",
        );
        f.plant(
            70,
            &[
                ("本级灾害应急避难场所数量（个）", "0"),
                ("本级灾害应急避难场所容量（人）", "800"),
            ],
            &["xf.zero_implies_zero"],
            "no shelters but a shelter capacity of 800",
        );
        f.plant(
            80,
            &[("上一年度防灾减灾救灾资金投入总金额（万元）", "35000")],
            &["plaus.unit_slip"],
            "funding of 3.5 万元 entered in 元 (35000)",
        );
        f.expected.push((
            0,
            "ind.missing_input",
            "the villages whose only return is rejected here have null capacity indicators",
        ));
        f.trailing_blank = true;
        let last = ReturnFile::line(f.rows.len());
        f.expected.push((
            last,
            "struct.blank_row",
            "an empty row at the end, as spreadsheets export",
        ));
        self.files.push(f);
        Ok(())
    }

    /// A second schools file (a late supplementary return) that repeats one school of the first.
    fn schools_supplement(&mut self, world: &World, rng: &mut ChaCha8Rng) -> Result<()> {
        let main = self
            .files
            .iter()
            .find(|f| f.name.starts_with("HB-PSF-01"))
            .context("schools")?;
        let used: std::collections::BTreeSet<String> =
            main.rows.iter().map(|r| r[3].clone()).collect();
        let header = main.header.clone();
        let repeated = main.rows[20].clone();
        let mut f = ReturnFile::new("HB-PSF-01_学校_补报.csv", header, "UTF-8");
        for i in 0..12 {
            let v = pick(world.villages, rng, |v| {
                !used.contains(&v.code) && !f.rows.iter().any(|r| r[3] == v.code)
            });
            let base = short_name(&v.name);
            let base = if base.ends_with('村') || base.ends_with("社区") {
                base.to_string()
            } else {
                format!("{base}村")
            };
            let credit = credit_code("52", &v.code[..6], rng);
            let mut row = common_cells(world, v, &format!("{base}希望小学"), Some(&credit), rng)?;
            let students = rng.random_range(30..200);
            row.extend([
                "小学".to_string(),
                if i % 2 == 0 { "民办" } else { "公办" }.to_string(),
                students.to_string(),
                "0".into(),
                (students / 12 + 2).to_string(),
                format!("{:.1}", rng.random_range(1500.0..6000.0)),
                format!("{:.1}", rng.random_range(500.0..2000.0)),
                "否".into(),
            ]);
            f.rows.push(row);
        }
        f.rows[6] = repeated;
        f.expected.push((
            ReturnFile::line(6),
            "dup.across_files",
            "a school of HB-PSF-01_学校.csv (row 22) filed again",
        ));
        self.files.push(f);
        Ok(())
    }

    /// Shelters whose points were copied from a web map: true points shifted by GCJ-02. Six are
    /// chosen near a border, so the shift moves them out of their village.
    fn shelters_gcj02(&mut self, world: &World, rng: &mut ChaCha8Rng) -> Result<()> {
        let main = self
            .files
            .iter()
            .find(|f| f.name.starts_with("DR-GOV-10"))
            .context("shelters")?;
        let used: std::collections::BTreeSet<String> =
            main.rows.iter().map(|r| r[3].clone()).collect();
        let header = main.header.clone();
        let mut f = ReturnFile::new("DR-GOV-10_应急避难场所_高德坐标.csv", header, "UTF-8");
        let mut crossing = 0;
        while f.rows.len() < 30 {
            let v = pick(world.villages, rng, |v| {
                !used.contains(&v.code) && !f.rows.iter().any(|r| r[3] == v.code)
            });
            let want_cross = crossing < 6;
            let mut chosen = None;
            for _ in 0..2000 {
                let (lon, lat) = world.point_in(v, rng)?;
                let (gx, gy) = coordtransform::wgs84_to_gcj02(lon, lat);
                let (gx, gy) = ((gx * 1e6).round() / 1e6, (gy * 1e6).round() / 1e6);
                let lands = world.locate(gx, gy);
                let crosses = lands.is_some_and(|o| o.code != v.code);
                let back = coordtransform::gcj02_to_wgs84(gx, gy);
                let back_inside = world
                    .locate(back.0, back.1)
                    .is_some_and(|o| o.code == v.code);
                if back_inside && lands.is_some() && crosses == want_cross {
                    chosen = Some((gx, gy, lands.map(|o| o.code[..6] == v.code[..6])));
                    break;
                }
            }
            let Some((gx, gy, same_county)) = chosen else {
                continue;
            };
            let mut row = common_cells(
                world,
                v,
                &format!("{}文化广场应急避难场所", short_name(&v.name)),
                None,
                rng,
            )?;
            row[10] = format!("{gx:.6}");
            row[11] = format!("{gy:.6}");
            let land: f64 = rng.random_range(3000.0..20000.0);
            row.extend([
                "地震;综合灾害(自然灾害)".into(),
                "室外".into(),
                format!("{land:.0}"),
                "0".into(),
                format!("{:.0}", land * 0.4),
                "2".into(),
                "1".into(),
            ]);
            f.rows.push(row);
            if want_cross {
                crossing += 1;
                let line = ReturnFile::line(f.rows.len() - 1);
                if same_county == Some(true) {
                    f.expected.push((
                        line,
                        "geo.other_village",
                        "GCJ-02 shift moved the point into the neighbouring village",
                    ));
                } else {
                    f.expected.push((
                        line,
                        "geo.outside_county",
                        "GCJ-02 shift moved the point into the neighbouring county",
                    ));
                }
            }
        }
        f.expected.push((
            0,
            "geo.gcj02_shift",
            "the whole file is in GCJ-02 (web map) coordinates: said once for the file",
        ));
        self.files.push(f);
        Ok(())
    }

    /// Returns for the 27 classes without a hand-written generator, driven by their schemas:
    /// plausible values for every field that respect the schema's checks, as CSV or as filled
    /// census Excel forms, with the defects listed in `plants` below.
    fn every_other_class(
        &mut self,
        world: &World,
        schemas: &riskcensus_core::SchemaSet,
        rng: &mut ChaCha8Rng,
    ) -> Result<()> {
        self.taxonomy = Some(schemas.taxonomy.clone());
        let done = ["HB-PSF-01", "HB-PSF-02", "DR-GOV-10", "DR-GRS-02"];
        for (code, class) in schemas
            .classes
            .iter()
            .filter(|(c, _)| !done.contains(&c.as_str()))
        {
            let format = sample_format(code);
            let mut f = match format {
                SampleFormat::Csv => ReturnFile::new(
                    &format!("{code}_{}.csv", file_zh(&class.node.zh)),
                    class.fields.iter().map(|_| "").collect(),
                    "UTF-8",
                ),
                SampleFormat::Xlsx { numbers } => {
                    let mut f = ReturnFile::new(
                        &format!("{code}_{}.xlsx", file_zh(&class.node.zh)),
                        vec![],
                        "xlsx",
                    );
                    f.xlsx = Some((class.clone(), numbers));
                    f
                }
            };
            let header: Vec<String> = class.fields.iter().map(|fl| fl.label_with_unit()).collect();
            let first_line = if f.xlsx.is_some() { 4 } else { 2 };
            let mut rows = generic_rows(world, class, rng)?;
            if code == "DR-GRS-01" {
                // Township residents cover their villages' (DR-GRS-02) residents: a true roll-up.
                let communities = self
                    .files
                    .iter()
                    .find(|f| f.name.starts_with("DR-GRS-02"))
                    .context("communities")?;
                let col = communities.col("常住人口数量（人）");
                let mut by_township: BTreeMap<String, u64> = BTreeMap::new();
                for r in &communities.rows {
                    if let (Ok(n), Some(t)) = (r[col].parse::<u64>(), r[3].get(..9)) {
                        *by_township.entry(t.to_string()).or_default() += n;
                    }
                }
                let residents = class
                    .fields
                    .iter()
                    .position(|fl| fl.id == "residents")
                    .context("residents")?;
                let division = class
                    .fields
                    .iter()
                    .position(|fl| fl.id == "division_code")
                    .context("division_code")?;
                for row in rows.iter_mut() {
                    if let Some(sum) = row[division].get(..9).and_then(|t| by_township.get(t)) {
                        row[residents] = (sum + sum / 10 + rng.random_range(0..2000)).to_string();
                    }
                }
                let sum: u64 = rows[4][division]
                    .get(..9)
                    .and_then(|t| by_township.get(t))
                    .copied()
                    .unwrap_or(0);
                rows[4][residents] = (sum / 2).to_string();
                f.expected.push((
                    first_line + 4,
                    "xt.rollup",
                    "township residents half of its villages' residents",
                ));
            }
            if code == "DR-HH-01" {
                // One household from a village outside the sample.
                let division = class
                    .fields
                    .iter()
                    .position(|fl| fl.id == "division_code")
                    .context("division_code")?;
                let sampled: std::collections::BTreeSet<String> =
                    rows.iter().map(|r| r[division].clone()).collect();
                let outside = world
                    .villages
                    .iter()
                    .find(|v| v.code.starts_with("620423") && !sampled.contains(&v.code))
                    .context("village")?;
                let [_, _, _, t, vil] = world.names(&outside.code);
                let idx = |id: &str| class.fields.iter().position(|fl| fl.id == id);
                let (Some(ti), Some(vi)) = (idx("township"), idx("village")) else {
                    bail!("household fields")
                };
                rows[10][division] = outside.code.clone();
                rows[10][ti] = t;
                rows[10][vi] = vil;
                f.expected.push((
                    first_line + 10,
                    "xt.not_sampled",
                    "a household of a village outside the sample",
                ));
                eprintln!("household sample villages: {sampled:?}");
            }
            f.rows = rows;
            for plant in plants(code) {
                let (i, field, value, rule, what) = plant;
                let col = class
                    .fields
                    .iter()
                    .position(|fl| fl.id == field)
                    .with_context(|| format!("{code}: no field {field}"))?;
                f.rows[i][col] = value.to_string();
                f.expected.push((first_line + i as u64, rule, what));
            }
            if code == "DR-GOV-09" {
                // 实物储备 with its value left empty.
                let mode = class
                    .fields
                    .iter()
                    .position(|fl| fl.id == "reserve_mode")
                    .context("reserve_mode")?;
                let value = class
                    .fields
                    .iter()
                    .position(|fl| fl.id == "value")
                    .context("value")?;
                f.rows[4][mode] = "实物储备".into();
                f.rows[4][value] = String::new();
                f.expected.push((
                    first_line + 4,
                    "xf.conditional_required",
                    "实物储备 without 储备物资折合金额",
                ));
            }
            f.header = Vec::new();
            f.csv_header = header;
            self.files.push(f);
        }
        Ok(())
    }

    /// The capacity returns (DR-GRS-02, DR-GRS-01) of every village and township outside
    /// 白银区, laid out as the census import takes them: code, name and figures — no address,
    /// coordinates, 省/市/县/乡镇/村 or 代码类型, which riskcensus places or derives. All clean;
    /// with them the city-wide database has every capacity grade. Drawn from a generator of
    /// their own, so that the other returns stay as they were.
    fn capacity_elsewhere(
        &mut self,
        world: &World,
        schemas: &riskcensus_core::SchemaSet,
    ) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED + 20);
        let elsewhere: Vec<&Village> = world
            .villages
            .iter()
            .filter(|v| !v.code.starts_with("620402"))
            .collect();
        let villages_class = schemas.class("DR-GRS-02").context("DR-GRS-02")?;
        let mut villages = rows_at(world, villages_class, &elsewhere, &mut rng)?;
        let field = |class: &riskcensus_core::ResolvedClass, id: &str| {
            class
                .fields
                .iter()
                .position(|f| f.id == id)
                .context(id.to_string())
        };
        // Village figures of a village's size (the generic ones are a township's).
        let (residents, households) = (
            field(villages_class, "residents")?,
            field(villages_class, "households")?,
        );
        let mut by_township: BTreeMap<String, u64> = BTreeMap::new();
        // A village with a shelter has people enough for it (plaus.capacity_vs_population).
        let mut sheltered: BTreeMap<String, u64> = BTreeMap::new();
        if let Some(shelters) = self.files.iter().find(|f| f.name.starts_with("DR-GOV-10")) {
            let (code, capacity) = (
                shelters.col("行政区划代码"),
                shelters.col("避难所容纳人数（人）"),
            );
            for r in &shelters.rows {
                if let Ok(n) = r[capacity].parse::<u64>() {
                    let most = sheltered.entry(r[code].clone()).or_default();
                    *most = (*most).max(n);
                }
            }
        }
        for (row, v) in villages.iter_mut().zip(&elsewhere) {
            let floor = sheltered.get(&v.code).map_or(0, |n| n / 8);
            let people: u64 = rng.random_range(600..3500u64).max(floor);
            row[residents] = people.to_string();
            row[households] = (people * 10 / rng.random_range(26..34)).to_string();
            *by_township.entry(v.township.clone()).or_default() += people;
        }
        for row in &mut villages {
            apply_checks(villages_class, row);
        }
        let mut firsts = BTreeMap::new();
        for v in &elsewhere {
            firsts.entry(v.township.clone()).or_insert(*v);
        }
        let townships: Vec<&Village> = firsts.into_values().collect();
        let townships_class = schemas.class("DR-GRS-01").context("DR-GRS-01")?;
        let mut township_rows = rows_at(world, townships_class, &townships, &mut rng)?;
        let (residents, households) = (
            field(townships_class, "residents")?,
            field(townships_class, "households")?,
        );
        for (row, t) in township_rows.iter_mut().zip(&townships) {
            let villages = by_township.get(&t.township).copied().unwrap_or(0);
            let people = villages + villages / 10 + rng.random_range(0..500);
            row[residents] = people.to_string();
            row[households] = (people * 10 / rng.random_range(26..34)).to_string();
        }
        for (class, rows, name) in [
            (
                villages_class,
                villages,
                "DR-GRS-02_社区行政村_其他区县.csv",
            ),
            (
                townships_class,
                township_rows,
                "DR-GRS-01_乡镇街道_其他区县.csv",
            ),
        ] {
            // The columns the census import needs: no place, nothing derivable.
            let kept: Vec<usize> = (0..class.fields.len())
                .filter(|&i| {
                    let f = &class.fields[i];
                    !f.place
                        && f.derive.is_none()
                        && !matches!(f.id.as_str(), "credit_code" | "street")
                })
                .collect();
            let mut f = ReturnFile::new(name, vec![], "UTF-8");
            f.csv_header = kept
                .iter()
                .map(|&i| class.fields[i].label_with_unit())
                .collect();
            f.rows = rows
                .iter()
                .map(|r| kept.iter().map(|&i| r[i].clone()).collect())
                .collect();
            // One finding per name column derived from the code (a township code names no
            // village; 代码类型 needs the credit code these rows lack).
            let township_level = class.location == riskcensus_core::schema::LocationKind::Township;
            if class.location == riskcensus_core::schema::LocationKind::Township {
                f.expected.push((0, "ind.missing_input", "the township whose only return is rejected (白银区's xlsx) has null capacity indicators"));
            }
            f.expected.extend(
                class
                    .fields
                    .iter()
                    .filter_map(|fl| fl.derive)
                    .filter(|d| d.level().is_some())
                    .filter(|d| !(township_level && *d == riskcensus_core::schema::Derive::Village))
                    .map(|_| {
                        (
                            0,
                            "struct.derived_column",
                            "省/市/县/乡镇(/村) left out, as the census import allows: derived",
                        )
                    }),
            );
            self.files.push(f);
        }
        Ok(())
    }

    fn write(&self, out: &Path) -> Result<()> {
        let mut expected = csv::Writer::from_writer(Vec::new());
        expected.write_record(["file", "row", "rule", "defect"])?;
        for f in &self.files {
            if let Some((class, store_numbers)) = &f.xlsx {
                riskcensus_forms::write_filled(
                    class,
                    &self.taxonomy.clone().context("taxonomy")?,
                    &f.rows,
                    *store_numbers,
                    &out.join("returns").join(&f.name),
                )?;
                let mut rows = f.expected.clone();
                rows.sort();
                for (line, rule, what) in rows {
                    expected.write_record([
                        format!("returns/{}", f.name),
                        line.to_string(),
                        rule.to_string(),
                        what.to_string(),
                    ])?;
                }
                continue;
            }
            let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
            if f.header.is_empty() {
                w.write_record(&f.csv_header)?;
            } else {
                w.write_record(&f.header)?;
            }
            for r in &f.rows {
                w.write_record(r)?;
            }
            if f.trailing_blank {
                w.write_record(vec![""; f.header.len()])?;
            }
            let text = String::from_utf8(w.into_inner()?)?;
            let bytes = match f.encoding {
                "GBK" => {
                    let (b, _, unmappable) = encoding_rs::GBK.encode(&text);
                    if unmappable {
                        bail!("{} has characters GBK cannot encode", f.name);
                    }
                    b.into_owned()
                }
                "UTF-8-BOM" => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
                _ => text.into_bytes(),
            };
            std::fs::write(out.join("returns").join(&f.name), bytes)?;
            let mut rows = f.expected.clone();
            rows.sort();
            for (line, rule, what) in rows {
                expected.write_record([
                    format!("returns/{}", f.name),
                    line.to_string(),
                    rule.to_string(),
                    what.to_string(),
                ])?;
            }
        }
        std::fs::write(out.join("expected_findings.csv"), expected.into_inner()?)?;
        Ok(())
    }
}

/// How a generic class's sample is written.
enum SampleFormat {
    Csv,
    Xlsx { numbers: bool },
}

fn sample_format(code: &str) -> SampleFormat {
    match code {
        // Census Excel forms with numbers stored as text, as pasted.
        "HB-PSF-03" | "HB-PSF-05" | "HB-HCS-01" | "HB-NCM-01" | "DR-GOV-02" | "DR-GOV-04"
        | "DR-GOV-06" | "DR-ENT-01" => SampleFormat::Xlsx { numbers: false },
        // Filled by hand in Excel: numbers, 12-digit codes and dates stored as Excel numbers and dates.
        "HB-PSF-07" | "HB-HCS-02" | "DR-GOV-08" | "DR-GOV-09" | "DR-GRS-01" | "DR-HH-01" => {
            SampleFormat::Xlsx { numbers: true }
        }
        _ => SampleFormat::Csv,
    }
}

fn file_zh(zh: &str) -> String {
    zh.replace(['/', '\\', '（', '）', '(', ')', '、'], "")
}

/// The defects planted in the generic samples: (row index, field, value, rule, what).
fn plants(
    code: &str,
) -> Vec<(
    usize,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    match code {
        "HB-PSF-03" => vec![(
            2,
            "beds",
            "",
            "cell.required",
            "床位数 left empty in an Excel form",
        )],
        "HB-PSF-04" => vec![(
            1,
            "venue_type",
            "图书室",
            "cell.code_list",
            "图书室 is not in the venue code list",
        )],
        "HB-PSF-05" => vec![(
            3,
            "grade",
            "AAAA",
            "cell.code_list",
            "rating written AAAA instead of 4A",
        )],
        "HB-PSF-06" => vec![(
            2,
            "star",
            "准四星",
            "cell.code_list",
            "准四星 is not a star rating",
        )],
        "HB-PSF-08" => vec![(
            1,
            "peak",
            "很多",
            "cell.type",
            "peak attendance written as 很多",
        )],
        "HB-PSF-09" => vec![(
            2,
            "daily_visitors",
            "-20",
            "cell.range",
            "negative visitors",
        )],
        "HB-HCS-01" => vec![(
            1,
            "hazchem_firms",
            "999",
            "xf.part_exceeds_total",
            "more hazardous-chemical firms than firms",
        )],
        "HB-HCS-02" => vec![(
            3,
            "opened",
            "2021-06-01",
            "cell.date_range",
            "opened after the reference date 2020-12-31",
        )],
        "HB-NCM-01" => vec![(
            2,
            "status",
            "正常生产;其他",
            "xf.conditional_required",
            "生产状态 其他 without its 说明",
        )],
        "HB-NCM-02" => vec![(
            1,
            "status",
            "正常生产;整改",
            "cell.code_list",
            "整改 is not a production status",
        )],
        "HB-NCM-03" => vec![(
            2,
            "current_capacity",
            "9999",
            "xf.part_exceeds_total",
            "used capacity above total capacity",
        )],
        "DR-GOV-01" => vec![(
            3,
            "level",
            "区级",
            "cell.code_list",
            "区级 is not a level (县级)",
        )],
        "DR-GOV-03" => vec![(1, "members", "", "cell.required", "members left empty")],
        "DR-GOV-05" => vec![(
            2,
            "members",
            "十二",
            "cell.type",
            "members written in words",
        )],
        "DR-GOV-07" => vec![(1, "level", "省", "cell.code_list", "省 instead of 省级")],
        "DR-GOV-11" => vec![(1, "boats", "-3", "cell.range", "negative design capacity")],
        "DR-ENT-02" => vec![(
            2,
            "lines",
            "农业保险、车险",
            "cell.code_list",
            "车险 is not a disaster line",
        )],
        "DR-ENT-03" => vec![(
            3,
            "org_level",
            "其他",
            "xf.conditional_required",
            "组织级别 其他 without its 说明",
        )],
        "DR-GRS-01" => vec![(
            2,
            "shelters",
            "0",
            "xf.zero_implies_zero",
            "no shelters but a shelter capacity",
        )],
        "DR-HH-01" => vec![(
            5,
            "under10",
            "9",
            "xf.part_exceeds_total",
            "children and elderly exceed the household size",
        )],
        _ => vec![],
    }
}

/// Plausible rows for a class: every field filled by type, the schema's checks respected.
fn generic_rows(
    world: &World,
    class: &riskcensus_core::ResolvedClass,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<String>>> {
    use riskcensus_core::schema::DivisionLevel;
    let code = class.node.code.as_str();
    let household = code == "DR-HH-01";
    let township = class.division_level == DivisionLevel::Township;
    // Where the rows are: townships of 白银区 for 乡镇 returns, 36 households in 3 sampled villages
    // of 景泰县, else one village each, all distinct.
    let places: Vec<&Village> = if township {
        let mut seen = BTreeMap::new();
        for v in world
            .villages
            .iter()
            .filter(|v| v.code.starts_with("620402"))
        {
            seen.entry(v.township.clone()).or_insert(v);
        }
        seen.into_values().collect()
    } else if household {
        let sampled: Vec<&Village> = world
            .villages
            .iter()
            .filter(|v| v.code.starts_with("620423"))
            .step_by(37)
            .take(3)
            .collect();
        sampled.iter().cycle().take(36).copied().collect()
    } else {
        let n = if code == "DR-GOV-11" { 3 } else { 8 };
        let mut used = std::collections::BTreeSet::new();
        (0..n)
            .map(|_| {
                let v = pick(world.villages, rng, |v| {
                    !used.contains(&v.code) && !encoding_rs::GBK.encode(&v.name).2
                });
                used.insert(v.code.clone());
                v
            })
            .collect()
    };
    rows_at(world, class, &places, rng)
}

/// One plausible row of `class` per place (a village; its township for township classes).
fn rows_at(
    world: &World,
    class: &riskcensus_core::ResolvedClass,
    places: &[&Village],
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<String>>> {
    use riskcensus_core::schema::DivisionLevel;
    use riskcensus_core::FieldType;
    let code = class.node.code.as_str();
    let township = class.division_level == DivisionLevel::Township;
    let mut rows = Vec::new();
    for (i, v) in places.iter().enumerate() {
        let [p, c, x, t, vil] = world.names(&v.code);
        let (lon, lat) = world.point_in(v, rng)?;
        let division = if township {
            format!("{}000", v.township)
        } else {
            v.code.clone()
        };
        let name = if township {
            t.clone()
        } else {
            format!("{}{}", short_name(&v.name), class_short(code))
        };
        let mut row: Vec<String> = Vec::new();
        for f in &class.fields {
            let value = match (f.id.as_str(), f.field_type) {
                ("name", _) => name.clone(),
                ("credit_code", _) => credit_code(
                    if code.starts_with("DR-ENT")
                        || code.starts_with("HB-HCS")
                        || code.starts_with("HB-NCM")
                    {
                        "91"
                    } else {
                        "12"
                    },
                    &v.code[..6],
                    rng,
                ),
                ("code_type", _) => "统一社会信用代码".into(),
                ("province", _) => p.clone(),
                ("city", _) => c.clone(),
                ("county", _) => x.clone(),
                ("township", _) => t.clone(),
                ("village", _) => {
                    if township {
                        String::new()
                    } else {
                        vil.clone()
                    }
                }
                ("street", _) => String::new(),
                ("address", _) => format!(
                    "{x}{t}{}{}号",
                    if township { "" } else { vil.as_str() },
                    rng.random_range(1..300)
                ),
                ("mineral", _) => ["铜", "铅锌", "石膏", "石灰岩"][i % 4].into(),
                ("residents", FieldType::Integer) => rng.random_range(8000..60000).to_string(),
                ("households", FieldType::Integer) => rng.random_range(2500..20000).to_string(),
                (_, FieldType::DivisionCode) => division.clone(),
                (_, FieldType::Longitude) => format!("{lon:.6}"),
                (_, FieldType::Latitude) => format!("{lat:.6}"),
                _ => riskcensus_synth::random_value(f, rng),
            };
            row.push(value);
        }
        apply_checks(class, &mut row);
        rows.push(row);
    }
    Ok(rows)
}

/// Make a generated row respect the schema's checks: parts within totals, zero counts with
/// zero amounts, notes where required.
fn apply_checks(class: &riskcensus_core::ResolvedClass, row: &mut [String]) {
    use riskcensus_core::schema::Check;
    use riskcensus_core::FieldType;
    // The schema's checks: parts within totals, zero counts with zero amounts, notes.
    let idx = |id: &str| class.fields.iter().position(|f| f.id == id);
    for check in &class.checks {
        match check {
            Check::PartLeTotal { parts, total } => {
                let Some(t) = idx(total) else { continue };
                let total: f64 = row[t].parse().unwrap_or(0.0);
                for p in parts.iter().filter_map(|p| idx(p)) {
                    let share = (total / (2.0 * parts.len() as f64)).floor();
                    row[p] = if row[p].contains('.') {
                        format!("{share:.1}")
                    } else {
                        format!("{}", share as i64)
                    };
                }
            }
            Check::ZeroImpliesZero { count, amount } => {
                if let (Some(c), Some(a)) = (idx(count), idx(amount)) {
                    if row[c] == "0" {
                        row[a] = "0".into();
                    }
                }
            }
            Check::RequiredIf {
                field,
                when,
                equals,
            } => {
                if let (Some(fi), Some(wi)) = (idx(field), idx(when)) {
                    let triggered = match equals {
                        Some(e) => row[wi].split(';').any(|x| x == e),
                        None => !row[wi].is_empty(),
                    };
                    if triggered && row[fi].is_empty() {
                        row[fi] = if class.fields[fi].field_type == FieldType::Enum {
                            class.fields[fi].codes[0].clone()
                        } else {
                            "12.5".into()
                        };
                    }
                }
            }
            Check::MaxPerResident { .. }
            | Check::VillagesWithinTownship { .. }
            | Check::SampledVillagesOnly => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskcensus_core::uscc;

    #[test]
    fn generated_credit_codes_are_valid() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let c = credit_code("12", "620402", &mut rng);
            assert_eq!(uscc::check(&c), Ok(()), "{c}");
        }
    }
}

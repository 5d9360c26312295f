//! Point location: each record's point reprojected, checked against China, its county and its
//! declared village, and joined to the village that holds it.

use std::collections::HashMap;

use riskcensus_core::{Finding, Rule};

use crate::{covers, detect_gcj02, near_duplicates, Crs, LocateError, Village, VillageIndex};

/// China's extent as the census uses it (taxonomy.md §3): 73–136°E, 3–54°N.
pub const CHINA_LON: (f64, f64) = (73.0, 136.0);
/// See [`CHINA_LON`].
pub const CHINA_LAT: (f64, f64) = (3.0, 54.0);

pub(crate) fn in_china(lon: f64, lat: f64) -> bool {
    (CHINA_LON.0..=CHINA_LON.1).contains(&lon) && (CHINA_LAT.0..=CHINA_LAT.1).contains(&lat)
}

/// The input of [`locate`]: one file's points and declared village codes.
#[derive(Debug, Clone, Copy)]
pub struct PointInput<'a> {
    /// The file name for findings.
    pub file: &'a str,
    /// The class code.
    pub class: &'a str,
    /// Line numbers of the rows.
    pub lines: &'a [u64],
    /// X (longitude or easting) per row.
    pub x: &'a [Option<f64>],
    /// Y (latitude or northing) per row.
    pub y: &'a [Option<f64>],
    /// The declared 12-digit village code per row.
    pub codes: &'a [Option<&'a str>],
    /// Header of the longitude column (for findings).
    pub x_header: &'a str,
    /// Header of the latitude column.
    pub y_header: &'a str,
    /// The record names (for near-duplicate detection).
    pub names: &'a [Option<&'a str>],
    /// Header of the name column.
    pub name_header: &'a str,
    /// The codes are township codes (乡镇 returns): check the point against the township.
    pub township_level: bool,
}

/// Where each row's point is, in EPSG:4490.
#[derive(Debug, Clone, Default)]
pub struct Located<'v> {
    /// Longitude per row (None when absent or unusable).
    pub lon: Vec<Option<f64>>,
    /// Latitude per row.
    pub lat: Vec<Option<f64>>,
    /// The code of the village whose polygon contains the point, per row (borrowed from the
    /// index: no copy per row).
    pub village: Vec<Option<&'v str>>,
    /// Spatial findings.
    pub findings: Vec<Finding>,
}

/// Check every point against China's extent and the polygons of its declared village and county.
pub fn locate<'v>(
    input: PointInput<'_>,
    crs: &Crs,
    index: &'v VillageIndex,
    county_names: &HashMap<String, String>,
) -> Result<Located<'v>, LocateError> {
    let n = input.lines.len();
    let mut out = Located {
        lon: vec![None; n],
        lat: vec![None; n],
        village: vec![None; n],
        findings: Vec::new(),
    };
    let both = format!("{}/{}", input.x_header, input.y_header);
    // Rows whose point is outside the declared village: (row, its finding, point, declared code).
    let mut outside: Vec<(usize, usize, (f64, f64), &str)> = Vec::new();
    let mut inside: Vec<(usize, (f64, f64), &str)> = Vec::new();
    for i in 0..n {
        let (Some(x), Some(y)) = (input.x[i], input.y[i]) else {
            continue;
        };
        let line = input.lines[i];
        // The cell text is formatted only for rows with a finding (most rows have none).
        let finding = |rule: Rule, zh: String, en: String| {
            Finding::new(input.file, input.class, rule, zh, en)
                .at_row(line)
                .in_column(both.clone(), Some(format!("{x}, {y}")))
        };
        if x == 0.0 && y == 0.0 {
            out.findings.push(finding(
                Rule::ZeroPoint,
                "坐标为 (0, 0)，未定位".into(),
                "point is (0, 0): not located".into(),
            ));
            continue;
        }
        // A coordinate the CRS cannot take (far outside its zone, non-finite) is this row's
        // finding, not the run's end.
        let Ok((lon, lat)) = crs.to_cgcs2000(x, y) else {
            out.findings.push(finding(
                Rule::OutsideChina,
                format!(
                    "坐标 ({x}, {y}) 无法从 EPSG:{} 换算为经纬度，不在中国范围内",
                    crs.epsg()
                ),
                format!(
                    "point ({x}, {y}) cannot be reprojected from EPSG:{}: it is nowhere in China",
                    crs.epsg()
                ),
            ));
            continue;
        };
        if !in_china(lon, lat) {
            if in_china(lat, lon) {
                out.findings.push(finding(Rule::Swapped,
                    format!("经纬度填反，应为 经度 {lat}、纬度 {lon}"),
                    format!("longitude and latitude are swapped; the point is probably ({lat}, {lon})")).at_point(lat, lon));
            } else {
                out.findings.push(finding(
                    Rule::OutsideChina,
                    format!("坐标 ({lon}, {lat}) 不在中国范围内（经度73–136，纬度3–54）"),
                    format!("point ({lon}, {lat}) is outside China (73–136°E, 3–54°N)"),
                ));
            }
            continue;
        }
        out.lon[i] = Some(lon);
        out.lat[i] = Some(lat);
        let declared = input.codes[i];
        let matches = |v: &Village, d: &str| {
            if input.township_level {
                v.township == d[..9]
            } else {
                v.code == d
            }
        };
        // Most points lie in the village they declare. When that village is the only one with
        // its code, it is the preferred answer if it holds the point, and the R-tree walk (cache
        // misses down a tree of 600,000 boxes: a third of locating) is not needed.
        let sole_declared = declared
            .filter(|_| !input.township_level)
            .and_then(|d| index.sole(d))
            .filter(|v| covers(&v.geometry, lon, lat));
        let hit = sole_declared.or_else(|| {
            index.containing_preferred(lon, lat, |v| declared.is_some_and(|d| matches(v, d)))
        });
        out.village[i] = hit.map(|v| v.code.as_str());
        let known = |d: &&str| {
            if input.township_level {
                index.has_township(&d[..9])
            } else {
                index.get(d).is_some()
            }
        };
        // A declared village found by its code is known without a second look-up.
        let Some(declared) = declared.filter(|d| sole_declared.is_some() || known(d)) else {
            continue;
        };
        let declared_county = &declared[..6];
        if hit.is_some_and(|v| matches(v, declared)) {
            inside.push((i, (lon, lat), declared));
        } else {
            outside.push((i, out.findings.len(), (lon, lat), declared));
        }
        match hit {
            Some(v) if matches(v, declared) => {}
            Some(v) if v.county == declared_county => out.findings.push(
                finding(
                    Rule::OtherVillage,
                    format!("坐标落在 {}（{}），而非所填的村 {declared}", v.name, v.code),
                    format!(
                        "point lies in {} ({}), not in the declared village {declared}",
                        v.name, v.code
                    ),
                )
                .at_point(lon, lat),
            ),
            other => {
                let declared_name = county_names
                    .get(declared_county)
                    .map_or(declared_county, String::as_str);
                let (zh_where, en_where) = match other {
                    Some(v) => {
                        let cn = county_names
                            .get(&v.county)
                            .map_or(v.county.as_str(), String::as_str);
                        (
                            format!("落在{cn}的 {}（{}）", v.name, v.code),
                            format!("lies in {} ({}) of {cn}", v.name, v.code),
                        )
                    }
                    None => (
                        "不在任何已知村界内".to_string(),
                        "lies in no known village".to_string(),
                    ),
                };
                out.findings.push(
                    finding(
                        Rule::OutsideCounty,
                        format!("坐标不在所填区县 {declared_name} 内：{zh_where}"),
                        format!(
                            "point is outside the declared county {declared_name}: it {en_where}"
                        ),
                    )
                    .at_point(lon, lat),
                );
            }
        }
    }
    let shift = if input.township_level {
        None
    } else {
        detect_gcj02(index, &inside, &outside)
    };
    if let Some(shift) = shift {
        for &(i, finding, _, _) in &outside {
            if let Some((lon, lat)) = shift.corrected.get(&i) {
                let f = &mut out.findings[finding];
                f.message_zh.push_str(&format!(
                    "；按GCJ-02纠正后为 ({lon:.6}, {lat:.6})，位于所填村内"
                ));
                f.message_en.push_str(&format!("; corrected from GCJ-02 it is ({lon:.6}, {lat:.6}), inside the declared village"));
            }
        }
        out.findings.push(Finding::new(input.file, input.class, Rule::Gcj02Shift,
            format!("整批坐标疑为GCJ-02（网络地图）坐标：{} 个落在所填村外的点中，{} 个经GCJ-02→CGCS2000纠正后落回所填村内；纠正后的坐标见各行提示",
                outside.len(), shift.fixed),
            format!("the file looks shifted by the GCJ-02 (web map) offset: of {} points outside their declared village, {} fall inside it once corrected from GCJ-02 to CGCS2000; each row's finding gives the corrected point",
                outside.len(), shift.fixed)).in_column(both.clone(), None));
    }
    out.findings.extend(near_duplicates(&input, &out));
    Ok(out)
}

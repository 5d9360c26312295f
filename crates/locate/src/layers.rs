//! Polygon layers as GIS staff hold them: GeoJSON, ESRI Shapefile, GeoPackage and GeoParquet.
//! The format follows from the file's extension; each feature gives a code, a name (fields
//! named by the pipeline: `adcode`, `XZQDM`, `QHDM` …) and a polygon, reprojected to EPSG:4490.
//!
//! The CRS is the one the pipeline declares for the layer; a file that states its own — a
//! Shapefile's `.prj`, a GeoPackage's `srs_id`, GeoParquet's `geo` metadata — must agree, or
//! the read fails naming both (CGCS2000 and WGS 84 degrees agree). Where the pipeline declares none, the file's own CRS is used
//! (EPSG:4490 when it states none either).
//!
//! ```
//! use riskcensus_locate::layers::{read_polygons, LayerSpec};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("c.geojson");
//! std::fs::write(&path, r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
//!   "properties": {"XZQDM": 620402, "XZQMC": "白银区"}, "geometry": {"type": "Polygon",
//!   "coordinates": [[[104, 36], [105, 36], [105, 37], [104, 36]]]}}]}"#).unwrap();
//! let spec = LayerSpec { path: &path, shown: "c.geojson", crs: None, layer: None,
//!     code_field: "XZQDM", name_field: "XZQMC" };
//! let features = read_polygons(&spec).unwrap();
//! assert_eq!((features[0].code.as_str(), features[0].name.as_str()), ("620402", "白银区"));
//! ```

use std::path::Path;

use geo_types::{Geometry, MultiPolygon};
use rayon::prelude::*;

use crate::{Crs, LocateError};

/// What to read.
#[derive(Debug, Clone, Copy)]
pub struct LayerSpec<'a> {
    /// The file.
    pub path: &'a Path,
    /// The file as findings and errors show it.
    pub shown: &'a str,
    /// The CRS the pipeline declares (the layer's `crs`, else `[geometry] crs`), if any.
    pub crs: Option<&'a Crs>,
    /// The layer of a GeoPackage (default: the only one).
    pub layer: Option<&'a str>,
    /// The field holding the division code.
    pub code_field: &'a str,
    /// The field holding the name.
    pub name_field: &'a str,
}

/// One polygon feature, in EPSG:4490.
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonFeature {
    /// The division code as written (integers as digits).
    pub code: String,
    /// The name (empty when missing).
    pub name: String,
    /// The `level` field, when the layer has one (county layers holding other levels).
    pub level: Option<String>,
    /// The polygon.
    pub geometry: MultiPolygon<f64>,
    /// Whether a ring was not closed (GeoJSON; closed on reading).
    pub unclosed: bool,
}

/// The formats, as errors list them.
pub const FORMATS: &str =
    "GeoJSON (.geojson, .json), ESRI Shapefile (.shp), GeoPackage (.gpkg), GeoParquet (.parquet)";

/// Read every polygon feature of a layer.
pub fn read_polygons(spec: &LayerSpec<'_>) -> Result<Vec<PolygonFeature>, LocateError> {
    let extension = spec
        .path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "geojson" | "json" => geojson(spec),
        "shp" => shapefile(spec),
        "gpkg" => geopackage(spec),
        "parquet" | "geoparquet" => geoparquet(spec),
        _ => Err(error(
            spec,
            format!("not a polygon format riskcensus reads; use {FORMATS}"),
        )),
    }
}

fn error(spec: &LayerSpec<'_>, message: String) -> LocateError {
    LocateError::Geometry {
        path: spec.shown.to_string(),
        message,
    }
}

/// The CRS to read in: the declared one, which a CRS the file states must match. CGCS2000 and
/// WGS 84 longitude/latitude count as the same (they differ by well under a metre; many files
/// label CGCS2000 degrees WGS 84).
fn agreed_crs(spec: &LayerSpec<'_>, stated: Option<u16>) -> Result<Crs, LocateError> {
    let degrees = |code: u16| matches!(code, 4326 | 4490);
    match (spec.crs, stated) {
        (Some(declared), Some(code))
            if declared.epsg() != code && !(degrees(code) && degrees(declared.epsg())) =>
        {
            Err(error(
            spec,
            format!(
                "the file says EPSG:{code}, the pipeline declares EPSG:{}: set the layer's `crs` to \
                 what the data are in",
                declared.epsg()
            ),
        ))
        }
        (Some(declared), _) => Ok(declared.clone()),
        (None, Some(code)) => {
            Crs::parse(&format!("EPSG:{code}")).map_err(|e| error(spec, e.to_string()))
        }
        (None, None) => Ok(Crs::cgcs2000()),
    }
}

/// A polygon geometry as a multipolygon; `None` for other kinds.
fn multipolygon(geometry: Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match geometry {
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        Geometry::MultiPolygon(m) => Some(m),
        _ => None,
    }
}

/// One feature from its values, reprojected; `i` counts features from 0 for messages.
fn feature(
    spec: &LayerSpec<'_>,
    crs: &Crs,
    i: usize,
    code: Option<String>,
    name: Option<String>,
    level: Option<String>,
    geometry: Option<Geometry<f64>>,
) -> Result<PolygonFeature, LocateError> {
    let code = code.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
        error(
            spec,
            format!("feature {i} has no `{}` value", spec.code_field),
        )
    })?;
    let code = code.trim().to_string();
    let geometry = geometry.ok_or_else(|| {
        error(
            spec,
            format!("feature {i} ({code}) has no readable geometry"),
        )
    })?;
    let kind = format!("{geometry:?}");
    let polygons = multipolygon(geometry).ok_or_else(|| {
        error(
            spec,
            format!(
                "feature {i} ({code}) is a {}, not a polygon",
                kind.split('(').next().unwrap_or("geometry")
            ),
        )
    })?;
    let geometry = crs
        .polygons_to_cgcs2000(polygons)
        .map_err(|e| error(spec, format!("feature {i} ({code}): {e}")))?;
    Ok(PolygonFeature {
        code,
        name: name.unwrap_or_default().trim().to_string(),
        level,
        geometry,
        unclosed: false,
    })
}

/// A JSON property as text (numbers as digits).
fn json_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The features of a collection, split as text first and parsed in parallel (one thread parsing
/// 600,000 village polygons took ≈ 2 s).
#[derive(serde::Deserialize)]
struct FeatureTexts<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    features: Option<Vec<&'a serde_json::value::RawValue>>,
}

fn geojson(spec: &LayerSpec<'_>) -> Result<Vec<PolygonFeature>, LocateError> {
    let bytes = std::fs::read(spec.path).map_err(|e| error(spec, e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| error(spec, "not UTF-8".into()))?;
    let collection: FeatureTexts<'_> =
        serde_json::from_str(text).map_err(|e| error(spec, e.to_string()))?;
    if collection.kind != "FeatureCollection" {
        return Err(error(
            spec,
            format!(
                "expected a GeoJSON FeatureCollection, found type `{}`",
                collection.kind
            ),
        ));
    }
    let features = collection
        .features
        .ok_or_else(|| error(spec, "the FeatureCollection has no `features`".into()))?;
    let crs = agreed_crs(spec, None)?;
    features
        .par_iter()
        .enumerate()
        .map(|(i, raw)| {
            let parsed: geojson::Feature = raw
                .get()
                .parse()
                .map_err(|e: geojson::Error| error(spec, format!("feature {i}: {e}")))?;
            let property = |k: &str| json_text(parsed.property(k));
            // GeoJSON rings must be closed; converting closes them, and the check says so.
            let unclosed = match parsed.geometry.as_ref().map(|g| &g.value) {
                Some(geojson::GeometryValue::Polygon { coordinates }) => {
                    coordinates.iter().any(|r| r.first() != r.last())
                }
                Some(geojson::GeometryValue::MultiPolygon { coordinates }) => {
                    coordinates.iter().flatten().any(|r| r.first() != r.last())
                }
                _ => false,
            };
            if let Some(g) = parsed
                .geometry
                .as_ref()
                .filter(|g| has_short_position(&g.value))
            {
                return Err(error(
                    spec,
                    format!(
                        "feature {i}: a {} position has fewer than 2 numbers",
                        g.value.type_name()
                    ),
                ));
            }
            let geometry = match &parsed.geometry {
                Some(g) => Some(
                    Geometry::<f64>::try_from(g)
                        .map_err(|e: geojson::Error| error(spec, format!("feature {i}: {e}")))?,
                ),
                None => None,
            };
            let mut f = feature(
                spec,
                &crs,
                i,
                property(spec.code_field),
                property(spec.name_field),
                property("level"),
                geometry,
            )?;
            f.unclosed = unclosed;
            Ok(f)
        })
        .collect()
}

/// Whether a geometry holds a position of fewer than two numbers (`[104.1]`): geojson's
/// conversion to geo-types indexes `[0]` and `[1]` unchecked and would panic on it.
fn has_short_position(value: &geojson::GeometryValue) -> bool {
    use geojson::GeometryValue as G;
    let short = |p: &geojson::Position| p.len() < 2;
    match value {
        G::Point { coordinates } => short(coordinates),
        G::MultiPoint { coordinates } | G::LineString { coordinates } => {
            coordinates.iter().any(short)
        }
        G::MultiLineString { coordinates } | G::Polygon { coordinates } => {
            coordinates.iter().flatten().any(short)
        }
        G::MultiPolygon { coordinates } => coordinates.iter().flatten().flatten().any(short),
        G::GeometryCollection { geometries } => {
            geometries.iter().any(|g| has_short_position(&g.value))
        }
    }
}

/// What a `.prj` (ESRI WKT) says the CRS is, as an EPSG code riskcensus reads: CGCS2000 or WGS 84
/// longitude/latitude, or a CGCS2000 Gauss-Krüger zone told by its central meridian and false
/// easting (a zone number in the easting, or the 3°/6° width in the name). `None` when it cannot
/// tell.
///
/// ```
/// use riskcensus_locate::layers::epsg_of_prj;
/// let gk = r#"PROJCS["CGCS2000_3_Degree_GK_CM_105E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
/// assert_eq!(epsg_of_prj(gk), Some(4544));
/// assert_eq!(epsg_of_prj(r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]]]"#), Some(4326));
/// ```
pub fn epsg_of_prj(wkt: &str) -> Option<u16> {
    let upper = wkt.to_ascii_uppercase();
    let cgcs = upper.contains("2000") || upper.contains("CGCS");
    if upper.trim_start().starts_with("GEOGCS") {
        return if cgcs {
            Some(4490)
        } else if upper.contains("WGS") && upper.contains("84") {
            Some(4326)
        } else {
            None
        };
    }
    if !upper.trim_start().starts_with("PROJCS") || !cgcs {
        return None;
    }
    let parameter = |name: &str| -> Option<f64> {
        let at = upper.find(&format!("PARAMETER[\"{name}\""))?;
        let rest = &upper[at..];
        let value = rest.split(',').nth(1)?;
        value.trim_end_matches(']').trim().parse().ok()
    };
    let meridian = parameter("CENTRAL_MERIDIAN")?;
    let easting = parameter("FALSE_EASTING")?;
    let zone = ((easting - 500_000.0) / 1_000_000.0).round();
    let whole = |x: f64| (x - x.round()).abs() < 1e-9;
    if !whole(meridian) {
        return None;
    }
    let meridian = meridian.round() as i64;
    if zone >= 1.0 {
        let zone = zone as i64;
        return match zone {
            13..=23 if meridian == 6 * zone - 3 => u16::try_from(4491 + zone - 13).ok(),
            25..=45 if meridian == 3 * zone => u16::try_from(4513 + zone - 25).ok(),
            _ => None,
        };
    }
    let three = upper.contains("3_DEGREE") || upper.contains("3 DEGREE");
    let six = upper.contains("6_DEGREE") || upper.contains("6 DEGREE");
    match (three, six) {
        (true, false) if (75..=135).contains(&meridian) && meridian % 3 == 0 => {
            u16::try_from(4534 + (meridian - 75) / 3).ok()
        }
        (false, true) if (75..=135).contains(&meridian) && (meridian - 75) % 6 == 0 => {
            u16::try_from(4502 + (meridian - 75) / 6).ok()
        }
        _ => None,
    }
}

/// A dBase value as text (numbers without a trailing `.0`).
fn dbase_text(value: Option<&shapefile::dbase::FieldValue>) -> Option<String> {
    use shapefile::dbase::FieldValue;
    let number = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{f:.0}")
        } else {
            f.to_string()
        }
    };
    match value? {
        FieldValue::Character(Some(s)) => Some(s.clone()),
        FieldValue::Numeric(Some(f)) => Some(number(*f)),
        FieldValue::Float(Some(f)) => Some(number(f64::from(*f))),
        FieldValue::Integer(i) => Some(i.to_string()),
        FieldValue::Double(f) => Some(number(*f)),
        _ => None,
    }
}

fn shapefile(spec: &LayerSpec<'_>) -> Result<Vec<PolygonFeature>, LocateError> {
    let path = spec.path;
    let stated = match std::fs::read_to_string(path.with_extension("prj")) {
        Ok(wkt) => match (epsg_of_prj(&wkt), spec.crs) {
            (Some(code), _) => Some(code),
            (None, Some(_)) => None,
            (None, None) => {
                return Err(error(
                    spec,
                    format!(
                        "cannot tell the CRS of its .prj ({}): declare the layer's `crs`",
                        wkt.chars().take(80).collect::<String>()
                    ),
                ))
            }
        },
        Err(_) => None,
    };
    let crs = agreed_crs(spec, stated)?;
    let encoding = std::fs::read_to_string(path.with_extension("cpg"))
        .ok()
        .and_then(|label| encoding_rs::Encoding::for_label(label.trim().as_bytes()))
        .unwrap_or(encoding_rs::GB18030);
    let shapes = shapefile::ShapeReader::from_path(path).map_err(|e| error(spec, e.to_string()))?;
    let dbf = std::fs::File::open(path.with_extension("dbf")).map_err(|e| {
        error(
            spec,
            format!("{}: {e}", path.with_extension("dbf").display()),
        )
    })?;
    let records = shapefile::dbase::ReaderBuilder::new()
        .with_encoding(shapefile::dbase::encoding::EncodingRs::from(encoding))
        .build(std::io::BufReader::new(dbf))
        .map_err(|e| error(spec, e.to_string()))?;
    let mut reader = shapefile::Reader::new(shapes, records);
    let mut out = Vec::new();
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) = item.map_err(|e| error(spec, format!("record {i}: {e}")))?;
        let geometry = match shape {
            shapefile::Shape::Polygon(p) => MultiPolygon::<f64>::try_from(p)
                .ok()
                .map(Geometry::MultiPolygon),
            shapefile::Shape::NullShape => None,
            other => {
                return Err(error(
                    spec,
                    format!("record {i} is a {}, not a polygon", other.shapetype()),
                ))
            }
        };
        out.push(feature(
            spec,
            &crs,
            i,
            dbase_text(record.get(spec.code_field)),
            dbase_text(record.get(spec.name_field)),
            dbase_text(record.get("level")),
            geometry,
        )?);
    }
    Ok(out)
}

fn geopackage(spec: &LayerSpec<'_>) -> Result<Vec<PolygonFeature>, LocateError> {
    let gpkg = riskcensus_gpkg::GeoPackage::open(spec.path).map_err(|e| error(spec, e))?;
    let layers = gpkg.feature_layers().map_err(|e| error(spec, e))?;
    let layer = riskcensus_gpkg::choose_layer(&layers, spec.layer, None, "the polygons")
        .map_err(|e| error(spec, e))?;
    let geometry = gpkg
        .geometry_column(&layer)
        .map_err(|e| error(spec, e))?
        .ok_or_else(|| error(spec, format!("layer “{layer}” has no geometry column")))?;
    let stated = match geometry.srs.as_str() {
        "undefined" => None,
        _ => Some(geometry.epsg().ok_or_else(|| {
            error(
                spec,
                format!(
                    "layer “{layer}” is in {}, which riskcensus does not read",
                    geometry.srs
                ),
            )
        })?),
    };
    let crs = agreed_crs(spec, stated)?;
    let (_, columns) = gpkg
        .attribute_columns(&layer, Some(&geometry))
        .map_err(|e| error(spec, e))?;
    let position = |name: &str| columns.iter().position(|c| c.eq_ignore_ascii_case(name));
    let code_at = position(spec.code_field).ok_or_else(|| {
        error(
            spec,
            format!(
                "layer “{layer}” has no field `{}` (fields: {})",
                spec.code_field,
                columns.join(", ")
            ),
        )
    })?;
    let (name_at, level_at) = (position(spec.name_field), position("level"));
    let mut rows = Vec::new();
    gpkg.for_each_row(&layer, Some(&geometry), &columns, |_, blob, cells| {
        rows.push((blob.and_then(riskcensus_gpkg::decode), cells));
    })
    .map_err(|e| error(spec, e))?;
    rows.into_par_iter()
        .enumerate()
        .map(|(i, (geometry, cells))| {
            let at = |p: Option<usize>| p.and_then(|p| cells.get(p).cloned().flatten());
            feature(
                spec,
                &crs,
                i,
                at(Some(code_at)),
                at(name_at),
                at(level_at),
                geometry,
            )
        })
        .collect()
}

/// The CRS GeoParquet's `geo` metadata gives a column: absent means OGC:CRS84 (EPSG:4326),
/// `null` undefined, else a PROJJSON object whose `id` names the EPSG code.
fn geoparquet_crs(
    spec: &LayerSpec<'_>,
    column: &serde_json::Value,
) -> Result<Option<u16>, LocateError> {
    match column.get("crs") {
        None => Ok(Some(4326)),
        Some(serde_json::Value::Null) => Ok(None),
        Some(projjson) => {
            let id = &projjson["id"];
            let code = id["code"]
                .as_u64()
                .or_else(|| id["code"].as_str().and_then(|c| c.parse().ok()));
            match (id["authority"].as_str(), code) {
                (Some(a), Some(c)) if a.eq_ignore_ascii_case("EPSG") => u16::try_from(c)
                    .map(Some)
                    .map_err(|_| error(spec, format!("EPSG:{c} is not a CRS riskcensus reads"))),
                (Some(a), Some(84)) if a.eq_ignore_ascii_case("OGC") => Ok(Some(4326)),
                _ => Err(error(
                    spec,
                    format!(
                        "cannot tell the CRS of its `geo` metadata ({}): declare the layer's `crs`",
                        projjson["name"].as_str().unwrap_or("no id")
                    ),
                )),
            }
        }
    }
}

fn geoparquet(spec: &LayerSpec<'_>) -> Result<Vec<PolygonFeature>, LocateError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;

    let file = std::fs::File::open(spec.path).map_err(|e| error(spec, e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| error(spec, format!("not a Parquet file: {e}")))?;
    let geo = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.clone())
        .ok_or_else(|| {
            error(
                spec,
                "no GeoParquet `geo` metadata: a plain Parquet file has no geometry riskcensus can read".into(),
            )
        })?;
    let geo: serde_json::Value =
        serde_json::from_str(&geo).map_err(|e| error(spec, format!("`geo` metadata: {e}")))?;
    let column = geo["primary_column"]
        .as_str()
        .ok_or_else(|| error(spec, "`geo` metadata names no primary_column".into()))?
        .to_string();
    let meta = &geo["columns"][column.as_str()];
    let encoding = meta["encoding"].as_str().unwrap_or_default();
    if !encoding.eq_ignore_ascii_case("WKB") {
        return Err(error(
            spec,
            format!("geometry column `{column}` is encoded as `{encoding}`; riskcensus reads WKB"),
        ));
    }
    let crs = agreed_crs(spec, geoparquet_crs(spec, meta)?)?;
    let schema = builder.schema().clone();
    let index = |name: &str| {
        schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    };
    let code_at = index(spec.code_field).ok_or_else(|| {
        error(
            spec,
            format!("no field `{}` (fields: {})", spec.code_field, {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                names.join(", ")
            }),
        )
    })?;
    let geometry_at =
        index(&column).ok_or_else(|| error(spec, format!("no geometry column `{column}`")))?;
    let wanted: Vec<usize> = [
        Some(code_at),
        index(spec.name_field),
        index("level"),
        Some(geometry_at),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| error(spec, e.to_string()))?;
    let text = |array: &dyn Array, row: usize| -> Option<String> {
        if array.is_null(row) {
            return None;
        }
        if let Some(a) = array.as_string_opt::<i32>() {
            return Some(a.value(row).to_string());
        }
        if let Some(a) = array.as_string_opt::<i64>() {
            return Some(a.value(row).to_string());
        }
        if let Some(a) = array.as_string_view_opt() {
            return Some(a.value(row).to_string());
        }
        if let Some(a) = array.as_primitive_opt::<Int64Type>() {
            return Some(a.value(row).to_string());
        }
        array
            .as_primitive_opt::<Int32Type>()
            .map(|a| a.value(row).to_string())
    };
    let wkb = |array: &dyn Array, row: usize| -> Option<Vec<u8>> {
        if array.is_null(row) {
            return None;
        }
        if let Some(a) = array.as_binary_opt::<i32>() {
            return Some(a.value(row).to_vec());
        }
        if let Some(a) = array.as_binary_opt::<i64>() {
            return Some(a.value(row).to_vec());
        }
        array.as_binary_view_opt().map(|a| a.value(row).to_vec())
    };
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| error(spec, e.to_string()))?;
        let by_name = |name: &str| batch.column_by_name(schema.field(index(name)?).name());
        let (Some(codes), Some(shapes)) = (by_name(spec.code_field), by_name(&column)) else {
            return Err(error(
                spec,
                "a batch lacks the code or geometry column".into(),
            ));
        };
        let (names, levels) = (by_name(spec.name_field), by_name("level"));
        for row in 0..batch.num_rows() {
            rows.push((
                text(codes.as_ref(), row),
                names.and_then(|a| text(a.as_ref(), row)),
                levels.and_then(|a| text(a.as_ref(), row)),
                wkb(shapes.as_ref(), row),
            ));
        }
    }
    rows.into_par_iter()
        .enumerate()
        .map(|(i, (code, name, level, shape))| {
            use geozero::wkb::{FromWkb, WkbDialect};
            let geometry = shape
                .and_then(|b| Geometry::<f64>::from_wkb(&mut b.as_slice(), WkbDialect::Wkb).ok());
            feature(spec, &crs, i, code, name, level, geometry)
        })
        .collect()
}

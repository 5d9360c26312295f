//! Census GeoPackage exports as returns: one feature table (layer) of a `.gpkg`, its attribute
//! columns matched like a CSV header (census codes `dwmc`, `code` …, or labels), its point
//! geometry (the census 点位置 `dgeom`) as the 经度/纬度 columns.
//!
//! The layer is the pipeline's `layer` (or `sheet`), else the one named after the class's census
//! table (`zhjzzy_zfzhjzzy_yjbncs` for DR-GOV-10), else the only feature table. Rows are
//! numbered by their feature id (the primary key GIS tools show as `fid`). Points are read in
//! CGCS2000 or WGS 84 longitude/latitude (EPSG:4490, EPSG:4326); a layer in another CRS is an
//! error that names it. Polygon features (面位置) are placed by their division code, said once
//! per file (`struct.polygon_geometry`).
//!
//! SQLite through rusqlite (bundled: no system library), geometry blobs through geozero.

use std::path::Path;

use geo_types::Geometry;
use geozero::wkb::{FromWkb, WkbDialect};
use riskcensus_core::finding::{Finding, Rule};
use riskcensus_core::table::RawTable;
use riskcensus_core::ResolvedClass;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use crate::builder::TableBuilder;
use crate::IngestError;

/// Whether the path names a GeoPackage (`.gpkg`).
pub fn is_geopackage(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gpkg"))
}

/// A layer's geometry column and its CRS.
struct GeometryColumn {
    name: String,
    srs: String,
}

/// Read one layer of a GeoPackage as a return.
pub fn ingest_gpkg(
    path: &Path,
    name: &str,
    layer: Option<&str>,
    class: &ResolvedClass,
) -> Result<RawTable, IngestError> {
    let err = |message: String| IngestError::Spreadsheet {
        path: name.to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        path: name.to_string(),
        source,
    })?;
    if !bytes.starts_with(b"SQLite format 3\0") {
        return Err(err("not a GeoPackage (no SQLite header)".into()));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    drop(bytes);
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| err(format!("cannot open the GeoPackage: {e}")))?;
    let sql = |e: rusqlite::Error| err(format!("GeoPackage: {e}"));
    let layers: Vec<String> = db
        .prepare(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| {
            err(format!(
                "not a GeoPackage feature file (gpkg_contents: {e})"
            ))
        })?;
    let table = choose_layer(&layers, layer, class).map_err(err)?;
    let geometry = geometry_column(&db, &table).map_err(sql)?;
    if let Some(g) = &geometry {
        if !matches!(g.srs.as_str(), "EPSG:4490" | "EPSG:4326" | "undefined") {
            return Err(err(format!(
                "layer “{table}” is in {}; GeoPackage returns are read in longitude/latitude \
                 (EPSG:4490 or EPSG:4326): reproject the layer, or export it as CSV with the \
                 pipeline's `crs`",
                g.srs
            )));
        }
    }
    let (key, attributes) = attribute_columns(&db, &table, geometry.as_ref()).map_err(sql)?;
    let with_point = geometry.is_some()
        && !attributes
            .iter()
            .any(|a| matches!(a.as_str(), "经度" | "纬度"));
    let mut header = attributes.clone();
    if with_point {
        header.extend(["经度".to_string(), "纬度".to_string()]);
    }
    let select: Vec<String> = std::iter::once(key.as_deref().map_or("rowid".to_string(), quote))
        .chain(geometry.iter().map(|g| quote(&g.name)))
        .chain(attributes.iter().map(|a| quote(a)))
        .collect();
    let query = format!(
        "SELECT {} FROM {} ORDER BY 1",
        select.join(", "),
        quote(&table)
    );
    let mut builder = TableBuilder::new(name, class, &header, 1, 1024);
    let mut statement = db.prepare(&query).map_err(sql)?;
    let mut rows = statement.query([]).map_err(sql)?;
    let first_attribute = if geometry.is_some() { 2 } else { 1 };
    let mut polygons = 0usize;
    while let Some(row) = rows.next().map_err(sql)? {
        let fid = row
            .get_ref(0)
            .ok()
            .and_then(|v| v.as_i64().ok())
            .unwrap_or(0);
        let mut cells: Vec<Option<String>> = (0..attributes.len())
            .map(|i| row.get_ref(first_attribute + i).ok().and_then(text))
            .collect();
        if with_point {
            let blob = row
                .get_ref(1)
                .ok()
                .and_then(|v| v.as_blob_or_null().ok().flatten());
            let (lon, lat) = match blob.and_then(decode) {
                Some(Geometry::Point(p)) => (Some(p.x()), Some(p.y())),
                Some(Geometry::MultiPoint(m)) if m.0.len() == 1 => {
                    (Some(m.0[0].x()), Some(m.0[0].y()))
                }
                Some(Geometry::Polygon(_) | Geometry::MultiPolygon(_)) => {
                    polygons += 1;
                    (None, None)
                }
                _ => (None, None),
            };
            cells.push(lon.map(|x| x.to_string()));
            cells.push(lat.map(|y| y.to_string()));
        }
        builder.push_row(
            u64::try_from(fid).unwrap_or(0),
            &cells.iter().map(|c| c.as_deref()).collect::<Vec<_>>(),
        );
    }
    let mut table = builder.finish(sha256, "GeoPackage")?;
    if polygons > 0 {
        table.findings.push(Finding::new(
            name,
            &class.node.code,
            Rule::PolygonGeometry,
            format!("{polygons} 个要素为面（面位置），按行政区划代码定位，面与村界的核对尚未实现"),
            format!("{polygons} features are polygons (面位置): placed by their division code; their outlines are not checked against the village yet"),
        ));
    }
    Ok(table)
}

/// The layer to read: the one asked for, else the class's census table, else the only one.
fn choose_layer(
    layers: &[String],
    asked: Option<&str>,
    class: &ResolvedClass,
) -> Result<String, String> {
    let listed = || {
        if layers.is_empty() {
            "none".to_string()
        } else {
            layers.join(", ")
        }
    };
    if let Some(asked) = asked {
        return layers
            .iter()
            .find(|l| l.as_str() == asked)
            .cloned()
            .ok_or_else(|| format!("no feature layer named “{asked}” (layers: {})", listed()));
    }
    let census = class.node.sys_table.as_deref();
    if let Some(l) = layers.iter().find(|l| Some(l.as_str()) == census) {
        return Ok(l.clone());
    }
    match layers {
        [only] => Ok(only.clone()),
        _ => Err(format!(
            "cannot tell which layer holds {} (layers: {}): name it with `layer = \"…\"` in the pipeline",
            class.node.code,
            listed()
        )),
    }
}

fn geometry_column(db: &Connection, table: &str) -> rusqlite::Result<Option<GeometryColumn>> {
    let found: Option<(String, i64)> = db
        .prepare("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1")?
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .next()
        .transpose()?;
    let Some((name, srs_id)) = found else {
        return Ok(None);
    };
    let srs = db
        .prepare("SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?1")?
        .query_map([srs_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .next()
        .transpose()?;
    let srs = match srs {
        _ if srs_id <= 0 => "undefined".to_string(),
        Some((org, id)) => format!("{}:{id}", org.to_ascii_uppercase()),
        None => format!("srs_id {srs_id}"),
    };
    Ok(Some(GeometryColumn { name, srs }))
}

/// The integer primary key (the feature id) and the other non-geometry columns, in table order.
fn attribute_columns(
    db: &Connection,
    table: &str,
    geometry: Option<&GeometryColumn>,
) -> rusqlite::Result<(Option<String>, Vec<String>)> {
    let mut key = None;
    let mut attributes = Vec::new();
    let mut statement = db.prepare(&format!("PRAGMA table_info({})", quote(table)))?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let column: String = row.get(1)?;
        let primary: i64 = row.get(5)?;
        if geometry.is_some_and(|g| g.name == column) {
            continue;
        }
        if primary == 1 && key.is_none() {
            key = Some(column);
        } else {
            attributes.push(column);
        }
    }
    Ok((key, attributes))
}

/// A SQL identifier in double quotes.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A cell as text: integers exact, reals as written, blobs unreadable.
fn text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null | ValueRef::Blob(_) => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// A GeoPackage geometry blob (GP header + WKB).
fn decode(blob: &[u8]) -> Option<Geometry<f64>> {
    Geometry::from_wkb(&mut &blob[..], WkbDialect::Geopackage).ok()
}

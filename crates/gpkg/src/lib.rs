//! GeoPackage (OGC 12-128) access shared by every reader and writer of `.gpkg` files: census
//! exports read as returns (riskcensus-ingest), polygon layers (riskcensus-locate) and the county
//! packages of the database ([`writer`]). SQLite through
//! rusqlite, bundled (no system library); geometry blobs (GeoPackage header + WKB) through
//! geozero.
//!
//! ```no_run
//! use riskcensus_gpkg::GeoPackage;
//! let gpkg = GeoPackage::open(std::path::Path::new("villages.gpkg")).unwrap();
//! let layers = gpkg.feature_layers().unwrap();
//! let layer = riskcensus_gpkg::choose_layer(&layers, None, Some("villages"), "the villages").unwrap();
//! let geometry = gpkg.geometry_column(&layer).unwrap();
//! let (_key, columns) = gpkg.attribute_columns(&layer, geometry.as_ref()).unwrap();
//! gpkg.for_each_row(&layer, geometry.as_ref(), &columns, |fid, blob, cells| {
//!     let shape = blob.and_then(riskcensus_gpkg::decode);
//!     println!("{fid}: {cells:?} {shape:?}");
//! }).unwrap();
//! ```
#![deny(missing_docs)]

pub mod templates;
pub mod writer;

use std::path::Path;

use geo_types::Geometry;
use geozero::wkb::{FromWkb, WkbDialect};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

/// An open GeoPackage, read only.
pub struct GeoPackage {
    db: Connection,
}

/// A feature table's geometry column and its CRS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeometryColumn {
    /// The column name (`geom`, `dgeom` …).
    pub name: String,
    /// `EPSG:4490`, `undefined` (srs_id 0 or -1), or `srs_id N` when the GeoPackage does not
    /// define it.
    pub srs: String,
}

impl GeometryColumn {
    /// The EPSG code of the CRS, when it is one.
    pub fn epsg(&self) -> Option<u16> {
        self.srs.strip_prefix("EPSG:").and_then(|n| n.parse().ok())
    }
}

fn sql(e: rusqlite::Error) -> String {
    format!("GeoPackage: {e}")
}

/// A SQL identifier in double quotes.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

impl GeoPackage {
    /// Open a file read only; an error unless it is SQLite with a `gpkg_contents` table.
    pub fn open(path: &Path) -> Result<Self, String> {
        let mut magic = [0u8; 16];
        let mut file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
        let read = std::io::Read::read_exact(&mut file, &mut magic);
        if read.is_err() || &magic != b"SQLite format 3\0" {
            return Err("not a GeoPackage (no SQLite header)".into());
        }
        let db = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("cannot open the GeoPackage: {e}"))?;
        let gpkg = GeoPackage { db };
        gpkg.feature_layers()?;
        Ok(gpkg)
    }

    /// The feature tables (layers), by name.
    pub fn feature_layers(&self) -> Result<Vec<String>, String> {
        self.db
            .prepare("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| format!("not a GeoPackage feature file (gpkg_contents: {e})"))
    }

    /// The geometry column of a layer and its CRS; `None` for an attribute-only table.
    pub fn geometry_column(&self, table: &str) -> Result<Option<GeometryColumn>, String> {
        let found: Option<(String, i64)> = self
            .db
            .prepare("SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1")
            .and_then(|mut s| {
                s.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .next()
                    .transpose()
            })
            .map_err(sql)?;
        let Some((name, srs_id)) = found else {
            return Ok(None);
        };
        let defined: Option<(String, i64)> = self
            .db
            .prepare("SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?1")
            .and_then(|mut s| {
                s.query_map([srs_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .next()
                    .transpose()
            })
            .map_err(sql)?;
        let srs = match defined {
            _ if srs_id <= 0 => "undefined".to_string(),
            Some((org, id)) => format!("{}:{id}", org.to_ascii_uppercase()),
            None => format!("srs_id {srs_id}"),
        };
        Ok(Some(GeometryColumn { name, srs }))
    }

    /// The integer primary key (the feature id) and the other columns but the geometry, in
    /// table order.
    pub fn attribute_columns(
        &self,
        table: &str,
        geometry: Option<&GeometryColumn>,
    ) -> Result<(Option<String>, Vec<String>), String> {
        let mut key = None;
        let mut columns = Vec::new();
        let mut statement = self
            .db
            .prepare(&format!("PRAGMA table_info({})", quote(table)))
            .map_err(sql)?;
        let mut rows = statement.query([]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let column: String = row.get(1).map_err(sql)?;
            let primary: i64 = row.get(5).map_err(sql)?;
            if geometry.is_some_and(|g| g.name == column) {
                continue;
            }
            if primary == 1 && key.is_none() {
                key = Some(column);
            } else {
                columns.push(column);
            }
        }
        Ok((key, columns))
    }

    /// Each row of a layer in feature-id order: its id, its geometry blob (when the layer has
    /// a geometry column and the row a geometry) and `columns` as text (integers exact, reals
    /// as Rust prints them, blobs and NULL as `None`).
    pub fn for_each_row(
        &self,
        table: &str,
        geometry: Option<&GeometryColumn>,
        columns: &[String],
        mut each: impl FnMut(i64, Option<&[u8]>, Vec<Option<String>>),
    ) -> Result<(), String> {
        let (key, _) = self.attribute_columns(table, geometry)?;
        let select: Vec<String> = std::iter::once(key.as_deref().map_or("rowid".into(), quote))
            .chain(std::iter::once(
                geometry.map_or("NULL".into(), |g| quote(&g.name)),
            ))
            .chain(columns.iter().map(|c| quote(c)))
            .collect();
        let query = format!(
            "SELECT {} FROM {} ORDER BY 1",
            select.join(", "),
            quote(table)
        );
        let mut statement = self.db.prepare(&query).map_err(sql)?;
        let mut rows = statement.query([]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let fid = row
                .get_ref(0)
                .ok()
                .and_then(|v| v.as_i64().ok())
                .unwrap_or(0);
            let blob = row
                .get_ref(1)
                .ok()
                .and_then(|v| v.as_blob_or_null().ok().flatten());
            let cells = (0..columns.len())
                .map(|i| row.get_ref(2 + i).ok().and_then(text))
                .collect();
            each(fid, blob, cells);
        }
        Ok(())
    }
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

/// A GeoPackage geometry blob (GP header + WKB) as a geo-types geometry; `None` when it does
/// not decode.
pub fn decode(blob: &[u8]) -> Option<Geometry<f64>> {
    Geometry::from_wkb(&mut &blob[..], WkbDialect::Geopackage).ok()
}

/// The layer to read: the one asked for, else `preferred` when the file has it, else the only
/// one. `what` names the data in the error (`DR-GOV-10`, `the villages`).
pub fn choose_layer(
    layers: &[String],
    asked: Option<&str>,
    preferred: Option<&str>,
    what: &str,
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
    if let Some(l) = layers.iter().find(|l| Some(l.as_str()) == preferred) {
        return Ok(l.clone());
    }
    match layers {
        [only] => Ok(only.clone()),
        _ => Err(format!(
            "cannot tell which layer holds {what} (layers: {}): name it with `layer = \"…\"` in the pipeline",
            listed()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_is_the_one_asked_for_the_preferred_or_the_only_one() {
        let two = ["a".to_string(), "b".to_string()];
        assert_eq!(choose_layer(&two, Some("b"), None, "x"), Ok("b".into()));
        assert_eq!(choose_layer(&two, None, Some("a"), "x"), Ok("a".into()));
        assert!(choose_layer(&two, None, None, "x").is_err_and(|e| e.contains("layers: a, b")));
        assert!(choose_layer(&two, Some("c"), None, "x").is_err_and(|e| e.contains("“c”")));
        assert_eq!(choose_layer(&two[..1], None, None, "x"), Ok("a".into()));
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_named_as_such() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.gpkg");
        std::fs::write(&path, "code,name\n").expect("write");
        assert!(GeoPackage::open(&path).is_err_and(|e| e.contains("no SQLite header")));
    }

    #[test]
    fn geopackage_blobs_decode_with_and_without_an_envelope() {
        // GP, version 0, flags 0b0000_0001 (little endian, no envelope), srs_id 4490, WKB point.
        let mut blob = vec![b'G', b'P', 0, 1];
        blob.extend(4490i32.to_le_bytes());
        blob.extend([1, 1, 0, 0, 0]);
        blob.extend(105.5f64.to_le_bytes());
        blob.extend(36.25f64.to_le_bytes());
        assert_eq!(
            decode(&blob),
            Some(Geometry::Point(geo_types::Point::new(105.5, 36.25)))
        );
        // The same with an xy envelope (flags 0b011): 32 bytes before the WKB.
        let mut with_envelope = vec![b'G', b'P', 0, 0b011];
        with_envelope.extend(4490i32.to_le_bytes());
        for v in [105.5f64, 105.5, 36.25, 36.25] {
            with_envelope.extend(v.to_le_bytes());
        }
        with_envelope.extend(&blob[8..]);
        assert_eq!(decode(&with_envelope), decode(&blob));
        assert_eq!(decode(b"GP"), None);
    }
}

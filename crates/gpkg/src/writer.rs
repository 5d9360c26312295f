//! Writing GeoPackages (OGC 12-128r18, version 1.3): feature layers with an R-tree spatial index
//! and QGIS default styles in `layer_styles`, every layer in EPSG:4490.
//!
//! Output is deterministic (fixed `last_change`, rows in the order given), so reruns write the
//! same bytes.
//!
//! ```
//! use riskcensus_gpkg::writer::{Column, GpkgWriter, Kind, Value};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("county.gpkg");
//! let mut gpkg = GpkgWriter::create(&path, "2020-12-31T00:00:00.000Z").unwrap();
//! let point = geo_types::Geometry::Point(geo_types::Point::new(104.2, 36.5));
//! let columns = [Column::new("name", Kind::Text), Column::new("beds", Kind::Integer)];
//! let rows = vec![(Some(point), vec![Value::Text("卫生院".into()), Value::Integer(30)])];
//! gpkg.add_layer("HB-PSF-02", "医疗卫生机构", "POINT", &columns, rows).unwrap();
//! gpkg.finish().unwrap();
//! let read = riskcensus_gpkg::GeoPackage::open(&path).unwrap();
//! assert_eq!(read.feature_layers().unwrap(), ["HB-PSF-02"]);
//! ```

use std::path::Path;

use geo::BoundingRect;
use geo_types::Geometry;
use geozero::{CoordDimensions, ToWkb};
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection};

/// The CRS of every layer.
pub const SRS_ID: i32 = 4490;

/// OGC WKT of EPSG:4490 (CGCS2000 geographic).
const CGCS2000_WKT: &str = r#"GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]]"#;
const WGS84_WKT: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]"#;

/// A column's SQLite type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// TEXT.
    Text,
    /// INTEGER.
    Integer,
    /// REAL.
    Real,
    /// BOOLEAN (0/1).
    Boolean,
    /// DATE (`YYYY-MM-DD` text).
    Date,
}

impl Kind {
    fn sql(self) -> &'static str {
        match self {
            Kind::Text => "TEXT",
            Kind::Integer => "INTEGER",
            Kind::Real => "REAL",
            Kind::Boolean => "BOOLEAN",
            Kind::Date => "DATE",
        }
    }
}

/// An attribute column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type.
    pub kind: Kind,
}

impl Column {
    /// A column.
    pub fn new(name: &str, kind: Kind) -> Self {
        Column {
            name: name.to_string(),
            kind,
        }
    }
}

/// A cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL.
    Null,
    /// Text.
    Text(String),
    /// Integer (booleans as 0/1).
    Integer(i64),
    /// Real.
    Real(f64),
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
        })
    }
}

/// A table of a package without its rows: a feature layer (with its geometry type) or an
/// attribute table (no geometry type), its columns and the QGIS style stored as its default.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableSpec {
    /// Table (layer) name.
    pub table: String,
    /// Its description in `gpkg_contents`.
    pub description: String,
    /// `POINT`, `MULTIPOLYGON` …; `None` for an attribute table.
    pub geometry_type: Option<String>,
    /// The attribute columns.
    pub columns: Vec<Column>,
    /// The QGIS style (`.qml` text), stored as the layer's default under its description.
    pub style: Option<String>,
}

/// A GeoPackage being written.
pub struct GpkgWriter {
    db: Connection,
    last_change: String,
    styles_table: bool,
}

fn sql(e: rusqlite::Error) -> String {
    format!("GeoPackage: {e}")
}

/// A SQL identifier in double quotes.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

impl GpkgWriter {
    /// Create a new GeoPackage at `path` (an existing file is replaced); `last_change` is the
    /// timestamp recorded for every layer (ISO 8601, e.g. `2020-12-31T00:00:00.000Z`).
    pub fn create(path: &Path, last_change: &str) -> Result<Self, String> {
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let db = Connection::open(path).map_err(sql)?;
        let writer = Self::writing(db, last_change)?;
        writer.db.execute_batch(&format!(
            "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300;
             CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
               organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
               definition TEXT NOT NULL, description TEXT);
             CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
               identifier TEXT UNIQUE, description TEXT DEFAULT '',
               last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
               min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
               CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
             CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
               geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
               CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
               CONSTRAINT uk_gc_table_name UNIQUE (table_name),
               CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
               CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
             CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
               definition TEXT NOT NULL, scope TEXT NOT NULL,
               CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
             INSERT INTO gpkg_spatial_ref_sys VALUES
               ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
               ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
               ('WGS 84 geodetic', 4326, 'EPSG', 4326, '{WGS84_WKT}', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid'),
               ('China Geodetic Coordinate System 2000', {SRS_ID}, 'EPSG', {SRS_ID}, '{CGCS2000_WKT}', 'CGCS2000 longitude/latitude');"
        ))
        .map_err(sql)?;
        Ok(writer)
    }

    /// Open a package this writer made (a copy of a [`crate::templates::Templates`] template)
    /// to add rows.
    pub(crate) fn reopen(path: &Path, last_change: &str) -> Result<Self, String> {
        Self::writing(Connection::open(path).map_err(sql)?, last_change)
    }

    /// Set a connection up for writing: no journal, no sync, no triggers (the writer keeps
    /// the R-tree itself; the triggers are for other programs that edit the layers); one
    /// transaction for the whole file, committed by `finish` — a commit per layer made SQLite
    /// re-read the growing schema and sync for each of a national run's 80,000 layers.
    fn writing(db: Connection, last_change: &str) -> Result<Self, String> {
        db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            .map_err(sql)?;
        db.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)
            .map_err(sql)?;
        db.execute_batch("BEGIN").map_err(sql)?;
        Ok(GpkgWriter {
            db,
            last_change: last_change.to_string(),
            styles_table: false,
        })
    }

    /// Add an attribute table (no geometry: household returns) with its rows; the number of
    /// rows written.
    pub fn add_attributes(
        &mut self,
        table: &str,
        description: &str,
        columns: &[Column],
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> Result<usize, String> {
        self.create_table(&TableSpec {
            table: table.to_string(),
            description: description.to_string(),
            geometry_type: None,
            columns: columns.to_vec(),
            style: None,
        })?;
        self.insert_attributes(table, columns, rows)
    }

    /// Add a feature layer (`geometry_type` POINT, MULTIPOLYGON …) with its rows and an R-tree
    /// index over the geometries; the number of rows written.
    pub fn add_layer(
        &mut self,
        table: &str,
        description: &str,
        geometry_type: &str,
        columns: &[Column],
        rows: impl IntoIterator<Item = (Option<Geometry<f64>>, Vec<Value>)>,
    ) -> Result<usize, String> {
        self.create_table(&TableSpec {
            table: table.to_string(),
            description: description.to_string(),
            geometry_type: Some(geometry_type.to_string()),
            columns: columns.to_vec(),
            style: None,
        })?;
        self.insert_features(table, columns, rows)
    }

    /// Create a table, empty: an attribute table, or a feature layer registered in
    /// `gpkg_contents` (no extent until rows come), with its R-tree, the R-tree's triggers and
    /// its default style.
    pub fn create_table(&mut self, spec: &TableSpec) -> Result<(), String> {
        let t = quote(&spec.table);
        let definitions: String = (spec.columns.iter())
            .map(|c| format!(", {} {}", quote(&c.name), c.kind.sql()))
            .collect();
        let Some(geometry_type) = &spec.geometry_type else {
            self.db
                .execute_batch(&format!(
                    "CREATE TABLE {t} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL{definitions});"
                ))
                .map_err(sql)?;
            self.db
                .execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
                     VALUES (?1, 'attributes', ?1, ?2, ?3)",
                    params![spec.table, spec.description, self.last_change],
                )
                .map_err(sql)?;
            return Ok(());
        };
        let rtree = format!("rtree_{}_geom", spec.table);
        self.db
            .execute_batch(&format!(
                "CREATE TABLE {t} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {geometry_type}{definitions});
                 CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy);",
                quote(&rtree),
            ))
            .map_err(sql)?;
        self.db
            .execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id)
                 VALUES (?1, 'features', ?1, ?2, ?3, ?4)",
                params![spec.table, spec.description, self.last_change, SRS_ID],
            )
            .map_err(sql)?;
        self.db
            .execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
                params![spec.table, geometry_type, SRS_ID],
            )
            .map_err(sql)?;
        self.db
            .execute(
                "INSERT INTO gpkg_extensions VALUES (?1, 'geom', 'gpkg_rtree_index',
                   'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
                params![spec.table],
            )
            .map_err(sql)?;
        self.db
            .execute_batch(&rtree_triggers(&t, &rtree))
            .map_err(sql)?;
        if let Some(qml) = &spec.style {
            self.add_default_style(&spec.table, &spec.description, qml)?;
        }
        Ok(())
    }

    /// Insert the rows of an attribute table made by [`Self::create_table`]; how many.
    pub fn insert_attributes(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> Result<usize, String> {
        let mut insert = (self.db)
            .prepare(&insert_sql(table, false, columns))
            .map_err(sql)?;
        let mut count = 0usize;
        for values in rows {
            let cells: Vec<&dyn rusqlite::ToSql> =
                values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
            insert.execute(cells.as_slice()).map_err(sql)?;
            count += 1;
        }
        Ok(count)
    }

    /// Insert the rows of a feature layer made by [`Self::create_table`], index them in its
    /// R-tree and record the layer's extent; how many.
    pub fn insert_features(
        &mut self,
        table: &str,
        columns: &[Column],
        rows: impl IntoIterator<Item = (Option<Geometry<f64>>, Vec<Value>)>,
    ) -> Result<usize, String> {
        let mut count = 0usize;
        let mut extent: Option<geo_types::Rect<f64>> = None;
        {
            let mut insert = (self.db)
                .prepare(&insert_sql(table, true, columns))
                .map_err(sql)?;
            let mut index = (self.db)
                .prepare(&format!(
                    "INSERT INTO {} VALUES (?1, ?2, ?3, ?4, ?5)",
                    quote(&format!("rtree_{table}_geom"))
                ))
                .map_err(sql)?;
            for (geometry, values) in rows {
                let rect = geometry.as_ref().and_then(|g| g.bounding_rect());
                let blob = match (&geometry, rect) {
                    (Some(g), Some(r)) => Some(
                        g.to_gpkg_wkb(
                            CoordDimensions::xy(),
                            Some(SRS_ID),
                            vec![r.min().x, r.max().x, r.min().y, r.max().y],
                        )
                        .map_err(|e| format!("GeoPackage geometry: {e}"))?,
                    ),
                    _ => None,
                };
                let mut cells: Vec<&dyn rusqlite::ToSql> = vec![&blob];
                cells.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
                insert.execute(cells.as_slice()).map_err(sql)?;
                count += 1;
                if let (Some(r), true) = (rect, blob.is_some()) {
                    let fid = self.db.last_insert_rowid();
                    index
                        .execute(params![fid, r.min().x, r.max().x, r.min().y, r.max().y])
                        .map_err(sql)?;
                    extent = Some(match extent {
                        None => r,
                        Some(e) => geo_types::Rect::new(
                            geo_types::coord! { x: e.min().x.min(r.min().x), y: e.min().y.min(r.min().y) },
                            geo_types::coord! { x: e.max().x.max(r.max().x), y: e.max().y.max(r.max().y) },
                        ),
                    });
                }
            }
        }
        if let Some(e) = extent {
            self.db
                .execute(
                    "UPDATE gpkg_contents SET min_x = ?2, min_y = ?3, max_x = ?4, max_y = ?5
                     WHERE table_name = ?1",
                    params![table, e.min().x, e.min().y, e.max().x, e.max().y],
                )
                .map_err(sql)?;
        }
        Ok(count)
    }

    /// Store a QGIS style (`.qml` text) as the layer's default, which QGIS applies on opening.
    pub fn add_default_style(&mut self, table: &str, name: &str, qml: &str) -> Result<(), String> {
        if !self.styles_table {
            self.db
                .execute_batch(
                    "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT,
                       f_table_catalog TEXT, f_table_schema TEXT, f_table_name TEXT, f_geometry_column TEXT,
                       styleName TEXT, styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT,
                       owner TEXT, ui TEXT, update_time DATETIME)",
                )
                .map_err(sql)?;
            self.db
                .execute(
                    "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
                     VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS styles', ?1)",
                    params![self.last_change],
                )
                .map_err(sql)?;
            self.styles_table = true;
        }
        self.db
            .execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,
                   styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)
                 VALUES ('', '', ?1, 'geom', ?2, ?3, '', 1, ?2, '', NULL, ?4)",
                params![table, name, qml, self.last_change],
            )
            .map_err(sql)?;
        Ok(())
    }

    /// Commit what was added so far and give the file's bytes (it stays open for more).
    pub(crate) fn committed_bytes(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        self.db.execute_batch("COMMIT").map_err(sql)?;
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.db.execute_batch("BEGIN").map_err(sql)?;
        Ok(bytes)
    }

    /// Commit everything added and close the file (until then nothing is written for good).
    pub fn finish(self) -> Result<(), String> {
        self.db.execute_batch("COMMIT").map_err(sql)?;
        self.db.close().map_err(|(_, e)| sql(e))
    }
}

/// `INSERT INTO table (geom?, columns…) VALUES (?, …)`.
fn insert_sql(table: &str, geometry: bool, columns: &[Column]) -> String {
    let names: Vec<String> = (geometry.then(|| "geom".to_string()).into_iter())
        .chain(columns.iter().map(|c| quote(&c.name)))
        .collect();
    let placeholders = vec!["?"; names.len()].join(", ");
    format!(
        "INSERT INTO {} ({}) VALUES ({placeholders})",
        quote(table),
        names.join(", ")
    )
}

/// The six triggers of the R-tree extension (OGC 12-128r18 annex F.3) that keep the index of
/// table `t` (quoted) in step when another program (QGIS, GDAL) edits the layer; those provide
/// the `ST_` functions.
fn rtree_triggers(t: &str, rtree: &str) -> String {
    let r = quote(rtree);
    format!(
        "CREATE TRIGGER {ins} AFTER INSERT ON {t} WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
         BEGIN INSERT OR REPLACE INTO {r} VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
         CREATE TRIGGER {upd} AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
         BEGIN INSERT OR REPLACE INTO {r} VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
         CREATE TRIGGER {empty} AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
         BEGIN DELETE FROM {r} WHERE id = OLD.fid; END;
         CREATE TRIGGER {moved} AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
         BEGIN DELETE FROM {r} WHERE id = OLD.fid; INSERT OR REPLACE INTO {r} VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
         CREATE TRIGGER {moved_empty} AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
         BEGIN DELETE FROM {r} WHERE id IN (OLD.fid, NEW.fid); END;
         CREATE TRIGGER {del} AFTER DELETE ON {t} WHEN old.geom NOT NULL
         BEGIN DELETE FROM {r} WHERE id = OLD.fid; END;",
        ins = quote(&format!("{rtree}_insert")),
        upd = quote(&format!("{rtree}_update1")),
        empty = quote(&format!("{rtree}_update2")),
        moved = quote(&format!("{rtree}_update3")),
        moved_empty = quote(&format!("{rtree}_update4")),
        del = quote(&format!("{rtree}_delete")),
    )
}

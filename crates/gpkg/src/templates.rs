//! Packages with the same tables start as copies of one template.
//!
//! Creating a layer costs about a dozen DDL statements (the table, its R-tree and the R-tree's
//! shadow tables, six triggers, metadata rows, a style), and SQLite parses each of them and the
//! schema entries it adds. A national run writes ≈ 3,000 county packages that mostly hold the
//! same tables; [`Templates`] creates the tables of a set once, keeps the bytes of the empty
//! package, and starts every other package with those tables as a copy of them, so only the
//! rows are written per county. Copies hold the same bytes a package created table by table
//! would before its rows, so output does not depend on which package built a template.
//!
//! ```
//! use riskcensus_gpkg::templates::Templates;
//! use riskcensus_gpkg::writer::{Column, Kind, TableSpec, Value};
//! let dir = tempfile::tempdir().unwrap();
//! let templates = Templates::new("2020-12-31T00:00:00.000Z");
//! let tables = [TableSpec {
//!     table: "schools".into(),
//!     description: "学校".into(),
//!     geometry_type: Some("POINT".into()),
//!     columns: vec![Column::new("name", Kind::Text)],
//!     style: None,
//! }];
//! for county in ["620402", "620403"] {
//!     let path = dir.path().join(format!("{county}.gpkg"));
//!     let mut gpkg = templates.create(&path, &tables).unwrap();
//!     let point = geo_types::Geometry::Point(geo_types::Point::new(104.2, 36.5));
//!     let rows = vec![(Some(point), vec![Value::Text(format!("{county}小学"))])];
//!     gpkg.insert_features("schools", &tables[0].columns, rows).unwrap();
//!     gpkg.finish().unwrap();
//! }
//! assert_eq!(templates.built(), 1);
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use crate::writer::{GpkgWriter, TableSpec};

/// The empty packages made so far, by their tables; shared by the threads writing packages.
pub struct Templates {
    last_change: String,
    made: Mutex<HashMap<Vec<TableSpec>, Arc<Vec<u8>>>>,
}

impl Templates {
    /// No templates yet; `last_change` is the timestamp of every layer (see
    /// [`GpkgWriter::create`]).
    pub fn new(last_change: &str) -> Self {
        Templates {
            last_change: last_change.to_string(),
            made: Mutex::new(HashMap::new()),
        }
    }

    /// How many templates were built (distinct table sets seen).
    pub fn built(&self) -> usize {
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// A new package at `path` (an existing file is replaced) holding `tables`, empty, ready for
    /// their rows ([`GpkgWriter::insert_features`], [`GpkgWriter::insert_attributes`]).
    pub fn create(&self, path: &Path, tables: &[TableSpec]) -> Result<GpkgWriter, String> {
        let known = (self.made.lock().unwrap_or_else(PoisonError::into_inner))
            .get(tables)
            .cloned();
        if let Some(bytes) = known {
            std::fs::write(path, bytes.as_slice())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            return GpkgWriter::reopen(path, &self.last_change);
        }
        // Two threads may build the same template at once: both get the same bytes.
        let mut gpkg = GpkgWriter::create(path, &self.last_change)?;
        for table in tables {
            gpkg.create_table(table)?;
        }
        let bytes = gpkg.committed_bytes(path)?;
        (self.made.lock().unwrap_or_else(PoisonError::into_inner))
            .insert(tables.to_vec(), Arc::new(bytes));
        Ok(gpkg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::{Column, Kind, Value};
    use crate::GeoPackage;
    use geo_types::{Geometry, Point};

    fn tables() -> Vec<TableSpec> {
        let columns = vec![
            Column::new("name", Kind::Text),
            Column::new("beds", Kind::Integer),
        ];
        vec![
            TableSpec {
                table: "HB-PSF-02".into(),
                description: "医疗卫生机构".into(),
                geometry_type: Some("POINT".into()),
                columns: columns.clone(),
                style: Some("<qgis/>".into()),
            },
            TableSpec {
                table: "DR-HH-01".into(),
                description: "家庭".into(),
                geometry_type: None,
                columns,
                style: None,
            },
        ]
    }

    fn features(county: i64) -> Vec<(Option<Geometry<f64>>, Vec<Value>)> {
        (0..3)
            .map(|i| {
                let at = Point::new(104.0 + county as f64 * 0.1, 36.0 + i as f64 * 0.01);
                let values = vec![Value::Text(format!("卫生院{i}")), Value::Integer(county)];
                (Some(Geometry::Point(at)), values)
            })
            .collect()
    }

    fn households(county: i64) -> Vec<Vec<Value>> {
        vec![vec![Value::Text("户".into()), Value::Integer(county)]]
    }

    /// Write one package from the templates and give its bytes.
    fn write(templates: &Templates, path: &Path, county: i64) -> Vec<u8> {
        let tables = tables();
        let mut gpkg = templates.create(path, &tables).expect("create");
        (gpkg.insert_features(&tables[0].table, &tables[0].columns, features(county)))
            .expect("features");
        (gpkg.insert_attributes(&tables[1].table, &tables[1].columns, households(county)))
            .expect("attributes");
        gpkg.finish().expect("finish");
        std::fs::read(path).expect("read")
    }

    /// Every row of every table, and each layer's extent, as text.
    fn content(path: &Path) -> Vec<String> {
        let db = Connection::open(path).expect("open");
        let mut out = Vec::new();
        let tables: Vec<String> = (db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"))
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
        for table in tables {
            let mut statement = db
                .prepare(&format!("SELECT * FROM \"{table}\""))
                .expect("select");
            let width = statement.column_count();
            let mut rows: Vec<String> = (statement.query_map([], |r| {
                Ok((0..width)
                    .map(|i| format!("{:?}", r.get_ref(i).map(|v| format!("{v:?}"))))
                    .collect::<Vec<_>>()
                    .join("|"))
            }))
            .and_then(|rows| rows.collect())
            .expect("rows");
            rows.sort();
            out.push(format!("{table}: {}", rows.join("; ")));
        }
        out
    }

    use rusqlite::Connection;

    #[test]
    fn a_copy_of_a_template_is_the_package_its_builder_wrote() {
        let dir = tempfile::tempdir().expect("tempdir");
        let templates = Templates::new("2020-12-31T00:00:00.000Z");
        let built = write(&templates, &dir.path().join("first.gpkg"), 1);
        let copied = write(&templates, &dir.path().join("second.gpkg"), 1);
        assert_eq!(templates.built(), 1);
        assert_eq!(built, copied);
        // Other rows: the same tables, other rows and extent.
        write(&templates, &dir.path().join("third.gpkg"), 2);
        assert_eq!(templates.built(), 1);
        let third = GeoPackage::open(&dir.path().join("third.gpkg")).expect("open");
        assert_eq!(third.feature_layers().expect("layers"), ["HB-PSF-02"]);
        let mut beds = Vec::new();
        let columns = ["beds".to_string()];
        let geometry = third.geometry_column("HB-PSF-02").expect("geometry");
        (third.for_each_row("HB-PSF-02", geometry.as_ref(), &columns, |_, _, cells| {
            beds.push(cells[0].clone())
        }))
        .expect("rows");
        assert_eq!(beds, vec![Some("2".to_string()); 3]);
    }

    #[test]
    fn a_package_from_a_template_holds_what_one_written_table_by_table_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let templates = Templates::new("2020-12-31T00:00:00.000Z");
        write(&templates, &dir.path().join("first.gpkg"), 3);
        let copied = dir.path().join("copied.gpkg");
        write(&templates, &copied, 5);
        let direct = dir.path().join("direct.gpkg");
        let tables = tables();
        let mut gpkg = GpkgWriter::create(&direct, "2020-12-31T00:00:00.000Z").expect("create");
        (gpkg.add_layer(
            "HB-PSF-02",
            "医疗卫生机构",
            "POINT",
            &tables[0].columns,
            features(5),
        ))
        .expect("layer");
        gpkg.add_default_style("HB-PSF-02", "医疗卫生机构", "<qgis/>")
            .expect("style");
        (gpkg.add_attributes("DR-HH-01", "家庭", &tables[1].columns, households(5)))
            .expect("attributes");
        gpkg.finish().expect("finish");
        let copied = content(&copied);
        let direct = content(&direct);
        let differ: Vec<_> = (copied.iter().zip(&direct))
            .filter(|(a, b)| a != b)
            .collect();
        assert!(
            differ.is_empty() && copied.len() == direct.len(),
            "{differ:?}"
        );
        // The extent is the rows', and the R-tree holds every feature.
        let extent = copied.iter().find(|t| t.starts_with("gpkg_contents"));
        assert!(extent.is_some_and(|e| e.contains("Real(104.5)") && e.contains("Real(36.02)")));
        let rtree = copied
            .iter()
            .find(|t| t.starts_with("rtree_HB-PSF-02_geom_rowid"));
        assert!(
            rtree.is_some_and(|r| r.matches(';').count() == 2),
            "{rtree:?}"
        );
    }

    #[test]
    fn the_r_tree_triggers_are_in_the_file_for_other_programs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.gpkg");
        write(&Templates::new("2020-12-31T00:00:00.000Z"), &path, 1);
        let db = Connection::open(&path).expect("open");
        let triggers: i64 = (db.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'HB-PSF-02'",
            [],
            |r| r.get(0),
        ))
        .expect("count");
        assert_eq!(triggers, 6);
        // Without the writer's setting they fire: a plain SQLite has no ST_ functions.
        let insert = db.execute("INSERT INTO \"HB-PSF-02\" (geom) VALUES (x'00')", []);
        assert!(insert.is_err_and(|e| e.to_string().contains("ST_IsEmpty")));
    }
}

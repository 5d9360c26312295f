//! A GeoPackage per county (`counties/<code>_<name>.gpkg`): the county's GeoParquet layers —
//! facilities per class, villages, townships — its outline and the findings inside it, each a
//! layer in EPSG:4490 with its QGIS style stored as the layer's default. One file a county office
//! can e-mail and GIS staff open in any QGIS or ArcGIS, whose GDAL reads GeoPackage everywhere
//! (Debian's lacks the Parquet driver).
//!
//! The layers are read back from the GeoParquet files just written, so the package holds exactly
//! what the database holds.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use geo::{BoundingRect, Intersects};
use geo_types::{Geometry, MultiPolygon};
use geozero::wkb::{FromWkb, WkbDialect};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
pub use riskcensus_gpkg::templates::Templates;
use riskcensus_gpkg::writer::{Column, GpkgWriter, Kind, TableSpec, Value};

/// A GeoParquet layer read into memory: geometry type, attribute columns, rows. Run-wide layers
/// (counties, findings) are read once and filtered into each county's package.
#[derive(Debug, Clone)]
pub struct LayerData {
    /// `POINT`, `MULTIPOLYGON` or `GEOMETRY`.
    pub geometry_type: String,
    /// The attribute columns (all but the geometry and the `bbox` covering).
    pub columns: Vec<Column>,
    /// The rows: geometry and values, in file order.
    pub rows: Rows,
}

/// Where a package layer's rows come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// A GeoParquet file, read when the package is written.
    Parquet(&'a Path),
    /// A layer already read ([`read_layer`]).
    Read(&'a LayerData),
    /// One county's rows of a run-wide layer: only its row groups are read.
    County(&'a CountyLayer, &'a str),
}

/// A run-wide GeoParquet layer (`facilities/<CLASS>.parquet`, `villages.parquet` …) opened once
/// for the county packages: its footer, and which row groups hold each county's rows, from the
/// `county_code` statistics. A row group whose statistics name no single county (a file written
/// by another tool) is read for every county; its rows are filtered by value.
pub struct CountyLayer {
    path: std::path::PathBuf,
    metadata: ArrowReaderMetadata,
    by_county: std::collections::BTreeMap<String, Vec<usize>>,
    mixed: Vec<usize>,
}

impl CountyLayer {
    /// Read the layer's footer and index its row groups by county.
    pub fn open(path: &Path) -> Result<Self, String> {
        let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let file = std::fs::File::open(path).map_err(|e| err(&e))?;
        let metadata = ArrowReaderMetadata::load(&file, Default::default()).map_err(|e| err(&e))?;
        let parquet = metadata.metadata();
        let at = parquet
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.path().string() == "county_code")
            .ok_or_else(|| err(&"no county_code column"))?;
        let mut by_county: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
        let mut mixed = Vec::new();
        for (i, group) in parquet.row_groups().iter().enumerate() {
            let bounds = group.column(at).statistics().and_then(|s| {
                s.min_bytes_opt()
                    .zip(s.max_bytes_opt())
                    .filter(|(min, max)| min == max)
                    .and_then(|(min, _)| std::str::from_utf8(min).ok())
            });
            match bounds {
                Some(county) => by_county.entry(county.to_string()).or_default().push(i),
                None => mixed.push(i),
            }
        }
        Ok(CountyLayer {
            path: path.to_path_buf(),
            metadata,
            by_county,
            mixed,
        })
    }

    /// Rows per county from the row groups' metadata alone: `None` when a row group holds
    /// several counties (a layer not written by riskcensus; read it instead).
    pub fn rows_per_county(&self) -> Option<std::collections::BTreeMap<String, usize>> {
        if !self.mixed.is_empty() {
            return None;
        }
        let groups = self.metadata.metadata().row_groups();
        let rows = |i: &usize| {
            groups
                .get(*i)
                .map_or(0, |g| usize::try_from(g.num_rows()).unwrap_or(0))
        };
        Some(
            self.by_county
                .iter()
                .map(|(county, at)| (county.clone(), at.iter().map(rows).sum()))
                .collect(),
        )
    }

    /// Whether the layer may hold rows of `county`.
    pub fn holds(&self, county: &str) -> bool {
        self.by_county.contains_key(county) || !self.mixed.is_empty()
    }

    /// The row groups read for `county`, in file order.
    pub fn row_groups(&self, county: &str) -> Vec<usize> {
        let mut groups: Vec<usize> = (self.by_county.get(county).into_iter().flatten())
            .chain(&self.mixed)
            .copied()
            .collect();
        groups.sort_unstable();
        groups
    }

    /// The rows of `county` (its `county_code`), in file order.
    pub fn read_county(&self, county: &str) -> Result<LayerData, String> {
        let err = |e: &dyn std::fmt::Display| format!("{}: {e}", self.path.display());
        let file = std::fs::File::open(&self.path).map_err(|e| err(&e))?;
        let builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                .with_row_groups(self.row_groups(county));
        let mut data = read_rows(builder, &self.path)?;
        if let Some(at) = data.columns.iter().position(|c| c.name == "county_code") {
            data.rows
                .retain(|(_, v)| matches!(v.get(at), Some(Value::Text(c)) if c == county));
        }
        Ok(data)
    }
}

/// One GeoParquet layer to copy into a package.
pub struct PackageLayer<'a> {
    /// The rows.
    pub source: Source<'a>,
    /// Layer (table) name in the package.
    pub table: &'a str,
    /// Its description (the Chinese name).
    pub description: &'a str,
    /// The QGIS style for it (`.qml` text), stored as its default.
    pub qml: Option<&'a str>,
    /// Keep only rows whose `county_code` column is this (the run-wide county layer).
    pub county_code: Option<&'a str>,
    /// Keep only rows whose point lies in this polygon (the run-wide findings layer).
    pub within: Option<&'a MultiPolygon<f64>>,
}

/// What [`write_package`] wrote of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerWritten {
    /// Rows (features) written.
    pub rows: usize,
    /// Whether it is a feature layer (false: a table without geometry, unstyled).
    pub drawn: bool,
}

/// Write `layers` into a new GeoPackage at `path`, one layer after the other (only one layer's
/// rows in memory: the run-wide package); what was written of each, in order.
pub fn write_package(
    path: &Path,
    layers: &[PackageLayer<'_>],
    last_change: &str,
) -> Result<Vec<LayerWritten>, String> {
    let mut gpkg = GpkgWriter::create(path, last_change)?;
    let mut written = Vec::with_capacity(layers.len());
    for layer in layers {
        let (table, rows) = package_rows(layer)?;
        gpkg.create_table(&table)?;
        written.push(insert(&mut gpkg, &table, rows)?);
    }
    gpkg.finish()?;
    Ok(written)
}

/// Write `layers` into a new GeoPackage at `path` that starts as a copy of the template with the
/// same tables (a county package: all its layers' rows are read first, as the tables depend on
/// them); what was written of each, in order.
pub fn write_from_template(
    path: &Path,
    layers: &[PackageLayer<'_>],
    templates: &Templates,
) -> Result<Vec<LayerWritten>, String> {
    let (tables, rows): (Vec<TableSpec>, Vec<Rows>) = (layers.iter())
        .map(package_rows)
        .collect::<Result<Vec<_>, String>>()?
        .into_iter()
        .unzip();
    let mut gpkg = templates.create(path, &tables)?;
    let written = (tables.iter().zip(rows))
        .map(|(table, rows)| insert(&mut gpkg, table, rows))
        .collect::<Result<_, String>>()?;
    gpkg.finish()?;
    Ok(written)
}

/// A layer's table in the package and the rows it gets. A layer without any geometry
/// (household returns) is a plain table, nothing to draw or style.
fn package_rows(layer: &PackageLayer<'_>) -> Result<(TableSpec, Rows), String> {
    let area_box = layer.within.and_then(|area| area.bounding_rect());
    let keep = |g: &Option<Geometry<f64>>, v: &[Value], columns: &[Column]| {
        keep(layer, area_box, columns, g.as_ref(), v)
    };
    let (geometry_type, columns, rows): (String, Vec<Column>, Rows) = match layer.source {
        Source::Parquet(path) => {
            let data = read_layer(path)?;
            let rows = (data.rows.into_iter())
                .filter(|(g, v)| keep(g, v, &data.columns))
                .collect();
            (data.geometry_type, data.columns, rows)
        }
        Source::County(layer, county) => {
            let data = layer.read_county(county)?;
            (data.geometry_type, data.columns, data.rows)
        }
        Source::Read(data) => {
            let rows = (data.rows.iter())
                .filter(|(g, v)| keep(g, v, &data.columns))
                .cloned()
                .collect();
            (data.geometry_type.clone(), data.columns.clone(), rows)
        }
    };
    let drawn = geometry_type != "GEOMETRY" || rows.iter().any(|(g, _)| g.is_some());
    let table = TableSpec {
        table: layer.table.to_string(),
        description: layer.description.to_string(),
        geometry_type: drawn.then_some(geometry_type),
        columns,
        style: layer.qml.filter(|_| drawn).map(str::to_string),
    };
    Ok((table, rows))
}

/// Insert a layer's rows into its table.
fn insert(gpkg: &mut GpkgWriter, table: &TableSpec, rows: Rows) -> Result<LayerWritten, String> {
    Ok(if table.geometry_type.is_some() {
        let rows = gpkg.insert_features(&table.table, &table.columns, rows)?;
        LayerWritten { rows, drawn: true }
    } else {
        let values = rows.into_iter().map(|(_, v)| v);
        let rows = gpkg.insert_attributes(&table.table, &table.columns, values)?;
        LayerWritten { rows, drawn: false }
    })
}

/// The rows of a layer: geometry (if any) and values in column order.
pub type Rows = Vec<(Option<Geometry<f64>>, Vec<Value>)>;

/// Whether a row belongs in `layer`'s package (its `county_code`, its point in `within`).
fn keep(
    layer: &PackageLayer<'_>,
    area_box: Option<geo_types::Rect<f64>>,
    columns: &[Column],
    geometry: Option<&Geometry<f64>>,
    values: &[Value],
) -> bool {
    if let Some(code) = layer.county_code {
        let at = columns.iter().position(|c| c.name == "county_code");
        match at.and_then(|i| values.get(i)) {
            Some(Value::Text(value)) if value == code => {}
            _ => return false,
        }
    }
    if let Some(area) = layer.within {
        let Some(geometry) = geometry else {
            return false;
        };
        // The bounding boxes first: most rows of a national layer are far away.
        let inside_box = match (area_box, geometry.bounding_rect()) {
            (Some(a), Some(g)) => a.intersects(&g),
            _ => false,
        };
        if !inside_box || !area.intersects(geometry) {
            return false;
        }
    }
    true
}

/// Read a GeoParquet layer: its geometry type, attribute columns and rows.
pub fn read_layer(path: &Path) -> Result<LayerData, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| err(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(&e))?;
    read_rows(builder, path)
}

/// The rows a reader of a GeoParquet layer gives, with the layer's geometry type and columns.
fn read_rows(
    builder: ParquetRecordBatchReaderBuilder<std::fs::File>,
    path: &Path,
) -> Result<LayerData, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let geo: serde_json::Value = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.as_deref())
        .and_then(|v| serde_json::from_str(v).ok())
        .ok_or_else(|| err(&"no GeoParquet `geo` metadata"))?;
    let geometry_column = geo["primary_column"]
        .as_str()
        .unwrap_or("geometry")
        .to_string();
    let types: Vec<&str> = geo["columns"][geometry_column.as_str()]["geometry_types"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    let geometry_type = match types.as_slice() {
        ["Point"] => "POINT",
        ["MultiPolygon"]
        | ["Polygon"]
        | ["MultiPolygon", "Polygon"]
        | ["Polygon", "MultiPolygon"] => "MULTIPOLYGON",
        _ => "GEOMETRY",
    };
    let schema = builder.schema().clone();
    let columns: Vec<(usize, Column)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name() != &geometry_column)
        .filter_map(|(i, f)| {
            let kind = match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
                DataType::Int64 => Kind::Integer,
                DataType::Float64 => Kind::Real,
                DataType::Boolean => Kind::Boolean,
                DataType::Date32 => Kind::Date,
                _ => return None, // the `bbox` covering: the package has its R-tree
            };
            Some((i, Column::new(f.name(), kind)))
        })
        .collect();
    let geometry_at = schema.index_of(&geometry_column).map_err(|e| err(&e))?;
    let reader = builder.build().map_err(|e| err(&e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| err(&e))?;
        for row in 0..batch.num_rows() {
            let values = columns
                .iter()
                .map(|(i, c)| value(batch.column(*i).as_ref(), c.kind, row))
                .collect();
            rows.push((geometry(&batch, geometry_at, row), values));
        }
    }
    Ok(LayerData {
        geometry_type: geometry_type.to_string(),
        columns: columns.into_iter().map(|(_, c)| c).collect(),
        rows,
    })
}

fn geometry(batch: &RecordBatch, at: usize, row: usize) -> Option<Geometry<f64>> {
    let array = batch.column(at);
    if array.is_null(row) {
        return None;
    }
    let bytes = array
        .as_binary_opt::<i32>()
        .map(|a| a.value(row))
        .or_else(|| array.as_binary_opt::<i64>().map(|a| a.value(row)))?;
    Geometry::from_wkb(&mut &bytes[..], WkbDialect::Wkb).ok()
}

fn text(array: &dyn Array, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    array
        .as_string_opt::<i32>()
        .map(|a| a.value(row).to_string())
        .or_else(|| {
            array
                .as_string_opt::<i64>()
                .map(|a| a.value(row).to_string())
        })
        .or_else(|| array.as_string_view_opt().map(|a| a.value(row).to_string()))
}

fn value(array: &dyn Array, kind: Kind, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match kind {
        Kind::Text => text(array, row).map_or(Value::Null, Value::Text),
        Kind::Integer => array
            .as_primitive_opt::<Int64Type>()
            .map_or(Value::Null, |a| Value::Integer(a.value(row))),
        Kind::Real => array
            .as_primitive_opt::<Float64Type>()
            .map_or(Value::Null, |a| Value::Real(a.value(row))),
        Kind::Boolean => array
            .as_boolean_opt()
            .map_or(Value::Null, |a| Value::Integer(i64::from(a.value(row)))),
        Kind::Date => array
            .as_primitive_opt::<Date32Type>()
            .and_then(|a| {
                chrono::DateTime::from_timestamp(i64::from(a.value(row)) * 86_400, 0)
                    .map(|d| Value::Text(d.date_naive().format("%Y-%m-%d").to_string()))
            })
            .unwrap_or(Value::Null),
    }
}

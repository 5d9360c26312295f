//! Publish: GeoParquet 1.1 layers, the findings table and the rejected rows.
//!
//! GeoParquet is written with arrow-rs `parquet` so that the file carries only plain Arrow types
//! (Utf8, Int64, Float64, Boolean, Binary, Struct) — no view types, no `geoarrow.wkb` extension
//! tag — which the GDAL builds inside QGIS read. Each file has:
//! WKB geometry, the `geo` metadata (version 1.1.0) with the PROJJSON of EPSG:4490 from PROJ's
//! database, exact `geometry_types`, the file `bbox`, a `bbox` covering struct column, `edges`
//! planar, polygons counter-clockwise with `orientation` declared; rows in Hilbert order; zstd;
//! row groups of at most [`ROW_GROUP_SIZE`] rows. Writing is deterministic: the same input gives the same bytes.
//!
//! ```
//! use polars::prelude::*;
//! use riskcensus_publish::{write_geoparquet, Geometries};
//! let attrs = df!("name" => ["第一小学", "第二小学"]).unwrap();
//! let dir = std::env::temp_dir().join(format!("rc-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let info = write_geoparquet(&dir.join("schools.parquet"), &attrs,
//!     Geometries::Points(vec![Some((104.1, 36.5)), Some((104.2, 36.6))])).unwrap();
//! assert_eq!(info.rows, 2);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
#![deny(missing_docs)]

pub mod county_packages;
pub mod grouped;
pub mod package;
pub mod qgis;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow_array::builder::BinaryBuilder;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, StructArray,
};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Fields, Schema};
use geo::orient::{Direction, Orient};
use geo::BoundingRect;
use geo_types::{MultiPolygon, Point};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::{
    add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter, ArrowWriter, ARROW_SCHEMA_META_KEY,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::SchemaDescriptor;
use polars::prelude::{DataFrame, DataType as PlType};
use riskcensus_core::Finding;
use sha2::{Digest, Sha256};

/// Largest row group written (QGIS and DuckDB prune by row group statistics).
pub const ROW_GROUP_SIZE: usize = 65_536;

/// Files with at least this many rows are zstd-compressed (level 3), dictionary-encoded and carry
/// page statistics; smaller ones are written uncompressed, plain-encoded, with statistics per
/// column chunk. A national run writes ~80,000 per-county layers of a few dozen rows each, where
/// compression and dictionaries save little, yet the parquet crate sets up a zstd compressor and
/// decompressor and a dictionary for every column chunk: that set-up was a fifth of the whole
/// run's CPU time (perf, BENCHMARKS.md).
pub const ZSTD_MIN_ROWS: usize = 1_024;

/// PROJJSON of EPSG:4490 (CGCS2000), exported from PROJ 9.5.1's database by pyproj.
pub const EPSG_4490_PROJJSON: &str = include_str!("epsg4490.projjson");

/// [`EPSG_4490_PROJJSON`] checked and made compact (keys sorted), once: each layer's `geo`
/// metadata copies this text instead of cloning and serialising a JSON tree (a national run
/// writes ≈ 81,000 layers; building their metadata as JSON values was 1.75 % of a run's CPU).
static EPSG_4490_CRS: std::sync::LazyLock<Result<Box<serde_json::value::RawValue>, String>> =
    std::sync::LazyLock::new(|| {
        serde_json::from_str::<serde_json::Value>(EPSG_4490_PROJJSON)
            .and_then(|crs| serde_json::value::to_raw_value(&crs))
            .map_err(|e| format!("EPSG:4490 PROJJSON: {e}"))
    });

/// The file metadata under the `geo` key (GeoParquet 1.1), fields in the order `serde_json`
/// sorts object keys.
#[derive(serde::Serialize)]
struct GeoMetadata<'a> {
    columns: GeoColumns<'a>,
    primary_column: &'static str,
    version: &'static str,
}

/// The one geometry column.
#[derive(serde::Serialize)]
struct GeoColumns<'a> {
    geometry: GeometryColumn<'a>,
}

/// The `geometry` column's metadata.
#[derive(serde::Serialize)]
struct GeometryColumn<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    bbox: Option<[f64; 4]>,
    covering: Covering,
    crs: &'a serde_json::value::RawValue,
    edges: &'static str,
    encoding: &'static str,
    geometry_types: &'a [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    orientation: Option<&'static str>,
}

/// The bbox covering: where each bound of a row's box is.
#[derive(serde::Serialize)]
struct Covering {
    bbox: BboxCovering,
}

/// Paths of the `bbox` struct's fields.
#[derive(serde::Serialize)]
struct BboxCovering {
    xmax: [&'static str; 2],
    xmin: [&'static str; 2],
    ymax: [&'static str; 2],
    ymin: [&'static str; 2],
}

/// Errors while publishing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// File system.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// Parquet or Arrow.
    #[error("cannot write {path}: {message}")]
    Parquet {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A column type this writer does not publish.
    #[error("column `{column}` has type {dtype}, which is not published")]
    UnsupportedType {
        /// Column.
        column: String,
        /// Its polars type.
        dtype: String,
    },
}

/// The geometries of a layer, one per row.
#[derive(Debug, Clone)]
pub enum Geometries {
    /// Points as (lon, lat); `None` writes a null geometry.
    Points(Vec<Option<(f64, f64)>>),
    /// Areas, always written as MultiPolygon so that one style fits the whole layer.
    Polygons(Vec<MultiPolygon<f64>>),
}

impl Geometries {
    pub(crate) fn len(&self) -> usize {
        match self {
            Geometries::Points(p) => p.len(),
            Geometries::Polygons(p) => p.len(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// Rows.
    pub rows: usize,
    /// sha256 of the file.
    pub sha256: String,
}

/// The values of `rows` of a column, in that order (a row beyond the column gives a null).
///
/// Each row's chunk is found here rather than by `ChunkedArray::get`, which walks the chunks from
/// the first for every value: a county's rows mostly lie in one chunk (one return file), so the
/// chunk of the row before is tried first, and the chunk starts are searched otherwise. (With
/// `get`, finding chunks was a fifth of this copy, and the copy a quarter of writing the facility
/// layers; perf, 1 M-row run.)
fn gather<'a, T: polars::prelude::PolarsDataType>(
    column: &'a polars::prelude::ChunkedArray<T>,
    rows: &'a [usize],
) -> impl Iterator<Item = Option<T::Physical<'a>>> + 'a {
    use polars_arrow::array::{Array as _, StaticArray as _};
    let chunks: Vec<&'a T::Array> = column.downcast_iter().collect();
    let mut starts = Vec::with_capacity(chunks.len() + 1);
    let mut start = 0;
    for chunk in &chunks {
        starts.push(start);
        start += chunk.len();
    }
    starts.push(start);
    let mut current = 0;
    rows.iter().map(move |&row| {
        let holds = |chunk: usize| {
            starts
                .get(chunk)
                .zip(starts.get(chunk + 1))
                .is_some_and(|(&first, &end)| first <= row && row < end)
        };
        if !holds(current) {
            // The last chunk starting at or before the row (empty chunks share their start with
            // the next one, which is then the one found).
            current = starts.partition_point(|&s| s <= row).saturating_sub(1);
        }
        let first = starts.get(current)?;
        chunks.get(current)?.get(row - first)
    })
}

/// Arrow arrays of `rows` of the frame (in that order), built straight from its columns: one
/// copy per value, whatever the frame's chunks. (Gathering with polars first, then converting,
/// copied every value twice and was a quarter of publishing a national run; perf.)
pub(crate) fn to_arrow(
    frame: &DataFrame,
    rows: &[usize],
) -> Result<Vec<(ArrowField, ArrayRef)>, PublishError> {
    let mut out = Vec::with_capacity(frame.width());
    for column in frame.columns() {
        let name = column.name().to_string();
        let unsupported = || PublishError::UnsupportedType {
            column: name.clone(),
            dtype: column.dtype().to_string(),
        };
        let series = column.as_materialized_series();
        let (dtype, array): (ArrowType, ArrayRef) = match column.dtype() {
            PlType::String => {
                let ca = series.str().map_err(|_| unsupported())?;
                (
                    ArrowType::Utf8,
                    Arc::new(gather(ca, rows).collect::<StringArray>()),
                )
            }
            PlType::Boolean => {
                let ca = series.bool().map_err(|_| unsupported())?;
                (
                    ArrowType::Boolean,
                    Arc::new(gather(ca, rows).collect::<BooleanArray>()),
                )
            }
            PlType::Float64 => {
                let ca = series.f64().map_err(|_| unsupported())?;
                (
                    ArrowType::Float64,
                    Arc::new(gather(ca, rows).collect::<Float64Array>()),
                )
            }
            PlType::Date => {
                let ca = series.date().map_err(|_| unsupported())?.physical();
                (
                    ArrowType::Date32,
                    Arc::new(gather(ca, rows).collect::<arrow_array::Date32Array>()),
                )
            }
            PlType::Int64 => {
                let ca = series.i64().map_err(|_| unsupported())?;
                (
                    ArrowType::Int64,
                    Arc::new(gather(ca, rows).collect::<Int64Array>()),
                )
            }
            PlType::Int32 => {
                let ca = series.i32().map_err(|_| unsupported())?;
                let values = gather(ca, rows).map(|v| v.map(i64::from));
                (ArrowType::Int64, Arc::new(values.collect::<Int64Array>()))
            }
            PlType::UInt32 => {
                let ca = series.u32().map_err(|_| unsupported())?;
                let values = gather(ca, rows).map(|v| v.map(i64::from));
                (ArrowType::Int64, Arc::new(values.collect::<Int64Array>()))
            }
            PlType::UInt64 => {
                let ca = series.u64().map_err(|_| unsupported())?;
                let values = gather(ca, rows)
                    .map(|v| v.map(i64::try_from).transpose())
                    .collect::<Result<Int64Array, _>>()
                    .map_err(|_| unsupported())?;
                (ArrowType::Int64, Arc::new(values))
            }
            _ => return Err(unsupported()),
        };
        out.push((ArrowField::new(name, dtype, true), array));
    }
    Ok(out)
}

/// Write a GeoParquet 1.1 file: the frame's columns, then `geometry` (WKB) and `bbox`, with its
/// rows in Hilbert order of their bounding-box centres (nearby rows in the same row groups and
/// pages, so that readers prune by the covering bbox); rows without geometry last; ties keep their
/// input order.
pub fn write_geoparquet(
    path: &Path,
    attributes: &DataFrame,
    geometries: Geometries,
) -> Result<Written, PublishError> {
    let rows: Vec<polars::prelude::IdxSize> = (0..attributes.height())
        .map(|i| i as polars::prelude::IdxSize)
        .collect();
    write_geoparquet_rows(path, attributes, &rows, geometries)
}

/// [`write_geoparquet`] for some rows of `attributes`: `rows` picks them and `geometries` holds
/// their geometries in the same order. The values are copied once, straight into Hilbert order,
/// whatever the frame's chunks.
pub fn write_geoparquet_rows(
    path: &Path,
    attributes: &DataFrame,
    rows: &[polars::prelude::IdxSize],
    geometries: Geometries,
) -> Result<Written, PublishError> {
    let pq_err = |e: &dyn std::fmt::Display| PublishError::Parquet {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if geometries.len() != rows.len() {
        return Err(pq_err(&format!(
            "{} geometries for {} rows",
            geometries.len(),
            rows.len()
        )));
    }
    let order = hilbert_order(&geometries);
    let picked: Vec<usize> = order.iter().map(|&i| rows[i] as usize).collect();
    let geometries = match geometries {
        Geometries::Points(p) => Geometries::Points(order.iter().map(|&i| p[i]).collect()),
        Geometries::Polygons(mut p) => Geometries::Polygons(
            order
                .iter()
                .map(|&i| std::mem::replace(&mut p[i], MultiPolygon(Vec::new())))
                .collect(),
        ),
    };
    write_rows(path, attributes, &picked, geometries)
}

/// The rows of a point layer that [`write_geoparquet_rows`] wrote, read back: its attribute
/// columns (Arrow arrays, in file order) and each row's point (from its `bbox` column).
#[derive(Debug, Clone)]
pub struct PointLayer {
    /// Attribute columns, without `geometry` and `bbox`.
    pub columns: Vec<(ArrowField, ArrayRef)>,
    /// Each row's point; `None` for a row without geometry.
    pub points: Vec<Option<(f64, f64)>>,
}

impl PointLayer {
    /// Read a layer back.
    pub fn read(path: &Path) -> Result<Self, PublishError> {
        let pq_err = |e: &dyn std::fmt::Display| PublishError::Parquet {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(|source| PublishError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| pq_err(&e))?;
        let schema = builder.schema().clone();
        let batches: Vec<RecordBatch> = builder
            .build()
            .map_err(|e| pq_err(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| pq_err(&e))?;
        let batch =
            arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| pq_err(&e))?;
        let bbox = batch
            .column_by_name("bbox")
            .and_then(|c| c.as_any().downcast_ref::<StructArray>())
            .ok_or_else(|| pq_err(&"no `bbox` struct column"))?;
        let corner = |name: &str| {
            bbox.column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
                .ok_or_else(|| pq_err(&format!("no `bbox.{name}` Float64 column")))
        };
        let (xmin, ymin) = (corner("xmin")?, corner("ymin")?);
        let points = (0..batch.num_rows())
            .map(|i| {
                (bbox.is_valid(i) && xmin.is_valid(i) && ymin.is_valid(i))
                    .then(|| (xmin.value(i), ymin.value(i)))
            })
            .collect();
        let columns = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| f.name() != "geometry" && f.name() != "bbox")
            .map(|(f, a)| (f.as_ref().clone(), a.clone()))
            .collect();
        Ok(PointLayer { columns, points })
    }

    /// An attribute column by name.
    pub fn column(&self, name: &str) -> Option<&ArrayRef> {
        self.columns
            .iter()
            .find(|(f, _)| f.name() == name)
            .map(|(_, a)| a)
    }
}

/// Write a point layer of `earlier`'s rows, taken in the order `earlier_order` (every row once),
/// followed by `rows` of `attributes` with their `points`: the same file
/// [`write_geoparquet_rows`] writes for all these rows in this order, without holding the earlier
/// ones in memory until then. The attributes must have the columns and types of `earlier`.
pub fn write_points_after(
    path: &Path,
    earlier: &PointLayer,
    earlier_order: &[usize],
    attributes: &DataFrame,
    rows: &[polars::prelude::IdxSize],
    points: Vec<Option<(f64, f64)>>,
) -> Result<Written, PublishError> {
    let pq_err = |e: &dyn std::fmt::Display| PublishError::Parquet {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut sorted_order = earlier_order.to_vec();
    sorted_order.sort_unstable();
    if sorted_order != (0..earlier.points.len()).collect::<Vec<_>>() {
        return Err(pq_err(
            &"the order of the earlier rows is not a permutation of them",
        ));
    }
    if points.len() != rows.len() {
        return Err(pq_err(&format!(
            "{} points for {} rows",
            points.len(),
            rows.len()
        )));
    }
    let rows: Vec<usize> = rows.iter().map(|&r| r as usize).collect();
    if let Some(&beyond) = rows.iter().find(|&&i| i >= attributes.height()) {
        return Err(pq_err(&format!(
            "row {beyond} of a table of {} rows",
            attributes.height()
        )));
    }
    let later = to_arrow(attributes, &rows)?;
    let same_columns = later.len() == earlier.columns.len()
        && later
            .iter()
            .zip(&earlier.columns)
            .all(|((a, _), (b, _))| a.name() == b.name() && a.data_type() == b.data_type());
    if !same_columns {
        return Err(pq_err(&"the new rows' columns differ from the layer's"));
    }
    let index = |order: &[usize]| -> Result<arrow_array::UInt32Array, PublishError> {
        order
            .iter()
            .map(|&i| u32::try_from(i).map_err(|_| pq_err(&"more than 2³² rows")))
            .collect()
    };
    let all_points: Vec<Option<(f64, f64)>> = earlier_order
        .iter()
        .map(|&i| earlier.points[i])
        .chain(points)
        .collect();
    let order = hilbert_order(&Geometries::Points(all_points.clone()));
    let (earlier_index, order_index) = (index(earlier_order)?, index(&order)?);
    let mut columns = Vec::with_capacity(later.len());
    for ((field, before), (_, after)) in earlier.columns.iter().zip(later) {
        let before = arrow_select::take::take(before.as_ref(), &earlier_index, None)
            .map_err(|e| pq_err(&e))?;
        let all = arrow_select::concat::concat(&[before.as_ref(), after.as_ref()])
            .map_err(|e| pq_err(&e))?;
        let ordered =
            arrow_select::take::take(all.as_ref(), &order_index, None).map_err(|e| pq_err(&e))?;
        columns.push((field.clone(), ordered));
    }
    let points = order.iter().map(|&i| all_points[i]).collect();
    write_columns(path, columns, Geometries::Points(points))
}

/// Write rows in the order given (e.g. the findings, by file and row).
pub fn write_geoparquet_as_is(
    path: &Path,
    attributes: &DataFrame,
    geometries: Geometries,
) -> Result<Written, PublishError> {
    let rows: Vec<usize> = (0..attributes.height()).collect();
    write_rows(path, attributes, &rows, geometries)
}

/// The permutation that puts rows in Hilbert order (order 16 over the layer's extent).
pub fn hilbert_order(geometries: &Geometries) -> Vec<usize> {
    let centres: Vec<Option<(f64, f64)>> = match geometries {
        Geometries::Points(p) => p.clone(),
        Geometries::Polygons(p) => p
            .iter()
            .map(|mp| {
                mp.bounding_rect()
                    .map(|r| ((r.min().x + r.max().x) / 2.0, (r.min().y + r.max().y) / 2.0))
            })
            .collect(),
    };
    let present = centres.iter().flatten();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in present {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let scale = |v: f64, lo: f64, hi: f64| {
        if hi > lo {
            (((v - lo) / (hi - lo)) * 65535.0).round() as u32
        } else {
            0
        }
    };
    let keys: Vec<u64> = centres
        .iter()
        .map(|c| match c {
            Some((x, y)) => fast_hilbert::xy2h(scale(*x, x0, x1), scale(*y, y0, y1), 16),
            None => u64::MAX,
        })
        .collect();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (keys[i], i));
    order
}

/// Write `rows` of `attributes` (in that order) with their `geometries`.
fn write_rows(
    path: &Path,
    attributes: &DataFrame,
    rows: &[usize],
    geometries: Geometries,
) -> Result<Written, PublishError> {
    let pq_err = |e: &dyn std::fmt::Display| PublishError::Parquet {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if geometries.len() != rows.len() {
        return Err(pq_err(&format!(
            "{} geometries for {} rows",
            geometries.len(),
            rows.len()
        )));
    }
    if let Some(&beyond) = rows.iter().find(|&&i| i >= attributes.height()) {
        return Err(pq_err(&format!(
            "row {beyond} of a table of {} rows",
            attributes.height()
        )));
    }
    write_columns(path, to_arrow(attributes, rows)?, geometries)
}

/// A layer schema's Parquet schema and its `ARROW:schema` key, made once per schema.
///
/// The writer derives both from the Arrow schema for every file it opens; a national run writes
/// ≈ 81,000 layers of a few dozen schemas (one per class, the area layers, the findings).
pub(crate) struct EncodedSchema {
    pub(crate) parquet: SchemaDescriptor,
    pub(crate) arrow_metadata: KeyValue,
}

/// The [`EncodedSchema`] of `schema`, from a cache shared by the writing threads.
pub(crate) fn encoded_schema(
    schema: &Schema,
) -> Result<Arc<EncodedSchema>, parquet::errors::ParquetError> {
    static CACHE: std::sync::LazyLock<Mutex<HashMap<Schema, Arc<EncodedSchema>>>> =
        std::sync::LazyLock::new(Mutex::default);
    // A poisoned lock only means another thread panicked while holding it; the map is whole.
    let cache = || {
        CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(found) = cache().get(schema) {
        return Ok(found.clone());
    }
    // What `ArrowWriter::try_new` does for every file (the layers' properties leave
    // `coerce_types` off, as the converter's default does), done once per schema.
    let parquet = ArrowSchemaConverter::new().convert(schema)?;
    let mut scratch = WriterProperties::builder().build();
    add_encoded_arrow_schema_to_metadata(schema, &mut scratch);
    let arrow_metadata = scratch
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == ARROW_SCHEMA_META_KEY))
        .cloned()
        .ok_or_else(|| {
            parquet::errors::ParquetError::General("the Arrow schema was not encoded".to_string())
        })?;
    let encoded = Arc::new(EncodedSchema {
        parquet,
        arrow_metadata,
    });
    cache().insert(schema.clone(), encoded.clone());
    Ok(encoded)
}

/// The `geometry` (WKB) and `bbox` covering columns of some geometries, their extent and
/// GeoParquet geometry type.
pub(crate) struct GeometryColumns {
    /// `geometry` then `bbox`.
    pub(crate) columns: [(ArrowField, ArrayRef); 2],
    /// The box around every geometry; `None` when there is none.
    pub(crate) extent: Option<[f64; 4]>,
    /// `Point` or `MultiPolygon`.
    pub(crate) geometry_type: &'static str,
}

/// The smallest box holding both.
pub(crate) fn union_box(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (None, b) => b,
        (a, None) => a,
        (Some(a), Some(b)) => Some([
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]),
    }
}

/// Encode geometries as WKB (polygons counter-clockwise) with their bounding boxes.
pub(crate) fn geometry_columns(
    geometries: Geometries,
    pq_err: &dyn Fn(&dyn std::fmt::Display) -> PublishError,
) -> Result<GeometryColumns, PublishError> {
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    let mut wkb_builder = BinaryBuilder::new();
    let (mut xmin, mut ymin, mut xmax, mut ymax) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut extent: Option<[f64; 4]> = None;
    let mut buffer = Vec::new();
    let geometry_type = match &geometries {
        Geometries::Points(_) => "Point",
        Geometries::Polygons(_) => "MultiPolygon",
    };
    let mut push_bbox = |b: Option<[f64; 4]>| {
        extent = union_box(extent, b);
        xmin.push(b.map(|b| b[0]));
        ymin.push(b.map(|b| b[1]));
        xmax.push(b.map(|b| b[2]));
        ymax.push(b.map(|b| b[3]));
    };
    match geometries {
        Geometries::Points(points) => {
            for p in points {
                match p {
                    Some((x, y)) => {
                        buffer.clear();
                        wkb::writer::write_geometry(&mut buffer, &Point::new(x, y), &options)
                            .map_err(|e| pq_err(&e))?;
                        wkb_builder.append_value(&buffer);
                        push_bbox(Some([x, y, x, y]));
                    }
                    None => {
                        wkb_builder.append_null();
                        push_bbox(None);
                    }
                }
            }
        }
        Geometries::Polygons(polys) => {
            for mp in polys {
                let mp = mp.orient(Direction::Default);
                buffer.clear();
                wkb::writer::write_geometry(&mut buffer, &mp, &options).map_err(|e| pq_err(&e))?;
                wkb_builder.append_value(&buffer);
                push_bbox(
                    mp.bounding_rect()
                        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
                );
            }
        }
    }
    let bbox_fields = Fields::from(
        ["xmin", "ymin", "xmax", "ymax"]
            .map(|n| ArrowField::new(n, ArrowType::Float64, true))
            .to_vec(),
    );
    let bbox_arrays: Vec<ArrayRef> = [xmin, ymin, xmax, ymax]
        .into_iter()
        .map(|v| Arc::new(Float64Array::from(v)) as ArrayRef)
        .collect();
    let bbox =
        StructArray::try_new(bbox_fields.clone(), bbox_arrays, None).map_err(|e| pq_err(&e))?;
    Ok(GeometryColumns {
        columns: [
            (
                ArrowField::new("geometry", ArrowType::Binary, true),
                Arc::new(wkb_builder.finish()),
            ),
            (
                ArrowField::new("bbox", ArrowType::Struct(bbox_fields), true),
                Arc::new(bbox),
            ),
        ],
        extent,
        geometry_type,
    })
}

/// The GeoParquet 1.1 `geo` metadata of a layer with this extent and geometry type.
pub(crate) fn geo_metadata(
    extent: Option<[f64; 4]>,
    geometry_type: &'static str,
    pq_err: &dyn Fn(&dyn std::fmt::Display) -> PublishError,
) -> Result<String, PublishError> {
    let geo = GeoMetadata {
        columns: GeoColumns {
            geometry: GeometryColumn {
                bbox: extent,
                covering: Covering {
                    bbox: BboxCovering {
                        xmax: ["bbox", "xmax"],
                        xmin: ["bbox", "xmin"],
                        ymax: ["bbox", "ymax"],
                        ymin: ["bbox", "ymin"],
                    },
                },
                crs: EPSG_4490_CRS.as_ref().map_err(|e| pq_err(e))?,
                edges: "planar",
                encoding: "WKB",
                geometry_types: if extent.is_some() {
                    std::slice::from_ref(&geometry_type)
                } else {
                    &[]
                },
                orientation: (geometry_type == "MultiPolygon").then_some("counterclockwise"),
            },
        },
        primary_column: "geometry",
        version: "1.1.0",
    };
    serde_json::to_string(&geo).map_err(|e| pq_err(&e))
}

/// How a layer's column chunks are encoded, by how many rows they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packing {
    /// A layer under [`ZSTD_MIN_ROWS`] rows: uncompressed, plain, statistics per column chunk.
    Small,
    /// A large layer in small row groups (a run-wide layer with a row group per county, most
    /// under [`ZSTD_MIN_ROWS`] rows): as `Small`, but Snappy-compressed, which sets nothing up per
    /// column chunk (zstd's compressor and decompressor set-up per chunk was a quarter of a
    /// 1 M-row run's CPU, writing and reading back the county row groups).
    SmallGroups,
    /// zstd (level 3), dictionaries, page statistics.
    Large,
}

impl Packing {
    /// The packing of a layer of `rows` rows in about `groups` row groups.
    pub(crate) fn of(rows: usize, groups: usize) -> Self {
        if rows < ZSTD_MIN_ROWS {
            Packing::Small
        } else if rows / groups.max(1) < ZSTD_MIN_ROWS {
            Packing::SmallGroups
        } else {
            Packing::Large
        }
    }
}

/// The writer settings of a layer ([`Packing`]); `metadata` as the file's key-values.
pub(crate) fn writer_properties(
    packing: Packing,
    metadata: Vec<KeyValue>,
    pq_err: &dyn Fn(&dyn std::fmt::Display) -> PublishError,
) -> Result<WriterProperties, PublishError> {
    let large = packing == Packing::Large;
    Ok(WriterProperties::builder()
        .set_compression(match packing {
            Packing::Small => Compression::UNCOMPRESSED,
            Packing::SmallGroups => Compression::SNAPPY,
            Packing::Large => Compression::ZSTD(ZstdLevel::try_new(3).map_err(|e| pq_err(&e))?),
        })
        .set_max_row_group_row_count(Some(ROW_GROUP_SIZE))
        .set_dictionary_enabled(large)
        .set_statistics_enabled(if large {
            parquet::file::properties::EnabledStatistics::Page
        } else {
            parquet::file::properties::EnabledStatistics::Chunk
        })
        // A small row group's column chunks are one page each: an offset index would only repeat
        // where that page starts.
        .set_offset_index_disabled(!large)
        .set_key_value_metadata(Some(metadata))
        .build())
}

/// Write attribute `columns` (Arrow, all of the same length) with their `geometries`, then
/// `geometry` and `bbox`, and the GeoParquet metadata.
fn write_columns(
    path: &Path,
    mut columns: Vec<(ArrowField, ArrayRef)>,
    geometries: Geometries,
) -> Result<Written, PublishError> {
    let shown = path.display().to_string();
    let pq_err = |e: &dyn std::fmt::Display| PublishError::Parquet {
        path: shown.clone(),
        message: e.to_string(),
    };
    let encoded = geometry_columns(geometries, &pq_err)?;
    columns.extend(encoded.columns);
    let geo = geo_metadata(encoded.extent, encoded.geometry_type, &pq_err)?;
    let (fields, arrays): (Vec<ArrowField>, Vec<ArrayRef>) = columns.into_iter().unzip();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| pq_err(&e))?;
    let encoded = encoded_schema(&schema).map_err(|e| pq_err(&e))?;
    // `geo`, then `ARROW:schema` as the writer itself would add it.
    let props = writer_properties(
        Packing::of(batch.num_rows(), 1),
        vec![
            KeyValue::new("geo".to_string(), geo),
            encoded.arrow_metadata.clone(),
        ],
        &pq_err,
    )?;
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(true)
        .with_parquet_schema(encoded.parquet.clone());
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new_with_options(&mut bytes, schema, options).map_err(|e| pq_err(&e))?;
    writer.write(&batch).map_err(|e| pq_err(&e))?;
    writer.close().map_err(|e| pq_err(&e))?;
    std::fs::write(path, &bytes).map_err(|source| PublishError::Io {
        path: shown.clone(),
        source,
    })?;
    Ok(Written {
        rows: batch.num_rows(),
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

/// The findings as a table for [`write_geoparquet`] (points where the finding has one).
pub fn findings_frame(
    findings: &[Finding],
) -> polars::prelude::PolarsResult<(DataFrame, Geometries)> {
    use polars::prelude::*;
    let s = |f: &dyn Fn(&Finding) -> Option<String>| findings.iter().map(f).collect::<Vec<_>>();
    let frame = DataFrame::new(
        findings.len(),
        vec![
            Column::new("file".into(), s(&|f| Some(f.file.clone()))),
            Column::new("class".into(), s(&|f| Some(f.class.clone()))),
            Column::new(
                "row".into(),
                findings
                    .iter()
                    .map(|f| f.row.map(|r| r as i64))
                    .collect::<Vec<_>>(),
            ),
            Column::new("column".into(), s(&|f| f.column.clone())),
            Column::new("value".into(), s(&|f| f.value.clone())),
            Column::new("suggestion".into(), s(&|f| f.suggestion.clone())),
            Column::new(
                "confidence".into(),
                s(&|f| f.confidence.map(|c| c.as_str().to_string())),
            ),
            Column::new("rule".into(), s(&|f| Some(f.rule.code().to_string()))),
            Column::new(
                "severity".into(),
                s(&|f| Some(f.severity.as_str().to_string())),
            ),
            Column::new("message_zh".into(), s(&|f| Some(f.message_zh.clone()))),
            Column::new("message_en".into(), s(&|f| Some(f.message_en.clone()))),
        ],
    )?;
    let points = findings.iter().map(|f| f.lon.zip(f.lat)).collect();
    Ok((frame, Geometries::Points(points)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    #[test]
    fn a_layer_written_again_with_more_rows_equals_one_written_at_once() {
        use polars::prelude::*;
        // Equal points (ties), nulls, a row without a point, and text of every length.
        let frame = df!(
            "name" => [Some("甲"), None, Some("一个很长的名字，不在视图里"), Some("丁"), Some("戊")],
            "n" => [Some(1i64), Some(2), None, Some(4), Some(5)],
            "x" => [Some(1.5f64), None, Some(0.25), Some(2.0), Some(3.0)],
            "d" => [Some(true), Some(false), None, Some(true), Some(false)],
        )
        .unwrap();
        let points = vec![
            Some((104.1, 36.5)),
            Some((104.1, 36.5)),
            None,
            Some((103.0, 35.9)),
            Some((104.1, 36.5)),
        ];
        let dir = tempfile::tempdir().unwrap();
        let at_once = dir.path().join("at_once.parquet");
        let all: Vec<IdxSize> = (0..5).collect();
        let expected =
            write_geoparquet_rows(&at_once, &frame, &all, Geometries::Points(points.clone()))
                .unwrap();
        // Rows 0, 2, 3 first; then 1 and 4, after the first ones are read back.
        let in_two = dir.path().join("in_two.parquet");
        let first: Vec<IdxSize> = vec![0, 2, 3];
        let pick = |rows: &[IdxSize]| rows.iter().map(|&i| points[i as usize]).collect::<Vec<_>>();
        write_geoparquet_rows(&in_two, &frame, &first, Geometries::Points(pick(&first))).unwrap();
        let earlier = PointLayer::read(&in_two).unwrap();
        assert_eq!(earlier.points.len(), 3);
        // The file holds them in Hilbert order; put them back in input order (by `n`, or row 2's
        // null last, as the pipeline does with source_file and source_row).
        let n = earlier
            .column("n")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let mut order: Vec<usize> = (0..3).collect();
        order.sort_by_key(|&i| if n.is_valid(i) { n.value(i) } else { 3 });
        let later: Vec<IdxSize> = vec![1, 4];
        let merged =
            write_points_after(&in_two, &earlier, &order, &frame, &later, pick(&later)).unwrap();
        assert_eq!(merged, expected);
        assert_eq!(
            std::fs::read(&in_two).unwrap(),
            std::fs::read(&at_once).unwrap()
        );
        // Not a permutation, or other columns: an error, not a panic or a wrong file.
        assert!(
            write_points_after(&in_two, &earlier, &[0, 0, 1], &frame, &later, pick(&later))
                .is_err()
        );
        let other = frame.select(["name", "n"]).unwrap();
        assert!(
            write_points_after(&in_two, &earlier, &order, &other, &later, pick(&later)).is_err()
        );
    }

    #[test]
    fn clockwise_input_is_written_counter_clockwise_and_deterministic() {
        let cw = polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0), (x: 0.0, y: 0.0)];
        let frame = polars::df!("code" => ["620402001001"]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let a = write_geoparquet(
            &dir.path().join("a.parquet"),
            &frame,
            Geometries::Polygons(vec![MultiPolygon(vec![cw.clone()])]),
        )
        .unwrap();
        let b = write_geoparquet(
            &dir.path().join("b.parquet"),
            &frame,
            Geometries::Polygons(vec![MultiPolygon(vec![cw])]),
        )
        .unwrap();
        assert_eq!(a, b);
        let reader = parquet::file::reader::SerializedFileReader::new(
            std::fs::File::open(dir.path().join("a.parquet")).unwrap(),
        )
        .unwrap();
        use parquet::file::reader::FileReader;
        let kv = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap();
        let geo = kv
            .iter()
            .find(|k| k.key == "geo")
            .and_then(|k| k.value.clone())
            .unwrap();
        let geo: serde_json::Value = serde_json::from_str(&geo).unwrap();
        assert_eq!(
            geo["columns"]["geometry"]["orientation"],
            "counterclockwise"
        );
        assert_eq!(
            geo["columns"]["geometry"]["bbox"],
            serde_json::json!([0.0, 0.0, 1.0, 1.0])
        );
    }

    #[test]
    fn picked_rows_of_a_frame_of_several_chunks_are_written_in_hilbert_order() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        // Two files' rows stacked (two chunks per column), every supported type, nulls included.
        let mut frame = polars::df!(
            "name" => [Some("甲"), None, Some("丙丙丙丙丙丙丙丙丙丙丙丙丙")],
            "beds" => [Some(1i64), Some(2), None],
            "small" => [1i32, 2, 3],
            "share" => [Some(0.5f64), None, Some(1.5)],
            "open" => [Some(true), Some(false), None]
        )
        .unwrap();
        let second = frame.clone();
        frame.vstack_mut(&second).unwrap();
        assert!(frame.max_n_chunks() > 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("picked.parquet");
        // Rows 5 (second chunk) and 0 (first chunk); row 0's point comes first on the curve.
        let points = vec![Some((101.0, 31.0)), Some((100.0, 30.0))];
        let written =
            write_geoparquet_rows(&path, &frame, &[5, 0], Geometries::Points(points)).unwrap();
        assert_eq!(written.rows, 2);
        let batch = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let names = column("name");
        let names = names.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            [Some("甲"), Some("丙丙丙丙丙丙丙丙丙丙丙丙丙")]
        );
        let beds = column("beds");
        let beds = beds.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(beds.iter().collect::<Vec<_>>(), [Some(1), None]);
        let small = column("small");
        let small = small.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(small.iter().collect::<Vec<_>>(), [Some(1), Some(3)]);
        let share = column("share");
        let share = share.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(share.iter().collect::<Vec<_>>(), [Some(0.5), Some(1.5)]);
        let open = column("open");
        let open = open.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert_eq!(open.iter().collect::<Vec<_>>(), [Some(true), None]);
        // A row beyond the frame is an error, not a panic.
        let beyond = write_geoparquet_rows(
            &path,
            &frame,
            &[6],
            Geometries::Points(vec![Some((100.0, 30.0))]),
        );
        assert!(beyond.is_err());
    }

    #[test]
    fn layers_of_different_schemas_keep_their_own_schema() {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use polars::prelude::*;
        let dir = tempfile::tempdir().unwrap();
        let schools = df!("name" => ["甲小学"], "students" => [Some(120i64)]).unwrap();
        let depots = df!("name" => ["乙库"], "area" => [Some(2.5f64)], "open" => [true]).unwrap();
        // Alternately, so that a schema made for one layer would show up in the next.
        for (i, frame) in [&schools, &depots, &schools, &depots]
            .into_iter()
            .enumerate()
        {
            let path = dir.path().join(format!("{i}.parquet"));
            let points = Geometries::Points(vec![Some((104.1, 36.5))]);
            write_geoparquet(&path, frame, points).unwrap();
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                    .unwrap();
            let names: Vec<&str> = builder
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            let mut want: Vec<&str> = frame
                .get_column_names()
                .into_iter()
                .map(|n| n.as_str())
                .collect();
            want.extend(["geometry", "bbox"]);
            assert_eq!(names, want, "layer {i}");
            let parquet_columns = builder.parquet_schema().num_columns();
            // The attributes, `geometry`, and the four leaves of `bbox`.
            assert_eq!(parquet_columns, frame.width() + 1 + 4, "layer {i}");
            let keys: Vec<&str> = builder
                .metadata()
                .file_metadata()
                .key_value_metadata()
                .unwrap()
                .iter()
                .map(|kv| kv.key.as_str())
                .collect();
            assert_eq!(keys, ["geo", ARROW_SCHEMA_META_KEY], "layer {i}");
        }
    }

    #[test]
    fn large_files_are_zstd_compressed_and_page_indexed_small_ones_not() {
        use parquet::file::reader::FileReader;
        let dir = tempfile::tempdir().unwrap();
        for rows in [ZSTD_MIN_ROWS - 1, ZSTD_MIN_ROWS] {
            let codes: Vec<String> = (0..rows).map(|i| format!("{i:012}")).collect();
            let frame = polars::df!("code" => codes).unwrap();
            let points = (0..rows)
                .map(|i| Some((100.0 + i as f64 * 1e-4, 30.0)))
                .collect();
            let path = dir.path().join(format!("{rows}.parquet"));
            write_geoparquet(&path, &frame, Geometries::Points(points)).unwrap();
            let reader = parquet::file::reader::SerializedFileReader::new(
                std::fs::File::open(&path).unwrap(),
            )
            .unwrap();
            let compression = reader.metadata().row_group(0).column(0).compression();
            let want = if rows >= ZSTD_MIN_ROWS {
                Compression::ZSTD(ZstdLevel::try_new(3).unwrap())
            } else {
                Compression::UNCOMPRESSED
            };
            assert_eq!(
                std::mem::discriminant(&compression),
                std::mem::discriminant(&want),
                "{rows} rows"
            );
            let offset_index = reader
                .metadata()
                .row_group(0)
                .column(0)
                .offset_index_offset();
            assert_eq!(offset_index.is_some(), rows >= ZSTD_MIN_ROWS, "{rows} rows");
        }
    }

    #[test]
    fn hilbert_order_visits_quadrants_along_the_curve_nulls_last() {
        // The order-1 Hilbert curve visits (0,0), (0,1), (1,1), (1,0).
        let points = Geometries::Points(vec![
            Some((1.0, 0.0)),
            None,
            Some((1.0, 1.0)),
            Some((0.0, 0.0)),
            Some((0.0, 1.0)),
        ]);
        assert_eq!(hilbert_order(&points), [3, 4, 2, 0, 1]);
    }

    #[test]
    fn gather_finds_rows_across_chunks_in_any_order() {
        use polars::prelude::*;
        let mut column = StringChunked::from_slice("c".into(), &["a", "b"]);
        column
            .append(&StringChunked::from_iter_options(
                "c".into(),
                [Some("c"), None, Some("e")].into_iter(),
            ))
            .expect("append");
        column
            .append(&StringChunked::from_slice("c".into(), &["f"]))
            .expect("append");
        assert_eq!(column.chunks().len(), 3);
        let rows = [5, 0, 2, 3, 4, 1, 1, 5, 9];
        let got: Vec<Option<&str>> = gather(&column, &rows).collect();
        assert_eq!(
            got,
            [
                Some("f"),
                Some("a"),
                Some("c"),
                None,
                Some("e"),
                Some("b"),
                Some("b"),
                Some("f"),
                None
            ]
        );
        let numbers = Int64Chunked::from_slice("n".into(), &[7]);
        assert_eq!(gather(&numbers, &[]).count(), 0);
        assert_eq!(
            gather(&numbers, &[0, 1]).collect::<Vec<_>>(),
            [Some(7), None]
        );
    }

    #[test]
    fn row_count_mismatch_is_an_error() {
        let frame = polars::df!("code" => ["a", "b"]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = write_geoparquet(
            &dir.path().join("x.parquet"),
            &frame,
            Geometries::Points(vec![None]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("1 geometries for 2 rows"), "{err}");
    }
}

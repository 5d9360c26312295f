//! One GeoParquet layer for a whole run, written group by group: a county's rows at a time, each
//! county in its own row groups (at most [`ROW_GROUP_SIZE`](crate::ROW_GROUP_SIZE) rows), so that
//! the `county_code` statistics of a row group name one county and a reader filtering on it
//! (DuckDB, GDAL, pyarrow) skips every other county's row groups.
//!
//! The file is streamed: only the group being written is in memory. The `geo` metadata (extent,
//! geometry types) is added when the file is finished.
//!
//! ```
//! use polars::prelude::*;
//! use riskcensus_publish::{grouped::GroupedWriter, Geometries};
//! let dir = std::env::temp_dir().join(format!("rc-grouped-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let mut writer = GroupedWriter::create(&dir.join("schools.parquet"), 3, 2).unwrap();
//! let a = df!("county_code" => ["620402", "620402"]).unwrap();
//! let b = df!("county_code" => ["620403"]).unwrap();
//! writer.write_frame(&a, &[0, 1], Geometries::Points(vec![Some((104.1, 36.5)), None])).unwrap();
//! writer.write_frame(&b, &[0], Geometries::Points(vec![Some((104.6, 36.6))])).unwrap();
//! assert_eq!(writer.finish().unwrap().rows, 3);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field as ArrowField, Schema, SchemaRef};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use polars::prelude::{DataFrame, IdxSize};
use sha2::{Digest, Sha256};

use crate::{
    encoded_schema, geo_metadata, geometry_columns, hilbert_order, to_arrow, union_box,
    writer_properties, Geometries, Packing, PublishError, Written,
};

/// A buffered file that hashes (sha256) what is written to it, for files made as they are written
/// (never held in memory whole) whose hash the manifest lists.
pub struct HashingFile {
    file: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
}

impl HashingFile {
    /// Write to `file`.
    pub fn new(file: std::fs::File) -> Self {
        HashingFile {
            file: std::io::BufWriter::new(file),
            hasher: Sha256::default(),
        }
    }

    /// Flush the file; the sha256 (hex) of everything written.
    pub fn finish(mut self) -> std::io::Result<String> {
        self.file.flush()?;
        Ok(hex::encode(self.hasher.finalize()))
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        self.hasher.update(buf.get(..written).unwrap_or(buf));
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn parquet_error(path: &str, e: &dyn std::fmt::Display) -> PublishError {
    PublishError::Parquet {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Writes one GeoParquet file group by group (see the module documentation).
pub struct GroupedWriter {
    path: String,
    /// Opened with the first group (its schema is the file's).
    writer: Option<(ArrowWriter<HashingFile>, SchemaRef)>,
    file: Option<std::fs::File>,
    extent: Option<[f64; 4]>,
    geometry_type: Option<&'static str>,
    rows: usize,
    /// How its column chunks are encoded.
    packing: Packing,
}

impl GroupedWriter {
    /// Create the file (written when the first group comes) for a layer of `rows` rows in all,
    /// in about `groups` groups (which decide its compression: small groups are Snappy-compressed,
    /// as zstd's set-up per column chunk would cost more than it saves).
    pub fn create(path: &Path, rows: usize, groups: usize) -> Result<Self, PublishError> {
        let file = std::fs::File::create(path).map_err(|source| PublishError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(GroupedWriter {
            path: path.display().to_string(),
            writer: None,
            file: Some(file),
            extent: None,
            geometry_type: None,
            rows: 0,
            packing: Packing::of(rows, groups),
        })
    }

    fn error(&self, e: &dyn std::fmt::Display) -> PublishError {
        parquet_error(&self.path, e)
    }

    /// Write `rows` of `attributes` with their `geometries` (same order) as the next group, its
    /// rows put in Hilbert order among themselves.
    pub fn write_frame(
        &mut self,
        attributes: &DataFrame,
        rows: &[IdxSize],
        geometries: Geometries,
    ) -> Result<(), PublishError> {
        if geometries.len() != rows.len() {
            return Err(self.error(&format!(
                "{} geometries for {} rows",
                geometries.len(),
                rows.len()
            )));
        }
        let order = hilbert_order(&geometries);
        let picked: Vec<usize> = order.iter().map(|&i| rows[i] as usize).collect();
        if let Some(&beyond) = picked.iter().find(|&&i| i >= attributes.height()) {
            return Err(self.error(&format!(
                "row {beyond} of a table of {} rows",
                attributes.height()
            )));
        }
        let geometries = match geometries {
            Geometries::Points(p) => Geometries::Points(order.iter().map(|&i| p[i]).collect()),
            Geometries::Polygons(mut p) => Geometries::Polygons(
                order
                    .iter()
                    .map(|&i| std::mem::replace(&mut p[i], geo_types::MultiPolygon(Vec::new())))
                    .collect(),
            ),
        };
        self.write_group(to_arrow(attributes, &picked)?, geometries)
    }

    /// Write attribute `columns` with their `geometries` as the next group, in the order given.
    /// Every group must have the first group's columns.
    pub fn write_group(
        &mut self,
        mut columns: Vec<(ArrowField, ArrayRef)>,
        geometries: Geometries,
    ) -> Result<(), PublishError> {
        let path = self.path.clone();
        let pq_err = |e: &dyn std::fmt::Display| parquet_error(&path, e);
        let encoded = geometry_columns(geometries, &pq_err)?;
        self.extent = union_box(self.extent, encoded.extent);
        if encoded.extent.is_some() {
            self.geometry_type = Some(encoded.geometry_type);
        }
        columns.extend(encoded.columns);
        let (fields, arrays): (Vec<ArrowField>, Vec<ArrayRef>) = columns.into_iter().unzip();
        if self.writer.is_none() {
            let schema = Arc::new(Schema::new(fields.clone()));
            let encoded = encoded_schema(&schema).map_err(|e| pq_err(&e))?;
            let props =
                writer_properties(self.packing, vec![encoded.arrow_metadata.clone()], &pq_err)?;
            let options = ArrowWriterOptions::new()
                .with_properties(props)
                .with_skip_arrow_metadata(true)
                .with_parquet_schema(encoded.parquet.clone());
            let file = self
                .file
                .take()
                .ok_or_else(|| pq_err(&"the file is closed"))?;
            let writer =
                ArrowWriter::try_new_with_options(HashingFile::new(file), schema.clone(), options)
                    .map_err(|e| pq_err(&e))?;
            self.writer = Some((writer, schema));
        }
        let Some((writer, schema)) = self.writer.as_mut() else {
            return Err(pq_err(&"no writer"));
        };
        let same = schema.fields().len() == fields.len()
            && schema
                .fields()
                .iter()
                .zip(&fields)
                .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if !same {
            return Err(pq_err(&"a group's columns differ from the layer's"));
        }
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| pq_err(&e))?;
        writer
            .write(&batch)
            .and_then(|()| writer.flush())
            .map_err(|e| pq_err(&e))?;
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Add the `geo` metadata and close the file. A writer that got no group writes nothing and
    /// returns an error.
    pub fn finish(self) -> Result<Written, PublishError> {
        let path = self.path.clone();
        let pq_err = |e: &dyn std::fmt::Display| parquet_error(&path, e);
        let Some((mut writer, _)) = self.writer else {
            return Err(pq_err(&"a layer without any group"));
        };
        let geo = geo_metadata(self.extent, self.geometry_type.unwrap_or("Point"), &pq_err)?;
        writer.append_key_value_metadata(KeyValue::new("geo".to_string(), geo));
        let out = writer.into_inner().map_err(|e| pq_err(&e))?;
        let sha256 = out
            .finish()
            .map_err(|source| PublishError::Io { path, source })?;
        Ok(Written {
            rows: self.rows,
            sha256,
        })
    }
}

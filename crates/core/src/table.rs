//! The table that ingest hands to the later stages: text cells in a polars `DataFrame`, with the
//! file's own headers and line numbers kept so that findings point where the user looks.

use polars::prelude::{DataFrame, DataType, IntoColumn, PolarsResult, StringChunked};

use crate::Finding;

/// The name of the frame column holding each row's line number in the file.
pub const LINE_COLUMN: &str = "__line";

/// One column of the file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceColumn {
    /// The header as written.
    pub header: String,
    /// The schema field it resolved to, if any.
    pub field: Option<String>,
    /// Its column name in [`RawTable::frame`].
    pub frame_column: String,
}

/// A return read into text columns.
#[derive(Debug, Clone)]
pub struct RawTable {
    /// The file as the pipeline names it.
    pub file: String,
    /// The class code.
    pub class: String,
    /// sha256 of the bytes read.
    pub sha256: String,
    /// The encoding found.
    pub encoding: &'static str,
    /// Columns in file order.
    pub columns: Vec<SourceColumn>,
    /// Text cells: one column per source column (field id, or `__col<N>` for unknown ones) plus
    /// [`LINE_COLUMN`]. Empty cells are null; other cells are kept as written.
    pub frame: DataFrame,
    /// Line number of each row (1 = header).
    pub lines: Vec<u64>,
    /// Rows in each of the chunks the file was read in, in order (they add up to the table's
    /// height): validation works chunk by chunk along the same cuts.
    pub parts: Vec<usize>,
    /// Required fields with no column: every row is rejected for them.
    pub missing_required: Vec<String>,
    /// Structure findings.
    pub findings: Vec<Finding>,
    /// Polygon locations (the census 面位置, from a GeoPackage return) by line, in EPSG:4490:
    /// checked against the village of the row's division code.
    pub outlines: Vec<(u64, geo_types::MultiPolygon<f64>)>,
}

impl RawTable {
    /// The header a field was read from, or the field's Chinese label when the file lacks it.
    pub fn header_of(&self, field: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.field.as_deref() == Some(field))
            .map(|c| c.header.as_str())
    }
}

/// `frame` with each text column copied into buffers of its own.
///
/// A polars text column filtered or sliced out of a larger one keeps the larger one's buffers:
/// the few rejected rows of a file, kept until the end of a run, would hold all of the file's
/// text. Frames that outlive their batch are compacted first.
///
/// ```
/// use polars::prelude::*;
/// use riskcensus_core::table::compact_strings;
/// let long: Vec<String> = (0..10_000).map(|i| format!("a long cell value, number {i}")).collect();
/// let frame = df!("cell" => long).unwrap();
/// let one = frame.slice(0, 1);
/// let buffers = |f: &DataFrame| -> usize {
///     f.column("cell").unwrap().str().unwrap().downcast_iter()
///         .map(|a| a.data_buffers().iter().map(|b| b.len()).sum::<usize>()).sum()
/// };
/// assert!(buffers(&one) > 100_000); // the slice still holds every value's bytes
/// let compacted = compact_strings(&one).unwrap();
/// assert!(buffers(&compacted) < 100);
/// assert!(compacted.equals_missing(&one));
/// ```
pub fn compact_strings(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let columns = frame
        .columns()
        .iter()
        .map(|column| match column.dtype() {
            DataType::String => {
                let copied: StringChunked = column.str()?.iter().collect();
                Ok(copied.with_name(column.name().clone()).into_column())
            }
            _ => Ok(column.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(frame.height(), columns)
}

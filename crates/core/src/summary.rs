//! Per-file counts of a run: what the summary, the manifest and every report show.

use serde::Serialize;

/// Counts for one input file. `rows_read == accepted + rejected` always.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileSummary {
    /// The file, relative to the pipeline file.
    pub file: String,
    /// Class code.
    pub class: String,
    /// Encoding found.
    pub encoding: String,
    /// sha256 of the bytes read.
    pub sha256: String,
    /// Data rows read.
    pub rows_read: usize,
    /// Rows published.
    pub accepted: usize,
    /// Rows rejected (in `rejected/`).
    pub rejected: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Info findings.
    pub infos: usize,
}

//! The pipeline: the only crate that wires the stages together.
//!
//! ingest → validate → locate (per return file, in parallel) → aggregate → publish. A run reads a
//! pipeline file ([`Pipeline`]), processes every return, and — unless only validating — writes the
//! database into a temporary directory that replaces the output directory at the end, so that a
//! run that fails midway leaves the previous database in place.
//!
//! Every input row ends either among the accepted rows (published) or among the rejected rows
//! (`rejected/`, with reasons): [`FileReport`] holds read = accepted + rejected per file.
#![deny(missing_docs)]

pub mod config;
mod cross_file;
pub mod error;
mod process;
mod publish;

pub use config::Pipeline;
pub use error::PipelineError;
pub use process::{prepare, process_all, Context, FileOutcome};
pub use publish::publish;

use riskcensus_core::{Finding, Severity};

pub use riskcensus_core::FileSummary as FileReport;

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Per file.
    pub files: Vec<FileReport>,
    /// Every finding, file by file, row by row.
    pub findings: Vec<Finding>,
    /// Output directory (when published).
    pub output: Option<std::path::PathBuf>,
}

impl RunReport {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
    /// Whether any finding is a warning.
    pub fn has_warnings(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Warning)
    }
}

/// Run a pipeline file end to end, writing the database to `out` (or the pipeline's `output`).
pub fn run(pipeline: &Pipeline, out: Option<&std::path::Path>) -> Result<RunReport, PipelineError> {
    let ctx = prepare(pipeline)?;
    let outcomes = process_all(&ctx)?;
    let out_dir = out
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| pipeline.output.clone());
    publish(&ctx, &outcomes, &out_dir)?;
    Ok(report(&ctx, &outcomes, Some(out_dir)))
}

/// Validate and locate every return of a pipeline without writing anything.
pub fn validate_only(pipeline: &Pipeline) -> Result<RunReport, PipelineError> {
    let ctx = prepare(pipeline)?;
    let outcomes = process_all(&ctx)?;
    Ok(report(&ctx, &outcomes, None))
}

fn report(
    ctx: &Context<'_>,
    outcomes: &[FileOutcome],
    output: Option<std::path::PathBuf>,
) -> RunReport {
    RunReport {
        files: outcomes.iter().map(|o| o.report.clone()).collect(),
        // Findings on the village polygons first, then file by file.
        findings: ctx
            .geometry_findings
            .iter()
            .cloned()
            .chain(outcomes.iter().flat_map(|o| o.findings.iter().cloned()))
            .collect(),
        output,
    }
}

//! `riskcensus run PIPELINE [--out DIR]`.

use std::path::Path;

use riskcensus_pipeline::PipelineError;

use crate::summary;

pub fn run(pipeline: &Path, out: Option<&Path>, quiet: bool) -> Result<u8, PipelineError> {
    let p = super::load(pipeline)?;
    let report = riskcensus_pipeline::run(&p, out)?;
    summary::print(&report, quiet);
    Ok(if report.has_errors() { 1 } else { 0 })
}

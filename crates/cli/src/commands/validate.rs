//! `riskcensus validate --pipeline PIPELINE`: the quick loop, no database written.

use std::path::Path;

use riskcensus_pipeline::PipelineError;

use crate::args::{FailOn, Format};
use crate::summary;

pub fn validate(pipeline: &Path, format: Format, fail_on: FailOn) -> Result<u8, PipelineError> {
    let p = super::load(pipeline)?;
    let report = riskcensus_pipeline::validate_only(&p)?;
    match format {
        Format::Terminal => summary::print(&report, false),
        Format::Json => {
            let doc = serde_json::json!({ "files": report.files, "findings": report.findings });
            println!(
                "{}",
                serde_json::to_string_pretty(&doc)
                    .map_err(|e| PipelineError::Internal(e.to_string()))?
            );
        }
    }
    let failed =
        report.has_errors() || (matches!(fail_on, FailOn::Warning) && report.has_warnings());
    Ok(u8::from(failed))
}

//! `riskcensus synth --villages N --rows M --seed S --out DIR`: a synthetic census at any scale.

use std::path::Path;

use riskcensus_core::SchemaSet;
use riskcensus_pipeline::PipelineError;
use riskcensus_synth::{generate, Options, SynthError};

pub fn synth(options: &Options, schemas: &Path, out: &Path) -> Result<u8, PipelineError> {
    let set = SchemaSet::load(schemas)?;
    let started = std::time::Instant::now();
    let summary = generate(options, &set, schemas, out).map_err(|e| match e {
        SynthError::Options(message) => PipelineError::Config { message },
        SynthError::MissingClass(_) => PipelineError::Config {
            message: format!("{}: {e}", schemas.display()),
        },
        other => PipelineError::Internal(format!("writing {}: {other}", out.display())),
    })?;
    eprintln!(
        "wrote {} rows in {} files ({} planted defects) over {} villages, {} townships, {} counties, {} provinces to {} in {:.1} s",
        summary.rows,
        summary.files,
        summary.defects,
        summary.villages,
        summary.townships,
        summary.counties,
        summary.provinces,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "run it: riskcensus run {}",
        out.join("pipeline.toml").display()
    );
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|e| PipelineError::Internal(e.to_string()))?;
    let path = out.join("synth.json");
    std::fs::write(&path, json + "\n")
        .map_err(|e| PipelineError::Internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(0)
}

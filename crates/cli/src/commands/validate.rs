//! `riskcensus validate [FILE…] --pipeline PIPELINE`: the quick loop, no database written.

use std::io::IsTerminal;
use std::path::PathBuf;

use riskcensus_pipeline::{Pipeline, PipelineError};
use riskcensus_report::{render, Options, Report};

use crate::args::{FailOn, Format, Lang};

pub struct Request {
    pub files: Vec<PathBuf>,
    pub pipeline: PathBuf,
    pub class: Option<String>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub lang: Lang,
    pub max_findings: Option<usize>,
    pub fail_on: FailOn,
    pub timings: Option<PathBuf>,
    pub batch_mib: Option<u64>,
}

pub fn validate(req: Request) -> Result<u8, PipelineError> {
    let started = std::time::Instant::now();
    let mut p = Pipeline::load(&req.pipeline)?;
    if req.batch_mib.is_some() {
        p.batch_mib = req.batch_mib;
    }
    if !req.files.is_empty() {
        p = p.with_files(&req.files, req.class.as_deref())?;
    }
    for (path, what) in [(&req.output, "report"), (&req.timings, "timings")] {
        if let Some(path) = path {
            p.check_writable(path, what)?;
        }
    }
    let report = riskcensus_pipeline::validate_only_with(&p, &super::progress::Bars::new(false))?;
    let to_terminal = req.output.is_none() && std::io::stdout().is_terminal();
    let options = Options {
        lang: req.lang.into(),
        max_findings: req.max_findings,
        color: matches!(req.format, Format::Terminal) && super::use_color(to_terminal),
    };
    let bytes = render(
        &Report {
            files: &report.files,
            findings: &report.findings,
        },
        req.format.into(),
        &options,
    );
    let written = match &req.output {
        Some(path) => std::fs::write(path, &bytes).map_err(|e| format!("{}: {e}", path.display())),
        None => super::print_stdout(&bytes).map_err(|e| e.to_string()),
    };
    written.map_err(|message| {
        PipelineError::Internal(format!("cannot write the report: {message}"))
    })?;
    super::write_timings(req.timings.as_deref(), &report.timings, started.elapsed())?;
    let failed =
        report.has_errors() || (matches!(req.fail_on, FailOn::Warning) && report.has_warnings());
    Ok(u8::from(failed))
}

//! `riskcensus run PIPELINE [--out DIR] [--batch-mib N]`.

use std::path::Path;

use riskcensus_pipeline::{Pipeline, PipelineError};
use riskcensus_report::{render, Format, Options, Report};

use crate::args::{Gpkg, Lang};

pub fn run(
    pipeline: &Path,
    out: Option<&Path>,
    quiet: bool,
    lang: Lang,
    timings: Option<&Path>,
    (batch_mib, gpkg): (Option<u64>, Option<Gpkg>),
) -> Result<u8, PipelineError> {
    let started = std::time::Instant::now();
    let mut p = Pipeline::load(pipeline)?;
    if batch_mib.is_some() {
        p.batch_mib = batch_mib;
    }
    if let Some(gpkg) = gpkg {
        p.gpkg = gpkg.into();
    }
    if let Some(path) = timings {
        p.check_writable(path, "timings")?;
    }
    let report = riskcensus_pipeline::run_with(&p, out, &super::progress::Bars::new(quiet))?;
    super::write_timings(timings, &report.timings, started.elapsed())?;
    let options = Options {
        lang: lang.into(),
        max_findings: Some(0),
        color: super::use_color(super::stderr_is_terminal()),
    };
    let text = render(
        &Report {
            files: &report.files,
            findings: &report.findings,
        },
        Format::Terminal,
        &options,
    );
    let text = String::from_utf8_lossy(&text);
    if quiet {
        eprintln!("{}", text.trim_end().lines().last().unwrap_or_default());
    } else {
        eprint!("{text}");
        if let Some(dir) = &report.output {
            eprintln!(
                "database written to {} (findings: findings.csv, rejected rows: rejected/)",
                dir.display()
            );
        }
    }
    Ok(u8::from(report.has_errors()))
}

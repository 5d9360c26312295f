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

mod batches;
pub mod config;
pub mod error;
pub mod output;
mod process;
mod publish;

pub use config::{GpkgOutput, Pipeline};
pub use error::PipelineError;
pub use output::OutputDir;
pub use process::{prepare, process_all, Context, FileOutcome};
pub use publish::publish;

use riskcensus_core::{Finding, Severity};

pub use riskcensus_core::FileSummary as FileReport;

/// Wall-clock seconds per stage of a run, in the order they first ran. Stages run one after the
/// other; within a stage the work runs in parallel (over files, counties or classes). The stages
/// that run once per batch of returns (ingest to accept/reject) are reported once each, with the
/// time of all batches together.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// The stages, in the order they ran.
    pub stages: Vec<StageTiming>,
    /// How many batches the returns were checked in.
    pub batches: usize,
}

/// One stage of a run: how long it took and the memory the process held (where the OS tells it).
#[derive(Debug, Clone, PartialEq)]
pub struct StageTiming {
    /// What ran.
    pub stage: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Peak resident memory of the process so far, MiB (`VmHWM`).
    pub peak_rss_mib: Option<u64>,
    /// Resident memory when the stage ended, MiB (`VmRSS`): what the run still holds.
    pub rss_mib: Option<u64>,
}

impl Timings {
    /// Record `stage` as the time since `start` (added to the stage's earlier runs, if any), and
    /// restart the clock.
    pub(crate) fn lap(&mut self, stage: &str, start: &mut std::time::Instant) {
        let seconds = start.elapsed().as_secs_f64();
        let (peak_rss_mib, rss_mib) = (memory_mib("VmHWM:"), memory_mib("VmRSS:"));
        match self.stages.iter_mut().find(|s| s.stage == stage) {
            Some(earlier) => {
                earlier.seconds += seconds;
                earlier.peak_rss_mib = peak_rss_mib;
                earlier.rss_mib = rss_mib;
            }
            None => self.stages.push(StageTiming {
                stage: stage.to_string(),
                seconds,
                peak_rss_mib,
                rss_mib,
            }),
        }
        *start = std::time::Instant::now();
    }

    /// As JSON: `{"stages": [{"stage": …, "seconds": …, "peak_rss_mib": …, "rss_mib": …}, …],
    /// "batches": …}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "batches": self.batches,
            "stages": self
                .stages
                .iter()
                .map(|s| serde_json::json!({
                    "stage": s.stage,
                    "seconds": (s.seconds * 1e4).round() / 1e4,
                    "peak_rss_mib": s.peak_rss_mib,
                    "rss_mib": s.rss_mib,
                }))
                .collect::<Vec<_>>(),
        })
    }
}

/// A memory figure of this process from /proc/self/status (`VmHWM:` peak, `VmRSS:` current), in
/// MiB; Linux only.
fn memory_mib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Reports how far a run is, stage by stage (the CLI draws progress bars with it).
pub trait Progress: Sync {
    /// A stage starts; it has `total` steps (files, classes), or 0 when it has no count.
    fn start(&self, stage: &str, total: u64);
    /// One more step of the current stage is done (called from worker threads).
    fn advance(&self);
    /// The current stage is done.
    fn finish(&self);
    /// Something the user should know that is no finding on the data (e.g. what was recovered
    /// from a run that was stopped). Ignored unless overridden.
    fn note(&self, _message: &str) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Per file.
    pub files: Vec<FileReport>,
    /// Every finding, file by file, row by row.
    pub findings: Vec<Finding>,
    /// Every value derived, file by file, row by row.
    pub changes: Vec<riskcensus_core::Change>,
    /// Output directory (when published).
    pub output: Option<std::path::PathBuf>,
    /// Time per stage.
    pub timings: Timings,
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

/// Run `work` on a thread pool whose workers have room: polars plans for wide forms recurse
/// deeply (debug builds especially), and so do writers running on the pool's threads.
pub(crate) fn in_pool<T: Send>(
    work: impl FnOnce() -> Result<T, PipelineError> + Send,
) -> Result<T, PipelineError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(64 << 20)
        .thread_name(|i| format!("riskcensus-{i}"))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
    pool.install(work)
}

/// Run a pipeline file end to end, writing the database to `out` (or the pipeline's `output`).
pub fn run(pipeline: &Pipeline, out: Option<&std::path::Path>) -> Result<RunReport, PipelineError> {
    run_with(pipeline, out, &Silent)
}

/// [`run`], reporting progress.
pub fn run_with(
    pipeline: &Pipeline,
    out: Option<&std::path::Path>,
    progress: &dyn Progress,
) -> Result<RunReport, PipelineError> {
    // The output folder is checked before any work: a folder that is not ours stops the run.
    let out_dir = OutputDir::claim(out.unwrap_or(&pipeline.output), pipeline)?;
    for note in &out_dir.recovered {
        progress.note(note);
    }
    let mut timings = Timings::default();
    let ctx = load(pipeline, &mut timings, progress)?;
    let outcomes = in_pool(|| publish::check_and_publish(&ctx, &out_dir, &mut timings, progress))?;
    Ok(report(
        &ctx,
        &outcomes,
        Some(out_dir.path().to_path_buf()),
        timings,
    ))
}

/// Validate and locate every return of a pipeline without writing anything.
pub fn validate_only(pipeline: &Pipeline) -> Result<RunReport, PipelineError> {
    validate_only_with(pipeline, &Silent)
}

/// [`validate_only`], reporting progress.
pub fn validate_only_with(
    pipeline: &Pipeline,
    progress: &dyn Progress,
) -> Result<RunReport, PipelineError> {
    let mut timings = Timings::default();
    let ctx = load(pipeline, &mut timings, progress)?;
    let outcomes = process::check_all(&ctx, &mut timings, progress)?;
    Ok(report(&ctx, &outcomes, None, timings))
}

/// [`validate_only_with`], with each file's rejected rows as `run` writes them to `rejected/`
/// (CSV, UTF-8 with BOM), one per entry of the report's `files`.
pub fn validate_keeping_rejected(
    pipeline: &Pipeline,
    progress: &dyn Progress,
) -> Result<(RunReport, Vec<Vec<u8>>), PipelineError> {
    let mut timings = Timings::default();
    let ctx = load(pipeline, &mut timings, progress)?;
    let outcomes = process::check_all(&ctx, &mut timings, progress)?;
    let rejected = outcomes
        .iter()
        .map(|o| {
            publish::rejected_csv(o).map_err(|message| {
                PipelineError::Internal(format!("rejected rows of {}: {message}", o.report.file))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((report(&ctx, &outcomes, None, timings), rejected))
}

/// Load the references a run needs (schemas, register, polygons).
fn load<'a>(
    pipeline: &'a Pipeline,
    timings: &mut Timings,
    progress: &dyn Progress,
) -> Result<Context<'a>, PipelineError> {
    progress.start("读取登记表与村界 loading register and polygons", 0);
    let ctx = prepare(pipeline, timings)?;
    progress.finish();
    Ok(ctx)
}

fn report(
    ctx: &Context<'_>,
    outcomes: &[FileOutcome],
    output: Option<std::path::PathBuf>,
    timings: Timings,
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
        changes: outcomes
            .iter()
            .flat_map(|o| o.changes.iter().cloned())
            .collect(),
        output,
        timings,
    }
}

//! `riskcensus fix FILE… --pipeline P -o DIR`: corrected copies of returns and `changes.csv`.
//!
//! The files are validated as `validate` does; what the validation derived, and what its findings
//! say for sure, is written back by `riskcensus_fix`. Each file is written under its own name in
//! DIR: a CSV as UTF-8 with BOM, a census Excel form (.xlsx/.xlsm) with its layout kept; older
//! workbook formats (.xls, .xlsb, .ods) are named and skipped (exit 1).

use std::path::{Path, PathBuf};

use riskcensus_core::{Change, SchemaSet};
use riskcensus_pipeline::{Pipeline, PipelineError};

pub fn fix(
    files: &[PathBuf],
    pipeline: &Path,
    class: Option<&str>,
    out: &Path,
) -> Result<u8, PipelineError> {
    let p = Pipeline::load(pipeline)?.with_files(files, class)?;
    let targets = targets(&p, out)?;
    let schemas = SchemaSet::load(&p.schemas)?;
    let report = riskcensus_pipeline::validate_only_with(&p, &super::progress::Bars::new(false))?;
    std::fs::create_dir_all(out).map_err(|e| write_error(out, &e))?;
    let mut all_changes: Vec<Change> = Vec::new();
    let mut skipped = 0;
    for ((conf, file), target) in p.returns.iter().zip(&report.files).zip(&targets) {
        let shown = file.file.as_str();
        let class = schemas
            .class(&conf.class)
            .ok_or_else(|| PipelineError::Internal(format!("class {}", conf.class)))?;
        let ret = riskcensus_fix::Return {
            shown,
            path: &conf.path,
            sheet: conf.sheet.as_deref(),
            encoding: conf.read_encoding(),
        };
        let fixed = riskcensus_fix::fix_file(&ret, class, &report.findings, &report.changes)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        let (fixed, changes) = match fixed {
            riskcensus_fix::Fixed::Written(bytes, changes) => (bytes, changes),
            riskcensus_fix::Fixed::NotRewritten(extension) => {
                eprintln!("{shown}: .{extension} workbooks are not rewritten (only .xlsx/.xlsm); fix it by hand from the findings (skipped)");
                skipped += 1;
                continue;
            }
        };
        std::fs::write(target, fixed).map_err(|e| write_error(target, &e))?;
        eprintln!("{shown} → {}: {} changes", target.display(), changes.len());
        all_changes.extend(changes);
    }
    let changes_path = out.join("changes.csv");
    std::fs::write(&changes_path, riskcensus_report::changes_csv(&all_changes))
        .map_err(|e| write_error(&changes_path, &e))?;
    eprintln!(
        "{} changes in {} (file, row, column, old, new, rule, confidence)",
        all_changes.len(),
        changes_path.display()
    );
    Ok(u8::from(skipped > 0))
}

/// Where each return's corrected copy goes: DIR/<its file name>. Never onto an input, never two
/// inputs onto one name.
fn targets(p: &Pipeline, out: &Path) -> Result<Vec<PathBuf>, PipelineError> {
    let config = |message: String| PipelineError::Config { message };
    if out.is_file() {
        return Err(config(format!("{} is a file, not a folder", out.display())));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut targets = Vec::new();
    for conf in &p.returns {
        let name = conf
            .path
            .file_name()
            .ok_or_else(|| config(format!("{} has no file name", conf.path.display())))?;
        if !seen.insert(name.to_string_lossy().to_lowercase()) {
            return Err(config(format!(
                "two inputs are named {}: fix them into separate folders",
                name.to_string_lossy()
            )));
        }
        let target = out.join(name);
        let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same(&target, &conf.path) {
            return Err(config(format!(
                "{} would overwrite the input itself: choose another -o folder",
                target.display()
            )));
        }
        targets.push(target);
    }
    Ok(targets)
}

fn write_error(path: &Path, e: &std::io::Error) -> PipelineError {
    PipelineError::Internal(format!("cannot write {}: {e}", path.display()))
}

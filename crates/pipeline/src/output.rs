//! Where a run may write its database, and how it takes the place of the previous one.
//!
//! A run replaces its output folder whole, so a typo in `--out` must never cost a user their
//! files. [`OutputDir::claim`] checks the folder before any work starts:
//!
//! - symbolic links are resolved first: the database goes where the link points, and nothing is
//!   ever deleted through a link;
//! - the folder must be missing, empty, or an earlier riskcensus database: a `manifest.json`
//!   of riskcensus that lists every file in the folder (a file a person added stops the run);
//! - it may not be a file, the current directory (or hold it), be or hold any input of the
//!   pipeline (the pipeline file, returns, register, polygons, schemas), or lie inside the
//!   schema folder.
//!
//! Anything else is a configuration error (exit 2) naming the folder and why.
//!
//! The database is written into `.NAME.partial-PID` beside the folder, then swapped in by two
//! renames (the folder to `.NAME.old-PID`, the staging folder to its place). A run killed at
//! any instant leaves either the previous or the new database, or — between the two renames —
//! the previous one under its `.old-` name: the next run for the same folder puts it back
//! (rolls the swap back) before anything else, and removes the staging folders of runs that
//! are no longer alive (only folders of ours: by name, and by marker or manifest).

use std::path::{Path, PathBuf};

use crate::error::PipelineError;
use crate::Pipeline;

/// The file that marks a staging folder as one of ours while it is being written.
const STAGING_MARKER: &str = ".riskcensus-partial";

/// A checked output folder: where the database goes, and the staging folders beside it.
#[derive(Debug, Clone)]
pub struct OutputDir {
    /// The folder, symbolic links resolved.
    path: PathBuf,
    /// Its parent folder (exists).
    parent: PathBuf,
    /// Its name.
    name: String,
    /// What recovering killed runs did, for the caller to tell the user.
    pub recovered: Vec<String>,
}

fn refuse(out: &Path, why: impl std::fmt::Display) -> PipelineError {
    PipelineError::Config {
        message: format!(
            "refusing to write the database to {}: {why}. riskcensus replaces only a missing or \
             empty folder or an earlier riskcensus database; choose another --out",
            out.display()
        ),
    }
}

impl OutputDir {
    /// Check that `out` may be replaced by a database of `pipeline`, and recover what killed
    /// runs left beside it. Creates the parent folder when missing.
    pub fn claim(out: &Path, pipeline: &Pipeline) -> Result<Self, PipelineError> {
        let path = resolve(out)?;
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(refuse(out, "it is the root of the file system"));
        };
        let name = name.to_string_lossy().to_string();
        let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
        if cwd.as_ref().is_some_and(|cwd| cwd.starts_with(&path)) {
            return Err(refuse(out, "it is, or holds, the current directory"));
        }
        check_inputs(out, &path, pipeline)?;
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let mut dir = OutputDir {
            parent: parent.to_path_buf(),
            name,
            path,
            recovered: Vec::new(),
        };
        dir.recover()?;
        dir.check_replaceable(out)?;
        Ok(dir)
    }

    /// The folder the database goes to (links resolved).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, kind: &str, pid: u32) -> PathBuf {
        self.parent.join(format!(".{}.{kind}-{pid}", self.name))
    }

    /// A fresh staging folder of this process, marked as ours.
    pub fn stage(&self) -> Result<PathBuf, PipelineError> {
        let staging = self.sibling("partial", std::process::id());
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        std::fs::write(staging.join(STAGING_MARKER), b"").map_err(io(&staging))?;
        Ok(staging)
    }

    /// Put the finished `staging` folder in place of the database; returns the previous
    /// database's folder (now `.NAME.old-PID`) for the caller to remove, if there was one.
    pub fn swap_in(&self, staging: &Path) -> Result<Option<PathBuf>, PipelineError> {
        let marker = staging.join(STAGING_MARKER);
        std::fs::remove_file(&marker).map_err(io(&marker))?;
        let old = self.sibling("old", std::process::id());
        let had_previous = self.path.exists();
        if had_previous {
            std::fs::rename(&self.path, &old).map_err(io(&self.path))?;
        }
        if let Err(e) = std::fs::rename(staging, &self.path) {
            // Put the previous database back before reporting.
            if had_previous {
                let _ = std::fs::rename(&old, &self.path);
            }
            return Err(io(&self.path)(e));
        }
        Ok(had_previous.then_some(old))
    }

    /// Remove a failed run's staging folder (best effort: the next run removes it too).
    pub fn discard(&self, staging: &Path) {
        let _ = std::fs::remove_dir_all(staging);
    }

    /// Finish or undo what runs killed before left beside the folder: a previous database
    /// moved aside (`.old-PID`) while the folder is missing goes back; staging folders and
    /// moved-aside databases of dead runs are removed.
    fn recover(&mut self) -> Result<(), PipelineError> {
        let Ok(entries) = std::fs::read_dir(&self.parent) else {
            return Ok(());
        };
        let mut leftovers: Vec<(String, u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let file_name = e.file_name().to_string_lossy().to_string();
                let rest = file_name.strip_prefix(&format!(".{}.", self.name))?;
                let (kind, pid) = rest.rsplit_once('-')?;
                let pid: u32 = pid.parse().ok()?;
                matches!(kind, "partial" | "old").then(|| (kind.to_string(), pid, e.path()))
            })
            .filter(|(_, pid, _)| *pid != std::process::id() && !alive(*pid))
            .collect();
        // Newest moved-aside database first (the highest PID is no guide; the time is).
        leftovers.sort_by_key(|(_, _, path)| {
            std::cmp::Reverse(
                std::fs::symlink_metadata(path)
                    .and_then(|m| m.modified())
                    .ok(),
            )
        });
        for (kind, _, path) in leftovers {
            let ours = if kind == "partial" {
                path.join(STAGING_MARKER).is_file() || is_database(&path)
            } else {
                is_database(&path)
            };
            if !ours || std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                continue;
            }
            if kind == "old" && !self.path.exists() {
                std::fs::rename(&path, &self.path).map_err(io(&path))?;
                self.recovered.push(format!(
                    "an earlier run was stopped while it swapped databases: put the previous \
                     database back from {}",
                    path.display()
                ));
            } else {
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
                self.recovered.push(format!(
                    "removed {}, left by a run that was stopped",
                    path.display()
                ));
            }
        }
        Ok(())
    }

    /// The folder must be missing, empty, or an earlier database holding nothing else.
    fn check_replaceable(&self, out: &Path) -> Result<(), PipelineError> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(refuse(out, format!("it cannot be read ({e})"))),
        };
        if !meta.is_dir() {
            return Err(refuse(out, "it is a file, not a folder"));
        }
        let mut entries = std::fs::read_dir(&self.path)
            .map_err(|e| refuse(out, format!("it cannot be read ({e})")))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect::<Vec<_>>();
        if entries.is_empty() {
            return Ok(());
        }
        entries.sort();
        let Some(listed) = manifest_outputs(&self.path) else {
            let some = entries
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("`, `");
            return Err(refuse(
                out,
                format!(
                    "it holds {} entries (`{some}` …) and no riskcensus manifest.json",
                    entries.len()
                ),
            ));
        };
        if let Some(stranger) = files_under(&self.path)
            .into_iter()
            .find(|f| f != "manifest.json" && !listed.contains(f))
        {
            return Err(refuse(
                out,
                format!(
                    "it is an earlier database, but `{stranger}` in it was not written by \
                     riskcensus (move it away first)"
                ),
            ));
        }
        Ok(())
    }
}

/// `out` with symbolic links resolved: the path itself when it exists, else its nearest
/// existing ancestor's, with the rest appended.
fn resolve(out: &Path) -> Result<PathBuf, PipelineError> {
    let absolute = std::path::absolute(out).map_err(|e| PipelineError::Config {
        message: format!("output {}: {e}", out.display()),
    })?;
    if std::fs::symlink_metadata(&absolute).is_ok() {
        return std::fs::canonicalize(&absolute)
            .map_err(|e| refuse(out, format!("it is a link that leads nowhere ({e})")));
    }
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(existing).is_err() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
            break;
        };
        rest.push(name.to_os_string());
        existing = parent;
    }
    let mut path = std::fs::canonicalize(existing).map_err(|e| {
        refuse(
            out,
            format!("{} cannot be resolved ({e})", existing.display()),
        )
    })?;
    for name in rest.iter().rev() {
        if name == ".." || name == "." {
            return Err(refuse(
                out,
                "the path goes through folders that do not exist",
            ));
        }
        path.push(name);
    }
    Ok(path)
}

/// The output may not be or hold an input, nor lie inside the schema folder.
fn check_inputs(out: &Path, path: &Path, pipeline: &Pipeline) -> Result<(), PipelineError> {
    let inputs = pipeline
        .input_files()
        .chain(std::iter::once(pipeline.schemas.as_path()));
    for input in inputs {
        let Ok(input_path) = std::fs::canonicalize(input) else {
            continue;
        };
        if input_path.starts_with(path) {
            return Err(refuse(
                out,
                format!("it is, or holds, the input {}", input.display()),
            ));
        }
    }
    if let Ok(schemas) = std::fs::canonicalize(&pipeline.schemas) {
        if path.starts_with(&schemas) {
            return Err(refuse(
                out,
                format!(
                    "it lies inside the schema folder {}",
                    pipeline.schemas.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `dir` holds a riskcensus manifest.
fn is_database(dir: &Path) -> bool {
    manifest_outputs(dir).is_some()
}

/// The paths a riskcensus `manifest.json` in `dir` lists, or `None` when there is no such
/// manifest.
fn manifest_outputs(dir: &Path) -> Option<std::collections::HashSet<String>> {
    let text = std::fs::read(dir.join("manifest.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_slice(&text).ok()?;
    if manifest["tool"]["name"] != "riskcensus" {
        return None;
    }
    Some(
        manifest["outputs"]
            .as_array()?
            .iter()
            .filter_map(|o| o["path"].as_str().map(str::to_string))
            .collect(),
    )
}

/// Every file below `dir` (links not followed), relative, with `/` between folders.
fn files_under(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push((entry.path(), format!("{name}/"))),
                _ => files.push(name),
            }
        }
    }
    files
}

/// Whether process `pid` runs (Linux: its `/proc` entry). Where that cannot be told, every
/// process counts as alive, so that nothing of a running process is removed.
fn alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> PipelineError + '_ {
    move |source| {
        PipelineError::Output(riskcensus_publish::PublishError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

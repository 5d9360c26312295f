//! The check of one session's uploads: validate them as `riskcensus validate` does, fix them as
//! `riskcensus fix` does, and keep every download in the session's `out/` folder.
//!
//! Uploads are stored under generated names (`in/1.csv`); the pipeline shows them by those
//! names, and [`check`] gives findings, changes and file summaries back the names they were
//! sent with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use riskcensus_core::{Change, FieldType, Finding, SchemaSet};
use riskcensus_pipeline::{FileReport, Pipeline, Progress};
use riskcensus_report::{render, Format, Lang, Options, Report};

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Where it is kept (a generated name in the session's `in/`).
    pub stored: PathBuf,
    /// The name it was sent with (no path), made unique within the session.
    pub name: String,
}

/// A file the session offers for download.
#[derive(Debug, Clone)]
pub struct Download {
    /// Its key in the URL (`/s/<id>/file/<key>`): a generated name, never the user's.
    pub key: String,
    /// The name the browser saves it under.
    pub name: String,
    /// What it is, in Chinese and English.
    pub label: (String, String),
    /// The uploaded file it belongs to (its place in `Checked::files`), if one.
    pub file: Option<usize>,
}

/// A coordinate the fix corrects: from where it was written to where it belongs.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    /// The file (as sent) and row.
    pub file: String,
    /// Row.
    pub row: u64,
    /// As written (lon, lat), when it is a readable point.
    pub from: Option<(f64, f64)>,
    /// As corrected (lon, lat).
    pub to: (f64, f64),
}

/// What a session's check found and wrote.
#[derive(Debug)]
pub struct Checked {
    /// Per file, by the names sent.
    pub files: Vec<FileReport>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Every change the corrected files make.
    pub changes: Vec<Change>,
    /// Coordinate corrections, for the map.
    pub arrows: Vec<Arrow>,
    /// What can be downloaded, in the order shown.
    pub downloads: Vec<Download>,
    /// Seconds the check took.
    pub seconds: f64,
}

/// Check `uploads` against `pipeline`'s register, polygons, schemas and rules (`class` for all,
/// else each file's from its name), writing the downloads to `out`. The error is a message for
/// the page.
pub fn check(
    pipeline: &Pipeline,
    uploads: &[Upload],
    class: Option<&str>,
    inputs: &Path,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Checked, String> {
    let started = std::time::Instant::now();
    let schemas = SchemaSet::load(&pipeline.schemas).map_err(|e| e.to_string())?;
    let named = uploads
        .iter()
        .map(|u| {
            Ok((
                u.stored.clone(),
                u.name.clone(),
                class_of(pipeline, u, class, &schemas)?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let p = pipeline
        .with_named_files(&named, inputs)
        .map_err(|e| e.to_string())?;
    let (report, rejected) = riskcensus_pipeline::validate_keeping_rejected(&p, progress)
        .map_err(|e| as_sent(&e.to_string(), &p, uploads))?;
    let mut downloads = Vec::new();
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for (i, (conf, file)) in p.returns.iter().zip(&report.files).enumerate() {
        let Some(class) = schemas.class(&conf.class) else {
            continue;
        };
        let ret = riskcensus_fix::Return {
            shown: &file.file,
            path: &conf.path,
            sheet: conf.sheet.as_deref(),
            encoding: conf.read_encoding(),
        };
        let name = &uploads[i].name;
        match riskcensus_fix::fix_file(&ret, class, &report.findings, &report.changes) {
            Ok(riskcensus_fix::Fixed::Written(bytes, mut made)) => {
                let extension = conf.path.extension().map(|e| e.to_string_lossy().to_string());
                let key = format!("fixed-{}.{}", i + 1, extension.unwrap_or_default());
                write(out, &key, &bytes)?;
                downloads.push(Download {
                    key,
                    name: fixed_name(name),
                    label: ("修正后".into(), "corrected".into()),
                    file: Some(i),
                });
                let coordinates = coordinate_columns(class);
                for c in &mut made {
                    c.file.clone_from(name);
                }
                changes.extend(made.into_iter().map(|c| (c, coordinates.clone())));
            }
            Ok(riskcensus_fix::Fixed::NotRewritten(extension)) => notes.push(format!(
                "{name}: .{extension} 工作簿不改写，请按问题清单手工修改 / .{extension} workbooks are not rewritten; fix it by hand from the findings"
            )),
            Err(e) => notes.push(format!("{name}: {e}")),
        }
        let key = format!("rejected-{}.csv", i + 1);
        write(out, &key, &rejected[i])?;
        downloads.push(Download {
            key,
            name: format!("{}_退回行_rejected.csv", stem(name)),
            label: ("退回的行".into(), "rejected rows".into()),
            file: Some(i),
        });
    }
    let names: HashMap<String, String> = report
        .files
        .iter()
        .zip(uploads)
        .map(|(f, u)| (f.file.clone(), u.name.clone()))
        .collect();
    let rename = |file: &mut String| {
        if let Some(name) = names.get(file.as_str()) {
            file.clone_from(name);
        }
    };
    let mut files = report.files;
    files.iter_mut().for_each(|f| rename(&mut f.file));
    let mut findings = report.findings;
    findings.iter_mut().for_each(|f| rename(&mut f.file));
    let arrows = arrows(&changes);
    let changes: Vec<Change> = changes.into_iter().map(|(c, _)| c).collect();
    let shared = [
        (
            "changes.csv",
            "changes.csv",
            ("全部修改 changes.csv", "all changes, changes.csv"),
            riskcensus_report::changes_csv(&changes),
        ),
        (
            "findings.csv",
            "findings.csv",
            ("问题清单 CSV", "findings, CSV"),
            riskcensus_report::findings_csv(&findings),
        ),
    ];
    let report_of = |format, lang| {
        let options = Options {
            lang,
            max_findings: None,
            color: false,
        };
        render(
            &Report {
                files: &files,
                findings: &findings,
            },
            format,
            &options,
        )
    };
    let reports = [
        (
            "report.zh.html",
            "报告_report.html",
            ("检查报告（HTML，中文）", "report, HTML (Chinese)"),
            report_of(Format::Html, Lang::Zh),
        ),
        (
            "report.en.html",
            "report.html",
            ("检查报告（HTML，英文）", "report, HTML (English)"),
            report_of(Format::Html, Lang::En),
        ),
        (
            "report.json",
            "report.json",
            ("检查报告（JSON）", "report, JSON"),
            report_of(Format::Json, Lang::En),
        ),
    ];
    for (key, name, (zh, en), bytes) in shared.into_iter().chain(reports) {
        write(out, key, &bytes)?;
        downloads.push(Download {
            key: key.to_string(),
            name: name.to_string(),
            label: (zh.to_string(), en.to_string()),
            file: None,
        });
    }
    for note in notes {
        eprintln!("riskcensus serve: {note}");
    }
    Ok(Checked {
        files,
        findings,
        changes,
        arrows,
        downloads,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `message` with the uploads' stored names (`1.csv`) replaced by the names they were sent with.
fn as_sent(message: &str, p: &Pipeline, uploads: &[Upload]) -> String {
    let mut stored: Vec<(String, &str)> = uploads
        .iter()
        .map(|u| (p.display_path(&u.stored), u.name.as_str()))
        .collect();
    // `11.csv` before `1.csv`; through placeholders, so a sent name is never replaced again.
    stored.sort_by_key(|(shown, _)| std::cmp::Reverse(shown.len()));
    let mut text = message.to_string();
    for (i, (shown, _)) in stored.iter().enumerate() {
        text = text.replace(shown.as_str(), &format!("\u{0}{i}\u{0}"));
    }
    for (i, (_, name)) in stored.iter().enumerate() {
        text = text.replace(&format!("\u{0}{i}\u{0}"), name);
    }
    text
}

/// The class of an upload: the one chosen on the page; else the pipeline's (a return of the
/// same name) or the code the name starts with (`None`: the pipeline decides); else recognised
/// from the name or headers ([`crate::recognise`]).
fn class_of(
    pipeline: &Pipeline,
    upload: &Upload,
    chosen: Option<&str>,
    schemas: &SchemaSet,
) -> Result<Option<String>, String> {
    if let Some(class) = chosen {
        return Ok(Some(class.to_string()));
    }
    let known = pipeline.returns.iter().any(|r| {
        r.path
            .file_name()
            .is_some_and(|n| n.to_string_lossy() == upload.name)
    });
    if known || riskcensus_pipeline::config::class_in_name(&upload.name).is_some() {
        return Ok(None);
    }
    match crate::recognise::class_of(&upload.stored, &upload.name, schemas) {
        Some(class) => Ok(Some(class)),
        None => Err(format!(
            "无法识别“{0}”的类别：请在页面上选择类别，或让文件名以类别代码开头（如 HB-PSF-01_学校.csv）/ cannot tell the class of “{0}” from its name or headers: choose the class on the page, or start the file name with the class code (HB-PSF-01_…)",
            upload.name
        )),
    }
}

fn write(out: &Path, key: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(out.join(key), bytes).map_err(|e| format!("cannot write {key}: {e}"))
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// `学校.csv` → `学校_修正_fixed.csv`.
fn fixed_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}_修正_fixed.{ext}"),
        None => format!("{name}_修正_fixed"),
    }
}

/// The headers of a class's longitude and latitude columns, Chinese and English.
#[derive(Debug, Clone, Default)]
struct CoordinateColumns {
    lon: Vec<String>,
    lat: Vec<String>,
}

fn coordinate_columns(class: &riskcensus_core::ResolvedClass) -> CoordinateColumns {
    let mut columns = CoordinateColumns::default();
    for f in &class.fields {
        let names = [f.zh.clone(), f.en.clone(), f.id.clone()];
        match f.field_type {
            FieldType::Longitude => columns.lon.extend(names),
            FieldType::Latitude => columns.lat.extend(names),
            _ => {}
        }
    }
    columns
}

/// Rows whose longitude and latitude the fix changes: from the old point to the new.
fn arrows(changes: &[(Change, CoordinateColumns)]) -> Vec<Arrow> {
    #[derive(Default)]
    struct Point {
        old: (Option<f64>, Option<f64>),
        new: (Option<f64>, Option<f64>),
    }
    let mut rows: Vec<((String, u64), Point)> = Vec::new();
    for (c, columns) in changes {
        let header = c.column.as_str();
        let is_lon = columns.lon.iter().any(|h| h == header);
        let is_lat = columns.lat.iter().any(|h| h == header);
        if !is_lon && !is_lat {
            continue;
        }
        let key = (c.file.clone(), c.row);
        let at = match rows.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                rows.push((key, Point::default()));
                rows.len() - 1
            }
        };
        let point = &mut rows[at].1;
        let old = c.old.as_deref().and_then(|v| v.trim().parse::<f64>().ok());
        let new = c.new.trim().parse::<f64>().ok();
        if is_lon {
            point.old.0 = old;
            point.new.0 = new;
        } else {
            point.old.1 = old;
            point.new.1 = new;
        }
    }
    rows.into_iter()
        .filter_map(|((file, row), p)| {
            let to = (p.new.0?, p.new.1?);
            let from = p.old.0.zip(p.old.1);
            Some(Arrow {
                file,
                row,
                from,
                to,
            })
        })
        .collect()
}

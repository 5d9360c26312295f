//! Per-file processing: ingest → validate → locate → accept or reject each row.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;
use rayon::prelude::*;
use riskcensus_core::schema::LocationKind;
use riskcensus_core::table::LINE_COLUMN;
use riskcensus_core::{FieldType, Finding, Register, ResolvedClass, SchemaSet, Severity};
use riskcensus_ingest::Encoding;
use riskcensus_locate::cache::{CheckedPolygons, PolygonCache};
use riskcensus_locate::layers::{read_polygons, LayerSpec};
use riskcensus_locate::{Crs, PointInput, VillageIndex};
use riskcensus_validate::across_files::{rejects_whole_file, FileRows};

use crate::config::{LayerConf, Pipeline, ReturnConf};
use crate::error::PipelineError;
use crate::FileReport;

/// Everything loaded once per run.
#[derive(Debug)]
pub struct Context<'a> {
    /// The pipeline.
    pub pipeline: &'a Pipeline,
    /// Schemas.
    pub schemas: SchemaSet,
    /// Division register.
    pub register: Register,
    /// sha256 of the register file.
    pub register_sha256: String,
    /// Village polygons, indexed.
    pub villages: VillageIndex,
    /// Findings on the village polygons.
    pub geometry_findings: Vec<Finding>,
    /// County polygons by 6-digit code, with names.
    pub counties: BTreeMap<String, (String, geo_types::MultiPolygon<f64>)>,
}

/// Load schemas, register and polygons, and check that every return names a known class.
pub fn prepare<'a>(
    pipeline: &'a Pipeline,
    timings: &mut crate::Timings,
) -> Result<Context<'a>, PipelineError> {
    let mut clock = std::time::Instant::now();
    let schemas = SchemaSet::load(&pipeline.schemas)?;
    for r in &pipeline.returns {
        if schemas.class(&r.class).is_none() {
            let known: Vec<&str> = schemas.classes.keys().map(String::as_str).collect();
            return Err(PipelineError::Config {
                message: format!(
                    "{}: return {} names class {}, which has no field schema (known: {})",
                    pipeline.file.display(),
                    r.path.display(),
                    r.class,
                    known.join(", ")
                ),
            });
        }
        if let Some(e) = &r.encoding {
            Encoding::parse(e).ok_or_else(|| PipelineError::Config {
                message: format!(
                    "{}: unknown encoding `{e}` (auto, utf-8, gbk)",
                    pipeline.file.display()
                ),
            })?;
        }
        if let Some(c) = &r.crs {
            Crs::parse(c)?;
        }
    }
    if let Some(mib) = pipeline.chunk_mib {
        if !(mib.is_finite() && mib > 0.0) {
            return Err(PipelineError::Config {
                message: format!(
                    "{}: chunk_mib = {mib}: give a size in MiB above 0 (e.g. 32)",
                    pipeline.file.display()
                ),
            });
        }
    }
    timings.lap("load schemas", &mut clock);
    // The register and the polygons are read at the same time: each is mostly one thread's work
    // (the polygons' features are parsed in parallel, the split and the register are not). The
    // polygons come checked from the cache when they and the program are unchanged.
    let cache = polygon_cache(pipeline);
    let (register, polygons) = rayon::join(
        || load_register(pipeline),
        || match &cache {
            Some((cache, key)) => match cache.load(key) {
                Some(checked) => Ok(Loaded::Checked(checked)),
                None => load_polygons(pipeline).map(Loaded::Read),
            },
            None => load_polygons(pipeline).map(Loaded::Read),
        },
    );
    let (register, register_sha256) = register?;
    let villages_path = pipeline.display_path(&pipeline.geometry.villages.path);
    let checked = match polygons? {
        Loaded::Checked(checked) => {
            timings.lap("load register and checked polygons (cache)", &mut clock);
            checked
        }
        Loaded::Read(polygons) => {
            timings.lap("load register and polygons (in parallel)", &mut clock);
            let checked = check_polygons(pipeline, polygons);
            if let Some((cache, key)) = &cache {
                // A cache that cannot be written only costs the next run the checks again.
                let _ = cache.store(key, &checked);
            }
            checked
        }
    };
    for v in &checked.villages {
        if register.get(&v.code).is_none() {
            return Err(PipelineError::Config {
                message: format!(
                    "{villages_path}: village {} ({}) is not in the register",
                    v.code, v.name
                ),
            });
        }
    }
    let CheckedPolygons {
        villages,
        counties,
        findings: geometry_findings,
    } = checked;
    let villages = VillageIndex::new(villages);
    timings.lap("check and index village polygons", &mut clock);
    Ok(Context {
        pipeline,
        schemas,
        register,
        register_sha256,
        villages,
        geometry_findings,
        counties,
    })
}

/// The polygons of a pipeline: checked, from the cache, or as read.
enum Loaded {
    Checked(CheckedPolygons),
    Read(Polygons),
}

/// Check the counties, then the villages against them.
fn check_polygons(pipeline: &Pipeline, polygons: Polygons) -> CheckedPolygons {
    let Polygons {
        villages,
        unclosed,
        villages_path,
        counties,
    } = polygons;
    let counties_path = pipeline.display_path(&pipeline.geometry.counties.path);
    let (counties, mut findings) =
        riskcensus_locate::counties::check_counties(counties, &counties_path);
    let (villages, village_findings) =
        riskcensus_locate::check_villages((villages, unclosed), &counties, &villages_path);
    findings.extend(village_findings);
    CheckedPolygons {
        villages,
        counties,
        findings,
    }
}

/// The folder of the polygon cache: `RISKCENSUS_CACHE` (`off`: none), else the platform's cache
/// folder (`~/.cache/riskcensus/polygons`, `%LOCALAPPDATA%\riskcensus\polygons`).
pub fn cache_dir() -> Option<std::path::PathBuf> {
    match std::env::var_os("RISKCENSUS_CACHE") {
        Some(v) if v == "off" || v.is_empty() => None,
        Some(dir) => Some(std::path::PathBuf::from(dir)),
        None => dirs::cache_dir().map(|d| d.join("riskcensus").join("polygons")),
    }
}

/// The polygon cache and this pipeline's key in it; `None` when off or the files cannot be read
/// (the reading then says why).
fn polygon_cache(pipeline: &Pipeline) -> Option<(PolygonCache, String)> {
    let dir = cache_dir()?;
    let geometry = &pipeline.geometry;
    // How the layers are read and how findings name them.
    let settings = format!(
        "{geometry:?}\n{}\n{}",
        pipeline.display_path(&geometry.villages.path),
        pipeline.display_path(&geometry.counties.path)
    );
    let key = riskcensus_locate::cache::key(
        &settings,
        &[
            geometry.villages.path.as_path(),
            geometry.counties.path.as_path(),
        ],
    )
    .ok()?;
    Some((PolygonCache::new(&dir), key))
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, PipelineError> {
    std::fs::read(path).map_err(|e| PipelineError::Config {
        message: format!("cannot read {}: {e}", path.display()),
    })
}

/// The division register and the sha256 of its file.
fn load_register(pipeline: &Pipeline) -> Result<(Register, String), PipelineError> {
    let register_bytes = read_file(&pipeline.register.path)?;
    use sha2::Digest;
    let register_sha256 = hex::encode(sha2::Sha256::digest(&register_bytes));
    let register_text = String::from_utf8(register_bytes).map_err(|_| PipelineError::Config {
        message: format!(
            "{}: the register must be UTF-8",
            pipeline.register.path.display()
        ),
    })?;
    Ok((Register::from_csv_str(&register_text)?, register_sha256))
}

/// The village and county polygons as read, in EPSG:4490.
struct Polygons {
    /// Villages in file order, not yet checked or indexed.
    villages: Vec<riskcensus_locate::Village>,
    /// Codes of the villages with a ring that was not closed.
    unclosed: Vec<String>,
    /// The villages' file as shown in findings.
    villages_path: String,
    counties: BTreeMap<String, (String, geo_types::MultiPolygon<f64>)>,
}

fn load_polygons(pipeline: &Pipeline) -> Result<Polygons, PipelineError> {
    let villages_path = pipeline.display_path(&pipeline.geometry.villages.path);
    // Read only: the index is built once the polygons are checked.
    let (villages, unclosed) = with_layer(pipeline, &pipeline.geometry.villages, "code", |spec| {
        VillageIndex::read_layer(spec)
    })?;
    // Without villages nothing can be located: every location check would quietly stop.
    if villages.is_empty() {
        return Err(PipelineError::Config {
            message: format!(
                "{villages_path}: the village layer holds no polygons; riskcensus locates every \
                 return in the villages of the register"
            ),
        });
    }
    // A `level` field other than `county` marks a feature of another level (a city outline).
    let counties: BTreeMap<String, (String, geo_types::MultiPolygon<f64>)> = with_layer(
        pipeline,
        &pipeline.geometry.counties,
        "adcode",
        read_polygons,
    )?
    .into_iter()
    .filter(|f| f.level.as_deref().is_none_or(|l| l == "county"))
    .map(|f| (f.code, (f.name, f.geometry)))
    .collect();
    if counties.is_empty() {
        return Err(PipelineError::Config {
            message: format!(
                "{}: the county layer holds no county polygons",
                pipeline.display_path(&pipeline.geometry.counties.path)
            ),
        });
    }
    Ok(Polygons {
        villages,
        unclosed,
        villages_path,
        counties,
    })
}

/// Read a polygon layer as the pipeline describes it: its CRS (its own `crs`, else
/// `[geometry] crs`, else none: the file's own), GeoPackage layer and field names (the code
/// field defaulting to `default_code`, the name field to `name`).
fn with_layer<T>(
    pipeline: &Pipeline,
    conf: &LayerConf,
    default_code: &str,
    read: impl FnOnce(&LayerSpec<'_>) -> Result<T, riskcensus_locate::LocateError>,
) -> Result<T, PipelineError> {
    let declared = conf.crs.as_ref().or(pipeline.geometry.crs.as_ref());
    let crs = declared.map(|c| Crs::parse(c)).transpose()?;
    let shown = pipeline.display_path(&conf.path);
    let spec = LayerSpec {
        path: &conf.path,
        shown: &shown,
        crs: crs.as_ref(),
        layer: conf.layer.as_deref(),
        code_field: conf.code_field.as_deref().unwrap_or(default_code),
        name_field: conf.name_field.as_deref().unwrap_or("name"),
    };
    Ok(read(&spec)?)
}

/// One processed return file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    /// Counts.
    pub report: FileReport,
    /// The class.
    pub class: ResolvedClass,
    /// Accepted rows: every schema field typed (lon/lat in EPSG:4490), then `county_code`,
    /// `township_code`, `located_village_code`, `source_file`, `source_row`. Empty (no rows)
    /// after a validation only, which counts them without keeping them; [`crate::publish`]
    /// takes them out as it writes them.
    pub accepted: DataFrame,
    /// Rejected rows as written, with `__reasons`, and their original headers.
    pub rejected: DataFrame,
    /// Original headers of the rejected frame's columns (same order), then row and reasons.
    pub rejected_headers: Vec<String>,
    /// Findings, by row.
    pub findings: Vec<Finding>,
    /// Values derived or corrected, by row (`changes.csv`).
    pub changes: Vec<riskcensus_core::Change>,
}

/// Process every return: check each file (in parallel), then the checks across files, then
/// accept or reject each row, batch by batch ([`crate::batches`]). Results come in pipeline order.
pub fn process_all(
    ctx: &Context<'_>,
    timings: &mut crate::Timings,
    progress: &dyn crate::Progress,
) -> Result<Vec<FileOutcome>, PipelineError> {
    crate::in_pool(|| process_batches(ctx, timings, progress, Accepted::Keep, None))
}

/// [`process_all`] for a validation only: the accepted rows are counted, not kept (each
/// outcome's `accepted` frame is empty), so memory stays that of one batch.
pub(crate) fn check_all(
    ctx: &Context<'_>,
    timings: &mut crate::Timings,
    progress: &dyn crate::Progress,
) -> Result<Vec<FileOutcome>, PipelineError> {
    crate::in_pool(|| process_batches(ctx, timings, progress, Accepted::Count, None))
}

/// Called with each batch's decided files (with their places among the returns), in the order
/// they were checked, before the next batch is read.
pub(crate) type BatchSink<'s> =
    &'s mut dyn FnMut(&mut [(usize, FileOutcome)]) -> Result<(), PipelineError>;

/// What becomes of the accepted rows of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// Kept for publishing.
    Keep,
    /// Only counted.
    Count,
}

/// Check the returns batch by batch (on the current thread pool), handing each batch's decided
/// files to `sink` (timed as publishing) when there is one.
pub(crate) fn process_batches(
    ctx: &Context<'_>,
    timings: &mut crate::Timings,
    progress: &dyn crate::Progress,
    accepted: Accepted,
    mut sink: Option<BatchSink<'_>>,
) -> Result<Vec<FileOutcome>, PipelineError> {
    let returns = &ctx.pipeline.returns;
    let classes: Vec<&ResolvedClass> = returns
        .iter()
        .map(|r| {
            ctx.schemas
                .class(&r.class)
                .ok_or_else(|| PipelineError::Internal(format!("class {}", r.class)))
        })
        .collect::<Result<_, _>>()?;
    let sizes = crate::batches::file_sizes(ctx);
    let plan = crate::batches::plan(ctx, &sizes);
    let size_of = |index: usize| sizes.get(index).copied().unwrap_or(0);
    timings.batches = plan.batches.len();
    let mut across_files = riskcensus_validate::across_files::AcrossFiles::new(&classes);
    let mut outcomes: Vec<Option<FileOutcome>> = returns.iter().map(|_| None).collect();
    // Four steps per file: read, validate, locate, decide.
    progress.start("核查 checking returns", 4 * returns.len() as u64);
    fn advance<T>(progress: &dyn crate::Progress) -> impl Fn(T) -> T + '_ {
        move |x| {
            progress.advance();
            x
        }
    }
    for batch in &plan.batches {
        let mut clock = std::time::Instant::now();
        let ingested: Vec<Ingested> = largest_first(
            batch.clone(),
            |&i| size_of(i),
            |i| ingest(ctx, i).map(advance(progress)),
        )?;
        timings.lap("ingest (parallel over files)", &mut clock);
        let validated: Vec<Validated> = largest_first(
            ingested,
            |i| size_of(i.index),
            |i| validate(ctx, i).map(advance(progress)),
        )?;
        timings.lap("validate (parallel over files)", &mut clock);
        let mut checked: Vec<Checked> = largest_first(
            validated,
            |v| size_of(v.ingested.index),
            |v| locate(ctx, v).map(advance(progress)),
        )?;
        timings.lap("locate (parallel over files)", &mut clock);
        let mut rows: Vec<FileRows<'_>> = checked
            .iter_mut()
            .map(|c| FileRows {
                class: &c.class,
                shown: &c.shown,
                raw: &c.raw,
                typed: &c.typed,
                codes: &c.codes,
                lon: &c.lon,
                lat: &c.lat,
                findings: &mut c.findings,
            })
            .collect();
        across_files.check_batch(&mut rows, ctx.pipeline.sampled_villages.as_deref())?;
        drop(rows);
        timings.lap("checks across files", &mut clock);
        let mut decided: Vec<(usize, FileOutcome)> = largest_first(
            checked,
            |c| size_of(c.index),
            |c| decide(ctx, c, accepted).map(advance(progress)),
        )?;
        timings.lap("accept or reject rows", &mut clock);
        if let Some(sink) = sink.as_mut() {
            sink(&mut decided)?;
            timings.lap("write facility parts per class and county", &mut clock);
        }
        for (i, outcome) in decided {
            outcomes[i] = Some(outcome);
        }
    }
    progress.finish();
    let mut outcomes: Vec<FileOutcome> = outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| o.ok_or_else(|| PipelineError::Internal(format!("return {i} not planned"))))
        .collect::<Result<_, _>>()?;
    // Coverage of the capacity returns is known once every batch is decided.
    let first_file = |outcomes: &[FileOutcome], class: &str| {
        outcomes.iter().position(|o| o.class.node.code == class)
    };
    let villages = ctx
        .villages
        .villages()
        .iter()
        .map(|v| (v.code.as_str(), v.township.as_str()));
    let coverage = across_files.coverage_findings(villages, |class| {
        first_file(&outcomes, class).map(|i| outcomes[i].report.file.clone())
    });
    for finding in coverage {
        if let Some(i) = first_file(&outcomes, &finding.class) {
            add_file_finding(ctx, &mut outcomes[i], finding);
        }
    }
    Ok(outcomes)
}

/// The pipeline's severity overrides; rules turned off drop their findings.
fn apply_severities(ctx: &Context<'_>, findings: &mut Vec<Finding>) {
    findings.retain_mut(|f| match ctx.pipeline.severity(f.rule) {
        Some(s) => {
            f.severity = s;
            true
        }
        None => false,
    });
}

/// Add a finding on a whole file (no row) to a decided file: the pipeline's severity applies,
/// findings stay in row and rule order, and the counts follow.
fn add_file_finding(ctx: &Context<'_>, outcome: &mut FileOutcome, mut finding: Finding) {
    let Some(severity) = ctx.pipeline.severity(finding.rule) else {
        return;
    };
    finding.severity = severity;
    outcome.findings.push(finding);
    outcome
        .findings
        .sort_by(|a, b| a.row.cmp(&b.row).then(a.rule.cmp(&b.rule)));
    let count = |s: Severity| outcome.findings.iter().filter(|f| f.severity == s).count();
    outcome.report.errors = count(Severity::Error);
    outcome.report.warnings = count(Severity::Warning);
    outcome.report.infos = count(Severity::Info);
}

/// One file after ingest, validate and locate: findings known, rows not yet decided.
pub(crate) struct Checked {
    /// Its place among the pipeline's returns.
    pub index: usize,
    pub class: ResolvedClass,
    pub shown: String,
    pub raw: riskcensus_core::table::RawTable,
    pub typed: DataFrame,
    /// Longitude and latitude per row in EPSG:4490 (None where the point is unusable).
    pub lon: Vec<Option<f64>>,
    pub lat: Vec<Option<f64>>,
    /// The village whose polygon holds the point (the declared one for classes without points).
    pub located_village: StringChunked,
    pub lon_id: Option<String>,
    pub lat_id: Option<String>,
    /// The declared 12-digit division code per row; None where it is not 12 digits. Polars
    /// strings keep such short text inline (16 bytes a row, no allocation per row).
    pub codes: StringChunked,
    pub findings: Vec<Finding>,
    /// Values derived in validation.
    pub changes: Vec<riskcensus_core::Change>,
}

/// A return as read.
struct Ingested<'a> {
    index: usize,
    conf: &'a ReturnConf,
    class: ResolvedClass,
    shown: String,
    raw: riskcensus_core::table::RawTable,
}

/// A return with its typed columns and the findings of validation.
struct Validated<'a> {
    ingested: Ingested<'a>,
    typed: DataFrame,
    findings: Vec<Finding>,
    changes: Vec<riskcensus_core::Change>,
}

/// `work` on each of `items` on the thread pool, the largest (by `size`, the file's bytes) first,
/// each thread taking the next largest when it is free; the results in the items' order.
///
/// A batch holds a few large files among many small ones. Taken in the batch's order, a stage
/// could end with one core on a large file while the other waited; largest first, the last
/// files of a stage are the small ones.
fn largest_first<T: Send, U: Send>(
    items: Vec<T>,
    size: impl Fn(&T) -> u64,
    work: impl Fn(T) -> Result<U, PipelineError> + Sync + Send,
) -> Result<Vec<U>, PipelineError> {
    let mut queue: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    queue.sort_by_key(|(position, item)| (std::cmp::Reverse(size(item)), *position));
    // `par_bridge` hands the queue's items out one at a time, in its order, to whichever thread
    // asks next.
    let mut done: Vec<(usize, U)> = queue
        .into_iter()
        .par_bridge()
        .map(|(position, item)| work(item).map(|result| (position, result)))
        .collect::<Result<_, _>>()?;
    done.sort_unstable_by_key(|(position, _)| *position);
    Ok(done.into_iter().map(|(_, result)| result).collect())
}

fn ingest<'a>(ctx: &Context<'a>, index: usize) -> Result<Ingested<'a>, PipelineError> {
    let conf = ctx
        .pipeline
        .returns
        .get(index)
        .ok_or_else(|| PipelineError::Internal(format!("return {index}")))?;
    let class = ctx
        .schemas
        .class(&conf.class)
        .cloned()
        .ok_or_else(|| PipelineError::Internal(format!("class {}", conf.class)))?;
    let shown = ctx.pipeline.display_path(&conf.path);
    let encoding = conf.read_encoding();
    let chunk_bytes = ctx.pipeline.chunk_mib.map_or(
        riskcensus_ingest::chunks::CHUNK_BYTES,
        // At least a byte (a record per chunk); checked finite and above 0 in `prepare`.
        |mib| (mib * f64::from(1u32 << 20)).max(1.0) as usize,
    );
    let raw = riskcensus_ingest::ingest_file_in_chunks(
        &conf.path,
        &shown,
        encoding,
        conf.sheet.as_deref(),
        &class,
        chunk_bytes,
    )?;
    Ok(Ingested {
        index,
        conf,
        class,
        shown,
        raw,
    })
}

fn validate<'a>(ctx: &Context<'_>, ingested: Ingested<'a>) -> Result<Validated<'a>, PipelineError> {
    let options = riskcensus_validate::Options {
        reference_date: chrono::NaiveDate::parse_from_str(&ctx.pipeline.reference_date, "%Y-%m-%d")
            .ok(),
    };
    let validated = riskcensus_validate::validate_with(
        &ingested.raw,
        &ingested.class,
        &ctx.register,
        &options,
    )?;
    Ok(Validated {
        ingested,
        typed: validated.typed,
        findings: validated.findings,
        changes: validated.changes,
    })
}

fn locate(ctx: &Context<'_>, validated: Validated<'_>) -> Result<Checked, PipelineError> {
    let Validated {
        ingested:
            Ingested {
                index,
                conf,
                class,
                shown,
                raw,
            },
        typed,
        findings,
        changes,
    } = validated;
    let field_of = |t: FieldType| {
        class
            .fields
            .iter()
            .find(|f| f.field_type == t)
            .map(|f| f.id.clone())
    };
    let Some(code_id) = field_of(FieldType::DivisionCode) else {
        return Err(PipelineError::Internal(format!(
            "class {} lacks a division code",
            class.node.code
        )));
    };
    let codes: StringChunked = typed
        .column(code_id.as_str())?
        .str()?
        .iter()
        .map(|c| c.filter(|c| c.len() == 12 && c.bytes().all(|b| b.is_ascii_digit())))
        .collect();
    let (lon_id, lat_id) = (
        field_of(FieldType::Longitude),
        field_of(FieldType::Latitude),
    );
    let (lon, lat, located_village, located_findings) = match (&lon_id, &lat_id) {
        (Some(lon_id), Some(lat_id)) => {
            let x: Vec<Option<f64>> = typed.column(lon_id.as_str())?.f64()?.iter().collect();
            let y: Vec<Option<f64>> = typed.column(lat_id.as_str())?.f64()?.iter().collect();
            let code_refs: Vec<Option<&str>> = codes.iter().collect();
            let names: Vec<Option<&str>> = match typed.column("name") {
                Ok(c) => c.str()?.iter().collect(),
                Err(_) => vec![None; typed.height()],
            };
            let crs = match &conf.crs {
                Some(c) => Crs::parse(c)?,
                None => Crs::cgcs2000(),
            };
            let county_names: HashMap<String, String> = ctx
                .counties
                .iter()
                .map(|(k, (n, _))| (k.clone(), n.clone()))
                .collect();
            let x_header = raw.header_of(lon_id).unwrap_or(lon_id).to_string();
            let y_header = raw.header_of(lat_id).unwrap_or(lat_id).to_string();
            let name_header = raw.header_of("name").unwrap_or("name").to_string();
            let located = riskcensus_locate::locate(
                PointInput {
                    file: &shown,
                    class: &class.node.code,
                    lines: &raw.lines,
                    x: &x,
                    y: &y,
                    codes: &code_refs,
                    x_header: &x_header,
                    y_header: &y_header,
                    names: &names,
                    name_header: &name_header,
                    township_level: class.division_level
                        == riskcensus_core::schema::DivisionLevel::Township,
                },
                &crs,
                &ctx.villages,
                &county_names,
            )?;
            // A village's own return without a point is where its code says.
            let by_code = class.location == LocationKind::Village;
            let village: StringChunked = located
                .village
                .into_iter()
                .zip(code_refs.iter())
                .zip(&located.lon)
                .map(|((hit, code), lon)| match (hit, lon) {
                    (None, None) if by_code => *code,
                    (hit, _) => hit,
                })
                .collect();
            (located.lon, located.lat, village, located.findings)
        }
        // A class without coordinate fields (the household survey): placed by its village code.
        _ => {
            let n = typed.height();
            (vec![None; n], vec![None; n], codes.clone(), Vec::new())
        }
    };
    let mut findings = findings;
    findings.extend(located_findings);
    // Polygon locations (面位置 of a GeoPackage return) against the village of the row's code.
    if !raw.outlines.is_empty() {
        let code_of_line = |line: u64| {
            let row = raw.lines.binary_search(&line).ok()?;
            codes.get(row)
        };
        findings.extend(riskcensus_locate::outlines::check_outlines(
            &shown,
            &class.node.code,
            &raw.outlines,
            code_of_line,
            &ctx.villages,
        ));
    }
    // The pipeline's severities now, so that the checks across files see each row's verdict.
    apply_severities(ctx, &mut findings);
    Ok(Checked {
        index,
        class,
        shown,
        raw,
        typed,
        lon,
        lat,
        located_village,
        lon_id,
        lat_id,
        codes,
        findings,
        changes,
    })
}

fn decide(
    ctx: &Context<'_>,
    checked: Checked,
    keep_accepted: Accepted,
) -> Result<(usize, FileOutcome), PipelineError> {
    let Checked {
        index,
        class,
        shown,
        raw,
        typed,
        lon,
        lat,
        located_village,
        lon_id,
        lat_id,
        codes,
        mut findings,
        changes,
    } = checked;
    let typed = &typed;
    // The findings of the checks across files are new here.
    apply_severities(ctx, &mut findings);
    // Put the point on every finding of a row whose point is known.
    // Lines increase row by row: a binary search finds a finding's row.
    let row_of_line = |line: u64| raw.lines.binary_search(&line).ok();
    for f in &mut findings {
        if f.lon.is_none() {
            if let Some(i) = f.row.and_then(row_of_line) {
                if let (Some(lon), Some(lat)) = (lon[i], lat[i]) {
                    f.lon = Some(lon);
                    f.lat = Some(lat);
                }
            }
        }
    }
    findings.sort_by(|a, b| a.row.cmp(&b.row).then(a.rule.cmp(&b.rule)));

    let mut reasons: Vec<BTreeSet<String>> = vec![BTreeSet::new(); raw.lines.len()];
    for f in findings.iter().filter(|f| f.severity == Severity::Error) {
        match f.row.and_then(row_of_line) {
            Some(i) => {
                reasons[i].insert(format!("{}: {}", f.rule.code(), f.message_zh));
            }
            None if rejects_whole_file(f) => {
                for r in &mut reasons {
                    r.insert(format!("{}: {}", f.rule.code(), f.message_zh));
                }
            }
            None => {}
        }
    }
    let keep: Vec<bool> = reasons.iter().map(|r| r.is_empty()).collect();
    let keep_mask = BooleanChunked::from_slice("keep".into(), &keep);
    let reject_mask = !&keep_mask;

    let accepted_rows = keep.iter().filter(|k| **k).count();
    let accepted = match keep_accepted {
        Accepted::Keep => accepted_frame(
            typed,
            &keep_mask,
            (lon_id.as_deref(), lat_id.as_deref()),
            (lon, lat),
            &codes,
            located_village,
            &shown,
            &raw.lines,
        )?,
        Accepted::Count => typed.clear(),
    };
    if keep_accepted == Accepted::Keep && accepted.height() != accepted_rows {
        return Err(PipelineError::Internal(format!(
            "{shown}: {} rows to accept, {} in the accepted frame",
            accepted_rows,
            accepted.height()
        )));
    }

    // Rejected rows: the cells as written, the row number and the reasons.
    let mut rejected_headers: Vec<String> = raw.columns.iter().map(|c| c.header.clone()).collect();
    rejected_headers.push("行号 row".into());
    rejected_headers.push("退回原因 reasons".into());
    let mut rejected = raw.frame.clone();
    let reason_text: Vec<String> = reasons
        .iter()
        .map(|r| r.iter().cloned().collect::<Vec<_>>().join("; "))
        .collect();
    rejected.with_column(Column::new("__reasons".into(), reason_text))?;
    // Kept until the end of the run: copied out of the file's text, which the batch then frees.
    let rejected = riskcensus_core::table::compact_strings(&rejected.filter(&reject_mask)?)?;

    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let report = FileReport {
        file: shown,
        class: class.node.code.clone(),
        encoding: raw.encoding.to_string(),
        sha256: raw.sha256.clone(),
        rows_read: raw.lines.len(),
        accepted: accepted_rows,
        rejected: rejected.height(),
        errors,
        warnings,
        infos: findings
            .iter()
            .filter(|f| f.severity == Severity::Info)
            .count(),
    };
    if report.accepted + report.rejected != report.rows_read {
        return Err(PipelineError::Internal(format!(
            "{}: read {} ≠ accepted {} + rejected {}",
            report.file, report.rows_read, report.accepted, report.rejected
        )));
    }
    Ok((
        index,
        FileOutcome {
            report,
            class,
            accepted,
            rejected,
            rejected_headers,
            findings,
            changes,
        },
    ))
}

/// The accepted rows (`keep`) of a file: its typed fields, lon/lat replaced by EPSG:4490, then
/// `county_code`, `township_code`, `located_village_code`, `source_file` and `source_row`.
#[allow(clippy::too_many_arguments)]
fn accepted_frame(
    typed: &DataFrame,
    keep: &BooleanChunked,
    (lon_id, lat_id): (Option<&str>, Option<&str>),
    (lon, lat): (Vec<Option<f64>>, Vec<Option<f64>>),
    codes: &StringChunked,
    located_village: StringChunked,
    shown: &str,
    lines: &[u64],
) -> Result<DataFrame, PipelineError> {
    let mut accepted = typed.clone();
    if let (Some(lon_id), Some(lat_id)) = (lon_id, lat_id) {
        accepted.with_column(Column::new(lon_id.into(), lon))?;
        accepted.with_column(Column::new(lat_id.into(), lat))?;
    }
    // Codes are 12 ASCII digits (checked in `locate`), so the prefixes are at char boundaries.
    let prefix =
        |len: usize| -> StringChunked { codes.iter().map(|c| c.map(|c| &c[..len])).collect() };
    accepted.with_column(prefix(6).into_column().with_name("county_code".into()))?;
    accepted.with_column(prefix(9).into_column().with_name("township_code".into()))?;
    accepted.with_column(
        located_village
            .into_column()
            .with_name("located_village_code".into()),
    )?;
    accepted.with_column(Column::new(
        "source_file".into(),
        vec![shown.to_string(); lines.len()],
    ))?;
    let lines: Vec<i64> = lines.iter().map(|&l| l as i64).collect();
    accepted.with_column(Column::new("source_row".into(), lines))?;
    Ok(accepted.drop(LINE_COLUMN)?.filter(keep)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_first_starts_the_largest_and_returns_in_the_items_order() {
        let sizes = [3u64, 40, 7, 40, 0, 12];
        let started = std::sync::Mutex::new(Vec::new());
        // One thread: the items are started strictly in the order they are handed out.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        let results = pool
            .install(|| {
                largest_first(
                    (0..sizes.len()).collect(),
                    |&i| sizes[i],
                    |i| {
                        started.lock().expect("lock").push(i);
                        Ok(i * 10)
                    },
                )
            })
            .expect("no error");
        assert_eq!(results, [0, 10, 20, 30, 40, 50]);
        // Largest first; equal sizes in the items' order.
        assert_eq!(*started.lock().expect("lock"), [1, 3, 5, 2, 0, 4]);
    }

    #[test]
    fn largest_first_passes_an_error_on() {
        let result = largest_first(
            vec![1u64, 2, 3],
            |&n| n,
            |n| {
                if n == 2 {
                    Err(PipelineError::Internal("two".into()))
                } else {
                    Ok(n)
                }
            },
        );
        assert!(matches!(result, Err(PipelineError::Internal(m)) if m == "two"));
    }
}

//! Writing the database: one layer per class and per area level for the whole run (counties in
//! code order, each in its own row groups), findings, rejected rows, manifest.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use arrow_array::Array;

use polars::prelude::*;
use rayon::prelude::*;
use riskcensus_aggregate::{by_county, by_village_counts, capacity, ClassRows};
use riskcensus_core::Level;
use riskcensus_publish::grouped::HashingFile;
use riskcensus_publish::{
    county_packages, findings_frame, qgis, write_geoparquet, write_geoparquet_rows, Geometries,
    PublishError, Written,
};
use serde_json::json;

use crate::error::PipelineError;
use crate::output::OutputDir;
use crate::process::{Context, FileOutcome};

struct Outputs {
    root: PathBuf,
    written: BTreeMap<String, Written>,
    layers: Vec<qgis::ProjectLayer>,
}

/// A layer file written, with its style, waiting to be recorded in the manifest and project.
struct LayerFile {
    path: PathBuf,
    written: Written,
    style: Written,
    name: String,
    group: &'static str,
    kind: qgis::LayerKind,
}

/// Write a layer's `.qml` beside it (QGIS applies it on load).
fn write_style(path: &Path, kind: &qgis::LayerKind) -> Result<Written, PipelineError> {
    Style::new(kind).write_beside(path)
}

/// A layer style rendered once, written beside every layer of its kind.
struct Style {
    text: String,
    sha256: String,
}

impl Style {
    fn new(kind: &qgis::LayerKind) -> Self {
        let text = qgis::qml(kind);
        let sha256 = sha256(text.as_bytes());
        Style { text, sha256 }
    }

    fn write_beside(&self, path: &Path) -> Result<Written, PipelineError> {
        let style = path.with_extension("qml");
        std::fs::write(&style, &self.text).map_err(io_err(&style))?;
        Ok(Written {
            rows: 0,
            sha256: self.sha256.clone(),
        })
    }
}

/// Create `county=<code>/` under `root` for every county that will hold a part.
fn county_dirs(root: &Path, counties: &[&String]) -> Result<(), PipelineError> {
    for county in counties {
        let dir = root.join(format!("county={county}"));
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    }
    Ok(())
}

impl Outputs {
    /// Write a layer's style and record both: the manifest and its place in the project.
    fn layer(
        &mut self,
        path: &Path,
        w: Written,
        name: String,
        group: &'static str,
        kind: qgis::LayerKind,
    ) -> Result<(), PipelineError> {
        let style = write_style(path, &kind)?;
        self.add(LayerFile {
            path: path.to_path_buf(),
            written: w,
            style,
            name,
            group,
            kind,
        });
        Ok(())
    }

    /// Record a layer whose file and style are written.
    fn add(&mut self, layer: LayerFile) {
        let LayerFile {
            path,
            written,
            style,
            name,
            group,
            kind,
        } = layer;
        self.record(&path.with_extension("qml"), style);
        self.record(&path, written);
        self.list(&path, name, group, kind);
    }

    /// List a layer in the project (its files are recorded apart).
    fn list(&mut self, path: &Path, name: String, group: &'static str, kind: qgis::LayerKind) {
        let rel = path
            .strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        self.layers.push(qgis::ProjectLayer {
            path: rel,
            name,
            group,
            kind,
        });
    }

    fn record(&mut self, path: &Path, w: Written) {
        let rel = path
            .strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        self.written.insert(rel, w);
    }
}

/// Write a plain file (report, project).
fn write_file(path: &Path, bytes: &[u8], rows: usize) -> Result<Written, PipelineError> {
    std::fs::write(path, bytes).map_err(io_err(path))?;
    Ok(Written {
        rows,
        sha256: sha256(bytes),
    })
}

/// [`write_file`] for a file made as it is written (`write` gets a buffered writer that hashes
/// what passes), so that it is never held in memory whole.
fn write_streamed(
    path: &Path,
    rows: usize,
    write: impl FnOnce(&mut HashingFile) -> std::io::Result<()>,
) -> Result<Written, PipelineError> {
    let file = std::fs::File::create(path).map_err(io_err(path))?;
    let mut out = HashingFile::new(file);
    write(&mut out).map_err(io_err(path))?;
    let sha256 = out.finish().map_err(io_err(path))?;
    Ok(Written { rows, sha256 })
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> PipelineError + '_ {
    move |source| {
        PipelineError::Output(PublishError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Write the database for processed returns into `out`, replacing it only once all is written.
///
/// The accepted rows are taken out of `outcomes` as they are published (their `accepted` frames
/// are left empty); reports, findings and rejected rows stay. A run publishes batch by batch
/// instead ([`crate::run_with`]), which gives the same database.
pub fn publish(
    ctx: &Context<'_>,
    outcomes: &mut [FileOutcome],
    out: &OutputDir,
    timings: &mut crate::Timings,
    progress: &dyn crate::Progress,
) -> Result<(), PipelineError> {
    in_staging(out, timings, progress, |root, timings| {
        let mut facilities = Facilities::new(ctx, root)?;
        let mut clock = std::time::Instant::now();
        facilities.add(outcomes.iter_mut())?;
        timings.lap("publish facilities per class and county", &mut clock);
        write_all(ctx, outcomes, facilities, root, timings, progress)
    })
}

/// Check every return and publish the database into `out` batch by batch: each batch's facility
/// layers are written as soon as its rows are decided, and its accepted rows dropped, so that
/// memory follows the batch and not the census. Returns the outcomes (accepted frames empty).
pub(crate) fn check_and_publish(
    ctx: &Context<'_>,
    out: &OutputDir,
    timings: &mut crate::Timings,
    progress: &dyn crate::Progress,
) -> Result<Vec<FileOutcome>, PipelineError> {
    in_staging(out, timings, progress, |root, timings| {
        let mut facilities = Facilities::new(ctx, root)?;
        let mut outcomes = crate::process::process_batches(
            ctx,
            timings,
            progress,
            crate::process::Accepted::Keep,
            Some(&mut |batch: &mut [(usize, FileOutcome)]| {
                facilities.add(batch.iter_mut().map(|(_, o)| o))
            }),
        )?;
        write_all(ctx, &mut outcomes, facilities, root, timings, progress)?;
        Ok(outcomes)
    })
}

/// Run `write` on a fresh staging directory beside `out`, then put it in place of `out` (the
/// previous database is removed only then); on an error the staging directory is removed and
/// `out` left as it was. [`OutputDir`] says how a killed run is recovered.
fn in_staging<T>(
    out: &OutputDir,
    timings: &mut crate::Timings,
    progress: &dyn crate::Progress,
    write: impl FnOnce(&Path, &mut crate::Timings) -> Result<T, PipelineError>,
) -> Result<T, PipelineError> {
    let staging = out.stage()?;
    let value = match write(&staging, timings) {
        Ok(value) => value,
        Err(e) => {
            out.discard(&staging);
            return Err(e);
        }
    };
    if let Some(old) = out.swap_in(&staging)? {
        // The previous database: its county directories in parallel (a national one holds
        // ~190,000 files), then the rest.
        let mut clock = std::time::Instant::now();
        progress.start("删除旧库 removing the previous database", 0);
        let subdirs: Vec<PathBuf> = std::fs::read_dir(&old)
            .map_err(io_err(&old))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs
            .par_iter()
            .try_for_each(|d| std::fs::remove_dir_all(d).map_err(io_err(d)))?;
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
        progress.finish();
        timings.lap("remove the previous database", &mut clock);
    }
    Ok(value)
}

/// The household sample survey, whose answers give the county estimates.
const HOUSEHOLDS: &str = "DR-HH-01";

/// The facility layers (`facilities/<CLASS>.parquet` and their styles), and what the aggregates
/// need of the accepted rows.
///
/// Each batch's rows are written per class and county into parts under [`PARTS`] (a county's
/// part that an earlier batch wrote is written again with the new rows after the old ones); once
/// every batch is in, each class's parts are joined into its layer, county by county
/// ([`Facilities::join_parts`]), and the parts removed.
pub(crate) struct Facilities<'c> {
    parts_dir: PathBuf,
    counties: Vec<&'c String>,
    /// Pipeline position of each return, by its name as shown.
    file_order: HashMap<String, usize>,
    /// The parts written, by (class, county).
    parts: BTreeMap<(String, String), Part>,
    /// Per class reported by township: the columns the aggregates read, of every accepted row in
    /// pipeline order, and the class's totals.
    aggregate_rows: BTreeMap<String, (DataFrame, Vec<String>)>,
    /// Per class reported by village: its count and totals per village, batch by batch (the rows
    /// themselves are not kept: the household survey alone had 3.5 M at national scale).
    village_counts: BTreeMap<String, riskcensus_aggregate::VillageCounts>,
    /// The schemas (each outcome's class is one of them).
    schemas: &'c riskcensus_core::SchemaSet,
    /// The household survey's sums per county, one frame per batch.
    household_sums: Vec<DataFrame>,
}

/// A class's facilities of one county, written batch by batch: the file and its rows.
type Part = (PathBuf, usize);

/// The folder of the facility parts inside the staging folder (removed before the swap).
const PARTS: &str = ".facility-parts";

/// How a class's layer is shown: its name, group and style.
fn class_layer(class: &riskcensus_core::ResolvedClass) -> (String, &'static str, qgis::LayerKind) {
    let code = &class.node.code;
    let has = |t: riskcensus_core::FieldType| class.fields.iter().any(|f| f.field_type == t);
    let group = if code.starts_with("HB") {
        "承灾体"
    } else {
        "减灾能力"
    };
    let kind = if has(riskcensus_core::FieldType::Longitude)
        && has(riskcensus_core::FieldType::Latitude)
    {
        qgis::LayerKind::Facilities {
            code: code.clone(),
            zh: class.node.zh.clone(),
        }
    } else {
        qgis::LayerKind::Table
    };
    (format!("{code} {}", class.node.zh), group, kind)
}

impl<'c> Facilities<'c> {
    /// Ready to write under `root`: a parts folder per county.
    fn new(ctx: &'c Context<'_>, root: &Path) -> Result<Self, PipelineError> {
        let counties: Vec<&String> = ctx.counties.keys().collect();
        let parts_dir = root.join(PARTS);
        county_dirs(&parts_dir, &counties)?;
        let mut file_order = HashMap::new();
        for (i, r) in ctx.pipeline.returns.iter().enumerate() {
            file_order
                .entry(ctx.pipeline.display_path(&r.path))
                .or_insert(i);
        }
        Ok(Facilities {
            parts_dir,
            counties,
            file_order,
            parts: BTreeMap::new(),
            aggregate_rows: BTreeMap::new(),
            village_counts: BTreeMap::new(),
            schemas: &ctx.schemas,
            household_sums: Vec::new(),
        })
    }

    /// Publish the accepted rows of decided files (each class's files in pipeline order, after
    /// the class's files of earlier calls), taking them out of the outcomes. A county's layer of
    /// a class that an earlier call wrote is written again with the new rows after the old ones.
    fn add<'o>(
        &mut self,
        outcomes: impl Iterator<Item = &'o mut FileOutcome>,
    ) -> Result<(), PipelineError> {
        // The class's rows of these files, in their order.
        let mut by_class: BTreeMap<String, DataFrame> = BTreeMap::new();
        for o in outcomes {
            let accepted = std::mem::replace(&mut o.accepted, DataFrame::empty());
            match by_class.entry(o.class.node.code.clone()) {
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    e.get_mut().vstack_mut(&accepted)?;
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(accepted);
                }
            }
        }
        for (code, frame) in by_class {
            let class = self
                .schemas
                .class(&code)
                .ok_or_else(|| PipelineError::Internal(format!("class {code}")))?;
            for (county, part) in self.write_class(class, &frame)? {
                self.parts.insert((code.clone(), county), part);
            }
            // Only the columns the aggregates read are kept.
            let totals = class.totals.clone();
            // The household survey's answers are summed per county now, not kept.
            if code == HOUSEHOLDS {
                self.household_sums
                    .push(riskcensus_aggregate::household_sums(&frame)?);
            }
            let township_level =
                class.division_level == riskcensus_core::schema::DivisionLevel::Township;
            let mut read: Vec<&str> = Vec::new();
            for c in riskcensus_aggregate::input_columns(township_level)
                .iter()
                .copied()
                .chain(totals.iter().map(String::as_str))
            {
                if !read.contains(&c) && frame.column(c).is_ok() {
                    read.push(c);
                }
            }
            // A class reported by village keeps only its count and totals per village, which is
            // all the village table reads; a class reported by township keeps these columns of
            // its rows until the end of the run, copied out of the batch's text (then freed).
            let read = frame.select(read)?;
            if !township_level {
                let counts = riskcensus_aggregate::VillageCounts::of(&ClassRows {
                    code: &code,
                    frame: &read,
                    totals: &totals,
                })?;
                match self.village_counts.entry(code) {
                    std::collections::btree_map::Entry::Occupied(mut e) => {
                        e.get_mut().add(counts)?
                    }
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(counts);
                    }
                }
                continue;
            }
            let slim = riskcensus_core::table::compact_strings(&read)?;
            match self.aggregate_rows.entry(code) {
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    e.get_mut().0.vstack_mut(&slim)?;
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert((slim, totals));
                }
            }
        }
        Ok(())
    }

    /// Write a class's parts for the rows of `frame`, per county, in parallel.
    fn write_class(
        &self,
        class: &riskcensus_core::ResolvedClass,
        frame: &DataFrame,
    ) -> Result<Vec<(String, Part)>, PipelineError> {
        let code = &class.node.code;
        let coordinate =
            |t: riskcensus_core::FieldType| class.fields.iter().find(|f| f.field_type == t);
        let (lon, lat) = (
            coordinate(riskcensus_core::FieldType::Longitude),
            coordinate(riskcensus_core::FieldType::Latitude),
        );
        // A class without points (the household survey) is published with null geometries.
        let points: Vec<Option<(f64, f64)>> = match (lon, lat) {
            (Some(lon), Some(lat)) => {
                let xs = frame.column(lon.id.as_str())?.f64()?;
                let ys = frame.column(lat.id.as_str())?.f64()?;
                xs.iter().zip(ys.iter()).map(|(x, y)| x.zip(y)).collect()
            }
            _ => vec![None; frame.height()],
        };
        split_by_county(frame, &self.counties)?
            .into_par_iter()
            .map(|(county, rows)| {
                let part_points: Vec<Option<(f64, f64)>> =
                    rows.iter().map(|&i| points[i as usize]).collect();
                let path = self
                    .parts_dir
                    .join(format!("county={county}"))
                    .join(format!("{code}.parquet"));
                let written = if self.parts.contains_key(&(code.clone(), county.clone())) {
                    self.write_after_earlier(&path, frame, &rows, part_points)?
                } else {
                    write_geoparquet_rows(&path, frame, &rows, Geometries::Points(part_points))?
                };
                Ok((county.clone(), (path, written.rows)))
            })
            .collect()
    }

    /// Join each class's parts into `facilities/<CLASS>.parquet` under `root` (classes in
    /// parallel, counties in code order, each county its own row groups), write its style and
    /// remove the parts.
    fn join_parts(
        parts_dir: &Path,
        parts: BTreeMap<(String, String), Part>,
        schemas: &riskcensus_core::SchemaSet,
        root: &Path,
    ) -> Result<Vec<LayerFile>, PipelineError> {
        let dir = root.join("facilities");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        // Parts by class, counties in code order (the map's order).
        let mut by_class: BTreeMap<String, Vec<Part>> = BTreeMap::new();
        for ((class, _), part) in parts {
            by_class.entry(class).or_default().push(part);
        }
        let layers = by_class
            .into_par_iter()
            .map(|(code, paths)| {
                let class = schemas
                    .class(&code)
                    .ok_or_else(|| PipelineError::Internal(format!("class {code}")))?;
                let (name, group, kind) = class_layer(class);
                let path = dir.join(format!("{code}.parquet"));
                let rows = paths.iter().map(|(_, rows)| rows).sum();
                let mut writer =
                    riskcensus_publish::grouped::GroupedWriter::create(&path, rows, paths.len())?;
                for (part, _) in &paths {
                    let layer = riskcensus_publish::PointLayer::read(part)?;
                    writer.write_group(layer.columns, Geometries::Points(layer.points))?;
                }
                Ok(LayerFile {
                    written: writer.finish()?,
                    style: Style::new(&kind).write_beside(&path)?,
                    path,
                    name,
                    group,
                    kind,
                })
            })
            .collect::<Result<Vec<_>, PipelineError>>()?;
        std::fs::remove_dir_all(parts_dir).map_err(io_err(parts_dir))?;
        Ok(layers)
    }

    /// Rewrite a layer an earlier batch wrote, with `rows` of `frame` after its rows: the old rows
    /// are read back and put in pipeline order (`source_file`, `source_row`) first, so the file
    /// is the one a single pass over all the rows writes.
    fn write_after_earlier(
        &self,
        path: &Path,
        frame: &DataFrame,
        rows: &[IdxSize],
        points: Vec<Option<(f64, f64)>>,
    ) -> Result<Written, PipelineError> {
        let earlier = riskcensus_publish::PointLayer::read(path)?;
        let bad = |what: &str| PipelineError::Internal(format!("{}: {what}", path.display()));
        let files = earlier
            .column("source_file")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::StringArray>())
            .ok_or_else(|| bad("no source_file column"))?;
        let lines = earlier
            .column("source_row")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::Int64Array>())
            .ok_or_else(|| bad("no source_row column"))?;
        let mut keys = Vec::with_capacity(files.len());
        for i in 0..files.len() {
            let file = self
                .file_order
                .get(files.value(i))
                .ok_or_else(|| bad(&format!("unknown source file {}", files.value(i))))?;
            keys.push((*file, lines.value(i), i));
        }
        keys.sort_unstable();
        let order: Vec<usize> = keys.into_iter().map(|(_, _, i)| i).collect();
        Ok(riskcensus_publish::write_points_after(
            path, &earlier, &order, frame, rows, points,
        )?)
    }
}

fn write_all(
    ctx: &Context<'_>,
    outcomes: &mut [FileOutcome],
    facilities: Facilities<'_>,
    root: &Path,
    timings: &mut crate::Timings,
    progress: &dyn crate::Progress,
) -> Result<(), PipelineError> {
    let mut clock = std::time::Instant::now();
    let mut outputs = Outputs {
        root: root.to_path_buf(),
        written: BTreeMap::new(),
        layers: Vec::new(),
    };
    let Facilities {
        parts_dir,
        counties,
        parts,
        aggregate_rows: township_classes,
        village_counts,
        household_sums,
        schemas,
        ..
    } = facilities;
    // Facility layers by class.
    for layer in Facilities::join_parts(&parts_dir, parts, schemas, root)? {
        outputs.add(layer);
    }
    timings.lap("join the facility layers of every county", &mut clock);
    progress.start(
        "汇总并写出村、乡镇、区县 aggregating and publishing areas",
        0,
    );

    let household_estimates = match household_sums.split_first() {
        Some((first, rest)) => {
            let mut sums = first.clone();
            for part in rest {
                sums.vstack_mut(part)?;
            }
            Some(riskcensus_aggregate::household_estimates_from_sums(&sums)?)
        }
        None => None,
    };
    // Villages with their aggregates, per county; counties for the whole run.
    let name_of = |code: &str, level: Level| {
        ctx.register
            .get(
                &riskcensus_core::DivisionCode::from_prefix(code)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            )
            .filter(|d| d.level == level)
            .map(|d| d.name.as_str())
    };
    // The villages in code order, the code column flagged as sorted: the village table is built
    // on this frame as it is, without a sorted copy.
    let mut villages: Vec<&riskcensus_locate::Village> = ctx.villages.villages().iter().collect();
    villages.sort_unstable_by(|a, b| a.code.cmp(&b.code));
    fn text<'v>(name: &str, values: impl Iterator<Item = Option<&'v str>>) -> StringChunked {
        values.collect::<StringChunked>().with_name(name.into())
    }
    let mut codes = text("code", villages.iter().map(|v| Some(v.code.as_str())));
    codes.set_sorted_flag(polars::series::IsSorted::Ascending);
    let base = DataFrame::new(
        villages.len(),
        vec![
            codes.into_column(),
            text("name", villages.iter().map(|v| Some(v.name.as_str()))).into_column(),
            text(
                "township_code",
                villages.iter().map(|v| Some(v.township.as_str())),
            )
            .into_column(),
            text(
                "township_name",
                once_per_run(villages.iter().map(|v| v.township.as_str()), |code| {
                    name_of(code, Level::Township)
                }),
            )
            .into_column(),
            text(
                "county_code",
                villages.iter().map(|v| Some(v.county.as_str())),
            )
            .into_column(),
            text(
                "county_name",
                once_per_run(villages.iter().map(|v| v.county.as_str()), |code| {
                    name_of(code, Level::County)
                }),
            )
            .into_column(),
        ],
    )?;
    drop(villages);
    let village_table = by_village_counts(&base, village_counts.into_values().collect())?;
    // The base is in the table: dropped before it is published.
    drop(base);
    // Capacity indicators, score and grade across every village of the run (not summed upwards).
    let village_layer =
        capacity::with_capacity(&village_table, capacity::village_indicators(&village_table))?;
    let village_geometry = |code: &str| ctx.villages.get(code).map(|v| v.geometry.clone());
    write_area_layer(
        root,
        &mut outputs,
        &counties,
        &village_layer,
        "code",
        &village_geometry,
        "villages",
        "村（社区）减灾能力",
    )?;
    // What is written is dropped as soon as it is (the rest of the run reuses its memory).
    drop(village_layer);
    timings.lap("aggregate and publish villages", &mut clock);
    // Townships dissolved from their villages, with their villages' sums and their own returns.
    let township_table =
        riskcensus_aggregate::by_township(&village_table, &class_rows(&township_classes))?;
    let township_table = capacity::with_capacity(
        &township_table,
        capacity::township_indicators(&township_table),
    )?;
    let outlines = ctx.villages.township_outlines();
    let township_geometry = |code: &str| outlines.get(code).cloned();
    write_area_layer(
        root,
        &mut outputs,
        &counties,
        &township_table,
        "township_code",
        &township_geometry,
        "townships",
        "乡镇（街道）减灾能力",
    )?;
    timings.lap("aggregate and publish townships", &mut clock);
    let mut county_table = by_county(&village_table, &class_rows(&township_classes))?;
    if let Some(estimates) = household_estimates {
        county_table = county_table
            .lazy()
            .join(
                estimates.lazy(),
                [col("county_code")],
                [col("county_code")],
                JoinArgs::new(JoinType::Left),
            )
            .collect()?;
    }
    let names = Column::new(
        "name".into(),
        county_table
            .column("county_code")?
            .str()?
            .iter()
            .map(|c| c.and_then(|c| ctx.counties.get(c)).map(|(n, _)| n.clone()))
            .collect::<Vec<_>>(),
    );
    let mut county_table = county_table;
    county_table.insert_column(1, names)?;
    let hazard = ctx
        .pipeline
        .hazard
        .as_ref()
        .map(|h| h.counties.clone())
        .unwrap_or_default();
    let county_table = capacity::county_risk(&county_table, &hazard, &township_table)?;
    let geoms = county_table
        .column("county_code")?
        .str()?
        .iter()
        .map(|c| {
            c.and_then(|c| ctx.counties.get(c))
                .map(|(_, g)| g.clone())
                .unwrap_or_else(|| geo_types::MultiPolygon(vec![]))
        })
        .collect();
    let path = root.join("counties.parquet");
    let w = write_geoparquet(&path, &county_table, Geometries::Polygons(geoms))?;
    drop((
        county_table,
        township_table,
        village_table,
        township_classes,
    ));
    outputs.layer(
        &path,
        w,
        "区县 counties".into(),
        "行政区",
        qgis::LayerKind::Counties,
    )?;

    timings.lap("aggregate and publish counties", &mut clock);
    progress.finish();
    progress.start(
        "写出问题清单、退回行与清单 findings, rejected rows, manifest",
        0,
    );
    // Findings: mappable layer, JSON report and an Excel-friendly CSV, written while the QGIS
    // project over every layer is (the project is listed before: it names the findings layer).
    let findings: Vec<_> = ctx
        .geometry_findings
        .iter()
        .cloned()
        .chain(outcomes.iter().flat_map(|o| o.findings.iter().cloned()))
        .collect();
    let findings_layer = root.join("findings.parquet");
    let findings_json = root.join("findings.json");
    let findings_csv = root.join("findings.csv");
    let project_path = root.join(format!("{}.qgs", ctx.pipeline.name));
    outputs.list(
        &findings_layer,
        "质量问题 findings".into(),
        "质量问题",
        qgis::LayerKind::Findings,
    );
    let layers = std::mem::take(&mut outputs.layers);
    let write_layer = || -> Result<(Written, Written), PipelineError> {
        let (frame, points) = findings_frame(&findings)?;
        let w = riskcensus_publish::write_geoparquet_as_is(&findings_layer, &frame, points)?;
        Ok((w, write_style(&findings_layer, &qgis::LayerKind::Findings)?))
    };
    // The JSON report (docs/formats.md), every finding listed.
    let write_json = || {
        let files: Vec<_> = outcomes.iter().map(|o| o.report.clone()).collect();
        let bytes = riskcensus_report::render(
            &riskcensus_report::Report {
                files: &files,
                findings: &findings,
            },
            riskcensus_report::Format::Json,
            &riskcensus_report::Options::default(),
        );
        write_file(&findings_json, &bytes, findings.len())
    };
    let changes_csv = root.join("changes.csv");
    let write_csv = || -> Result<(Written, Written), PipelineError> {
        let bytes = riskcensus_report::findings_csv(&findings);
        let findings_written = write_file(&findings_csv, &bytes, findings.len())?;
        let changes: Vec<_> = outcomes
            .iter()
            .flat_map(|o| o.changes.iter().cloned())
            .collect();
        let bytes = riskcensus_report::changes_csv(&changes);
        Ok((
            findings_written,
            write_file(&changes_csv, &bytes, changes.len())?,
        ))
    };
    let write_project = || {
        write_streamed(&project_path, 0, |out| {
            let extent = county_packages::extent(ctx.counties.values().map(|(_, g)| g));
            qgis::write_project(out, &ctx.pipeline.name, &layers, extent)
        })
    };
    let ((layer, json), (csv, project)) = rayon::join(
        || rayon::join(write_layer, write_json),
        || rayon::join(write_csv, write_project),
    );
    let (layer, style) = layer?;
    outputs.record(&findings_layer, layer);
    outputs.record(&findings_layer.with_extension("qml"), style);
    outputs.record(&findings_json, json?);
    let (findings_written, changes_written) = csv?;
    outputs.record(&findings_csv, findings_written);
    outputs.record(&changes_csv, changes_written);
    outputs.record(&project_path, project?);
    timings.lap("publish findings and the QGIS project", &mut clock);
    // A GeoPackage per county, read back from the layers just written.
    use crate::config::GpkgOutput;
    let (counties, date) = (&ctx.counties, &ctx.pipeline.reference_date);
    if ctx.pipeline.gpkg != GpkgOutput::None {
        for (path, w) in county_packages::write_county_packages(root, &layers, counties, date)? {
            outputs.record(&path, w);
        }
    }
    if ctx.pipeline.gpkg == GpkgOutput::All {
        let name = &ctx.pipeline.name;
        for (path, w) in county_packages::write_run_package(root, &layers, counties, name, date)? {
            outputs.record(&path, w);
        }
    }
    drop(layers);
    timings.lap("write county GeoPackages", &mut clock);
    // Rejected rows, one CSV per input file (header only when nothing was rejected).
    let rejected_dir = root.join("rejected");
    std::fs::create_dir_all(&rejected_dir).map_err(io_err(&rejected_dir))?;
    let files: Vec<&str> = outcomes.iter().map(|o| o.report.file.as_str()).collect();
    let names = rejected_names(&files);
    let written: Vec<(PathBuf, Written)> = outcomes
        .par_iter()
        .zip(names)
        .map(|(o, name)| {
            let path = rejected_dir.join(name);
            write_rejected(&path, o).map(|w| (path, w))
        })
        .collect::<Result<_, _>>()?;
    for (path, w) in written {
        outputs.record(&path, w);
    }

    timings.lap("write rejected rows", &mut clock);
    let manifest = json!({
        "tool": {"name": "riskcensus", "version": env!("CARGO_PKG_VERSION")},
        "pipeline": {"name": ctx.pipeline.name, "reference_date": ctx.pipeline.reference_date},
        "crs": "EPSG:4490",
        "indicators": {
            "method": riskcensus_aggregate::capacity::METHOD_VERSION,
            "hazard": ctx.pipeline.hazard.as_ref().map(|h| json!({"name": h.name, "source": h.source, "unit": h.unit})),
        },
        "register": {
            "path": ctx.pipeline.display_path(&ctx.pipeline.register.path),
            "edition": ctx.pipeline.register.edition,
            "sha256": ctx.register_sha256,
            "divisions": ctx.register.len(),
        },
        "schemas": {
            "taxonomy_version": ctx.schemas.taxonomy.version,
            "classes": ctx.schemas.classes.iter().map(|(k, c)| (k.clone(), json!(c.version))).collect::<serde_json::Map<_, _>>(),
        },
        "inputs": outcomes.iter().map(|o| &o.report).collect::<Vec<_>>(),
        "totals": {
            "rows_read": outcomes.iter().map(|o| o.report.rows_read).sum::<usize>(),
            "accepted": outcomes.iter().map(|o| o.report.accepted).sum::<usize>(),
            "rejected": outcomes.iter().map(|o| o.report.rejected).sum::<usize>(),
            "findings": findings.len(),
        },
        "outputs": outputs.written.iter().map(|(k, w)| json!({"path": k, "rows": w.rows, "sha256": w.sha256})).collect::<Vec<_>>(),
    });
    let path = root.join("manifest.json");
    let file = std::fs::File::create(&path).map_err(io_err(&path))?;
    let mut out = std::io::BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, &manifest)
        .map_err(|e| io_err(&path)(std::io::Error::from(e)))?;
    std::io::Write::write_all(&mut out, b"\n").map_err(io_err(&path))?;
    std::io::Write::flush(&mut out).map_err(io_err(&path))?;
    timings.lap("write manifest", &mut clock);
    progress.finish();
    Ok(())
}

/// `lookup` of each of `codes`, called once per run of equal codes: the villages in code order
/// share their township and county with their neighbours. (A register lookup for each village's
/// township and county was ≈ 0.12 s of the 0.4 s that the national village table's first
/// columns took, on one thread.)
fn once_per_run<'v>(
    codes: impl Iterator<Item = &'v str>,
    lookup: impl Fn(&str) -> Option<&'v str>,
) -> impl Iterator<Item = Option<&'v str>> {
    let mut last: Option<(&str, Option<&str>)> = None;
    codes.map(move |code| match last {
        Some((previous, name)) if previous == code => name,
        _ => {
            let name = lookup(code);
            last = Some((code, name));
            name
        }
    })
}

/// File names under `rejected/`: the input's stem (`HB-PSF-01_学校.csv`), or, where two inputs
/// share a stem (one file per province: `returns/62/HB-PSF-01.csv`), its path with `_` for `/`.
/// Names never collide (compared case-blind, as Windows and macOS compare them): a name already
/// taken (`X.csv` beside `X.xlsx`, one file listed twice) gets the input's extension, then a
/// number (`X.xlsx.csv`, `X-2.csv`).
fn rejected_names(files: &[&str]) -> Vec<String> {
    let stem = |file: &str| {
        Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "return".into())
    };
    let flat = |path: &Path| {
        path.components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_string_lossy().to_string()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("_")
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for file in files {
        *seen.entry(stem(file)).or_default() += 1;
    }
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    files
        .iter()
        .map(|file| {
            let stem = stem(file);
            let path = Path::new(file);
            let base = if seen[&stem] == 1 {
                stem
            } else {
                flat(&path.with_extension(""))
            };
            let candidates = [base.clone(), flat(path)]
                .into_iter()
                .chain((2..).map(|n| format!("{base}-{n}")));
            let mut chosen = String::new();
            for candidate in candidates {
                let name = format!("{candidate}.csv");
                if taken.insert(name.to_lowercase()) {
                    chosen = name;
                    break;
                }
            }
            chosen
        })
        .collect()
}

/// The aggregates' view of the kept rows of some classes.
fn class_rows(classes: &BTreeMap<String, (DataFrame, Vec<String>)>) -> Vec<ClassRows<'_>> {
    classes
        .iter()
        .map(|(code, (frame, totals))| ClassRows {
            code,
            frame,
            totals,
        })
        .collect()
}

/// Write an area layer (`<file>.parquet` and its style) from an area table whose `key` column
/// names each row's geometry: counties in code order, each its own row groups.
#[allow(clippy::too_many_arguments)]
fn write_area_layer(
    root: &Path,
    outputs: &mut Outputs,
    counties: &[&String],
    table: &DataFrame,
    key: &str,
    geometry: &(dyn Fn(&str) -> Option<geo_types::MultiPolygon<f64>> + Sync),
    file: &str,
    title: &str,
) -> Result<(), PipelineError> {
    let kind = qgis::LayerKind::Capacity;
    let keys = table.column(key)?.str()?;
    let path = root.join(format!("{file}.parquet"));
    let groups = split_by_county(table, counties)?;
    let mut writer =
        riskcensus_publish::grouped::GroupedWriter::create(&path, table.height(), groups.len())?;
    if groups.is_empty() {
        writer.write_frame(table, &[], Geometries::Polygons(Vec::new()))?;
    }
    for (_, rows) in groups {
        let geoms = rows
            .iter()
            .map(|&i| {
                keys.get(i as usize)
                    .and_then(geometry)
                    .unwrap_or_else(|| geo_types::MultiPolygon(vec![]))
            })
            .collect();
        writer.write_frame(table, &rows, Geometries::Polygons(geoms))?;
    }
    let written = writer.finish()?;
    outputs.add(LayerFile {
        style: Style::new(&kind).write_beside(&path)?,
        path,
        written,
        name: title.to_string(),
        group: "减灾能力",
        kind,
    });
    Ok(())
}

/// The rows of `frame` per county (column `county_code`), in the order of `counties`; counties
/// without rows are left out. One pass over the rows.
fn split_by_county<'c>(
    frame: &DataFrame,
    counties: &[&'c String],
) -> Result<Vec<(&'c String, Vec<IdxSize>)>, PipelineError> {
    // Hashed, not ordered: the order comes from `counties` (a BTreeMap here took 0.42 s of a
    // national run, on one thread).
    let mut rows: foldhash::HashMap<&str, Vec<IdxSize>> = foldhash::HashMap::default();
    for (i, c) in frame.column("county_code")?.str()?.iter().enumerate() {
        if let Some(c) = c {
            rows.entry(c).or_default().push(i as IdxSize);
        }
    }
    Ok(counties
        .iter()
        .filter_map(|county| rows.remove(county.as_str()).map(|idx| (*county, idx)))
        .collect())
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn write_rejected(path: &Path, o: &FileOutcome) -> Result<Written, PipelineError> {
    let bytes = rejected_csv(o).map_err(|message| {
        PipelineError::Output(PublishError::Parquet {
            path: path.display().to_string(),
            message,
        })
    })?;
    std::fs::write(path, &bytes).map_err(io_err(path))?;
    Ok(Written {
        rows: o.rejected.height(),
        sha256: sha256(&bytes),
    })
}

/// A file's rejected rows as `rejected/` holds them: the original columns, then the row and the
/// reasons (CSV, UTF-8 with BOM).
pub(crate) fn rejected_csv(o: &FileOutcome) -> Result<Vec<u8>, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(&o.rejected_headers).map_err(|e| err(&e))?;
    let columns: Vec<&StringChunked> = o
        .rejected
        .columns()
        .iter()
        .filter(|c| {
            c.name().as_str() != riskcensus_core::table::LINE_COLUMN
                && c.name().as_str() != "__reasons"
        })
        .map(|c| c.str())
        .collect::<PolarsResult<_>>()
        .map_err(|e| err(&e))?;
    let lines = o
        .rejected
        .column(riskcensus_core::table::LINE_COLUMN)
        .and_then(|c| c.u64())
        .map_err(|e| err(&e))?;
    let reasons = o
        .rejected
        .column("__reasons")
        .and_then(|c| c.str())
        .map_err(|e| err(&e))?;
    for i in 0..o.rejected.height() {
        let mut record: Vec<String> = columns
            .iter()
            .map(|c| riskcensus_report::excel_safe(c.get(i).unwrap_or("")).into_owned())
            .collect();
        record.push(lines.get(i).map(|l| l.to_string()).unwrap_or_default());
        record.push(reasons.get(i).unwrap_or("").to_string());
        w.write_record(&record).map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_file_names_never_collide() {
        let names = rejected_names(&[
            "returns/X.csv",
            "returns/X.xlsx",
            "returns/X.csv",
            "a/b_c/d.csv",
            "a_b/c/d.csv",
            "returns/y.csv",
            "returns/Y.CSV",
            "HB-PSF-01_学校.csv",
        ]);
        assert_eq!(
            names,
            [
                "returns_X.csv",
                "returns_X.xlsx.csv",
                "returns_X.csv.csv",
                "a_b_c_d.csv",
                "a_b_c_d.csv.csv",
                "y.csv",
                "returns_Y.CSV.csv",
                "HB-PSF-01_学校.csv",
            ]
        );
        // Still distinct when even the extension is taken: a number follows.
        let names = rejected_names(&["X.csv", "X.csv", "X.csv"]);
        assert_eq!(names, ["X.csv", "X.csv.csv", "X-2.csv"]);
    }

    #[test]
    fn once_per_run_looks_each_run_of_codes_up_once() {
        let looked_up = std::cell::RefCell::new(Vec::new());
        let names: Vec<Option<&str>> = once_per_run(
            ["620402", "620402", "620403", "620403", "620402", "x"].into_iter(),
            |code| {
                looked_up.borrow_mut().push(code.to_string());
                match code {
                    "620402" => Some("平川区"),
                    "620403" => Some("靖远县"),
                    _ => None,
                }
            },
        )
        .collect();
        assert_eq!(
            names,
            [
                Some("平川区"),
                Some("平川区"),
                Some("靖远县"),
                Some("靖远县"),
                Some("平川区"),
                None
            ]
        );
        assert_eq!(*looked_up.borrow(), ["620402", "620403", "620402", "x"]);
    }
}

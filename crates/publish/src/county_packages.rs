//! The packages of a database: `counties/<code>_<name>.gpkg`, one per county, each with the
//! county's facility layers, villages, townships, its outline and the findings inside it, styled
//! for QGIS ([`crate::package`]), each with its QGIS project; and on request one package of the
//! whole run. Written from the GeoParquet layers of the run once they are written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use geo_types::MultiPolygon;
use rayon::prelude::*;

use crate::package::{
    read_layer, write_from_template, write_package, CountyLayer, LayerData, PackageLayer, Source,
    Templates,
};
use crate::qgis::{self, ProjectLayer};
use crate::{PublishError, Written};

/// County outlines by 6-digit code, with names.
pub type Counties = BTreeMap<String, (String, MultiPolygon<f64>)>;

fn io_error(path: &Path, source: std::io::Error) -> PublishError {
    PublishError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The extent of polygons, for a project to open on.
pub fn extent<'a>(
    polygons: impl IntoIterator<Item = &'a geo_types::MultiPolygon<f64>>,
) -> Option<qgis::Extent> {
    use geo::BoundingRect;
    polygons
        .into_iter()
        .filter_map(|p| p.bounding_rect())
        .map(|r| qgis::Extent {
            min_x: r.min().x,
            min_y: r.min().y,
            max_x: r.max().x,
            max_y: r.max().y,
        })
        .reduce(|a, b| qgis::Extent {
            min_x: a.min_x.min(b.min_x),
            min_y: a.min_y.min(b.min_y),
            max_x: a.max_x.max(b.max_x),
            max_y: a.max_y.max(b.max_y),
        })
}

/// The run's layers that are not split by county into the packages (each package holds the
/// county's row of the one and the findings inside it of the other).
const RUN_WIDE: [&str; 2] = ["counties.parquet", "findings.parquet"];

/// One layer of a county package, before it is written.
struct Planned<'a> {
    source: Source<'a>,
    table: String,
    name: String,
    group: &'static str,
    kind: qgis::LayerKind,
    county_code: bool,
    within: bool,
}

/// The layers of one county's package: its rows of the run's layers, then the county outline
/// and findings.
fn plan<'a>(
    code: &'a str,
    own: &[&'a (CountyLayer, &'a ProjectLayer)],
    counties: &'a LayerData,
    findings: &'a LayerData,
) -> Vec<Planned<'a>> {
    let mut planned: Vec<Planned<'a>> = own
        .iter()
        .map(|(layer, l)| {
            let table = Path::new(&l.path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| l.name.clone());
            Planned {
                source: Source::County(layer, code),
                table,
                name: l.name.clone(),
                group: l.group,
                kind: l.kind.clone(),
                county_code: false,
                within: false,
            }
        })
        .collect();
    planned.push(Planned {
        source: Source::Read(counties),
        table: "county".into(),
        name: "区县".into(),
        group: "行政区",
        kind: qgis::LayerKind::Counties,
        county_code: true,
        within: false,
    });
    planned.push(Planned {
        source: Source::Read(findings),
        table: "findings".into(),
        name: "质量问题".into(),
        group: "质量问题",
        kind: qgis::LayerKind::Findings,
        county_code: false,
        within: true,
    });
    planned
}

/// The package and project of each county that has a layer of the database at `root` (whose
/// `layers` the run's project lists): their paths and what was written. `reference_date`
/// (`YYYY-MM-DD`) is every layer's last change.
pub fn write_county_packages(
    root: &Path,
    layers: &[ProjectLayer],
    counties: &Counties,
    reference_date: &str,
) -> Result<Vec<(PathBuf, Written)>, PublishError> {
    let dir = root.join("counties");
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
    // The layers with rows per county (facilities by class, villages, townships), in project
    // order, each indexed by county once; then each county's of them.
    let indexed: Vec<(CountyLayer, &ProjectLayer)> = (layers.iter())
        .filter(|l| !RUN_WIDE.contains(&l.path.as_str()))
        .map(|l| {
            let path = root.join(&l.path);
            CountyLayer::open(&path)
                .map(|layer| (layer, l))
                .map_err(|message| io_error(&path, std::io::Error::other(message)))
        })
        .collect::<Result<_, _>>()?;
    let by_county: BTreeMap<&str, Vec<&(CountyLayer, &ProjectLayer)>> = (counties.keys())
        .map(|code| {
            let own = indexed.iter().filter(|(l, _)| l.holds(code)).collect();
            (code.as_str(), own)
        })
        .filter(|(_, own): &(_, Vec<_>)| !own.is_empty())
        .collect();
    let last_change = format!("{reference_date}T00:00:00.000Z");
    // The run-wide layers, read once and filtered into each package.
    let read = |name: &str| {
        let path = root.join(name);
        read_layer(&path).map_err(|message| io_error(&path, std::io::Error::other(message)))
    };
    let (county_rows, findings) = (read("counties.parquet")?, read("findings.parquet")?);
    let shared = Shared {
        dir: &dir,
        counties,
        county_rows: &county_rows,
        findings: &findings,
    };
    // Counties with the same layers are written together from one set of templates, dropped
    // once they are written: kept for the whole run, the templates of a national census's 680
    // layer sets took 2 GB.
    let mut groups: BTreeMap<LayerSet<'_>, Vec<(&str, Own<'_>)>> = BTreeMap::new();
    for (code, own) in by_county {
        let layers = own.iter().map(|(_, l)| l.path.as_str()).collect();
        let outlined = counties.contains_key(code);
        groups
            .entry((layers, outlined))
            .or_default()
            .push((code, own));
    }
    let written: Vec<Vec<(PathBuf, Written)>> = groups
        .into_par_iter()
        .map(|(_, members)| {
            let templates = Templates::new(&last_change);
            let written: Vec<Vec<(PathBuf, Written)>> = (members.into_iter())
                .map(|(code, own)| write_county(&shared, code, &own, &templates))
                .collect::<Result<_, PublishError>>()?;
            Ok(written.into_iter().flatten().collect())
        })
        .collect::<Result<_, PublishError>>()?;
    // In county order (file names start with the code), as the manifest lists them.
    let mut written: Vec<(PathBuf, Written)> = written.into_iter().flatten().collect();
    written.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(written)
}

/// A county's layers of the run's layers.
type Own<'a> = Vec<&'a (CountyLayer, &'a ProjectLayer)>;

/// What makes counties' packages hold the same tables: their layers' paths, and whether the
/// county has an outline (and so a findings layer).
type LayerSet<'a> = (Vec<&'a str>, bool);

/// What every county package is written from.
struct Shared<'a> {
    dir: &'a Path,
    counties: &'a Counties,
    county_rows: &'a LayerData,
    findings: &'a LayerData,
}

/// One county's package and project: their paths and what was written.
fn write_county(
    shared: &Shared<'_>,
    code: &str,
    own: &Own<'_>,
    templates: &Templates,
) -> Result<Vec<(PathBuf, Written)>, PublishError> {
    let (name, outline) = (shared.counties.get(code))
        .map(|(n, g)| (n.as_str(), Some(g)))
        .unwrap_or(("", None));
    let safe: String = name
        .chars()
        .filter(|c| !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .collect();
    let file = format!("{code}_{safe}.gpkg");
    let path = shared.dir.join(&file);
    let planned = plan(code, own, shared.county_rows, shared.findings);
    let styles: Vec<String> = planned.iter().map(|p| qgis::qml(&p.kind)).collect();
    let package: Vec<PackageLayer<'_>> = planned
        .iter()
        .zip(&styles)
        // Findings are those located in the county; without its outline, none.
        .filter(|(p, _)| !p.within || outline.is_some())
        .map(|(p, style)| PackageLayer {
            source: p.source,
            table: &p.table,
            description: &p.name,
            qml: Some(style),
            county_code: p.county_code.then_some(code),
            within: if p.within { outline } else { None },
        })
        .collect();
    let results = write_from_template(&path, &package, templates)
        .map_err(|message| io_error(&path, std::io::Error::other(message)))?;
    let rows = results.iter().map(|r| r.rows).sum();
    let project_layers: Vec<ProjectLayer> = planned
        .into_iter()
        .filter(|p| !p.within || outline.is_some())
        .zip(&results)
        .map(|(p, r)| ProjectLayer {
            path: format!("{file}|layername={}", p.table),
            name: p.name,
            group: p.group,
            kind: if r.drawn {
                p.kind
            } else {
                qgis::LayerKind::Table
            },
        })
        .collect();
    let project = path.with_extension("qgs");
    let title = format!("{code} {name}");
    finish(
        path,
        rows,
        project,
        &title,
        &project_layers,
        extent(outline),
    )
}

/// The run-wide package `<name>.gpkg` (`--gpkg all`): one layer per class with every county's
/// rows, villages, townships, counties and every finding; and its project `<name>_gpkg.qgs`.
pub fn write_run_package(
    root: &Path,
    layers: &[ProjectLayer],
    counties: &Counties,
    name: &str,
    reference_date: &str,
) -> Result<Vec<(PathBuf, Written)>, PublishError> {
    // Every layer of the run, under its file's name.
    let tables: Vec<(String, &ProjectLayer, PathBuf)> = (layers.iter())
        .map(|l| {
            let path = root.join(&l.path);
            let table = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| l.name.clone());
            (table, l, path)
        })
        .collect();
    let file = format!("{name}.gpkg");
    let path = root.join(&file);
    let last_change = format!("{reference_date}T00:00:00.000Z");
    let names: Vec<String> = tables.iter().map(|(_, l, _)| l.name.clone()).collect();
    let styles: Vec<String> = tables.iter().map(|(_, l, _)| qgis::qml(&l.kind)).collect();
    let package: Vec<PackageLayer<'_>> = (tables.iter().zip(&names).zip(&styles))
        .map(|(((table, _, path), name), style)| PackageLayer {
            source: Source::Parquet(path),
            table,
            description: name,
            qml: Some(style),
            county_code: None,
            within: None,
        })
        .collect();
    let results = write_package(&path, &package, &last_change)
        .map_err(|message| io_error(&path, std::io::Error::other(message)))?;
    let project_layers: Vec<ProjectLayer> = (tables.iter().zip(names).zip(&results))
        .map(|(((table, l, _), name), r)| ProjectLayer {
            path: format!("{file}|layername={table}"),
            name,
            group: l.group,
            kind: if r.drawn {
                l.kind.clone()
            } else {
                qgis::LayerKind::Table
            },
        })
        .collect();
    let project = root.join(format!("{name}_gpkg.qgs"));
    let rows = results.iter().map(|r| r.rows).sum();
    let extent = extent(counties.values().map(|(_, g)| g));
    finish(path, rows, project, name, &project_layers, extent)
}

/// Write a package's project beside it; both files with what was written of them.
fn finish(
    package: PathBuf,
    rows: usize,
    project: PathBuf,
    title: &str,
    layers: &[ProjectLayer],
    extent: Option<qgis::Extent>,
) -> Result<Vec<(PathBuf, Written)>, PublishError> {
    let mut bytes = Vec::new();
    qgis::write_project(&mut bytes, title, layers, extent).map_err(|e| io_error(&project, e))?;
    std::fs::write(&project, &bytes).map_err(|e| io_error(&project, e))?;
    let project_written = Written {
        rows: layers.len(),
        sha256: sha256(&bytes),
    };
    let package_bytes = std::fs::read(&package).map_err(|e| io_error(&package, e))?;
    let package_written = Written {
        rows,
        sha256: sha256(&package_bytes),
    };
    Ok(vec![(package, package_written), (project, project_written)])
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

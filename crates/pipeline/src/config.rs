//! The pipeline file (`pipelines/*.toml`): what to read, with which schemas, where to write.
//! Paths are relative to the pipeline file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use riskcensus_core::{Rule, Severity};

use crate::error::PipelineError;

/// The division register input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterConf {
    /// The register CSV.
    pub path: PathBuf,
    /// Its edition, e.g. `NBS 统计用区划代码 2023`: recorded in the manifest.
    pub edition: String,
}

/// The polygon inputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometryConf {
    /// Village/community polygons (field `code` = 12-digit division code, `name`).
    pub villages: LayerConf,
    /// County polygons (fields `adcode`, `name`; a `level` field other than `county` skips the
    /// feature).
    pub counties: LayerConf,
    /// CRS of every layer that does not declare its own (default: what the file states, else
    /// EPSG:4490).
    #[serde(default)]
    pub crs: Option<String>,
}

/// One polygon layer: `villages = "path"`, or a table `[geometry.villages]` with `path` and how
/// to read it. The format follows from the file (GeoJSON, Shapefile, GeoPackage, GeoParquet).
#[derive(Debug, Clone, Default)]
pub struct LayerConf {
    /// The file.
    pub path: PathBuf,
    /// Its CRS (default: `[geometry] crs`).
    pub crs: Option<String>,
    /// The GeoPackage layer (default: the only one).
    pub layer: Option<String>,
    /// The field with the division code (default `code` for villages, `adcode` for counties).
    pub code_field: Option<String>,
    /// The field with the name (default `name`).
    pub name_field: Option<String>,
}

/// The table form of [`LayerConf`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerTable {
    path: PathBuf,
    #[serde(default)]
    crs: Option<String>,
    #[serde(default)]
    layer: Option<String>,
    #[serde(default)]
    code_field: Option<String>,
    #[serde(default)]
    name_field: Option<String>,
}

impl<'de> Deserialize<'de> for LayerConf {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = LayerConf;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path, or a table with `path` (and `crs`, `layer`, `code_field`, `name_field`)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LayerConf, E> {
                Ok(LayerConf {
                    path: v.into(),
                    ..LayerConf::default()
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<LayerConf, A::Error> {
                let t = LayerTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(LayerConf {
                    path: t.path,
                    crs: t.crs,
                    layer: t.layer,
                    code_field: t.code_field,
                    name_field: t.name_field,
                })
            }
        }
        deserializer.deserialize_any(Either)
    }
}

/// A hazard value per county (docs/indicators.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HazardConf {
    /// What it is, e.g. `地震动峰值加速度 (design PGA)`.
    pub name: String,
    /// Where it comes from.
    pub source: String,
    /// Unit, e.g. `g`.
    pub unit: String,
    /// 6-digit county code → value.
    pub counties: BTreeMap<String, f64>,
}

/// One return file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnConf {
    /// Class code, e.g. `HB-PSF-01`.
    pub class: String,
    /// The CSV file.
    pub path: PathBuf,
    /// `auto` (default), `utf-8` or `gbk`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// CRS of its coordinates (default EPSG:4490).
    #[serde(default)]
    pub crs: Option<String>,
    /// For a workbook: the sheet (default: the one named after the class, else the first); for
    /// a GeoPackage: the layer (`layer = "…"`; default: the class's census table, else the only
    /// feature layer).
    #[serde(default, alias = "layer")]
    pub sheet: Option<String>,
}

impl ReturnConf {
    /// The encoding to read it in: the one named (checked when the pipeline is prepared), else
    /// detected.
    pub fn read_encoding(&self) -> riskcensus_ingest::Encoding {
        (self.encoding.as_deref())
            .and_then(riskcensus_ingest::Encoding::parse)
            .unwrap_or_default()
    }
}

/// A pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Name of the run.
    pub name: String,
    /// The census reference date (2020-12-31).
    pub reference_date: String,
    /// Output directory.
    pub output: PathBuf,
    /// Schema directory.
    pub schemas: PathBuf,
    /// The division register.
    pub register: RegisterConf,
    /// Polygons.
    pub geometry: GeometryConf,
    /// Returns.
    pub returns: Vec<ReturnConf>,
    /// The hazard input (e.g. seismic design PGA per county) for the county risk grade.
    #[serde(default)]
    pub hazard: Option<HazardConf>,
    /// The villages of the household survey sample (12-digit codes), for `xt.not_sampled`.
    #[serde(default)]
    pub sampled_villages: Option<Vec<String>>,
    /// Per-rule severity overrides: `"geo.other_village" = "error"`, `"cell.length" = "off"`.
    #[serde(default)]
    pub rules: BTreeMap<String, String>,
    /// Returns are checked in batches of about this many MiB of input (default 96): the memory
    /// of a run grows with the batch, not with the whole census. Results do not depend on it.
    #[serde(default)]
    pub batch_mib: Option<u64>,
    /// A large CSV return is read and validated in chunks of about this many MiB (default 32), in
    /// parallel. Results do not depend on it.
    #[serde(default)]
    pub chunk_mib: Option<f64>,
    /// Which GeoPackages a run writes: `counties` (default, `counties/<code>_<name>.gpkg` with a
    /// project each), `all` (those and `<name>.gpkg` of the whole run) or `none` (GeoParquet only: a national run saves most of a minute per
    /// 1,000 counties).
    #[serde(default)]
    pub gpkg: GpkgOutput,
    /// Where the pipeline file is (paths below are resolved against it).
    #[serde(skip)]
    pub base: PathBuf,
    /// The pipeline file.
    #[serde(skip)]
    pub file: PathBuf,
}

/// The GeoPackages of a run (`gpkg` in the pipeline, `--gpkg` on the command line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpkgOutput {
    /// One package (and project) per county.
    #[default]
    Counties,
    /// None: GeoParquet, findings and the run's project only.
    None,
    /// The county packages and one of the whole run (`<name>.gpkg`, a layer per class).
    All,
}

impl Pipeline {
    /// Read a pipeline file and resolve its paths; every input must exist.
    pub fn load(path: &Path) -> Result<Self, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError::Config {
            message: format!("cannot read pipeline file {}: {e}", path.display()),
        })?;
        let mut p: Pipeline = toml::from_str(&text).map_err(|e| PipelineError::Config {
            message: format!(
                "pipeline file {}: {}",
                path.display(),
                e.to_string().trim_end()
            ),
        })?;
        p.file = path.to_path_buf();
        p.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = p.base.clone();
        let resolve = |rel: &mut PathBuf| *rel = base.join(&*rel);
        resolve(&mut p.output);
        resolve(&mut p.schemas);
        resolve(&mut p.register.path);
        resolve(&mut p.geometry.villages.path);
        resolve(&mut p.geometry.counties.path);
        for r in &mut p.returns {
            resolve(&mut r.path);
        }
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<(), PipelineError> {
        let missing = |what: &str, path: &Path| -> Result<(), PipelineError> {
            if path.exists() {
                Ok(())
            } else {
                Err(PipelineError::Config {
                    message: format!(
                        "{}: {what} {} does not exist",
                        self.file.display(),
                        path.display()
                    ),
                })
            }
        };
        // An input file that is a folder is named here, not found unreadable midway.
        let file = |what: &str, path: &Path| -> Result<(), PipelineError> {
            missing(what, path)?;
            if path.is_dir() {
                return Err(PipelineError::Config {
                    message: format!(
                        "{}: {what} {} is a folder, not a file",
                        self.file.display(),
                        path.display()
                    ),
                });
            }
            Ok(())
        };
        missing("schema directory", &self.schemas)?;
        file("register", &self.register.path)?;
        file("village polygons", &self.geometry.villages.path)?;
        file("county polygons", &self.geometry.counties.path)?;
        for r in &self.returns {
            file(&format!("{} return", r.class), &r.path)?;
        }
        // A real calendar day (`2021-02-30` is none): the date checks measure from it.
        let date_ok = self.reference_date.len() == 10
            && chrono::NaiveDate::parse_from_str(&self.reference_date, "%Y-%m-%d").is_ok();
        if !date_ok {
            return Err(PipelineError::Config {
                message: format!(
                    "{}: reference_date `{}` is not a date of the form YYYY-MM-DD",
                    self.file.display(),
                    self.reference_date
                ),
            });
        }
        if let Some(hazard) = &self.hazard {
            if let Some((county, value)) = hazard
                .counties
                .iter()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(PipelineError::Config {
                    message: format!(
                        "{}: [hazard] {county} = {value}: a hazard value must be a finite number ≥ 0",
                        self.file.display()
                    ),
                });
            }
        }
        for (code, level) in &self.rules {
            if Rule::from_code(code).is_none() {
                return Err(PipelineError::Config {
                    message: format!(
                        "{}: [rules] names unknown rule `{code}` (see docs/rules.md)",
                        self.file.display()
                    ),
                });
            }
            if !matches!(level.as_str(), "error" | "warning" | "info" | "off") {
                return Err(PipelineError::Config {
                    message: format!(
                        "{}: [rules] {code} = \"{level}\": use error, warning, info or off",
                        self.file.display()
                    ),
                });
            }
        }
        if self.returns.is_empty() {
            return Err(PipelineError::Config {
                message: format!("{}: no [[returns]]", self.file.display()),
            });
        }
        Ok(())
    }

    /// The same pipeline (register, polygons, schemas, rules) over other return files, e.g. the
    /// uploads a technician validates. The class of each file is `class`, else the class of the
    /// pipeline's return with the same file name, else a class code the file name starts with.
    pub fn with_files(
        &self,
        files: &[PathBuf],
        class: Option<&str>,
    ) -> Result<Pipeline, PipelineError> {
        let named: Vec<(PathBuf, String, Option<String>)> = files
            .iter()
            .map(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().to_string());
                (
                    path.clone(),
                    name.unwrap_or_default(),
                    class.map(str::to_string),
                )
            })
            .collect();
        self.with_named_files(&named, &std::env::current_dir().unwrap_or_default())
    }

    /// [`Pipeline::with_files`] for files stored under other names than the ones that tell their
    /// class (uploads kept under generated names): `(path, name as sent, class if known)`.
    /// Paths are shown relative to `base`.
    pub fn with_named_files(
        &self,
        files: &[(PathBuf, String, Option<String>)],
        base: &Path,
    ) -> Result<Pipeline, PipelineError> {
        let mut p = self.clone();
        p.returns = files
            .iter()
            .map(|(path, name, class)| self.return_for(path, name, class.as_deref()))
            .collect::<Result<_, _>>()?;
        p.base = base.to_path_buf();
        Ok(p)
    }

    /// The return entry of file `path` sent as `name` (see [`Pipeline::with_files`]).
    fn return_for(
        &self,
        path: &Path,
        name: &str,
        class: Option<&str>,
    ) -> Result<ReturnConf, PipelineError> {
        if !path.exists() {
            return Err(PipelineError::Config {
                message: format!("{} does not exist", path.display()),
            });
        }
        let known = self
            .returns
            .iter()
            .find(|r| r.path.file_name().map(|n| n.to_string_lossy()) == Some(name.into()));
        let class = class
            .map(str::to_string)
            .or_else(|| known.map(|r| r.class.clone()))
            .or_else(|| class_in_name(name))
            .ok_or_else(|| PipelineError::Config {
                message: format!("cannot tell the class of {name}: give --class CODE or start the file name with the class code (HB-PSF-01_…)"),
            })?;
        Ok(ReturnConf {
            class: class.trim_end_matches('-').to_string(),
            path: path.to_path_buf(),
            encoding: known.and_then(|r| r.encoding.clone()),
            crs: known.and_then(|r| r.crs.clone()),
            sheet: known.and_then(|r| r.sheet.clone()),
        })
    }

    /// Every file the pipeline reads: the pipeline file, register, polygons and returns (the
    /// schema folder is [`Pipeline::schemas`]).
    pub fn input_files(&self) -> impl Iterator<Item = &Path> {
        [
            &self.file,
            &self.register.path,
            &self.geometry.villages.path,
            &self.geometry.counties.path,
        ]
        .into_iter()
        .chain(self.returns.iter().map(|r| &r.path))
        .map(PathBuf::as_path)
    }

    /// Refuse `path` as a file to write when it is one of the pipeline's inputs or lies in its
    /// schema folder (a report written over a return would destroy it): exit 2.
    pub fn check_writable(&self, path: &Path, what: &str) -> Result<(), PipelineError> {
        let Ok(target) = std::fs::canonicalize(path) else {
            return Ok(()); // not there yet: it is no input
        };
        let is_input = self
            .input_files()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .any(|p| p == target);
        let in_schemas =
            std::fs::canonicalize(&self.schemas).is_ok_and(|schemas| target.starts_with(schemas));
        if is_input || in_schemas {
            return Err(PipelineError::Config {
                message: format!(
                    "refusing to write the {what} to {}: it is an input of the pipeline",
                    path.display()
                ),
            });
        }
        Ok(())
    }

    /// The severity of a rule in this pipeline: `None` when the pipeline turns it off.
    pub fn severity(&self, rule: Rule) -> Option<Severity> {
        match self.rules.get(rule.code()).map(String::as_str) {
            Some("off") => None,
            Some("error") => Some(Severity::Error),
            Some("warning") => Some(Severity::Warning),
            Some("info") => Some(Severity::Info),
            _ => Some(rule.default_severity()),
        }
    }

    /// How a path is shown in findings and the manifest: relative to the pipeline file.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.base)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The class code a file name starts with (`HB-PSF-01_学校.csv` → `HB-PSF-01`), if any.
pub fn class_in_name(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    ["HB-", "DR-"]
        .iter()
        .any(|p| upper.starts_with(p))
        .then(|| {
            upper
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
                .trim_end_matches('-')
                .to_string()
        })
}

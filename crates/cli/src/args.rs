//! Command-line arguments (clap). Only this module knows about clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// riskcensus — census returns in, GeoParquet risk database out.
#[derive(Debug, Parser)]
#[command(name = "riskcensus", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline end to end: ingest, validate, locate, aggregate, publish.
    Run {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
        /// Write the database here instead of the pipeline's `output`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print only the final line of the summary.
        #[arg(long, short)]
        quiet: bool,
        /// Language of the summary.
        #[arg(long, value_enum, default_value = "zh")]
        lang: Lang,
        /// Write the wall time of every stage (JSON) to this file.
        #[arg(long, value_name = "FILE")]
        timings: Option<PathBuf>,
        /// Check the returns in batches of about N MiB of CSV (overrides the pipeline's
        /// `batch_mib`, default 96): less memory, a little more time; results do not change.
        #[arg(long, value_name = "N")]
        batch_mib: Option<u64>,
        /// GeoPackages to write (overrides the pipeline's `gpkg`): one per county with its QGIS
        /// project (default), those and one of the whole run, or none.
        #[arg(long, value_enum, value_name = "WHICH")]
        gpkg: Option<Gpkg>,
    },
    /// Validate returns without building the database: the files given, or every return of the
    /// pipeline. The pipeline supplies the register, the polygons, the schemas and rule overrides.
    Validate {
        /// Return files to validate (default: the pipeline's returns).
        files: Vec<PathBuf>,
        /// The pipeline file (TOML).
        #[arg(long)]
        pipeline: PathBuf,
        /// Class of the files (default: from the pipeline or the file name, e.g. HB-PSF-01_学校.csv).
        #[arg(long)]
        class: Option<String>,
        /// Report format.
        #[arg(long, value_enum, default_value = "terminal")]
        format: Format,
        /// Write the report here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Language of messages.
        #[arg(long, value_enum, default_value = "zh")]
        lang: Lang,
        /// List at most N findings (counts and the exit code still cover all).
        #[arg(long)]
        max_findings: Option<usize>,
        /// Exit 1 on warnings too, not only on errors.
        #[arg(long, value_enum, default_value = "error")]
        fail_on: FailOn,
        /// Write the wall time of every stage (JSON) to this file.
        #[arg(long, value_name = "FILE")]
        timings: Option<PathBuf>,
        /// Check the returns in batches of about N MiB of CSV (overrides the pipeline's
        /// `batch_mib`, default 96): less memory, a little more time; results do not change.
        #[arg(long, value_name = "N")]
        batch_mib: Option<u64>,
    },
    /// Write corrected copies of returns (CSV as UTF-8 with BOM, Excel forms with their layout)
    /// and changes.csv: derived columns filled, full-width digits made half-width, swapped
    /// coordinates swapped back, GCJ-02 files converted, sure code suggestions applied.
    /// Ambiguous values stay as written.
    Fix {
        /// Return files to fix.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The pipeline file (TOML): register, polygons, schemas.
        #[arg(long)]
        pipeline: PathBuf,
        /// Class of the files (default: from the pipeline or the file name).
        #[arg(long)]
        class: Option<String>,
        /// Folder for the corrected files and changes.csv (never an input's own folder).
        #[arg(long = "out", short = 'o', value_name = "DIR")]
        out: PathBuf,
    },
    /// Write Excel templates for technicians: one .xlsx per class.
    Template {
        /// Class codes (e.g. HB-PSF-01 DR-GOV-10).
        codes: Vec<String>,
        /// Every class with a field schema.
        #[arg(long)]
        all: bool,
        /// Output directory.
        #[arg(long, short, default_value = "templates")]
        out: PathBuf,
        /// Schema directory.
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
    },
    /// Generate a synthetic census at any scale (deterministic for a seed): register, village
    /// and county polygons, returns of all 31 classes with planted defects, and a pipeline file.
    Synth {
        /// Number of villages and communities.
        #[arg(long)]
        villages: usize,
        /// Number of return rows, all classes together (at least villages + townships).
        #[arg(long)]
        rows: usize,
        /// Random seed: the same seed and sizes write the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (pipeline file: DIR/pipeline.toml).
        #[arg(long, short)]
        out: PathBuf,
        /// Share of rows (0–1) with one planted defect, listed in DIR/planted_defects.csv.
        #[arg(long, default_value_t = 0.01)]
        defect_rate: f64,
        /// Schema directory (copied to DIR/schemas).
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        /// How villages tile their county: `tiling` (jittered strips sharing their borders),
        /// `grid` (rectangles on a lon/lat grid) or `slivers` (the tiling with every village's
        /// vertices moved ≈ 2 m on their own: overlaps and gaps as in digitised boundaries).
        #[arg(long, default_value = "tiling", value_name = "SHAPE")]
        village_shape: riskcensus_synth::VillageShape,
    },
    /// A local web page for census technicians: upload returns, read the findings on a table and
    /// a map, download the corrected files; the office view checks the pipeline's returns and
    /// builds the database.
    Serve {
        /// The pipeline file (TOML): register, polygons, schemas, rules, returns.
        #[arg(long)]
        pipeline: PathBuf,
        /// Address to listen on. Any address other than loopback needs the token.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
        listen: std::net::SocketAddr,
        /// The token clients must give (default on a non-loopback address: generated, printed).
        #[arg(long)]
        token: Option<String>,
        /// Largest upload, all files together, in MiB.
        #[arg(long, default_value_t = 64, value_name = "N")]
        max_upload_mib: usize,
    },
    /// Inspect the class schemas.
    Schema {
        /// Schema directory.
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
        /// What to show.
        #[command(subcommand)]
        action: SchemaAction,
    },
}

/// `schema` actions.
#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// The 2 → 7 → 31 class tree, with the classes that have a field schema marked.
    List,
    /// The fields of one class.
    Show {
        /// Class code, e.g. HB-PSF-01.
        code: String,
    },
    /// Write every class schema as Frictionless Table Schema or JSON Schema files.
    Export {
        /// Descriptor format.
        #[arg(long, value_enum, default_value = "table-schema")]
        format: ExportFormat,
        /// Output directory (one <CODE>.json per class).
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// Schema export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// Frictionless Table Schema v2.
    TableSchema,
    /// JSON Schema draft 2020-12.
    JsonSchema,
}

/// Report formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Human summary (colour on a terminal unless NO_COLOR is set).
    Terminal,
    /// JSON document (docs/formats.md).
    Json,
    /// CSV, UTF-8 with BOM.
    Csv,
    /// Self-contained HTML page.
    Html,
    /// JUnit XML.
    Junit,
    /// GitHub Actions annotations.
    Github,
}

/// Message language.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    /// 中文
    Zh,
    /// English
    En,
}

/// Which GeoPackages `run` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Gpkg {
    /// One per county (`counties/<code>_<name>.gpkg`) with its QGIS project.
    Counties,
    /// None: GeoParquet only.
    None,
    /// The county packages and one of the whole run (`<name>.gpkg`, a layer per class).
    All,
}

impl From<Gpkg> for riskcensus_pipeline::GpkgOutput {
    fn from(g: Gpkg) -> Self {
        match g {
            Gpkg::Counties => Self::Counties,
            Gpkg::None => Self::None,
            Gpkg::All => Self::All,
        }
    }
}

/// Which severity fails the run.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warning,
}

impl From<Format> for riskcensus_report::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Terminal => Self::Terminal,
            Format::Json => Self::Json,
            Format::Csv => Self::Csv,
            Format::Html => Self::Html,
            Format::Junit => Self::Junit,
            Format::Github => Self::Github,
        }
    }
}

impl From<Lang> for riskcensus_report::Lang {
    fn from(l: Lang) -> Self {
        match l {
            Lang::Zh => Self::Zh,
            Lang::En => Self::En,
        }
    }
}

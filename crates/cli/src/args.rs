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
    },
    /// Validate and locate the returns of a pipeline without writing the database.
    Validate {
        /// The pipeline file (TOML).
        #[arg(long)]
        pipeline: PathBuf,
        /// Report format on stdout.
        #[arg(long, value_enum, default_value = "terminal")]
        format: Format,
        /// Exit 1 on warnings too, not only on errors.
        #[arg(long, value_enum, default_value = "error")]
        fail_on: FailOn,
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
}

/// Report formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Human summary.
    Terminal,
    /// Findings and per-file counts as JSON.
    Json,
}

/// Which severity fails the run.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FailOn {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warning,
}

//! Errors of a run, each mapped to a documented exit code by the CLI.

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The pipeline file, a schema, the register or a polygon file is wrong (exit 2).
    #[error("{message}")]
    Config {
        /// What is wrong and where.
        message: String,
    },
    /// A return could not be read at all (exit 3).
    #[error(transparent)]
    Input(#[from] riskcensus_ingest::IngestError),
    /// The outputs could not be written (exit 4).
    #[error(transparent)]
    Output(#[from] riskcensus_publish::PublishError),
    /// Anything else: a bug (exit 4).
    #[error("internal error: {0}")]
    Internal(String),
}

impl PipelineError {
    /// The exit code the CLI documents for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::Config { .. } => 2,
            PipelineError::Input(_) => 3,
            PipelineError::Output(_) | PipelineError::Internal(_) => 4,
        }
    }
}

impl From<polars::prelude::PolarsError> for PipelineError {
    fn from(e: polars::prelude::PolarsError) -> Self {
        PipelineError::Internal(e.to_string())
    }
}

impl From<riskcensus_core::Error> for PipelineError {
    fn from(e: riskcensus_core::Error) -> Self {
        PipelineError::Config {
            message: e.to_string(),
        }
    }
}

impl From<riskcensus_locate::LocateError> for PipelineError {
    fn from(e: riskcensus_locate::LocateError) -> Self {
        PipelineError::Config {
            message: e.to_string(),
        }
    }
}

//! Errors of the core crate: problems with configuration data (schemas, registers), never with
//! census returns — those are [`crate::Finding`]s.

use std::path::PathBuf;

/// A core error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A schema file could not be parsed or is inconsistent.
    #[error("schema {path}: {message}")]
    Schema {
        /// The schema file.
        path: PathBuf,
        /// What is wrong, with the line where known.
        message: String,
    },
    /// The division register is malformed.
    #[error("division register, line {line}: {message}")]
    Register {
        /// 1-based line in the register CSV (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn register(line: usize, message: impl Into<String>) -> Self {
        Error::Register {
            line,
            message: message.into(),
        }
    }
    pub(crate) fn schema(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Schema {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The errors of the locate stage.

/// Errors of the locate stage (geometry inputs, CRS definitions).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    /// The CRS string is not one riskcensus knows.
    #[error("unknown CRS `{0}`: use EPSG:4490, EPSG:4326 or a CGCS2000 Gauss-Krüger zone (EPSG:4491–4554)")]
    UnknownCrs(String),
    /// A coordinate could not be transformed.
    #[error("cannot reproject from {crs}: {message}")]
    Reproject {
        /// Source CRS.
        crs: String,
        /// proj4rs' message.
        message: String,
    },
    /// A polygon file could not be read or is malformed.
    #[error("{path}: {message}")]
    Geometry {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

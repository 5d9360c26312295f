//! Fix: a corrected copy of a return, and every change made to it.
//!
//! What validation derived or found for sure is written back into the technician's own file:
//! derived columns (省/市/县/乡镇/村, 代码类型) filled or added, full-width digits in numbers and
//! codes made half-width, swapped longitude/latitude swapped back, every point of a file that
//! `geo.gcj02_shift` found shifted converted from GCJ-02 to CGCS2000, and the division codes and
//! code-list values a finding suggests with `exact` or `normalized` confidence. Nothing else:
//! what is ambiguous stays as written, and stays a finding.
//!
//! [`plan`] turns a file's findings and derived values into a [`Plan`]; [`csv_file::fix_csv`]
//! applies it to a CSV and writes UTF-8 with a BOM, [`xlsx_file::fix_xlsx`] to a census Excel
//! form, keeping its layout.
//!
//! ```
//! use riskcensus_core::{Change, Confidence, Field, FieldType, Finding, ResolvedClass, Rule};
//! let class = ResolvedClass::bare("HB-PSF-01", vec![
//!     Field::new("division_code", "行政区划代码", FieldType::DivisionCode),
//!     Field::new("county", "县", FieldType::Text),
//! ], vec![]);
//! let findings = [Finding::new("a.csv", "HB-PSF-01", Rule::DivisionUnknown, "", "")
//!     .at_row(2)
//!     .in_column("行政区划代码", Some("620421103099".into()))
//!     .suggesting(Some(("620421103009".into(), Confidence::Exact)))];
//! let derived = [Change::new("a.csv", "HB-PSF-01", 2, "县", None, "靖远县", Rule::DerivedColumn, Confidence::Derived)];
//! let plan = riskcensus_fix::plan(&class, &findings, &derived);
//! let (bytes, changes) = riskcensus_fix::csv_file::fix_csv(
//!     "a.csv", "行政区划代码\n620421103099\n".as_bytes(), Default::default(), &class, &plan).unwrap();
//! assert_eq!(String::from_utf8(bytes).unwrap(), "\u{feff}行政区划代码,县\n620421103009,靖远县\n");
//! assert_eq!(changes.len(), 2);
//! ```
#![deny(missing_docs)]

pub mod csv_file;
mod plan;
pub mod xlsx_file;

pub use plan::{plan, Column, Plan};

use std::path::Path;

use riskcensus_core::{Change, Finding, ResolvedClass};
use riskcensus_ingest::Encoding;

/// One return to fix: how it is shown in findings, where it is and how it was read.
#[derive(Debug, Clone, Copy)]
pub struct Return<'a> {
    /// The name findings and changes give it (`Finding::file`).
    pub shown: &'a str,
    /// The file.
    pub path: &'a Path,
    /// A workbook's sheet (default: the class's, else the first).
    pub sheet: Option<&'a str>,
    /// A CSV's encoding.
    pub encoding: Encoding,
}

/// What [`fix_file`] made of a return.
#[derive(Debug)]
pub enum Fixed {
    /// The corrected file (CSV as UTF-8 with BOM, or the form) and every change made.
    Written(Vec<u8>, Vec<Change>),
    /// A workbook format that is not rewritten (.xls, .xlsb, .ods): its extension.
    NotRewritten(String),
}

/// Fix one return from a validation's findings and derived values (all files' may be given: only
/// those of `ret.shown` are used).
pub fn fix_file(
    ret: &Return<'_>,
    class: &ResolvedClass,
    findings: &[Finding],
    derived: &[Change],
) -> Result<Fixed, FixError> {
    let extension = ret
        .path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let form = matches!(extension.as_str(), "xlsx" | "xlsm");
    if riskcensus_ingest::excel::is_spreadsheet(ret.path) && !form {
        return Ok(Fixed::NotRewritten(extension));
    }
    let findings: Vec<Finding> = findings
        .iter()
        .filter(|f| f.file == ret.shown)
        .cloned()
        .collect();
    let derived: Vec<Change> = derived
        .iter()
        .filter(|c| c.file == ret.shown)
        .cloned()
        .collect();
    let plan = plan(class, &findings, &derived);
    let (bytes, changes) = if form {
        xlsx_file::fix_xlsx(ret.shown, ret.path, ret.sheet, class, &plan)?
    } else {
        let bytes = std::fs::read(ret.path).map_err(|source| {
            FixError::Ingest(riskcensus_ingest::IngestError::Io {
                path: ret.shown.to_string(),
                source,
            })
        })?;
        csv_file::fix_csv(ret.shown, &bytes, ret.encoding, class, &plan)?
    };
    Ok(Fixed::Written(bytes, changes))
}

/// Why a file could not be fixed.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// The file could not be decoded.
    #[error(transparent)]
    Ingest(#[from] riskcensus_ingest::IngestError),
    /// The CSV or workbook could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

//! Core types of riskcensus: division codes and the register, credit codes, the class schema
//! model and the finding model. No I/O beyond reading schema files; every stage crate depends on
//! this one and on no other stage.
//!
//! ```
//! use riskcensus_core::{uscc, DivisionCode, Finding, Rule};
//! let code = DivisionCode::parse("620402001001").unwrap();
//! assert_eq!(code.county(), "620402");
//! assert!(uscc::check("91620402MA7BY00133").is_ok());
//! let f = Finding::new("a.csv", "HB-PSF-01", Rule::Required, "单位名称为空", "name is empty").at_row(3);
//! assert_eq!(f.rule.code(), "cell.required");
//! ```
#![deny(missing_docs)]

pub mod change;
pub mod division;
pub mod error;
pub mod finding;
pub mod schema;
pub mod summary;
pub mod table;
pub mod uscc;

pub use change::{Change, Confidence};
pub use division::{Division, DivisionCode, Level, Register};
pub use error::{Error, Result};
pub use finding::{Finding, Rule, Severity};
pub use schema::{ClassSchema, Field, FieldType, ResolvedClass, SchemaSet};
pub use summary::FileSummary;

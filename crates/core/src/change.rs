//! Changes: values riskcensus derived or corrected in a return, each recorded with where, what
//! it was, what it became, why and how sure (`changes.csv`).
//!
//! ```
//! use riskcensus_core::change::{Change, Confidence};
//! use riskcensus_core::Rule;
//! let c = Change::new("schools.csv", "HB-PSF-01", 2, "省", None, "甘肃省", Rule::DerivedColumn, Confidence::Derived);
//! assert_eq!((c.old.as_deref(), c.new.as_str(), c.confidence.as_str()), (None, "甘肃省", "derived"));
//! ```

use serde::Serialize;

use crate::finding::Rule;

/// How sure a change is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Follows from other data of the row (a name from the division code, 代码类型 from the
    /// credit code's shape).
    Derived,
    /// The only entry of the register or code list that matches exactly.
    Exact,
    /// The only entry that matches once suffixes, width and spacing are normalised.
    Normalized,
    /// The only entry that matches loosely (one name containing the other, or similar
    /// spelling): a suggestion to check, never applied unasked.
    Fuzzy,
}

impl Confidence {
    /// `derived`, `exact`, `normalized` or `fuzzy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Derived => "derived",
            Confidence::Exact => "exact",
            Confidence::Normalized => "normalized",
            Confidence::Fuzzy => "fuzzy",
        }
    }

    /// How a finding says it, in Chinese.
    pub fn as_zh(self) -> &'static str {
        match self {
            Confidence::Derived => "由本行数据推导",
            Confidence::Exact => "名称完全一致，唯一匹配",
            Confidence::Normalized => "名称规范化后一致，唯一匹配",
            Confidence::Fuzzy => "名称近似，请核对",
        }
    }

    /// How a finding says it, in English.
    pub fn as_en(self) -> &'static str {
        match self {
            Confidence::Derived => "derived from the row",
            Confidence::Exact => "the only exact name match",
            Confidence::Normalized => "the only match once names are normalised",
            Confidence::Fuzzy => "a similar name: check it",
        }
    }
}

/// One value derived or corrected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The input file as the pipeline names it.
    pub file: String,
    /// The class code.
    pub class: String,
    /// The row as the user sees it (1 = header).
    pub row: u64,
    /// The column: its header in the file, or the form's label when the file lacks it.
    pub column: String,
    /// The value as written; `None` when the cell was empty or the column missing.
    pub old: Option<String>,
    /// The value it became.
    pub new: String,
    /// The rule that made the change.
    pub rule: Rule,
    /// How sure it is.
    pub confidence: Confidence,
}

impl Change {
    /// A change.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        file: impl Into<String>,
        class: impl Into<String>,
        row: u64,
        column: impl Into<String>,
        old: Option<String>,
        new: impl Into<String>,
        rule: Rule,
        confidence: Confidence,
    ) -> Self {
        Change {
            file: file.into(),
            class: class.into(),
            row,
            column: column.into(),
            old,
            new: new.into(),
            rule,
            confidence,
        }
    }
}

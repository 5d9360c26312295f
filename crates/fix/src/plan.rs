//! What to change in one return, from its findings and derived values.

use std::collections::{BTreeMap, BTreeSet};

use riskcensus_core::{Change, Confidence, FieldType, Finding, ResolvedClass, Rule};

/// A cell's column: by the header the file writes (or the form's label, for a column the file
/// lacks), or by the field it holds (resolved against the file's header when applied).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    /// The header as written.
    Header(String),
    /// The schema field id.
    Field(String),
}

/// The changes to make to one return; cells by line (as findings give it) and column.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// New values: derived values and sure suggestions.
    pub set: BTreeMap<(u64, Column), Change>,
    /// Lines whose longitude and latitude are swapped.
    pub swap: BTreeSet<u64>,
    /// Whether every point of the file is in GCJ-02 and is converted.
    pub gcj02: bool,
}

/// The plan for a file: `findings` and `derived` are the file's own (from a validation).
pub fn plan(class: &ResolvedClass, findings: &[Finding], derived: &[Change]) -> Plan {
    let mut plan = Plan::default();
    for change in derived {
        plan.set.insert(
            (change.row, Column::Header(change.column.clone())),
            change.clone(),
        );
    }
    let code_field = class
        .fields
        .iter()
        .find(|f| f.field_type == FieldType::DivisionCode);
    for f in findings {
        match (f.rule, f.row) {
            (Rule::Swapped, Some(row)) => {
                plan.swap.insert(row);
            }
            (Rule::Gcj02Shift, None) => plan.gcj02 = true,
            _ => {}
        }
        let (Some(row), Some(value), Some(confidence)) =
            (f.row, f.suggestion.as_ref(), f.confidence)
        else {
            continue;
        };
        // Fuzzy suggestions are for a person to check, never applied.
        if !matches!(confidence, Confidence::Exact | Confidence::Normalized) {
            continue;
        }
        let header = || Column::Header(f.column.clone().unwrap_or_default());
        let (column, old) = match (f.rule, code_field) {
            (Rule::DivisionUnknown | Rule::DivisionCivilAffairs, _) | (Rule::CodeList, _) => {
                (header(), f.value.clone())
            }
            // A name that disagrees suggests another code: the code's cell changes.
            (Rule::DivisionName, Some(code)) => (Column::Field(code.id.clone()), None),
            _ => continue,
        };
        let shown = match &column {
            Column::Header(h) | Column::Field(h) => h.clone(),
        };
        plan.set.insert(
            (row, column),
            Change::new(
                &f.file,
                &f.class,
                row,
                shown,
                old,
                value.clone(),
                f.rule,
                confidence,
            ),
        );
    }
    plan
}

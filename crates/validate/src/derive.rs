//! Derived values: what follows from other data of the same row is filled in, not rejected.
//!
//! A field with `derive = …` in its schema (省/市/县/乡镇/村 from the 12-digit division code via
//! the register, 代码类型 from the credit code's shape) is filled where the file lacks the
//! column or leaves the cell empty. A missing column raises one file-level
//! `struct.derived_column` finding, an empty cell a `cell.derived` finding (both info); each
//! value derived is a [`Change`]. What cannot be derived (an unknown code, a malformed credit
//! code) stays empty, and the field's own rules judge it as before.
//!
//! ```
//! use riskcensus_core::{Field, FieldType, Register, ResolvedClass};
//! use riskcensus_core::schema::Derive;
//! let fields = vec![
//!     Field { required: true, ..Field::new("division_code", "行政区划代码", FieldType::DivisionCode) },
//!     Field { required: true, derive: Some(Derive::County), ..Field::new("county", "县", FieldType::Text) },
//! ];
//! let class = ResolvedClass::bare("DR-GRS-02", fields, vec![]);
//! let register = Register::from_csv_str("code,name,level,parent_code,urban_rural_code,code12,parent_code12,source_year\n\
//!     620421,靖远县,county,6204,,620421000000,620400000000,2023\n\
//!     620421100,乌兰镇,township,620421,,620421100000,620421000000,2023\n").unwrap();
//! let raw = riskcensus_ingest::ingest_bytes("v.csv", "行政区划代码\n620421100000\n".as_bytes(), Default::default(), &class).unwrap();
//! let derived = riskcensus_validate::derive::derive(&raw, &class, &register).unwrap();
//! assert_eq!(derived.frame.column("county").unwrap().str().unwrap().get(0), Some("靖远县"));
//! assert_eq!(derived.findings[0].rule.code(), "struct.derived_column");
//! assert_eq!(derived.changes[0].new, "靖远县");
//! ```

use polars::prelude::*;
use riskcensus_core::change::{Change, Confidence};
use riskcensus_core::schema::{Derive, CODE_TYPE_USCC};
use riskcensus_core::table::RawTable;
use riskcensus_core::{
    uscc, DivisionCode, Field, FieldType, Finding, Register, ResolvedClass, Rule,
};

/// The raw frame with derived values filled in, and what was derived.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The raw table's frame, derivable columns added or filled.
    pub frame: DataFrame,
    /// `struct.derived_column` per missing column, `cell.derived` per filled cell.
    pub findings: Vec<Finding>,
    /// Every value derived.
    pub changes: Vec<Change>,
}

/// Fill the derivable fields of `class` in `raw`'s frame.
pub fn derive(raw: &RawTable, class: &ResolvedClass, register: &Register) -> PolarsResult<Derived> {
    let mut out = Derived {
        frame: raw.frame.clone(),
        findings: Vec::new(),
        changes: Vec::new(),
    };
    let text_of = |field_type: FieldType| -> PolarsResult<Option<StringChunked>> {
        match class.fields.iter().find(|f| f.field_type == field_type) {
            Some(f) => match raw.frame.column(f.id.as_str()) {
                Ok(c) => Ok(Some(c.str()?.clone())),
                Err(_) => Ok(None),
            },
            None => Ok(None),
        }
    };
    let codes = text_of(FieldType::DivisionCode)?;
    let credit_codes = text_of(FieldType::CreditCode)?;
    for field in &class.fields {
        let Some(how) = field.derive else { continue };
        let source = match how {
            Derive::CodeType => &credit_codes,
            _ => &codes,
        };
        let Some(source) = source else { continue };
        let given: Option<StringChunked> = match raw.frame.column(field.id.as_str()) {
            Ok(c) => Some(c.str()?.clone()),
            Err(_) => None,
        };
        // The usual return has every cell filled: nothing to derive, no column rebuilt.
        if given.as_ref().is_some_and(|g| g.null_count() == 0) {
            continue;
        }
        let before = out.changes.len();
        let filled = fill(
            field,
            how,
            given.as_ref(),
            source,
            register,
            raw,
            &mut out.changes,
        );
        let Some(filled) = filled else { continue };
        let derived = &out.changes[before..];
        // An optional column nothing could be derived for (村 on township codes) is left out.
        if derived.is_empty() && !field.required {
            continue;
        }
        match given {
            None => out
                .findings
                .push(missing_column_finding(raw, field, how, derived.len())),
            Some(_) => out.findings.extend(
                derived
                    .iter()
                    .map(|c| empty_cell_finding(raw, field, how, c)),
            ),
        }
        out.frame
            .with_column(filled.with_name(field.id.as_str().into()).into_column())?;
    }
    Ok(out)
}

/// The column as the user knows it: the file's header, or the form's label when it is missing.
fn column_name(raw: &RawTable, field: &Field) -> String {
    raw.header_of(&field.id)
        .map_or_else(|| field.label_with_unit(), str::to_string)
}

/// The column with each empty cell filled where `how` derives it from `source`, recording each
/// value; `None` when nothing was filled and the column is present (it is left as it is).
fn fill(
    field: &Field,
    how: Derive,
    given: Option<&StringChunked>,
    source: &StringChunked,
    register: &Register,
    raw: &RawTable,
    changes: &mut Vec<Change>,
) -> Option<StringChunked> {
    let column = column_name(raw, field);
    let rule = if given.is_some() {
        Rule::DerivedValue
    } else {
        Rule::DerivedColumn
    };
    let before = changes.len();
    let values: StringChunked = source
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let written = given.and_then(|g| g.get(i));
            if written.is_some() {
                return written.map(str::to_string);
            }
            let value = from.and_then(|from| derived_value(how, from, register))?;
            changes.push(Change::new(
                &raw.file,
                &raw.class,
                raw.lines.get(i).copied().unwrap_or(0),
                column.clone(),
                None,
                value.clone(),
                rule,
                Confidence::Derived,
            ));
            Some(value)
        })
        .collect();
    (given.is_none() || changes.len() > before).then_some(values)
}

/// The value `how` derives from one source cell, if it can.
fn derived_value(how: Derive, from: &str, register: &Register) -> Option<String> {
    match how.level() {
        Some(level) => {
            let code = DivisionCode::parse(from.trim())?;
            register.name_at(code.as_str(), level).map(str::to_string)
        }
        None => uscc::check(from.trim())
            .is_ok()
            .then(|| CODE_TYPE_USCC.to_string()),
    }
}

fn source_zh(how: Derive) -> &'static str {
    match how {
        Derive::CodeType => "按统一社会信用代码的格式",
        _ => "按行政区划代码从区划库",
    }
}

fn source_en(how: Derive) -> &'static str {
    match how {
        Derive::CodeType => "from the credit code's shape",
        _ => "from the division code via the register",
    }
}

fn missing_column_finding(raw: &RawTable, field: &Field, how: Derive, rows: usize) -> Finding {
    let label = field.label_with_unit();
    Finding::new(
        &raw.file,
        &raw.class,
        Rule::DerivedColumn,
        format!(
            "缺少列“{label}”：已{}推导 {rows} 行（见 changes.csv）",
            source_zh(how)
        ),
        format!(
            "column “{label}” ({}) is missing: derived {} for {rows} rows (see changes.csv)",
            field.id,
            source_en(how)
        ),
    )
    .in_column(label, None)
}

fn empty_cell_finding(raw: &RawTable, field: &Field, how: Derive, change: &Change) -> Finding {
    Finding::new(
        &raw.file,
        &raw.class,
        Rule::DerivedValue,
        format!(
            "“{}”为空：已{}推导为“{}”",
            field.zh,
            source_zh(how),
            change.new
        ),
        format!(
            "“{}” is empty: derived {} as “{}”",
            field.en,
            source_en(how),
            change.new
        ),
    )
    .at_row(change.row)
    .in_column(change.column.clone(), None)
}

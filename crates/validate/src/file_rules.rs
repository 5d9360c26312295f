//! The rules that compare a row with the rest of its file, run once over the whole file after
//! the chunks' row rules: the same credit code twice, the same name twice in one village (the
//! first occurrence is kept, later ones are findings naming its row), and unit slips (a value
//! about 10³ off the file's median).

use foldhash::{HashMap, HashMapExt};
use polars::prelude::*;
use riskcensus_core::table::{RawTable, LINE_COLUMN};
use riskcensus_core::{Field, FieldType, Finding, ResolvedClass, Rule};

use crate::identifiers::Columns;
use crate::{header_of, masks, normalize_name};

/// The findings of the whole-file rules, for `raw` whose derived cells are `base` and typed
/// values `typed` (both the whole file), with `present` fields.
pub(crate) fn check(
    raw: &RawTable,
    class: &ResolvedClass,
    base: &DataFrame,
    typed: &DataFrame,
    present: &[&Field],
) -> PolarsResult<Vec<Finding>> {
    let lines = base.column(LINE_COLUMN)?.u64()?.clone();
    let header = |field: &str| header_of(raw, class, field);
    let columns = Columns {
        raw,
        class,
        evaluated: base,
        lines: &lines,
        header: &header,
        code_field: class
            .fields
            .iter()
            .find(|f| f.field_type == FieldType::DivisionCode),
    };
    let mut findings = unit_slips(raw, class, base, typed, present)?;
    duplicate_credit_codes(&columns, &mut findings)?;
    duplicate_names(&columns, &mut findings)?;
    Ok(findings)
}

/// The unit-slip masks over the file's cells and typed values of the fields they judge.
fn unit_slips(
    raw: &RawTable,
    class: &ResolvedClass,
    base: &DataFrame,
    typed: &DataFrame,
    present: &[&Field],
) -> PolarsResult<Vec<Finding>> {
    let masks::Masks { exprs, masks } = masks::whole_file(present);
    if masks.is_empty() {
        return Ok(Vec::new());
    }
    let mut columns = vec![base.column(LINE_COLUMN)?.clone()];
    for field in masks.iter().map(|m| m.field.as_str()) {
        columns.push(base.column(field)?.clone());
        columns.push(
            typed
                .column(field)?
                .clone()
                .with_name(format!("__t_{field}").as_str().into()),
        );
    }
    let evaluated = DataFrame::new(base.height(), columns)?
        .lazy()
        .without_optimizations()
        .with_columns(exprs)
        .collect()?;
    masks::findings(raw, class, &evaluated, &masks)
}

/// The same credit code twice in the file (whatever its 代码类型).
fn duplicate_credit_codes(columns: &Columns<'_>, findings: &mut Vec<Finding>) -> PolarsResult<()> {
    let Columns {
        raw,
        class,
        evaluated,
        lines,
        header,
        ..
    } = *columns;
    for cf in class
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::CreditCode)
    {
        let Ok(column) = evaluated.column(cf.id.as_str()) else {
            continue;
        };
        let values = column.str()?;
        let mut first_seen: HashMap<&str, u64> = HashMap::new();
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let line = lines.get(i).unwrap_or(0);
            if let Some(first) = first_seen.get(v) {
                findings.push(
                    Finding::new(
                        &raw.file,
                        &raw.class,
                        Rule::DuplicateCreditCode,
                        format!("统一社会信用代码与第 {first} 行重复"),
                        format!("same credit code as row {first}"),
                    )
                    .at_row(line)
                    .in_column(header(&cf.id), Some(v.to_string())),
                );
            } else {
                first_seen.insert(v, line);
            }
        }
    }
    Ok(())
}

/// The same name twice in one village (normalised: spaces and brackets ignored).
fn duplicate_names(columns: &Columns<'_>, findings: &mut Vec<Finding>) -> PolarsResult<()> {
    let Columns {
        raw,
        class,
        evaluated,
        lines,
        header,
        code_field,
    } = *columns;
    if let (Some(nf), Some(cf)) = (class.field("name"), code_field) {
        if let (Ok(names), Ok(codes)) = (
            evaluated.column(nf.id.as_str()),
            evaluated.column(cf.id.as_str()),
        ) {
            let (names, codes) = (names.str()?.clone(), codes.str()?.clone());
            let mut first_seen: HashMap<(String, &str), u64> = HashMap::new();
            for (i, (name, code)) in names.iter().zip(codes.iter()).enumerate() {
                let (Some(name), Some(code)) = (name, code) else {
                    continue;
                };
                let key = (normalize_name(name), code);
                let line = lines.get(i).unwrap_or(0);
                if let Some(first) = first_seen.get(&key) {
                    findings.push(
                        Finding::new(
                            &raw.file,
                            &raw.class,
                            Rule::DuplicateName,
                            format!("与第 {first} 行同名且同村（{code}），疑为重复填报"),
                            format!(
                                "same name and village ({code}) as row {first}: likely filed twice"
                            ),
                        )
                        .at_row(line)
                        .in_column(header(&nf.id), Some(name.to_string())),
                    );
                } else {
                    first_seen.insert(key, line);
                }
            }
        }
    }
    Ok(())
}

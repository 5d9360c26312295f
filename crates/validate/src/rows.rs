//! The rules of single rows, over one chunk of a file: typed values, the masks ([`crate::masks`])
//! but unit slips, multi-select items, and the identifier checks ([`crate::identifiers`]).

use polars::prelude::*;
use riskcensus_core::table::{RawTable, LINE_COLUMN};
use riskcensus_core::{Field, FieldType, Finding, Register, ResolvedClass, Rule};

use crate::{
    dtype_of, header_of, identifiers, masks, multi, parse_date, typed_expr, with_nearest_codes,
    Options,
};

/// One chunk checked.
pub(crate) struct Checked {
    /// Its typed columns (every field of the class, in schema order, then the line).
    pub typed: DataFrame,
    /// Its findings, not yet in row order.
    pub findings: Vec<Finding>,
}

/// Check the rows of `base` (a chunk of `raw`'s frame with derived columns filled), whose
/// present fields are `present`.
pub(crate) fn check(
    raw: &RawTable,
    class: &ResolvedClass,
    register: &Register,
    options: &Options,
    present: &[&Field],
    base: &DataFrame,
) -> PolarsResult<Checked> {
    let masks::Masks { exprs, masks } = masks::build(present, class, base, options);

    let typed_cols: Vec<Expr> = present
        .iter()
        .map(|f| typed_expr(f).alias(format!("__t_{}", f.id).as_str()))
        .collect();
    let mut frame = base.clone();
    for f in present.iter().filter(|f| f.field_type == FieldType::Date) {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let days: Int32Chunked = frame
            .column(f.id.as_str())?
            .str()?
            .iter()
            .map(|v| {
                v.and_then(parse_date)
                    .map(|d| (d - epoch).num_days() as i32)
            })
            .collect();
        frame.with_column(
            days.into_series()
                .with_name(format!("__t_{}", f.id).as_str().into())
                .into_date()
                .into(),
        )?;
    }
    for f in present
        .iter()
        .filter(|f| f.field_type == FieldType::MultiEnum)
    {
        let column = frame.column(f.id.as_str())?.str()?.clone();
        let name = format!("__t_{}", f.id);
        // Most cells are already `a;b`: the column is then used as it is, not rebuilt.
        let normalized: StringChunked = if column
            .iter()
            .flatten()
            .any(|v| multi::canonical(v, &f.codes).is_some())
        {
            column
                .iter()
                .map(|v| v.map(|v| multi::canonical(v, &f.codes).unwrap_or_else(|| v.to_string())))
                .collect()
        } else {
            column
        };
        frame.with_column(normalized.with_name(name.as_str().into()).into_column())?;
    }
    // Two projections over a frame in memory: the optimiser has nothing to push down, and
    // running it on these wide plans for each of hundreds of files cost a sixth of validation.
    let evaluated = frame
        .lazy()
        .without_optimizations()
        .with_columns(typed_cols)
        .with_columns(exprs)
        .collect()?;

    let lines = evaluated.column(LINE_COLUMN)?.u64()?.clone();
    let mut findings = Vec::new();
    let header = |field: &str| header_of(raw, class, field);
    findings.extend(masks::findings(raw, class, &evaluated, &masks)?);

    // Multi-select values: every item in the code list.
    for f in present
        .iter()
        .filter(|f| f.field_type == FieldType::MultiEnum)
    {
        let values = evaluated.column(f.id.as_str())?.str()?.clone();
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let bad = multi::unknown_items(v, &f.codes);
            if !bad.is_empty() {
                findings.push(
                    Finding::new(
                        &raw.file,
                        &raw.class,
                        Rule::CodeList,
                        format!(
                            "“{}”中的“{}”不在代码表中（可选：{}，多选用“;”分隔）",
                            f.label_with_unit(),
                            bad.join("、"),
                            f.codes.join("、")
                        ),
                        format!(
                            "“{}”: “{}” not in the code list ({}; separate choices with ;)",
                            f.en,
                            bad.join(", "),
                            f.codes.join(", ")
                        ),
                    )
                    .at_row(lines.get(i).unwrap_or(0))
                    .in_column(header(&f.id), Some(v.to_string())),
                );
                // The nearest entries are named; the suggestion would be for the whole cell.
                if let ([item], Some(last)) = (bad.as_slice(), findings.pop()) {
                    findings.push(with_nearest_codes(last, item, &f.codes).suggesting(None));
                }
            }
        }
    }
    identifiers::check(
        &identifiers::Columns {
            raw,
            class,
            evaluated: &evaluated,
            lines: &lines,
            header: &header,
            code_field: class
                .fields
                .iter()
                .find(|f| f.field_type == FieldType::DivisionCode),
        },
        register,
        &mut findings,
    )?;

    // The typed frame: every field of the class, in schema order.
    let height = evaluated.height();
    let mut out: Vec<Column> = Vec::with_capacity(class.fields.len() + 1);
    for f in &class.fields {
        let c = match evaluated.column(format!("__t_{}", f.id).as_str()) {
            Ok(c) => c.clone().with_name(f.id.as_str().into()),
            Err(_) => Column::full_null(f.id.as_str().into(), height, &dtype_of(f.field_type)),
        };
        out.push(c);
    }
    out.push(evaluated.column(LINE_COLUMN)?.clone());
    let typed = DataFrame::new(height, out)?;
    Ok(Checked { typed, findings })
}

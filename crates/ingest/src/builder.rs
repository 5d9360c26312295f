//! Turning a header and rows of cells (from CSV or a spreadsheet) into a [`RawTable`]: header
//! resolution, structure findings, normalisation of full-width digits in numeric columns.

use polars::prelude::*;
use riskcensus_core::schema::HeaderMatcher;
use riskcensus_core::table::{RawTable, SourceColumn, LINE_COLUMN};
use riskcensus_core::{FieldType, Finding, ResolvedClass, Rule};

use crate::IngestError;

/// Builds a [`RawTable`] row by row.
pub(crate) struct TableBuilder<'a> {
    name: &'a str,
    class: &'a ResolvedClass,
    columns: Vec<SourceColumn>,
    numeric: Vec<bool>,
    missing_required: Vec<String>,
    /// One builder per column: cells go straight into Arrow string buffers, no `String` each.
    cells: Vec<StringChunkedBuilder>,
    lines: Vec<u64>,
    findings: Vec<Finding>,
}

/// Full-width digits, point, minus, plus and Latin letters (as IMEs type them) to ASCII.
///
/// ```
/// assert_eq!(riskcensus_ingest::halfwidth("１２３．５"), "123.5");
/// assert_eq!(riskcensus_ingest::halfwidth("９１６２ＡＢ"), "9162AB");
/// ```
pub fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

impl<'a> TableBuilder<'a> {
    /// Resolve the header (found on `header_line`) against the class.
    pub(crate) fn new(
        name: &'a str,
        class: &'a ResolvedClass,
        header: &[String],
        header_line: u64,
        rows_hint: usize,
    ) -> Self {
        let code = class.node.code.as_str();
        let mut findings = Vec::new();
        let mut columns: Vec<SourceColumn> = Vec::new();
        // Each field's header forms once per file (matching pair by pair was 2.4 % of a 1 M-row
        // validation's CPU).
        let matcher = HeaderMatcher::new(&class.fields);
        for (i, h) in header.iter().enumerate() {
            let h = h.trim().trim_start_matches('\u{feff}').to_string();
            let resolved = matcher.field(&h).map(|f| f.id.clone());
            let field = match resolved {
                Some(id)
                    if columns
                        .iter()
                        .any(|c| c.field.as_deref() == Some(id.as_str())) =>
                {
                    findings.push(
                        Finding::new(
                            name,
                            code,
                            Rule::DuplicateColumn,
                            format!("列“{h}”与前面的列重复（字段 {id}），本列被忽略"),
                            format!("column “{h}” repeats field `{id}`; this column is ignored"),
                        )
                        .at_row(header_line)
                        .in_column(h.clone(), None),
                    );
                    None
                }
                Some(id) => Some(id),
                None if h.is_empty() => None,
                None => {
                    findings.push(
                        Finding::new(
                            name,
                            code,
                            Rule::UnknownColumn,
                            format!("列“{h}”不属于 {code} 的表式，已忽略"),
                            format!("column “{h}” is not in the {code} schema; ignored"),
                        )
                        .at_row(header_line)
                        .in_column(h.clone(), None),
                    );
                    None
                }
            };
            let frame_column = field.clone().unwrap_or_else(|| format!("__col{i}"));
            columns.push(SourceColumn {
                header: h,
                field,
                frame_column,
            });
        }
        let missing_required: Vec<String> = class
            .fields
            .iter()
            .filter(|f| {
                // A derivable column (省/市/县 … from the division code) is derived, not missed.
                f.required
                    && f.derive.is_none()
                    && !columns
                        .iter()
                        .any(|c| c.field.as_deref() == Some(f.id.as_str()))
            })
            .map(|f| f.id.clone())
            .collect();
        for id in &missing_required {
            let label = class.field(id).map_or(id.clone(), |f| f.label_with_unit());
            findings.push(
                Finding::new(name, code, Rule::MissingColumn,
                    format!("缺少必填列“{label}”，本文件所有行均被退回"),
                    format!("required column “{label}” ({id}) is missing; every row of the file is rejected"))
                .at_row(header_line)
                .in_column(label, None),
            );
        }
        let numeric = columns
            .iter()
            .map(|c| {
                c.field
                    .as_deref()
                    .and_then(|id| class.field(id))
                    .is_some_and(|f| {
                        f.field_type.is_numeric()
                            || matches!(
                                f.field_type,
                                FieldType::DivisionCode | FieldType::CreditCode | FieldType::Date
                            )
                    })
            })
            .collect();
        let cells = columns
            .iter()
            .map(|c| StringChunkedBuilder::new(c.frame_column.as_str().into(), rows_hint))
            .collect();
        TableBuilder {
            name,
            class,
            columns,
            numeric,
            missing_required,
            cells,
            lines: Vec::with_capacity(rows_hint),
            findings,
        }
    }

    /// Add a row as it appears on `line` (blank rows are reported and skipped).
    pub(crate) fn push_row(&mut self, line: u64, values: &[Option<&str>]) {
        let code = self.class.node.code.as_str();
        if values.iter().all(|v| v.is_none_or(|v| v.trim().is_empty())) {
            self.findings.push(
                Finding::new(
                    self.name,
                    code,
                    Rule::BlankRow,
                    "空行，已跳过",
                    "blank row, skipped",
                )
                .at_row(line),
            );
            return;
        }
        let width = self.columns.len();
        if values.len() > width
            && values[width..]
                .iter()
                .any(|v| v.is_some_and(|v| !v.trim().is_empty()))
            || values.len() < width
        {
            let extra: Vec<&str> = values.iter().skip(width).map(|v| v.unwrap_or("")).collect();
            self.findings.push(
                Finding::new(
                    self.name,
                    code,
                    Rule::RaggedRow,
                    format!("本行有 {} 个值，表头有 {width} 列", values.len()),
                    format!(
                        "row has {} values, the header {width} columns",
                        values.len()
                    ),
                )
                .at_row(line)
                .in_column("", (!extra.is_empty()).then(|| extra.join(","))),
            );
        }
        for (i, col) in self.cells.iter_mut().enumerate() {
            let v = values
                .get(i)
                .copied()
                .flatten()
                .map(str::trim)
                .filter(|v| !v.is_empty());
            match v {
                None => col.append_null(),
                // Full-width digits only matter in numeric columns, and only outside ASCII.
                Some(v) if self.numeric[i] && !v.is_ascii() => {
                    col.append_value(halfwidth(v).trim())
                }
                Some(v) => col.append_value(v),
            }
        }
        self.lines.push(line);
    }

    /// The table.
    pub(crate) fn finish(
        self,
        sha256: String,
        encoding: &'static str,
    ) -> Result<RawTable, IngestError> {
        let height = self.lines.len();
        let mut frame_columns: Vec<Column> = self
            .cells
            .into_iter()
            .map(|b| b.finish().into_column())
            .collect();
        frame_columns.push(Column::new(LINE_COLUMN.into(), self.lines.clone()));
        let frame = DataFrame::new(height, frame_columns).map_err(|source| IngestError::Frame {
            path: self.name.to_string(),
            source,
        })?;
        let mut findings = self.findings;
        findings.sort_by(|a, b| a.row.cmp(&b.row).then(a.rule.cmp(&b.rule)));
        Ok(RawTable {
            file: self.name.to_string(),
            class: self.class.node.code.clone(),
            sha256,
            encoding,
            columns: self.columns,
            frame,
            parts: vec![height],
            lines: self.lines,
            missing_required: self.missing_required,
            outlines: Vec::new(),
            findings,
        })
    }
}

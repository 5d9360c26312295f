//! A [`Plan`] applied to a census Excel form (.xlsx, .xlsm): the workbook is read and written
//! by umya-spreadsheet with only the planned cells changed, so the form keeps its title, units
//! and census-code rows, styles, dropdowns, frozen header and help sheet. The header is the row
//! among the first 20 that names most fields (as ingest finds it); rows are the Excel rows the
//! findings name. A form keeps its columns: a value for a column it lacks is not written.

use std::collections::HashMap;
use std::path::Path;

use riskcensus_core::schema::HeaderMatcher;
use riskcensus_core::{Change, Confidence, Field, FieldType, ResolvedClass, Rule};
use umya_spreadsheet::{Cell, Worksheet};

use crate::plan::{Column, Plan};
use crate::FixError;

/// Apply `plan` to the form at `path` (sheet `sheet`, else the one named after the class, else
/// the first): the corrected workbook and every change made.
pub fn fix_xlsx(
    name: &str,
    path: &Path,
    sheet: Option<&str>,
    class: &ResolvedClass,
    plan: &Plan,
) -> Result<(Vec<u8>, Vec<Change>), FixError> {
    let err = |message: String| FixError::File {
        path: name.to_string(),
        message,
    };
    let mut book = umya_spreadsheet::reader::xlsx::read(path)
        .map_err(|e| err(format!("not a readable workbook: {e}")))?;
    let index = {
        let sheets = book.sheet_collection_no_check();
        let named = |n: &str| {
            n.contains(class.node.code.as_str())
                || (!class.node.zh.is_empty() && n.contains(class.node.zh.as_str()))
        };
        match sheet {
            Some(s) => sheets.iter().position(|w| w.name() == s),
            None => sheets.iter().position(|w| named(w.name())).or(Some(0)),
        }
        .ok_or_else(|| err(format!("no sheet named “{}”", sheet.unwrap_or_default())))?
    };
    let ws = book
        .sheet_mut(index)
        .map_err(|e| err(format!("sheet {index}: {e}")))?;
    let layout = Layout::of(ws, class);
    let mut changes = Vec::new();
    let mut record = |line: u32, col: u32, old: String, new: String, rule: Rule| {
        changes.push(Change::new(
            name,
            &class.node.code,
            u64::from(line),
            layout.header_of(col),
            (!old.is_empty()).then_some(old),
            new,
            rule,
            Confidence::Derived,
        ));
    };
    let points = layout
        .column_of_type(FieldType::Longitude)
        .zip(layout.column_of_type(FieldType::Latitude));
    for line in layout.data_start..=ws.highest_row() {
        for (&col, field) in &layout.fields {
            let old = text(ws, col, line);
            if let Some(half) = crate::csv_file::halfwidth(field, &old) {
                set(ws.cell_mut((col, line)), &half);
                record(line, col, old, half, Rule::FullWidth);
            }
        }
        let Some((x, y)) = points else { continue };
        if plan.swap.contains(&u64::from(line)) {
            let (lon, lat) = (text(ws, x, line), text(ws, y, line));
            set(ws.cell_mut((x, line)), &lat);
            set(ws.cell_mut((y, line)), &lon);
            record(line, x, lon.clone(), lat.clone(), Rule::Swapped);
            record(line, y, lat, lon, Rule::Swapped);
        }
        if plan.gcj02 {
            let (lon, lat) = (text(ws, x, line), text(ws, y, line));
            if let Some((new_lon, new_lat)) = crate::csv_file::from_gcj02(&lon, &lat) {
                set(ws.cell_mut((x, line)), &new_lon);
                set(ws.cell_mut((y, line)), &new_lat);
                record(line, x, lon, new_lon, Rule::Gcj02Shift);
                record(line, y, lat, new_lat, Rule::Gcj02Shift);
            }
        }
    }
    for ((line, column), planned) in &plan.set {
        let (Ok(line), Some(col)) = (u32::try_from(*line), layout.column(column)) else {
            continue;
        };
        let old = text(ws, col, line);
        set(ws.cell_mut((col, line)), &planned.new);
        changes.push(Change {
            column: layout.header_of(col),
            old: (!old.is_empty()).then_some(old),
            ..planned.clone()
        });
    }
    let mut bytes = Vec::new();
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut bytes)
        .map_err(|e| err(format!("cannot write the workbook: {e}")))?;
    Ok((bytes, changes))
}

/// Where a form's fields are.
struct Layout<'c> {
    /// Header text → column (1-based), the header row first, then the rows around it.
    columns: HashMap<String, u32>,
    /// Column → header text.
    headers: HashMap<u32, String>,
    /// Column → the field it holds.
    fields: HashMap<u32, &'c Field>,
    /// The first row after the header.
    data_start: u32,
}

impl<'c> Layout<'c> {
    fn of(ws: &Worksheet, class: &'c ResolvedClass) -> Self {
        let matcher = HeaderMatcher::new(&class.fields);
        let width = ws.highest_column();
        let named = |row: u32| {
            (1..=width)
                .filter(|&c| matcher.field(&text(ws, c, row)).is_some())
                .count()
        };
        let header = (1..=20.min(ws.highest_row()))
            .fold((1, 0), |best, row| {
                let n = named(row);
                if n > best.1 {
                    (row, n)
                } else {
                    best
                }
            })
            .0;
        let mut layout = Layout {
            columns: HashMap::new(),
            headers: HashMap::new(),
            fields: HashMap::new(),
            data_start: header + 1,
        };
        // The header row, then a sub-header below or a group header above (two-row headers).
        for row in [header, header + 1, header.saturating_sub(1)] {
            for col in 1..=width {
                let label = text(ws, col, row);
                let Some(field) = matcher.field(&label) else {
                    continue;
                };
                if layout.fields.contains_key(&col) {
                    continue;
                }
                layout.fields.insert(col, field);
                layout.headers.insert(col, label.clone());
                layout.columns.entry(label).or_insert(col);
            }
        }
        layout
    }

    fn column(&self, column: &Column) -> Option<u32> {
        match column {
            Column::Header(h) => self.columns.get(h).copied(),
            Column::Field(id) => self
                .fields
                .iter()
                .filter(|(_, f)| f.id == *id)
                .map(|(&c, _)| c)
                .min(),
        }
    }

    fn column_of_type(&self, t: FieldType) -> Option<u32> {
        self.fields
            .iter()
            .filter(|(_, f)| f.field_type == t)
            .map(|(&c, _)| c)
            .min()
    }

    fn header_of(&self, col: u32) -> String {
        self.headers.get(&col).cloned().unwrap_or_default()
    }
}

/// A cell's text (empty when there is no cell).
fn text(ws: &Worksheet, col: u32, row: u32) -> String {
    ws.cell((col, row))
        .map(|c| c.value().into_owned())
        .unwrap_or_default()
}

/// Write `value` into a cell, as a number where the cell held a number and `value` is one, else
/// as text (12-digit codes stay exact).
fn set(cell: &mut Cell, value: &str) {
    match value.parse::<f64>() {
        Ok(n) if cell.data_type() == "n" && n.is_finite() => {
            cell.set_value_number(n);
        }
        _ => {
            cell.set_value_string(value);
        }
    }
}

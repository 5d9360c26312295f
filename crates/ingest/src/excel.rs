//! Census Excel forms: title rows above the header, a header that may span two rows (merged
//! group cells), an optional units row and census-code row under it, numbers stored as text or
//! as numbers (12-digit codes come back as exact digit strings), Excel date serials, full-width
//! digits, and formatted-but-empty rows at the end. Row numbers are the rows Excel shows.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};
use riskcensus_core::schema::HeaderMatcher;
use riskcensus_core::table::RawTable;
use riskcensus_core::{FieldType, ResolvedClass};

use crate::builder::TableBuilder;
use crate::IngestError;

/// Whether the file is read as a spreadsheet (by extension).
pub fn is_spreadsheet(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods"
        )
    })
}

/// A cell as text: integers without a decimal point (so `620421103201` stays exact), dates as
/// `YYYY-MM-DD` in date columns, booleans as 是/否.
pub fn cell_text(cell: &Data, date_column: bool) -> Option<String> {
    match cell {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) if date_column && (1.0..2_958_466.0).contains(f) => {
            excel_serial_date(*f).or_else(|| Some(f.to_string()))
        }
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        Data::Float(f) => Some(f.to_string()),
        Data::Bool(b) => Some(if *b { "是" } else { "否" }.to_string()),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(d) if date_column || d.time() == chrono::NaiveTime::MIN => {
                Some(d.date().format("%Y-%m-%d").to_string())
            }
            Some(d) => Some(d.format("%Y-%m-%d %H:%M:%S").to_string()),
            None => Some(dt.as_f64().to_string()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Error(e) => Some(format!("#{e:?}")),
    }
}

fn excel_serial_date(serial: f64) -> Option<String> {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let days = serial.floor() as i64;
    base.checked_add_signed(chrono::Duration::days(days))
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// How many cells of a row name a field of the class.
fn matches(row: &[Option<String>], matcher: &HeaderMatcher<'_>) -> usize {
    row.iter()
        .flatten()
        .filter(|h| matcher.field(h).is_some())
        .count()
}

/// Units that census forms print in a units row.
const COMMON_UNITS: [&str; 30] = [
    "人",
    "个",
    "张",
    "辆",
    "台",
    "户",
    "次",
    "人次",
    "艘",
    "架",
    "种",
    "间",
    "件",
    "套",
    "件（套）",
    "台（套）",
    "级",
    "元",
    "万元",
    "亿元",
    "m",
    "m²",
    "平方米",
    "km²",
    "公顷",
    "万m³",
    "t",
    "吨",
    "万吨/年",
    "万人次",
];

/// A row under the header that holds units (`人`, `（万元）`) or census codes (`dwmc`), not data.
fn is_annotation_row(row: &[Option<String>], class: &ResolvedClass) -> bool {
    let cells: Vec<&String> = row
        .iter()
        .flatten()
        .filter(|c| !c.trim().is_empty())
        .collect();
    if cells.is_empty() {
        return false;
    }
    let annotation = cells
        .iter()
        .filter(|c| {
            let t = c.trim();
            let bracketed = (t.starts_with('(') || t.starts_with('（'))
                && (t.ends_with(')') || t.ends_with('）'));
            let bare = t
                .trim_matches(['(', ')', '（', '）'])
                .trim_start_matches("单位：")
                .trim_start_matches("单位:");
            let unit = COMMON_UNITS.contains(&bare)
                || class.fields.iter().any(|f| f.unit.as_deref() == Some(bare));
            let code = class
                .fields
                .iter()
                .any(|f| f.code.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(t)) || f.id == t);
            bracketed || unit || code
        })
        .count();
    annotation * 2 >= cells.len()
}

/// Read one sheet of a census Excel form.
pub fn ingest_excel(
    path: &Path,
    name: &str,
    sheet: Option<&str>,
    class: &ResolvedClass,
) -> Result<RawTable, IngestError> {
    let err = |message: String| IngestError::Spreadsheet {
        path: name.to_string(),
        message,
    };
    let (bytes, sha256) = crate::read_with_sha256(path, name)?;
    crate::limits::check_zip_inflation(&bytes).map_err(err)?;
    let mut book =
        open_workbook_auto(path).map_err(|e| err(format!("not a readable spreadsheet: {e}")))?;
    let sheets = book.sheet_names();
    let chosen = match sheet {
        Some(s) => sheets
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                err(format!(
                    "no sheet named “{s}” (sheets: {})",
                    sheets.join(", ")
                ))
            })?,
        None => sheets
            .iter()
            .find(|n| {
                n.contains(class.node.code.as_str())
                    || (!class.node.zh.is_empty() && n.contains(class.node.zh.as_str()))
            })
            .or_else(|| sheets.first())
            .cloned()
            .ok_or_else(|| err("the workbook has no sheet".into()))?,
    };
    let range = book
        .worksheet_range(&chosen)
        .map_err(|e| err(format!("sheet “{chosen}”: {e}")))?;
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let raw_rows: Vec<Vec<&Data>> = range.rows().map(|r| r.iter().collect()).collect();
    let text_rows: Vec<Vec<Option<String>>> = raw_rows
        .iter()
        .map(|r| r.iter().map(|c| cell_text(c, false)).collect())
        .collect();
    // The header: the row among the first 20 that names the most fields.
    let matcher = HeaderMatcher::new(&class.fields);
    let scan = text_rows.len().min(20);
    let (header_idx, best) = (0..scan)
        .map(|i| (i, matches(&text_rows[i], &matcher)))
        .fold((0, 0), |acc, x| if x.1 > acc.1 { x } else { acc });
    if best == 0 {
        return Err(err(format!("sheet “{chosen}”: no row in the first 20 names a field of {} — is this the right form?", class.node.code)));
    }
    // A two-row header: a cell that names no field may be named by the row below (merged group
    // cells above sub-fields) or above (a sub-header under the main one).
    let mut header: Vec<Option<String>> = text_rows[header_idx].clone();
    let mut data_start = header_idx + 1;
    let below = text_rows.get(header_idx + 1);
    if let Some(below) = below {
        if matches(below, &matcher) > 0 && !is_annotation_row(below, class) {
            for (i, cell) in header.iter_mut().enumerate() {
                let named = cell.as_ref().is_some_and(|h| matcher.field(h).is_some());
                if let (false, Some(Some(sub))) = (named, below.get(i)) {
                    *cell = Some(sub.clone());
                }
            }
            data_start += 1;
        }
    }
    if header_idx > 0 {
        let above = &text_rows[header_idx - 1];
        for (i, cell) in header.iter_mut().enumerate() {
            let named = cell.as_ref().is_some_and(|h| matcher.field(h).is_some());
            if let (false, Some(Some(up))) = (named, above.get(i)) {
                if matcher.field(up).is_some() {
                    *cell = Some(up.clone());
                }
            }
        }
    }
    while text_rows
        .get(data_start)
        .is_some_and(|r| is_annotation_row(r, class))
    {
        data_start += 1;
    }
    let header: Vec<String> = header.into_iter().map(|h| h.unwrap_or_default()).collect();
    let header_line = first_row as u64 + header_idx as u64 + 1;
    let mut table = TableBuilder::new(name, class, &header, header_line, 1024);
    // Date columns are read from Excel serials.
    let is_date: Vec<bool> = header
        .iter()
        .map(|h| {
            matcher
                .field(h)
                .is_some_and(|f| f.field_type == FieldType::Date)
        })
        .collect();
    // Formatted-but-empty rows at the end are not rows.
    let last = (data_start..raw_rows.len())
        .rev()
        .find(|&i| {
            raw_rows[i].iter().any(|c| !matches!(c, Data::Empty))
                && text_rows[i].iter().flatten().any(|t| !t.trim().is_empty())
        })
        .map_or(data_start, |i| i + 1);
    for (i, row) in raw_rows.iter().enumerate().take(last).skip(data_start) {
        let cells: Vec<Option<String>> = row
            .iter()
            .enumerate()
            .map(|(c, d)| cell_text(d, is_date.get(c).copied().unwrap_or(false)))
            .collect();
        table.push_row(
            first_row as u64 + i as u64 + 1,
            &cells.iter().map(|c| c.as_deref()).collect::<Vec<_>>(),
        );
    }
    table.finish(sha256, "Excel")
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskcensus_core::Field;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    fn class() -> ResolvedClass {
        let field = |id: &str, zh: &str, t| Field::new(id, zh, t);
        ResolvedClass::bare(
            "HB-PSF-01",
            vec![
                field("name", "单位名称", FieldType::Text),
                field("division_code", "行政区划代码", FieldType::DivisionCode),
                field("students", "在校学生数", FieldType::Integer),
                field("boarders", "寄宿生数", FieldType::Integer),
                field("day_students", "走读生数", FieldType::Integer),
                field("founded", "建校日期", FieldType::Date),
            ],
            vec![],
        )
    }

    /// A census-style sheet: title row, a two-row header with a merged 其中 group, a units row,
    /// a 12-digit code stored as a number, full-width digits, an Excel date, formatted empty rows.
    #[test]
    fn census_layout_is_read_with_excel_row_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("学校.xlsx");
        let mut wb = Workbook::new();
        let sheet = wb.add_worksheet();
        sheet.set_name("HB-PSF-01 学校").unwrap();
        let plain = Format::new();
        sheet
            .merge_range(0, 0, 0, 5, "白银市 学校 统计表", &plain)
            .unwrap();
        for (c, h) in [
            "单位名称",
            "行政区划代码",
            "在校学生数（人）",
            "其中",
            "",
            "建校日期",
        ]
        .iter()
        .enumerate()
        {
            if !h.is_empty() && c != 3 {
                sheet.write_string(1, c as u16, *h).unwrap();
            }
        }
        sheet.merge_range(1, 3, 1, 4, "其中", &plain).unwrap();
        sheet.write_string(2, 3, "寄宿生数").unwrap();
        sheet.write_string(2, 4, "走读生数").unwrap();
        for (c, u) in [(2, "（人）"), (3, "人"), (4, "人")] {
            sheet.write_string(3, c, u).unwrap();
        }
        sheet.write_string(4, 0, "第一小学").unwrap();
        sheet.write_number(4, 1, 620421103201.0).unwrap();
        sheet.write_string(4, 2, "４２０").unwrap();
        sheet.write_number(4, 3, 100.0).unwrap();
        sheet.write_number(4, 4, 320.0).unwrap();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        sheet
            .write_datetime_with_format(4, 5, ExcelDateTime::from_ymd(1998, 9, 1).unwrap(), &date)
            .unwrap();
        sheet.write_string(5, 0, "第二小学").unwrap();
        sheet.write_string(5, 1, "620421103202").unwrap();
        sheet.write_number(5, 2, 300.0).unwrap();
        sheet.write_number(5, 4, 300.0).unwrap();
        sheet.write_string(5, 5, "2001/9/1").unwrap();
        sheet.write_blank(8, 0, &date).unwrap();
        wb.save(&path).unwrap();

        let t = ingest_excel(&path, "学校.xlsx", None, &class()).unwrap();
        assert!(t.findings.is_empty(), "{:?}", t.findings);
        assert_eq!(t.lines, [5, 6], "Excel row numbers");
        let fields: Vec<_> = t
            .columns
            .iter()
            .map(|c| c.field.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "division_code",
                "students",
                "boarders",
                "day_students",
                "founded"
            ]
        );
        let cell = |col: &str, row: usize| {
            t.frame
                .column(col)
                .unwrap()
                .str()
                .unwrap()
                .get(row)
                .map(str::to_string)
        };
        assert_eq!(cell("division_code", 0).as_deref(), Some("620421103201"));
        assert_eq!(cell("students", 0).as_deref(), Some("420"));
        assert_eq!(cell("founded", 0).as_deref(), Some("1998-09-01"));
        assert_eq!(cell("founded", 1).as_deref(), Some("2001/9/1"));
        assert_eq!(cell("boarders", 1), None);
    }

    #[test]
    fn a_sheet_without_the_form_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        let mut wb = Workbook::new();
        wb.add_worksheet()
            .write_string(0, 0, "nothing here")
            .unwrap();
        wb.save(&path).unwrap();
        let err = ingest_excel(&path, "x.xlsx", None, &class())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no row in the first 20 names a field"),
            "{err}"
        );
        let err = ingest_excel(&path, "x.xlsx", Some("missing"), &class())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no sheet named"), "{err}");
        std::fs::write(&path, b"not a zip").unwrap();
        assert!(ingest_excel(&path, "x.xlsx", None, &class()).is_err());
    }
}

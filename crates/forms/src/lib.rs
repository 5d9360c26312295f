//! Forms: the class schemas turned into what technicians and other tools use.
//!
//! - [`write_template`]: one `.xlsx` per class (rust_xlsxwriter) — title row, header row with the
//!   Chinese labels and units (`*` marks required fields), a hidden row of census field codes, a
//!   dropdown for every code list and 是/否 field, number and text formats (codes stay text),
//!   frozen header, and a 填表说明 sheet with every field and the class's place in the
//!   2 → 7 → 31 tree. Rows passed in are written as data: a filled template.
//! - [`table_schema`] / [`json_schema`]: Frictionless Table Schema (v2) and JSON Schema
//!   (draft 2020-12) descriptors of a class.
//!
//! ```
//! use riskcensus_core::{Field, FieldType, ResolvedClass};
//! let students = Field { required: true, min: Some(0.0), ..Field::new("students", "在校学生数", FieldType::Integer) };
//! let class = ResolvedClass::bare("HB-PSF-01", vec![students], vec![]);
//! let schema = riskcensus_forms::table_schema(&class);
//! assert_eq!(schema["fields"][0]["type"], "integer");
//! assert_eq!(schema["fields"][0]["constraints"]["minimum"], 0);
//! ```
#![deny(missing_docs)]

use std::path::Path;

use riskcensus_core::schema::{LocationKind, ResolvedClass, Source, Taxonomy};
use riskcensus_core::{Field, FieldType};
use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Formula, Workbook, XlsxError};
use serde_json::{json, Map, Value};

/// Errors writing a template.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormsError {
    /// The spreadsheet writer failed.
    #[error("cannot write {path}: {source}")]
    Xlsx {
        /// The file.
        path: String,
        /// rust_xlsxwriter's error.
        source: XlsxError,
    },
}

/// The first data row of a template (0-based; Excel row 4): title, header, census codes above.
pub const FIRST_DATA_ROW: u32 = 3;
/// Rows that carry dropdowns and formats.
pub const TEMPLATE_ROWS: u32 = 2000;

fn source_tag(s: Source) -> &'static str {
    match s {
        Source::S => "S 有据",
        Source::S3 => "S3 第三方代码",
        Source::R => "R 推定，请核实",
    }
}

/// The source tag with its evidence, and a note where the code list is reconstructed.
fn source_label(f: &Field) -> String {
    let mut label = source_tag(f.source).to_string();
    if let Some(evidence) = &f.evidence {
        label.push_str(&format!("：{evidence}"));
    }
    if f.codes_source == Some(Source::R) && f.source != Source::R {
        label.push_str("（代码表为推定 R）");
    }
    label
}

fn type_zh(f: &Field) -> &'static str {
    match f.field_type {
        FieldType::Text => "文本",
        FieldType::Integer => "整数",
        FieldType::Decimal => "数值",
        FieldType::Enum => "单选（下拉）",
        FieldType::MultiEnum => "多选（用;分隔）",
        FieldType::Date => "日期",
        FieldType::Boolean => "是/否（下拉）",
        FieldType::DivisionCode => "12位统计用区划代码",
        FieldType::CreditCode => "18位统一社会信用代码",
        FieldType::Longitude => "经度（CGCS2000，十进制度）",
        FieldType::Latitude => "纬度（CGCS2000，十进制度）",
    }
}

/// The header label of a field in a template: `*` for required, then the label with its unit.
pub fn template_label(f: &Field) -> String {
    format!(
        "{}{}",
        if f.required { "*" } else { "" },
        f.label_with_unit()
    )
}

/// Write the template of a class to `path`, with `rows` (cells in field order) as data, all
/// stored as text, as a technician pastes them.
pub fn write_template(
    class: &ResolvedClass,
    taxonomy: &Taxonomy,
    rows: &[Vec<String>],
    path: &Path,
) -> Result<(), FormsError> {
    write_filled(class, taxonomy, rows, false, path)
}

/// Like [`write_template`]; with `store_numbers`, numeric and division-code cells are stored as
/// Excel numbers and dates as Excel dates, as a form filled by hand in Excel ends up.
pub fn write_filled(
    class: &ResolvedClass,
    taxonomy: &Taxonomy,
    rows: &[Vec<String>],
    store_numbers: bool,
    path: &Path,
) -> Result<(), FormsError> {
    let err = |source| FormsError::Xlsx {
        path: path.display().to_string(),
        source,
    };
    build(class, taxonomy, rows, store_numbers)
        .and_then(|mut wb| wb.save(path))
        .map_err(err)
}

fn build(
    class: &ResolvedClass,
    taxonomy: &Taxonomy,
    rows: &[Vec<String>],
    store_numbers: bool,
) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    // A fixed creation time: the same schema and rows give the same bytes.
    let created = rust_xlsxwriter::ExcelDateTime::from_ymd(2020, 12, 31)?;
    wb.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_creation_datetime(&created)
            .set_title(format!("{} {}", class.node.code, class.node.zh)),
    );
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color(0xDDEBF7)
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let required_head = head.clone().set_font_color(0xC00000);
    let text = Format::new().set_num_format("@");
    let integer = Format::new().set_num_format("0");
    let decimal = Format::new().set_num_format("0.00");
    let coordinate = Format::new().set_num_format("0.000000");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let node = &class.node;
    let n = class.fields.len() as u16;

    // The code lists, in a hidden sheet that the dropdowns refer to.
    let lists: Vec<(usize, Vec<String>)> = class
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.field_type {
            FieldType::Enum => Some((i, f.codes.clone())),
            FieldType::Boolean => Some((i, vec!["是".into(), "否".into()])),
            _ => None,
        })
        .collect();

    let sheet = wb.add_worksheet();
    sheet.set_name(&node.code)?;
    let heading = format!(
        "{} {}（{}）",
        node.code,
        node.zh,
        node.sys_table.as_deref().unwrap_or("")
    );
    if n > 1 {
        sheet.merge_range(0, 0, 0, n - 1, &heading, &title)?;
    } else {
        sheet.write_string_with_format(0, 0, &heading, &title)?;
    }
    for (i, f) in class.fields.iter().enumerate() {
        let col = i as u16;
        sheet.write_string_with_format(
            1,
            col,
            template_label(f),
            if f.required { &required_head } else { &head },
        )?;
        sheet.write_string(2, col, f.code.as_deref().unwrap_or(&f.id))?;
        let format = match f.field_type {
            FieldType::Integer => &integer,
            FieldType::Decimal => &decimal,
            FieldType::Longitude | FieldType::Latitude => &coordinate,
            FieldType::Date => &date,
            _ => &text,
        };
        sheet.set_column_format(col, format)?;
        sheet.set_column_width(
            col,
            (f.label_with_unit().chars().count() as f64 * 2.2).clamp(10.0, 40.0),
        )?;
        if f.field_type == FieldType::MultiEnum {
            let dv = DataValidation::new()
                .allow_any_value()
                .set_input_title("多选")?
                .set_input_message(
                    format!("可选（多个用“;”分隔）：{}", f.codes.join(";"))
                        .chars()
                        .take(250)
                        .collect::<String>(),
                )?;
            sheet.add_data_validation(
                FIRST_DATA_ROW,
                col,
                FIRST_DATA_ROW + TEMPLATE_ROWS,
                col,
                &dv,
            )?;
        }
    }
    sheet.set_row_hidden(2)?;
    sheet.set_row_height(1, 45)?;
    sheet.set_freeze_panes(FIRST_DATA_ROW, 0)?;
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let (row, col) = (FIRST_DATA_ROW + r as u32, c as u16);
            let kind = class.fields.get(c).map(|f| f.field_type);
            let as_number = store_numbers
                && matches!(
                    kind,
                    Some(
                        FieldType::Integer
                            | FieldType::Decimal
                            | FieldType::Longitude
                            | FieldType::Latitude
                            | FieldType::DivisionCode
                    )
                );
            match value.parse::<f64>() {
                _ if value.is_empty() => {}
                Ok(n) if as_number => {
                    sheet.write_number(row, col, n)?;
                }
                _ if store_numbers && kind == Some(FieldType::Date) => {
                    match rust_xlsxwriter::ExcelDateTime::parse_from_str(value) {
                        Ok(d) => {
                            sheet.write_datetime_with_format(row, col, &d, &date)?;
                        }
                        Err(_) => {
                            sheet.write_string(row, col, value)?;
                        }
                    }
                }
                _ => {
                    sheet.write_string(row, col, value)?;
                }
            }
        }
    }
    for (list_col, (field_idx, codes)) in lists.iter().enumerate() {
        let letter = column_letter(list_col as u16);
        let formula = Formula::new(format!("=代码表!${letter}$2:${letter}${}", codes.len() + 1));
        let dv = DataValidation::new()
            .allow_list_formula(formula)
            .set_error_message(format!(
                "请从下拉列表中选择“{}”的值",
                class.fields[*field_idx].zh
            ))?;
        sheet.add_data_validation(
            FIRST_DATA_ROW,
            *field_idx as u16,
            FIRST_DATA_ROW + TEMPLATE_ROWS,
            *field_idx as u16,
            &dv,
        )?;
    }

    let codes = wb.add_worksheet();
    codes.set_name("代码表")?;
    for (list_col, (field_idx, values)) in lists.iter().enumerate() {
        codes.write_string(0, list_col as u16, &class.fields[*field_idx].zh)?;
        for (r, v) in values.iter().enumerate() {
            codes.write_string(r as u32 + 1, list_col as u16, v)?;
        }
    }
    codes.set_hidden(true);

    let help = wb.add_worksheet();
    help.set_name("填表说明")?;
    let bold = Format::new().set_bold();
    let mid = node
        .parent
        .as_deref()
        .and_then(|p| taxonomy.mid.iter().find(|m| m.code == p));
    let major = mid
        .and_then(|m| m.parent.as_deref())
        .and_then(|p| taxonomy.major.iter().find(|m| m.code == p));
    let tree = format!(
        "{} {} → {} {} → {} {}",
        major.map_or("", |m| m.code.as_str()),
        major.map_or("", |m| m.zh.as_str()),
        mid.map_or("", |m| m.code.as_str()),
        mid.map_or("", |m| m.zh.as_str()),
        node.code,
        node.zh
    );
    help.write_string_with_format(0, 0, format!("{} {} 填表说明", node.code, node.zh), &title)?;
    help.write_string(1, 0, format!("分类位置（2大类 → 7中类 → 31小类）：{tree}"))?;
    help.write_string(
        2,
        0,
        format!(
            "普查系统表名：{}；表式版本：{}",
            node.sys_table.as_deref().unwrap_or("-"),
            class.version
        ),
    )?;
    help.write_string(3, 0, "带 * 的列为必填；从第4行起填写，一行一个对象；代码类字段请保持文本格式；坐标为 CGCS2000 经纬度（十进制度）。")?;
    help.write_string(4, 0, location_note(class))?;
    let cols = [
        "列名",
        "普查字段代码",
        "字段",
        "类型",
        "单位",
        "必填",
        "取值范围/代码表",
        "来源",
    ];
    for (c, h) in cols.iter().enumerate() {
        help.write_string_with_format(5, c as u16, *h, &bold)?;
    }
    for (i, f) in class.fields.iter().enumerate() {
        let r = 6 + i as u32;
        let range = match (f.min, f.max) {
            (Some(a), Some(b)) => format!("{a}–{b}"),
            (Some(a), None) => format!("≥ {a}"),
            (None, Some(b)) => format!("≤ {b}"),
            (None, None) => String::new(),
        };
        let allowed = if f.codes.is_empty() {
            range
        } else {
            f.codes.join("、")
        };
        let values = [
            f.label_with_unit(),
            f.code.clone().unwrap_or_default(),
            f.id.clone(),
            type_zh(f).to_string(),
            f.unit.clone().unwrap_or_default(),
            match (f.required, f.derive) {
                (true, Some(_)) => "是（可由本行推导，可不填）".into(),
                (true, None) => "是".into(),
                (false, _) => String::new(),
            },
            allowed,
            source_label(f),
        ];
        for (c, v) in values.iter().enumerate() {
            help.write_string(r, c as u16, v)?;
        }
    }
    help.set_column_width(0, 36)?;
    help.set_column_width(6, 60)?;
    Ok(wb)
}

/// Where the class's rows are, as the help sheet says it (docs/rules.md).
fn location_note(class: &ResolvedClass) -> &'static str {
    match class.location {
        LocationKind::Point => "定位方式：按坐标（点）定位，详细地址与经纬度必填。",
        LocationKind::Village => {
            "定位方式：本表描述社区（行政村）本身，按行政区划代码落到村界；详细地址、经纬度可不填，填写时核对。"
        }
        LocationKind::Township => {
            "定位方式：本表描述乡镇（街道）本身，行政区划代码填乡镇级代码；详细地址、经纬度可不填，填写时核对。"
        }
        LocationKind::Household => "定位方式：按抽样村（社区）的行政区划代码定位。",
    }
}

fn column_letter(mut col: u16) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (col % 26) as u8) as char);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s
}

fn table_type(t: FieldType) -> (&'static str, Option<&'static str>) {
    match t {
        FieldType::Integer => ("integer", None),
        FieldType::Decimal | FieldType::Longitude | FieldType::Latitude => ("number", None),
        FieldType::Boolean => ("boolean", None),
        FieldType::Date => ("date", None),
        FieldType::DivisionCode => ("string", Some("^[0-9]{12}$")),
        FieldType::CreditCode => ("string", Some("^[0-9A-HJ-NPQRTUWXY]{18}$")),
        FieldType::Text | FieldType::Enum | FieldType::MultiEnum => ("string", None),
    }
}

/// A Frictionless Table Schema (v2) of a class: names are the census column labels with units as
/// a form prints them, so that a filled CSV validates as is; `是`/`否` are the boolean values.
pub fn table_schema(class: &ResolvedClass) -> Value {
    let fields: Vec<Value> = class
        .fields
        .iter()
        .map(|f| {
            let (t, pattern) = table_type(f.field_type);
            let mut constraints = Map::new();
            if f.required {
                constraints.insert("required".into(), json!(true));
            }
            if let Some(min) = f.min {
                constraints.insert("minimum".into(), number(min));
            }
            if let Some(max) = f.max {
                constraints.insert("maximum".into(), number(max));
            }
            if let Some(n) = f.max_len {
                constraints.insert("maxLength".into(), json!(n));
            }
            if let Some(p) = pattern {
                constraints.insert("pattern".into(), json!(p));
            }
            if f.field_type == FieldType::Enum {
                constraints.insert("enum".into(), json!(f.codes));
            }
            let mut field = json!({
                "name": f.label_with_unit(),
                "title": f.en,
                "description": format!("{} ({}){}; source {:?}{}", f.zh, f.id, f.code.as_deref().map(|c| format!(", census code {c}")).unwrap_or_default(), f.source, f.evidence.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()),
                "type": t,
            });
            if f.field_type == FieldType::Boolean {
                field["trueValues"] = json!(["是"]);
                field["falseValues"] = json!(["否"]);
            }
            if f.field_type == FieldType::Date {
                field["format"] = json!("any");
            }
            if !constraints.is_empty() {
                field["constraints"] = Value::Object(constraints);
            }
            field
        })
        .collect();
    json!({
        "$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
        "fields": fields,
        "missingValues": [""],
    })
}

fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// A JSON Schema (draft 2020-12) of one record of a class, keyed by field id.
pub fn json_schema(class: &ResolvedClass) -> Value {
    let mut properties = Map::new();
    for f in &class.fields {
        let mut p = match f.field_type {
            FieldType::Integer => json!({"type": "integer"}),
            FieldType::Decimal | FieldType::Longitude | FieldType::Latitude => {
                json!({"type": "number"})
            }
            FieldType::Boolean => json!({"type": "boolean"}),
            FieldType::Date => json!({"type": "string", "format": "date"}),
            FieldType::Enum => json!({"enum": f.codes}),
            FieldType::MultiEnum => {
                json!({"type": "array", "items": {"enum": f.codes}, "uniqueItems": true})
            }
            FieldType::DivisionCode | FieldType::CreditCode | FieldType::Text => {
                let mut s = json!({"type": "string"});
                if let Some(pat) = table_type(f.field_type).1 {
                    s["pattern"] = json!(pat);
                }
                s
            }
        };
        p["title"] = json!(f.label_with_unit());
        p["description"] = json!(f.en);
        if let Some(min) = f.min {
            p["minimum"] = number(min);
        }
        if let Some(max) = f.max {
            p["maximum"] = number(max);
        }
        if let Some(n) = f.max_len {
            p["maxLength"] = json!(n);
        }
        properties.insert(f.id.clone(), p);
    }
    let required: Vec<&str> = class
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.id.as_str())
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("https://riskcensus.invalid/schemas/{}.json", class.node.code),
        "title": format!("{} {}", class.node.code, class.node.zh),
        "description": class.node.en,
        "type": "object",
        "properties": properties,
        "required": required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
    }
}

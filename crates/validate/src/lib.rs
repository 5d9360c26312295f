//! Validate: typed values and findings from a [`RawTable`], columnar on polars.
//!
//! Every field of the class schema becomes a typed column (always present, null where the file
//! lacks it, so every output of a class has one schema). The cell rules (required, type, code
//! list, range, length), the identifier rules (division code format, existence and level in the
//! register, credit-code length, charset and checksum), the cross-field rules (其中 ≤ 合计,
//! conditional required) and the duplicate rules run over whole columns; each violation becomes a
//! [`Finding`] with the file's row number, header and value.
//!
//! ```
//! use riskcensus_core::{Field, FieldType, Register, ResolvedClass};
//! let field = |id, zh, t| Field { required: true, min: Some(0.0), ..Field::new(id, zh, t) };
//! let class = ResolvedClass::bare("HB-PSF-01", vec![field("name", "单位名称", FieldType::Text),
//!     field("students", "在校学生数", FieldType::Integer)], vec![]);
//! let csv = "单位名称,在校学生数\n第一小学,420\n,-3\n";
//! let raw = riskcensus_ingest::ingest_bytes("a.csv", csv.as_bytes(), Default::default(), &class).unwrap();
//! let out = riskcensus_validate::validate(&raw, &class, &Register::default()).unwrap();
//! let rules: Vec<_> = out.findings.iter().map(|f| (f.row.unwrap(), f.rule.code())).collect();
//! assert_eq!(rules, [(3, "cell.required"), (3, "cell.range")]);
//! assert_eq!(out.typed.column("students").unwrap().i64().unwrap().get(0), Some(420));
//! ```
#![deny(missing_docs)]

pub mod derive;
pub mod suggest;

use foldhash::{HashMap, HashMapExt};

use polars::prelude::*;
pub use riskcensus_core::schema::normalize_name;
use riskcensus_core::schema::Check;
use riskcensus_core::table::{RawTable, LINE_COLUMN};
use riskcensus_core::uscc::{self, UsccProblem};
use riskcensus_core::{
    Confidence, DivisionCode, Field, FieldType, Finding, Level, Register, ResolvedClass, Rule,
};

/// The result of validating one table.
#[derive(Debug, Clone)]
pub struct Validated {
    /// One typed column per schema field (field ids) plus [`LINE_COLUMN`], row for row with the
    /// raw table.
    pub typed: DataFrame,
    /// Every finding, structure findings from ingest first.
    pub findings: Vec<Finding>,
    /// Every value derived ([`derive`]).
    pub changes: Vec<riskcensus_core::Change>,
}

/// The polars type a field's values are held in.
pub fn dtype_of(t: FieldType) -> DataType {
    match t {
        FieldType::Integer => DataType::Int64,
        FieldType::Decimal | FieldType::Longitude | FieldType::Latitude => DataType::Float64,
        FieldType::Boolean => DataType::Boolean,
        FieldType::Date => DataType::Date,
        FieldType::Text
        | FieldType::Enum
        | FieldType::MultiEnum
        | FieldType::DivisionCode
        | FieldType::CreditCode => DataType::String,
    }
}

fn typed_expr(f: &Field) -> Expr {
    let c = col(f.id.as_str());
    match f.field_type {
        FieldType::Boolean => when(c.clone().eq(lit("是")))
            .then(lit(true))
            .when(c.eq(lit("否")))
            .then(lit(false))
            .otherwise(lit(NULL).cast(DataType::Boolean)),
        // Parsed beforehand, in `validate_with`.
        FieldType::Date => col(format!("__t_{}", f.id).as_str()),
        // Normalised beforehand, in `validate_with` (see `normalize_multi`).
        FieldType::MultiEnum => col(format!("__t_{}", f.id).as_str()),
        // `NaN`, `inf` and numbers beyond a double (`1e400` reads as inf) are no values: they
        // stay null here and so are type findings, and never reach a sum or an index.
        t @ (FieldType::Decimal | FieldType::Longitude | FieldType::Latitude) => {
            let value = c.cast(dtype_of(t));
            when(value.clone().is_finite())
                .then(value)
                .otherwise(lit(NULL).cast(DataType::Float64))
        }
        t => c.cast(dtype_of(t)),
    }
}

/// A boolean column per rule and field, true where the rule fires.
struct Mask {
    name: String,
    rule: Rule,
    field: String,
    zh: String,
    en: String,
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Validate a raw table against its class.
pub fn validate(
    raw: &RawTable,
    class: &ResolvedClass,
    register: &Register,
) -> PolarsResult<Validated> {
    validate_with(raw, class, register, &Options::default())
}

/// Settings of a validation that come from the pipeline.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The census reference date (dates marked `not_after_reference` must not be later).
    pub reference_date: Option<chrono::NaiveDate>,
}

/// Parse a date as census forms write it: `2020-12-31`, `2020/12/31`, `2020.12.31`,
/// `2020年12月31日`, `20201231` (single-digit months and days allowed).
///
/// ```
/// use riskcensus_validate::parse_date;
/// let d = chrono::NaiveDate::from_ymd_opt(2015, 3, 1);
/// assert_eq!(parse_date("2015/3/1"), d);
/// assert_eq!(parse_date("2015年3月1日"), d);
/// assert_eq!(parse_date("20150301"), d);
/// assert_eq!(parse_date("2015-02-30"), None);
/// ```
pub fn parse_date(text: &str) -> Option<chrono::NaiveDate> {
    let t = text.trim();
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        return chrono::NaiveDate::parse_from_str(t, "%Y%m%d").ok();
    }
    let parts: Vec<&str> = t
        .trim_end_matches('日')
        .split(['-', '/', '.', '年', '月'])
        .collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1000..=9999).contains(&y) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(y, m, d)
}

/// The separators of multi-select values.
pub const MULTI_SEPARATORS: [char; 5] = [';', '；', '、', ',', '，'];

/// Validate a raw table against its class, with pipeline settings.
pub fn validate_with(
    raw: &RawTable,
    class: &ResolvedClass,
    register: &Register,
    options: &Options,
) -> PolarsResult<Validated> {
    // Derivable columns filled first: the rules then judge what could not be derived.
    let derive::Derived {
        frame: base,
        findings: derived_findings,
        changes,
    } = derive::derive(raw, class, register)?;
    let present: Vec<&Field> = class
        .fields
        .iter()
        .filter(|f| base.column(f.id.as_str()).is_ok())
        .collect();
    let mut masks: Vec<Mask> = Vec::new();
    let mut exprs: Vec<Expr> = Vec::new();
    let mut add =
        |exprs: &mut Vec<Expr>, e: Expr, rule: Rule, f: &Field, zh: String, en: String| {
            let name = format!("__m{}", masks.len());
            exprs.push(e.alias(name.as_str()));
            masks.push(Mask {
                name,
                rule,
                field: f.id.clone(),
                zh,
                en,
            });
        };
    for f in &present {
        let raw_col = col(f.id.as_str());
        let typed = col(format!("__t_{}", f.id).as_str());
        let label = f.label_with_unit();
        // A derivable value is not the technician's to fill: it is derived where its source (the
        // division code, the credit code) is sound, and where not, the source's own finding says
        // why. A present value is still checked against the source (`id.division_name`).
        if f.required && f.derive.is_none() {
            add(
                &mut exprs,
                raw_col.clone().is_null(),
                Rule::Required,
                f,
                format!("必填项“{label}”为空"),
                format!("required value “{}” is empty", f.en),
            );
        }
        match f.field_type {
            FieldType::Integer
            | FieldType::Decimal
            | FieldType::Longitude
            | FieldType::Latitude
            | FieldType::Boolean => {
                let expected = match f.field_type {
                    FieldType::Integer => ("整数", "a whole number"),
                    FieldType::Boolean => ("“是”或“否”", "是 or 否"),
                    _ => ("数值", "a number"),
                };
                add(
                    &mut exprs,
                    raw_col.clone().is_not_null().and(typed.clone().is_null()),
                    Rule::Type,
                    f,
                    format!("“{label}”应为{}", expected.0),
                    format!("“{}” must be {}", f.en, expected.1),
                );
            }
            FieldType::Enum => {
                let codes = Series::new("codes".into(), f.codes.clone());
                add(
                    &mut exprs,
                    raw_col.clone().is_not_null().and(
                        raw_col
                            .clone()
                            .is_in(lit(codes).implode(false), false)
                            .not(),
                    ),
                    Rule::CodeList,
                    f,
                    format!("“{label}”的值不在代码表中（可选：{}）", f.codes.join("、")),
                    format!("“{}” is not one of: {}", f.en, f.codes.join(", ")),
                );
            }
            FieldType::DivisionCode => {
                add(
                    &mut exprs,
                    raw_col
                        .clone()
                        .is_not_null()
                        .and(raw_col.clone().str().contains(lit(r"^\d{12}$"), true).not()),
                    Rule::DivisionFormat,
                    f,
                    "行政区划代码应为12位数字（统计用区划代码）".into(),
                    "the division code must be 12 digits (NBS statistical code)".into(),
                );
            }
            FieldType::Date => {
                add(
                    &mut exprs,
                    raw_col.clone().is_not_null().and(typed.clone().is_null()),
                    Rule::Type,
                    f,
                    format!("“{label}”应为日期（如 2020-12-31）"),
                    format!("“{}” must be a date (e.g. 2020-12-31)", f.en),
                );
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                let days = |d: chrono::NaiveDate| (d - epoch).num_days() as i32;
                let floor = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).map_or(0, days);
                let as_days = typed.clone().cast(DataType::Int32);
                let mut out_of_range = as_days.clone().lt(lit(floor));
                let mut bound_zh = "早于1900年".to_string();
                let mut bound_en = "before 1900".to_string();
                if let (true, Some(reference)) = (f.not_after_reference, options.reference_date) {
                    out_of_range = out_of_range.or(as_days.gt(lit(days(reference))));
                    bound_zh = format!("早于1900年或晚于普查标准时点 {reference}");
                    bound_en =
                        format!("before 1900 or after the census reference date {reference}");
                }
                add(
                    &mut exprs,
                    out_of_range.fill_null(lit(false)),
                    Rule::DateRange,
                    f,
                    format!("“{label}”{bound_zh}"),
                    format!("“{}” is {bound_en}", f.en),
                );
            }
            FieldType::Text | FieldType::CreditCode | FieldType::MultiEnum => {}
        }
        if let Some(n) = f.max_len {
            add(
                &mut exprs,
                raw_col.clone().str().len_chars().gt(lit(n as u32)),
                Rule::Length,
                f,
                format!("“{label}”超过{n}个字符"),
                format!("“{}” is longer than {n} characters", f.en),
            );
        }
        if f.field_type.is_numeric()
            && f.field_type != FieldType::Longitude
            && f.field_type != FieldType::Latitude
        {
            let range = |e: Expr| -> Option<Expr> {
                match (f.min, f.max) {
                    (Some(lo), Some(hi)) => Some(e.clone().lt(lit(lo)).or(e.gt(lit(hi)))),
                    (Some(lo), None) => Some(e.lt(lit(lo))),
                    (None, Some(hi)) => Some(e.gt(lit(hi))),
                    (None, None) => None,
                }
            };
            if let Some(e) = range(typed.clone().cast(DataType::Float64)) {
                let bounds = match (f.min, f.max) {
                    (Some(lo), Some(hi)) => format!("{}–{}", fmt_num(lo), fmt_num(hi)),
                    (Some(lo), None) => format!("≥ {}", fmt_num(lo)),
                    (None, Some(hi)) => format!("≤ {}", fmt_num(hi)),
                    (None, None) => String::new(),
                };
                add(
                    &mut exprs,
                    e.fill_null(lit(false)),
                    Rule::Range,
                    f,
                    format!("“{label}”应在 {bounds} 范围内"),
                    format!("“{}” must be {bounds}", f.en),
                );
            }
        }
    }
    // Coordinates too coarse to place the object within a village (degrees only).
    let coordinate = |t: FieldType| present.iter().copied().find(|f| f.field_type == t);
    if let (Some(lon), Some(lat)) = (
        coordinate(FieldType::Longitude),
        coordinate(FieldType::Latitude),
    ) {
        let coarse = |f: &Field| {
            let typed = col(format!("__t_{}", f.id).as_str());
            col(f.id.as_str())
                .str()
                .contains(lit(r"^-?\d+(\.\d{0,2})?$"), true)
                .and(
                    typed
                        .clone()
                        .lt_eq(lit(180.0))
                        .and(typed.gt_eq(lit(-180.0))),
                )
        };
        let zero = col(format!("__t_{}", lon.id).as_str())
            .eq(lit(0.0))
            .and(col(format!("__t_{}", lat.id).as_str()).eq(lit(0.0)));
        add(&mut exprs, coarse(lon).or(coarse(lat)).and(zero.not()).fill_null(lit(false)), Rule::FewDecimals, lon,
            format!("“{}/{}”少于3位小数（误差可达1公里），无法定位到村", lon.zh, lat.zh),
            format!("“{}/{}” have fewer than 3 decimals (up to 1 km off): too coarse to place in a village", lon.en, lat.en));
    }
    // 万元 entered as 元 (or the reverse): about 10⁴ off the file's median.
    for f in present
        .iter()
        .filter(|f| f.check_unit_slip && f.field_type.is_numeric())
    {
        let typed = col(format!("__t_{}", f.id).as_str()).cast(DataType::Float64);
        let positive = typed.clone().filter(typed.clone().gt(lit(0.0)));
        let median = positive.clone().median();
        let enough = positive.count().gt_eq(lit(10u32));
        let slip = typed.clone().gt_eq(median.clone() * lit(1000.0)).or(typed
            .clone()
            .gt(lit(0.0))
            .and(typed.lt_eq(median / lit(1000.0))));
        let unit = f.unit.clone().unwrap_or_default();
        add(&mut exprs, slip.and(enough).fill_null(lit(false)), Rule::UnitSlip, f,
            format!("“{}”与本表其他值相差约千倍以上，疑为单位错误（本栏单位：{unit}）", f.zh),
            format!("“{}” is about 10³–10⁴ times off the other values of this file: likely a unit slip (the column is in {unit})", f.en));
    }
    for check in &class.checks {
        match check {
            Check::PartLeTotal { parts, total } => {
                let (Some(tf), true) = (class.field(total), base.column(total.as_str()).is_ok())
                else {
                    continue;
                };
                let part_fields: Vec<&Field> = parts
                    .iter()
                    .filter_map(|p| class.field(p))
                    .filter(|p| base.column(p.id.as_str()).is_ok())
                    .collect();
                if part_fields.is_empty() {
                    continue;
                }
                let sum = part_fields
                    .iter()
                    .map(|p| {
                        col(format!("__t_{}", p.id).as_str())
                            .cast(DataType::Float64)
                            .fill_null(lit(0.0))
                    })
                    .reduce(|a, b| a + b)
                    .unwrap_or(lit(0.0));
                let t = col(format!("__t_{}", tf.id).as_str()).cast(DataType::Float64);
                let names_zh: Vec<String> =
                    part_fields.iter().map(|p| format!("“{}”", p.zh)).collect();
                let names_en: Vec<String> = part_fields.iter().map(|p| p.en.clone()).collect();
                add(
                    &mut exprs,
                    sum.gt(t).fill_null(lit(false)),
                    Rule::PartExceedsTotal,
                    part_fields[0],
                    format!("{}之和大于“{}”", names_zh.join(" + "), tf.zh),
                    format!("{} exceeds {}", names_en.join(" + "), tf.en),
                );
            }
            Check::RequiredIf {
                field,
                when: trigger,
                equals,
            } => {
                let (Some(ff), Some(tf)) = (class.field(field), class.field(trigger)) else {
                    continue;
                };
                if base.column(trigger.as_str()).is_err() {
                    continue;
                }
                let cond = match equals {
                    // A multi-select triggers when the value is one of its items.
                    Some(v) if tf.field_type == FieldType::MultiEnum => {
                        col(format!("__t_{trigger}").as_str())
                            .str()
                            .split(lit(";"))
                            .list()
                            .contains(lit(v.as_str()), true)
                    }
                    Some(v) => col(trigger.as_str()).eq(lit(v.as_str())),
                    None => col(trigger.as_str()).is_not_null(),
                };
                // A derivable value: where it could not be derived, the source value's own
                // finding (a malformed credit code) says why.
                if ff.derive.is_some() {
                    continue;
                }
                let target_null = if base.column(field.as_str()).is_ok() {
                    col(field.as_str()).is_null()
                } else {
                    lit(true)
                };
                add(
                    &mut exprs,
                    cond.and(target_null).fill_null(lit(false)),
                    Rule::ConditionalRequired,
                    ff,
                    format!("填写了“{}”时“{}”必填", tf.zh, ff.zh),
                    format!("“{}” is required when “{}” is given", ff.en, tf.en),
                );
            }
            Check::ZeroImpliesZero { count, amount } => {
                let (Some(cf), Some(af)) = (class.field(count), class.field(amount)) else {
                    continue;
                };
                if base.column(count.as_str()).is_err() || base.column(amount.as_str()).is_err() {
                    continue;
                }
                let c = col(format!("__t_{count}").as_str()).cast(DataType::Float64);
                let a = col(format!("__t_{amount}").as_str()).cast(DataType::Float64);
                let mismatch = c
                    .clone()
                    .eq(lit(0.0))
                    .and(a.clone().gt(lit(0.0)))
                    .or(c.gt(lit(0.0)).and(a.eq(lit(0.0))));
                add(
                    &mut exprs,
                    mismatch.fill_null(lit(false)),
                    Rule::ZeroImpliesZero,
                    af,
                    format!("“{}”与“{}”不一致：一项为0时另一项也应为0", cf.zh, af.zh),
                    format!(
                        "“{}” and “{}” disagree: when one is 0 the other must be 0",
                        cf.en, af.en
                    ),
                );
            }
            // Cross-table: checked by the pipeline, which sees every class.
            Check::MaxPerResident { .. }
            | Check::VillagesWithinTownship { .. }
            | Check::SampledVillagesOnly => {}
        }
    }

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
            .any(|v| normalize_multi(v).is_some())
        {
            column
                .iter()
                .map(|v| v.map(|v| normalize_multi(v).unwrap_or_else(|| v.to_string())))
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
    let mut findings = raw.findings.clone();
    findings.extend(derived_findings);
    // The header as written, or the form's label for a derived column the file lacks.
    let header = |field: &str| {
        raw.header_of(field).map(str::to_string).unwrap_or_else(|| {
            class
                .field(field)
                .map_or_else(|| field.to_string(), Field::label_with_unit)
        })
    };
    let raw_value = |field: &str, i: usize| -> Option<String> {
        evaluated
            .column(field)
            .ok()?
            .str()
            .ok()?
            .get(i)
            .map(str::to_string)
    };
    for m in &masks {
        let mask = evaluated.column(m.name.as_str())?.bool()?;
        for (i, hit) in mask.iter().enumerate() {
            if hit != Some(true) {
                continue;
            }
            let line = lines.get(i).unwrap_or(0);
            let value = raw_value(&m.field, i);
            let mut finding =
                Finding::new(&raw.file, &raw.class, m.rule, m.zh.clone(), m.en.clone())
                    .at_row(line);
            if let (Rule::CodeList, Some(f), Some(v)) = (m.rule, class.field(&m.field), &value) {
                finding = with_nearest_codes(finding, v, &f.codes);
            }
            findings.push(finding.in_column(header(&m.field), value));
        }
    }

    // Multi-select values: every item in the code list.
    for f in present
        .iter()
        .filter(|f| f.field_type == FieldType::MultiEnum)
    {
        let values = evaluated.column(f.id.as_str())?.str()?.clone();
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let bad: Vec<&str> = v
                .split(MULTI_SEPARATORS)
                .map(str::trim)
                .filter(|x| !x.is_empty() && !f.codes.iter().any(|c| c == x))
                .collect();
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
    let wanted_level = match class.division_level {
        riskcensus_core::schema::DivisionLevel::Village => Level::Village,
        riskcensus_core::schema::DivisionLevel::Township => Level::Township,
    };
    // Division codes against the register; credit codes against GB 32100; duplicates.
    let code_field = class
        .fields
        .iter()
        .find(|f| f.field_type == FieldType::DivisionCode);
    if let Some(cf) = code_field.filter(|cf| evaluated.column(cf.id.as_str()).is_ok()) {
        let codes = evaluated.column(cf.id.as_str())?.str()?.clone();
        // The address names, read once: checked against the register's chain of each code.
        let name_columns: Vec<(&str, Level, Vec<Option<&str>>)> = [
            ("county", Level::County),
            ("township", Level::Township),
            ("village", Level::Village),
        ]
        .into_iter()
        .filter_map(|(field, level)| {
            let column = evaluated.column(field).ok()?.str().ok()?;
            Some((field, level, column.iter().collect()))
        })
        .collect();
        for (i, code) in codes.iter().enumerate() {
            let Some(code) =
                code.filter(|c| c.len() == 12 && c.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let line = lines.get(i).unwrap_or(0);
            match register.get(code) {
                None => {
                    let name_at = |field: &str| {
                        evaluated
                            .column(field)
                            .ok()
                            .and_then(|c| c.str().ok()?.get(i))
                    };
                    let finding = match suggest_nbs_code(
                        register,
                        code,
                        name_at("township"),
                        name_at("village"),
                    ) {
                        Some((township, village, v_sure)) => {
                            let village_zh = village
                                .map(|v| format!("，建议村代码 {}（{}）", v.code, v.name))
                                .unwrap_or_default();
                            let village_en = village
                                .map(|v| {
                                    format!("; suggested village code {} ({})", v.code, v.name)
                                })
                                .unwrap_or_default();
                            Finding::new(&raw.file, &raw.class, Rule::DivisionCivilAffairs,
                                format!("代码 {code} 不在统计用区划代码中：{} 的统计用乡镇代码是 {}（{} 疑为民政区划代码）{village_zh}",
                                    township.name, township.code.township(), &code[..9]),
                                format!("code {code} is not an NBS statistical code: the NBS code of {} is {} ({} looks like the civil-affairs number){village_en}",
                                    township.name, township.code.township(), &code[..9]))
                                .suggesting(village.map(|v| (v.code.to_string(), v_sure)))
                        }
                        None => {
                            let by_name = lookup_by_names(
                                register,
                                wanted_level,
                                code,
                                name_at("township"),
                                name_at("village"),
                            )
                            .and_then(|l| suggest::describe(&l, code));
                            let suggest::Described { zh, en, suggestion } =
                                by_name.unwrap_or_default();
                            Finding::new(
                                &raw.file,
                                &raw.class,
                                Rule::DivisionUnknown,
                                format!("行政区划代码 {code} 不在区划库中{zh}"),
                                format!("division code {code} is not in the register{en}"),
                            )
                            .suggesting(suggestion)
                        }
                    };
                    findings.push(
                        finding
                            .at_row(line)
                            .in_column(header(&cf.id), Some(code.to_string())),
                    );
                }
                Some(d) if d.level != wanted_level => findings.push(
                    Finding::new(
                        &raw.file,
                        &raw.class,
                        Rule::DivisionLevel,
                        format!(
                            "行政区划代码 {code}（{}）不是{}级代码",
                            d.name,
                            if wanted_level == Level::Village {
                                "村"
                            } else {
                                "乡镇"
                            }
                        ),
                        format!(
                            "division code {code} ({}) is a {} code, not a {} code",
                            d.name,
                            d.level.as_str(),
                            wanted_level.as_str()
                        ),
                    )
                    .at_row(line)
                    .in_column(header(&cf.id), Some(code.to_string())),
                ),
                Some(_) => {
                    let name_in = |field: &str| {
                        name_columns
                            .iter()
                            .find(|(f, _, _)| *f == field)
                            .and_then(|(_, _, given)| given.get(i).copied().flatten())
                    };
                    let mut disagreeing = Vec::new();
                    for (field, level, given) in &name_columns {
                        let Some(given) = given.get(i).copied().flatten() else {
                            continue;
                        };
                        // The topmost of the level, as in `names_down_to`.
                        let Some(registered) = register
                            .names_up_from(code)
                            .filter(|d| d.level == *level)
                            .last()
                        else {
                            continue;
                        };
                        if !names_agree(given, &registered.name) {
                            disagreeing.push((*field, given, registered.name.as_str()));
                        }
                    }
                    if disagreeing.is_empty() {
                        continue;
                    }
                    // The names may be right and the code another village's: look them up.
                    let by_name = lookup_by_names(
                        register,
                        wanted_level,
                        code,
                        name_in("township"),
                        name_in("village"),
                    )
                    .and_then(|l| suggest::describe(&l, code));
                    let suggest::Described { zh, en, suggestion } = by_name.unwrap_or_default();
                    for (field, given, registered) in disagreeing {
                        findings.push(Finding::new(&raw.file, &raw.class, Rule::DivisionName,
                                format!("地址“{given}”与区划代码 {code} 的“{registered}”不符{zh}"),
                                format!("address name “{given}” disagrees with “{registered}” of division code {code}{en}"))
                            .at_row(line).in_column(header(field), Some(given.to_string()))
                            .suggesting(suggestion.clone()));
                    }
                }
            }
        }
    }
    let type_field = class
        .field("code_type")
        .filter(|f| evaluated.column(f.id.as_str()).is_ok());
    for cf in class
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::CreditCode)
    {
        let Ok(column) = evaluated.column(cf.id.as_str()) else {
            continue;
        };
        let values = column.str()?.clone();
        let kinds = match type_field {
            Some(t) => Some(evaluated.column(t.id.as_str())?.str()?.clone()),
            None => None,
        };
        let division_codes = match code_field {
            Some(c) => evaluated
                .column(c.id.as_str())
                .ok()
                .and_then(|c| c.str().ok().cloned()),
            None => None,
        };
        let mut first_seen: HashMap<&str, u64> = HashMap::new();
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let line = lines.get(i).unwrap_or(0);
            let is_org_code = kinds.as_ref().and_then(|k| k.get(i)) == Some("机构编码");
            if !is_org_code {
                if let Err(problem) = uscc::check(v) {
                    let (rule, zh, en) = match problem {
                        UsccProblem::Length(n) => (
                            Rule::UsccLength,
                            format!("统一社会信用代码应为18位，实为{n}位"),
                            format!("credit code must have 18 characters, has {n}"),
                        ),
                        UsccProblem::Charset(c) => (
                            Rule::UsccCharset,
                            format!("统一社会信用代码含非法字符“{c}”（不用 I、O、S、V、Z）"),
                            format!("credit code contains “{c}”, which GB 32100 does not use"),
                        ),
                        UsccProblem::Checksum { expected } => (
                            Rule::UsccChecksum,
                            format!("统一社会信用代码校验位错误（应为“{expected}”）"),
                            format!("credit code check character is wrong (expected “{expected}”)"),
                        ),
                    };
                    findings.push(
                        Finding::new(&raw.file, &raw.class, rule, zh, en)
                            .at_row(line)
                            .in_column(header(&cf.id), Some(v.to_string())),
                    );
                } else if let (Some(segment), Some(code)) = (
                    uscc::region_segment(v),
                    // Only a well-formed code says where the record is: any other text in
                    // 行政区划代码 (`无`, a name …) is its own finding, not a place to compare.
                    division_codes
                        .as_ref()
                        .and_then(|c| c.get(i))
                        .and_then(DivisionCode::parse),
                ) {
                    let code = code.as_str();
                    let here = [
                        code[..6].to_string(),
                        format!("{:0<6}", &code[..4]),
                        format!("{:0<6}", &code[..2]),
                    ];
                    if !here.iter().any(|h| h == segment) {
                        findings.push(
                            Finding::new(&raw.file, &raw.class, Rule::UsccRegion,
                                format!("信用代码登记机关区划 {segment} 与所在区县 {} 不符", &code[..6]),
                                format!("the credit code was registered in {segment}, not in the record's county {} or its city or province", &code[..6]))
                            .at_row(line)
                            .in_column(header(&cf.id), Some(v.to_string())),
                        );
                    }
                }
            }
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
    findings.sort_by(|a, b| a.row.cmp(&b.row).then(a.rule.cmp(&b.rule)));
    Ok(Validated {
        typed,
        findings,
        changes,
    })
}

/// For a code that is not in the register: when its township part is unknown too but the row's
/// township name is a registered township of the same county, the NBS township (and, by the
/// village name or the same village digits, the village) to suggest, and how sure the village is. Typically the civil-affairs
/// (民政) numbering was used instead of the NBS statistical one.
pub fn suggest_nbs_code<'r>(
    register: &'r Register,
    code: &str,
    township_name: Option<&str>,
    village_name: Option<&str>,
) -> Option<(
    &'r riskcensus_core::Division,
    Option<&'r riskcensus_core::Division>,
    Confidence,
)> {
    // Twelve ASCII digits, so that the prefixes below fall on character boundaries.
    if DivisionCode::number(code).is_none() || register.get(&format!("{}000", &code[..9])).is_some()
    {
        return None;
    }
    // Looked up among the county's townships and the township's villages only (a walk over
    // the whole register per row was quadratic in a national return of such codes).
    let township = register
        .children(&format!("{}000000", &code[..6]))
        .find(|t| {
            t.level == Level::Township && names_agree(township_name.unwrap_or_default(), &t.name)
        })?;
    // By the village name (a normalised match), else by the same village digits (a guess).
    let by_name = village_name.and_then(|vn| {
        register
            .children(township.code.as_str())
            .find(|v| v.level == Level::Village && names_agree(vn, &v.name))
    });
    let (village, sure) = match by_name {
        Some(v) => (Some(v), Confidence::Normalized),
        None => (
            register.get(&format!("{}{}", township.code.township(), &code[9..])),
            Confidence::Fuzzy,
        ),
    };
    Some((township, village, sure))
}

/// A code-list finding with the entries nearest to the value named (a unique one suggested).
fn with_nearest_codes(mut finding: Finding, value: &str, codes: &[String]) -> Finding {
    let near = suggest::nearest_codes(value, codes);
    if near.is_empty() {
        return finding;
    }
    finding.message_zh = format!("{}；最接近的是：{}", finding.message_zh, near.join("、"));
    finding.message_en = format!("{}; nearest: {}", finding.message_en, near.join(", "));
    // Only a value equal to an entry once width and spaces are normalised is sure; one entry
    // containing the value (`三级甲` → 三级甲等) is a suggestion to check.
    let unique = match near.as_slice() {
        [one] if normalize_name(one) == normalize_name(value) => {
            Some((one.to_string(), Confidence::Normalized))
        }
        [one] => Some((one.to_string(), Confidence::Fuzzy)),
        _ => None,
    };
    finding.suggesting(unique)
}

/// The division a row's names point to within the county of `code`: the village by township
/// and village names (the township by its name for township-level classes); `None` when the
/// row gives no name to look up.
fn lookup_by_names<'r>(
    register: &'r Register,
    wanted: Level,
    code: &str,
    township: Option<&str>,
    village: Option<&str>,
) -> Option<suggest::Lookup<'r>> {
    let county = code.get(..6)?;
    match (wanted, village) {
        (Level::Township, _) => Some(suggest::township_by_name(register, county, township?)),
        (_, Some(village)) => Some(suggest::village_by_names(
            register, county, township, village,
        )),
        (_, None) => None,
    }
}

/// A multi-select cell with its items joined by `;` whatever the separator typed (`；、,，`),
/// without spaces around them; `None` when the cell is already so.
///
/// ```
/// use riskcensus_validate::normalize_multi;
/// assert_eq!(normalize_multi("食品 、 饮用水，药品"), Some("食品;饮用水;药品".to_string()));
/// assert_eq!(normalize_multi("食品;饮用水"), None);
/// ```
pub fn normalize_multi(v: &str) -> Option<String> {
    let separator = |c: char| matches!(c, ';' | '；' | '、' | ',' | '，');
    if !v
        .chars()
        .any(|c| c.is_whitespace() || (separator(c) && c != ';'))
    {
        return None;
    }
    let joined = v
        .split(separator)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(";");
    Some(joined.trim().to_string())
}

/// Whether an address name matches the registered one: equal after normalising, or one contains
/// the other (`红柳村` and `红柳村村民委员会`, `白银` and `白银区`).
pub fn names_agree(given: &str, registered: &str) -> bool {
    if given == registered {
        // Equal names agree unless nothing is left once normalised (the usual case, no copies).
        return given
            .chars()
            .any(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '（' | '）' | '·' | '-'));
    }
    let (g, r) = (normalize_name(given), normalize_name(registered));
    !g.is_empty() && (r.contains(&g) || g.contains(&r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: &str, t: FieldType) -> Field {
        Field::new(id, id, t)
    }

    fn class(fields: Vec<Field>, checks: Vec<Check>) -> ResolvedClass {
        ResolvedClass::bare("T", fields, checks)
    }

    fn rules_of(csv: &str, class: &ResolvedClass) -> Vec<(u64, &'static str)> {
        let raw =
            riskcensus_ingest::ingest_bytes("t.csv", csv.as_bytes(), Default::default(), class)
                .unwrap();
        validate(&raw, class, &Register::default())
            .unwrap()
            .findings
            .iter()
            .map(|f| (f.row.unwrap_or(0), f.rule.code()))
            .collect()
    }

    #[test]
    fn cell_rules_fire_and_clean_values_pass() {
        let mut name = field("name", FieldType::Text);
        name.max_len = Some(4);
        name.required = true;
        let mut n = field("n", FieldType::Integer);
        n.min = Some(0.0);
        n.max = Some(10.0);
        let mut kind = field("kind", FieldType::Enum);
        kind.codes = vec!["甲".into(), "乙".into()];
        let flag = field("flag", FieldType::Boolean);
        let c = class(vec![name, n, kind, flag], vec![]);
        let csv = "name,n,kind,flag\n一二三,5,甲,是\n一二三四五,11,丙,有\n,x,,否\n";
        assert_eq!(
            rules_of(csv, &c),
            [
                (3, "cell.type"),
                (3, "cell.code_list"),
                (3, "cell.range"),
                (3, "cell.length"),
                (4, "cell.required"),
                (4, "cell.type"),
            ]
        );
    }

    #[test]
    fn cross_field_rules_fire_and_consistent_rows_pass() {
        let c = class(
            vec![
                field("total", FieldType::Integer),
                field("part", FieldType::Integer),
                field("places", FieldType::Integer),
                field("cap", FieldType::Integer),
            ],
            vec![
                Check::PartLeTotal {
                    parts: vec!["part".into()],
                    total: "total".into(),
                },
                Check::ZeroImpliesZero {
                    count: "places".into(),
                    amount: "cap".into(),
                },
            ],
        );
        let csv = "total,part,places,cap\n10,10,0,0\n10,11,0,5\n,3,2,0\n";
        assert_eq!(
            rules_of(csv, &c),
            [
                (3, "xf.part_exceeds_total"),
                (3, "xf.zero_implies_zero"),
                (4, "xf.zero_implies_zero")
            ]
        );
    }

    #[test]
    fn unit_slip_needs_ten_values_and_a_thousandfold_gap() {
        let mut money = field("money", FieldType::Decimal);
        money.check_unit_slip = true;
        let c = class(vec![money], vec![]);
        let mut csv = String::from("money\n");
        for v in ["3.5", "4", "2.2", "6", "5.1", "3", "8", "2.5", "4.4", "7"] {
            csv.push_str(v);
            csv.push('\n');
        }
        assert!(rules_of(&csv, &c).is_empty());
        csv.push_str("45000\n");
        assert_eq!(rules_of(&csv, &c), [(12, "plaus.unit_slip")]);
        assert!(
            rules_of("money\n3\n45000\n", &c).is_empty(),
            "too few values to judge"
        );
    }

    #[test]
    fn address_names_are_compared_loosely() {
        assert!(names_agree("红柳村", "红柳村村民委员会"));
        assert!(names_agree(" 东湾镇 ", "东湾镇"));
        assert!(!names_agree("北滩镇", "东湾镇"));
    }
}

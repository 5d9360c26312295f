//! The rules that are expressions over whole columns: per field (required, type, code list,
//! division code format, dates, length, range), coordinates too coarse for a village, unit
//! slips, and the schema's cross-field checks. Each becomes a boolean column, true where the
//! rule fires; `validate_with` evaluates them in one pass and turns the hits into findings.

use polars::prelude::*;
use riskcensus_core::schema::Check;
use riskcensus_core::table::{RawTable, LINE_COLUMN};
use riskcensus_core::{Field, FieldType, Finding, ResolvedClass, Rule};

use crate::{header_of, Options};

/// A boolean column per rule and field, true where the rule fires.
pub(crate) struct Mask {
    /// The column's name in the evaluated frame.
    pub name: String,
    /// The rule.
    pub rule: Rule,
    /// The field it judges.
    pub field: String,
    /// The finding's Chinese message.
    pub zh: String,
    /// The finding's English message.
    pub en: String,
}

/// The masks of a file and the expressions that compute them.
#[derive(Default)]
pub(crate) struct Masks {
    /// One expression per mask, aliased to its name.
    pub exprs: Vec<Expr>,
    /// What each mask means.
    pub masks: Vec<Mask>,
}

impl Masks {
    fn add(&mut self, e: Expr, rule: Rule, f: &Field, zh: String, en: String) {
        let name = format!("__m{}", self.masks.len());
        self.exprs.push(e.alias(name.as_str()));
        self.masks.push(Mask {
            name,
            rule,
            field: f.id.clone(),
            zh,
            en,
        });
    }
}

/// Every mask of one row's rules for a file whose present fields are `present` (the frame `base`
/// holds them): all but [`whole_file`]'s.
pub(crate) fn build(
    present: &[&Field],
    class: &ResolvedClass,
    base: &DataFrame,
    options: &Options,
) -> Masks {
    let mut masks = Masks::default();
    field_rules(&mut masks, present, options);
    coarse_coordinates(&mut masks, present);
    cross_field(&mut masks, class, base);
    masks
}

/// The masks that compare a row with the rest of its file (unit slips), for the whole file.
pub(crate) fn whole_file(present: &[&Field]) -> Masks {
    let mut masks = Masks::default();
    unit_slips(&mut masks, present);
    masks
}

/// The findings of `masks`, evaluated in `evaluated` (which holds the cells under their field
/// ids and [`LINE_COLUMN`]), in mask order, each mask's in row order.
pub(crate) fn findings(
    raw: &RawTable,
    class: &ResolvedClass,
    evaluated: &DataFrame,
    masks: &[Mask],
) -> PolarsResult<Vec<Finding>> {
    let lines = evaluated.column(LINE_COLUMN)?.u64()?;
    let raw_value = |field: &str, i: usize| -> Option<String> {
        evaluated
            .column(field)
            .ok()?
            .str()
            .ok()?
            .get(i)
            .map(str::to_string)
    };
    let mut findings = Vec::new();
    for m in masks {
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
                finding = crate::with_nearest_codes(finding, v, &f.codes);
            }
            findings.push(finding.in_column(header_of(raw, class, &m.field), value));
        }
    }
    Ok(findings)
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Required, type, code list, division code format, dates, length and range, field by field.
fn field_rules(masks: &mut Masks, present: &[&Field], options: &Options) {
    for f in present {
        let raw_col = col(f.id.as_str());
        let typed = col(format!("__t_{}", f.id).as_str());
        let label = f.label_with_unit();
        // A derivable value is not the technician's to fill: it is derived where its source (the
        // division code, the credit code) is sound, and where not, the source's own finding says
        // why. A present value is still checked against the source (`id.division_name`).
        if f.required && f.derive.is_none() {
            masks.add(
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
                masks.add(
                    raw_col.clone().is_not_null().and(typed.clone().is_null()),
                    Rule::Type,
                    f,
                    format!("“{label}”应为{}", expected.0),
                    format!("“{}” must be {}", f.en, expected.1),
                );
            }
            FieldType::Enum => {
                let codes = Series::new("codes".into(), f.codes.clone());
                masks.add(
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
                masks.add(
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
                masks.add(
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
                masks.add(
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
            masks.add(
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
                masks.add(
                    e.fill_null(lit(false)),
                    Rule::Range,
                    f,
                    format!("“{label}”应在 {bounds} 范围内"),
                    format!("“{}” must be {bounds}", f.en),
                );
            }
        }
    }
}

/// Coordinates too coarse to place the object within a village (degrees only).
fn coarse_coordinates(masks: &mut Masks, present: &[&Field]) {
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
        masks.add(coarse(lon).or(coarse(lat)).and(zero.not()).fill_null(lit(false)), Rule::FewDecimals, lon,
            format!("“{}/{}”少于3位小数（误差可达1公里），无法定位到村", lon.zh, lat.zh),
            format!("“{}/{}” have fewer than 3 decimals (up to 1 km off): too coarse to place in a village", lon.en, lat.en));
    }
}

/// 万元 entered as 元 (or the reverse): about 10⁴ off the file's median.
fn unit_slips(masks: &mut Masks, present: &[&Field]) {
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
        masks.add(slip.and(enough).fill_null(lit(false)), Rule::UnitSlip, f,
            format!("“{}”与本表其他值相差约千倍以上，疑为单位错误（本栏单位：{unit}）", f.zh),
            format!("“{}” is about 10³–10⁴ times off the other values of this file: likely a unit slip (the column is in {unit})", f.en));
    }
}

/// The schema's cross-field checks (the cross-table ones are the pipeline's).
fn cross_field(masks: &mut Masks, class: &ResolvedClass, base: &DataFrame) {
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
                masks.add(
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
                masks.add(
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
                masks.add(
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
}

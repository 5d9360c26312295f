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

pub mod across_files;
pub mod derive;
mod file_rules;
mod identifiers;
mod masks;
pub mod multi;
mod rows;
pub mod suggest;

pub use suggest::suggest_nbs_code;

use polars::prelude::*;
pub use riskcensus_core::schema::normalize_name;
use riskcensus_core::table::RawTable;
use riskcensus_core::{Confidence, Field, FieldType, Finding, Register, ResolvedClass};

/// The result of validating one table.
#[derive(Debug, Clone)]
pub struct Validated {
    /// One typed column per schema field (field ids) plus [`LINE_COLUMN`](riskcensus_core::table::LINE_COLUMN), row for row with the
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

pub(crate) fn typed_expr(f: &Field) -> Expr {
    let c = col(f.id.as_str());
    match f.field_type {
        FieldType::Boolean => when(c.clone().eq(lit("是")))
            .then(lit(true))
            .when(c.eq(lit("否")))
            .then(lit(false))
            .otherwise(lit(NULL).cast(DataType::Boolean)),
        // Parsed beforehand, in `validate_with`.
        FieldType::Date => col(format!("__t_{}", f.id).as_str()),
        // Normalised beforehand, in `validate_with` (see `multi::canonical`).
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

/// Validate a raw table against its class, with pipeline settings.
///
/// The rules of single rows run chunk by chunk along the table's [`RawTable::parts`] (the cuts
/// ingest read the file in), in parallel; the rules over the whole file (duplicates, unit slips)
/// then run once over all of it ([`file_rules`]). The result is the same whatever the cuts.
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
    let check = |(offset, len): (usize, usize)| {
        rows::check(
            raw,
            class,
            register,
            options,
            &present,
            &base.slice(offset as i64, len),
        )
    };
    let slices = slices(&raw.parts, base.height());
    let checked: Vec<rows::Checked> = if slices.len() > 1 {
        use rayon::prelude::*;
        slices
            .into_par_iter()
            .map(check)
            .collect::<PolarsResult<_>>()?
    } else {
        slices.into_iter().map(check).collect::<PolarsResult<_>>()?
    };
    let mut findings = raw.findings.clone();
    findings.extend(derived_findings);
    let mut typed: Option<DataFrame> = None;
    for part in checked {
        findings.extend(part.findings);
        match typed.as_mut() {
            None => typed = Some(part.typed),
            Some(t) => {
                t.vstack_mut_owned(part.typed)?;
            }
        }
    }
    let typed = typed.ok_or_else(|| polars_err!(ComputeError: "no rows checked"))?;
    findings.extend(file_rules::check(raw, class, &base, &typed, &present)?);
    findings.sort_by(|a, b| a.row.cmp(&b.row).then(a.rule.cmp(&b.rule)));
    Ok(Validated {
        typed,
        findings,
        changes,
    })
}

/// `(offset, rows)` of each part of a table of `height` rows (one slice, maybe empty, when the
/// parts do not add up to it).
fn slices(parts: &[usize], height: usize) -> Vec<(usize, usize)> {
    if parts.len() < 2 || parts.iter().sum::<usize>() != height {
        return vec![(0, height)];
    }
    let mut offset = 0;
    parts
        .iter()
        .map(|&rows| {
            let slice = (offset, rows);
            offset += rows;
            slice
        })
        .collect()
}

/// The column as a finding names it: the header as written, or the form's label for a derived
/// column the file lacks.
pub(crate) fn header_of(raw: &RawTable, class: &ResolvedClass, field: &str) -> String {
    raw.header_of(field).map(str::to_string).unwrap_or_else(|| {
        class
            .field(field)
            .map_or_else(|| field.to_string(), Field::label_with_unit)
    })
}

/// A code-list finding with the entries nearest to the value named (a unique one suggested).
pub(crate) fn with_nearest_codes(mut finding: Finding, value: &str, codes: &[String]) -> Finding {
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
    use riskcensus_core::schema::Check;

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

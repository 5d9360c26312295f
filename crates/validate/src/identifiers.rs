//! Identifier rules, row by row over whole columns: division codes against the register
//! (existence, level, names, with a code suggested by the row's names), credit codes against
//! GB 32100 (length, charset, checksum, registration region). Duplicates within the file are
//! [`crate::file_rules`]'.

use polars::prelude::*;
use riskcensus_core::table::RawTable;
use riskcensus_core::uscc::{self, UsccProblem};
use riskcensus_core::{
    DivisionCode, Field, FieldType, Finding, Level, Register, ResolvedClass, Rule,
};

use crate::names_agree;
use crate::suggest::{self, lookup_by_names, suggest_nbs_code};

/// The evaluated columns of one file, and how findings name them.
pub(crate) struct Columns<'a> {
    /// The table as read.
    pub raw: &'a RawTable,
    /// Its class.
    pub class: &'a ResolvedClass,
    /// The cells (field ids) and typed values (`__t_<id>`), row for row.
    pub evaluated: &'a DataFrame,
    /// The file's line of each row.
    pub lines: &'a UInt64Chunked,
    /// A field's column as the finding names it.
    pub header: &'a dyn Fn(&str) -> String,
    /// The class's division code field.
    pub code_field: Option<&'a Field>,
}

/// Every identifier finding of the file.
pub(crate) fn check(
    columns: &Columns<'_>,
    register: &Register,
    findings: &mut Vec<Finding>,
) -> PolarsResult<()> {
    division_codes(columns, register, findings)?;
    credit_codes(columns, findings)
}

/// Division codes against the register: unknown (a civil-affairs number, or a code the row's
/// names point elsewhere from), at the wrong level, or with names that disagree.
fn division_codes(
    columns: &Columns<'_>,
    register: &Register,
    findings: &mut Vec<Finding>,
) -> PolarsResult<()> {
    let Columns {
        raw,
        class,
        evaluated,
        lines,
        header,
        code_field,
    } = *columns;
    let wanted_level = match class.division_level {
        riskcensus_core::schema::DivisionLevel::Village => Level::Village,
        riskcensus_core::schema::DivisionLevel::Township => Level::Township,
    };
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
    Ok(())
}

/// Credit codes against GB 32100 (unless 代码类型 says 机构编码), their registration region
/// against the row's county.
fn credit_codes(columns: &Columns<'_>, findings: &mut Vec<Finding>) -> PolarsResult<()> {
    let Columns {
        raw,
        class,
        evaluated,
        lines,
        header,
        code_field,
    } = *columns;
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
        }
    }
    Ok(())
}

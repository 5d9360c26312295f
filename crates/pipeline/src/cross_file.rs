//! Checks that need more than one file: the same object filed twice in one class, and
//! plausibility against another class's population figures.

use std::collections::hash_map::Entry;

use foldhash::{HashMap, HashMapExt};

use riskcensus_core::schema::{normalize_name, Check};
use riskcensus_core::{Finding, Rule};

use crate::error::PipelineError;
use crate::process::Checked;

fn text_column(c: &Checked, field: &str) -> Result<Vec<Option<String>>, PipelineError> {
    Ok(match c.typed.column(field) {
        Ok(col) => col.str()?.iter().map(|v| v.map(str::to_string)).collect(),
        Err(_) => vec![None; c.typed.height()],
    })
}

/// `dup.across_files`: a row of a later file of a class with the credit code, or the name and
/// village, of a row of an earlier file of the same class.
pub(crate) fn duplicates_across_files(files: &mut [Checked]) -> Result<(), PipelineError> {
    use rayon::prelude::*;
    // Classes are independent: each runs on its own, its files in pipeline order.
    let mut by_class: std::collections::BTreeMap<String, Vec<&mut Checked>> =
        std::collections::BTreeMap::new();
    for file in files.iter_mut() {
        by_class
            .entry(file.class.node.code.clone())
            .or_default()
            .push(file);
    }
    by_class
        .into_par_iter()
        .try_for_each(|(_, files)| duplicates_in_class(files))
}

fn duplicates_in_class(files: Vec<&mut Checked>) -> Result<(), PipelineError> {
    if files.len() < 2 {
        return Ok(());
    }
    // key → (file, line) of its first occurrence in an earlier file
    let mut class_seen: HashMap<String, (String, u64)> = HashMap::new();
    for file in files {
        let credit = text_column(file, "credit_code")?;
        let names = text_column(file, "name")?;
        let keys: Vec<Vec<String>> = (0..file.typed.height())
            .map(|i| {
                let mut k = Vec::new();
                if let Some(c) = &credit[i] {
                    k.push(format!("credit:{c}"));
                }
                if let (Some(n), Some(code)) = (&names[i], file.codes.get(i)) {
                    k.push(format!("name:{}@{code}", normalize_name(n)));
                }
                k
            })
            .collect();
        let mut new_keys = Vec::new();
        for (i, row_keys) in keys.iter().enumerate() {
            let line = file.raw.lines[i];
            if let Some((other, other_line)) = row_keys.iter().find_map(|k| class_seen.get(k)) {
                let header = file.raw.header_of("name").unwrap_or("name").to_string();
                file.findings.push(
                    Finding::new(&file.shown, &file.class.node.code, Rule::AcrossFiles,
                        format!("与 {other} 第 {other_line} 行为同一对象（信用代码或同村同名相同），重复填报"),
                        format!("the same object as row {other_line} of {other} (same credit code, or same name in the same village)"))
                    .at_row(line)
                    .in_column(header, names[i].clone()),
                );
            }
            for k in row_keys {
                new_keys.push((k.clone(), line));
            }
        }
        for (k, line) in new_keys {
            class_seen.entry(k).or_insert((file.shown.clone(), line));
        }
    }
    Ok(())
}

/// `plaus.capacity_vs_population`: `field` above `ratio` × the resident population that the
/// village's return of `population_class` gives.
pub(crate) fn per_resident(files: &mut [Checked]) -> Result<(), PipelineError> {
    let checks: Vec<(usize, String, f64, String, String)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.class.checks.iter().filter_map(move |c| match c {
                Check::MaxPerResident {
                    field,
                    ratio,
                    population_class,
                    population_field,
                } => Some((
                    i,
                    field.clone(),
                    *ratio,
                    population_class.clone(),
                    population_field.clone(),
                )),
                _ => None,
            })
        })
        .collect();
    // One population table per (class, field), however many files check against it.
    let mut tables: HashMap<(String, String), HashMap<String, f64>> = HashMap::new();
    for (i, field, ratio, population_class, population_field) in checks {
        let population = match tables.entry((population_class, population_field)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let mut population: HashMap<String, f64> = HashMap::new();
                for (code, v) in clean_values(files, &e.key().0, &e.key().1)? {
                    population.entry(code).or_insert(v);
                }
                e.insert(population)
            }
        };
        let file = &mut files[i];
        let Some(values) = float_column(file, &field)? else {
            continue;
        };
        let Some(spec) = file.class.field(&field).cloned() else {
            continue;
        };
        let header = file.raw.header_of(&field).unwrap_or(&field).to_string();
        let mut found = Vec::new();
        for (row, value) in values.iter().enumerate() {
            let (Some(value), Some(code)) = (value, file.codes.get(row)) else {
                continue;
            };
            let Some(&residents) = population.get(code) else {
                continue;
            };
            if *value > ratio * residents {
                let mut f = Finding::new(
                    &file.shown,
                    &file.class.node.code,
                    Rule::CapacityVsPopulation,
                    format!(
                        "“{}” {value} 超过所在村常住人口 {residents} 的 {ratio} 倍",
                        spec.zh
                    ),
                    format!(
                        "“{}” {value} exceeds {ratio} × the village's {residents} residents",
                        spec.en
                    ),
                )
                .at_row(file.raw.lines[row])
                .in_column(header.clone(), Some(value.to_string()));
                if let (Some(lon), Some(lat)) = (file.lon[row], file.lat[row]) {
                    f = f.at_point(lon, lat);
                }
                found.push(f);
            }
        }
        file.findings.extend(found);
    }
    Ok(())
}

/// A field's values as numbers, or `None` when the file lacks the column.
fn float_column(file: &Checked, field: &str) -> Result<Option<Vec<Option<f64>>>, PipelineError> {
    let Ok(column) = file.typed.column(field) else {
        return Ok(None);
    };
    Ok(Some(
        column
            .cast(&polars::prelude::DataType::Float64)?
            .f64()?
            .iter()
            .collect(),
    ))
}

/// The lines of a file's rows with an error finding (they will be rejected).
fn error_lines(file: &Checked) -> std::collections::HashSet<u64> {
    file.findings
        .iter()
        .filter(|x| x.severity == riskcensus_core::Severity::Error)
        .filter_map(|x| x.row)
        .collect()
}

/// Values of `field` per division code, from the rows of `class`'s files without errors.
fn clean_values(
    files: &[Checked],
    class: &str,
    field: &str,
) -> Result<Vec<(String, f64)>, PipelineError> {
    let mut out = Vec::new();
    for f in files.iter().filter(|f| f.class.node.code == class) {
        let Some(values) = float_column(f, field)? else {
            continue;
        };
        let bad = error_lines(f);
        for ((code, v), line) in f.codes.iter().zip(values).zip(&f.raw.lines) {
            if let (Some(code), Some(v), false) = (code, v, bad.contains(line)) {
                out.push((code.to_string(), v));
            }
        }
    }
    Ok(out)
}

/// `xt.rollup`: the village returns of a township add up to more than the township's figure.
pub(crate) fn villages_within_township(files: &mut [Checked]) -> Result<(), PipelineError> {
    let checks: Vec<(usize, String, String, String, f64)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.class.checks.iter().filter_map(move |c| match c {
                Check::VillagesWithinTownship {
                    field,
                    village_class,
                    village_field,
                    tolerance,
                } => Some((
                    i,
                    field.clone(),
                    village_class.clone(),
                    village_field.clone(),
                    *tolerance,
                )),
                _ => None,
            })
        })
        .collect();
    // One table of township sums per (class, field), however many files check against it.
    let mut tables: HashMap<(String, String), HashMap<String, (f64, usize)>> = HashMap::new();
    for (i, field, village_class, village_field, tolerance) in checks {
        let sums = match tables.entry((village_class, village_field)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let mut sums: HashMap<String, (f64, usize)> = HashMap::new();
                for (code, v) in clean_values(files, &e.key().0, &e.key().1)? {
                    let sum = sums.entry(code[..9].to_string()).or_default();
                    sum.0 += v;
                    sum.1 += 1;
                }
                e.insert(sums)
            }
        };
        let file = &mut files[i];
        let Some(values) = float_column(file, &field)? else {
            continue;
        };
        let Some(spec) = file.class.field(&field).cloned() else {
            continue;
        };
        let header = file.raw.header_of(&field).unwrap_or(&field).to_string();
        let mut found = Vec::new();
        for (row, value) in values.iter().enumerate() {
            let (Some(value), Some(code)) = (value, file.codes.get(row)) else {
                continue;
            };
            let Some(&(sum, n)) = sums.get(&code[..9]) else {
                continue;
            };
            if sum > value * (1.0 + tolerance) {
                found.push(
                    Finding::new(&file.shown, &file.class.node.code, Rule::Rollup,
                        format!("所属 {n} 个村（社区）填报的“{}”合计 {sum} 超过本乡镇填报的 {value}", spec.zh),
                        format!("the {n} village returns of this township add up to {sum} “{}”, more than the township's {value}", spec.en))
                    .at_row(file.raw.lines[row])
                    .in_column(header.clone(), Some(value.to_string())),
                );
            }
        }
        file.findings.extend(found);
    }
    Ok(())
}

/// `xt.not_sampled`: household returns outside the villages the pipeline lists as sampled. Without
/// a list, one `xt.not_checked` info per file says so.
pub(crate) fn sampled_villages_only(files: &mut [Checked], sampled: Option<&[String]>) {
    let sampled: Option<std::collections::HashSet<&str>> =
        sampled.map(|s| s.iter().map(String::as_str).collect());
    for file in files.iter_mut().filter(|f| {
        f.class
            .checks
            .iter()
            .any(|c| matches!(c, Check::SampledVillagesOnly))
    }) {
        let Some(sampled) = &sampled else {
            file.findings.push(Finding::new(&file.shown, &file.class.node.code, Rule::NotChecked,
                "流水线未列出抽样村（sampled_villages），未核对家庭问卷是否来自抽样村",
                "the pipeline lists no sampled villages (sampled_villages): households were not checked against the sample"));
            continue;
        };
        let header = file
            .class
            .fields
            .iter()
            .find(|f| f.field_type == riskcensus_core::FieldType::DivisionCode)
            .map(|f| file.raw.header_of(&f.id).unwrap_or(&f.id).to_string())
            .unwrap_or_default();
        let mut found = Vec::new();
        for (row, code) in file.codes.iter().enumerate() {
            let Some(code) = code else { continue };
            if !sampled.contains(code) {
                found.push(
                    Finding::new(
                        &file.shown,
                        &file.class.node.code,
                        Rule::NotSampled,
                        format!("村（社区）{code} 不在本次抽样村名单中"),
                        format!("village {code} is not among the sampled villages"),
                    )
                    .at_row(file.raw.lines[row])
                    .in_column(header.clone(), Some(code.to_string())),
                );
            }
        }
        file.findings.extend(found);
    }
}

/// `ind.missing_input`: villages without a DR-GRS-02 return and townships without a DR-GRS-01
/// return (rows with errors do not count) get null capacity indicators; say how many, once, on the
/// class's first file.
pub(crate) fn indicator_coverage(
    files: &mut [Checked],
    villages: &riskcensus_locate::VillageIndex,
) {
    let all_villages: std::collections::BTreeSet<&str> = villages
        .villages()
        .iter()
        .map(|v| v.code.as_str())
        .collect();
    let all_townships: std::collections::BTreeSet<&str> = villages
        .villages()
        .iter()
        .map(|v| v.township.as_str())
        .collect();
    for (class, townships) in [("DR-GRS-02", false), ("DR-GRS-01", true)] {
        let mut covered = std::collections::BTreeSet::new();
        for f in files.iter().filter(|f| f.class.node.code == class) {
            let bad = error_lines(f);
            for (code, line) in f.codes.iter().zip(&f.raw.lines) {
                if let (Some(code), false) = (code, bad.contains(line)) {
                    covered.insert(if townships {
                        code[..9].to_string()
                    } else {
                        code.to_string()
                    });
                }
            }
        }
        let (total, unit_zh, unit_en) = if townships {
            (all_townships.len(), "乡镇（街道）", "townships")
        } else {
            (all_villages.len(), "村（社区）", "villages")
        };
        let missing = total.saturating_sub(covered.len());
        let Some(first) = files.iter_mut().find(|f| f.class.node.code == class) else {
            continue;
        };
        if missing > 0 {
            first.findings.push(Finding::new(&first.shown, class, Rule::MissingInput,
                format!("{total} 个{unit_zh}中有 {missing} 个没有可用的 {class} 填报，其减灾能力指标为空"),
                format!("{missing} of {total} {unit_en} have no usable {class} return: their capacity indicators are null")));
        }
    }
}

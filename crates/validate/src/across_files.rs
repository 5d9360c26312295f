//! Checks that need more than one file: the same object filed twice in one class, and
//! plausibility against another class's population figures.
//!
//! A pipeline checks its returns batch by batch; [`AcrossFiles`] carries from one batch to the
//! next only compact keys and figures, so that a batch's text can be dropped once its rows are
//! decided. The findings the checks see are final (the pipeline's severities applied), so a row's
//! fate is decided once.

use std::collections::hash_map::Entry;

use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;

use polars::prelude::*;
use riskcensus_core::schema::{normalize_name, Check};
use riskcensus_core::table::RawTable;
use riskcensus_core::{Finding, ResolvedClass, Rule, Severity};

/// One return of a batch, as the checks across files see it: validated and located, its rows
/// not yet decided.
pub struct FileRows<'a> {
    /// Its class.
    pub class: &'a ResolvedClass,
    /// The file as findings name it.
    pub shown: &'a str,
    /// The table as read (lines and headers).
    pub raw: &'a RawTable,
    /// Typed values (field ids), row for row with `raw`.
    pub typed: &'a DataFrame,
    /// The declared 12-digit division code per row; null where it is not 12 digits.
    pub codes: &'a StringChunked,
    /// Longitude and latitude per row in EPSG:4490, where the point is usable.
    pub lon: &'a [Option<f64>],
    /// See `lon`.
    pub lat: &'a [Option<f64>],
    /// Its findings so far, with their final severities; the checks add theirs.
    pub findings: &'a mut Vec<Finding>,
}

/// Whether a finding rejects every row of its file: a missing required column, as an error (it
/// names the header row, or no row).
pub fn rejects_whole_file(finding: &Finding) -> bool {
    finding.severity == Severity::Error && finding.rule == Rule::MissingColumn
}

fn text_column<'f>(typed: &'f DataFrame, field: &str) -> PolarsResult<Vec<Option<&'f str>>> {
    Ok(match typed.column(field) {
        Ok(col) => col.str()?.iter().collect(),
        Err(_) => vec![None; typed.height()],
    })
}

/// What the checks across files carry from one batch of returns to the next: the keys of earlier
/// files per class (duplicates), the figures of referenced classes (population, township sums) and
/// the villages and townships with a usable capacity return.
pub struct AcrossFiles {
    /// Keys of the files already checked, per class; dropped after a class's last file.
    seen: HashMap<String, ClassSeen>,
    /// Files not yet checked, per class.
    files_left: HashMap<String, usize>,
    /// First value per division code of a referenced (class, field), from the rows without
    /// errors of earlier batches.
    population: HashMap<(String, String), HashMap<String, f64>>,
    /// Sum and count per township of a referenced (class, field), likewise.
    sums: HashMap<(String, String), HashMap<String, (f64, usize)>>,
    /// Villages (DR-GRS-02) and townships (DR-GRS-01) with a return without errors.
    covered: HashMap<&'static str, std::collections::BTreeSet<String>>,
}

/// Keys of a class's files checked so far.
#[derive(Default)]
struct ClassSeen {
    /// The files, as shown.
    files: Vec<String>,
    /// key ([`row_key`]) → (file, line) of its first occurrence.
    keys: HashMap<u128, (u32, u64)>,
}

/// A row's key for `dup.across_files`: the 128-bit XXH3 hash of its kind and text. Hashes, not
/// the text, are kept from batch to batch: a national class holds over a million keys, and a
/// table of strings spent most of this check re-hashing them as it grew (perf). Two different
/// keys share a hash with a probability of about n²/2¹²⁹ (≈ 10⁻²⁷ for a million keys).
fn row_key(kind: &[u8], parts: &[&str]) -> u128 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(kind);
    for part in parts {
        // Each part ends with a byte that UTF-8 text never holds, so parts cannot run together.
        hasher.update(part.as_bytes());
        hasher.update(&[0xFF]);
    }
    hasher.digest128()
}

/// The classes whose coverage `ind.missing_input` reports: (class, counted per township).
const COVERAGE: [(&str, bool); 2] = [("DR-GRS-02", false), ("DR-GRS-01", true)];

impl AcrossFiles {
    /// Ready for the pipeline's returns, given each return's class.
    pub fn new(classes: &[&ResolvedClass]) -> Self {
        let mut files_left: HashMap<String, usize> = HashMap::new();
        let mut population = HashMap::new();
        let mut sums = HashMap::new();
        for class in classes {
            *files_left.entry(class.node.code.clone()).or_default() += 1;
            for check in &class.checks {
                match check {
                    Check::MaxPerResident {
                        population_class,
                        population_field,
                        ..
                    } => {
                        population
                            .entry((population_class.clone(), population_field.clone()))
                            .or_insert_with(HashMap::new);
                    }
                    Check::VillagesWithinTownship {
                        village_class,
                        village_field,
                        ..
                    } => {
                        sums.entry((village_class.clone(), village_field.clone()))
                            .or_insert_with(HashMap::new);
                    }
                    _ => {}
                }
            }
        }
        AcrossFiles {
            seen: HashMap::new(),
            files_left,
            population,
            sums,
            covered: HashMap::new(),
        }
    }

    /// Run the checks across files on a batch (files of a class in pipeline order, every file of
    /// a referenced class in earlier batches or in this one), then keep what later batches need.
    pub fn check_batch(
        &mut self,
        files: &mut [FileRows<'_>],
        sampled: Option<&[String]>,
    ) -> PolarsResult<()> {
        self.duplicates_across_files(files)?;
        self.per_resident(files)?;
        self.villages_within_township(files)?;
        self.keep_figures(files)?;
        sampled_villages_only(files, sampled);
        Ok(())
    }

    /// `dup.across_files`: a row of a later file of a class with the credit code, or the name
    /// and village, of a row of an earlier file of the same class.
    fn duplicates_across_files<'a>(&mut self, files: &mut [FileRows<'a>]) -> PolarsResult<()> {
        // Classes are independent: each runs on its own, its files in pipeline order.
        let mut by_class: std::collections::BTreeMap<String, Vec<&mut FileRows<'a>>> =
            std::collections::BTreeMap::new();
        for file in files.iter_mut() {
            by_class
                .entry(file.class.node.code.clone())
                .or_default()
                .push(file);
        }
        let work: Vec<(String, ClassSeen, usize, Vec<&mut FileRows<'a>>)> = by_class
            .into_iter()
            .map(|(class, files)| {
                let seen = self.seen.remove(&class).unwrap_or_default();
                let left = self.files_left.get(&class).copied().unwrap_or(files.len());
                (class, seen, left, files)
            })
            .collect();
        let done: Vec<(String, ClassSeen, usize)> = work
            .into_par_iter()
            .map(|(class, mut seen, left, files)| {
                let left = duplicates_in_class(&mut seen, left, files)?;
                Ok((class, seen, left))
            })
            .collect::<PolarsResult<_>>()?;
        for (class, seen, left) in done {
            if left > 0 {
                self.seen.insert(class.clone(), seen);
            }
            self.files_left.insert(class, left);
        }
        Ok(())
    }
}

/// Check a class's files of a batch against the keys seen so far; `left` files of the class
/// (these included) remain. Returns how many remain after them.
fn duplicates_in_class<'a>(
    seen: &mut ClassSeen,
    mut left: usize,
    files: Vec<&mut FileRows<'a>>,
) -> PolarsResult<usize> {
    for file in files {
        left = left.saturating_sub(1);
        // The keys of the class's last file are never looked up.
        if seen.keys.is_empty() && left == 0 {
            continue;
        }
        let credit = text_column(file.typed, "credit_code")?;
        let names = text_column(file.typed, "name")?;
        let file_index = u32::try_from(seen.files.len())
            .map_err(|_| polars_err!(ComputeError: "more than 2³² files in a class"))?;
        let keys_of = |i: usize| {
            let credit = credit[i].map(|c| row_key(b"credit", &[c]));
            let name = match (names[i], file.codes.get(i)) {
                (Some(n), Some(code)) => Some(row_key(b"name", &[&normalize_name(n), code])),
                _ => None,
            };
            [credit, name]
        };
        let earlier = &seen.keys;
        // Per row: its keys (credit code, name in village) and where the first was seen in an
        // earlier file; rows in parallel (a batch often holds one class only, so the classes
        // alone do not fill the cores).
        type RowKeys = ([Option<u128>; 2], Option<(u32, u64)>);
        let rows: Vec<RowKeys> = (0..file.typed.height())
            .into_par_iter()
            .map(|i| {
                let row_keys = keys_of(i);
                let first = row_keys
                    .iter()
                    .flatten()
                    .find_map(|k| earlier.get(k))
                    .copied();
                (row_keys, first)
            })
            .collect();
        let header = file.raw.header_of("name").unwrap_or("name").to_string();
        let mut new_keys = Vec::new();
        for (i, (row_keys, first)) in rows.into_iter().enumerate() {
            let line = file.raw.lines[i];
            if let Some((other, other_line)) = first {
                let other = seen.files.get(other as usize).map_or("", String::as_str);
                file.findings.push(
                    Finding::new(file.shown, &file.class.node.code, Rule::AcrossFiles,
                        format!("与 {other} 第 {other_line} 行为同一对象（信用代码或同村同名相同），重复填报"),
                        format!("the same object as row {other_line} of {other} (same credit code, or same name in the same village)"))
                    .at_row(line)
                    .in_column(header.clone(), names[i].map(str::to_string)),
                );
            }
            if left > 0 {
                new_keys.extend(row_keys.into_iter().flatten().map(|k| (k, line)));
            }
        }
        if left > 0 {
            seen.files.push(file.shown.to_string());
            for (k, line) in new_keys {
                seen.keys.entry(k).or_insert((file_index, line));
            }
        }
    }
    Ok(left)
}

impl AcrossFiles {
    /// `plaus.capacity_vs_population`: `field` above `ratio` × the resident population that the
    /// village's return of `population_class` gives (its first row without errors).
    fn per_resident(&mut self, files: &mut [FileRows<'_>]) -> PolarsResult<()> {
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
        // The figures of this batch's files of the class, after those of earlier batches. One
        // table per (class, field), however many files check against it.
        let mut in_batch: HashMap<(String, String), HashMap<String, f64>> = HashMap::new();
        for (i, field, ratio, population_class, population_field) in checks {
            let key = (population_class, population_field);
            let batch_population = match in_batch.entry(key.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let mut population: HashMap<String, f64> = HashMap::new();
                    for (code, v) in clean_values(files, &e.key().0, &e.key().1)? {
                        population.entry(code).or_insert(v);
                    }
                    e.insert(population)
                }
            };
            let earlier = self.population.get(&key);
            let residents_of = |code: &str| {
                earlier
                    .and_then(|p| p.get(code))
                    .or_else(|| batch_population.get(code))
                    .copied()
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
                let Some(residents) = residents_of(code) else {
                    continue;
                };
                if *value > ratio * residents {
                    let mut f = Finding::new(
                        file.shown,
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
}

/// A field's values as numbers, or `None` when the file lacks the column.
fn float_column(file: &FileRows<'_>, field: &str) -> PolarsResult<Option<Vec<Option<f64>>>> {
    let Ok(column) = file.typed.column(field) else {
        return Ok(None);
    };
    Ok(Some(
        column.cast(&DataType::Float64)?.f64()?.iter().collect(),
    ))
}

/// The lines of a file's rows that will be rejected: those with an error finding (severities as
/// the pipeline sets them), or every line when the file is rejected whole.
fn error_lines(file: &FileRows<'_>) -> std::collections::HashSet<u64> {
    if file.findings.iter().any(rejects_whole_file) {
        return file.raw.lines.iter().copied().collect();
    }
    file.findings
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .filter_map(|x| x.row)
        .collect()
}

/// Values of `field` per division code, from the rows of `class`'s files without errors.
fn clean_values(
    files: &[FileRows<'_>],
    class: &str,
    field: &str,
) -> PolarsResult<Vec<(String, f64)>> {
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

impl AcrossFiles {
    /// `xt.rollup`: the village returns of a township add up to more than the township's figure.
    fn villages_within_township(&mut self, files: &mut [FileRows<'_>]) -> PolarsResult<()> {
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
        // The sums of this batch's files of the class, added to those of earlier batches. One
        // table per (class, field), however many files check against it.
        let mut in_batch: HashMap<(String, String), HashMap<String, (f64, usize)>> = HashMap::new();
        for (i, field, village_class, village_field, tolerance) in checks {
            let key = (village_class, village_field);
            let batch_sums = match in_batch.entry(key.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let mut sums: HashMap<String, (f64, usize)> = HashMap::new();
                    for (code, v) in clean_values(files, &e.key().0, &e.key().1)? {
                        add_to_township(&mut sums, &code, v);
                    }
                    e.insert(sums)
                }
            };
            let earlier = self.sums.get(&key);
            let sum_of = |township: &str| match (
                earlier.and_then(|s| s.get(township)),
                batch_sums.get(township),
            ) {
                (Some(&(a, m)), Some(&(b, n))) => Some((a + b, m + n)),
                (Some(&s), None) | (None, Some(&s)) => Some(s),
                (None, None) => None,
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
                let Some((sum, n)) = sum_of(&code[..9]) else {
                    continue;
                };
                if sum > value * (1.0 + tolerance) {
                    found.push(
                        Finding::new(file.shown, &file.class.node.code, Rule::Rollup,
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

    /// Keep what later batches need from this one's files, after its checks: the figures of the
    /// (class, field) pairs the pipeline's classes check against, and the villages and townships
    /// with a usable capacity return.
    fn keep_figures(&mut self, files: &[FileRows<'_>]) -> PolarsResult<()> {
        for ((class, field), population) in self.population.iter_mut() {
            for (code, v) in clean_values(files, class, field)? {
                population.entry(code).or_insert(v);
            }
        }
        for ((class, field), sums) in self.sums.iter_mut() {
            for (code, v) in clean_values(files, class, field)? {
                add_to_township(sums, &code, v);
            }
        }
        for (class, townships) in COVERAGE {
            for f in files.iter().filter(|f| f.class.node.code == class) {
                let bad = error_lines(f);
                let covered = self.covered.entry(class).or_default();
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
        }
        Ok(())
    }

    /// `ind.missing_input`: villages without a DR-GRS-02 return and townships without a
    /// DR-GRS-01 return (rows with errors do not count) get null capacity indicators. One finding
    /// per class that has returns, for its first file (`first_file` gives its name as shown).
    ///
    /// `villages` are the pipeline's villages, each as (village code, township code).
    pub fn coverage_findings<'v>(
        &self,
        villages: impl Iterator<Item = (&'v str, &'v str)>,
        first_file: impl Fn(&str) -> Option<String>,
    ) -> Vec<Finding> {
        let mut all_villages = std::collections::BTreeSet::new();
        let mut all_townships = std::collections::BTreeSet::new();
        for (village, township) in villages {
            all_villages.insert(village);
            all_townships.insert(township);
        }
        let mut out = Vec::new();
        for (class, townships) in COVERAGE {
            let Some(shown) = first_file(class) else {
                continue;
            };
            let covered = self.covered.get(class).map_or(0, |c| c.len());
            let (total, unit_zh, unit_en) = if townships {
                (all_townships.len(), "乡镇（街道）", "townships")
            } else {
                (all_villages.len(), "村（社区）", "villages")
            };
            let missing = total.saturating_sub(covered);
            if missing > 0 {
                out.push(Finding::new(&shown, class, Rule::MissingInput,
                    format!("{total} 个{unit_zh}中有 {missing} 个没有可用的 {class} 填报，其减灾能力指标为空"),
                    format!("{missing} of {total} {unit_en} have no usable {class} return: their capacity indicators are null")));
            }
        }
        out
    }
}

/// Add `v` to the township of village `code` (12 ASCII digits).
fn add_to_township(sums: &mut HashMap<String, (f64, usize)>, code: &str, v: f64) {
    let sum = sums.entry(code[..9].to_string()).or_default();
    sum.0 += v;
    sum.1 += 1;
}

/// `xt.not_sampled`: household returns outside the villages the pipeline lists as sampled. Without
/// a list, one `xt.not_checked` info per file says so.
pub fn sampled_villages_only(files: &mut [FileRows<'_>], sampled: Option<&[String]>) {
    let sampled: Option<std::collections::HashSet<&str>> =
        sampled.map(|s| s.iter().map(String::as_str).collect());
    for file in files.iter_mut().filter(|f| {
        f.class
            .checks
            .iter()
            .any(|c| matches!(c, Check::SampledVillagesOnly))
    }) {
        let Some(sampled) = &sampled else {
            file.findings.push(Finding::new(file.shown, &file.class.node.code, Rule::NotChecked,
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
                        file.shown,
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

#[cfg(test)]
mod tests {
    use super::row_key;

    #[test]
    fn row_keys_keep_their_parts_apart() {
        // The same text split differently, or under another kind, is another key.
        assert_ne!(
            row_key(b"name", &["白银一中", "620402"]),
            row_key(b"name", &["白银一", "中620402"])
        );
        assert_ne!(row_key(b"name", &["X"]), row_key(b"credit", &["X"]));
        assert_eq!(
            row_key(b"credit", &["91620400MA74XXXX0B"]),
            row_key(b"credit", &["91620400MA74XXXX0B"])
        );
    }
}

//! Returns of all 31 classes: how many rows per class (the census's mix), where they are, what
//! their cells hold, and which rows carry a planted defect.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use riskcensus_core::schema::{Check, DivisionLevel};
use riskcensus_core::{uscc, Field, FieldType, ResolvedClass, SchemaSet};

use crate::geography::{Geography, Village};
use crate::{create, mix, Options, SynthError};

/// The national class mix, in rows (the census's own scale: ≈ 700 k public-service facilities,
/// 150 k hazardous-chemical firms, 30 k mines and ≈ 4.5 M capacity records). The village and
/// township capacity returns (DR-GRS-02, DR-GRS-01) are not here: every village and township
/// files exactly one. Households (DR-HH-01) take what the other capacity classes leave.
pub fn class_mix() -> [(&'static str, u64); 29] {
    [
        ("HB-PSF-01", 200_000),
        ("HB-PSF-02", 230_000),
        ("HB-PSF-03", 40_000),
        ("HB-PSF-04", 55_000),
        ("HB-PSF-05", 15_000),
        ("HB-PSF-06", 110_000),
        ("HB-PSF-07", 10_000),
        ("HB-PSF-08", 20_000),
        ("HB-PSF-09", 20_000),
        ("HB-HCS-01", 1_000),
        ("HB-HCS-02", 149_000),
        ("HB-NCM-01", 22_000),
        ("HB-NCM-02", 5_000),
        ("HB-NCM-03", 3_000),
        ("DR-GOV-01", 38_000),
        ("DR-GOV-02", 30_000),
        ("DR-GOV-03", 5_000),
        ("DR-GOV-04", 500),
        ("DR-GOV-05", 3_000),
        ("DR-GOV-06", 2_000),
        ("DR-GOV-07", 2_000),
        ("DR-GOV-08", 3_000),
        ("DR-GOV-09", 40_000),
        ("DR-GOV-10", 100_000),
        ("DR-GOV-11", 1_000),
        ("DR-ENT-01", 30_000),
        ("DR-ENT-02", 40_000),
        ("DR-ENT-03", 20_000),
        ("DR-HH-01", 3_547_500),
    ]
}

/// Households per sampled village in the household survey.
const HOUSEHOLDS_PER_SAMPLED_VILLAGE: usize = 30;

/// The kinds of planted defect, each with the rule it must raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// The name left empty.
    Required,
    /// A value outside the field's code list.
    CodeList,
    /// Words in a number field.
    NotANumber,
    /// A negative count.
    Negative,
    /// A division code the register lacks.
    UnknownDivision,
    /// A credit code with a wrong check character.
    Checksum,
    /// Longitude and latitude swapped.
    Swapped,
    /// The point (0, 0).
    ZeroPoint,
    /// A point in another county.
    OtherCounty,
}

impl Defect {
    const ALL: [Defect; 9] = [
        Defect::Required,
        Defect::CodeList,
        Defect::NotANumber,
        Defect::Negative,
        Defect::UnknownDivision,
        Defect::Checksum,
        Defect::Swapped,
        Defect::ZeroPoint,
        Defect::OtherCounty,
    ];

    /// The rule code the defect must raise.
    pub fn rule(self) -> &'static str {
        match self {
            Defect::Required => "cell.required",
            Defect::CodeList => "cell.code_list",
            Defect::NotANumber => "cell.type",
            Defect::Negative => "cell.range",
            Defect::UnknownDivision => "id.division_unknown",
            Defect::Checksum => "id.uscc_checksum",
            Defect::Swapped => "geo.swapped",
            Defect::ZeroPoint => "geo.zero",
            Defect::OtherCounty => "geo.outside_county",
        }
    }
}

/// One file written.
#[derive(Debug, Clone)]
pub(crate) struct WrittenFile {
    pub class: String,
    /// Relative to the output directory, `/`-separated.
    pub path: String,
    pub rows: usize,
}

/// Everything written.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub files: Vec<WrittenFile>,
    pub defects: usize,
    /// Villages of the household sample.
    pub sampled: Vec<usize>,
}

/// A planted defect: file, CSV line, field id, kind.
struct Planted {
    line: usize,
    field: String,
    defect: Defect,
}

/// Where the rows of one class go in one province.
enum Places {
    /// Each village of the province once (DR-GRS-02).
    EveryVillage,
    /// Each township of the province once (DR-GRS-01).
    EveryTownship,
    /// Households of the sampled villages of the province: (village, households).
    Sampled(Vec<(usize, usize)>),
    /// `rows` rows at random villages; credit codes numbered from `first_number`.
    Random { rows: usize, first_number: u64 },
}

struct Task<'a> {
    class: &'a ResolvedClass,
    class_index: usize,
    province: usize,
    places: Places,
}

/// Rows per class: every village and township once, the rest by the national mix (largest
/// remainders, so the total is exact).
fn plan(geo: &Geography, rows: usize) -> Vec<(&'static str, usize)> {
    let rest = rows - geo.villages.len() - geo.townships.len();
    let mix = class_mix();
    let total: u64 = mix.iter().map(|(_, n)| n).sum();
    let mut counts: Vec<(&'static str, usize, u64)> = mix
        .iter()
        .map(|&(c, n)| {
            let exact = rest as u128 * n as u128;
            (
                c,
                (exact / total as u128) as usize,
                (exact % total as u128) as u64,
            )
        })
        .collect();
    let short = rest - counts.iter().map(|c| c.1).sum::<usize>();
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    by_remainder.sort_by(|&a, &b| counts[b].2.cmp(&counts[a].2).then(a.cmp(&b)));
    for &i in by_remainder.iter().take(short) {
        counts[i].1 += 1;
    }
    // Small censuses still cover every class: one row each, taken from the largest class.
    if rest >= counts.len() {
        for i in 0..counts.len() {
            if counts[i].1 == 0 {
                let largest = (0..counts.len()).max_by_key(|&j| counts[j].1).unwrap_or(0);
                counts[largest].1 -= 1;
                counts[i].1 = 1;
            }
        }
    }
    let mut plan = vec![
        ("DR-GRS-01", geo.townships.len()),
        ("DR-GRS-02", geo.villages.len()),
    ];
    plan.extend(counts.into_iter().map(|(c, n, _)| (c, n)));
    plan.sort_by(|a, b| a.0.cmp(b.0));
    plan
}

/// Write every return file (in parallel, one task per province and class) and
/// `planted_defects.csv`.
pub(crate) fn write_all(
    geo: &Geography,
    schemas: &SchemaSet,
    options: &Options,
    out: &Path,
) -> Result<Written, SynthError> {
    let plan = plan(geo, options.rows);
    let n = geo.villages.len();
    let households = plan
        .iter()
        .find(|(c, _)| *c == "DR-HH-01")
        .map_or(0, |p| p.1);
    let n_sampled = households
        .div_ceil(HOUSEHOLDS_PER_SAMPLED_VILLAGE)
        .min(n)
        .max(usize::from(households > 0));
    let sampled: Vec<(usize, usize)> = (0..n_sampled)
        .map(|s| {
            (
                s * n / n_sampled,
                households * (s + 1) / n_sampled - households * s / n_sampled,
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for (class_index, &(code, rows)) in plan.iter().enumerate() {
        let class = schemas
            .class(code)
            .ok_or_else(|| SynthError::MissingClass(code.to_string()))?;
        for (p, prov) in geo.provinces.iter().enumerate() {
            let places = match code {
                "DR-GRS-02" => Places::EveryVillage,
                "DR-GRS-01" => Places::EveryTownship,
                "DR-HH-01" => Places::Sampled(
                    sampled
                        .iter()
                        .filter(|(v, _)| (prov.first_village..prov.end_village).contains(v))
                        .copied()
                        .collect(),
                ),
                _ => {
                    let share = |v: usize| (rows as u128 * v as u128 / n as u128) as usize;
                    Places::Random {
                        rows: share(prov.end_village) - share(prov.first_village),
                        first_number: share(prov.first_village) as u64,
                    }
                }
            };
            tasks.push(Task {
                class,
                class_index,
                province: p,
                places,
            });
        }
    }
    let results: Vec<Result<(WrittenFile, Vec<Planted>), SynthError>> = tasks
        .par_iter()
        .map(|t| write_file(geo, t, options, out))
        .collect();
    let mut written = Written {
        files: Vec::new(),
        defects: 0,
        sampled: sampled.iter().map(|s| s.0).collect(),
    };
    let mut defects = csv::Writer::from_writer(create(&out.join("planted_defects.csv"))?);
    defects.write_record(["file", "row", "field", "defect", "rule"])?;
    for r in results {
        let (file, planted) = r?;
        if file.rows == 0 {
            continue;
        }
        for p in &planted {
            defects.write_record([
                file.path.as_str(),
                &p.line.to_string(),
                &p.field,
                &format!("{:?}", p.defect),
                p.defect.rule(),
            ])?;
        }
        written.defects += planted.len();
        written.files.push(file);
    }
    defects.flush()?;
    Ok(written)
}

/// Residents of a village: a fixed function of the seed, so that the township return can add up
/// its villages without generating them.
fn village_residents(seed: u64, village: usize) -> u64 {
    500 + mix(seed, 0x7e5_0000_0000 + village as u64) % 4500
}

fn write_file(
    geo: &Geography,
    task: &Task<'_>,
    options: &Options,
    out: &Path,
) -> Result<(WrittenFile, Vec<Planted>), SynthError> {
    let class = task.class;
    let code = class.node.code.as_str();
    let prov = &geo.provinces[task.province];
    let rel = format!("returns/{}/{code}.csv", prov.code);
    let mut rng = ChaCha8Rng::seed_from_u64(mix(
        options.seed,
        ((task.class_index as u64) << 8) | task.province as u64,
    ));
    // Rows as (village, number for the credit code); a township row names its first village.
    let places: Vec<(usize, u64)> = match &task.places {
        Places::EveryVillage => (prov.first_village..prov.end_village)
            .map(|v| (v, v as u64))
            .collect(),
        Places::EveryTownship => geo
            .townships
            .iter()
            .enumerate()
            .filter(|(_, t)| (prov.first_village..prov.end_village).contains(&t.first_village))
            .map(|(i, t)| (t.first_village, i as u64))
            .collect(),
        Places::Sampled(list) => list
            .iter()
            .flat_map(|&(v, k)| std::iter::repeat_n((v, 0), k))
            .collect(),
        Places::Random { rows, first_number } => {
            let villages = prov.end_village - prov.first_village;
            (0..*rows)
                .map(|i| {
                    (
                        prov.first_village + rng.random_range(0..villages),
                        first_number + i as u64,
                    )
                })
                .collect()
        }
    };
    let file = WrittenFile {
        class: code.to_string(),
        path: rel.clone(),
        rows: places.len(),
    };
    if places.is_empty() {
        return Ok((file, Vec::new()));
    }
    let mut w = csv::Writer::from_writer(create(&out.join(&rel))?);
    w.write_record(class.fields.iter().map(|f| f.label_with_unit()))?;
    let mut counters: Vec<u32> = vec![0; prov.end_village - prov.first_village];
    let mut planted = Vec::new();
    let township_level = class.division_level == DivisionLevel::Township;
    for (i, &(v, number)) in places.iter().enumerate() {
        let village = &geo.villages[v];
        let k = &mut counters[v - prov.first_village];
        *k += 1;
        let mut row = row(
            geo,
            class,
            v,
            *k,
            number,
            township_level,
            options.seed,
            &mut rng,
        );
        if options.defect_rate > 0.0 && rng.random_bool(options.defect_rate) {
            let candidates: Vec<Defect> = Defect::ALL
                .into_iter()
                .filter(|d| applicable(*d, class, &row, geo))
                .collect();
            if !candidates.is_empty() {
                let d = candidates[rng.random_range(0..candidates.len())];
                let field = plant(d, class, &mut row, geo, village, &mut rng);
                planted.push(Planted {
                    line: i + 2,
                    field,
                    defect: d,
                });
            }
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok((file, planted))
}

fn field_index(class: &ResolvedClass, id: &str) -> Option<usize> {
    class.fields.iter().position(|f| f.id == id)
}

fn first_of(class: &ResolvedClass, t: FieldType) -> Option<usize> {
    class.fields.iter().position(|f| f.field_type == t)
}

/// A field the defect can go into, if the class has one.
fn target(d: Defect, class: &ResolvedClass, row: &[String]) -> Option<usize> {
    match d {
        Defect::Required => field_index(class, "name").filter(|&i| class.fields[i].required),
        Defect::CodeList => class
            .fields
            .iter()
            .position(|f| f.field_type == FieldType::Enum && f.id != "code_type"),
        Defect::NotANumber => first_of(class, FieldType::Integer),
        Defect::Negative => class
            .fields
            .iter()
            .position(|f| f.field_type == FieldType::Integer && f.min == Some(0.0)),
        Defect::UnknownDivision => first_of(class, FieldType::DivisionCode),
        Defect::Checksum => field_index(class, "credit_code").filter(|&i| !row[i].is_empty()),
        Defect::Swapped | Defect::ZeroPoint | Defect::OtherCounty => {
            first_of(class, FieldType::Longitude)
        }
    }
}

fn applicable(d: Defect, class: &ResolvedClass, row: &[String], geo: &Geography) -> bool {
    if d == Defect::OtherCounty && geo.counties.len() < 2 {
        return false;
    }
    target(d, class, row).is_some()
}

/// Put the defect into the row; returns the field id.
fn plant(
    d: Defect,
    class: &ResolvedClass,
    row: &mut [String],
    geo: &Geography,
    village: &Village,
    rng: &mut ChaCha8Rng,
) -> String {
    let Some(i) = target(d, class, row) else {
        return String::new();
    };
    let lat = first_of(class, FieldType::Latitude);
    match d {
        Defect::Required => row[i].clear(),
        Defect::CodeList => row[i] = "其它类型".into(),
        Defect::NotANumber => row[i] = format!("约{}", row[i]),
        Defect::Negative => row[i] = "-5".into(),
        Defect::UnknownDivision => {
            let keep = &row[i][..9];
            row[i] = format!("{keep}999");
        }
        Defect::Checksum => {
            let last = row[i].pop().unwrap_or('0');
            row[i].push(if last == '1' { '2' } else { '1' });
        }
        Defect::Swapped => {
            if let Some(j) = lat {
                row.swap(i, j);
            }
        }
        Defect::ZeroPoint => {
            row[i] = "0".into();
            if let Some(j) = lat {
                row[j] = "0".into();
            }
        }
        Defect::OtherCounty => {
            let other = &geo.counties[(village.county + 1) % geo.counties.len()];
            let v = &geo.villages[other.first_village + rng.random_range(0..other.villages)];
            let (x, y) = geo.point_in(v, rng);
            row[i] = format!("{x:.6}");
            if let Some(j) = lat {
                row[j] = format!("{y:.6}");
            }
        }
    }
    class.fields[i].id.clone()
}

/// A valid credit code (GB 32100) whose organisation part is the number `n`: unique per row of a
/// class.
pub fn numbered_credit_code(prefix: &str, county: &str, n: u64) -> String {
    credit_code_with(prefix, county, &format!("{:08}", n % 100_000_000))
}

/// A valid credit code from its parts: registration `prefix` (2), `county` (6) and an 8-digit
/// organisation `body`, with the organisation code's GB 11714 check and the GB 32100 check
/// character added.
pub fn credit_code_with(prefix: &str, county: &str, body: &str) -> String {
    let weights = [3, 7, 9, 10, 5, 8, 4, 2];
    let s: u32 = body
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    let org_check = match 11 - s % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap_or('0'),
    };
    let first17 = format!("{prefix}{county}{body}{org_check}");
    let check = uscc::check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// The kind of facility a class's synthetic names end in (`小学`, `卫生院` …).
pub fn class_short(code: &str) -> &'static str {
    match code {
        "HB-PSF-01" => "小学",
        "HB-PSF-02" => "卫生院",
        "HB-PSF-03" => "敬老院",
        "HB-PSF-04" => "文化活动中心",
        "HB-PSF-05" => "景区",
        "HB-PSF-06" => "宾馆",
        "HB-PSF-07" => "体育馆",
        "HB-PSF-08" => "寺",
        "HB-PSF-09" => "商贸市场",
        "HB-HCS-01" => "化工园区",
        "HB-HCS-02" => "化工有限公司",
        "HB-NCM-01" => "矿业有限公司",
        "HB-NCM-02" => "采石场",
        "HB-NCM-03" => "尾矿库",
        "DR-GOV-01" => "应急管理站",
        "DR-GOV-02" => "消防救援站",
        "DR-GOV-03" => "森林消防队",
        "DR-GOV-04" => "航空护林站",
        "DR-GOV-05" => "地震救援队",
        "DR-GOV-06" => "矿山救护队",
        "DR-GOV-07" => "危化救援队",
        "DR-GOV-08" => "水上救援站",
        "DR-GOV-09" => "救灾物资储备点",
        "DR-GOV-10" => "应急避难场所",
        "DR-GOV-11" => "渔船避风港",
        "DR-ENT-01" => "工程机械有限公司",
        "DR-ENT-02" => "保险营销服务部",
        "DR-ENT-03" => "应急救援队",
        _ => "",
    }
}

/// One clean row: every field filled by its type within the schema's rules, the schema's checks
/// respected.
#[allow(clippy::too_many_arguments)]
fn row(
    geo: &Geography,
    class: &ResolvedClass,
    v: usize,
    k: u32,
    number: u64,
    township_level: bool,
    seed: u64,
    rng: &mut ChaCha8Rng,
) -> Vec<String> {
    let code = class.node.code.as_str();
    let village = &geo.villages[v];
    let [p, c, x, t, vil] = geo.names(village);
    let township = &geo.townships[village.township];
    let county_code = &geo.counties[village.county].code;
    let (lon, lat) = geo.point_in(village, rng);
    let residents: u64 = if township_level {
        (township.first_village..township.first_village + township.villages)
            .map(|v| village_residents(seed, v))
            .sum()
    } else {
        village_residents(seed, v)
    };
    let households = residents / 3;
    let name = if township_level {
        t.to_string()
    } else {
        // Numbered from 1, so two facilities of a class in one village differ only in digits
        // (which `dup.near_point` never takes for a duplicate).
        format!("{vil}第{k}{}", class_short(code))
    };
    let mut row: Vec<String> = Vec::with_capacity(class.fields.len());
    for f in &class.fields {
        let value = match (f.id.as_str(), f.field_type) {
            ("name", _) => name.clone(),
            ("credit_code", _) => numbered_credit_code(
                if code.starts_with("DR-ENT")
                    || code.starts_with("HB-HCS")
                    || code.starts_with("HB-NCM")
                {
                    "91"
                } else {
                    "12"
                },
                county_code,
                number,
            ),
            ("code_type", _) => "统一社会信用代码".into(),
            ("province", _) => p.into(),
            ("city", _) => c.into(),
            ("county", _) => x.into(),
            ("township", _) => t.into(),
            ("village", _) => {
                if township_level {
                    String::new()
                } else {
                    vil.into()
                }
            }
            ("street", _) => String::new(),
            ("address", _) => format!(
                "{x}{t}{}{}号",
                if township_level { "" } else { vil },
                rng.random_range(1..300)
            ),
            ("mineral", _) => ["铜", "铅锌", "石膏", "石灰岩"][(number % 4) as usize].into(),
            ("residents", FieldType::Integer) => residents.to_string(),
            ("households", FieldType::Integer) => households.to_string(),
            (_, FieldType::DivisionCode) => {
                if township_level {
                    format!("{}000", township.code)
                } else {
                    village.code.clone()
                }
            }
            (_, FieldType::Longitude) => format!("{lon:.6}"),
            (_, FieldType::Latitude) => format!("{lat:.6}"),
            _ => random_value(f, rng),
        };
        row.push(value);
    }
    respect_checks(class, &mut row);
    row
}

/// A plausible value for a field by its type, within the schema's code list and range: the
/// fields that need no context (codes, points and names are the caller's). Used by
/// `riskcensus synth` and by the sample-data generator.
pub fn random_value(f: &Field, rng: &mut impl Rng) -> String {
    match f.field_type {
        FieldType::Enum => {
            let choices: Vec<&String> = f
                .codes
                .iter()
                .filter(|c| c.as_str() != "其他" && c.as_str() != "无")
                .collect();
            let choices = if choices.is_empty() {
                f.codes.iter().collect()
            } else {
                choices
            };
            choices[rng.random_range(0..choices.len())].clone()
        }
        FieldType::MultiEnum => {
            let choices: Vec<&String> = f
                .codes
                .iter()
                .filter(|c| !matches!(c.as_str(), "其他" | "无" | "未收到"))
                .collect();
            let a = rng.random_range(0..choices.len());
            let b = rng.random_range(0..choices.len());
            if a == b {
                choices[a].clone()
            } else {
                format!("{};{}", choices[a.min(b)], choices[a.max(b)])
            }
        }
        FieldType::Boolean => if rng.random_bool(0.6) { "是" } else { "否" }.into(),
        FieldType::Date => format!(
            "{}-{:02}-{:02}",
            rng.random_range(1985..2020),
            rng.random_range(1..13),
            rng.random_range(1..29)
        ),
        FieldType::Integer => {
            let lo = f.min.unwrap_or(0.0).max(1.0) as i64;
            let hi = f.max.map_or(400, |m| m as i64).max(lo + 1);
            let hi = if f.id == "household_size" { 6 } else { hi };
            rng.random_range(lo..=hi.min(lo + 400)).to_string()
        }
        FieldType::Decimal if f.id == "weight" => {
            format!("{:.1}", rng.random_range(150.0..600.0))
        }
        FieldType::Decimal => match f.unit.as_deref() {
            Some("万元") => format!("{:.2}", rng.random_range(2.0..80.0)),
            Some("元") => format!("{:.0}", rng.random_range(20000.0..400000.0)),
            _ => format!("{:.1}", rng.random_range(10.0..900.0)),
        },
        FieldType::Text | FieldType::CreditCode => String::new(),
        FieldType::DivisionCode | FieldType::Longitude | FieldType::Latitude => String::new(),
    }
}

/// Parts within totals, zero counts with zero amounts, dependent fields filled.
fn respect_checks(class: &ResolvedClass, row: &mut [String]) {
    let idx = |id: &str| field_index(class, id);
    for _ in 0..4 {
        for check in &class.checks {
            let Check::PartLeTotal { parts, total } = check else {
                continue;
            };
            let Some(t) = idx(total) else { continue };
            let total: f64 = row[t].parse().unwrap_or(0.0);
            let share = (total / (2.0 * parts.len() as f64)).floor();
            for p in parts.iter().filter_map(|p| idx(p)) {
                let current: f64 = row[p].parse().unwrap_or(0.0);
                if current > share {
                    row[p] = if row[p].contains('.') {
                        format!("{share:.1}")
                    } else {
                        format!("{}", share as i64)
                    };
                }
            }
        }
    }
    for check in &class.checks {
        match check {
            // A part may be the total of another check: shrinking parts only, in several
            // passes, settles every chain.
            Check::PartLeTotal { .. } => {}
            Check::ZeroImpliesZero { count, amount } => {
                if let (Some(c), Some(a)) = (idx(count), idx(amount)) {
                    if row[c] == "0" {
                        row[a] = "0".into();
                    }
                }
            }
            Check::RequiredIf {
                field,
                when,
                equals,
            } => {
                if let (Some(fi), Some(wi)) = (idx(field), idx(when)) {
                    let triggered = match equals {
                        Some(e) => row[wi].split(';').any(|x| x == e),
                        None => !row[wi].is_empty(),
                    };
                    if triggered && row[fi].is_empty() {
                        row[fi] = if class.fields[fi].field_type == FieldType::Enum {
                            class.fields[fi].codes.first().cloned().unwrap_or_default()
                        } else {
                            "12.5".into()
                        };
                    }
                }
            }
            Check::MaxPerResident { .. }
            | Check::VillagesWithinTownship { .. }
            | Check::SampledVillagesOnly => {}
        }
    }
}

/// `pipeline.toml`: everything above, relative to the output directory.
pub(crate) fn write_pipeline(
    geo: &Geography,
    written: &Written,
    options: &Options,
    out: &Path,
) -> Result<(), SynthError> {
    use std::fmt::Write as _;
    let mut s = String::new();
    let Options {
        villages,
        rows,
        seed,
        defect_rate,
        village_shape,
    } = options;
    let _ = writeln!(
        s,
        "# Synthetic census: riskcensus synth --villages {villages} --rows {rows} --seed {seed} --defect-rate {defect_rate} --village-shape {village_shape}\n# Paths are relative to this file."
    );
    let _ = writeln!(s, "name = \"synth-{villages}v-{rows}r-s{seed}\"");
    s.push_str("reference_date = \"2020-12-31\"\noutput = \"db\"\nschemas = \"schemas\"\n");
    let sampled: Vec<String> = written
        .sampled
        .iter()
        .map(|&v| format!("\"{}\"", geo.villages[v].code))
        .collect();
    let _ = writeln!(s, "sampled_villages = [{}]\n", sampled.join(", "));
    s.push_str("[hazard]\nname = \"地震动峰值加速度 (seismic design PGA), synthetic\"\nsource = \"riskcensus synth (random, not real values)\"\nunit = \"g\"\n");
    const PGA: [f64; 6] = [0.05, 0.10, 0.15, 0.20, 0.30, 0.40];
    let hazard: Vec<String> = geo
        .counties
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let pga = PGA[(mix(*seed, 0x4a2_0000 + i as u64) % 6) as usize];
            format!("\"{}\" = {pga:.2}", c.code)
        })
        .collect();
    let _ = writeln!(s, "counties = {{ {} }}\n", hazard.join(", "));
    let _ = writeln!(
        s,
        "[register]\npath = \"register.csv\"\nedition = \"synthetic register (riskcensus synth, seed {seed})\"\n"
    );
    s.push_str("[geometry]\nvillages = \"geometry/villages.geojson\"\ncounties = \"geometry/counties.geojson\"\ncrs = \"EPSG:4490\"\n");
    for f in &written.files {
        let _ = write!(
            s,
            "\n[[returns]]\nclass = \"{}\"\npath = \"{}\"\n",
            f.class, f.path
        );
    }
    let path = out.join("pipeline.toml");
    std::fs::write(&path, s).map_err(|source| SynthError::Io { path, source })
}

//! Capacity indicators, their TOPSIS score and the five-level grade (docs/indicators.md).
//!
//! ```
//! use riskcensus_aggregate::capacity::{grade, topsis, Grade};
//! // Three areas, two benefit indicators: the worst, the middle and the best.
//! let scores = topsis(&[vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]]);
//! assert!(scores[0].abs() < 1e-12 && (scores[1] - 0.5).abs() < 1e-12 && (scores[2] - 1.0).abs() < 1e-12);
//! assert_eq!(grade(&scores), [Some(Grade::FairlyWeak), Some(Grade::Medium), Some(Grade::FairlyStrong)]);
//! ```

use polars::prelude::*;

/// The version of the indicator method (docs/indicators.md), recorded in the manifest.
pub const METHOD_VERSION: &str = "capacity-1";

/// Capacity grade: 强 / 较强 / 中等 / 较弱 / 弱, cut at μ ± 0.5σ and μ ± 1.5σ of the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// 强: score ≥ μ + 1.5σ.
    Strong,
    /// 较强: μ + 0.5σ ≤ score < μ + 1.5σ.
    FairlyStrong,
    /// 中等: μ − 0.5σ ≤ score < μ + 0.5σ.
    Medium,
    /// 较弱: μ − 1.5σ ≤ score < μ − 0.5σ.
    FairlyWeak,
    /// 弱: score < μ − 1.5σ.
    Weak,
}

impl Grade {
    /// The Chinese label.
    pub fn zh(self) -> &'static str {
        match self {
            Grade::Strong => "强",
            Grade::FairlyStrong => "较强",
            Grade::Medium => "中等",
            Grade::FairlyWeak => "较弱",
            Grade::Weak => "弱",
        }
    }
    /// 5 (强) … 1 (弱), for graduated styles.
    pub fn level(self) -> i64 {
        match self {
            Grade::Strong => 5,
            Grade::FairlyStrong => 4,
            Grade::Medium => 3,
            Grade::FairlyWeak => 2,
            Grade::Weak => 1,
        }
    }
}

/// TOPSIS closeness (0–1) of each alternative to the ideal, all indicators benefit-type, equal
/// weights, vector (L2) normalisation. An indicator that is 0 everywhere carries no information and
/// is left out of the distances.
pub fn topsis(rows: &[Vec<f64>]) -> Vec<f64> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Vec::new();
    };
    let norms: Vec<f64> = (0..width)
        .map(|j| rows.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt())
        .collect();
    let weight = 1.0 / width as f64;
    // The weighted, normalised value of indicator `j` of a row: computed where needed rather than
    // kept as a second matrix (600,000 villages × 7 indicators at national scale).
    let v = |r: &[f64], j: usize| {
        if norms[j] > 0.0 {
            weight * r[j] / norms[j]
        } else {
            0.0
        }
    };
    let best: Vec<f64> = (0..width)
        .map(|j| rows.iter().map(|r| v(r, j)).fold(f64::MIN, f64::max))
        .collect();
    let worst: Vec<f64> = (0..width)
        .map(|j| rows.iter().map(|r| v(r, j)).fold(f64::MAX, f64::min))
        .collect();
    rows.iter()
        .map(|r| {
            let d_best = (0..width)
                .map(|j| (v(r, j) - best[j]).powi(2))
                .sum::<f64>()
                .sqrt();
            let d_worst = (0..width)
                .map(|j| (v(r, j) - worst[j]).powi(2))
                .sum::<f64>()
                .sqrt();
            if d_best + d_worst > 0.0 {
                d_worst / (d_best + d_worst)
            } else {
                0.5
            }
        })
        .collect()
}

/// Grades at μ ± 0.5σ and μ ± 1.5σ (population standard deviation) of the scores.
pub fn grade(scores: &[f64]) -> Vec<Option<Grade>> {
    if scores.is_empty() {
        return Vec::new();
    }
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
    scores
        .iter()
        .map(|&s| {
            Some(if s >= mean + 1.5 * sd && sd > 0.0 {
                Grade::Strong
            } else if s >= mean + 0.5 * sd && sd > 0.0 {
                Grade::FairlyStrong
            } else if s >= mean - 0.5 * sd || sd == 0.0 {
                Grade::Medium
            } else if s >= mean - 1.5 * sd {
                Grade::FairlyWeak
            } else {
                Grade::Weak
            })
        })
        .collect()
}

/// One indicator: output column and expression.
type Indicator = (&'static str, Expr);

fn has(table: &DataFrame, name: &str) -> bool {
    table.column(name).is_ok()
}

/// A count or sum that is truly 0 where absent (no facility of that class), as Float64.
fn or_zero(table: &DataFrame, name: &str) -> Expr {
    if has(table, name) {
        col(name).cast(DataType::Float64).fill_null(lit(0.0))
    } else {
        lit(0.0)
    }
}

/// A reported figure: null where nobody reported it.
fn reported(table: &DataFrame, name: &str) -> Expr {
    if has(table, name) {
        col(name).cast(DataType::Float64)
    } else {
        lit(NULL).cast(DataType::Float64)
    }
}

fn per_10k(x: Expr, residents: Expr) -> Expr {
    when(residents.clone().gt(lit(0.0)))
        .then(x * lit(10_000.0) / residents)
        .otherwise(lit(NULL).cast(DataType::Float64))
}

fn share(x: Expr, residents: Expr) -> Expr {
    when(residents.clone().gt(lit(0.0)))
        .then(x / residents)
        .otherwise(lit(NULL).cast(DataType::Float64))
}

fn yes(x: Expr) -> Expr {
    when(x.clone().is_null())
        .then(lit(NULL).cast(DataType::Float64))
        .otherwise(x.gt(lit(0.0)).cast(DataType::Float64))
}

/// The seven village (社区/行政村) indicators (docs/indicators.md), from a [`crate::by_village`]
/// table; null where the village has no DR-GRS-02 return.
pub fn village_indicators(t: &DataFrame) -> Vec<Indicator> {
    let residents = reported(t, "dr_grs_02_residents");
    vec![
        ("ind_plan", yes(reported(t, "dr_grs_02_has_plan"))),
        (
            "ind_hazard_list",
            yes(reported(t, "dr_grs_02_has_hazard_list")),
        ),
        (
            "ind_funding",
            per_10k(reported(t, "dr_grs_02_funding"), residents.clone()),
        ),
        (
            "ind_medical",
            per_10k(or_zero(t, "hb_psf_02_beds"), residents.clone()),
        ),
        (
            "ind_self_rescue",
            per_10k(
                reported(t, "dr_grs_02_volunteers")
                    + or_zero(t, "dr_grs_02_militia")
                    + or_zero(t, "dr_gov_02_members"),
                residents.clone(),
            ),
        ),
        (
            "ind_evacuation",
            share(
                reported(t, "dr_grs_02_drill_participants"),
                residents.clone(),
            ),
        ),
        (
            "ind_relocation",
            share(reported(t, "dr_grs_02_shelter_capacity"), residents),
        ),
    ]
}

/// The eight township (乡镇/街道) indicators of the census capacity assessment (GB/T 43981-2024
/// style; taxonomy.md appendix A), from a [`crate::by_township`] table; null where the township
/// has no DR-GRS-01 return.
pub fn township_indicators(t: &DataFrame) -> Vec<Indicator> {
    let residents = reported(t, "dr_grs_01_residents");
    vec![
        (
            "ind_team",
            per_10k(reported(t, "dr_grs_01_managers"), residents.clone()),
        ),
        (
            "ind_risk_assessment",
            yes(reported(t, "dr_grs_01_risk_assessment")),
        ),
        (
            "ind_funding",
            per_10k(reported(t, "dr_grs_01_funding"), residents.clone()),
        ),
        (
            "ind_reserves",
            per_10k(reported(t, "dr_grs_01_reserve_value"), residents.clone()),
        ),
        (
            "ind_medical",
            per_10k(or_zero(t, "hb_psf_02_beds"), residents.clone()),
        ),
        (
            "ind_self_rescue",
            per_10k(
                or_zero(t, "dr_gov_02_members")
                    + or_zero(t, "dr_grs_02_volunteers")
                    + or_zero(t, "dr_grs_02_militia"),
                residents.clone(),
            ),
        ),
        (
            "ind_public",
            share(
                reported(t, "dr_grs_01_drill_participants"),
                residents.clone(),
            ),
        ),
        (
            "ind_relocation",
            share(reported(t, "dr_grs_01_shelter_capacity"), residents),
        ),
    ]
}

/// Add the indicators, `capacity_score` (TOPSIS over the areas with every indicator known),
/// `capacity_grade` (强…弱) and `capacity_level` (5…1) to an area table.
pub fn with_capacity(table: &DataFrame, indicators: Vec<Indicator>) -> PolarsResult<DataFrame> {
    let names: Vec<&str> = indicators.iter().map(|(n, _)| *n).collect();
    let mut out = table
        .clone()
        .lazy()
        .with_columns(
            indicators
                .into_iter()
                .map(|(n, e)| e.alias(n))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    let columns: Vec<Vec<Option<f64>>> = names
        .iter()
        .map(|n| {
            Ok(out
                .column(n)?
                .cast(&DataType::Float64)?
                .f64()?
                .iter()
                .collect())
        })
        .collect::<PolarsResult<_>>()?;
    let complete: Vec<usize> = (0..out.height())
        .filter(|&i| columns.iter().all(|c| c[i].is_some()))
        .collect();
    let rows: Vec<Vec<f64>> = complete
        .iter()
        .map(|&i| columns.iter().map(|c| c[i].unwrap_or(0.0)).collect())
        .collect();
    let scores = topsis(&rows);
    let grades = grade(&scores);
    let mut score = vec![None; out.height()];
    let mut label = vec![None; out.height()];
    let mut level = vec![None; out.height()];
    for (k, &i) in complete.iter().enumerate() {
        score[i] = Some(scores[k]);
        label[i] = grades[k].map(Grade::zh);
        level[i] = grades[k].map(Grade::level);
    }
    out.with_column(Column::new("capacity_score".into(), score))?;
    out.with_column(Column::new("capacity_grade".into(), label))?;
    out.with_column(Column::new("capacity_level".into(), level))?;
    Ok(out)
}

/// Fields whose per-area sums count the people exposed in hazard-bearing facilities.
pub const EXPOSURE_FIELDS: [&str; 11] = [
    "hb_psf_01_students",
    "hb_psf_02_beds",
    "hb_psf_03_residents",
    "hb_psf_04_max_capacity",
    "hb_psf_05_max_instant",
    "hb_psf_06_beds",
    "hb_psf_07_max_capacity",
    "hb_psf_08_peak",
    "hb_psf_09_daily_visitors",
    "hb_ncm_01_underground",
    "hb_ncm_03_downstream_residents",
];

/// Risk on the county layer (docs/indicators.md): `hazard_value` from the pipeline's hazard
/// input, `hazard_index` = value / largest value; `exposed_people` = Σ [`EXPOSURE_FIELDS`],
/// `exposure_index` = exposed / largest; `capacity_index` = mean township `capacity_score` of the
/// county; `risk_index` = hazard × exposure × (1 − capacity), null (with `risk_note`) where an
/// input is missing; `risk_grade` 高…低 at μ ± 0.5σ / 1.5σ of the known indices, `risk_level` 5…1.
pub fn county_risk(
    counties: &DataFrame,
    hazard: &std::collections::BTreeMap<String, f64>,
    townships: &DataFrame,
) -> PolarsResult<DataFrame> {
    let codes: Vec<Option<String>> = counties
        .column("county_code")?
        .str()?
        .iter()
        .map(|c| c.map(str::to_string))
        .collect();
    let hazard_value: Vec<Option<f64>> = codes
        .iter()
        .map(|c| c.as_ref().and_then(|c| hazard.get(c).copied()))
        .collect();
    let h_max = hazard_value.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    let exposed: Vec<f64> = {
        let sum = EXPOSURE_FIELDS
            .iter()
            .fold(lit(0.0), |acc, f| acc + or_zero(counties, f));
        counties
            .clone()
            .lazy()
            .select([sum.alias("x")])
            .collect()?
            .column("x")?
            .f64()?
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .collect()
    };
    let e_max = exposed.iter().fold(0.0f64, |a, &b| a.max(b));
    let capacity: std::collections::BTreeMap<String, f64> =
        if townships.column("capacity_score").is_ok() {
            // The mean of each county's scores summed in sorted order: the same bits whatever
            // order the townships come in (a hash group-by's mean differed in the last digits
            // between reruns of one census).
            let mut scores: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
            for (c, v) in townships
                .column("county_code")?
                .str()?
                .iter()
                .zip(townships.column("capacity_score")?.f64()?.iter())
            {
                if let (Some(c), Some(v)) = (c, v) {
                    scores.entry(c.to_string()).or_default().push(v);
                }
            }
            scores
                .into_iter()
                .map(|(c, mut v)| {
                    v.sort_by(f64::total_cmp);
                    let mean = v.iter().sum::<f64>() / v.len() as f64;
                    (c, mean)
                })
                .collect()
        } else {
            Default::default()
        };
    let n = counties.height();
    let (mut h_idx, mut e_idx, mut c_idx, mut risk, mut note) = (
        vec![None; n],
        vec![None; n],
        vec![None; n],
        vec![None; n],
        vec![None; n],
    );
    for i in 0..n {
        h_idx[i] = hazard_value[i].filter(|_| h_max > 0.0).map(|v| v / h_max);
        e_idx[i] = (e_max > 0.0).then(|| exposed[i] / e_max);
        c_idx[i] = codes[i].as_ref().and_then(|c| capacity.get(c).copied());
        let mut missing = Vec::new();
        if h_idx[i].is_none() {
            missing.push("致灾因子 hazard");
        }
        if e_idx[i].is_none() {
            missing.push("承灾体暴露 exposure");
        }
        if c_idx[i].is_none() {
            missing.push("乡镇减灾能力 township capacity");
        }
        match (h_idx[i], e_idx[i], c_idx[i]) {
            (Some(h), Some(e), Some(c)) => risk[i] = Some(h * e * (1.0 - c)),
            _ => note[i] = Some(format!("缺少 missing: {}", missing.join(", "))),
        }
    }
    let known: Vec<usize> = (0..n).filter(|&i| risk[i].is_some()).collect();
    let scores: Vec<f64> = known.iter().filter_map(|&i| risk[i]).collect();
    let grades = grade(&scores);
    let (mut label, mut level) = (vec![None; n], vec![None; n]);
    for (k, &i) in known.iter().enumerate() {
        // A high risk index is a high risk: the capacity grade scale read the other way round.
        let g = grades[k];
        label[i] = g.map(|g| {
            match g {
                Grade::Strong => "高",
                Grade::FairlyStrong => "较高",
                Grade::Medium => "中",
                Grade::FairlyWeak => "较低",
                Grade::Weak => "低",
            }
            .to_string()
        });
        level[i] = g.map(Grade::level);
    }
    let mut out = counties.clone();
    out.with_column(Column::new("hazard_value".into(), hazard_value))?;
    out.with_column(Column::new("hazard_index".into(), h_idx))?;
    out.with_column(Column::new("exposed_people".into(), exposed))?;
    out.with_column(Column::new("exposure_index".into(), e_idx))?;
    out.with_column(Column::new("capacity_index".into(), c_idx))?;
    out.with_column(Column::new("risk_index".into(), risk))?;
    out.with_column(Column::new("risk_grade".into(), label))?;
    out.with_column(Column::new("risk_level".into(), level))?;
    out.with_column(Column::new("risk_note".into(), note))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: two areas, indicators (1, 0) and (0, 1) are equally far from the ideal.
    #[test]
    fn symmetric_alternatives_score_one_half() {
        let s = topsis(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert!((s[0] - 0.5).abs() < 1e-12 && (s[1] - 0.5).abs() < 1e-12);
    }

    /// Hand-checked: (1, 2), (2, 4), (3, 6): norms √14 and √56, weights ½; the middle one is
    /// equidistant from best and worst.
    #[test]
    fn proportional_alternatives() {
        let s = topsis(&[vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]]);
        assert!((s[0]).abs() < 1e-12 && (s[1] - 0.5).abs() < 1e-12 && (s[2] - 1.0).abs() < 1e-12);
    }

    /// Hand-checked county risk: hazards 0.15 and 0.30 g, exposure 100 and 300 people,
    /// capacity 0.5 known for the first only.
    #[test]
    fn county_risk_by_hand() {
        let counties = df!("county_code" => ["620402", "620403"], "hb_psf_01_students" => [Some(100i64), Some(200)],
            "hb_psf_02_beds" => [None, Some(100i64)]).unwrap();
        let townships =
            df!("county_code" => ["620402", "620402"], "capacity_score" => [Some(0.4), Some(0.6)])
                .unwrap();
        let hazard = [("620402".to_string(), 0.15), ("620403".to_string(), 0.30)]
            .into_iter()
            .collect();
        let r = county_risk(&counties, &hazard, &townships).unwrap();
        let f = |c: &str| {
            r.column(c)
                .unwrap()
                .f64()
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(f("hazard_index"), [Some(0.5), Some(1.0)]);
        assert_eq!(f("exposed_people"), [Some(100.0), Some(300.0)]);
        assert_eq!(f("capacity_index"), [Some(0.5), None]);
        let risk = f("risk_index");
        assert!((risk[0].unwrap() - 0.5 * (1.0 / 3.0) * 0.5).abs() < 1e-12);
        assert_eq!(risk[1], None);
        assert!(r
            .column("risk_note")
            .unwrap()
            .str()
            .unwrap()
            .get(1)
            .unwrap()
            .contains("township capacity"));
    }

    /// Hand-checked indicators of one village and one township (P = 2000 and 20 000).
    #[test]
    fn indicators_by_hand() {
        let v = df!("dr_grs_02_residents" => [2000i64], "dr_grs_02_has_plan" => [1i64], "dr_grs_02_has_hazard_list" => [0i64],
            "dr_grs_02_funding" => [3.0], "hb_psf_02_beds" => [10i64], "dr_grs_02_volunteers" => [30i64], "dr_grs_02_militia" => [10i64],
            "dr_grs_02_drill_participants" => [500i64], "dr_grs_02_shelter_capacity" => [1000i64]).unwrap();
        let out = v
            .clone()
            .lazy()
            .with_columns(
                village_indicators(&v)
                    .into_iter()
                    .map(|(n, e)| e.alias(n))
                    .collect::<Vec<_>>(),
            )
            .collect()
            .unwrap();
        let get = |c: &str| out.column(c).unwrap().f64().unwrap().get(0).unwrap();
        assert_eq!((get("ind_plan"), get("ind_hazard_list")), (1.0, 0.0));
        assert!((get("ind_funding") - 15.0).abs() < 1e-9); // 3 万元 / 2000 × 10⁴
        assert!((get("ind_medical") - 50.0).abs() < 1e-9); // 10 beds / 2000 × 10⁴
        assert!((get("ind_self_rescue") - 200.0).abs() < 1e-9); // (30 + 10 + 0) / 2000 × 10⁴
        assert!(
            (get("ind_evacuation") - 0.25).abs() < 1e-12
                && (get("ind_relocation") - 0.5).abs() < 1e-12
        );
        let t = df!("dr_grs_01_residents" => [20000i64], "dr_grs_01_managers" => [12i64], "dr_grs_01_risk_assessment" => [1i64],
            "dr_grs_01_funding" => [40.0], "dr_grs_01_reserve_value" => [20.0], "dr_grs_01_drill_participants" => [3000i64],
            "dr_grs_01_shelter_capacity" => [5000i64], "dr_gov_02_members" => [25i64]).unwrap();
        let out = t
            .clone()
            .lazy()
            .with_columns(
                township_indicators(&t)
                    .into_iter()
                    .map(|(n, e)| e.alias(n))
                    .collect::<Vec<_>>(),
            )
            .collect()
            .unwrap();
        let get = |c: &str| out.column(c).unwrap().f64().unwrap().get(0).unwrap();
        assert!((get("ind_team") - 6.0).abs() < 1e-9 && get("ind_risk_assessment") == 1.0);
        assert!(
            (get("ind_funding") - 20.0).abs() < 1e-9 && (get("ind_reserves") - 10.0).abs() < 1e-9
        );
        assert_eq!(get("ind_medical"), 0.0); // no hospital: a true 0
        assert!(
            (get("ind_self_rescue") - 12.5).abs() < 1e-9
                && (get("ind_public") - 0.15).abs() < 1e-12
                && (get("ind_relocation") - 0.25).abs() < 1e-12
        );
        // No return: null, never 0.
        let none = df!("dr_grs_01_residents" => [None::<i64>]).unwrap();
        let out = none
            .clone()
            .lazy()
            .with_columns(
                township_indicators(&none)
                    .into_iter()
                    .map(|(n, e)| e.alias(n))
                    .collect::<Vec<_>>(),
            )
            .collect()
            .unwrap();
        assert_eq!(out.column("ind_team").unwrap().f64().unwrap().get(0), None);
    }

    /// Scores 0…10: μ = 5, σ = √10 ≈ 3.162: cuts at 0.26, 3.42, 6.58, 9.74.
    #[test]
    fn grade_cut_points() {
        let scores: Vec<f64> = (0..=10).map(f64::from).collect();
        let g: Vec<&str> = grade(&scores)
            .into_iter()
            .map(|g| g.map_or("", Grade::zh))
            .collect();
        assert_eq!(
            g,
            [
                "弱", "较弱", "较弱", "较弱", "中等", "中等", "中等", "较强", "较强", "较强", "强"
            ]
        );
    }
}

//! Aggregate: exposure and capacity per village and county.
//!
//! For every class, the number of accepted records per village (0 where a village has none) and
//! the sum of the class's `totals` fields (null where a village has no record: a missing return is
//! not a zero). Counties sum their villages.
//!
//! ```
//! use polars::prelude::*;
//! use riskcensus_aggregate::{by_village, by_county, ClassRows};
//! let villages = df!(
//!     "code" => ["620402001001", "620402001002"], "name" => ["a", "b"],
//!     "township_code" => ["620402001", "620402001"], "county_code" => ["620402", "620402"],
//! ).unwrap();
//! let schools = df!("division_code" => ["620402001001", "620402001001"], "students" => [Some(100i64), Some(20)]).unwrap();
//! let totals = vec!["students".to_string()];
//! let v = by_village(&villages, &[ClassRows { code: "HB-PSF-01", frame: &schools, totals: &totals }]).unwrap();
//! assert_eq!(v.column("hb_psf_01_count").unwrap().i64().unwrap().to_vec(), [Some(2), Some(0)]);
//! assert_eq!(v.column("hb_psf_01_students").unwrap().i64().unwrap().to_vec(), [Some(120), None]);
//! let c = by_county(&v, &[]).unwrap();
//! assert_eq!(c.column("hb_psf_01_students").unwrap().i64().unwrap().get(0), Some(120));
//! ```
#![deny(missing_docs)]

pub mod capacity;

use polars::prelude::*;

/// The accepted rows of one class.
#[derive(Debug, Clone, Copy)]
pub struct ClassRows<'a> {
    /// Class code, e.g. `HB-PSF-01`.
    pub code: &'a str,
    /// Rows with a `division_code` column and the `totals` columns.
    pub frame: &'a DataFrame,
    /// Fields to sum.
    pub totals: &'a [String],
}

/// The columns of a class's rows that the aggregates read, besides its `totals`: the village
/// code of a class reported per village ([`by_village`]), the township and county codes of a
/// class reported per township ([`by_township`], [`by_county`]). (The household survey's answers
/// are read by [`household_sums`].)
pub fn input_columns(township_level: bool) -> &'static [&'static str] {
    if township_level {
        &["county_code", "township_code"]
    } else {
        &["division_code"]
    }
}

/// `HB-PSF-01` → `hb_psf_01`: the prefix of the class's columns on the aggregate layers.
pub fn slug(code: &str) -> String {
    code.to_ascii_lowercase().replace('-', "_")
}

/// Per-village counts and totals, one row per village of `villages` (columns `code`, `name`,
/// `township_code`, `county_code`, …), sorted by code.
pub fn by_village(villages: &DataFrame, classes: &[ClassRows<'_>]) -> PolarsResult<DataFrame> {
    let counts = classes
        .iter()
        .map(VillageCounts::of)
        .collect::<PolarsResult<Vec<_>>>()?;
    by_village_counts(villages, counts)
}

/// A village-level class's count and totals per village: what the class adds to a
/// [`by_village`] table. Made from part of the class's rows at a time ([`VillageCounts::of`])
/// and added up ([`VillageCounts::add`]), so that the rows need not be kept until the table is
/// built ([`by_village_counts`]).
///
/// ```
/// use polars::prelude::*;
/// use riskcensus_aggregate::{by_village, by_village_counts, ClassRows, VillageCounts};
/// let villages = df!("code" => ["620402001001", "620402001002"]).unwrap();
/// let totals = vec!["students".to_string()];
/// let first = df!("division_code" => ["620402001001"], "students" => [10.0]).unwrap();
/// let later = df!("division_code" => ["620402001001", "620402001002"], "students" => [5.0, 7.0]).unwrap();
/// let rows = |frame| ClassRows { code: "HB-PSF-01", frame, totals: &totals };
/// let mut counts = VillageCounts::of(&rows(&first)).unwrap();
/// counts.add(VillageCounts::of(&rows(&later)).unwrap()).unwrap();
/// let table = by_village_counts(&villages, vec![counts]).unwrap();
/// let all = first.vstack(&later).unwrap();
/// assert!(table.equals_missing(&by_village(&villages, &[rows(&all)]).unwrap()));
/// assert_eq!(table.column("hb_psf_01_count").unwrap().i64().unwrap().get(0), Some(2));
/// ```
#[derive(Debug, Clone)]
pub struct VillageCounts {
    /// `__key` (the village code), the count, then one sum per total.
    frame: DataFrame,
    /// The count column's name (`<slug>_count`).
    count: String,
    /// Whether parts were added, so that a village may have more than one row.
    added: bool,
}

impl VillageCounts {
    /// The count and totals per village of `class`'s rows. The counts own their village codes:
    /// they hold nothing of the rows' text, which can be freed.
    pub fn of(class: &ClassRows<'_>) -> PolarsResult<Self> {
        let (mut frame, count) = grouped_class(class, "division_code")?;
        // Group keys share the rows' string buffers; a copy of the (few) keys does not.
        let keys: StringChunked = frame.column("__key")?.str()?.iter().collect();
        frame.with_column(keys.with_name("__key".into()).into_column())?;
        Ok(VillageCounts {
            frame,
            count,
            added: false,
        })
    }

    /// Add the counts of more rows of the same class.
    pub fn add(&mut self, more: VillageCounts) -> PolarsResult<()> {
        self.frame.vstack_mut(&more.frame)?;
        self.added = true;
        Ok(())
    }

    /// One row per village: a village counted in more than one part gets the sum of its parts.
    /// (The census's returns split a class by area, so a village's rows are usually in one part;
    /// then nothing is summed again.)
    fn settled(self) -> PolarsResult<(DataFrame, String)> {
        if !self.added || self.frame.column("__key")?.n_unique()? == self.frame.height() {
            return Ok((self.frame, self.count));
        }
        let sums: Vec<Expr> = self
            .frame
            .get_column_names()
            .into_iter()
            .filter(|name| name.as_str() != "__key")
            .map(|name| col(name.as_str()).sum())
            .collect();
        let frame = self
            .frame
            .lazy()
            .group_by_stable([col("__key")])
            .agg(sums)
            .collect()?;
        Ok((frame, self.count))
    }
}

/// [`by_village`] from the classes' [`VillageCounts`], in the order of the table's columns.
pub fn by_village_counts(
    villages: &DataFrame,
    classes: Vec<VillageCounts>,
) -> PolarsResult<DataFrame> {
    let mut table = villages.sort(["code"], Default::default())?;
    // Each class's groups are placed on the villages' rows by code, column by column: the table
    // is not copied once per class, as a chain of joins would.
    let codes = table.column("code")?.str()?.clone();
    // foldhash: looked up once per group of every class (with SipHash, building this table alone
    // took 125 ms of the function's 1.5 s at national scale).
    let mut row_of: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    row_of.reserve(codes.len());
    row_of.extend(
        codes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|c| (c, i))),
    );
    for class in classes {
        let (grouped, count) = class.settled()?;
        let mut at: Vec<Option<IdxSize>> = vec![None; table.height()];
        for (g, key) in grouped.column("__key")?.str()?.iter().enumerate() {
            if let Some(&row) = key.and_then(|k| row_of.get(k)) {
                at[row] = Some(g as IdxSize);
            }
        }
        let at: IdxCa = at.into_iter().collect();
        for column in grouped.columns().iter().filter(|c| c.name() != "__key") {
            let placed = column.take(&at)?;
            let placed = if column.name().as_str() == count {
                placed.fill_null(FillNullStrategy::Zero)?
            } else {
                placed
            };
            table.with_column(placed)?;
        }
    }
    Ok(table)
}

/// A class's count and totals per value of its `class_key` column (as `__key`), and the name
/// of the count column.
fn grouped_class(class: &ClassRows<'_>, class_key: &str) -> PolarsResult<(DataFrame, String)> {
    let (grouped, count) = grouped_plan(class, class_key);
    Ok((grouped.collect()?, count))
}

/// [`grouped_class`] as a plan.
fn grouped_plan(class: &ClassRows<'_>, class_key: &str) -> (LazyFrame, String) {
    let s = slug(class.code);
    let count = format!("{s}_count");
    let mut aggs = vec![len().cast(DataType::Int64).alias(count.as_str())];
    aggs.extend(
        class
            .totals
            .iter()
            .map(|t| col(t.as_str()).sum().alias(format!("{s}_{t}").as_str())),
    );
    let grouped = class
        .frame
        .clone()
        .lazy()
        .filter(col(class_key).is_not_null())
        .group_by([col(class_key).alias("__key")])
        .agg(aggs);
    (grouped, count)
}

/// Join a class's count and totals, grouped by its `class_key` column, onto `table` by `key`; the
/// count is 0 where the class has no row.
fn join_class(table: LazyFrame, class: &ClassRows<'_>, key: &str, class_key: &str) -> LazyFrame {
    let (grouped, count) = grouped_plan(class, class_key);
    table
        .join(
            grouped,
            [col(key)],
            [col("__key")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(col(count.as_str()).fill_null(lit(0i64)))
}

/// Per-county sums of every `*_count` and total column of a [`by_village`] table, then the
/// counts and totals of classes reported per township (乡镇 returns), which have no village.
pub fn by_county(
    villages: &DataFrame,
    township_classes: &[ClassRows<'_>],
) -> PolarsResult<DataFrame> {
    by_area(villages, "county_code", township_classes)
}

/// Per-township sums, like [`by_county`]: the township's villages, then its own return(s).
pub fn by_township(
    villages: &DataFrame,
    township_classes: &[ClassRows<'_>],
) -> PolarsResult<DataFrame> {
    let table = by_area(villages, "township_code", township_classes)?;
    let county = villages
        .clone()
        .lazy()
        .group_by([col("township_code")])
        .agg([
            col("township_name").first(),
            col("county_code").first(),
            col("county_name").first(),
        ]);
    table
        .lazy()
        .join(
            county,
            [col("township_code")],
            [col("township_code")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["township_code"], Default::default())
        .collect()
}

/// Sums of a village table grouped by `key` (`county_code` or `township_code`, which the rows of
/// the area classes carry too), with each area class's count and totals joined on.
fn by_area(
    villages: &DataFrame,
    key: &str,
    area_classes: &[ClassRows<'_>],
) -> PolarsResult<DataFrame> {
    let skip = [
        "code",
        "name",
        "township_code",
        "township_name",
        "county_code",
        "county_name",
    ];
    let measures: Vec<Expr> = villages
        .columns()
        .iter()
        .filter(|c| !skip.contains(&c.name().as_str()))
        .map(|c| {
            let name = c.name().as_str();
            // A total stays null for an area where no village reported it.
            when(col(name).is_not_null().any(true))
                .then(col(name).sum())
                .otherwise(lit(NULL).cast(c.dtype().clone()))
                .alias(name)
        })
        .collect();
    let mut aggs = vec![len().cast(DataType::Int64).alias("villages")];
    aggs.extend(measures);
    let mut table = villages.clone().lazy().group_by([col(key)]).agg(aggs);
    for class in area_classes {
        table = join_class(table, class, key, key);
    }
    table.sort([key], Default::default()).collect()
}

/// Weighted estimates from the household sample survey (DR-HH-01) per county: the number of
/// sampled households, the sum of their weights, and the weighted shares of households whose
/// water lasts more than 3 days, whose food lasts more than 3 days, that know the evacuation
/// route, that took part in a drill in the last 3 years, and that took first-aid training.
/// A share is Σ w·[condition] / Σ w over the households that answered.
///
/// ```
/// use polars::prelude::*;
/// let hh = df!(
///     "county_code" => ["620402", "620402", "620402"],
///     "weight" => [100.0, 300.0, 100.0],
///     "water_days" => ["3天以上", "1-3天", "3天以上"],
///     "food_days" => ["无", "3天以上", "无"],
///     "knows_route" => [true, false, true],
///     "drills_3y" => ["0次", "1次", "2次"],
///     "first_aid_training" => [Some(true), None, Some(false)],
/// ).unwrap();
/// let e = riskcensus_aggregate::household_estimates(&hh).unwrap();
/// assert_eq!(e.column("hh_weight_sum").unwrap().f64().unwrap().get(0), Some(500.0));
/// assert_eq!(e.column("hh_share_water_3d").unwrap().f64().unwrap().get(0), Some(0.4));
/// assert_eq!(e.column("hh_share_drill").unwrap().f64().unwrap().get(0), Some(0.8));
/// assert_eq!(e.column("hh_share_first_aid").unwrap().f64().unwrap().get(0), Some(0.5));
/// ```
pub fn household_estimates(households: &DataFrame) -> PolarsResult<DataFrame> {
    household_estimates_from_sums(&household_sums(households)?)
}

/// The weighted shares of [`household_estimates`]: (name, condition on a household's answers).
fn household_shares() -> [(&'static str, Expr); 5] {
    [
        ("hh_share_water_3d", col("water_days").eq(lit("3天以上"))),
        ("hh_share_food_3d", col("food_days").eq(lit("3天以上"))),
        ("hh_share_route", col("knows_route")),
        ("hh_share_drill", col("drills_3y").neq(lit("0次"))),
        ("hh_share_first_aid", col("first_aid_training")),
    ]
}

/// The sums behind [`household_estimates`], per county of `households`: households with a
/// weight, the sum of weights, and per share Σ w·[condition] (`<share>_num`) and Σ w over the
/// households that answered (`<share>_den`). The sums of several parts of the survey (batches of
/// returns) stacked together give the estimates of the whole with
/// [`household_estimates_from_sums`].
pub fn household_sums(households: &DataFrame) -> PolarsResult<DataFrame> {
    let w = || col("weight");
    let mut aggs = vec![
        w().count().cast(DataType::Int64).alias("hh_sampled"),
        w().sum().alias("hh_weight_sum"),
    ];
    for (name, condition) in household_shares() {
        let answered = condition.clone().is_not_null();
        aggs.push(
            (w() * condition.cast(DataType::Float64))
                .sum()
                .alias(format!("{name}_num").as_str()),
        );
        aggs.push(
            w().filter(answered)
                .sum()
                .alias(format!("{name}_den").as_str()),
        );
    }
    // Rows without a weight count nowhere (their products are null); grouping all rows copies
    // none of them.
    households
        .clone()
        .lazy()
        .group_by([col("county_code")])
        .agg(aggs)
        .filter(col("county_code").is_not_null())
        .collect()
}

/// [`household_estimates`] from [`household_sums`] (of one part or several stacked): the sums
/// per county added up, then each share as Σ w·[condition] / Σ w. Counties without a weighted
/// household are left out.
pub fn household_estimates_from_sums(sums: &DataFrame) -> PolarsResult<DataFrame> {
    let mut totals = vec![col("hh_sampled").sum(), col("hh_weight_sum").sum()];
    let mut estimates = vec![col("county_code"), col("hh_sampled"), col("hh_weight_sum")];
    for (name, _) in household_shares() {
        let (num, den) = (format!("{name}_num"), format!("{name}_den"));
        totals.push(col(num.as_str()).sum());
        totals.push(col(den.as_str()).sum());
        estimates.push((col(num.as_str()) / col(den.as_str())).alias(name));
    }
    sums.clone()
        .lazy()
        .group_by([col("county_code")])
        .agg(totals)
        .filter(col("hh_sampled").gt(lit(0i64)))
        .select(estimates)
        .sort(["county_code"], Default::default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn households_without_a_weight_or_a_county_count_nowhere() {
        let hh = df!(
            "county_code" => [Some("620402"), Some("620402"), Some("620403"), None],
            "weight" => [Some(100.0), None, None, Some(50.0)],
            "water_days" => ["3天以上", "3天以上", "3天以上", "3天以上"],
            "food_days" => ["无", "无", "无", "无"],
            "knows_route" => [true, true, true, true],
            "drills_3y" => ["0次", "1次", "1次", "1次"],
            "first_aid_training" => [Some(true), Some(true), Some(true), Some(true)],
        )
        .unwrap();
        let e = household_estimates(&hh).unwrap();
        // 620403 has no weighted household and the row without a county has no county: one row.
        assert_eq!(e.height(), 1);
        assert_eq!(
            e.column("county_code").unwrap().str().unwrap().get(0),
            Some("620402")
        );
        assert_eq!(
            e.column("hh_sampled").unwrap().i64().unwrap().get(0),
            Some(1)
        );
        assert_eq!(
            e.column("hh_weight_sum").unwrap().f64().unwrap().get(0),
            Some(100.0)
        );
        assert_eq!(
            e.column("hh_share_water_3d").unwrap().f64().unwrap().get(0),
            Some(1.0)
        );
        assert_eq!(
            e.column("hh_share_drill").unwrap().f64().unwrap().get(0),
            Some(0.0)
        );
    }

    #[test]
    fn survey_sums_of_parts_give_the_estimates_of_the_whole() {
        let hh = df!(
            "county_code" => ["620402", "620403", "620402", "620403", "620402"],
            "weight" => [100.0, 30.0, 0.1, 70.0, 0.2],
            "water_days" => ["3天以上", "无", "1-3天", "3天以上", "3天以上"],
            "food_days" => ["无", "3天以上", "无", "无", "3天以上"],
            "knows_route" => [Some(true), None, Some(false), Some(true), Some(true)],
            "drills_3y" => ["0次", "1次", "2次", "0次", "1次"],
            "first_aid_training" => [Some(true), Some(false), None, Some(true), Some(false)],
        )
        .unwrap();
        let whole = household_estimates(&hh).unwrap();
        let parts = household_sums(&hh.slice(0, 2))
            .unwrap()
            .vstack(&household_sums(&hh.slice(2, 3)).unwrap())
            .unwrap();
        let stacked = household_estimates_from_sums(&parts).unwrap();
        // Equal up to the order of the additions (a county in both parts).
        for name in [
            "hh_sampled",
            "hh_weight_sum",
            "hh_share_route",
            "hh_share_first_aid",
        ] {
            let (a, b) = (whole.column(name).unwrap(), stacked.column(name).unwrap());
            let (a, b) = (
                a.cast(&DataType::Float64).unwrap(),
                b.cast(&DataType::Float64).unwrap(),
            );
            for (x, y) in a.f64().unwrap().iter().zip(b.f64().unwrap().iter()) {
                let (x, y) = (x.unwrap(), y.unwrap());
                assert!((x - y).abs() < 1e-12, "{name}: {x} vs {y}");
            }
        }
        assert_eq!(
            whole
                .column("hh_share_route")
                .unwrap()
                .f64()
                .unwrap()
                .get(1),
            Some(1.0)
        );
    }

    #[test]
    fn villages_are_sorted_and_a_village_without_rows_counts_zero() {
        let villages = df!(
            "code" => ["620402001002", "620402001001", "620402001003"],
            "name" => ["b", "a", "c"],
        )
        .unwrap();
        let rows = df!(
            "division_code" => [Some("620402001001"), Some("620402001003"), Some("620402001001"), None, Some("999999999999")],
            "beds" => [Some(1i64), None, Some(2), Some(7), Some(9)],
        )
        .unwrap();
        let totals = vec!["beds".to_string()];
        let v = by_village(
            &villages,
            &[ClassRows {
                code: "HB-PSF-02",
                frame: &rows,
                totals: &totals,
            }],
        )
        .unwrap();
        let codes: Vec<_> = v
            .column("code")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(codes, ["620402001001", "620402001002", "620402001003"]);
        assert_eq!(
            v.column("hb_psf_02_count").unwrap().i64().unwrap().to_vec(),
            [Some(2), Some(0), Some(1)]
        );
        // A village whose rows all lack the total sums to 0 (polars' sum); one without rows: null.
        assert_eq!(
            v.column("hb_psf_02_beds").unwrap().i64().unwrap().to_vec(),
            [Some(3), None, Some(0)]
        );
    }
}

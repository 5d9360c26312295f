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

/// The columns of a class's rows that the aggregates read, besides its `totals`: the division
/// keys ([`by_village`], [`by_county`], [`by_township`]) and the household survey's answers
/// ([`household_estimates`]).
pub const INPUT_COLUMNS: &[&str] = &[
    "division_code",
    "county_code",
    "township_code",
    "weight",
    "water_days",
    "food_days",
    "knows_route",
    "drills_3y",
    "first_aid_training",
];

/// `HB-PSF-01` → `hb_psf_01`: the prefix of the class's columns on the aggregate layers.
pub fn slug(code: &str) -> String {
    code.to_ascii_lowercase().replace('-', "_")
}

/// Per-village counts and totals, one row per village of `villages` (columns `code`, `name`,
/// `township_code`, `county_code`, …), sorted by code.
pub fn by_village(villages: &DataFrame, classes: &[ClassRows<'_>]) -> PolarsResult<DataFrame> {
    let mut table = villages.clone().lazy();
    for class in classes {
        table = join_class(table, class, "code", "division_code");
    }
    table.sort(["code"], Default::default()).collect()
}

/// Join a class's count and totals, grouped by its `class_key` column, onto `table` by `key`; the
/// count is 0 where the class has no row.
fn join_class(table: LazyFrame, class: &ClassRows<'_>, key: &str, class_key: &str) -> LazyFrame {
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
    let w = || col("weight");
    let share = |condition: Expr, name: &str| {
        let answered = condition.clone().is_not_null();
        ((w() * condition.cast(DataType::Float64)).sum() / w().filter(answered).sum()).alias(name)
    };
    households
        .clone()
        .lazy()
        .filter(col("county_code").is_not_null().and(w().is_not_null()))
        .group_by([col("county_code")])
        .agg([
            len().cast(DataType::Int64).alias("hh_sampled"),
            w().sum().alias("hh_weight_sum"),
            share(col("water_days").eq(lit("3天以上")), "hh_share_water_3d"),
            share(col("food_days").eq(lit("3天以上")), "hh_share_food_3d"),
            share(col("knows_route"), "hh_share_route"),
            share(col("drills_3y").neq(lit("0次")), "hh_share_drill"),
            share(col("first_aid_training"), "hh_share_first_aid"),
        ])
        .sort(["county_code"], Default::default())
        .collect()
}

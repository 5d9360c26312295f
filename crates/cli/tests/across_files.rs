//! The checks across files decide with the same verdict on each row as the run does: a row the
//! pipeline's severity overrides accept counts as accepted, a file rejected whole (a required
//! column missing) counts as rejected.
//!
//! The shelter of the test holds 5,000 people in a village whose community return (DR-GRS-02)
//! gives 100 residents: `plaus.capacity_vs_population` (more than 10 × the residents) fires only
//! where that return's row is accepted.

mod common;

use common::{repo, riskcensus};

const GRS_HEADER: &str = "单位名称,统一社会信用代码,代码类型,行政区划代码,省,市,县,乡镇,村,详细地址,经度,纬度,总户数（户）,常住人口数量（人）,其中：0-14岁人数（人）,其中：65岁（含）以上人数（人）,其中：残障人员人数（人）,社区医疗卫生服务站或村卫生室数量（个）,是否有本辖区地质灾害等隐患点清单,是否有社区（行政村）应急预案,上一年度防灾减灾救灾资金投入总金额（万元）,登记注册志愿者人数（人）,民兵预备役人数（人）,灾害信息员人数（人）,本级灾害应急避难场所数量（个）,本级灾害应急避难场所容量（人）,上一年度演练活动次数（次）,参与演练的居民人次（人次）,备注";

/// The community's return with `households` (总户数), 100 residents.
fn grs_row(households: &str) -> String {
    format!(
        "中心街社区居民委员会,,,620402001001,甘肃省,白银市,白银区,人民路街道,中心街社区居民委员会,\
         白银区人民路街道中心街社区居民委员会51号,104.393667,36.389231,{households},100,10,10,1,1,是,是,\
         3.83,5,6,1,2,400,2,50,"
    )
}

const SHELTERS: &str = "单位名称,统一社会信用代码,代码类型,行政区划代码,省,市,县,乡镇,村,详细地址,经度,纬度,避灾种类,室内/室外类型,应急避难场所占地总面积（m²）,应急避难场所室内面积（m²）,避难所容纳人数（人）,日常维护或管理人员数量（人）,其中：专职维护或管理人员数（人）
中心街广场应急避难场所,,,620402001001,甘肃省,白银市,白银区,人民路街道,中心街社区居民委员会,白银区人民路街道中心街社区居民委员会60号,104.393667,36.389231,地震,室外,20000,0,5000,2,1
";

/// Validate the community return `grs` and the shelter together, with `rules` appended to the
/// pipeline: the JSON report.
fn validate(dir: &std::path::Path, grs: &str, rules: &str) -> serde_json::Value {
    let repo = repo();
    std::fs::write(dir.join("grs.csv"), grs).expect("grs");
    std::fs::write(dir.join("shelters.csv"), SHELTERS).expect("shelters");
    let pipeline = format!(
        r#"name = "across"
reference_date = "2020-12-31"
output = "out"
schemas = "{repo}/schemas"

[register]
path = "{repo}/sample_data/register/baiyin_divisions.csv"
edition = "NBS 2023"

[geometry]
villages = "{repo}/sample_data/geometry/baiyin_villages.geojson"
counties = "{repo}/sample_data/geometry/baiyin_counties.geojson"
crs = "EPSG:4490"

[[returns]]
class = "DR-GRS-02"
path = "grs.csv"

[[returns]]
class = "DR-GOV-10"
path = "shelters.csv"
{rules}"#,
        repo = repo.display()
    );
    let path = dir.join("p.toml");
    std::fs::write(&path, pipeline).expect("pipeline");
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        path.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json report")
}

/// The rules fired on the shelters, and the community return's accepted rows.
fn verdict(report: &serde_json::Value) -> (Vec<String>, u64) {
    let rules = (report["findings"].as_array().expect("findings").iter())
        .filter(|f| f["class"] == "DR-GOV-10")
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect();
    let accepted = (report["files"].as_array().expect("files").iter())
        .find(|f| f["class"] == "DR-GRS-02")
        .and_then(|f| f["accepted"].as_u64())
        .expect("the community return");
    (rules, accepted)
}

const PLAUSIBILITY: &str = "plaus.capacity_vs_population";

#[test]
fn a_clean_community_return_gives_the_population() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = validate(
        dir.path(),
        &format!("{GRS_HEADER}\n{}\n", grs_row("40")),
        "",
    );
    let (rules, accepted) = verdict(&report);
    assert_eq!(accepted, 1);
    assert!(rules.iter().any(|r| r == PLAUSIBILITY), "{rules:?}");
}

#[test]
fn a_row_accepted_by_a_severity_override_gives_the_population() {
    // A negative household count is a `cell.range` error by default; the pipeline lowers it to a
    // warning, so the row is accepted and its residents count.
    let dir = tempfile::tempdir().expect("tempdir");
    let grs = format!("{GRS_HEADER}\n{}\n", grs_row("-5"));
    let (rules, accepted) = verdict(&validate(dir.path(), &grs, ""));
    assert_eq!(accepted, 0, "by default the row is rejected");
    assert!(!rules.iter().any(|r| r == PLAUSIBILITY), "{rules:?}");
    let lowered = "\n[rules]\n\"cell.range\" = \"warning\"\n";
    let (rules, accepted) = verdict(&validate(dir.path(), &grs, lowered));
    assert_eq!(accepted, 1, "the override accepts the row");
    assert!(rules.iter().any(|r| r == PLAUSIBILITY), "{rules:?}");
}

#[test]
fn a_return_rejected_whole_gives_no_population() {
    // Without the required 总户数 column every row of the return is rejected: its residents are
    // not a census figure and nothing is checked against them.
    let dir = tempfile::tempdir().expect("tempdir");
    let drop_households = |line: &str| {
        let cells: Vec<&str> = line.split(',').collect();
        [&cells[..12], &cells[13..]].concat().join(",")
    };
    let grs = format!(
        "{}\n{}\n",
        drop_households(GRS_HEADER),
        drop_households(&grs_row("40"))
    );
    let report = validate(dir.path(), &grs, "");
    let (rules, accepted) = verdict(&report);
    assert_eq!(accepted, 0, "the return is rejected whole");
    assert!(!rules.iter().any(|r| r == PLAUSIBILITY), "{rules:?}");
}

//! The polygon cache (`RISKCENSUS_CACHE`): a second validation reads the checked polygons from
//! it and reports exactly what the first did; a changed polygon file, a damaged entry or the cache
//! turned off mean the polygons are read and checked again.

mod common;

use std::path::Path;
use std::process::Command;

use common::repo;

/// Validate the sample's schools with the cache in `cache` (`None`: off): the JSON report and
/// the stage names of the timings.
fn validate(dir: &Path, pipeline: &Path, cache: Option<&Path>) -> (String, Vec<String>) {
    let (report, timings) = (dir.join("report.json"), dir.join("timings.json"));
    let output = Command::new(env!("CARGO_BIN_EXE_riskcensus"))
        .args(["validate", "--pipeline"])
        .arg(pipeline)
        .arg(repo().join("sample_data/returns/HB-PSF-01_学校.csv"))
        .args(["--format", "json", "-o"])
        .arg(&report)
        .arg("--timings")
        .arg(&timings)
        .env(
            "RISKCENSUS_CACHE",
            cache.map_or("off".into(), |c| c.as_os_str().to_owned()),
        )
        .output()
        .expect("run riskcensus");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let timings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&timings).expect("timings")).expect("json");
    let stages = (timings["stages"].as_array().expect("stages").iter())
        .filter_map(|s| s["stage"].as_str().map(str::to_string))
        .collect();
    (std::fs::read_to_string(&report).expect("report"), stages)
}

fn from_cache(stages: &[String]) -> bool {
    stages.iter().any(|s| s.contains("(cache)"))
}

/// The sample pipeline with its own copy of the village polygons (which the test may change),
/// where the first village is filed twice: a finding on the village layer.
fn pipeline_with_own_villages(dir: &Path) -> std::path::PathBuf {
    let villages = dir.join("villages.geojson");
    let text = std::fs::read_to_string(repo().join("sample_data/geometry/baiyin_villages.geojson"))
        .expect("villages");
    let mut layer: serde_json::Value = serde_json::from_str(&text).expect("geojson");
    let features = layer["features"].as_array_mut().expect("features");
    let first = features[0].clone();
    features.push(first);
    std::fs::write(&villages, layer.to_string()).expect("write villages");
    let text = std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml"))
        .expect("pipeline")
        .replace(
            "\"../sample_data/geometry/baiyin_villages.geojson\"",
            &format!("\"{}\"", villages.display()),
        )
        .replace("\"../", &format!("\"{}/", repo().display()));
    let path = dir.join("p.toml");
    std::fs::write(&path, text).expect("pipeline");
    path
}

#[test]
fn a_warm_cache_gives_the_same_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let pipeline = pipeline_with_own_villages(dir.path());
    let (uncached, stages) = validate(dir.path(), &pipeline, None);
    assert!(!from_cache(&stages) && !cache.exists());
    let (cold, stages) = validate(dir.path(), &pipeline, Some(&cache));
    assert!(!from_cache(&stages), "{stages:?}");
    let (warm, stages) = validate(dir.path(), &pipeline, Some(&cache));
    assert!(from_cache(&stages), "{stages:?}");
    assert_eq!(cold, uncached);
    assert_eq!(warm, uncached);
    // The findings on the village layer come back from the cache too.
    assert!(warm.contains("\"class\": \"geometry\""), "{warm}");
}

#[test]
fn a_changed_polygon_file_or_a_damaged_entry_is_checked_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let pipeline = pipeline_with_own_villages(dir.path());
    let (first, _) = validate(dir.path(), &pipeline, Some(&cache));
    // One village renamed: another key.
    let villages = dir.path().join("villages.geojson");
    let text = std::fs::read_to_string(&villages).expect("villages");
    let renamed = text.replacen("\"name\":\"", "\"name\":\"改名", 1);
    assert_ne!(renamed, text, "no village name found to change");
    std::fs::write(&villages, renamed).expect("write");
    let (_, stages) = validate(dir.path(), &pipeline, Some(&cache));
    assert!(
        !from_cache(&stages),
        "a changed file was served from the cache"
    );
    // Every entry damaged: read and checked again, the same report as without the cache.
    std::fs::write(&villages, text).expect("restore");
    for entry in std::fs::read_dir(&cache).expect("cache") {
        std::fs::write(entry.expect("entry").path(), b"not an entry").expect("damage");
    }
    let (again, stages) = validate(dir.path(), &pipeline, Some(&cache));
    assert!(!from_cache(&stages), "{stages:?}");
    assert_eq!(again, first);
    let (_, stages) = validate(dir.path(), &pipeline, Some(&cache));
    assert!(from_cache(&stages), "the damaged entry was written again");
}

#[test]
fn an_unwritable_cache_only_costs_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A file where the folder should be: nothing can be stored, the run is as without a cache.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"a file").expect("file");
    let pipeline = pipeline_with_own_villages(dir.path());
    let (uncached, _) = validate(dir.path(), &pipeline, None);
    let (report, stages) = validate(dir.path(), &pipeline, Some(&blocked.join("cache")));
    assert!(!from_cache(&stages));
    assert_eq!(report, uncached);
}

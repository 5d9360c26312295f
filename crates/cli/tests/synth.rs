//! `riskcensus synth`: deterministic, runnable as is, clean when asked to be, and every planted
//! defect found where the generator says it is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod common;
use common::{csv_rows, riskcensus};

fn synth(out: &Path, villages: usize, rows: usize, seed: u64, defect_rate: f64) {
    synth_shaped(out, villages, rows, seed, defect_rate, "tiling");
}

fn synth_shaped(out: &Path, villages: usize, rows: usize, seed: u64, rate: f64, shape: &str) {
    let output = riskcensus(&[
        "synth",
        "--villages",
        &villages.to_string(),
        "--rows",
        &rows.to_string(),
        "--seed",
        &seed.to_string(),
        "--defect-rate",
        &rate.to_string(),
        "--village-shape",
        shape,
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file under `dir` with its bytes, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .to_string();
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_other_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    synth(&a, 900, 9_000, 11, 0.02);
    synth(&b, 900, 9_000, 11, 0.02);
    synth(&c, 900, 9_000, 12, 0.02);
    let (ta, tb, tc) = (tree(&a), tree(&b), tree(&c));
    assert!(ta.len() > 30, "{:?}", ta.keys());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(tb[path] == *bytes, "{path} differs between two runs");
    }
    let differing = ta
        .iter()
        .filter(|(p, bytes)| p.starts_with("returns") && tc.get(*p) != Some(bytes))
        .count();
    assert!(
        differing > 20,
        "another seed changed only {differing} files"
    );
}

#[test]
fn a_clean_synthetic_census_runs_as_is_with_no_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let census = dir.path().join("census");
    synth(&census, 700, 5_000, 5, 0.0);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(census.join("synth.json")).expect("json"))
            .expect("parse");
    assert_eq!(summary["rows"], 5_000);
    assert_eq!(summary["villages"], 700);
    assert_eq!(
        summary["rows_per_class"]
            .as_object()
            .expect("classes")
            .len(),
        31,
        "every class has rows"
    );
    assert_eq!(summary["defects"], 0);
    let pipeline = census.join("pipeline.toml");
    let output = riskcensus(&["run", pipeline.to_str().expect("utf-8"), "--lang", "en"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("read 5000 = accepted 5000 + rejected 0"),
        "{stderr}"
    );
    let findings = csv_rows(&census.join("db/findings.csv"));
    assert!(findings.is_empty(), "{findings:#?}");
    // The village layer covers every county of the census, each county in its own row groups
    // (read with the parquet crate's reader: the `county_code` statistics of each row group).
    let file = std::fs::File::open(census.join("db/villages.parquet")).expect("villages");
    let reader = parquet::file::reader::SerializedFileReader::new(file).expect("parquet");
    let metadata = parquet::file::reader::FileReader::metadata(&reader);
    let at = (metadata.file_metadata().schema_descr().columns().iter())
        .position(|c| c.name() == "county_code")
        .expect("county_code");
    let mut counties = std::collections::BTreeSet::new();
    for group in metadata.row_groups() {
        let stats = group.column(at).statistics().expect("statistics");
        let (min, max) = (stats.min_bytes_opt(), stats.max_bytes_opt());
        assert_eq!(min, max, "a row group holds more than one county");
        counties.insert(min.expect("min").to_vec());
    }
    assert_eq!(Some(counties.len() as u64), summary["counties"].as_u64());
}

#[test]
fn clean_censuses_on_grid_cells_and_on_slivers_run_without_a_finding() {
    // Grid cells meet four at a corner; slivers overlap their neighbours by ≈ 2 m, below what
    // the polygon checks report. Either way every row lies in its village and is accepted.
    let dir = tempfile::tempdir().expect("tempdir");
    for shape in ["grid", "slivers"] {
        let census = dir.path().join(shape);
        synth_shaped(&census, 700, 3_000, 5, 0.0, shape);
        let pipeline = census.join("pipeline.toml");
        let output = riskcensus(&["run", pipeline.to_str().expect("utf-8"), "--lang", "en"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{shape}: {stderr}");
        assert!(
            stderr.contains("read 3000 = accepted 3000 + rejected 0"),
            "{shape}: {stderr}"
        );
        let findings = csv_rows(&census.join("db/findings.csv"));
        assert!(findings.is_empty(), "{shape}: {findings:#?}");
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(census.join("synth.json")).expect("summary"),
        )
        .expect("json");
        assert_eq!(summary["village_shape"], shape);
    }
    let unknown = riskcensus(&[
        "synth",
        "--villages",
        "10",
        "--rows",
        "20",
        "--village-shape",
        "hex",
        "--out",
        dir.path().join("x").to_str().expect("utf-8"),
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("tiling, grid, slivers"));
}

#[test]
fn every_planted_defect_is_found_at_its_row_and_clean_rows_raise_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let census = dir.path().join("census");
    synth(&census, 4_500, 30_000, 9, 0.04);
    let planted = csv_rows(&census.join("planted_defects.csv"));
    assert!(planted.len() > 800, "{} planted", planted.len());
    let kinds: BTreeSet<&str> = planted.iter().map(|p| p["rule"].as_str()).collect();
    assert_eq!(kinds.len(), 9, "every kind of defect planted: {kinds:?}");
    let report = census.join("findings.csv");
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        census.join("pipeline.toml").to_str().expect("utf-8"),
        "--format",
        "csv",
        "-o",
        report.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in csv_rows(&report) {
        if f["row"].is_empty() {
            // Villages whose capacity return was rejected lack indicators: said once per class.
            assert_eq!(f["rule"], "ind.missing_input", "{f:?}");
            continue;
        }
        found
            .entry((f["file"].clone(), f["row"].clone()))
            .or_default()
            .insert(f["rule"].clone());
    }
    let planted_at: BTreeSet<(String, String)> = planted
        .iter()
        .map(|p| (p["file"].clone(), p["row"].clone()))
        .collect();
    for p in &planted {
        let rules = found.get(&(p["file"].clone(), p["row"].clone()));
        assert!(
            rules.is_some_and(|r| r.contains(&p["rule"])),
            "planted {p:?} but found {rules:?}"
        );
    }
    let unexpected: Vec<_> = found
        .iter()
        .filter(|(k, _)| !planted_at.contains(*k))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");

    // Two provinces send files with the same names: every rejected row still gets its own file.
    let db = census.join("db");
    let output = riskcensus(&[
        "run",
        census.join("pipeline.toml").to_str().expect("utf-8"),
        "--out",
        db.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let inputs = std::fs::read_to_string(census.join("pipeline.toml"))
        .expect("pipeline")
        .matches("[[returns]]")
        .count();
    let rejected: Vec<PathBuf> = std::fs::read_dir(db.join("rejected"))
        .expect("rejected dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(rejected.len(), inputs, "one rejected file per input");
    let rejected_rows: usize = rejected.iter().map(|p| csv_rows(p).len()).sum();
    assert_eq!(rejected_rows, planted_at.len());
}

#[test]
fn impossible_sizes_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x");
    let output = riskcensus(&[
        "synth",
        "--villages",
        "1000",
        "--rows",
        "10",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("fewer than the 1000 villages"));
    let output = riskcensus(&[
        "synth",
        "--villages",
        "10",
        "--rows",
        "100",
        "--defect-rate",
        "1.5",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = riskcensus(&[
        "synth",
        "--villages",
        "6000001",
        "--rows",
        "70000000",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!out.exists(), "nothing written for impossible sizes");
}

/// Reruns of a synthetic census are the same to the byte, on one thread or several: the float
/// aggregates (capacity and risk indices) sum in a fixed order. (A mean by hash group-by gave
/// `capacity_index` and `risk_index` two variants in their last digits.)
#[test]
fn reruns_of_a_synthetic_census_are_byte_identical_at_any_thread_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let census = dir.path().join("census");
    synth(&census, 1_500, 20_000, 11, 0.02);
    let pipeline = census.join("pipeline.toml");
    let run = |threads: &str, out: &str| {
        let out = dir.path().join(out);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_riskcensus"))
            .args(["run", pipeline.to_str().expect("utf-8"), "-q", "--out"])
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("run");
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        tree(&out)
    };
    let one = run("1", "one");
    let two = run("2", "two");
    let four = run("4", "four");
    for (name, bytes) in &one {
        assert!(
            two.get(name) == Some(bytes),
            "{name} differs between 1 and 2 threads"
        );
        assert!(
            four.get(name) == Some(bytes),
            "{name} differs between 1 and 4 threads"
        );
    }
    assert_eq!(one.len(), two.len());
}

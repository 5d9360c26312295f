//! End-to-end tests of the `riskcensus` binary on the Baiyin sample and on broken inputs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{repo, riskcensus};

/// How many return files the sample pipeline reads.
fn sample_returns() -> usize {
    std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml"))
        .expect("pipeline")
        .matches("[[returns]]")
        .count()
}

fn run_sample(out: &Path) -> Output {
    riskcensus(&[
        "run",
        "pipelines/baiyin-2021.toml",
        "--out",
        out.to_str().expect("utf-8 path"),
    ])
}

/// (file name, row, rule) triples from a findings CSV or the expected list.
fn triples(path: &Path) -> BTreeSet<(String, u64, String)> {
    let text = std::fs::read_to_string(path).expect("read csv");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let idx = |n: &str| headers.iter().position(|h| h == n).expect("column");
    let (f, r, u) = (idx("file"), idx("row"), idx("rule"));
    reader
        .records()
        .map(|rec| {
            let rec = rec.expect("record");
            let file = rec[f].rsplit('/').next().unwrap_or_default().to_string();
            (
                file,
                // File-level findings have no row: 0, as in expected_findings.csv.
                rec[r].parse().unwrap_or(0),
                rec[u].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_planted_defect_is_found_and_clean_rows_raise_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("db");
    let output = run_sample(&out);
    assert_eq!(
        output.status.code(),
        Some(1),
        "errors in the sample must exit 1: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = triples(&repo().join("sample_data/expected_findings.csv"));
    let found = triples(&out.join("findings.csv"));
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing {missing:#?}\nunexpected {unexpected:#?}"
    );
    assert!(
        expected.len() >= 30,
        "the sample plants {} defects",
        expected.len()
    );
}

#[test]
fn nothing_is_lost_and_the_summary_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("db");
    let output = run_sample(&out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let inputs = manifest["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), sample_returns());
    let (mut read, mut accepted, mut rejected) = (0, 0, 0);
    for input in inputs {
        let (r, a, j) = (
            input["rows_read"].as_u64().unwrap_or(0),
            input["accepted"].as_u64().unwrap_or(0),
            input["rejected"].as_u64().unwrap_or(0),
        );
        assert_eq!(r, a + j, "{input}");
        assert!(r > 0, "{input}");
        // The rejected CSV holds exactly the rejected rows.
        let stem = Path::new(input["file"].as_str().unwrap_or_default())
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(out.join("rejected").join(format!("{stem}.csv")))
            .expect("rejected csv");
        let rows = csv::Reader::from_reader(text.as_bytes()).records().count() as u64;
        assert_eq!(rows, j, "{stem}");
        (read, accepted, rejected) = (read + r, accepted + a, rejected + j);
    }
    assert!(rejected > 0 && accepted > 0);
    // The published layers hold exactly the accepted rows.
    let published: u64 = manifest["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .filter(|o| {
            o["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("facilities/") && p.ends_with(".parquet"))
        })
        .map(|o| o["rows"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(published, accepted);
    assert!(
        stderr.contains(&format!(
            "rows: read {read} = accepted {accepted} + rejected {rejected} ✓"
        )),
        "{stderr}"
    );
}

/// The README shows the sample run's summary as the run prints it: the table's header, its
/// first line and the balance line, word for word.
#[test]
fn the_readme_shows_what_the_sample_run_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = run_sample(&dir.path().join("db"));
    let printed = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("readme");
    let block = readme
        .split("The sample run exits **1**")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .expect("the sample summary block");
    let shown: Vec<&str> = block
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "...")
        .collect();
    assert!(shown.len() >= 3, "{block}");
    for line in shown {
        assert!(
            printed.lines().any(|p| p == line),
            "README line not printed by the sample run: {line}\n{printed}"
        );
    }
}

#[test]
fn reruns_are_byte_identical() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_sample(&a);
    run_sample(&b);
    let manifest = |p: &Path| std::fs::read_to_string(p.join("manifest.json")).expect("manifest");
    assert_eq!(
        manifest(&a),
        manifest(&b),
        "manifests (with every output's sha256) differ"
    );
    let bytes = |p: &Path| std::fs::read(p.join("villages.parquet")).expect("villages");
    assert_eq!(bytes(&a), bytes(&b));
}

#[test]
fn results_do_not_depend_on_the_batch_size() {
    // Every file in a batch of its own (0 MiB), or all in as few batches as the checks across
    // classes allow: the keys, figures and coverage carried between batches must give the same
    // database, findings and counts.
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml")).expect("pipeline");
    let text = text.replace("\"../", &format!("\"{}/", repo().display()));
    let manifest = |mib: u64| -> serde_json::Value {
        let pipeline = dir.path().join(format!("p{mib}.toml"));
        std::fs::write(&pipeline, format!("batch_mib = {mib}\n{text}")).expect("write");
        let out = dir.path().join(format!("out{mib}"));
        let output = riskcensus(&[
            "run",
            pipeline.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "-q",
        ]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let m = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
        serde_json::from_str(&m).expect("json")
    };
    let (one_per_file, large) = (manifest(0), manifest(4096));
    for key in ["inputs", "outputs", "totals"] {
        assert_eq!(one_per_file[key], large[key], "manifest `{key}` differs");
    }
    // `--batch-mib` overrides the pipeline's: one batch per file, as the timings say.
    let batches = |extra: &[&str]| -> serde_json::Value {
        let timings = dir.path().join("timings.json");
        let pipeline = dir.path().join("p4096.toml");
        let report = dir.path().join("report.json");
        let mut args = vec![
            "validate",
            "--pipeline",
            pipeline.to_str().expect("utf-8"),
            "--format",
            "json",
            "-o",
            report.to_str().expect("utf-8"),
            "--timings",
            timings.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        let output = riskcensus(&args);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let t: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&timings).expect("timings"))
                .expect("json");
        t["batches"].clone()
    };
    assert_eq!(
        batches(&["--batch-mib", "0"]),
        serde_json::json!(sample_returns())
    );
    // GRS-02 comes before the two classes checked against it, never in their batch: two.
    assert_eq!(batches(&[]), serde_json::json!(2));
    // The findings the checks across files make are among them.
    let findings = std::fs::read_to_string(dir.path().join("out0/findings.csv")).expect("csv");
    for rule in [
        "dup.across_files",
        "plaus.capacity_vs_population",
        "xt.rollup",
        "ind.missing_input",
    ] {
        assert!(findings.contains(rule), "no {rule} finding");
    }
}

#[test]
fn results_do_not_depend_on_the_chunk_size() {
    // A large return is read and validated in chunks, in parallel. A record per chunk (a byte's
    // budget), a few records, or the whole file: the same findings at the same rows, the same
    // rejected rows and the same database, byte for byte. The schools return is rewritten with
    // line breaks inside quoted addresses and a duplicate of an early row near the end (a
    // finding that spans chunks), so records and lines differ and a chunk cut inside a quoted
    // cell would show.
    let dir = tempfile::tempdir().expect("tempdir");
    let schools = repo().join("sample_data/returns/HB-PSF-01_学校.csv");
    let mut reader = csv::Reader::from_path(&schools).expect("schools");
    let header = reader.headers().expect("header").clone();
    let address = header
        .iter()
        .position(|h| h == "详细地址")
        .expect("详细地址");
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect();
    for (i, row) in rows.iter_mut().enumerate() {
        if i % 3 == 0 {
            row[address] = format!("{}\r\n（\"东\"校区）", row[address]);
        }
    }
    let early = rows[1].clone();
    rows.push(early);
    let rewritten = dir.path().join("学校_多行地址.csv");
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_path(&rewritten)
        .expect("write");
    writer.write_record(&header).expect("header");
    for row in &rows {
        writer.write_record(row).expect("row");
    }
    writer.flush().expect("flush");
    let text =
        std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml")).expect("pipeline");
    let text = text
        .replace(
            "\"../sample_data/returns/HB-PSF-01_学校.csv\"",
            &format!("\"{}\"", rewritten.display()),
        )
        .replace("\"../", &format!("\"{}/", repo().display()));
    assert!(
        text.contains("学校_多行地址"),
        "the pipeline names the schools return"
    );
    let run = |name: &str, mib: f64| -> PathBuf {
        let pipeline = dir.path().join(format!("{name}.toml"));
        std::fs::write(&pipeline, format!("chunk_mib = {mib:e}\n{text}")).expect("write");
        let out = dir.path().join(name);
        let output = riskcensus(&[
            "run",
            pipeline.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "-q",
        ]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        out
    };
    let whole = run("whole", 1024.0);
    let findings = std::fs::read_to_string(whole.join("findings.csv")).expect("findings");
    assert!(
        findings
            .lines()
            .any(|l| l.contains("dup.credit_code") && l.contains("学校_多行地址")),
        "the duplicate row is a finding"
    );
    let manifest = |out: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).expect("m"))
            .expect("json")
    };
    for (name, mib) in [("record", 1e-9), ("kib", 1.0 / 1024.0)] {
        let chunked = run(name, mib);
        assert_eq!(
            std::fs::read_to_string(chunked.join("findings.csv")).expect("findings"),
            findings,
            "findings with chunks of {mib} MiB"
        );
        let (a, b) = (manifest(&whole), manifest(&chunked));
        for key in ["inputs", "outputs", "totals"] {
            assert_eq!(
                a[key], b[key],
                "manifest `{key}` differs, chunks of {mib} MiB"
            );
        }
    }
}

/// A copy of the sample pipeline in a temp dir with one edit applied.
fn broken_pipeline(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let text =
        std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml")).expect("pipeline");
    let text = text.replace("\"../", &format!("\"{}/", repo().display()));
    let path = dir.join("p.toml");
    std::fs::write(&path, edit(text)).expect("write pipeline");
    path
}

fn assert_clean_failure(output: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_pipeline_naming_a_missing_path_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = broken_pipeline(dir.path(), |t| {
        t.replace("HB-PSF-01_学校.csv", "no-such-file.csv")
    });
    let out = dir.path().join("db");
    let output = riskcensus(&[
        "run",
        p.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_clean_failure(&output, 2, "no-such-file.csv does not exist");
    assert!(!out.exists(), "nothing is written on a configuration error");
}

#[test]
fn a_file_in_an_unknown_encoding_exits_3_and_leaves_the_old_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("utf16.csv");
    let utf16: Vec<u8> = "单位名称,经度\n甲,104\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    std::fs::write(&bad, utf16).expect("write");
    let out = dir.path().join("db");
    run_sample(&out);
    let before = std::fs::read(out.join("manifest.json")).expect("manifest");
    let p = broken_pipeline(dir.path(), |t| {
        t.replace(
            &format!(
                "{}/sample_data/returns/HB-PSF-01_学校.csv",
                repo().display()
            ),
            bad.to_str().expect("utf-8"),
        )
    });
    let output = riskcensus(&[
        "run",
        p.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_clean_failure(&output, 3, "not UTF-8, UTF-16 or GBK/GB18030 text");
    assert_eq!(
        std::fs::read(out.join("manifest.json")).expect("manifest"),
        before
    );
}

#[test]
fn a_missing_required_column_is_one_finding_and_rejects_every_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("schools.csv");
    let original = std::fs::read_to_string(repo().join("sample_data/returns/HB-PSF-01_学校.csv"))
        .expect("sample");
    // Drop the 教职工数 column (required) from every line.
    let idx = original
        .lines()
        .next()
        .and_then(|h| h.split(',').position(|c| c.starts_with("教职工数")))
        .expect("column");
    let edited: String = original
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(idx);
            cells.join(",") + "\n"
        })
        .collect();
    std::fs::write(&csv, edited).expect("write");
    let p = broken_pipeline(dir.path(), |t| {
        t.replace(
            &format!(
                "{}/sample_data/returns/HB-PSF-01_学校.csv",
                repo().display()
            ),
            csv.to_str().expect("utf-8"),
        )
    });
    let out = dir.path().join("db");
    let output = riskcensus(&[
        "run",
        p.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let findings = triples(&out.join("findings.csv"));
    let missing_column: Vec<_> = findings
        .iter()
        .filter(|(_, _, r)| r == "struct.missing_column")
        .collect();
    assert_eq!(missing_column.len(), 1, "{missing_column:?}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).expect("m"))
            .expect("json");
    let schools = &manifest["inputs"][0];
    assert_eq!(schools["accepted"], 0);
    assert_eq!(schools["rejected"], schools["rows_read"]);
}

#[test]
fn usage_errors_exit_2() {
    let output = riskcensus(&["run"]);
    assert_eq!(output.status.code(), Some(2));
    let output = riskcensus(&["run", "pipelines/does-not-exist.toml"]);
    assert_clean_failure(&output, 2, "cannot read pipeline file");
}

#[test]
fn schema_list_shows_the_whole_tree() {
    let output = riskcensus(&["schema", "list"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        stdout
            .starts_with("taxonomy 2021.1: 2 major, 7 mid, 31 sub-classes (31 with a field schema"),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("* "))
            .count(),
        31,
        "{stdout}"
    );
}

#[test]
fn validate_reports_json_without_writing() {
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json on stdout");
    assert_eq!(
        doc["files"].as_array().map(Vec::len),
        Some(sample_returns())
    );
    // Rows, not distinct (file, row, rule) triples: a file has one derived-column finding per
    // column, all on row 0.
    let expected = std::fs::read_to_string(repo().join("sample_data/expected_findings.csv"))
        .expect("expected findings")
        .lines()
        .count()
        - 1;
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(expected));
}

#[test]
fn sample_readme_lists_every_planted_defect() {
    let readme = std::fs::read_to_string(repo().join("sample_data/README.md")).expect("readme");
    for (file, row, rule) in triples(&repo().join("sample_data/expected_findings.csv")) {
        let shown = if row == 0 {
            "—".to_string()
        } else {
            row.to_string()
        };
        let line = format!("| `returns/{file}` | {shown} | `{rule}` |");
        assert!(readme.contains(&line), "sample_data/README.md lacks {line}");
    }
}

/// The sample schools return without its planted-defect rows.
fn clean_schools(dir: &Path) -> PathBuf {
    let bad: BTreeSet<u64> = triples(&repo().join("sample_data/expected_findings.csv"))
        .into_iter()
        .filter(|(f, _, _)| f == "HB-PSF-01_学校.csv")
        .map(|(_, r, _)| r)
        .collect();
    let text = std::fs::read_to_string(repo().join("sample_data/returns/HB-PSF-01_学校.csv"))
        .expect("sample");
    // Row 42 is the original of the planted duplicate on row 43; it is clean itself.
    let kept: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| !bad.contains(&(*i as u64 + 1)))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let path = dir.join("HB-PSF-01_clean.csv");
    std::fs::write(&path, kept).expect("write");
    path
}

#[test]
fn validate_exit_codes_follow_the_documentation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clean = clean_schools(dir.path());
    let clean = clean.to_str().expect("utf-8");
    let ok = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        clean,
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let strict = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        clean,
        "--fail-on",
        "warning",
    ]);
    assert_eq!(
        strict.status.code(),
        Some(0),
        "clean data has no warnings either"
    );
    // A clean file with one township name that disagrees with its code: a warning only.
    let warned = dir.path().join("HB-PSF-01_warned.csv");
    let text = std::fs::read_to_string(clean).expect("clean");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|h| *h == "乡镇").expect("乡镇");
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[col] = "不存在镇".into();
    lines[1] = cells.join(",");
    std::fs::write(&warned, lines.join("\n") + "\n").expect("write");
    let warned = warned.to_str().expect("utf-8");
    let warnings_only = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--fail-on",
        "warning",
        warned,
    ]);
    let errors = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "sample_data/returns/HB-PSF-01_学校.csv",
    ]);
    assert_eq!(errors.status.code(), Some(1));
    assert_eq!(warnings_only.status.code(), Some(1));
    let lenient = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        warned,
    ]);
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "warnings alone do not fail by default"
    );
    let no_class = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "Cargo.toml",
    ]);
    assert_clean_failure(&no_class, 2, "cannot tell the class");
    let with_class = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--class",
        "HB-PSF-01",
        clean,
    ]);
    assert_eq!(with_class.status.code(), Some(0));
}

#[test]
fn junit_report_parses_and_fails_exactly_the_broken_rules() {
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--format",
        "junit",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let mut reader = quick_xml::Reader::from_reader(output.stdout.as_slice());
    let (mut suites, mut failures, mut buf) = (0, BTreeSet::new(), Vec::new());
    let mut current = String::new();
    loop {
        match reader.read_event_into(&mut buf).expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testsuite" => suites += 1,
                    b"testcase" => {
                        current = e
                            .attributes()
                            .filter_map(Result::ok)
                            .find(|a| a.key.as_ref() == b"name")
                            .map(|a| String::from_utf8_lossy(&a.value).to_string())
                            .unwrap_or_default();
                    }
                    b"failure" => {
                        failures.insert(current.clone());
                    }
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    assert_eq!(suites, sample_returns());
    let error_rules: BTreeSet<String> = triples(&repo().join("sample_data/expected_findings.csv"))
        .into_iter()
        .map(|(_, _, r)| r)
        .filter(|r| {
            riskcensus_core::Rule::from_code(r).map(|r| r.default_severity())
                == Some(riskcensus_core::Severity::Error)
        })
        .collect();
    assert_eq!(failures, error_rules);
}

#[test]
fn html_report_is_self_contained_and_lists_every_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--format",
        "html",
        "-o",
        page.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let html = std::fs::read_to_string(&page).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the report must open offline"
    );
    for f in [
        "HB-PSF-01_学校.csv",
        "HB-PSF-02_医疗卫生机构_GBK.csv",
        "DR-GOV-10_应急避难场所_高德坐标.csv",
    ] {
        assert!(html.contains(f), "{f}");
    }
    assert!(html.contains("如何修改"));
}

#[test]
fn github_annotations_and_max_findings() {
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--format",
        "github",
        "--lang",
        "en",
        "--max-findings",
        "5",
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the cap never changes the verdict"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.lines().count(), 5);
    assert!(
        text.lines().all(|l| l.starts_with("::error file=")
            || l.starts_with("::warning file=")
            || l.starts_with("::notice file=")),
        "{text}"
    );
}

#[test]
fn pipeline_rule_overrides_raise_lower_and_disable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = broken_pipeline(dir.path(), |t| {
        t + "\n[rules]\n\"geo.other_village\" = \"error\"\n\"cell.code_list\" = \"off\"\n"
    });
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        p.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let findings = doc["findings"].as_array().expect("findings");
    assert!(findings.iter().all(|f| f["rule"] != "cell.code_list"));
    let other: Vec<_> = findings
        .iter()
        .filter(|f| f["rule"] == "geo.other_village")
        .collect();
    assert!(!other.is_empty() && other.iter().all(|f| f["severity"] == "error"));
    let default = riskcensus(&[
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--format",
        "json",
    ]);
    let default: serde_json::Value = serde_json::from_slice(&default.stdout).expect("json");
    let rejected = |d: &serde_json::Value| d["totals"]["rejected"].as_u64().unwrap_or(0);
    // Rows in another village are now rejected; code-list rows are no longer.
    assert_ne!(rejected(&doc), rejected(&default));
    let bad = broken_pipeline(dir.path(), |t| {
        t + "\n[rules]\n\"geo.nowhere\" = \"error\"\n"
    });
    assert_clean_failure(
        &riskcensus(&["run", bad.to_str().expect("utf-8")]),
        2,
        "unknown rule `geo.nowhere`",
    );
}

#[test]
fn an_unwritable_output_exits_4() {
    let output = riskcensus(&[
        "run",
        "pipelines/baiyin-2021.toml",
        "--out",
        "Cargo.toml/db",
    ]);
    assert_clean_failure(&output, 4, "cannot write");
}

fn zip_entry(path: &Path, name: &str) -> String {
    let file = std::fs::File::open(path).expect("xlsx");
    let mut archive = zip::ZipArchive::new(file).expect("a zip");
    let mut entry = archive
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in {}", path.display()));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).expect("utf-8 xml");
    text
}

#[test]
fn templates_for_all_31_classes_have_dropdowns_and_frozen_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = riskcensus(&[
        "template",
        "--all",
        "-o",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 31);
    for path in &files {
        let sheet = zip_entry(path, "xl/worksheets/sheet1.xml");
        let workbook = zip_entry(path, "xl/workbook.xml");
        assert!(
            sheet.contains("<pane ySplit=\"3\""),
            "frozen header in {}",
            path.display()
        );
        assert!(
            sheet.contains("<dataValidation type=\"list\""),
            "dropdowns in {}",
            path.display()
        );
        assert!(
            sheet.contains("代码表!$A$2"),
            "dropdowns read the code sheet in {}",
            path.display()
        );
        assert!(
            workbook.contains("name=\"代码表\"") && workbook.contains("state=\"hidden\""),
            "{}",
            path.display()
        );
        assert!(workbook.contains("name=\"填表说明\""), "{}", path.display());
        // An empty template is a well-formed return: no findings, no rows.
        let class = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n[..9].trim_end_matches('_').to_string())
            .expect("class");
        let v = riskcensus(&[
            "validate",
            "--pipeline",
            "pipelines/baiyin-2021.toml",
            "--class",
            &class,
            "--fail-on",
            "warning",
            "--format",
            "json",
            path.to_str().expect("utf-8"),
        ]);
        let doc: serde_json::Value = serde_json::from_slice(&v.stdout).expect("json");
        assert_eq!(
            v.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            doc["findings"]
        );
        assert_eq!(doc["totals"]["rows_read"], 0);
    }
}

#[test]
fn filled_census_forms_round_trip_with_no_findings() {
    // Sample forms written by the template writer and filled without planted defects: numbers as
    // text (DR-GOV-02, DR-GOV-04, DR-GOV-06, DR-ENT-01) and as Excel values, 12-digit codes and
    // dates included (HB-PSF-07, DR-GOV-08).
    for name in [
        "DR-GOV-02",
        "DR-GOV-04",
        "DR-GOV-06",
        "DR-ENT-01",
        "HB-PSF-07",
        "DR-GOV-08",
    ] {
        let file = std::fs::read_dir(repo().join("sample_data/returns"))
            .expect("returns")
            .map(|e| e.expect("entry").path())
            .find(|p| {
                p.extension().is_some_and(|e| e == "xlsx")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(name))
            })
            .expect("sample form");
        let output = riskcensus(&[
            "validate",
            "--pipeline",
            "pipelines/baiyin-2021.toml",
            "--fail-on",
            "warning",
            "--format",
            "json",
            file.to_str().expect("utf-8"),
        ]);
        let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
        assert_eq!(output.status.code(), Some(0), "{name}: {}", doc["findings"]);
        assert_eq!(doc["totals"]["findings"], 0);
        assert!(
            doc["totals"]["rows_read"].as_u64().unwrap_or(0) >= 8,
            "{name}"
        );
    }
}

#[test]
fn a_broken_schema_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schemas = dir.path().join("schemas");
    std::fs::create_dir_all(schemas.join("classes")).expect("dirs");
    for entry in ["taxonomy.toml", "common.toml"] {
        std::fs::copy(repo().join("schemas").join(entry), schemas.join(entry)).expect("copy");
    }
    for sub in ["classes", "blocks"] {
        std::fs::create_dir_all(schemas.join(sub)).expect("dir");
        for entry in std::fs::read_dir(repo().join("schemas").join(sub)).expect("schemas") {
            let path = entry.expect("entry").path();
            let to = schemas.join(sub).join(path.file_name().expect("name"));
            std::fs::copy(&path, to).expect("copy");
        }
    }
    let broken = schemas.join("classes/HB-PSF-06.toml");
    let text = std::fs::read_to_string(&broken).expect("schema");
    std::fs::write(
        &broken,
        text.replacen("type = \"enum\"", "type = \"enumeration\"", 1),
    )
    .expect("write");
    let p = broken_pipeline(dir.path(), |t| {
        t.replace(
            &format!("schemas = \"{}/schemas\"", repo().display()),
            &format!("schemas = \"{}\"", schemas.display()),
        )
    });
    let output = riskcensus(&["validate", "--pipeline", p.to_str().expect("utf-8")]);
    assert_clean_failure(&output, 2, "HB-PSF-06.toml");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("line "),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn killing_a_run_midway_leaves_the_previous_database_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("db");
    run_sample(&out);
    let before = std::fs::read(out.join("manifest.json")).expect("manifest");
    let mut child = Command::new(env!("CARGO_BIN_EXE_riskcensus"))
        .args([
            "run",
            "pipelines/baiyin-2021.toml",
            "--out",
            out.to_str().expect("utf-8"),
        ])
        .current_dir(repo())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the run is writing its staging directory, then kill it.
    let staging_seen = (0..3000).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(2));
        std::fs::read_dir(dir.path())
            .expect("dir")
            .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().contains(".partial-")))
    });
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(staging_seen, "the run never started writing");
    assert_eq!(
        std::fs::read(out.join("manifest.json")).expect("manifest"),
        before
    );
    let manifest: serde_json::Value = serde_json::from_slice(&before).expect("json");
    for o in manifest["outputs"].as_array().expect("outputs") {
        assert!(out.join(o["path"].as_str().expect("path")).exists(), "{o}");
    }
}

#[test]
fn broken_village_polygons_are_findings_and_repaired_where_possible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(repo().join("sample_data/geometry/baiyin_villages.geojson"))
        .expect("villages");
    let mut fc: serde_json::Value = serde_json::from_str(&text).expect("geojson");
    let features = fc["features"].as_array_mut().expect("features");
    let first = features[0].clone();
    features.push(first); // a duplicate code
                          // A self-intersecting "bow tie" over the village's own bounding box.
    let ring = |f: &serde_json::Value| {
        f["geometry"]["coordinates"][0][0]
            .as_array()
            .expect("ring")
            .clone()
    };
    let (xs, ys): (Vec<f64>, Vec<f64>) = ring(&features[1])
        .iter()
        .map(|p| (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0)))
        .unzip();
    let (x0, x1) = (
        xs.iter().cloned().fold(f64::MAX, f64::min),
        xs.iter().cloned().fold(f64::MIN, f64::max),
    );
    let (y0, y1) = (
        ys.iter().cloned().fold(f64::MAX, f64::min),
        ys.iter().cloned().fold(f64::MIN, f64::max),
    );
    features[1]["geometry"] = serde_json::json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]});
    // A village moved 3° east, out of its county and of Baiyin.
    let moved: Vec<serde_json::Value> = ring(&features[2])
        .iter()
        .map(|p| serde_json::json!([p[0].as_f64().unwrap_or(0.0) + 3.0, p[1]]))
        .collect();
    features[2]["geometry"] = serde_json::json!({"type": "Polygon", "coordinates": [moved]});
    // A village nudged 0.01° east, over its neighbours.
    let nudged: Vec<serde_json::Value> = ring(&features[4])
        .iter()
        .map(|p| serde_json::json!([p[0].as_f64().unwrap_or(0.0) + 0.01, p[1]]))
        .collect();
    features[4]["geometry"] = serde_json::json!({"type": "Polygon", "coordinates": [nudged]});
    // An unclosed ring (the last point repeats no first point).
    let mut open = ring(&features[5]);
    open.pop();
    features[5]["geometry"] = serde_json::json!({"type": "Polygon", "coordinates": [open]});
    // A polygon without area.
    features[3]["geometry"] =
        serde_json::json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x0, y0]]]});
    let villages = dir.path().join("villages.geojson");
    std::fs::write(&villages, fc.to_string()).expect("write");
    let original = format!(
        "{}/sample_data/geometry/baiyin_villages.geojson",
        repo().display()
    );
    let p = broken_pipeline(dir.path(), |t| {
        t.replace(&original, villages.to_str().expect("utf-8"))
    });
    let output = riskcensus(&[
        "validate",
        "--pipeline",
        p.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rules: BTreeSet<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["class"] == "geometry")
        .map(|f| f["rule"].as_str().unwrap_or("").to_string())
        .collect();
    for rule in [
        "geom.duplicate_code",
        "geom.repaired",
        "geom.outside_county",
        "geom.empty",
        "geom.gap",
        "geom.overlap",
    ] {
        assert!(rules.contains(rule), "{rule} missing from {rules:?}");
    }
}

#[test]
fn gpkg_none_writes_no_county_packages_and_nothing_else_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (with, without) = (dir.path().join("with"), dir.path().join("without"));
    run_sample(&with);
    let out = riskcensus(&[
        "run",
        "pipelines/baiyin-2021.toml",
        "--gpkg",
        "none",
        "--out",
        without.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let packages = std::fs::read_dir(with.join("counties"))
        .expect("counties/")
        .count();
    assert_eq!(packages, 10, "5 counties: a .gpkg and a .qgs each");
    assert!(!without.join("counties").exists());
    let bytes = |p: &Path| std::fs::read(p.join("findings.parquet")).expect("findings");
    assert_eq!(bytes(&with), bytes(&without));
}

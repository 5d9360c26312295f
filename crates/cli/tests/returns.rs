//! Returns laid out as county offices send them (issue 20): derivable columns missing, area-level
//! classes without coordinates, codes that name another village, code-list near misses. Each is
//! built here by hand or cut from a sample file, and run through the real schemas, the real
//! Baiyin register and polygons.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{csv_rows, pipeline_with, repo, riskcensus};

type Row = BTreeMap<String, String>;

/// Run the pipeline into `dir/db`; the findings, the changes and the manifest's inputs.
fn run(dir: &Path, returns: &[(&str, &Path)]) -> (Vec<Row>, Vec<Row>, serde_json::Value) {
    let pipeline = pipeline_with(dir, returns);
    let out = dir.join("db");
    let output = riskcensus(&[
        "run",
        pipeline.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "run failed: {stderr}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).expect("m"))
            .expect("json");
    (
        csv_rows(&out.join("findings.csv")),
        csv_rows(&out.join("changes.csv")),
        manifest["inputs"].clone(),
    )
}

/// `text` (a CSV without quoted commas) without the columns whose header is in `drop`.
fn without_columns(text: &str, drop: &[&str]) -> String {
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !drop.contains(&header[i]))
        .collect();
    assert_eq!(
        keep.len() + drop.len(),
        header.len(),
        "all dropped columns exist"
    );
    text.lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(",") + "\n"
        })
        .collect()
}

fn key(f: &Row) -> (String, String, String) {
    (f["row"].clone(), f["rule"].clone(), f["column"].clone())
}

/// The sample schools return, and the same without 省/市/县/乡镇/村/代码类型: the findings are
/// those of the original less the ones about the dropped columns, plus one
/// `struct.derived_column` per column; no row is rejected for them; every derived value is
/// recorded and equals what the original file had where the original agreed with the register.
#[test]
fn a_return_without_derivable_columns_is_derived_not_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = repo().join("sample_data/returns/HB-PSF-01_学校.csv");
    let original = std::fs::read_to_string(&sample).expect("sample");
    let dropped = ["代码类型", "省", "市", "县", "乡镇", "村"];
    let stripped_path = dir.path().join("schools.csv");
    std::fs::write(&stripped_path, without_columns(&original, &dropped)).expect("write");

    let (before, _, before_inputs) = run(&dir.path().join("a"), &[("HB-PSF-01", &sample)]);
    let (after, changes, after_inputs) =
        run(&dir.path().join("b"), &[("HB-PSF-01", &stripped_path)]);

    let expected: BTreeSet<_> = before
        .iter()
        .filter(|f| !dropped.contains(&f["column"].as_str()))
        .map(key)
        // Telling the civil-affairs numbering needs the 乡镇 name, which the file no longer has.
        .map(|(row, rule, column)| match rule.as_str() {
            "id.division_mca" => (row, "id.division_unknown".to_string(), column),
            _ => (row, rule, column),
        })
        .chain(dropped.iter().map(|c| {
            let label = c.to_string();
            (String::new(), "struct.derived_column".to_string(), label)
        }))
        .collect();
    let found: BTreeSet<_> = after.iter().map(key).collect();
    assert_eq!(
        found.symmetric_difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new()
    );
    assert!(after.iter().all(|f| f["rule"] != "struct.missing_column"));
    // Rows rejected before only for the dropped columns are accepted now; nothing else moves.
    let rejected_for_dropped = before
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["row"].clone())
        .collect::<BTreeSet<_>>()
        .iter()
        .filter(|row| {
            before
                .iter()
                .filter(|f| &&f["row"] == row && f["severity"] == "error")
                .all(|f| dropped.contains(&f["column"].as_str()))
        })
        .count() as u64;
    let accepted = |inputs: &serde_json::Value| inputs[0]["accepted"].as_u64().expect("n");
    assert_eq!(
        accepted(&after_inputs),
        accepted(&before_inputs) + rejected_for_dropped
    );
    assert_eq!(after_inputs[0]["rows_read"], before_inputs[0]["rows_read"]);

    // Every derived value is recorded, once, and matches the original cell where the original
    // raised no name finding there.
    let lines: Vec<Vec<&str>> = original.lines().map(|l| l.split(',').collect()).collect();
    let header = &lines[0];
    let flagged: BTreeSet<(String, String)> = before
        .iter()
        .map(|f| (f["row"].clone(), f["column"].clone()))
        .collect();
    let mut compared = 0;
    for c in &changes {
        assert_eq!(
            (
                c["rule"].as_str(),
                c["confidence"].as_str(),
                c["old"].as_str()
            ),
            ("struct.derived_column", "derived", "")
        );
        let row: usize = c["row"].parse().expect("row");
        let col = header
            .iter()
            .position(|h| *h == c["column"])
            .expect("a dropped column");
        if flagged.contains(&(c["row"].clone(), c["column"].clone())) {
            continue;
        }
        let was = lines[row - 1][col];
        if !was.is_empty() {
            assert_eq!(c["new"], was, "row {row} {}", c["column"]);
            compared += 1;
        }
    }
    assert!(compared > 500, "only {compared} derived values compared");
    let unique: BTreeSet<_> = changes.iter().map(|c| (&c["row"], &c["column"])).collect();
    assert_eq!(unique.len(), changes.len(), "each value recorded once");
}

/// Village (DR-GRS-02) and township (DR-GRS-01) returns laid out as the census import takes
/// them: code, name and figures, no address, no coordinates, no 省/市/县/乡镇 — every row
/// accepted, and a village without a point is counted in its village.
#[test]
fn area_returns_without_address_or_coordinates_are_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let villages = dir.path().join("villages.csv");
    std::fs::write(
        &villages,
        "单位名称,行政区划代码,总户数（户）,常住人口数量（人）\n\
         中心街社区居民委员会,620402001001,3995,10388\n\
         五星街社区居民委员会,620402001002,2100,6021\n\
         金山村村民委员会,620421101200,512,1877\n",
    )
    .expect("write");
    let townships = dir.path().join("townships.csv");
    std::fs::write(
        &townships,
        "单位名称,行政区划代码,常住人口数量（人）\n\
         人民路街道,620402001000,41000\n\
         北湾镇,620421101000,30500\n",
    )
    .expect("write");
    let (findings, changes, inputs) = run(
        dir.path(),
        &[("DR-GRS-02", &villages), ("DR-GRS-01", &townships)],
    );
    for input in inputs.as_array().expect("inputs") {
        assert_eq!(input["accepted"], input["rows_read"], "{input}");
    }
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // 省/市/县/乡镇(/村) derived for each row: the villages' five, the townships' four.
    assert_eq!(changes.len(), 3 * 5 + 2 * 4);
    let township_of = |row: &str| {
        changes
            .iter()
            .find(|c| {
                c["file"].ends_with("villages.csv") && c["row"] == row && c["column"] == "乡镇"
            })
            .map(|c| c["new"].clone())
    };
    assert_eq!(township_of("4").as_deref(), Some("北湾镇"));
    assert_eq!(township_of("2").as_deref(), Some("人民路街道"));
    let province: BTreeSet<_> = changes
        .iter()
        .filter(|c| c["column"] == "省")
        .map(|c| c["new"].as_str())
        .collect();
    assert_eq!(province, BTreeSet::from(["甘肃省"]));
}

/// Codes that name another village or none, and code-list near misses: the findings name the
/// code (or value) the row's own names point to, and how sure that is; ambiguity is said, never
/// resolved.
#[test]
fn findings_suggest_the_code_and_the_value_the_row_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let villages = dir.path().join("villages.csv");
    std::fs::write(
        &villages,
        "单位名称,行政区划代码,乡镇,村,总户数（户）,常住人口数量（人）\n\
         西关社区,620421101203,乌兰镇,西关社区,800,2500\n\
         西关社区居委会,620421103099,乌兰镇,西关社区居民委员会,800,2500\n\
         魏家地,620403109999,,魏家地,300,900\n",
    )
    .expect("write");
    let (findings, _, _) = run(dir.path(), &[("DR-GRS-02", &villages)]);
    let at = |row: &str, rule: &str| -> Vec<&Row> {
        findings
            .iter()
            .filter(|f| f["row"] == row && f["rule"] == rule)
            .collect()
    };
    // Row 2: 620421101203 is 古城村 of 北湾镇; the names are 乌兰镇's 西关社区.
    let names = at("2", "id.division_name");
    assert_eq!(names.len(), 2, "{names:?}");
    for f in names {
        assert_eq!(f["suggestion"], "620421103009");
        assert!(
            f["message_zh"].contains("名称规范化后一致，唯一匹配"),
            "{f:?}"
        );
    }
    // Row 3: an unknown code; the names match exactly.
    let unknown = at("3", "id.division_unknown");
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0]["suggestion"], "620421103009");
    assert!(unknown[0]["message_zh"].contains("名称完全一致，唯一匹配"));
    // Row 4: 平川区 has a 魏家地社区 and a 魏家地村 (two townships): two candidates, no suggestion.
    let ambiguous = at("4", "id.division_unknown");
    assert_eq!(ambiguous.len(), 1);
    assert_eq!(ambiguous[0]["suggestion"], "");
    for code in ["620403001003", "620403105201"] {
        assert!(
            ambiguous[0]["message_zh"].contains(code),
            "{:?}",
            ambiguous[0]
        );
    }

    let hospitals = dir.path().join("hospitals.csv");
    // The sample is GBK: its header and first row, read through encoding_rs.
    let bytes = std::fs::read(repo().join("sample_data/returns/HB-PSF-02_医疗卫生机构_GBK.csv"))
        .expect("sample");
    let (text, _, _) = encoding_rs::GBK.decode(&bytes);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let grade = header
        .iter()
        .position(|h| h.starts_with("医院等级"))
        .expect("医院等级");
    let first: Vec<&str> = lines.next().expect("row").split(',').collect();
    let mut csv = header.join(",") + "\n";
    for value in ["一级", "三级甲"] {
        let mut row = first.clone();
        row[grade] = value;
        csv += &(row.join(",") + "\n");
    }
    std::fs::write(&hospitals, csv).expect("write");
    let (findings, _, _) = run(&dir.path().join("h"), &[("HB-PSF-02", &hospitals)]);
    let code_list: Vec<&Row> = findings
        .iter()
        .filter(|f| f["rule"] == "cell.code_list")
        .collect();
    assert_eq!(code_list.len(), 2, "{code_list:?}");
    assert!(code_list[0]["message_zh"].contains("最接近的是：一级甲等、一级乙等、一级丙等"));
    assert_eq!(
        code_list[0]["suggestion"], "",
        "three candidates: none chosen"
    );
    assert_eq!(code_list[1]["suggestion"], "三级甲等");
}

/// (file name, row, rule) of every finding `validate` reports for `files`.
fn findings_of(files: &[&Path]) -> BTreeSet<(String, String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("findings.csv");
    let mut args = vec![
        "validate",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "--format",
        "csv",
        "-o",
        report.to_str().expect("utf-8"),
    ];
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8")));
    let output = riskcensus(&args);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    csv_rows(&report)
        .iter()
        .map(|f| {
            let name = f["file"].rsplit('/').next().unwrap_or_default().to_string();
            (name, f["row"].clone(), f["rule"].clone())
        })
        .collect()
}

/// `riskcensus fix` on returns with derivable columns missing, full-width digits, a swapped
/// point, a code with a sure suggestion, a civil-affairs code, a GBK file and a GCJ-02 file:
/// validating the fixed files raises none of the fixed findings and every other finding as
/// before; each change is in changes.csv; a fuzzy suggestion is left alone.
#[test]
fn fix_round_trips_and_changes_only_what_is_sure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let returns = repo().join("sample_data/returns");
    // The schools sample without 省/市/县/乡镇/村, with full-width digits in one student count.
    let schools = std::fs::read_to_string(returns.join("HB-PSF-01_学校.csv")).expect("sample");
    let stripped = without_columns(&schools, &["省", "市", "县", "乡镇", "村"]);
    let students = stripped
        .lines()
        .next()
        .and_then(|h| h.split(',').position(|c| c.starts_with("在校")))
        .expect("students column");
    let stripped: String = stripped
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut cells: Vec<String> = l.split(',').map(str::to_string).collect();
            if i == 2 {
                cells[students] = "４２０".into();
            }
            cells.join(",") + "\n"
        })
        .collect();
    let inputs_dir = dir.path().join("in");
    std::fs::create_dir_all(&inputs_dir).expect("dir");
    let stripped_path = inputs_dir.join("HB-PSF-01_学校_无地址列.csv");
    std::fs::write(&stripped_path, stripped).expect("write");
    let inputs = [
        returns.join("HB-PSF-01_学校.csv"),
        returns.join("HB-PSF-02_医疗卫生机构_GBK.csv"),
        returns.join("DR-GOV-10_应急避难场所_高德坐标.csv"),
        stripped_path,
    ];
    let out = dir.path().join("fixed");
    let mut args = vec![
        "fix",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "-o",
        out.to_str().expect("utf-8"),
    ];
    args.extend(inputs.iter().map(|p| p.to_str().expect("utf-8")));
    let output = riskcensus(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let changes = csv_rows(&out.join("changes.csv"));
    let fixed: Vec<PathBuf> = inputs
        .iter()
        .map(|p| out.join(p.file_name().expect("name")))
        .collect();

    let before = findings_of(&inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    let after = findings_of(&fixed.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    assert!(
        after.is_subset(&before),
        "new findings after fixing: {:?}",
        after.difference(&before).collect::<Vec<_>>()
    );
    let changed: BTreeSet<(String, String)> = changes
        .iter()
        .map(|c| {
            let name = c["file"].rsplit('/').next().unwrap_or_default().to_string();
            (name, c["row"].clone())
        })
        .collect();
    for (file, row, rule) in before.difference(&after) {
        let file_level =
            row.is_empty() && ["geo.gcj02_shift", "struct.derived_column"].contains(&rule.as_str());
        assert!(
            file_level || changed.contains(&(file.clone(), row.clone())),
            "{file} row {row}: {rule} is gone but nothing was changed there"
        );
    }
    for c in &changes {
        let name = c["file"].rsplit('/').next().unwrap_or_default().to_string();
        let gone = !after.contains(&(name.clone(), c["row"].clone(), c["rule"].clone()));
        assert!(
            gone,
            "{name} row {}: {} still found after its fix",
            c["row"], c["rule"]
        );
    }
    let change = |file: &str, row: &str, column: &str| {
        changes
            .iter()
            .find(|c| c["file"].ends_with(file) && c["row"] == row && c["column"] == column)
            .map(|c| (c["old"].clone(), c["new"].clone(), c["rule"].clone()))
    };
    // A sure code suggestion, a civil-affairs code by name, a swapped point, full-width digits.
    assert_eq!(
        change("HB-PSF-01_学校.csv", "14", "行政区划代码"),
        Some((
            "620423104999".into(),
            "620423104216".into(),
            "id.division_unknown".into()
        ))
    );
    assert_eq!(
        change("HB-PSF-01_学校.csv", "72", "行政区划代码").map(|c| c.2),
        Some("id.division_mca".into())
    );
    assert_eq!(
        change("HB-PSF-01_学校.csv", "20", "经度").map(|c| c.2),
        Some("geo.swapped".into())
    );
    assert_eq!(
        change("HB-PSF-01_学校_无地址列.csv", "3", "在校（园）学生数（人）"),
        Some(("４２０".into(), "420".into(), "cell.full_width".into()))
    );
    // Every point of the GCJ-02 file converted; the 三甲 guess (fuzzy) left for a person.
    let gcj: Vec<_> = changes
        .iter()
        .filter(|c| c["rule"] == "geo.gcj02_shift")
        .collect();
    assert!(gcj.len() >= 2 * 5, "{gcj:?}");
    assert!(after.contains(&(
        "HB-PSF-02_医疗卫生机构_GBK.csv".into(),
        "19".into(),
        "cell.code_list".into()
    )));
    // The derived columns are in the fixed file, and its rows are the original's.
    let fixed_text = std::fs::read_to_string(&fixed[3]).expect("fixed");
    let header = fixed_text.lines().next().expect("header");
    for column in ["省", "市", "县", "乡镇", "村"] {
        assert!(header.split(',').any(|h| h == column), "{header}");
    }
    assert_eq!(fixed_text.lines().count(), schools.lines().count());
}

/// A census Excel form (written by riskcensus-forms, numbers stored as numbers) with a code
/// that has a sure suggestion, a swapped point, a civil-affairs code and full-width digits:
/// `fix` rewrites those cells only — the form keeps its help sheet, dropdowns and hidden
/// census-code row — and validating it raises none of the fixed findings.
#[test]
fn fix_rewrites_a_census_form_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schemas = riskcensus_core::SchemaSet::load(&repo().join("schemas")).expect("schemas");
    let class = schemas.class("HB-PSF-01").expect("schools");
    let sample = std::fs::read_to_string(repo().join("sample_data/returns/HB-PSF-01_学校.csv"))
        .expect("sample");
    let lines: Vec<Vec<&str>> = sample.lines().map(|l| l.split(',').collect()).collect();
    let matcher = riskcensus_core::schema::HeaderMatcher::new(&class.fields);
    let position: Vec<Option<usize>> = class
        .fields
        .iter()
        .map(|f| {
            lines[0]
                .iter()
                .position(|h| matcher.field(h).is_some_and(|m| m.id == f.id))
        })
        .collect();
    // Lines 2 and 3 are clean; 14, 20 and 72 carry the planted defects `fix` can mend.
    let rows: Vec<Vec<String>> = [2usize, 3, 14, 20, 72]
        .iter()
        .map(|&line| {
            position
                .iter()
                .zip(&class.fields)
                .map(|(p, f)| {
                    let cell = p.map_or("", |p| lines[line - 1][p]);
                    if line == 3 && f.id == "students" {
                        "４２０".to_string()
                    } else {
                        cell.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let form = dir.path().join("HB-PSF-01_学校表.xlsx");
    riskcensus_forms::write_filled(class, &schemas.taxonomy, &rows, true, &form).expect("form");
    let out = dir.path().join("fixed");
    let output = riskcensus(&[
        "fix",
        "--pipeline",
        "pipelines/baiyin-2021.toml",
        "-o",
        out.to_str().expect("utf-8"),
        form.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fixed = out.join("HB-PSF-01_学校表.xlsx");
    let before = findings_of(&[&form]);
    let after = findings_of(&[&fixed]);
    let rules = |set: &BTreeSet<(String, String, String)>| -> BTreeSet<String> {
        set.iter().map(|(_, _, r)| r.clone()).collect()
    };
    for rule in ["id.division_unknown", "id.division_mca", "geo.swapped"] {
        assert!(rules(&before).contains(rule), "{rule} planted: {before:?}");
        assert!(
            !rules(&after).contains(rule),
            "{rule} still found: {after:?}"
        );
    }
    assert!(after.is_subset(&before), "{after:?} ⊄ {before:?}");
    let changes = csv_rows(&out.join("changes.csv"));
    let rules_changed: BTreeSet<&str> = changes.iter().map(|c| c["rule"].as_str()).collect();
    assert_eq!(
        rules_changed,
        BTreeSet::from([
            "cell.full_width",
            "geo.swapped",
            "id.division_mca",
            "id.division_unknown"
        ])
    );
    // The layout survives: the help sheet, the dropdowns, the hidden census-code row.
    let names = |path: &Path| -> BTreeSet<String> {
        let archive = zip::ZipArchive::new(std::fs::File::open(path).expect("xlsx")).expect("zip");
        archive
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.to_string())
            .collect()
    };
    let sheet = |path: &Path| {
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(path).expect("xlsx")).expect("zip");
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut archive.by_name("xl/worksheets/sheet1.xml").expect("sheet1"),
            &mut text,
        )
        .expect("xml");
        text
    };
    assert!(
        names(&fixed)
            .iter()
            .any(|n| n.starts_with("xl/worksheets/sheet3")),
        "{:?}",
        names(&fixed)
    );
    let (original, rewritten) = (sheet(&form), sheet(&fixed));
    for marker in ["<dataValidation ", "hidden=\"1\"", "<pane "] {
        assert_eq!(
            original.matches(marker).count(),
            rewritten.matches(marker).count(),
            "{marker}"
        );
    }
}

/// `fix` writes beside the inputs, never over them: an input's own folder, a file as the folder
/// and two inputs of one name are exit 2, and nothing is written.
#[test]
fn fix_never_writes_over_an_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = repo().join("sample_data/returns/HB-PSF-01_学校.csv");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for folder in [&a, &b] {
        std::fs::create_dir_all(folder).expect("dir");
        std::fs::copy(&sample, folder.join("HB-PSF-01_学校.csv")).expect("copy");
    }
    let input = a.join("HB-PSF-01_学校.csv");
    let original = std::fs::read(&input).expect("input");
    let a_file = dir.path().join("a-file");
    std::fs::write(&a_file, "mine").expect("file");
    let path = |p: &Path| p.to_str().expect("utf-8").to_string();
    let cases: [(Vec<String>, &str); 3] = [
        (vec![path(&a), path(&input)], "would overwrite the input"),
        (vec![path(&a_file), path(&input)], "is a file"),
        (
            vec![
                path(&dir.path().join("out")),
                path(&input),
                path(&b.join("HB-PSF-01_学校.csv")),
            ],
            "two inputs are named",
        ),
    ];
    for (args, needle) in cases {
        let mut command = vec![
            "fix".to_string(),
            "--pipeline".into(),
            "pipelines/baiyin-2021.toml".into(),
            "-o".into(),
        ];
        command.extend(args);
        let refs: Vec<&str> = command.iter().map(String::as_str).collect();
        let output = riskcensus(&refs);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{needle}: {stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(std::fs::read(&input).expect("input"), original);
    assert_eq!(std::fs::read_to_string(&a_file).expect("file"), "mine");
    assert!(
        !dir.path().join("out").exists(),
        "nothing written on a refusal"
    );
}

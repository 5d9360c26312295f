//! Any text in any cell: the validate entry point never panics, keeps every row, and every finding
//! names a row of the file (or none, for the file). Cells are random Unicode, control characters,
//! huge and empty strings, and values near each field type's edge, written into a return of the
//! real schools schema (every field type it has) against the real Baiyin register.
//!
//! `PROPTEST_CASES` sets the number of cases (CI runs the default below; the note of the
//! reliability issue records a long run).

use proptest::prelude::*;
use riskcensus_core::{Register, SchemaSet};
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Text as returns hold it at their worst.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,12}",
        "[0-9]{0,14}",
        "[0-9.eE+\\-]{0,8}",
        "-?[0-9]{1,3}\\.[0-9]{0,8}",
        Just(String::new()),
        Just("无".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("1e400".to_string()),
        Just("620402001001".to_string()),
        Just("是".to_string()),
        Just("2020-02-30".to_string()),
        "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{1,4}",
        "[甲乙丙丁一二三村社区]{0,40}",
        Just("长".repeat(5000)),
    ]
}

/// Validate `rows` under `header` as a return of `code`; the invariants every layout keeps.
fn check_any(code: &str, header: &[&str], rows: &[Vec<String>]) -> Result<(), TestCaseError> {
    let schemas = SchemaSet::load(&repo().join("schemas")).expect("schemas");
    let class = schemas.class(code).expect("class");
    let register_text =
        std::fs::read_to_string(repo().join("sample_data/register/baiyin_divisions.csv"))
            .expect("register");
    let register = Register::from_csv_str(&register_text).expect("register");
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).expect("header");
    for row in rows {
        let cells: Vec<&str> = row
            .iter()
            .map(String::as_str)
            .chain(std::iter::repeat(""))
            .take(header.len())
            .collect();
        writer.write_record(&cells).expect("row");
    }
    let bytes = writer.into_inner().expect("csv");
    // The reader may refuse the file as a whole (control characters, an unknown encoding, no
    // column at all): that is an error value, never a panic.
    let Ok(raw) = riskcensus_ingest::ingest_bytes("any.csv", &bytes, Default::default(), class)
    else {
        return Ok(());
    };
    let out = riskcensus_validate::validate(&raw, class, &register).expect("validate");
    prop_assert_eq!(out.typed.height(), raw.lines.len());
    for finding in &out.findings {
        if let Some(row) = finding.row {
            prop_assert!(
                row == 1 || raw.lines.contains(&row),
                "{:?} names row {}",
                finding.rule,
                row
            );
        }
    }
    for change in &out.changes {
        prop_assert!(
            raw.lines.contains(&change.row),
            "a change names row {}",
            change.row
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A village return (derivable and place columns optional) with any subset of its columns,
    /// in any text: derivation and look-ups by name never panic either.
    #[test]
    fn any_layout_of_a_village_return_is_findings_never_a_panic(
        keep in prop::collection::vec(any::<bool>(), 29),
        rows in prop::collection::vec(prop::collection::vec(cell(), 29), 1..6),
    ) {
        let text = std::fs::read_to_string(repo().join("sample_data/returns/DR-GRS-02_社区行政村_白银区.csv")).expect("return");
        let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
        let kept: Vec<usize> = (0..header.len()).filter(|&i| keep.get(i).copied().unwrap_or(true)).collect();
        let header: Vec<&str> = kept.iter().map(|&i| header[i]).collect();
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| kept.iter().map(|&i| r.get(i).cloned().unwrap_or_default()).collect())
            .collect();
        check_any("DR-GRS-02", &header, &rows)?;
    }

    #[test]
    fn any_cell_text_is_a_finding_never_a_panic(rows in prop::collection::vec(prop::collection::vec(cell(), 20), 1..6)) {
        let header = std::fs::read_to_string(repo().join("sample_data/returns/HB-PSF-01_学校.csv")).expect("return");
        let header: Vec<&str> = header.lines().next().expect("header").split(',').collect();
        check_any("HB-PSF-01", &header, &rows)?;
    }
}

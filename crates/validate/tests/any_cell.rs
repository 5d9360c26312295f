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

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_cell_text_is_a_finding_never_a_panic(rows in prop::collection::vec(prop::collection::vec(cell(), 20), 1..6)) {
        let schemas = SchemaSet::load(&repo().join("schemas")).expect("schemas");
        let class = schemas.class("HB-PSF-01").expect("class");
        let register_text = std::fs::read_to_string(repo().join("sample_data/register/baiyin_divisions.csv")).expect("register");
        let register = Register::from_csv_str(&register_text).expect("register");
        let header = std::fs::read_to_string(repo().join("sample_data/returns/HB-PSF-01_学校.csv")).expect("return");
        let header = header.lines().next().expect("header");
        let width = header.split(',').count();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(header.split(',')).expect("header");
        for row in &rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).chain(std::iter::repeat("")).take(width).collect();
            writer.write_record(&cells).expect("row");
        }
        let bytes = writer.into_inner().expect("csv");
        // The reader may refuse the file as a whole (control characters, an unknown encoding):
        // that is an error value, never a panic.
        let Ok(raw) = riskcensus_ingest::ingest_bytes("any.csv", &bytes, Default::default(), class) else {
            return Ok(());
        };
        let out = riskcensus_validate::validate(&raw, class, &register).expect("validate");
        prop_assert_eq!(out.typed.height(), raw.lines.len());
        for finding in &out.findings {
            if let Some(row) = finding.row {
                prop_assert!(row == 1 || raw.lines.contains(&row), "{:?} names row {}", finding.rule, row);
            }
        }
    }
}

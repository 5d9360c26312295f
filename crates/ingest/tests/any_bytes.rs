//! Any bytes as a return: the CSV and Excel readers never panic, and a table they give back
//! keeps one rising line number per row, within the file. Inputs are random bytes and the
//! sample's own returns (a GBK CSV with quotes and Chinese text, an Excel form) broken at random
//! places: bytes replaced, inserted (quotes, line breaks, NUL, 0xFF, half a GBK character) or cut.
//!
//! `PROPTEST_CASES` sets the number of cases (CI runs the default below).

use proptest::prelude::*;
use riskcensus_core::table::RawTable;
use riskcensus_core::SchemaSet;
use riskcensus_ingest::{ingest_bytes, ingest_file, Encoding};
use std::path::Path;

#[path = "../../../tests/support/mutate.rs"]
mod mutate;
use mutate::{apply, edit};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// What any table read must keep: one line number per row, rising, each within the file.
fn check_table(table: &RawTable, line_breaks: usize) -> Result<(), TestCaseError> {
    prop_assert_eq!(table.lines.len(), table.frame.height());
    prop_assert!(
        table.lines.windows(2).all(|w| w[0] < w[1]),
        "{:?}",
        table.lines
    );
    if let Some(last) = table.lines.last() {
        prop_assert!(
            *last as usize <= line_breaks + 1,
            "{last} > {}",
            line_breaks + 1
        );
    }
    Ok(())
}

fn schemas() -> SchemaSet {
    SchemaSet::load(&repo().join("schemas")).expect("schemas")
}

fn line_breaks(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_broken_csv_is_read_or_refused_never_a_panic(
        edits in proptest::collection::vec(edit(), 1..6),
        encoding in prop_oneof![Just(Encoding::Auto), Just(Encoding::Gb18030), Just(Encoding::Utf8)],
    ) {
        let schemas = schemas();
        let class = schemas.class("HB-PSF-02").expect("class");
        let sample = std::fs::read(
            repo().join("sample_data/returns/HB-PSF-02_医疗卫生机构_GBK.csv"),
        ).expect("sample");
        let bytes = apply(sample, &edits);
        if let Ok(table) = ingest_bytes("broken.csv", &bytes, encoding, class) {
            check_table(&table, line_breaks(&bytes))?;
        }
    }

    #[test]
    fn random_bytes_as_a_csv_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let schemas = schemas();
        let class = schemas.class("HB-PSF-01").expect("class");
        if let Ok(table) = ingest_bytes("random.csv", &bytes, Encoding::Auto, class) {
            check_table(&table, line_breaks(&bytes))?;
        }
    }

    #[test]
    fn a_broken_workbook_is_read_or_refused_never_a_panic(
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let schemas = schemas();
        let class = schemas.class("HB-PSF-03").expect("class");
        let sample = std::fs::read(
            repo().join("sample_data/returns/HB-PSF-03_提供住宿的社会服务机构.xlsx"),
        ).expect("sample");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("broken.xlsx");
        std::fs::write(&path, apply(sample, &edits)).expect("write");
        if let Ok(table) = ingest_file(&path, "broken.xlsx", Encoding::Auto, None, class) {
            // A sheet's line numbers are its row numbers: at most Excel's 1,048,576.
            check_table(&table, 1_048_575)?;
        }
    }
}

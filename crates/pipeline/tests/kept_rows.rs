//! What a run keeps of a return once its batch is done.

use std::path::Path;

use riskcensus_pipeline::{prepare, process_all, Pipeline, Silent, Timings};

/// The rejected rows stay until the end of a run: they must hold their own cells only, not the
/// whole file's text (a polars text column filtered out of another keeps the other's buffers;
/// on a national census that was 1.3 GB).
#[test]
fn rejected_rows_hold_their_own_text_only() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/baiyin-2021.toml");
    let pipeline = Pipeline::load(&path).expect("the sample pipeline loads");
    let mut timings = Timings::default();
    let ctx = prepare(&pipeline, &mut timings).expect("the sample's references load");
    let outcomes = process_all(&ctx, &mut timings, &Silent).expect("the sample is processed");
    let mut columns_checked = 0;
    for outcome in outcomes.iter().filter(|o| o.rejected.height() > 0) {
        for column in outcome.rejected.columns() {
            let Ok(text) = column.str() else { continue };
            // Cells of up to 12 bytes live in the views themselves, longer ones in the buffers.
            let own: usize = text
                .iter()
                .flatten()
                .map(str::len)
                .filter(|&n| n > 12)
                .sum();
            let held: usize = text
                .downcast_iter()
                .map(|a| a.data_buffers().iter().map(|b| b.len()).sum::<usize>())
                .sum();
            assert!(
                held <= own,
                "{} column {}: {held} bytes of buffers for {own} bytes of cells",
                outcome.report.file,
                column.name()
            );
            columns_checked += 1;
        }
    }
    assert!(
        columns_checked > 100,
        "only {columns_checked} columns checked"
    );
}

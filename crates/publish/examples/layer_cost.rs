//! What one small facility layer costs to write: a 72-row layer of 29 attribute columns (the
//! shape of a typical per-county layer in a national run) written again and again.
//!
//! ```text
//! just bench-layer [LAYERS] [DIR]
//! # or: cargo build --release --workspace --example layer_cost
//! #     target/release/examples/layer_cost [LAYERS] [DIR]
//! ```
//!
//! (`--workspace` builds the example with the features the whole workspace uses, so it reuses the
//! release build of the `riskcensus` binary instead of building polars again.)
//!
//! Prints the microseconds per layer (wall, one thread). `DIR` defaults to the system's temporary
//! directory; on tmpfs (`/dev/shm`) the figure is the writer's, not the disk's.

use std::time::Instant;

use polars::prelude::*;
use riskcensus_publish::{write_geoparquet, Geometries};

/// The allocator of the `riskcensus` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 72;

/// The layer's attributes and points.
fn layer() -> PolarsResult<(DataFrame, Geometries)> {
    let text = |column: usize| -> Column {
        let values: Vec<Option<String>> = (0..ROWS)
            .map(|row| (row % 7 != column % 7).then(|| format!("单位{column}-{row}")))
            .collect();
        Column::new(format!("text_{column}").into(), values)
    };
    let whole = |column: usize| -> Column {
        let values: Vec<Option<i64>> = (0..ROWS)
            .map(|row| (row % 5 != 0).then_some((row * column) as i64))
            .collect();
        Column::new(format!("whole_{column}").into(), values)
    };
    let real = |column: usize| -> Column {
        let values: Vec<Option<f64>> = (0..ROWS)
            .map(|row| Some(row as f64 * 0.25 + column as f64))
            .collect();
        Column::new(format!("real_{column}").into(), values)
    };
    let flag = |column: usize| -> Column {
        let values: Vec<Option<bool>> = (0..ROWS).map(|row| Some(row % 2 == column % 2)).collect();
        Column::new(format!("flag_{column}").into(), values)
    };
    let mut columns = Vec::new();
    columns.extend((0..14).map(text));
    columns.extend((0..7).map(whole));
    columns.extend((0..5).map(real));
    columns.extend((0..3).map(flag));
    let frame = DataFrame::new(ROWS, columns)?;
    let points = (0..ROWS)
        .map(|row| Some((104.0 + row as f64 * 0.001, 36.0 + (row % 9) as f64 * 0.002)))
        .collect();
    Ok((frame, Geometries::Points(points)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let layers: usize = args.next().map_or(Ok(5_000), |n| n.parse())?;
    let dir = args.next().map_or_else(std::env::temp_dir, Into::into);
    let dir = dir.join(format!("riskcensus-layer-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (frame, geometries) = layer()?;
    let path = dir.join("layer.parquet");
    let start = Instant::now();
    for _ in 0..layers {
        write_geoparquet(&path, &frame, geometries.clone())?;
    }
    let elapsed = start.elapsed();
    let bytes = std::fs::metadata(&path)?.len();
    std::fs::remove_dir_all(&dir)?;
    println!(
        "{layers} layers of {ROWS} rows × {} columns, {bytes} bytes each: {:.1} µs per layer",
        frame.width(),
        elapsed.as_secs_f64() * 1e6 / layers as f64
    );
    Ok(())
}

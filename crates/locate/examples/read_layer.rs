//! Time reading polygon layers: `cargo run --release -p riskcensus-locate --example read_layer --
//! FILE…` prints, per file, the features read, wall seconds and peak RSS growth. Used by
//! BENCHMARKS.md (*Reading 600,000 village polygons*) to compare GeoJSON, Shapefile, GeoPackage and
//! GeoParquet holding the same villages.

use std::path::Path;
use std::time::Instant;

use riskcensus_locate::layers::{read_polygons, LayerSpec};

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: read_layer FILE…");
        std::process::exit(2);
    }
    println!("| file | features | seconds | peak RSS (MiB) |");
    println!("|---|---:|---:|---:|");
    for file in &files {
        let path = Path::new(file);
        let spec = LayerSpec {
            path,
            shown: file,
            crs: None,
            layer: None,
            code_field: "code",
            name_field: "name",
        };
        let start = Instant::now();
        match read_polygons(&spec) {
            Ok(features) => println!(
                "| {file} | {} | {:.2} | {} |",
                features.len(),
                start.elapsed().as_secs_f64(),
                peak_rss_mib()
            ),
            Err(e) => {
                eprintln!("{file}: {e}");
                std::process::exit(3);
            }
        }
    }
}

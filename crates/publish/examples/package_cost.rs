//! What a county package costs to write, table by table ([`write_package`]) against a copy of a
//! template with the same tables ([`write_from_template`]): `PACKAGES` packages of 35 point
//! layers (29 attribute columns, `ROWS` rows each, styled), the shape of a county package of a
//! national run, written one after the other on one thread, the two ways alternating.
//!
//! ```text
//! cargo build --release --workspace --example package_cost
//! target/release/examples/package_cost [PACKAGES] [ROWS] [DIR]     # default 200 60 $TMPDIR
//! ```
//!
//! Prints milliseconds per package for each way (the median of five rounds).

use std::time::Instant;

use geo_types::{Geometry, Point};
use riskcensus_gpkg::writer::{Column, Kind, Value};
use riskcensus_publish::package::{
    write_from_template, write_package, LayerData, PackageLayer, Source, Templates,
};

/// The allocator of the `riskcensus` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LAYERS: usize = 35;

/// One layer's columns and rows: 14 text, 7 integer, 5 real and 3 boolean columns.
fn layer(rows: usize, seed: usize) -> LayerData {
    let mut columns = Vec::new();
    columns.extend((0..14).map(|c| Column::new(&format!("text_{c}"), Kind::Text)));
    columns.extend((0..7).map(|c| Column::new(&format!("whole_{c}"), Kind::Integer)));
    columns.extend((0..5).map(|c| Column::new(&format!("real_{c}"), Kind::Real)));
    columns.extend((0..3).map(|c| Column::new(&format!("flag_{c}"), Kind::Boolean)));
    let rows = (0..rows)
        .map(|row| {
            let values = (columns.iter().enumerate())
                .map(|(c, column)| match column.kind {
                    Kind::Text => Value::Text(format!("单位{seed}-{c}-{row}")),
                    Kind::Integer | Kind::Boolean => Value::Integer((row * c % 2) as i64),
                    _ => Value::Real(row as f64 * 0.25 + c as f64),
                })
                .collect();
            let at = Point::new(104.0 + row as f64 * 0.001, 36.0 + (seed % 9) as f64 * 0.01);
            (Some(Geometry::Point(at)), values)
        })
        .collect();
    LayerData {
        geometry_type: "POINT".into(),
        columns,
        rows,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let packages: usize = args.next().map_or(Ok(200), |n| n.parse())?;
    let rows: usize = args.next().map_or(Ok(60), |n| n.parse())?;
    let dir = args.next().map_or_else(std::env::temp_dir, Into::into);
    let dir = dir.join(format!("riskcensus-package-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let data: Vec<LayerData> = (0..LAYERS).map(|l| layer(rows, l)).collect();
    let names: Vec<String> = (0..LAYERS).map(|l| format!("HB-L-{l:02}")).collect();
    let style = "<qgis version=\"3.22\"><renderer-v2 type=\"singleSymbol\"/></qgis>".repeat(40);
    let layers: Vec<PackageLayer<'_>> = (data.iter().zip(&names))
        .map(|(data, name)| PackageLayer {
            source: Source::Read(data),
            table: name,
            description: name,
            qml: Some(&style),
            county_code: None,
            within: None,
        })
        .collect();
    let last_change = "2020-12-31T00:00:00.000Z";
    let templates = Templates::new(last_change);
    let (mut direct, mut copied) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let start = Instant::now();
        for p in 0..packages {
            write_package(
                &dir.join(format!("d{round}-{p}.gpkg")),
                &layers,
                last_change,
            )?;
        }
        direct.push(start.elapsed().as_secs_f64() * 1e3 / packages as f64);
        let start = Instant::now();
        for p in 0..packages {
            write_from_template(&dir.join(format!("t{round}-{p}.gpkg")), &layers, &templates)?;
        }
        copied.push(start.elapsed().as_secs_f64() * 1e3 / packages as f64);
    }
    let size = std::fs::metadata(dir.join("t0-0.gpkg"))?.len();
    std::fs::remove_dir_all(&dir)?;
    println!(
        "{packages} packages of {LAYERS} layers × {rows} rows, {size} bytes each: \
         table by table {:.2} ms, from a template {:.2} ms per package",
        median(direct),
        median(copied)
    );
    Ok(())
}

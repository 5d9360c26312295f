# riskcensus tasks. `just` is optional: every recipe is one script you can run directly.

# Run the Baiyin sample pipeline (the README's main command).
run:
    cargo run -- run pipelines/baiyin-2021.toml

# The test command (README): Rust tests + third-party reader tests.
test:
    scripts/test.sh

# What CI runs: fmt, clippy, tests.
ci:
    bash .ci/run

# Benchmarks: riskcensus vs the pandas+geopandas peer and the DuckDB floor on synthetic censuses
# (default 100000 1000000 5400000 rows; `--runs N`), tables for BENCHMARKS.md.
bench *ARGS:
    scripts/bench.sh {{ARGS}}

# What one small per-county layer costs to write (µs per layer): `just bench-layer [LAYERS] [DIR]`.
bench-layer *ARGS:
    cargo build --release --workspace --example layer_cost
    target/release/examples/layer_cost {{ARGS}}

# What one county package costs, table by table against from a template (ms per package):
# `just bench-package [PACKAGES] [ROWS] [DIR]`.
bench-package *ARGS:
    cargo build --release --workspace --example package_cost
    target/release/examples/package_cost {{ARGS}}

# A synthetic census at national scale (5.4 M rows, 600 k villages) under target/national.
synth-national:
    cargo run --release -- synth --villages 600000 --rows 5400000 --seed 1 --out target/national

# Regenerate sample_data/ (village polygons, returns, expected findings) deterministically.
sample-data:
    cargo run -p riskcensus-samplegen -- sample_data

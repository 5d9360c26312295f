# riskcensus tasks. `just` is optional: every recipe is one script you can run directly.

# Run the Baiyin sample pipeline (the README's main command).
run:
    cargo run --release -- run pipelines/baiyin-2021.toml

# The test command (README): Rust tests + third-party reader tests.
test:
    scripts/test.sh

# What CI runs: fmt, clippy, tests.
ci:
    bash .ci/run

# Benchmarks: sample + synthetic scale-ups (row counts optional), table for BENCHMARKS.md.
bench *ROWS:
    scripts/bench.sh {{ROWS}}

# Regenerate sample_data/ (village polygons, returns, expected findings) deterministically.
sample-data:
    cargo run -p riskcensus-samplegen -- sample_data

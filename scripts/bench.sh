#!/usr/bin/env bash
# Benchmarks: builds the release binaries, generates synthetic censuses under target/bench
# (riskcensus synth), runs riskcensus, the pandas+geopandas peer and the DuckDB floor, and prints
# the BENCHMARKS.md tables. Arguments: row counts (default 100000 1000000 5400000), --runs N.
set -euo pipefail
# The peer and the floor run in the readers environment (pandas, geopandas, DuckDB + spatial).
cd "$(dirname "$0")/.."
scripts/pyenv.sh
cargo build --release --locked --bins --workspace
python3 scripts/bench.py "$@"

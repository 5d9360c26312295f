#!/usr/bin/env bash
# Benchmarks: builds the release binaries, generates the synthetic scale-ups under target/bench
# and prints the BENCHMARKS.md table. Arguments: row counts (default 100000 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bins --workspace
python3 scripts/bench.py "$@"

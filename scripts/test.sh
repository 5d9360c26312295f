#!/usr/bin/env bash
# The test command (README): Rust unit, doc and CLI tests, then the third-party reader tests
# (geopandas, DuckDB spatial, the GeoParquet 1.1.0 JSON schema, PROJ via pyproj) on the outputs.
# Works on a fresh machine with the Rust toolchain, gcc and python3: it installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins --locked
cargo test --workspace --locked
scripts/pyenv.sh
RISKCENSUS_BIN="$PWD/target/debug/riskcensus" target/pyenv/bin/python -m pytest tests/readers -q

#!/usr/bin/env bash
# The test command (README): Rust unit, doc and CLI tests, then the third-party reader tests
# (geopandas, DuckDB spatial, the GeoParquet 1.1.0 JSON schema, PROJ via pyproj) on the outputs.
# Works on a fresh machine with the Rust toolchain, gcc and python3: it installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins --locked
cargo test --workspace --locked
scripts/pyenv.sh
# Headless Chromium for the HTML report test: Debian's package, when we may install it.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the HTML report test ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
RISKCENSUS_BIN="$PWD/target/debug/riskcensus" target/pyenv/bin/python -m pytest tests/readers -q

#!/usr/bin/env bash
# The test command (README): Rust unit, doc and CLI tests, then the third-party reader tests
# (geopandas, DuckDB spatial, the GeoParquet 1.1.0 JSON schema, PROJ via pyproj) on the outputs.
# Works on a fresh machine with the Rust toolchain, gcc and python3: it installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins --locked
cargo test --workspace --locked
scripts/pyenv.sh
# Debian's programs for the tests that use the real thing, when we may install them: headless
# Chromium with its WebDriver (the HTML report; `riskcensus serve` driven as a technician would),
# QGIS with PyQGIS and GDAL (county GeoPackages and projects).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || missing+=(python3-qgis qgis-providers)
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
# A CJK font, so that the maps QGIS renders show the Chinese labels (as GIS staff's desktops do).
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's ${missing[*]} for the browser and QGIS tests ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1; then
  export RISKCENSUS_REQUIRE_QGIS=1
fi
RISKCENSUS_BIN="$PWD/target/debug/riskcensus" target/pyenv/bin/python -m pytest tests/readers -q -rs
if [ -f target/test-artifacts/qgis/report.txt ]; then
  echo "--- real QGIS (maps in target/test-artifacts/qgis/) ---"
  cat target/test-artifacts/qgis/report.txt
fi

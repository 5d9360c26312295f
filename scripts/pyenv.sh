#!/usr/bin/env bash
# Creates target/pyenv with the third-party readers the tests use (tests/readers/requirements.txt).
# Reuses it while the requirements are unchanged. Needs only python3 with venv and the PyPI index.
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=target/pyenv
stamp="$env_dir/.requirements.sha256"
want=$(sha256sum tests/readers/requirements.txt | cut -d' ' -f1)
if [ -x "$env_dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setting up $env_dir (geopandas, DuckDB + spatial, jsonschema, pytest) ..." >&2
rm -rf "$env_dir"
python3 -m venv "$env_dir"
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/readers/requirements.txt
echo "$want" > "$stamp"

#!/usr/bin/env python3
"""The floor: DuckDB + spatial converting the same synthetic census from CSV to GeoParquet with
no checks at all — what the conversion alone costs on this machine.

For every class: `read_csv` over the class's files (as text: planted defects make the types
sniffed differ between files), a point geometry from the class's longitude/latitude columns
(`ST_Point` of `TRY_CAST … AS DOUBLE`), `COPY … TO '<CLASS>.parquet'` (zstd; DuckDB's
spatial extension writes the GeoParquet `geo` metadata).

Usage: duckdb_floor.py CENSUS_DIR OUT_DIR      (CENSUS_DIR holds pipeline.toml from `riskcensus synth`)
"""
import json
import sys
import time
import tomllib
from pathlib import Path

import duckdb


def label(field):
    return f"{field['zh']}（{field['unit']}）" if field.get("unit") else field["zh"]


def main():
    census, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pipeline = tomllib.loads((census / "pipeline.toml").read_text(encoding="utf-8"))
    schema_dir = census / pipeline["schemas"]
    common = tomllib.loads((schema_dir / "common.toml").read_text(encoding="utf-8"))
    con = duckdb.connect()
    ext = next(Path(duckdb.__file__).parents[1].glob("duckdb_ext/extensions/*/*/spatial.duckdb_extension"))
    con.execute(f"LOAD '{ext}'")
    by_class = {}
    for r in pipeline["returns"]:
        by_class.setdefault(r["class"], []).append(str(census / r["path"]))
    rows = 0
    for code, paths in sorted(by_class.items()):
        schema = tomllib.loads((schema_dir / "classes" / f"{code}.toml").read_text(encoding="utf-8"))
        fields = (common.get("field", []) if schema.get("common_header", True) else []) + schema.get("field", [])
        lon = next((label(f) for f in fields if f["type"] == "longitude"), None)
        lat = next((label(f) for f in fields if f["type"] == "latitude"), None)
        # Text as written (the census's defects make type sniffing disagree between files); the
        # point from the two coordinate columns where they parse.
        source = f"read_csv({paths!r}, header = true, all_varchar = true)"
        geometry = (f', ST_Point(TRY_CAST("{lon}" AS DOUBLE), TRY_CAST("{lat}" AS DOUBLE)) AS geometry'
                    if lon and lat else "")
        target = out / f"{code}.parquet"
        con.execute(f"COPY (SELECT *{geometry} FROM {source}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        rows += con.execute(f"SELECT count(*) FROM '{target}'").fetchone()[0]
    print(json.dumps({"rows": rows, "seconds": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()

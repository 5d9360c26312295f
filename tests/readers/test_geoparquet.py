"""The published GeoParquet files, read by independent readers: pyarrow, geopandas, DuckDB's
spatial extension, the official GeoParquet 1.1.0 JSON schema, and PROJ (through pyproj)."""
import csv
import json
from pathlib import Path

import duckdb
import geopandas as gpd
import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import pytest
import referencing
import referencing.jsonschema
import shapely
from conftest import REPO, run_riskcensus

SCHEMA = json.loads((REPO / "sample_data/reference/geoparquet-1.1.0-schema.json").read_text())
PLAIN = (pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.binary(), pa.date32())


def geo_metadata(path):
    return json.loads(pq.read_metadata(path).metadata[b"geo"])


def manifest(database):
    return json.loads((database / "manifest.json").read_text())


def test_geo_metadata_validates_against_the_official_schema(parquet_files):
    # The schema's `crs` refers to the remote PROJJSON schema; nothing is fetched: the CRS is
    # checked by PROJ itself below.
    projjson = "https://proj.org/schemas/v0.7/projjson.schema.json"
    registry = referencing.Registry().with_resource(
        projjson, referencing.Resource.from_contents({}, default_specification=referencing.jsonschema.DRAFT7)
    )
    validator = jsonschema.Draft7Validator(SCHEMA, registry=registry)
    for path in parquet_files:
        meta = geo_metadata(path)
        errors = sorted(validator.iter_errors(meta), key=str)
        assert not errors, f"{path}: {errors[0].message}"
        column = meta["columns"]["geometry"]
        assert meta["version"] == "1.1.0"
        assert column["encoding"] == "WKB"
        assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
        assert pyproj.CRS.from_json_dict(column["crs"]).to_epsg() == 4490, path


def test_only_plain_arrow_types_and_no_extension_tag(parquet_files):
    for path in parquet_files:
        schema = pq.read_schema(path)
        for field in schema:
            if field.name == "bbox":
                assert pa.types.is_struct(field.type)
                assert all(child.type == pa.float64() for child in field.type)
            else:
                assert field.type in PLAIN, f"{path}: {field.name} is {field.type}"
        assert not (schema.field("geometry").metadata or {}), f"{path}: geometry carries field metadata"
        assert b"geoarrow" not in (schema.metadata or {}).get(b"ARROW:schema", b"")


def expected_compression(meta):
    """riskcensus_publish::Packing: files under 1,024 rows uncompressed; files whose row groups
    (a county each) hold under 1,024 rows on average Snappy; others zstd."""
    if meta.num_rows < 1_024:
        return "UNCOMPRESSED"
    return "SNAPPY" if meta.num_rows / meta.num_row_groups < 1_024 else "ZSTD"


def test_compression_and_row_groups(parquet_files):
    for path in parquet_files:
        meta = pq.read_metadata(path)
        want = expected_compression(meta)
        for rg in range(meta.num_row_groups):
            assert meta.row_group(rg).num_rows <= 65_536
            assert meta.row_group(rg).column(0).compression == want


def test_snappy_and_zstd_layers_of_a_larger_census_read_everywhere(tmp_path):
    """A synthetic census large enough for every packing: per-class layers of many small county
    row groups (Snappy) and of few large ones (zstd). pyarrow, DuckDB and geopandas read every
    row the manifest counts."""
    census = tmp_path / "census"
    made = run_riskcensus("synth", "--villages", 3000, "--rows", 60000, "--out", census)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "db"
    result = run_riskcensus("run", census / "pipeline.toml", "--out", out, "--gpkg", "none")
    assert result.returncode in (0, 1), result.stderr
    rows = {o["path"]: o["rows"] for o in manifest(out)["outputs"] if o["path"].endswith(".parquet")}
    seen = set()
    con = duckdb_spatial()
    for name, count in rows.items():
        path = out / name
        meta = pq.read_metadata(path)
        compression = meta.row_group(0).column(0).compression if meta.num_row_groups else None
        assert compression in (None, expected_compression(meta)), name
        seen.add(compression)
        assert pq.read_table(path).num_rows == count, name
        assert con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0] == count, name
        assert len(gpd.read_parquet(path)) == count, name
    assert {"SNAPPY", "ZSTD"} <= seen, seen


def test_geopandas_reads_every_file_with_the_declared_crs_types_and_rows(database, parquet_files):
    rows = {o["path"]: o["rows"] for o in manifest(database)["outputs"]}
    for path in parquet_files:
        frame = gpd.read_parquet(path)
        rel = path.relative_to(database).as_posix()
        assert frame.crs == pyproj.CRS.from_epsg(4490), rel
        assert len(frame) == rows[rel], rel
        declared = set(geo_metadata(path)["columns"]["geometry"]["geometry_types"])
        assert set(frame.geometry.dropna().geom_type) == declared, rel
        present = frame.geometry.dropna()
        # File bbox and covering bbox agree with the geometries.
        if len(present):
            xmin, ymin, xmax, ymax = present.total_bounds
            assert geo_metadata(path)["columns"]["geometry"]["bbox"] == pytest.approx([xmin, ymin, xmax, ymax]), rel
            bbox = pq.read_table(path, columns=["bbox"]).column("bbox").to_pylist()
            for geom, box in zip(frame.geometry, bbox):
                if geom is not None:
                    assert [box["xmin"], box["ymin"], box["xmax"], box["ymax"]] == pytest.approx(list(geom.bounds)), rel


def test_polygons_are_valid_and_counter_clockwise(database):
    for path in [database / "villages.parquet", database / "townships.parquet", database / "counties.parquet"]:
        frame = gpd.read_parquet(path)
        assert frame.geometry.is_valid.all(), path
        for multi in frame.geometry:
            for poly in multi.geoms:
                assert poly.exterior.is_ccw, path
                assert all(not ring.is_ccw for ring in poly.interiors), path


def test_villages_cover_the_register(database):
    villages = gpd.read_parquet(database / "villages.parquet")
    assert len(villages) == 860
    assert villages["code"].is_unique
    register = list(csv.DictReader((REPO / "sample_data/register/baiyin_divisions.csv").open(encoding="utf-8")))
    assert set(villages["code"]) == {r["code12"] for r in register if r["level"] == "village"}


def pd_concat(frames):
    import pandas as pd

    return pd.concat(list(frames), ignore_index=True)


def duckdb_spatial():
    con = duckdb.connect()
    ext = next(Path(duckdb.__file__).parents[1].glob("duckdb_ext/extensions/*/*/spatial.duckdb_extension"))
    con.execute(f"LOAD '{ext}'")
    return con


def test_duckdb_spatial_reads_every_file(database, parquet_files):
    con = duckdb_spatial()
    rows = {o["path"]: o["rows"] for o in manifest(database)["outputs"]}
    for path in parquet_files:
        rel = path.relative_to(database).as_posix()
        count, types = con.execute(
            "SELECT count(*), list(DISTINCT ST_GeometryType(geometry)) FILTER (WHERE geometry IS NOT NULL) "
            f"FROM read_parquet('{path}')"
        ).fetchone()
        assert count == rows[rel], rel
        declared = geo_metadata(path)["columns"]["geometry"]["geometry_types"]
        assert sorted(t.upper() for t in types or []) == sorted(t.upper() for t in declared), rel


def test_duckdb_reads_one_layer_per_class(database):
    con = duckdb_spatial()
    total, counties = con.execute(
        f"SELECT count(*), count(DISTINCT county_code) FROM read_parquet('{database}/facilities/HB-PSF-01.parquet')"
    ).fetchone()
    schools = sum(i["accepted"] for i in manifest(database)["inputs"] if i["class"] == "HB-PSF-01")
    assert total == schools
    assert counties == 5
    # Village totals agree with the facility layer they were aggregated from.
    students_by_village, = con.execute(
        f"SELECT sum(hb_psf_01_students) FROM read_parquet('{database}/villages.parquet')"
    ).fetchone()
    students, = con.execute(f"SELECT sum(students) FROM read_parquet('{database}/facilities/HB-PSF-01.parquet')").fetchone()
    assert students_by_village == students


def row_groups_by_county(path):
    """Row groups of a layer per county, from pyarrow's reading of the `county_code` statistics."""
    meta = pq.ParquetFile(path).metadata
    at = meta.schema.names.index("county_code")
    groups = {}
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(at).statistics
        assert stats is not None and stats.has_min_max, (path, i)
        assert stats.min == stats.max, f"{path}: row group {i} holds counties {stats.min}..{stats.max}"
        groups.setdefault(stats.min, []).append(i)
    return groups


@pytest.mark.parametrize("layer", ["facilities/HB-PSF-01.parquet", "facilities/DR-GRS-02.parquet", "villages.parquet", "townships.parquet"])
def test_a_county_filter_reads_only_the_county_row_groups(database, layer):
    """Each layer lists counties in code order, each in its own row groups (≤ 65,536 rows), so that
    `WHERE county_code = …` prunes every other county's row groups by their statistics."""
    path = database / layer
    groups = row_groups_by_county(path)
    meta = pq.ParquetFile(path).metadata
    assert len(groups) >= 2, groups
    assert list(groups) == sorted(groups), "counties not in code order"
    assert all(meta.row_group(i).num_rows <= 65_536 for i in range(meta.num_row_groups))
    con = duckdb_spatial()
    for county, own in groups.items():
        # DuckDB's answer, and pyarrow's reading of only the county's row groups, agree.
        count, = con.execute(f"SELECT count(*) FROM read_parquet('{path}') WHERE county_code = ?", [county]).fetchone()
        table = pq.ParquetFile(path).read_row_groups(own)
        assert table.num_rows == count, (layer, county)
        assert set(table.column("county_code").to_pylist()) == {county}
        # DuckDB's plan pushes the filter into the Parquet scan (where the statistics prune).
        plan = "\n".join(r[1] for r in con.execute(f"EXPLAIN SELECT * FROM read_parquet('{path}') WHERE county_code = '{county}'").fetchall())
        assert "county_code" in plan and "Filters" in plan, plan


def test_points_lie_in_their_located_village(database):
    con = duckdb_spatial()
    outside, = con.execute(f"""
        SELECT count(*) FROM read_parquet('{database}/facilities/HB-PSF-01.parquet') f
        JOIN read_parquet('{database}/villages.parquet') v ON v.code = f.located_village_code
        WHERE NOT ST_Intersects(v.geometry, f.geometry)
    """).fetchone()
    assert outside == 0


def test_gauss_kruger_input_is_reprojected_as_proj_does(tmp_path):
    """A return in CGCS2000 3° GK CM 105°E (EPSG:4544), projected here by PROJ, comes back in
    EPSG:4490 within 1e-8° (≈ 1 mm) of the original points."""
    src = REPO / "sample_data/returns/HB-PSF-01_学校.csv"
    rows = list(csv.reader(src.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    ilon, ilat = header.index("经度"), header.index("纬度")
    to_gk = pyproj.Transformer.from_crs(4490, 4544, always_xy=True)
    originals = {}
    for row in body:
        try:
            lon, lat = float(row[ilon]), float(row[ilat])
        except ValueError:
            continue
        if 100 < lon < 110 and 30 < lat < 40:
            originals[row[0]] = (lon, lat)
            x, y = to_gk.transform(lon, lat)
            row[ilon], row[ilat] = f"{x:.4f}", f"{y:.4f}"
    gk = tmp_path / "schools_gk.csv"
    with gk.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *body])
    pipeline = (REPO / "pipelines/baiyin-2021.toml").read_text(encoding="utf-8")
    pipeline = pipeline.replace('"../', f'"{REPO}/').replace(str(src), str(gk))
    pipeline = pipeline.replace(f'path = "{gk}"', f'path = "{gk}"\ncrs = "EPSG:4544"')
    (tmp_path / "p.toml").write_text(pipeline, encoding="utf-8")
    result = run_riskcensus("run", tmp_path / "p.toml", "--out", tmp_path / "db")
    assert result.returncode == 1, result.stderr
    schools = gpd.read_parquet(tmp_path / "db" / "facilities/HB-PSF-01.parquet")
    assert len(schools) > 100
    for name, lon, lat in zip(schools["name"], schools["lon"], schools["lat"]):
        if name in originals:
            assert (lon, lat) == pytest.approx(originals[name], abs=1e-8), name
    # Same findings as the EPSG:4490 original: reprojection moved no point across a border.
    def keys(path):
        return {(r["row"], r["rule"]) for r in csv.DictReader(path.open(encoding="utf-8-sig")) if "学校" in r["file"] or "gk" in r["file"]}
    expected = {
        (r["row"], r["rule"]) for r in csv.DictReader((REPO / "sample_data/expected_findings.csv").open(encoding="utf-8")) if "学校" in r["file"]
    }
    # Except the swapped point, left in degrees: in a projected file it is simply outside China.
    swapped = next(k for k in expected if k[1] == "geo.swapped")
    expected = expected - {swapped} | {(swapped[0], "geo.outside_china")}
    assert keys(tmp_path / "db/findings.csv") == expected


def test_findings_csv_opens_as_utf8_with_bom(database):
    raw = (database / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert {"file", "row", "column", "value", "rule", "severity", "message_zh", "message_en"} <= set(rows[0])
    layer = gpd.read_parquet(database / "findings.parquet")
    assert len(layer) == len(rows)
    located = layer.geometry.notna().sum()
    assert 0 < located < len(layer)  # mappable where the point is known

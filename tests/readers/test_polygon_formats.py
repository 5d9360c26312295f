"""Boundaries as GIS staff hold them (issue 25): the sample's villages and counties converted by
geopandas/pyogrio/pyarrow — not by riskcensus — to GeoJSON, ESRI Shapefile, GeoPackage and
GeoParquet, each in EPSG:4490 and in the CGCS2000 Gauss-Krüger zone EPSG:4544, the counties with
the field names offices use (XZQDM, XZQMC). Every one gives the reference run's villages,
counties, rows and findings. Files that contradict the pipeline, or are not what they claim, are
an exit 2 that names the file."""
import collections

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from conftest import REPO, run_riskcensus

VILLAGES = REPO / "sample_data/geometry/baiyin_villages.geojson"
COUNTIES = REPO / "sample_data/geometry/baiyin_counties.geojson"
GEOMETRY_SECTION = """[geometry]
villages = "../sample_data/geometry/baiyin_villages.geojson"
counties = "../sample_data/geometry/baiyin_counties.geojson"
crs = "EPSG:4490"
"""


def pipeline_with(tmp_path, geometry, name="p"):
    text = (REPO / "pipelines/baiyin-2021.toml").read_text(encoding="utf-8")
    assert GEOMETRY_SECTION in text
    text = text.replace(GEOMETRY_SECTION, geometry).replace('"../', f'"{REPO}/')
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(tmp_path, geometry, name):
    out = tmp_path / f"db-{name}"
    result = run_riskcensus("run", pipeline_with(tmp_path, geometry, name), "--out", out)
    assert result.returncode == 1, result.stderr  # the sample's planted defects
    return out


def findings(db):
    table = pd.read_csv(db / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return collections.Counter(
        (r.file.rsplit("/", 1)[-1], r.row, r.rule, r.column) for r in table.itertuples()
    )


def villages_of(db):
    return gpd.read_parquet(db / "villages.parquet").sort_values("code").reset_index(drop=True)


def counties_of(db):
    return gpd.read_parquet(db / "counties.parquet").sort_values("county_code").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return run(tmp_path_factory.mktemp("ref"), GEOMETRY_SECTION.replace('"../', f'"{REPO}/'), "ref")


def write(frame, path, fmt, layer):
    if fmt == "parquet":
        frame.to_parquet(path)
    elif fmt == "gpkg":
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
        # A second layer, as GIS packages hold several: the pipeline names the one to read.
        frame.head(3).to_file(path, layer=f"{layer}_draft", driver="GPKG", engine="pyogrio")
    elif fmt == "shp":
        frame.to_file(path, encoding="GB18030", engine="pyogrio")
        path.with_suffix(".cpg").unlink(missing_ok=True)
    else:
        frame.to_file(path, driver="GeoJSON", engine="pyogrio")


@pytest.mark.parametrize("fmt", ["geojson", "shp", "gpkg", "parquet"])
@pytest.mark.parametrize("epsg", [4490, 4544])
def test_every_format_and_crs_gives_the_reference_database(reference, tmp_path, fmt, epsg):
    villages = gpd.read_file(VILLAGES)[["code", "name", "geometry"]].set_crs(4490, allow_override=True)
    counties = gpd.read_file(COUNTIES).set_crs(4490, allow_override=True)
    counties = counties[counties["level"] == "county"][["adcode", "name", "geometry"]]
    counties = counties.rename(columns={"adcode": "XZQDM", "name": "XZQMC"})
    counties["XZQDM"] = counties["XZQDM"].astype(int)  # offices often store the code as a number
    v_path, c_path = tmp_path / f"villages.{fmt}", tmp_path / f"counties_xzq.{fmt}"
    write(villages.to_crs(epsg), v_path, fmt, "cun")
    write(counties.to_crs(epsg), c_path, fmt, "xian")
    layer = lambda name: f'layer = "{name}"\n' if fmt == "gpkg" else ""
    geometry = (
        f'[geometry.villages]\npath = "{v_path}"\ncrs = "EPSG:{epsg}"\n{layer("cun")}'
        f'[geometry.counties]\npath = "{c_path}"\ncrs = "EPSG:{epsg}"\n{layer("xian")}'
        'code_field = "XZQDM"\nname_field = "XZQMC"\n'
    )
    other = run(tmp_path, geometry, f"{fmt}-{epsg}")
    a, b = villages_of(reference), villages_of(other)
    assert list(a["code"]) == list(b["code"]) and len(a) == 860
    assert list(a["name"]) == list(b["name"])
    distances = [shapely.hausdorff_distance(x, y) for x, y in zip(a.geometry, b.geometry)]
    assert max(distances) < 1e-6, max(distances)
    ca, cb = counties_of(reference), counties_of(other)
    assert list(ca["county_code"]) == list(cb["county_code"]) and len(ca) == 5
    assert list(ca["name"]) == list(cb["name"])
    assert findings(reference) == findings(other)


def test_the_file_crs_is_used_where_the_pipeline_declares_none(reference, tmp_path):
    gk = tmp_path / "villages.gpkg"
    gpd.read_file(VILLAGES)[["code", "name", "geometry"]].set_crs(4490, allow_override=True).to_crs(4544).to_file(gk, driver="GPKG", engine="pyogrio")
    geometry = f'[geometry]\nvillages = "{gk}"\ncounties = "{COUNTIES}"\n'
    assert findings(run(tmp_path, geometry, "file-crs")) == findings(reference)


def test_files_that_contradict_the_pipeline_are_named(tmp_path):
    villages = gpd.read_file(VILLAGES)[["code", "name", "geometry"]].set_crs(4490, allow_override=True)
    cases = []
    # A Shapefile whose .prj says Gauss-Krüger, declared EPSG:4490.
    shp = tmp_path / "gk.shp"
    villages.to_crs(4544).to_file(shp, engine="pyogrio")
    cases.append((shp, "", ["gk.shp", "EPSG:4544", "EPSG:4490"]))
    # A GeoPackage without the named layer.
    gpkg = tmp_path / "two.gpkg"
    villages.to_file(gpkg, layer="a", driver="GPKG", engine="pyogrio")
    villages.head(2).to_file(gpkg, layer="b", driver="GPKG", engine="pyogrio")
    cases.append((gpkg, 'layer = "c"\n', ["two.gpkg", "no feature layer named “c”", "a, b"]))
    cases.append((gpkg, "", ["two.gpkg", "layers: a, b"]))
    # A Parquet file with WKB but no GeoParquet `geo` metadata.
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"code": villages["code"], "name": villages["name"], "geometry": shapely.to_wkb(villages.geometry)}), plain)
    cases.append((plain, "", ["plain.parquet", "`geo` metadata"]))
    # A format riskcensus does not read.
    kml = tmp_path / "villages.kml"
    kml.write_text("<kml/>", encoding="utf-8")
    cases.append((kml, "", ["villages.kml", "GeoPackage (.gpkg)", "GeoParquet (.parquet)"]))
    for path, extra, needles in cases:
        geometry = f'[geometry.villages]\npath = "{path}"\ncrs = "EPSG:4490"\n{extra}[geometry.counties]\npath = "{COUNTIES}"\n'
        result = run_riskcensus("validate", "--pipeline", pipeline_with(tmp_path, geometry))
        assert result.returncode == 2, (path, result.returncode, result.stderr)
        for needle in needles:
            assert needle in result.stderr, (needle, result.stderr)

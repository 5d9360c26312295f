"""The same villages as a Shapefile with a GBK .dbf (no .cpg) and as a CGCS2000 Gauss-Krüger
GeoJSON (EPSG:4544, projected by PROJ through geopandas) give the same database as the EPSG:4490
GeoJSON: same villages and attributes, geometry within 1e-7° (≈ 1 cm), same located villages."""
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import REPO, run_riskcensus

VILLAGES = REPO / "sample_data/geometry/baiyin_villages.geojson"


def run_with(tmp_path, villages, crs):
    text = (REPO / "pipelines/baiyin-2021.toml").read_text(encoding="utf-8").replace('"../', f'"{REPO}/')
    text = text.replace(f'villages = "{VILLAGES}"', f'villages = "{villages}"').replace('crs = "EPSG:4490"', f'crs = "{crs}"', 1)
    pipeline = tmp_path / f"p-{villages.suffix[1:]}-{crs[5:]}.toml"
    pipeline.write_text(text, encoding="utf-8")
    out = tmp_path / f"db-{villages.suffix[1:]}-{crs[5:]}"
    result = run_riskcensus("run", pipeline, "--out", out)
    assert result.returncode == 1, result.stderr
    return out


def villages_of(db):
    return gpd.read_parquet(db / "villages.parquet").sort_values("code").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return run_with(tmp_path_factory.mktemp("ref"), VILLAGES, "EPSG:4490")


def assert_same_database(reference, other):
    a, b = villages_of(reference), villages_of(other)
    assert list(a["code"]) == list(b["code"]) and len(a) == 860
    assert list(a["name"]) == list(b["name"])
    distances = [shapely.hausdorff_distance(x, y) for x, y in zip(a.geometry, b.geometry)]
    assert max(distances) < 1e-7, max(distances)
    for col in [c for c in a.columns if c.endswith("_count")]:
        assert list(a[col]) == list(b[col]), col
    fa = gpd.read_parquet(reference / "facilities/HB-PSF-01.parquet")
    fb = gpd.read_parquet(other / "facilities/HB-PSF-01.parquet")
    assert list(fa["located_village_code"]) == list(fb["located_village_code"])


def test_shapefile_with_gbk_dbf(reference, tmp_path):
    frame = gpd.read_file(VILLAGES)[["code", "name", "geometry"]]
    shp = tmp_path / "villages.shp"
    # GB18030 is GBK plus the few characters GBK lacks (one Baiyin village name has 䃎).
    frame.to_file(shp, encoding="GB18030")
    shp.with_suffix(".cpg").unlink(missing_ok=True)  # no .cpg: GBK/GB18030 is the default
    raw = shp.with_suffix(".dbf").read_bytes()
    name = frame["name"].iloc[0]
    assert name.encode("gbk") in raw and name.encode("utf-8") not in raw
    assert_same_database(reference, run_with(tmp_path, shp, "EPSG:4490"))


def test_gauss_kruger_geojson(reference, tmp_path):
    frame = gpd.read_file(VILLAGES)[["code", "name", "geometry"]].set_crs(4490, allow_override=True).to_crs(4544)
    gk = tmp_path / "villages_4544.geojson"
    frame.to_file(gk, driver="GeoJSON", COORDINATE_PRECISION=4)
    assert_same_database(reference, run_with(tmp_path, gk, "EPSG:4544"))

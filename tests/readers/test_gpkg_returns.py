"""A census-style GeoPackage export as a return (issue 26): the sample's 应急避难场所 rows written
by geopandas/pyogrio as the census software exports them — layer named after the census table,
fields under their census codes (dwmc, code, bnsrnrs …), the point as geometry in EPSG:4490 —
validate and publish with the same rows and findings as the same data as CSV."""
import collections

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import shapely
from conftest import REPO, run_riskcensus

SAMPLE = REPO / "sample_data/returns/DR-GOV-10_应急避难场所_BOM.csv"
CENSUS_CODES = {
    "单位名称": "dwmc", "统一社会信用代码": "jgbm", "代码类型": "dmlx", "行政区划代码": "code",
    "省": "dzsheng", "市": "dzshi", "县": "dzxian", "乡镇": "dzxiang", "村": "dzcun",
    "详细地址": "address", "避灾种类": "zdzz", "室内/室外类型": "snswlx",
    "应急避难场所占地总面积（m²）": "bnszdzmj", "应急避难场所室内面积（m²）": "yjbncssnmj",
    "避难所容纳人数（人）": "bnsrnrs", "日常维护或管理人员数量（人）": "rcwhhglrysl",
    "其中：专职维护或管理人员数（人）": "zzwhhglrys",
}


def run(tmp_path, name, path, extra=""):
    text = (REPO / "pipelines/baiyin-2021.toml").read_text(encoding="utf-8").replace('"../', f'"{REPO}/')
    head = text.split("[[returns]]")[0]
    pipeline = tmp_path / f"{name}.toml"
    pipeline.write_text(head + f'[[returns]]\nclass = "DR-GOV-10"\npath = "{path}"\n{extra}\n', encoding="utf-8")
    out = tmp_path / f"db-{name}"
    result = run_riskcensus("run", pipeline, "--out", out)
    assert result.returncode == 1, result.stderr  # the sample's planted defects
    return out


def findings(db, first_row):
    """(rule, data row index) of each finding; the row counted from the first data row."""
    table = pd.read_csv(db / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return collections.Counter(
        (r.rule, int(r.row) - first_row if r.row else None) for r in table.itertuples()
    )


def published(db):
    rows = pq.read_table(db / "facilities/DR-GOV-10.parquet").to_pandas()
    return sorted(zip(rows["name"], rows["capacity"].astype("Int64").astype(str), rows["located_village_code"]))


def test_a_census_geopackage_gives_the_same_rows_and_findings_as_the_csv(tmp_path):
    data = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    lon = pd.to_numeric(data["经度"], errors="coerce")
    lat = pd.to_numeric(data["纬度"], errors="coerce")
    assert lon.notna().all() and lat.notna().all(), "every sample row has a point"
    # The CSV side: the same rows with the coordinates written as the GeoPackage will hold them.
    csv = data.copy()
    csv["经度"], csv["纬度"] = lon.map(repr), lat.map(repr)
    csv_path = tmp_path / "shelters.csv"
    csv.to_csv(csv_path, index=False, encoding="utf-8")
    # The GeoPackage side: census field codes, empty cells as NULL, the point as geometry.
    attributes = data.drop(columns=["经度", "纬度"]).rename(columns=CENSUS_CODES).replace("", None)
    assert set(attributes.columns) == set(CENSUS_CODES.values())
    layer = gpd.GeoDataFrame(attributes, geometry=shapely.points(lon, lat), crs="EPSG:4490")
    gpkg_path = tmp_path / "普查导出.gpkg"
    layer.to_file(gpkg_path, layer="zhjzzy_zfzhjzzy_yjbncs", driver="GPKG", engine="pyogrio")
    # A second layer, as exports hold several tables: the census table name picks the right one.
    layer.head(2).to_file(gpkg_path, layer="zhjzzy_zfzhjzzy_ycbfg", driver="GPKG", engine="pyogrio")

    from_csv = run(tmp_path, "csv", csv_path)
    from_gpkg = run(tmp_path, "gpkg", gpkg_path)
    # CSV rows start on line 2; GeoPackage features at fid 1.
    assert findings(from_gpkg, 1) == findings(from_csv, 2)
    assert len(findings(from_csv, 2)) >= 7, "the planted defects are there to compare"
    assert published(from_gpkg) == published(from_csv)
    assert len(published(from_csv)) > 40

    manifest = pd.read_json(from_gpkg / "manifest.json", typ="series")
    (entry,) = manifest["inputs"]
    assert entry["encoding"] == "GeoPackage" and entry["rows_read"] == len(data)


def test_a_layer_is_named_or_the_error_lists_the_layers(tmp_path):
    points = gpd.GeoDataFrame({"dwmc": ["甲"]}, geometry=shapely.points([105.3], [36.4]), crs="EPSG:4490")
    path = tmp_path / "两层.gpkg"
    points.to_file(path, layer="a", driver="GPKG", engine="pyogrio")
    points.to_file(path, layer="b", driver="GPKG", engine="pyogrio")
    text = (REPO / "pipelines/baiyin-2021.toml").read_text(encoding="utf-8").replace('"../', f'"{REPO}/')
    head = text.split("[[returns]]")[0]
    for extra, needle in [("", "layers: a, b"), ('layer = "c"', "no feature layer named “c”")]:
        pipeline = tmp_path / "p.toml"
        pipeline.write_text(head + f'[[returns]]\nclass = "DR-GOV-10"\npath = "{path}"\n{extra}\n', encoding="utf-8")
        result = run_riskcensus("validate", "--pipeline", pipeline)
        assert result.returncode == 3 and needle in result.stderr, (result.returncode, result.stderr)
    projected = points.to_crs("EPSG:4544")
    path = tmp_path / "高斯.gpkg"
    projected.to_file(path, layer="zhjzzy_zfzhjzzy_yjbncs", driver="GPKG", engine="pyogrio")
    pipeline.write_text(head + f'[[returns]]\nclass = "DR-GOV-10"\npath = "{path}"\n', encoding="utf-8")
    result = run_riskcensus("validate", "--pipeline", pipeline)
    assert result.returncode == 3 and "EPSG:4544" in result.stderr, result.stderr


def test_community_outlines_are_checked_against_their_village(tmp_path):
    """社区 returns with their 面位置: each outline is compared whole with the village its code
    names; the one drawn over another village is the only finding of the kind."""
    rows = pd.read_csv(REPO / "sample_data/returns/DR-GRS-02_社区行政村_其他区县.csv", dtype=str, keep_default_na=False).head(40)
    villages = gpd.read_file(REPO / "sample_data/geometry/baiyin_villages.geojson").set_index("code")
    outlines = [villages.loc[c, "geometry"] for c in rows["行政区划代码"]]
    outlines[7] = villages.loc[rows["行政区划代码"][20], "geometry"]  # another village's outline
    outlines[9] = shapely.affinity.scale(outlines[9], 0.8, 0.8)  # smaller, still inside
    layer = gpd.GeoDataFrame(rows.replace("", None), geometry=outlines, crs="EPSG:4490")
    path = tmp_path / "社区.gpkg"
    layer.to_file(path, layer="zhjzzy_jczhjzzy_sqxzczhjzzynl", driver="GPKG", engine="pyogrio")
    text = (REPO / "pipelines/baiyin-2021.toml").read_text(encoding="utf-8").replace('"../', f'"{REPO}/')
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(text.split("[[returns]]")[0] + f'[[returns]]\nclass = "DR-GRS-02"\npath = "{path}"\n', encoding="utf-8")
    out = tmp_path / "db"
    result = run_riskcensus("run", pipeline, "--out", out)
    assert result.returncode in (0, 1), result.stderr
    found = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    outline = found[found["rule"] == "geo.outline_elsewhere"]
    assert list(outline["row"]) == ["8"], found[["row", "rule", "message_en"]].to_string()  # fid 8 = row index 7
    assert rows["行政区划代码"][20] in outline["message_en"].iloc[0]
    manifest = pd.read_json(out / "manifest.json", typ="series")
    (entry,) = manifest["inputs"]
    assert entry["rows_read"] == 40 and entry["accepted"] == 40

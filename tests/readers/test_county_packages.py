"""County GeoPackages (`counties/<code>_<name>.gpkg`) read with pyogrio (GDAL's GPKG driver, the
reader QGIS uses), plain sqlite3 and, where installed, GDAL's `ogrinfo`: one per county, each
layer holding exactly the rows of its GeoParquet layer, EPSG:4490, R-tree indexes, default
styles, and the header fields of OGC 12-128."""
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET

import geopandas as gpd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely


@pytest.fixture(scope="module")
def packages(database):
    files = sorted((database / "counties").glob("*.gpkg"))
    assert files, "no county GeoPackages"
    return files


def test_one_package_per_county_named_by_code_and_name(database, packages):
    counties = pq.read_table(database / "counties.parquet").to_pylist()
    expected = sorted(f"{c['county_code']}_{c['name']}.gpkg" for c in counties)
    assert [p.name for p in packages] == expected


def test_each_layer_holds_its_geoparquet_rows(database, packages):
    for package in packages:
        code = package.name.split("_")[0]
        layers = dict(pyogrio.list_layers(package))
        run_layers = [*sorted((database / "facilities").glob("*.parquet")), database / "villages.parquet", database / "townships.parquet"]
        for parquet in run_layers:
            # The county's rows of the run's layer, as pyarrow filters them.
            expected = pq.read_table(parquet, filters=[("county_code", "=", code)])
            if expected.num_rows == 0:
                assert parquet.stem not in layers, (package.name, parquet.stem)
                continue
            assert parquet.stem in layers, (package.name, parquet.stem)
            got = pyogrio.read_dataframe(package, layer=parquet.stem, read_geometry=False)
            assert len(got) == expected.num_rows, (package.name, parquet.stem)
            wanted = [c for c in expected.column_names if c not in ("geometry", "bbox")]
            assert list(got.columns) == wanted, (package.name, parquet.stem)
            # Values survive: the first text column, row by row.
            first = wanted[0]
            assert [None if v != v else v for v in got[first]] == expected.column(first).to_pylist()
        outline = pyogrio.read_dataframe(package, layer="county")
        assert list(outline["county_code"]) == [code]


def test_layers_are_cgcs2000_with_rtree_indexes_and_extents(packages):
    for package in packages:
        db = sqlite3.connect(package)
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10300
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        features = db.execute(
            "SELECT c.table_name, c.srs_id, c.min_x, c.max_y, g.geometry_type_name "
            "FROM gpkg_contents c JOIN gpkg_geometry_columns g USING (table_name) "
            "WHERE c.data_type = 'features'"
        ).fetchall()
        assert features
        for table, srs, min_x, max_y, _ in features:
            assert srs == 4490, (package.name, table)
            rows = db.execute(f'SELECT count(*) FROM "{table}" WHERE geom IS NOT NULL').fetchone()[0]
            indexed = db.execute(f'SELECT count(*) FROM "rtree_{table}_geom"').fetchone()[0]
            assert indexed == rows, (package.name, table)
            if rows:
                assert 103 < min_x < 106 and 35 < max_y < 38, (package.name, table, min_x, max_y)
        assert db.execute(
            "SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = 4490"
        ).fetchone() == ("EPSG", 4490)
        info = pyogrio.read_info(package, layer="villages")
        assert info["crs"] == "EPSG:4490"


def test_every_drawn_layer_has_a_default_style_and_no_table_layer_has_one(packages):
    for package in packages:
        db = sqlite3.connect(package)
        drawn = {t for (t,) in db.execute("SELECT table_name FROM gpkg_geometry_columns")}
        styles = db.execute("SELECT f_table_name, styleQML, useAsDefault FROM layer_styles").fetchall()
        assert {t for t, _, _ in styles} == drawn, package.name
        for table, qml, default in styles:
            assert default == 1
            renderer = ET.fromstring(qml).find("renderer-v2")
            assert renderer is not None, (package.name, table)
            attr = renderer.get("attr")
            if attr and not attr.startswith("'"):
                columns = {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}
                for field in re.findall(r'"([^"]+)"', attr) or [attr]:
                    assert field in columns, (package.name, table, attr)
        tables = {t for (t,) in db.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'attributes'")}
        assert "layer_styles" in tables


def test_findings_are_those_located_in_the_county(database, packages):
    findings = gpd.read_parquet(database / "findings.parquet")
    counties = gpd.read_parquet(database / "counties.parquet")
    for package in packages:
        code = package.name.split("_")[0]
        outline = counties.loc[counties["county_code"] == code, "geometry"].iloc[0]
        located = findings[findings.geometry.notna()]
        expected = located[located.geometry.intersects(outline)]
        got = pyogrio.read_dataframe(package, layer="findings")
        assert len(got) == len(expected), package.name
        assert sorted(zip(got["file"], got["row"], got["rule"])) == sorted(
            zip(expected["file"], expected["row"], expected["rule"])
        )
        assert all(shapely.intersects(got.geometry.values, outline))


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo not installed")
def test_ogrinfo_opens_every_layer_without_warnings(packages):
    for package in packages:
        result = subprocess.run(
            ["ogrinfo", "-ro", "-so", "-al", str(package)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert "Warning" not in result.stderr and "ERROR" not in result.stderr, result.stderr
        assert result.stdout.count("Layer name:") == len(pyogrio.list_layers(package))


def test_gpkg_all_adds_one_package_of_the_whole_run(tmp_path):
    from conftest import run_riskcensus

    out = tmp_path / "db"
    result = run_riskcensus("run", "pipelines/baiyin-2021.toml", "--gpkg", "all", "--out", out)
    assert result.returncode == 1, result.stderr
    package = out / "baiyin-2021.gpkg"
    layers = dict(pyogrio.list_layers(package))
    # Each class, villages and townships: the rows of the run's layer.
    by_class = {}
    for parquet in [*out.glob("facilities/*.parquet"), out / "villages.parquet", out / "townships.parquet"]:
        by_class[parquet.stem] = pq.read_metadata(parquet).num_rows
    for stem, rows in by_class.items():
        assert pyogrio.read_info(package, layer=stem)["features"] == rows, stem
    for name in ("counties", "findings"):
        assert pyogrio.read_info(package, layer=name)["features"] == pq.read_metadata(out / f"{name}.parquet").num_rows
    assert set(layers) == set(by_class) | {"counties", "findings", "layer_styles"}
    assert layers["DR-GRS-02"] == "Point" and layers["villages"] == "MultiPolygon"
    assert pyogrio.read_info(package, layer="villages")["crs"] == "EPSG:4490"
    project = ET.parse(out / "baiyin-2021_gpkg.qgs").getroot()
    sources = [l.get("source") for l in project.iter("layer-tree-layer")]
    assert sorted(s.split("layername=")[1] for s in sources) == sorted(set(layers) - {"layer_styles"})


def test_an_edit_in_gdal_keeps_the_r_tree_in_step(packages, tmp_path):
    # The writer fills its layers with triggers off; the six R-tree triggers are for programs
    # that edit the package later. GDAL (QGIS's reader and writer) appends a feature: the index
    # holds it.
    package = tmp_path / "edit.gpkg"
    shutil.copy(packages[0], package)
    layer = next(name for name, kind in pyogrio.list_layers(package) if kind == "Point")
    before = pyogrio.read_dataframe(package, layer=layer)
    added = before.head(1).copy()
    added["geometry"] = [shapely.Point(104.25, 36.75)]
    pyogrio.write_dataframe(added, package, layer=layer, append=True)
    db = sqlite3.connect(package)
    rows = db.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
    indexed = db.execute(f'SELECT count(*) FROM "rtree_{layer}_geom"').fetchone()[0]
    assert rows == indexed == len(before) + 1
    hits = db.execute(
        f'SELECT count(*) FROM "rtree_{layer}_geom" '
        "WHERE minx <= 104.25 AND maxx >= 104.25 AND miny <= 36.75 AND maxy >= 36.75"
    ).fetchone()[0]
    assert hits >= 1
    # A move and a delete in plain SQL through GDAL's own SQLite dialect keep it in step too.
    fid = db.execute(f'SELECT max(fid) FROM "{layer}"').fetchone()[0]
    db.close()
    subprocess_ok = shutil.which("ogrinfo") is not None
    if subprocess_ok:
        result = subprocess.run(
            ["ogrinfo", str(package), "-sql", f'DELETE FROM "{layer}" WHERE fid = {fid}'],
            capture_output=True, text=True,
        )
        assert result.returncode == 0, result.stderr
        db = sqlite3.connect(package)
        assert db.execute(f'SELECT count(*) FROM "rtree_{layer}_geom"').fetchone()[0] == len(before)

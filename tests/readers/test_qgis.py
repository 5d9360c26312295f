"""QGIS styles and project: well-formed XML, a .qml beside every layer, every styled field present
in its layer, every project layer's file present, CRS EPSG:4490, relative paths, four groups."""
import re
import xml.etree.ElementTree as ET

import pyarrow.parquet as pq


def test_every_layer_has_a_style_whose_fields_exist(database, parquet_files):
    for path in parquet_files:
        style = path.with_suffix(".qml")
        assert style.exists(), f"{style} missing"
        root = ET.parse(style).getroot()
        renderer = root.find("renderer-v2")
        if root.find("layerGeometryType").text == "4":  # a table (households): nothing to draw
            assert renderer is None, style
            assert pq.read_table(path, columns=["geometry"]).column(0).null_count == pq.read_metadata(path).num_rows
            continue
        assert renderer is not None, style
        fields = set(pq.read_schema(path).names)
        attr = renderer.get("attr")
        if attr and not attr.startswith("'"):
            # A field, or an expression over quoted fields (coalesce("capacity_level", 0)).
            used = re.findall(r'"([^"]+)"', attr) or [attr]
            for field in used:
                assert field in fields, (style, attr)
        if renderer.get("type") == "graduatedSymbol":
            labels = [r.get("label") for r in renderer.iter("range")]
            grades = ["低", "较低", "中", "较高", "高"] if path.name == "counties.parquet" else ["弱", "较弱", "中等", "较强", "强"]
            assert labels == ["无数据 no data", *grades], labels
            assert len(renderer.find("symbols")) == 6


def test_project_groups_layers_with_relative_paths_and_cgcs2000(database, parquet_files):
    projects = list(database.glob("*.qgs"))
    assert len(projects) == 1
    root = ET.parse(projects[0]).getroot()
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:4490"
    assert root.find("properties/Paths/Absolute").text == "false"
    groups = [g.get("name") for g in root.find("layer-tree-group").findall("layer-tree-group")]
    assert groups == ["质量问题", "承灾体", "减灾能力", "行政区"]
    sources = [l.get("source") for l in root.iter("layer-tree-layer")]
    assert len(sources) == len(parquet_files)
    for source in sources:
        assert source.startswith("./") and (database / source[2:]).exists(), source
    for layer in root.iter("maplayer"):
        assert layer.find("srs/spatialrefsys/authid").text == "EPSG:4490"
        assert (database / layer.find("datasource").text[2:]).exists()

"""Open a riskcensus database in a real QGIS, headless (run with the Python that has PyQGIS, e.g.
Debian's /usr/bin/python3 with python3-qgis):

    python3 tests/qgis/open_in_qgis.py OUT_DIR PNG_DIR

For every county GeoPackage: GDAL's GeoPackage validator (validate_gpkg.py, when installed), every
layer opened on its own (valid, EPSG:4490, its default style from `layer_styles` applied, every
renderer field present); its project read (CRS EPSG:4490, every layer-tree entry linked to a valid
layer, the map canvas on the county) and rendered to PNG_DIR/<county>.png, which must show the
grade colours. The run's GeoParquet project is read too: tree linked and CRS; its layers are only
required to be valid where this GDAL has the Parquet driver (Debian's has none).

Prints one line per file; exits non-zero with the reasons when anything fails.
"""
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsExpression,
    QgsFeatureRequest,
    QgsMapRendererParallelJob,
    QgsProject,
    QgsVectorLayer,
)
from qgis.gui import QgsMapCanvas  # noqa: E402
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

FAILURES = []
LABELLED = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
    return condition


def renderer_fields(layer):
    """The fields the renderer's class attribute (a field or an expression) refers to."""
    renderer = layer.renderer()
    attr = getattr(renderer, "classAttribute", lambda: "")()
    if not attr:
        return set()
    expression = QgsExpression(attr)
    check(not expression.hasParserError(), f"{layer.name()}: renderer expression {attr}: {expression.parserErrorString()}")
    return set(expression.referencedColumns()) - {QgsFeatureRequest.ALL_ATTRIBUTES}


def check_layer(layer, where):
    """A layer as QGIS sees it: valid, CRS, style applied, fields present."""
    if not check(layer.isValid(), f"{where}: layer {layer.name()} is not valid"):
        return
    if not layer.isSpatial():
        return
    check(layer.crs().authid() == "EPSG:4490", f"{where}: {layer.name()} CRS {layer.crs().authid()}")
    kind = layer.renderer().type() if layer.renderer() else None
    # A fresh layer gets a single-symbol renderer; ours are categorised or graduated.
    check(kind in ("categorizedSymbol", "graduatedSymbol"), f"{where}: {layer.name()} style not applied ({kind})")
    missing = renderer_fields(layer) - set(layer.fields().names())
    check(not missing, f"{where}: {layer.name()} renderer fields missing: {sorted(missing)}")
    # Counties and villages (graded by risk or capacity) carry their Chinese names as labels.
    if renderer_fields(layer) & {"risk_level", "capacity_level"}:
        labeling = layer.labeling()
        field = labeling.settings().fieldName if labeling is not None else None
        check(layer.labelsEnabled() and field == "name", f"{where}: {layer.name()} labels {layer.labelsEnabled()} on {field}")
        LABELLED.append(layer.name())


def check_package(path):
    try:
        from osgeo_utils.samples import validate_gpkg
    except ImportError:
        validate_gpkg = None
    if validate_gpkg is not None:
        try:
            validate_gpkg.check(str(path), abort_at_first_error=False, warning_as_error=True)
        except Exception as error:  # the validator raises on the first broken requirement
            check(False, f"{path.name}: GDAL validate_gpkg: {error}")
    probe = QgsVectorLayer(str(path), "probe", "ogr")
    names = [s.split("!!::!!")[1] for s in probe.dataProvider().subLayers()]
    names = [n for n in names if n != "layer_styles"]
    check(names, f"{path.name}: no layers")
    for name in names:
        check_layer(QgsVectorLayer(f"{path}|layername={name}", name, "ogr"), path.name)
    return len(names)


def canvas_extent(project_path):
    extent = ET.parse(project_path).getroot().find("mapcanvas/extent")
    return [float(extent.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")] if extent is not None else None


def grade_pixels(image):
    """Pixels of the grade colours and the no-data grey, by colour."""
    from_rgb = {
        (215, 25, 28): "弱", (253, 174, 97): "较弱", (255, 255, 191): "中等",
        (166, 217, 106): "较强", (26, 150, 65): "强", (200, 200, 200): "无数据",
    }
    counts = dict.fromkeys(from_rgb.values(), 0)
    step = 2
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            c = QColor(image.pixel(x, y))
            name = from_rgb.get((c.red(), c.green(), c.blue()))
            if name:
                counts[name] += 1
    return counts


def check_project(path, canvas, png=None, need_valid=True):
    project = QgsProject.instance()
    project.clear()
    if not check(project.read(str(path)), f"{path.name}: QGIS could not read it"):
        return
    where = path.name
    check(project.crs().authid() == "EPSG:4490", f"{where}: project CRS {project.crs().authid()}")
    layers = project.mapLayers()
    tree = project.layerTreeRoot().findLayers()
    check(len(tree) == len(layers) > 0, f"{where}: {len(tree)} tree entries for {len(layers)} layers")
    unlinked = [t.name() for t in tree if t.layer() is None]
    check(not unlinked, f"{where}: tree entries not linked to a layer: {unlinked[:5]}")
    valid = [l for l in layers.values() if l.isValid()]
    if need_valid:
        for layer in layers.values():
            check_layer(layer, where)
    saved = canvas_extent(path)
    check(saved is not None, f"{where}: no map canvas extent")
    if saved:
        e = canvas.extent()
        # The canvas restores the saved extent (stretched to its aspect ratio).
        check(e.xMinimum() <= saved[0] + 1e-6 and e.xMaximum() >= saved[2] - 1e-6 and e.width() < 5 * (saved[2] - saved[0]),
              f"{where}: canvas opened on {e.toString()}, saved {saved}")
    print(f"{where}: {len(layers)} layers, {len(valid)} valid, {len(tree)} tree entries, CRS {project.crs().authid()}")
    if png is None:
        return
    settings = canvas.mapSettings()
    settings.setOutputSize(QSize(800, 600))
    settings.setLayers([t.layer() for t in tree if t.layer() is not None and t.isVisible()])
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    check(not job.errors(), f"{where}: render errors {[e.message for e in job.errors()]}")
    image.save(str(png))
    counts = grade_pixels(image)
    shown = {k: v for k, v in counts.items() if v}
    print(f"  rendered {png}: grade pixels {shown}")
    check(sum(v for k, v in counts.items() if k != "无数据") > 200, f"{where}: rendered map shows no grade colour ({shown})")


def render_city(packages, canvas, png):
    """The city map: every county package's `county` layer, graded by risk with its stored style."""
    layers = [QgsVectorLayer(f"{p}|layername=county", p.stem, "ogr") for p in packages]
    layers = [l for l in layers if check(l.isValid(), f"{l.name()}: county layer not valid")]
    if not layers:
        return
    extent = layers[0].extent()
    for layer in layers[1:]:
        extent.combineExtentWith(layer.extent())
    settings = canvas.mapSettings()
    settings.setOutputSize(QSize(800, 600))
    settings.setLayers(layers)
    settings.setExtent(extent.buffered(0.05))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(str(png))
    counts = grade_pixels(image)
    print(f"city map {png}: {len(layers)} counties, grade pixels {({k: v for k, v in counts.items() if v})}")


def main(out, png_dir):
    out, png_dir = Path(out), Path(png_dir)
    png_dir.mkdir(parents=True, exist_ok=True)
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], True)
    app.initQgis()
    print(f"QGIS {Qgis.QGIS_VERSION}")
    canvas = QgsMapCanvas()
    canvas.resize(800, 600)
    packages = sorted((out / "counties").glob("*.gpkg"))
    check(packages, f"{out}: no county GeoPackages")
    total = 0
    for package in packages:
        count = check_package(package)
        total += count
        print(f"{package.name}: {count} layers opened")
        check_project(package.with_suffix(".qgs"), canvas, png_dir / f"{package.stem}.png")
    render_city(packages, canvas, png_dir / "city.png")
    # The whole run's package (`--gpkg all`), when written.
    for project in sorted(out.glob("*_gpkg.qgs")):
        package = out / (project.name[: -len("_gpkg.qgs")] + ".gpkg")
        count = check_package(package)
        total += count
        print(f"{package.name}: {count} layers opened")
        check_project(project, canvas, png_dir / f"{package.stem}.png")
    from osgeo import ogr

    has_parquet = ogr.GetDriverByName("Parquet") is not None
    for project in sorted(p for p in out.glob("*.qgs") if not p.name.endswith("_gpkg.qgs")):
        check_project(project, canvas, need_valid=has_parquet)
    print(f"{len(packages)} county packages, {total} layers, {len(LABELLED)} labelled by name; GDAL Parquet driver: {'yes' if has_parquet else 'no'}")
    check(LABELLED, "no county or village layer was labelled")
    app.exitQgis()
    if FAILURES:
        print("\n".join(["FAILED:", *FAILURES]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

"""The county GeoPackages and the projects opened in a real QGIS (tests/qgis/open_in_qgis.py, run
with the Python that has PyQGIS: Debian's python3-qgis, which scripts/test.sh installs when it
may). Its report and the rendered county maps are kept in target/test-artifacts/qgis/."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_riskcensus

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "target" / "test-artifacts" / "qgis"


def qgis_python():
    for python in filter(None, [os.environ.get("RISKCENSUS_QGIS_PYTHON"), "/usr/bin/python3"]):
        if shutil.which(python) and subprocess.run(
            [python, "-c", "import qgis.core"], capture_output=True
        ).returncode == 0:
            return python
    return None


def test_packages_and_projects_open_styled_and_drawn_in_qgis(tmp_path):
    python = qgis_python()
    if python is None:
        if os.environ.get("RISKCENSUS_REQUIRE_QGIS") == "1":
            pytest.fail("PyQGIS is required here but not importable")
        pytest.skip("no PyQGIS (install Debian's python3-qgis qgis-providers)")
    # The sample with every GeoPackage: the county ones and the whole run's (--gpkg all).
    database = tmp_path / "db"
    result = run_riskcensus("run", "pipelines/baiyin-2021.toml", "--gpkg", "all", "--out", database)
    assert result.returncode == 1, result.stderr
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    runtime.chmod(0o700)  # Qt wants a private runtime directory
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    result = subprocess.run(
        [python, str(REPO / "tests" / "qgis" / "open_in_qgis.py"), str(database), str(ARTIFACTS)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    (ARTIFACTS / "report.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    counties = sorted(p.stem for p in (database / "counties").glob("*.gpkg"))
    assert counties and all((ARTIFACTS / f"{c}.png").exists() for c in counties)
    assert (ARTIFACTS / "city.png").exists()
    assert (ARTIFACTS / "baiyin-2021.png").exists()  # the whole run's package, drawn
    assert "GDAL Parquet driver" in result.stdout

"""The HTML report opens in a real browser (headless Chromium) without console errors and shows
every file, rule and finding. scripts/test.sh installs Debian's chromium when it can (root)."""
import shutil
import subprocess

import pytest
from conftest import REPO, run_riskcensus

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test.sh installs it as root)")
def test_html_report_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "report.html"
    result = run_riskcensus("validate", "--pipeline", "pipelines/baiyin-2021.toml", "--format", "html", "-o", page)
    assert result.returncode == 1, result.stderr
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr, dom.stderr[-2000:]
    html = dom.stdout
    assert 'id="verdict"' in html
    files_table = html.split('id="files"', 1)[1].split("</table>", 1)[0]
    returns = (REPO / "pipelines/baiyin-2021.toml").read_text(encoding="utf-8").count("[[returns]]")
    assert files_table.count("<tr>") == 1 + returns  # header + one row per return
    findings_rows = sum(t.split("</table>", 1)[0].count("<tr>") - 1 for t in html.split('class="findings"')[1:])
    listed = int(html.split("(", 1)[0] and html.split("问题明细 (", 1)[1].split(" /", 1)[0])
    assert findings_rows == listed > 40

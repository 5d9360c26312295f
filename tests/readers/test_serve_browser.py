"""`riskcensus serve` driven in a real browser: Debian's headless Chromium through WebDriver
(Debian's chromium-driver, the selenium client). A technician's round: upload the sample returns,
read the counts and the planted findings at their rows, filter, switch language, download a
corrected file and validate it again with the CLI; the office builds the database. Screenshots go
to target/test-artifacts/serve/. scripts/test.sh installs chromium and chromium-driver as root."""
import csv
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import BIN, REPO, run_riskcensus

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = REPO / "target" / "test-artifacts" / "serve"
GCJ = "DR-GOV-10_应急避难场所_高德坐标.csv"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromedriver are not installed (scripts/test.sh installs them as root)",
)


def sample_pipeline(tmp_path):
    """The sample pipeline with absolute paths and its output in tmp_path (the office builds)."""
    text = (REPO / "pipelines" / "baiyin-2021.toml").read_text(encoding="utf-8")
    text = text.replace('"../', f'"{REPO}/')
    text = re.sub(r'^output = ".*"$', f'output = "{tmp_path / "db"}"', text, flags=re.M)
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def returns_of(pipeline):
    return [Path(p) for p in re.findall(r'^path = "(.*/sample_data/returns/.*)"$', pipeline.read_text(encoding="utf-8"), flags=re.M)]


def start(pipeline, *args):
    """Start `riskcensus serve`; the address it prints on its first line."""
    proc = subprocess.Popen([str(BIN), "serve", "--pipeline", str(pipeline), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed = proc.stdout.readline().strip()
    assert printed.startswith("http://"), proc.stderr.read() if proc.poll() is not None else printed
    return proc, printed


def stop(proc):
    """Stop it as Ctrl-C would (SIGTERM): it exits 0 and removes the uploads."""
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "uploads removed" in err


@pytest.fixture
def server(tmp_path):
    pipeline = sample_pipeline(tmp_path)
    proc, url = start(pipeline, "--listen", "127.0.0.1:0")
    yield url.rstrip("/"), pipeline
    stop(proc)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1100",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    driver.downloads = downloads
    yield driver
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    driver.quit()
    assert not severe, severe


def wait_for(driver, css, timeout=120):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, css) or None)[0]


def shot(driver, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def cli_totals(files, pipeline):
    """Rows read, accepted, rejected and the findings, from `riskcensus validate --format json`."""
    result = run_riskcensus("validate", *files, "--pipeline", pipeline, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    files = report["files"]
    return tuple(sum(f[k] for f in files) for k in ("rows_read", "accepted", "rejected")), report


def test_a_technician_checks_fixes_and_publishes_in_the_browser(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, pipeline = server
    files = returns_of(pipeline)
    assert len(files) == 35
    browser.get(url + "/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh"
    browser.find_element(By.ID, "files").send_keys("\n".join(str(f) for f in files))
    shot(browser, "1-upload.png")
    browser.find_element(By.ID, "send").click()
    wait_for(browser, "#summary")
    assert "/s/" in browser.current_url

    # The counts are the CLI's, and read = accepted + rejected.
    (read, accepted, rejected), report = cli_totals(files, pipeline)
    shown = tuple(int(browser.find_element(By.ID, i).text) for i in ("rows-read", "accepted", "rejected"))
    assert shown == (read, accepted, rejected)
    assert read == accepted + rejected and rejected > 0

    # Every planted defect of the sample (written by samplegen, not by the checks) is listed
    # at its row, on its file.
    rows = browser.find_elements(By.CSS_SELECTOR, "#findings tbody tr")
    listed = {(r.find_elements(By.TAG_NAME, "td")[2].text, r.find_element(By.CSS_SELECTOR, "td.row").text,
               r.get_attribute("data-rule")) for r in rows}
    with open(REPO / "sample_data" / "expected_findings.csv", encoding="utf-8") as f:
        expected = [(Path(e["file"]).name, "" if e["row"] == "0" else e["row"], e["rule"]) for e in csv.DictReader(f)]
    missing = [e for e in expected if e not in listed]
    assert not missing, missing
    assert len(rows) == len(report["findings"])
    assert (GCJ, "2", "geo.other_village") in listed
    shot(browser, "2-results-zh.png")

    # The rule filter leaves only that rule's rows.
    Select(browser.find_element(By.ID, "filter-rule")).select_by_value("geo.swapped")
    visible = [r for r in rows if r.is_displayed()]
    assert visible and all(r.get_attribute("data-rule") == "geo.swapped" for r in visible)
    assert browser.find_element(By.ID, "shown-count").text == f"{len(visible)} / {len(rows)}"

    # The map draws the polygons, the points and the GCJ-02 corrections as arrows.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map .counties path")) == 5
    assert browser.find_elements(By.CSS_SELECTOR, "#map circle.error")
    assert browser.find_elements(By.CSS_SELECTOR, "#map line.correction")

    # English on the switch.
    browser.find_element(By.ID, "lang-switch").click()
    wait_for(browser, "html[lang=en] #summary")
    assert "rows read" in browser.find_element(By.ID, "summary").text
    shot(browser, "3-results-en.png")

    # Download the corrected GCJ-02 file and validate it again with the CLI.
    link = browser.find_element(By.XPATH, f"//table[@id='files']//a[contains(@download, '高德坐标_修正_fixed')]")
    link.click()
    fixed = browser.downloads / link.get_attribute("download")
    for _ in range(200):
        if fixed.exists():
            break
        time.sleep(0.1)
    assert fixed.exists(), list(browser.downloads.iterdir())
    before = run_riskcensus("validate", REPO / "sample_data" / "returns" / GCJ, "--pipeline", pipeline, "--format", "json")
    after = run_riskcensus("validate", fixed, "--pipeline", pipeline, "--format", "json")
    rules = lambda r: [f["rule"] for f in json.loads(r.stdout)["findings"]]
    assert "geo.gcj02_shift" in rules(before) and "geo.gcj02_shift" not in rules(after)
    assert len(rules(after)) < len(rules(before))

    # The office builds the database; its county packages can be downloaded.
    browser.get(url + "/office?lang=en")
    browser.find_element(By.ID, "office-build").click()
    wait_for(browser, "#built", timeout=300)
    packages = browser.find_elements(By.CSS_SELECTOR, "#per-county td.packages a")
    gpkgs = [a for a in packages if a.text.endswith(".gpkg")]
    assert len(gpkgs) == 5, [a.text for a in packages]
    assert int(browser.find_element(By.ID, "office-read").text) == read
    # The published rows per county are what DuckDB counts in the database's facility layers.
    import duckdb
    db = pipeline.parent / "db"
    counted = dict(duckdb.sql(f"SELECT county_code, count(*) FROM read_parquet('{db}/facilities/*.parquet') GROUP BY 1").fetchall())
    shown = {tr.find_elements(By.TAG_NAME, "td")[0].text: int(tr.find_elements(By.TAG_NAME, "td")[2].text)
             for tr in browser.find_elements(By.CSS_SELECTOR, "#per-county tbody tr")}
    assert shown == counted and len(shown) == 5
    shot(browser, "4-office-built.png")
    with urllib.request.urlopen(gpkgs[0].get_attribute("href")) as response:
        assert response.read(16) == b"SQLite format 3\x00"


def test_the_server_refuses_what_it_must(tmp_path):
    proc, url = start(sample_pipeline(tmp_path), "--listen", "127.0.0.1:0", "--max-upload-mib", "1")
    url = url.rstrip("/")
    boundary = "b0undary"

    def post(name, data, host=None):
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(url + "/upload", data=body, method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with urllib.request.urlopen(request) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    status, message = post("../../../tmp/evil.csv", b"a,b\n")
    assert status == 400 and "plain name" in message
    assert not Path("/tmp/evil.csv").exists()
    status, message = post("DR-GOV-10_big.csv", b"x" * (2 << 20))
    assert status == 413 and "over the 1 MiB limit" in message
    stop(proc)


def test_off_loopback_the_server_needs_its_token(tmp_path):
    proc, printed = start(sample_pipeline(tmp_path), "--listen", "0.0.0.0:0")
    try:
        match = re.match(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{32})$", printed)
        assert match, printed
        port, token = match.groups()
        for query, code, text in [("", 401, "needs its token"), ("?token=wrong", 401, "wrong token"), (f"?token={token}", 200, "riskcensus")]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{query}") as r:
                    status, body = r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read().decode()
            assert (status, text in body) == (code, True), (query, status, body)
    finally:
        stop(proc)

"""The dashboard in a real browser: `streamlit run` on a free localhost port over a demo build,
loaded in Debian's headless Chromium through chromedriver (`make chromium` installs both).

The page must draw its charts and tiles with no Streamlit error box, and the cohort heatmap must
be painted. A screenshot is saved next to the test's files (and to CRM_SCREENSHOT_PATH when set,
which is how docs/dashboard.png is made).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dbt_project_runner import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHARTS = 6  # retention, cohort heatmap, revenue movements, repeat rate, AOV, RFM segments
TILES = 12


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dashboard_url(demo_build, tmp_path):
    port = free_port()
    env = dict(os.environ, CRM_DUCKDB_PATH=str(demo_build.db_path))
    env.pop("CRM_DASHBOARD_URL", None)
    log = open(tmp_path / "streamlit.log", "w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "streamlit"), "run", str(ROOT / "dashboard" / "app.py"),
         "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "streamlit.log").read_text()
            assert time.monotonic() < deadline, "streamlit did not answer within 120 s"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def browser(tmp_path):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    assert not missing, f"{', '.join(missing)} missing: run `make chromium` (apt-get install chromium chromium-driver)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--window-size=1400,5600", "--hide-scrollbars"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_dashboard_renders_in_chromium(dashboard_url, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def count(selector: str) -> int:
        return len(browser.find_elements(By.CSS_SELECTOR, selector))

    browser.get(dashboard_url)
    wait = WebDriverWait(browser, 180, poll_frequency=0.5)
    wait.until(lambda _: count(".js-plotly-plot") >= CHARTS and count('[data-testid="stMetric"]') >= TILES
               or count('[data-testid="stException"]'))
    errors = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert not errors, errors[0].text
    # The heatmap is painted: plotly draws it as an image inside the heatmap layer.
    wait.until(lambda _: count(".js-plotly-plot .heatmaplayer image") >= 1)
    image = browser.find_element(By.CSS_SELECTOR, ".js-plotly-plot .heatmaplayer image")
    assert image.size["width"] > 100 and image.size["height"] > 100
    assert "Grain: month" in browser.find_element(By.TAG_NAME, "body").text
    # Let the script finish (no spinner, no "running" state) before the picture.
    wait.until(lambda _: not count('[data-testid="stStatusWidget"]'))
    time.sleep(1)
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    screenshot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    if os.environ.get("CRM_SCREENSHOT_PATH"):
        shutil.copy(screenshot, os.environ["CRM_SCREENSHOT_PATH"])

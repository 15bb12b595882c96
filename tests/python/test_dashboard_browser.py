"""The dashboard in a real browser: `streamlit run` on a free localhost port over the demo `make
demo` builds, loaded in Debian's headless Chromium through chromedriver (`make chromium` installs
both).

The page must draw its charts and tiles with no Streamlit error box, and the cohort heatmap must
be painted; then every sidebar choice (each segment and each of its values) is clicked, and the
page must redraw with no error box each time. The first render's time is printed beside its
target (3 s on an idle machine); it is a measurement, not an assertion. A screenshot is saved
next to the test's files (and to CRM_SCREENSHOT_PATH when set, which is how docs/dashboard.png
is made).
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

import duckdb
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


def test_every_sidebar_choice_renders_in_chromium(dashboard_url, browser, demo_build, capsys):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    def count(selector: str) -> int:
        return len(browser.find_elements(By.CSS_SELECTOR, selector))

    def settled() -> None:
        wait.until(lambda _: count('[data-testid="stStatusWidget"]') == 0 and count('[data-testid="stMetric"]') >= TILES
                   or count('[data-testid="stException"]'))
        errors = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        assert not errors, errors[0].text

    def open_list(box: int) -> list:
        """Open the box-th selectbox of the sidebar (its button[aria-haspopup="listbox"]) and
        return its options."""
        button = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"] button[aria-haspopup="listbox"]')[box]
        browser.execute_script("arguments[0].click();", button)
        return wait.until(lambda _: browser.find_elements(By.CSS_SELECTOR, '[role="option"]'))

    def choose(box: int, option: int) -> None:
        browser.execute_script("arguments[0].click();", open_list(box)[option])
        time.sleep(0.5)
        settled()

    def options_of(box: int) -> int:
        found = len(open_list(box))
        ActionChains(browser).send_keys(Keys.ESCAPE).perform()
        wait.until(lambda _: not browser.find_elements(By.CSS_SELECTOR, '[role="option"]'))
        return found

    wait = WebDriverWait(browser, 180, poll_frequency=0.25)
    started = time.monotonic()
    browser.get(dashboard_url)
    wait.until(lambda _: count(".js-plotly-plot") >= CHARTS and count('[data-testid="stMetric"]') >= TILES
               or count('[data-testid="stException"]'))
    first_render = time.monotonic() - started
    with capsys.disabled():  # shown in the suite's output, not captured
        print(f"\nfirst render {first_render:.1f} s (target: under 3 s on an idle machine; load average "
              f"{os.getloadavg()[0]:.1f})")
    settled()
    with duckdb.connect(str(demo_build.db_path), read_only=True) as con:
        combinations = con.execute("select count(distinct (segment_name, segment_value)) from main.crm__kpis_by_segment").fetchone()[0]
    clicked = 0
    names = options_of(0)
    for name in range(1, names):
        choose(0, name)
        for value in range(options_of(1)):
            choose(1, value)
            assert "Segment: " in browser.find_element(By.TAG_NAME, "body").text
            clicked += 1
    assert clicked == combinations
    choose(0, 0)
    assert count('[data-testid="stMetric"]') >= TILES

"""The dashboard in a real browser: Debian's headless Chromium, driven by selenium through chromium-driver.

Against the seeded 2025 month-end database: every chart draws its data, the range and language switch, hover
shows values, the page follows a new observation without a reload, the phone layout stacks, and no
Content-Security-Policy violation is logged. Screenshots go to $PLUMBLINE_SCREENSHOTS (README's) or tmp."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from bot.words.messages import t
from tests.seed import ny, seeded, store
from tests.web_support import SECRET_CHAT, ServedDashboard, seed_breach_with_alert, served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHARTS = ("corridor", "spread", "rrp", "tga", "reserves", "liquidity")


def chromium(width: int = 1280, height: int = 1800) -> webdriver.Chrome:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail(
            "the browser test needs Debian's headless Chromium: apt-get install chromium chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="plumbline-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def screenshot_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("PLUMBLINE_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def drawn_points(driver: webdriver.Chrome) -> dict[str, list[int]]:
    """Points plotly holds per trace of each chart, read from the chart elements themselves."""
    return driver.execute_script(  # type: ignore[no-any-return]
        "var out = {};"
        "arguments[0].forEach(function (n) { var gd = document.getElementById('chart-' + n);"
        " out[n] = (gd.data || []).map(function (tr) { return tr.x ? tr.x.length : 0; }); });"
        "return out;",
        list(CHARTS),
    )


def text_of(driver: webdriver.Chrome, css: str) -> str:
    """An element's text read in one step (the status strip is rebuilt on every poll)."""
    return str(
        driver.execute_script(
            "var e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css
        )
    )


def csp_violations(driver: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[ServedDashboard]:
    seeded("month_end_2025", tmp_path / "web.db").close()
    with served(tmp_path / "web.db", "month_end_2025") as dash:
        yield dash


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def load(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url)
    wait_for(lambda: driver.execute_script("return window.plumbline && window.plumbline.ready"), "first draw")


def x_ticks(browser: webdriver.Chrome, chart: str) -> list[str]:
    """The date labels under a chart's x axis, as drawn."""
    labels: list[str] = browser.execute_script(
        "return Array.from(document.querySelectorAll('#chart-' + arguments[0] + ' .xtick text'))"
        ".map(function (n) { return n.textContent; });",
        chart,
    )
    return labels


def test_every_chart_draws_its_data_and_range_and_language_switch(
    dashboard: ServedDashboard, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    load(browser, dashboard.url + "?range=3m")
    points = drawn_points(browser)
    assert set(points) == set(CHARTS)
    for name, traces in points.items():
        assert traces and sum(traces) > 0, f"{name} drew nothing: {traces}"
        svg_marks = browser.execute_script(
            "return document.querySelectorAll('#chart-' + arguments[0] + ' .scatterlayer .trace path,'"
            " + '#chart-' + arguments[0] + ' .barlayer .trace path').length;",
            name,
        )
        assert svg_marks > 0, f"{name} has no SVG marks"
    # The corridor: SOFR on every seeded business day, and the five 2025 month-end breach days marked.
    breach = browser.execute_script(
        "var gd = document.getElementById('chart-corridor'); return gd.data[gd.data.length - 1].x;"
    )
    assert breach == ["2025-10-27", "2025-10-28", "2025-10-29", "2025-10-30", "2025-10-31"]
    # SRF bars on the record day: AM $21.0B and PM $29.35B.
    bars = browser.execute_script(
        "return document.getElementById('chart-spread').data.slice(0, 2).map(function (t) { return t.y; });"
    )
    assert bars == [[21.0], [29.35]]
    status = text_of(browser, '#status-series .cell[data-series="srf"]')
    assert "$50.35B" in status and "2025-10-31" in status

    # Hovering the corridor shows the values of that day.
    chart = browser.find_element(By.ID, "chart-corridor")
    ActionChains(browser).move_to_element_with_offset(chart, 120, 0).perform()
    hover = wait_for(
        lambda: browser.execute_script(
            "var h = document.querySelector('#chart-corridor .hoverlayer'); return h && h.textContent;"
        ),
        "hover labels",
    )
    assert "%" in hover
    assert any(month in tick for tick in x_ticks(browser, "corridor") for month in ("Aug", "Sep", "Oct"))
    screenshots = screenshot_dir(tmp_path)
    browser.save_screenshot(str(screenshots / "dashboard.png"))

    # A range button redraws in place and the address becomes that view's permalink.
    renders = browser.execute_script("return window.plumbline.renders;")
    browser.find_element(By.CSS_SELECTOR, 'button.range[data-range="1m"]').click()
    wait_for(lambda: browser.execute_script("return window.plumbline.renders;") > renders, "the 1m redraw")
    assert browser.current_url.endswith("?range=1m&lang=en")
    assert browser.find_element(By.ID, "permalink").get_attribute("href").endswith("?range=1m&lang=en")
    first_day = browser.execute_script("return document.getElementById('chart-corridor').data[8].x[0];")
    assert first_day >= "2025-09-30"
    assert (
        browser.find_element(By.CSS_SELECTOR, 'button.range[data-range="1m"]').get_attribute("aria-pressed")
        == "true"
    )

    # The language toggle keeps the range and shows every word from the zh-TW catalog.
    browser.find_element(By.ID, "lang-toggle").click()
    wait_for(lambda: "lang=zh-TW" in browser.current_url, "the zh-TW page")
    wait_for(
        lambda: browser.execute_script("return window.plumbline && window.plumbline.ready"), "zh-TW draw"
    )
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-Hant-TW"
    assert "range=1m" in browser.current_url
    heading = browser.find_element(By.CSS_SELECTOR, "#card-corridor h2").text
    assert heading == t("web.chart.corridor", "zh-TW")
    legend = browser.execute_script("return document.getElementById('chart-corridor').data[8].name;")
    assert legend == t("web.trace.sofr", "zh-TW")
    # Amounts the way Taiwan's press writes them: the 2025-10-31 record as 503.5億美元.
    srf = text_of(browser, '#status-series .cell[data-series="srf"]')
    assert "503.5億美元" in srf and t("short.srf", "zh-TW") in srf
    # Dates on the axis the way they are written in Taiwan: 10月, 2025年10月, never "Oct".
    ticks = x_ticks(browser, "corridor")
    assert ticks and all("月" in tick or "年" in tick for tick in ticks), ticks
    browser.find_element(By.CSS_SELECTOR, 'button.range[data-range="3m"]').click()
    wait_for(lambda: "range=3m" in browser.current_url, "the zh-TW 3m view")
    time.sleep(0.5)
    browser.save_screenshot(str(screenshots / "dashboard.zh-TW.png"))
    assert csp_violations(browser) == []


def test_the_page_follows_a_new_observation_without_a_reload(
    tmp_path: Path, browser: webdriver.Chrome
) -> None:
    db = seeded("month_end_2025", tmp_path / "live.db")
    with served(tmp_path / "live.db", "month_end_2025") as dash:
        # ?refresh=1 polls every second instead of every 15 s, so the test need not wait.
        load(browser, dash.url + "?range=1m&refresh=1")
        browser.execute_script("window.__same_page = true;")
        cell = '#status-series .cell[data-series="sofr"]'
        assert "2025-10-31" in text_of(browser, cell)
        # The poller stores SOFR for Monday 2025-11-03 (published 08:00 ET the next morning).
        store(db, "sofr", {"2025-11-03": 3.92}, "nyfed", ny(2025, 11, 4, 8, 2))
        wait_for(lambda: "2025-11-03" in text_of(browser, cell), "the new SOFR", 10)
        assert "3.92%" in text_of(browser, cell)
        after = browser.execute_script("return document.getElementById('chart-corridor').data[8].x;")
        # The 1m window is counted back from the newest SOFR, so it moved forward with it.
        assert after[-2:] == ["2025-10-31", "2025-11-03"]
        assert browser.execute_script("return window.__same_page === true;")
    db.close()


def test_phone_layout_stacks_the_charts_without_sideways_scrolling(
    dashboard: ServedDashboard, tmp_path: Path
) -> None:
    driver = chromium(width=390, height=2400)
    try:
        load(driver, dashboard.url + "?range=3m&lang=zh-TW")
        lefts = driver.execute_script(
            "return arguments[0].map(function (n) {"
            " return Math.round(document.getElementById('card-' + n).getBoundingClientRect().left); });",
            list(CHARTS),
        )
        assert len(set(lefts)) == 1, lefts
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
        assert all(sum(traces) > 0 for traces in drawn_points(driver).values())
        driver.save_screenshot(str(screenshot_dir(tmp_path) / "dashboard.phone.png"))
    finally:
        driver.quit()


def test_open_episode_and_latest_alert_are_shown_without_the_chat(
    tmp_path: Path, browser: webdriver.Chrome
) -> None:
    seed_breach_with_alert(tmp_path / "spike.db").close()
    with served(tmp_path / "spike.db", "repo_spike_2019") as dash:
        load(browser, dash.url + "?range=1m")
        assert text_of(browser, "#episodes-list li.open") == t("episode.sofr_breach", since="2019-09-16")
        alert = text_of(browser, "#alerts-list li.alert")
        assert t("web.rule.sofr_breach") in alert and "2019-09-16" in alert
        assert SECRET_CHAT not in browser.page_source
        breach = browser.execute_script(
            "var gd = document.getElementById('chart-corridor'); return gd.data[gd.data.length - 1].y;"
        )
        assert breach == [2.43, 5.25]
        # No ON RRP, TGA or net liquidity stored for 2019 here: those cards say so instead of blank axes.
        for name in ("rrp", "tga", "liquidity"):
            assert text_of(browser, f"#card-{name} .empty-note") == t("web.no_data")
            assert not browser.find_element(By.ID, f"chart-{name}").is_displayed()
        browser.save_screenshot(str(screenshot_dir(tmp_path) / "dashboard.2019.png"))

"""The real server (`ebook-analytics dashboard --no-auth`) in headless Debian Chromium, on the hand-made history.

Every page opens without an error, a sidebar filter lands in the URL (and changes the numbers), and the statement
CSV the revenue share page downloads is byte for byte the file `ebook-analytics export revenue-share` writes.
`ebook-analytics demo` on an existing setup reuses it and serves with a working demo login.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dashboards.auth import PAGES
from dashboards.colours import colour
from dashboards.commands import streamlit_flags
from dashboards.health import free_port, wait_until_healthy
from dashboards.pages import REGISTRY, Page
from tests.conftest import REPO_ROOT, copy_published, open_published, run_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MARCH = "?dates=2024-03-01&dates=2024-03-31"
STARTUP_SECONDS = 60
PAGE_TIMEOUT_MS = 30_000
# The app while no run of its script is under way (the attribute Streamlit's own browser tests wait on).
RUN_ENDED = '[data-testid="stApp"][data-test-script-state="notRunning"]'

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def published(published_dataset: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A copy of the published dataset's data folder: `demo` adds its admin there."""
    return copy_published(published_dataset, tmp_path_factory.mktemp("browser"))


@contextmanager
def _serving(env: dict[str, str], *argv: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`ebook-analytics ARGV --port <free>` until healthy; then stopped with its Streamlit child (SIGTERM)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *argv, "--port", str(port)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, STARTUP_SECONDS)
        yield base, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(published: dict[str, str]) -> Iterator[str]:
    """The dashboard as users start it, on a free port."""
    with _serving(published, "dashboard", "--no-auth") as (base, _):
        yield base


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; the test is skipped where either is missing."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium; tests/run.sh does it)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser(server: str):
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(PAGE_TIMEOUT_MS)
    yield tab
    context.close()


def _visit(page, base: str, key: str, query: str = "") -> None:
    """Open the page and wait until its run has drawn everything: the frame's "Data as of" comes first, and a page can
    still be drawing its tables and charts (and an error) seconds later."""
    # The first page is the app's default page, served at the root.
    page.goto(f"{base}/{'' if key == PAGES[0] else key}{query}")
    page.get_by_text("Data as of").first.wait_for()  # this page's run has begun
    _run_ended(page)


def _choose_in_sidebar(page, listed: Page) -> None:
    """Open the page from the sidebar's navigation, as a reader goes from page to page: the app switches pages over
    its open connection, without loading itself again (half the browser's work of `_visit`), and the filters go
    back to the page's defaults. Its title shows once its run has begun."""
    page.locator(f'[data-testid="stSidebarNavLink"][href$="/{listed.key}"]').click()
    page.get_by_role("heading", name=listed.title, exact=True).wait_for()
    _run_ended(page)


def _run_ended(page) -> None:
    page.locator(RUN_ENDED).wait_for(state="attached")
    page.wait_for_load_state("networkidle")


def _metric(page, label: str) -> str:
    tile = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return tile.locator('[data-testid="stMetricValue"]').inner_text()


def test_every_page_opens_without_an_error(page, server: str) -> None:
    first, *others = REGISTRY
    _visit(page, server, first.key, MARCH)
    assert page.locator('[data-testid="stException"]').count() == 0, first.key
    assert _metric(page, "Words written") == "1,590"
    for listed in others:
        _choose_in_sidebar(page, listed)
        assert page.url == f"{server}/{listed.key}"
        assert page.locator('[data-testid="stException"]').count() == 0, listed.key


def test_a_filter_goes_into_the_url_and_changes_the_numbers(page, server: str) -> None:
    _visit(page, server, "usage", MARCH)
    assert _metric(page, "Users with usage") == "3"
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Tier").locator("input").click()
    page.get_by_role("option", name="premium").click()
    page.wait_for_url(re.compile(r"[?&]tier=premium"))
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetric]')]"
        ".some(m => m.innerText.includes('Users with usage') && m.innerText.includes('\\n1\\n'))"
    )
    assert _metric(page, "Users with usage") == "1"  # only Alice is premium
    assert "dates=2024-03-01" in page.url


def test_the_statement_csv_is_the_export(page, server: str, published: dict[str, str], tmp_path: Path) -> None:
    exported = tmp_path / "export.csv"
    run_cli("export", "revenue-share", "--period", "2024-02", "--format", "csv", "--out", str(exported), env=published)
    _visit(page, server, "revenue_share", "?month=2024-02")
    with page.expect_download() as download:
        page.get_by_role("button", name="Statements CSV").click()
    downloaded = Path(download.value.path()).read_bytes()
    assert downloaded == exported.read_bytes()
    assert downloaded.count(b"\n") == 4  # a header and February's three statements


def test_demo_reuses_the_setup_and_prints_a_working_login(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards.auth.users import authenticate

    with _serving(published, "demo") as (_, process):
        pass
    output = process.stdout.read()
    assert "$ ebook-analytics source init" in output
    assert "source seed" not in output and "etl run" not in output  # the source has users, a warehouse exists
    (login,) = re.findall(r"demo sign-in: (\S+) / (\S+)", output)
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", published["EBOOK_ANALYTICS_HOME"])
    user = authenticate(*login)
    assert user is not None and user.role == "admin"


def _chart(page, title: str):
    """The Plotly chart drawn just below the bold title `title` (charts.chart puts them one after the other)."""
    return (
        page.get_by_text(title, exact=True)
        .locator("xpath=ancestor::div[@data-testid='stElementContainer'][1]/following-sibling::div[1]")
        .locator(".js-plotly-plot")
    )


def _ticks(page, title: str) -> list[str]:
    """The x-axis tick labels Plotly drew under the chart titled `title` (charts.chart's bold title)."""
    chart = _chart(page, title)
    chart.scroll_into_view_if_needed()
    chart.locator(".xtick text").first.wait_for()
    return [tick.text_content() for tick in chart.locator(".xtick text").all()]


def _legend_colour(page, title: str, name: str) -> str:
    """The fill of series `name`'s swatch in the legend of the chart titled `title`, as `#rrggbb`."""
    chart = _chart(page, title)
    chart.scroll_into_view_if_needed()
    swatch = chart.locator(".legend .traces").filter(has_text=name).locator(".legendpoints path").first
    fill = swatch.evaluate("node => getComputedStyle(node).fill")  # "rgb(r, g, b)"
    red, green, blue = (int(part) for part in re.findall(r"\d+", fill)[:3])
    return f"#{red:02x}{green:02x}{blue:02x}"


MONTHS_SCRIPT = """
from datetime import date
from decimal import Decimal

import pandas as pd

from dashboards import charts, plots

for months in (1, 3, 6):
    frame = pd.DataFrame(
        {"month": [date(2026, 11 - months + n, 1) for n in range(1, months + 1)], "mrr": [Decimal("9.99")] * months}
    )
    charts.chart(f"{months} months", frame, lambda f: plots.bar(f, x="month", y="mrr"), f"months_{months}")
"""


def test_charts_label_each_month_once_and_keep_a_provider_colour(page, browser, server: str, tmp_path: Path) -> None:
    # The pages: one month is "Mar 2024" (not "00:00:00 Mar 1, 2024"), three are three labels; OpenAI's colour on
    # the AI cost page is its colour on Overview (it was teal on one and pink on the other).
    _visit(page, server, "overview", MARCH)
    assert _ticks(page, "MRR at each month's end, by plan") == ["Mar 2024"]
    overview_openai = _legend_colour(page, "AI cost per day", "openai")
    _visit(page, server, "overview", "?dates=2024-02-01&dates=2024-04-30")
    assert _ticks(page, "MRR at each month's end, by plan") == ["Feb 2024", "Mar 2024", "Apr 2024"]
    _visit(page, server, "ai_cost", MARCH)
    assert _legend_colour(page, "Cost per day by provider (USD)", "openai") == overview_openai == colour("openai")
    assert _legend_colour(page, "Cost per day by provider (USD)", "anthropic") == colour("anthropic")

    # The chart helper itself on six months (the hand-made history spans four): one label per month.
    script = tmp_path / "months.py"
    script.write_text(MONTHS_SCRIPT)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    argv = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    process = subprocess.Popen(
        [*argv, "--server.address", "127.0.0.1", *streamlit_flags()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, process, STARTUP_SECONDS)
        page.goto(base)
        assert _ticks(page, "1 months") == ["Nov 2026"]
        assert _ticks(page, "3 months") == ["Sep 2026", "Oct 2026", "Nov 2026"]
        assert _ticks(page, "6 months") == ["Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _select(page, label: str, option: str) -> None:
    """Pick `option` in the last select box labelled `label` on the page."""
    box = page.get_by_role("combobox", name=label, exact=True).last
    box.click()
    box.fill(option)
    page.keyboard.press("Enter")


def test_a_reversed_range_is_refused_and_typed_dates_apply(page, server: str) -> None:
    _visit(page, server, "overview", "?dates=2024-03-31&dates=2024-03-01")
    page.get_by_text("The range ends (Mar 01, 2024) before it starts (Mar 31, 2024).").wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 0  # no figures (it showed "-180 days")
    # Typing a range (the fields move on by themselves) and one Apply: no calendar clicking.
    page.get_by_role("spinbutton", name="year, Dates (UTC) start date").click()
    page.keyboard.type("20240301")  # the fields move on by themselves: year, month, day, then the end date
    page.get_by_role("spinbutton", name="year, Dates (UTC) end date").click()
    page.keyboard.type("20240331")
    page.keyboard.press("Escape")  # closes the calendar that opened under the field
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"dates=2024-03-01&dates=2024-03-31"))
    page.locator('[data-testid="stMetric"]').filter(has_text="Words written").first.wait_for()
    assert _metric(page, "Words written") == "1,590"


def test_sorting_a_table_finds_the_smallest_row_of_the_whole_result(page, server: str, published) -> None:

    con = open_published(published["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        # Ties on the smallest count are broken by the other columns: the table name first.
        rows, smallest = con.execute(
            "select table_name, rows from meta.extract_state order by rows, table_name limit 1"
        ).fetchone()
        (count,) = con.execute("select count(*) from meta.extract_state").fetchone()
    finally:
        con.close()
    _visit(page, server, "data_quality")
    page.get_by_text(f"{count} rows", exact=True).wait_for()  # the freshness table: the last on the page
    _select(page, "Rows per page", "10")
    page.get_by_text(f"Page (of {-(-count // 10)}, {count} rows)").wait_for()
    _select(page, "Sort all rows by", "Rows")
    grid = page.locator('[data-testid="stDataFrame"]').last
    grid.scroll_into_view_if_needed()
    # The sorted page replaces the listed one: wait for its first cell (the listed page also holds that table).
    page.wait_for_function(
        "([first]) => { const grids = document.querySelectorAll('[data-testid=stDataFrame]');"
        " const cell = grids[grids.length - 1].querySelector('[role=gridcell]');"
        " return cell !== null && cell.innerText === first; }",
        arg=[rows],
    )
    first_row = grid.locator("[role=gridcell]").all_inner_texts()[:3]
    assert first_row[0] == rows and first_row[2] == str(smallest)


def test_the_sidebar_closes_after_choosing_a_page_on_a_phone(browser, server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        _visit(phone, server, "overview")
        sidebar = phone.locator('[data-testid="stSidebar"]')

        def width() -> float:
            return sidebar.evaluate("node => node.getBoundingClientRect().right")

        phone.locator('[data-testid="stExpandSidebarButton"]').click()
        phone.wait_for_function(
            "() => document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right >= 300"
        )
        phone.locator('[data-testid="stSidebarNav"] a').filter(has_text="Usage").click()
        phone.wait_for_url(re.compile(r"/usage"))
        phone.wait_for_function(
            "() => document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right <= 0"
        )
        assert width() <= 0  # one tap per page: it stayed open before
        # The keyboard's place is visible: a focused sidebar link carries the focus ring.
        phone.locator('[data-testid="stExpandSidebarButton"]').click()
        link = phone.locator('[data-testid="stSidebarNav"] a').first
        link.focus()
        phone.keyboard.press("Tab")
        phone.keyboard.press("Shift+Tab")
        outline = link.evaluate(
            "node => getComputedStyle(node).outlineStyle + ' ' + getComputedStyle(node).outlineWidth"
        )
        assert outline == "solid 3px"
    finally:
        context.close()

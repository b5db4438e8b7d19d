"""Dashboard timings: each page run by Streamlit's AppTest (cold and warm cache), one real browser's first paint,
then many viewers at once through the protocol-level load generator (`pipelines.bench.load`).

AppTest runs the page script in this process, so it times our part (queries, frames, charts) without a browser.
The first paint is what a person opening the dashboard waits for: a real server (`ebook-analytics dashboard
--no-auth`, loopback only) and headless Chromium, timed until the page's content is drawn and its script has finished.
The load levels run against a server with sign-in, as deployed: every view checks the session cookie.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil

from dashboards.commands import APP
from dashboards.health import free_port, wait_until_healthy
from pipelines.bench import load
from pipelines.bench.environment import BenchEnvironment
from pipelines.bench.prerequisites import find_chromium
from pipelines.bench.process import cli_command
from pipelines.errors import UserError

if TYPE_CHECKING:
    from playwright.async_api import Browser
    from streamlit.testing.v1 import AppTest

COLD_RUNS = 3  # each on a cleared cache: the first viewer after a publish
WARM_RUNS = 10  # the same page again: every later viewer
PAINTS = 5  # first paints timed, one browser at a time (the median is reported)
PAGE_TIMEOUT_S = 120
# The page's content is drawn (a KPI tile, a chart or a table) and Streamlit says its script run is over.
CONTENT = '[data-testid="stMetric"], .js-plotly-plot, [data-testid="stDataFrame"]'
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@contextmanager
def app_environment(bench: BenchEnvironment) -> Iterator[None]:
    """AppTest reads settings from this process's environment: point it at the bench warehouse, without sign-in."""
    wanted = {**bench.env(), "EBOOK_ANALYTICS_NO_AUTH": "1", "EBOOK_ANALYTICS_BIND_ADDRESS": "127.0.0.1"}
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(wanted)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _timed_run(app_test: AppTest) -> float:
    started = time.perf_counter()
    app_test.run(timeout=PAGE_TIMEOUT_S)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if app_test.exception:
        raise RuntimeError(app_test.exception[0].message)
    return elapsed_ms


def page_timings(bench: BenchEnvironment) -> dict[str, dict[str, float]]:
    """{page: {cold_p50_ms, cold_p95_ms, p50_ms, p95_ms}} (p50/p95 are warm), as admin so every page shows."""
    import streamlit as st
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    from dashboards import publication_cache
    from dashboards.auth import PAGES

    timings = {}
    with app_environment(bench):
        AppTest.from_file(str(APP)).run(timeout=PAGE_TIMEOUT_S)  # imports once, outside every timing
        for page in PAGES:
            cold = []
            for _ in range(COLD_RUNS):
                # Cleared from outside a server, which Streamlit warns about each time; AppTest resets the level.
                set_log_level("error")
                st.cache_data.clear()
                st.cache_resource.clear()
                publication_cache.clear()  # results and figures of every session, in memory and in the folder
                app_test = AppTest.from_file(str(APP))
                app_test.switch_page(f"views/{page}.py")
                cold.append(_timed_run(app_test))
            warm = [_timed_run(app_test) for _ in range(WARM_RUNS)]
            timings[page] = {**{f"cold_{k}": v for k, v in load.percentiles(cold).items()}, **load.percentiles(warm)}
    return timings


@contextmanager
def dashboard_server(bench: BenchEnvironment, *flags: str) -> Iterator[tuple[str, psutil.Process]]:
    """`ebook-analytics dashboard FLAGS` on a free loopback port; stopped (its whole group) on the way out."""
    port = free_port()
    server = subprocess.Popen(
        cli_command("dashboard", *flags, "--host", "127.0.0.1", "--port", str(port)),
        env=bench.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the streamlit child goes down with it
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, server)
        yield base_url, psutil.Process(server.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):  # already gone: nothing left to stop
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


async def _open_page(browser: Browser, url: str) -> float:
    context = await browser.new_context()  # a context per session: its own cookies, its own Streamlit session
    try:
        page = await context.new_page()
        started = time.perf_counter()
        await page.goto(url)
        await page.wait_for_selector(CONTENT, timeout=PAGE_TIMEOUT_S * 1000)
        await page.wait_for_selector(SCRIPT_DONE, timeout=PAGE_TIMEOUT_S * 1000)
        return (time.perf_counter() - started) * 1000
    finally:
        await context.close()


def chromium_path() -> str:
    """Debian's Chromium, or a one-line error (it was there when the bench began: pipelines.bench.prerequisites)."""
    chromium = find_chromium()
    if chromium is None:
        raise UserError("Chromium is no longer on PATH; apt-get install chromium, or use --skip-dashboards")
    return chromium


@contextlib.asynccontextmanager
async def launched(chromium: str) -> AsyncIterator[Browser]:
    """A headless Chromium (Playwright driving Debian's browser), closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def _first_paints(url: str, chromium: str) -> list[float]:
    async with launched(chromium) as browser:
        await _open_page(browser, url)  # the server's first run imports everything: not a user's wait
        return [await _open_page(browser, url) for _ in range(PAINTS)]


def _account(bench: BenchEnvironment) -> tuple[str, str]:
    """The load test's admin account in the bench's home, with a new password each bench run."""
    password = load.new_password()
    # Removed first: a previous bench run left it (`users add` refuses an existing one); absent, this fails harmlessly.
    subprocess.run(cli_command("users", "remove", load.ACCOUNT), env=bench.env(), capture_output=True, check=False)
    run = subprocess.run(
        cli_command("users", "add", load.ACCOUNT, "--role", "admin", "--password-stdin"),
        env=bench.env(),
        input=f"{password}\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise UserError(f"bench: adding the load test's account failed: {run.stderr.strip()}")
    return load.ACCOUNT, password


def measure_dashboards(bench: BenchEnvironment, scale: str, progress: Callable[[str], None]) -> dict[str, Any]:
    """The `pages`, `first_paint_ms`, `load`, `single_session_ms` and `server_cpu_ms_per_view` entries of bench.json."""
    results: dict[str, Any] = {"pages": page_timings(bench)}
    chromium = chromium_path()
    progress(f"first paint in Chromium, {PAINTS} times")
    with dashboard_server(bench, "--no-auth") as (url, _):
        paints = asyncio.run(_first_paints(url, chromium))
    results["first_paint_ms"] = round(float(np.median(paints)), 1)
    levels = load.LEVELS.get(scale, load.DEFAULT_LEVELS)
    credentials = _account(bench)
    with dashboard_server(bench) as (url, server):
        measured = asyncio.run(load.load_test([url], [server], levels, credentials, progress))
    return {**results, **load.bench_entries(measured, levels)}

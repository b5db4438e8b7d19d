"""Dashboard timings: each page run by Streamlit's AppTest (cold and warm cache), then 10 browsers at once.

AppTest runs the page script in this process, so it times our part (queries, frames, charts) without a browser.
The concurrent part is what users feel: a real server (`ebook-analytics dashboard --no-auth`, loopback only) and 10
headless Chromium pages opening the default page together, timed until the page's content is drawn and its script
has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil

from dashboards.commands import APP
from dashboards.health import free_port, wait_until_healthy
from pipelines.bench.environment import BenchEnvironment
from pipelines.bench.prerequisites import find_chromium
from pipelines.bench.process import cli_command
from pipelines.errors import UserError

if TYPE_CHECKING:
    from playwright.async_api import Browser
    from streamlit.testing.v1 import AppTest

COLD_RUNS = 3  # each on a cleared cache: the first viewer after a publish
WARM_RUNS = 10  # the same page again: every later viewer
SESSIONS = 10
ROUNDS = 3  # of SESSIONS browsers at once, so the p95 is not just the slowest of ten
PAGE_TIMEOUT_S = 120
# The page's content is drawn (a KPI tile, a chart or a table) and Streamlit says its script run is over.
CONTENT = '[data-testid="stMetric"], .js-plotly-plot, [data-testid="stDataFrame"]'
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples_ms, 50)), 1),
        "p95_ms": round(float(np.percentile(samples_ms, 95)), 1),
    }


@contextmanager
def _app_environment(bench: BenchEnvironment) -> Iterator[None]:
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
    with _app_environment(bench):
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
            timings[page] = {**{f"cold_{k}": v for k, v in percentiles(cold).items()}, **percentiles(warm)}
    return timings


def _cpu_seconds(root: psutil.Process) -> float:
    """User + system CPU seconds of a process tree so far."""
    total = 0.0
    for member in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


@contextmanager
def _dashboard_server(bench: BenchEnvironment) -> Iterator[tuple[str, psutil.Process]]:
    """`ebook-analytics dashboard --no-auth` on a free loopback port; stopped (its whole group) on the way out."""
    port = free_port()
    server = subprocess.Popen(
        cli_command("dashboard", "--no-auth", "--host", "127.0.0.1", "--port", str(port)),
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


@dataclass(frozen=True)
class Concurrent:
    alone_ms: float  # one session by itself, for comparison
    samples_ms: list[float]  # every session of every round
    server_cpu_ms_per_view: float  # what the server itself spent per view during the rounds


async def _concurrent_sessions(url: str, chromium: str, server: psutil.Process) -> Concurrent:
    from playwright.async_api import async_playwright

    samples: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            await _open_page(browser, url)  # the server's first run imports everything: not a user's wait
            alone = await _open_page(browser, url)
            cpu_before = _cpu_seconds(server)
            for _ in range(ROUNDS):
                samples += await asyncio.gather(*(_open_page(browser, url) for _ in range(SESSIONS)))
            cpu_ms = (_cpu_seconds(server) - cpu_before) * 1000
        finally:
            await browser.close()
    return Concurrent(alone, samples, cpu_ms / len(samples))


def measure_dashboards(bench: BenchEnvironment, progress: Callable[[str], None]) -> dict[str, Any]:
    """The `pages` and `concurrent_*` entries of bench.json."""
    results: dict[str, Any] = {"pages": page_timings(bench)}
    chromium = find_chromium()
    if chromium is None:  # checked before the bench began (pipelines.bench.prerequisites); gone since
        raise UserError("Chromium is no longer on PATH; apt-get install chromium, or use --skip-dashboards")
    progress(f"{SESSIONS} concurrent browser sessions x {ROUNDS} rounds")
    with _dashboard_server(bench) as (url, server):
        concurrent = asyncio.run(_concurrent_sessions(url, chromium, server))
    spread = percentiles(concurrent.samples_ms)
    return {
        **results,
        "single_session_ms": round(concurrent.alone_ms, 1),
        # The server's share of a page view; on this machine the 10 browsers share the same cores.
        "server_cpu_ms_per_view": round(concurrent.server_cpu_ms_per_view, 1),
        "concurrent_p50_ms": spread["p50_ms"],
        "concurrent_p95_ms": spread["p95_ms"],
        "concurrent_sessions": SESSIONS,
    }

"""The first viewer after a publication: how long the default page takes to show its first chart.

A real server (`ebook-analytics dashboard --no-auth`, loopback only) serves the bench warehouse. Each round lands a
new publication the way the publish step does, by committing a new lake snapshot (here of the same data: the bench
times the dashboards, not the ETL), waits until the dashboard's warm-up has drawn the publication's default views
(`dashboards.warm`: its `warmed` marker), then opens the default page in a fresh Chromium context, timed until the
first Plotly chart is drawn. `warm_up_s` is how long after the swap the default views were ready: a viewer arriving
sooner makes what the warm-up has not made yet.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from dashboards.publication_cache import cache_root
from dashboards.warm import wait_until_warmed
from pipelines.bench.dashboards import PAGE_TIMEOUT_S, app_environment, chromium_path, dashboard_server, launched
from pipelines.bench.environment import BenchEnvironment
from pipelines.bench.load import percentiles
from pipelines.publish import lake

PUBLICATIONS = 3
FIRST_CHART = ".js-plotly-plot"
WARM_UP_TIMEOUT_S = 600


def _publish_again(warehouse: Path) -> str:
    """Commit a new snapshot of the same data, as publishing commits one: a new version for the dashboards."""
    return lake.new_snapshot(lake.at(warehouse))


async def _first_chart_ms(url: str, chromium: str) -> float:
    async with launched(chromium) as browser:
        page = await (await browser.new_context()).new_page()
        started = time.perf_counter()
        await page.goto(url)
        await page.wait_for_selector(FIRST_CHART, timeout=PAGE_TIMEOUT_S * 1000)
        return (time.perf_counter() - started) * 1000


def measure_first_view(bench: BenchEnvironment) -> dict[str, Any]:
    """The `first_view_after_publish_ms` (p95 over PUBLICATIONS) and `warm_up_s` entries of bench.json."""
    chromium = chromium_path()
    waits, warm_ups = [], []
    with dashboard_server(bench, "--no-auth") as (url, _):
        asyncio.run(_first_chart_ms(url, chromium))  # the server's first run imports everything: not a user's wait
        with app_environment(bench):  # where `cache_root` finds the bench's cache folder
            for _ in range(PUBLICATIONS):
                version = _publish_again(bench.warehouse)
                warm_ups.append(wait_until_warmed(cache_root() / version, WARM_UP_TIMEOUT_S))
                waits.append(asyncio.run(_first_chart_ms(url, chromium)))
    return {
        "first_view_after_publish_ms": percentiles(waits)["p95_ms"],
        "first_view_after_publish_samples_ms": [round(wait, 1) for wait in waits],
        "warm_up_s": round(max(warm_ups), 1),
    }

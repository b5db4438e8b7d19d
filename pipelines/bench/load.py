"""Many viewers at once, measured at the server: protocol-level sessions (`pipelines.bench.protocol`), not browsers.

Each viewer is one signed-in Streamlit session that goes round `SCENARIO` without pausing: the Overview, its period
changed, Usage, one of its plans picked; every view is timed from the request to the server's `script_finished` and
checked (no exception, no error, the page's heading). A level runs N such viewers together; the server's CPU over the
level (its whole process tree, psutil) divided by the views gives its cost per view. Ten Chromium instances on the
same two cores would measure Chromium: these clients cost the machine little besides decoding the messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psutil

from pipelines.bench.protocol import View, Viewer, ViewFailed

LEVELS: dict[str, tuple[int, ...]] = {"tiny": (1, 3)}  # every other scale: DEFAULT_LEVELS
DEFAULT_LEVELS = (1, 10, 50, 100)
MIN_VIEWS = 20  # per level: the one-viewer level goes round the scenario several times, so its p95 means something
ACCOUNT = "bench-load@example.invalid"  # the bench's own admin account, in the bench's own home
PERIODS = ("Last 30 days", "Last 7 days", "Last complete month", "Quarter to date")


@dataclass(frozen=True)
class Step:
    heading: str  # what the page shows as its title: the view is the expected page
    action: Callable[[Viewer, View | None, int], Awaitable[View]]  # (viewer, last view, viewer index) -> view


def _choice(options: Sequence[str], index: int) -> str:
    if not options:
        raise ViewFailed("the filter offers no choices")
    return options[index % len(options)]


SCENARIO = (
    Step("Overview", lambda viewer, last, index: viewer.open("overview")),
    Step(
        "Overview",
        lambda viewer, last, index: viewer.choose(_shown(last), "Period", PERIODS[index % len(PERIODS)]),
    ),
    Step("Usage", lambda viewer, last, index: viewer.open("usage")),
    Step(
        "Usage",
        lambda viewer, last, index: viewer.choose(
            _shown(last), "Plan", [_choice(_shown(last).widget("Plan").options, index)]
        ),
    ),
)


def _shown(view: View | None) -> View:
    if view is None:
        raise ViewFailed("a filter change needs the page it changes")
    return view


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples_ms, 50)), 1),
        "p95_ms": round(float(np.percentile(samples_ms, 95)), 1),
    }


def summarize(samples_ms: Sequence[float], server_cpu_s: float) -> dict[str, float]:
    """A level's line of bench.json: p50/p95 per view and the server's CPU milliseconds per view."""
    if not samples_ms:
        raise ValueError("a level without a single view has no statistics")
    return {**percentiles(samples_ms), "cpu_ms_per_view": round(server_cpu_s * 1000 / len(samples_ms), 1)}


def views_per_viewer(viewers: int) -> int:
    """At least one round of the scenario each, and at least MIN_VIEWS in the level."""
    rounds = math.ceil(max(MIN_VIEWS / viewers, len(SCENARIO)) / len(SCENARIO))
    return rounds * len(SCENARIO)


def cpu_seconds(root: psutil.Process) -> float:
    """User + system CPU seconds of a process tree so far."""
    total = 0.0
    for member in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def checked(view: View, step: Step) -> View:
    """The view, if it is the page the step opens, whole: no exception, no error message, its heading shown."""
    if view.exceptions or view.errors:
        raise ViewFailed(f"{step.heading}: {[*view.exceptions, *view.errors]}")
    if step.heading not in view.headings:
        raise ViewFailed(f"expected the {step.heading} page, got headings {view.headings}")
    return view


async def viewer_session(base_url: str, cookie: str | None, index: int, views: int) -> list[View]:
    """One viewer's `views` page views, round the scenario from the start (viewer `index` picks its filters)."""
    shown: list[View] = []
    last: View | None = None
    async with Viewer(base_url, cookie) as viewer:
        for number in range(views):
            step = SCENARIO[number % len(SCENARIO)]
            last = checked(await step.action(viewer, last, index), step)
            shown.append(last)
    return shown


@dataclass(frozen=True)
class Level:
    viewers: int
    planned_views: int
    views: list[View]  # the views that completed, checked
    failures: list[str]  # why a viewer stopped early: its remaining views did not happen
    server_cpu_s: float
    wall_s: float

    def summary(self) -> dict[str, float | None]:
        """The level's line of bench.json; `failed_views` counts the views that never completed."""
        failed = {"failed_views": self.planned_views - len(self.views)}
        if not self.views:
            return {"p50_ms": None, "p95_ms": None, "cpu_ms_per_view": None, **failed}
        return {**summarize([view.elapsed_ms for view in self.views], self.server_cpu_s), **failed}


async def _viewer_or_failure(base_url: str, cookie: str | None, index: int, views: int) -> list[View] | str:
    try:
        return await viewer_session(base_url, cookie, index, views)
    except (ViewFailed, OSError) as failed:  # refused, closed or timed out: counted, the others go on
        return f"viewer {index}: {failed}"


async def run_level(
    base_urls: Sequence[str],
    cookie: str | None,
    viewers: int,
    servers: Sequence[psutil.Process],
    views: int | None = None,
) -> Level:
    """`viewers` sessions at once, each `views` views (default `views_per_viewer`), dealt round the servers'
    `base_urls` (as a balancer would); the CPU of all the servers over them all."""
    views = views or views_per_viewer(viewers)
    before, started = sum(map(cpu_seconds, servers)), time.perf_counter()
    outcomes = await asyncio.gather(
        *(_viewer_or_failure(base_urls[index % len(base_urls)], cookie, index, views) for index in range(viewers))
    )
    wall_s, cpu_s = time.perf_counter() - started, sum(map(cpu_seconds, servers)) - before
    shown = [view for outcome in outcomes if not isinstance(outcome, str) for view in outcome]
    failures = [outcome for outcome in outcomes if isinstance(outcome, str)]
    return Level(viewers, viewers * views, shown, failures, cpu_s, wall_s)


async def sign_in(base_url: str, email: str, password: str) -> str:
    """The session cookie of a sign-in through the form (all viewers present it, as tabs of one browser would)."""
    async with Viewer(base_url) as viewer:
        return await viewer.sign_in(email, password)


async def load_test(
    base_urls: Sequence[str],
    servers: Sequence[psutil.Process],
    levels: Sequence[int],
    credentials: tuple[str, str] | None,
    progress: Callable[[str], None],
) -> dict[str, dict[str, float | None]]:
    """{viewers: {p50_ms, p95_ms, cpu_ms_per_view, failed_views}} per level, after one unmeasured round on each
    server (imports, caches)."""
    cookie = await sign_in(base_urls[0], *credentials) if credentials else None
    for base_url in base_urls:
        await viewer_session(base_url, cookie, 0, len(SCENARIO))
    results = {}
    for viewers in levels:
        progress(f"{viewers} protocol viewers x {views_per_viewer(viewers)} views")
        level = await run_level(base_urls, cookie, viewers, servers)
        for failure in level.failures:
            progress(failure)
        results[str(viewers)] = level.summary()
    return results


def new_password() -> str:
    return secrets.token_urlsafe(18)


def bench_entries(load: dict[str, dict[str, float | None]], levels: Sequence[int]) -> dict[str, Any]:
    """bench.json's `load`, and the one-viewer level's figures under the keys the issue's targets name."""
    alone = load[str(levels[0])]
    return {
        "load": load,
        "single_session_ms": alone["p50_ms"],
        "server_cpu_ms_per_view": alone["cpu_ms_per_view"],
    }

"""The protocol-level load generator (pipelines.bench.load, pipelines.bench.protocol): its statistics, and a small
real run against `ebook-analytics dashboard` with sign-in on the shared hand-made publication."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psutil
import pytest

from pipelines.bench import load
from pipelines.bench.protocol import View, Viewer
from pipelines.bench.report import finish, markdown
from tests.conftest import copy_published, run_cli
from tests.test_browser import _serving

PASSWORD = "correct horse battery"
ANALYST = "ana@example.com"
MARCH = {"dates": ["2024-03-01", "2024-03-31"]}


@pytest.mark.fast
def test_a_level_is_summed_up_by_its_percentiles_and_the_server_cpu_per_view():
    # numpy's linear rule: p50 of 100..400 is halfway between 200 and 300; p95 is 95% of the way from 100 to 400.
    assert load.summarize([400.0, 100.0, 300.0, 200.0], server_cpu_s=1.3) == {
        "p50_ms": 250.0,
        "p95_ms": 385.0,
        "cpu_ms_per_view": 325.0,  # 1.3 s of server CPU over 4 views
    }
    assert load.summarize([80.0], server_cpu_s=0.0123) == {"p50_ms": 80.0, "p95_ms": 80.0, "cpu_ms_per_view": 12.3}
    with pytest.raises(ValueError, match="without a single view"):
        load.summarize([], server_cpu_s=1.0)


@pytest.mark.fast
def test_a_level_counts_the_views_its_failed_viewers_never_made():
    views = [View(page="usage", elapsed_ms=ms) for ms in (100.0, 300.0)]
    level = load.Level(3, planned_views=12, views=views, failures=["viewer 1: closed"], server_cpu_s=0.5, wall_s=1.0)
    assert level.summary() == {"p50_ms": 200.0, "p95_ms": 290.0, "cpu_ms_per_view": 250.0, "failed_views": 10}
    nothing = load.Level(1, planned_views=4, views=[], failures=["viewer 0: refused"], server_cpu_s=0.1, wall_s=1.0)
    assert nothing.summary() == {"p50_ms": None, "p95_ms": None, "cpu_ms_per_view": None, "failed_views": 4}


@pytest.mark.fast
def test_each_viewer_goes_round_the_scenario_and_each_level_holds_at_least_twenty_views():
    assert len(load.SCENARIO) == 4
    assert {viewers: load.views_per_viewer(viewers) for viewers in (1, 3, 6, 10, 50, 100)} == {
        1: 20,  # five rounds: a p95 of 20 views
        3: 8,  # 24 views
        6: 4,  # 24 views
        10: 4,
        50: 4,
        100: 4,
    }
    assert load.bench_entries({"1": {"p50_ms": 90.0, "p95_ms": 120.0, "cpu_ms_per_view": 45.5}}, (1,)) == {
        "load": {"1": {"p50_ms": 90.0, "p95_ms": 120.0, "cpu_ms_per_view": 45.5}},
        "single_session_ms": 90.0,
        "server_cpu_ms_per_view": 45.5,
    }


@pytest.fixture(scope="module")
def server(published_dataset: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """The dashboard with sign-in on a copy of the shared publication, with one analyst account: (URL, its pid)."""
    env = copy_published(published_dataset, tmp_path_factory.mktemp("load"))
    run_cli("users", "add", ANALYST, "--role", "analyst", "--password-stdin", env=env, input=f"{PASSWORD}\n")
    with _serving(env, "dashboard") as (base, process):
        yield base, process.pid


def _usage_in_march(base: str, cookie: str) -> list[View]:
    async def viewer() -> list[View]:
        async with Viewer(base, cookie) as tab:
            march = await tab.open("usage", **MARCH)
            return [march, await tab.choose(march, "Tier", ["premium"])]

    async def three() -> list[list[View]]:
        return await asyncio.gather(*(viewer() for _ in range(3)))

    return [view for views in asyncio.run(three()) for view in views]


def test_three_signed_in_viewers_open_usage_and_filter_it_at_once(server: tuple[str, int]) -> None:
    base, _ = server
    cookie = asyncio.run(load.sign_in(base, ANALYST, PASSWORD))

    views = _usage_in_march(base, cookie)

    assert len(views) == 6
    for view in views:
        assert (view.exceptions, view.errors) == ([], [])
        assert "Usage" in view.headings and f"Signed in as **{ANALYST}** (analyst)" in view.texts
        assert view.elapsed_ms > 0
    # March: Alice, Bob and Carol have usage (Dave's is in February); Alice alone is premium.
    assert [view.metrics["Users with usage"] for view in views] == ["3", "1"] * 3


@pytest.mark.parametrize("cookie", [None, "made-up.4102444800.c2lnbmF0dXJl"])
def test_without_a_valid_cookie_a_viewer_gets_the_sign_in_form_and_no_figures(
    server: tuple[str, int], cookie: str | None
) -> None:
    base, _ = server

    async def stranger() -> View:
        async with Viewer(base, cookie) as tab:
            return await tab.open("usage", **MARCH)

    view = asyncio.run(stranger())
    assert view.metrics == {} and "Usage" not in view.headings
    assert {"Email", "Password", "Sign in"} <= view.widgets.keys()


def test_the_bench_scenario_runs_three_viewers_and_measures_the_server(server: tuple[str, int]) -> None:
    base, pid = server
    cookie = asyncio.run(load.sign_in(base, ANALYST, PASSWORD))

    level = asyncio.run(load.run_level([base], cookie, 3, [psutil.Process(pid)], views=len(load.SCENARIO)))

    # Each view was checked as it came (load.checked: no exception or error, the step's page); here, which pages.
    assert [view.page for view in level.views] == ["overview", "overview", "usage", "usage"] * 3
    assert level.failures == [] and level.server_cpu_s > 0
    summary = level.summary()
    assert summary.keys() == {"p50_ms", "p95_ms", "cpu_ms_per_view", "failed_views"}
    assert summary["failed_views"] == 0 and 0 < summary["p50_ms"] <= summary["p95_ms"]


@pytest.mark.fast
def test_the_report_tables_the_levels_and_checks_the_issue_targets():
    levels = {
        "1": {"p50_ms": 90.0, "p95_ms": 120.0, "cpu_ms_per_view": 45.0, "failed_views": 0},
        "50": {"p50_ms": 800.0, "p95_ms": 1250.0, "cpu_ms_per_view": 60.0, "failed_views": 2},
    }
    results = finish({"scale": "medium", "first_paint_ms": 950.0, **load.bench_entries(levels, (1, 50))})

    met = {
        key: results["targets"][key]["met"] for key in ("first_paint_ms", "server_cpu_ms_per_view", "load_50_p95_ms")
    }
    assert met == {"first_paint_ms": True, "server_cpu_ms_per_view": True, "load_50_p95_ms": False}
    assert results["targets"]["load_50_p95_ms"]["value"] == 1250.0
    text = markdown(results)
    assert "| 50 | 800.0 | 1,250.0 | 60.0 | 2 |" in text
    assert "| one protocol viewer alone: p50 per page view (open or filter change) | 90.0 | ms |" in text

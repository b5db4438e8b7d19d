"""Page views share what a publication makes: query results and figures made once, by one session or one process,
and the default views made before the first viewer asks (dashboards.publication_cache, dashboards.warm)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import publication_cache, warm
from dashboards.commands import APP
from dashboards.publication_cache import FIGURES, RESULTS
from pipelines.publish import lake
from tests.app_sessions import sign_in
from tests.conftest import copy_published

MARCH = ["2024-03-01", "2024-03-31"]
TIMEOUT = 120
# The hand-made dataset's March overview (tests/test_dashboards.py works each out).
MARCH_OVERVIEW = {
    "MRR": "$56.67",
    "Book sales": "$200.00",
    "Active writers": "1",
    "Words written": "1,590",
    "AI cost": "$0.06",
    "Gross margin": "$56.61",
    "Daily active users": "0",
}


@pytest.fixture
def home(published_dataset: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the published data folder (its own warehouse file, so its own cache), served without sign-in."""
    env = copy_published(published_dataset, tmp_path)
    home = Path(env["EBOOK_ANALYTICS_HOME"])
    for name, value in {
        "EBOOK_ANALYTICS_HOME": str(home),
        "EBOOK_ANALYTICS_WAREHOUSE": env["EBOOK_ANALYTICS_WAREHOUSE"],
        "EBOOK_ANALYTICS_BIND_ADDRESS": "127.0.0.1",
        "EBOOK_ANALYTICS_PSEUDONYM_KEY": "test-key",
        "EBOOK_ANALYTICS_NO_AUTH": "1",
    }.items():
        monkeypatch.setenv(name, value)
    # A dashboard process of its own: a publication's version is its catalog file's inode, snapshot id and commit
    # time, and a copy (which keeps the times) made after an earlier test's folder was deleted can reuse that folder's
    # inode, so this process's caches would take the copy for the earlier test's publication (entries in memory,
    # nothing written to this home's folder).
    _forget()
    return home


def _open(page: str, query: dict[str, object] | None = None, signed_in: str | None = None) -> AppTest:
    """A new session (a new tab) opening `page`, in this process: the server's caches are this process's."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if signed_in:
        sign_in(at, signed_in)
    at.switch_page(f"views/{page}.py")
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [exception.value for exception in at.exception]
    return at


def _counts() -> dict[str, int]:
    return {
        f"{cache.kind}s {what}": getattr(cache.counts, what)
        for cache in (RESULTS, FIGURES)
        for what in ("made", "loaded", "shared")
    }


def _since(before: dict[str, int]) -> dict[str, int]:
    return {key: value - before[key] for key, value in _counts().items()}


def _forget() -> None:
    """What another dashboard process on the same data folder starts with: nothing in memory."""
    from dashboards import data

    for cache in (RESULTS, FIGURES):
        cache.clear()
    data._annotations.cache_clear()


def _version_folders(home: Path) -> list[str]:
    return sorted(folder.name for folder in (home / "dashboard-cache").iterdir())


def test_a_second_session_and_a_second_process_make_nothing_again(home: Path) -> None:
    before = _counts()
    first = _open("overview", {"dates": MARCH})
    assert {metric.label: metric.value for metric in first.metric} == MARCH_OVERVIEW
    made = _since(before)
    charts = len(first.get("plotly_chart"))
    assert charts == 4  # MRR by plan, AI cost, words written, daily active users
    assert made["figures made"] == charts and made["results made"] > 0

    before = _counts()
    second = _open("overview", {"dates": MARCH})  # another viewer, same filters
    assert {metric.label: metric.value for metric in second.metric} == MARCH_OVERVIEW
    assert [chart.proto.spec for chart in second.get("plotly_chart")] == [
        chart.proto.spec for chart in first.get("plotly_chart")
    ]
    shared = _since(before)
    assert (shared["results made"], shared["figures made"], shared["figures loaded"]) == (0, 0, 0)
    assert shared["figures shared"] == charts

    # Another dashboard process on the same data folder: nothing in its memory, everything in the folder.
    _forget()
    before = _counts()
    third = _open("overview", {"dates": MARCH})
    assert {metric.label: metric.value for metric in third.metric} == MARCH_OVERVIEW
    loaded = _since(before)
    assert (loaded["results made"], loaded["figures made"]) == (0, 0)
    assert (loaded["results loaded"], loaded["figures loaded"]) == (made["results made"], charts)

    # Another period is the viewer's own work: its rows and figures, nothing else.
    before = _counts()
    _open("overview", {"dates": ["2024-02-01", "2024-02-29"]})
    other = _since(before)
    assert other["figures made"] + other["figures shared"] == 4 and other["results made"] > 0


def test_a_new_publication_retires_the_old_entries(home: Path) -> None:
    warehouse = Path(os.environ["EBOOK_ANALYTICS_WAREHOUSE"])
    _open("overview", {"dates": MARCH})
    old = warm.publication_version()
    assert _version_folders(home) == [old]

    # Publishing commits a new snapshot: the same data here, so the same numbers, from a new version's entries.
    new = lake.new_snapshot(lake.at(warehouse))
    before = _counts()
    at = _open("overview", {"dates": MARCH})
    assert {metric.label: metric.value for metric in at.metric} == MARCH_OVERVIEW
    assert _since(before)["figures made"] == 4  # nothing of the old publication is reachable
    for _ in range(100):  # its folder is deleted beside the view, not in it
        if _version_folders(home) == [new]:
            break
        time.sleep(0.1)
    assert _version_folders(home) == [new]
    assert FIGURES.version == new and old in FIGURES.retired


def test_an_analyst_never_gets_an_admins_people(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboards.auth.users import add_user

    admin = _open("ai_cost", {"dates": MARCH})
    names = next(frame.value for frame in admin.dataframe if "user" in frame.value.columns)["user"]
    assert names.str.contains("@").all()

    monkeypatch.delenv("EBOOK_ANALYTICS_NO_AUTH")
    add_user("ana@example.com", "analyst", "correct horse battery")
    before = _counts()
    analyst = _open("ai_cost", {"dates": MARCH}, signed_in="ana@example.com")
    keys = next(frame.value for frame in analyst.dataframe if "user" in frame.value.columns)["user"]
    assert keys.str.fullmatch(r"u_[0-9a-f]{12}").all() and len(keys) == len(names)
    # The same query results serve both (they hold ids, not people); the charts draw the same rows, so the same
    # figures. Only what the role changes is the analyst's own.
    assert _since(before)["figures made"] == 0


def test_a_figure_is_addressed_by_its_rows() -> None:
    named = pd.DataFrame({"user": ["Alice Smith <alice@example.com>"], "cost": [1.5]})
    keyed = pd.DataFrame({"user": ["u_0123456789ab"], "cost": [1.5]})
    address = publication_cache.figure_address
    assert address("spenders", named, None) != address("spenders", keyed, None)
    assert address("spenders", named, None) == address("spenders", named.copy(), None)
    assert address("spenders", named, None) != address("other_chart", named, None)


def test_the_warm_up_draws_every_roles_default_view_first() -> None:
    views = warm.views()
    assert views[:4] == [
        ("admin", "overview"),
        ("finance", "overview"),
        ("analyst", "overview"),
        ("product", "overview"),
    ]
    assert len(views) == 23  # admin 8, finance 5, analyst 6, product 4 pages that read the warehouse


def test_a_warm_up_stopped_with_the_dashboard_leaves_nothing_in_tmp(home: Path, tmp_path: Path) -> None:
    """Stopping the dashboard stops its process group, the warm-up of a new publication included: the warm-up exits
    as on Ctrl+C (130, no traceback), and the page scripts its headless runner wrote in the temp folder go with it."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    lake.new_snapshot(lake.at(Path(os.environ["EBOOK_ANALYTICS_WAREHOUSE"])))  # a publication to warm
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboards.warm"],
        env={**os.environ, "TMPDIR": str(scratch)},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while not any(scratch.glob("*/*")):  # the runner has written its first page script: it is drawing
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=TIMEOUT) == 130
    assert (list(scratch.iterdir()), process.stderr.read()) == ([], "")


def test_the_dashboard_warms_a_new_publication_before_its_first_viewer(home: Path) -> None:
    warehouse = Path(os.environ["EBOOK_ANALYTICS_WAREHOUSE"])
    stop = threading.Event()
    watcher = threading.Thread(target=warm.watch, args=(warehouse, dict(os.environ), stop))
    watcher.start()
    try:
        version = lake.new_snapshot(lake.at(warehouse))  # a publication lands
        warm.wait_until_warmed(home / "dashboard-cache" / version)
    finally:
        stop.set()
        watcher.join()
    assert warm.warm() == 0  # warmed: a second dashboard process finds the marker and skips

    # The first viewer of the new publication, on a process that made nothing itself: the default view is ready.
    _forget()
    before = _counts()
    at = _open("overview")
    assert len(at.get("plotly_chart")) == 4
    first = _since(before)
    assert (first["results made"], first["figures made"], first["figures loaded"]) == (0, 0, 4)

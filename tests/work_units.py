"""How tests/run.sh splits the suite between its two xdist workers (`--dist loadgroup --no-loadscope-reorder`).

Work units: the tests that share a module (or class) fixture are one unit, kept on one worker so the fixture is built
once; every other test is a unit of its own, so the two workers share the long modules instead of one worker taking
each. Order: longest unit first (the longest-processing-time rule), so the run ends on short units and both workers
finish together. The lengths are those of the last run in this checkout (pytest's cache); a unit never timed counts
one second per test, which on a fresh checkout orders the units by their number of tests.
"""

from __future__ import annotations

from typing import Any

import pytest

SHARED_SCOPES = {"package", "module", "class"}
DURATIONS_KEY = "ebook-analytics/test-durations"
UNKNOWN_SECONDS = 1.0


def _group(item: pytest.Item) -> str | None:
    """The module of a test that uses a module, class or package fixture (directly or through another fixture)."""
    info = getattr(item, "_fixtureinfo", None)
    chains = info.name2fixturedefs.values() if info is not None else ()
    if any(definition.scope in SHARED_SCOPES for chain in chains for definition in chain):
        return item.nodeid.split("::")[0]
    return None


def _plain_id(nodeid: str) -> str:
    """A test id without the `@group` suffix xdist adds under loadgroup (a parameter id may hold an `@` itself)."""
    return nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
        units.setdefault(group or item.nodeid, []).append(item)
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is None:
        return  # not an xdist worker: the file order
    durations: dict[str, float] = worker_input.get("test_durations") or {}

    def length(unit: list[pytest.Item]) -> float:
        return sum(durations.get(item.nodeid, UNKNOWN_SECONDS) for item in unit)

    # Every worker sorts the same collection with the same durations (sent by the controller): identical orders.
    items[:] = [item for unit in sorted(units.values(), key=length, reverse=True) for item in unit]


class _Timer:
    """In the xdist controller: each test's setup, call and teardown seconds, kept in the cache for the next run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: dict[str, float] = {}

    def pytest_configure_node(self, node: Any) -> None:
        cache = getattr(self.config, "cache", None)
        node.workerinput["test_durations"] = cache.get(DURATIONS_KEY, {}) if cache is not None else {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = _plain_id(report.nodeid)
        self.seconds[nodeid] = self.seconds.get(nodeid, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)
        if cache is not None and self.seconds:
            cache.set(DURATIONS_KEY, {**cache.get(DURATIONS_KEY, {}), **self.seconds})


@pytest.hookimpl(trylast=True)  # after xdist registered its controller
def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("dsession"):  # the xdist controller (`-n`): it alone sees every report
        config.pluginmanager.register(_Timer(config), "ebook-analytics-test-timer")

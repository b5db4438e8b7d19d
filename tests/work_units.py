"""How tests/run.sh splits the suite between its two xdist workers (`--dist loadscope --no-loadscope-reorder`).

Work units: the tests that share a module (or class, or the module's own session) fixture are one unit, kept on one
worker so the fixture is built once; every other test is a unit of its own, so the two workers share the long modules
instead of one worker taking each. Order: longest unit first (the longest-processing-time rule), so the run ends on
short units and both workers finish together. The lengths are those of the last run in this checkout (pytest's
cache), else those committed in tests/durations.json (a fresh checkout, as in CI); a unit never timed counts one second
per test. `python -m tests.work_units` writes this checkout's last durations into tests/durations.json.

xdist's own `xdist_group` marks would say the same, but under pytest 9 they group nothing (xdist 3.8 renames
`item._nodeid`, which pytest 9 no longer reads), so the workers hand their units to the controller's scheduler in a
file instead.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

SHARED_SCOPES = {"package", "module", "class"}
DURATIONS_KEY = "ebook-analytics/test-durations"
COMMITTED_DURATIONS = Path(__file__).with_name("durations.json")
UNKNOWN_SECONDS = 1.0


def _shared(definition: Any) -> bool:
    """A fixture built once for several tests of one module: module, class or package scope, or a session fixture
    of the test module itself (a conftest's session fixture is built once per worker whatever the split)."""
    own_session = definition.scope == "session" and str(definition.baseid).endswith(".py")
    return definition.scope in SHARED_SCOPES or own_session


def _unit(item: pytest.Item) -> str:
    """The module of a test that uses a shared fixture (directly or through another fixture), else the test itself."""
    info = getattr(item, "_fixtureinfo", None)
    chains = info.name2fixturedefs.values() if info is not None else ()
    if any(_shared(definition) for chain in chains for definition in chain):
        return item.nodeid.split("::")[0]
    return item.nodeid


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is None or "work_units" not in worker_input:
        return  # not a worker of tests/run.sh's scheduling: the file order
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(_unit(item), []).append(item)
    durations: dict[str, float] = worker_input["test_durations"]

    def length(unit: list[pytest.Item]) -> float:
        return sum(durations.get(item.nodeid, UNKNOWN_SECONDS) for item in unit)

    # Every worker sorts the same collection with the same durations (sent by the controller): identical orders.
    items[:] = [item for unit in sorted(units.values(), key=length, reverse=True) for item in unit]
    # Both workers write the same mapping; a rename makes each write whole.
    target = Path(worker_input["work_units"])
    scratch = target.with_name(f"{target.name}.{os.getpid()}")
    scratch.write_text(json.dumps({item.nodeid: name for name, unit in units.items() for item in unit}))
    os.replace(scratch, target)


class _UnitScheduling(LoadScopeScheduling):
    """xdist's scope scheduling, with the workers' units as the scopes (read once every worker collected)."""

    def __init__(self, config: pytest.Config, units: Path, log: Any = None) -> None:
        super().__init__(config, log)
        self._units_file = units
        self._units: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._units is None:
            self._units = json.loads(self._units_file.read_text())
        return self._units.get(nodeid, nodeid)


class _Controller:
    """In the xdist controller: schedules by work unit, and keeps each test's seconds in the cache for the next run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.units = Path(tempfile.mkdtemp(prefix="work-units-")) / "units.json"
        self.seconds: dict[str, float] = {}

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
        return _UnitScheduling(config, self.units, log) if config.getvalue("dist") == "loadscope" else None

    def pytest_configure_node(self, node: Any) -> None:
        if self.config.getvalue("dist") != "loadscope":
            return
        cache = getattr(self.config, "cache", None)
        measured = cache.get(DURATIONS_KEY, {}) if cache is not None else {}
        node.workerinput["test_durations"] = {**_committed_durations(), **measured}
        node.workerinput["work_units"] = str(self.units)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)
        if cache is not None and self.seconds:
            cache.set(DURATIONS_KEY, {**cache.get(DURATIONS_KEY, {}), **self.seconds})
        self.units.unlink(missing_ok=True)
        self.units.parent.rmdir()


def _committed_durations() -> dict[str, float]:
    return json.loads(COMMITTED_DURATIONS.read_text()) if COMMITTED_DURATIONS.exists() else {}


@pytest.hookimpl(trylast=True)  # after xdist registered its controller
def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("dsession"):  # the xdist controller (`-n`): it alone sees every report
        config.pluginmanager.register(_Controller(config), "ebook-analytics-work-units")


def commit_durations() -> int:
    """Write the durations of this checkout's last run (pytest's cache, `.pytest_cache/v/<key>`) into
    tests/durations.json, to the tenth of a second, for the schedules of fresh checkouts; returns how many."""
    cached = COMMITTED_DURATIONS.parents[1] / ".pytest_cache" / "v" / DURATIONS_KEY
    durations: dict[str, float] = json.loads(cached.read_text()) if cached.exists() else {}
    COMMITTED_DURATIONS.write_text(json.dumps({k: round(v, 1) for k, v in sorted(durations.items())}, indent=0) + "\n")
    return len(durations)


if __name__ == "__main__":
    print(f"{commit_durations()} tests' durations written to {COMMITTED_DURATIONS}")

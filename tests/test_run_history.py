"""The run history (`runs.jsonl`) read newest first from its end, whatever its length (fast: no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.publish import history

pytestmark = pytest.mark.fast


@pytest.fixture
def runs_file(tmp_path: Path) -> Path:
    path = tmp_path / "runs.jsonl"
    for n, status in enumerate(["published", "failed", "partial", "blocked", "failed"], start=1):
        history.append_run(path, {"run_id": f"run-{n}", "status": status, "note": "é" * n})  # 2 bytes a letter
    with path.open("ab") as handle:
        handle.write(b'{"run_id": "run-6", "sta')  # a crash mid-write
    return path


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 16])  # blocks shorter than a line, splitting letters too
def test_lines_come_newest_first_whatever_the_block(runs_file: Path, block: int) -> None:
    expected = list(reversed(runs_file.read_bytes().split(b"\n")))
    assert list(history._lines_newest_first(runs_file, block)) == [line for line in expected if line]


def test_runs_are_newest_first_and_a_torn_line_is_skipped(runs_file: Path, tmp_path: Path) -> None:
    assert [run["run_id"] for run in history.read_runs(runs_file)] == ["run-5", "run-4", "run-3", "run-2", "run-1"]
    assert [run["run_id"] for run in history.read_runs(runs_file, limit=2)] == ["run-5", "run-4"]
    assert history.last_published(runs_file) == {"run_id": "run-3", "status": "partial", "note": "ééé"}
    assert history.read_runs(tmp_path / "none.jsonl") == [] and history.last_published(tmp_path / "none") is None

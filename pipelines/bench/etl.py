"""The real ETL, run as the user runs it (a child process), timed, with the step split from its run record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.bench.process import run_step
from pipelines.errors import UserError


@dataclass(frozen=True)
class EtlRun:
    seconds: float  # wall time of the whole process, start-up included
    peak_rss_mb: float
    record: dict[str, Any]  # the run's line in runs.jsonl

    @property
    def steps(self) -> dict[str, float]:
        steps: dict[str, float] = self.record.get("steps", {})
        return steps

    @property
    def rows_read(self) -> int:
        return sum(table.get("rows_read", 0) for table in self.record.get("tables", {}).values())


def last_run(run_history: Path) -> dict[str, Any]:
    lines = run_history.read_text().splitlines() if run_history.exists() else []
    if not lines:
        raise UserError(f"bench: the ETL left no run record in {run_history}; check `ebook-analytics runs`")
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def run_etl(*flags: str, env: dict[str, str], run_history: Path) -> EtlRun:
    """`etl run FLAGS`; the run must publish, or the bench stops with the run's own error."""
    measured = run_step("the ETL run", "etl", "run", *flags, env=env)
    record = last_run(run_history)
    if record.get("status") != "published":
        raise UserError(f"bench: the ETL run ended {record.get('status')!r}, not published: {record.get('error')}")
    return EtlRun(measured.seconds, measured.peak_rss_mb, record)

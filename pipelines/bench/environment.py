"""The bench's own data: a dedicated home (`<home>/bench-<scale>`) with its own embedded PostgreSQL and warehouse.

The user's demo source and warehouse are never touched: the bench seeds only a database that is empty or that it
seeded itself (a marker file in its home says which scale), because it also appends days to it (`source advance`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.bench.process import run_step
from pipelines.config import paths
from pipelines.connections import connect, redact
from pipelines.errors import UserError
from pipelines.queries import one_row, sql_file
from pipelines.source import server
from pipelines.source.seed.advance import days_addable, history_end

# The history ends this many days before today, so every bench run (each appends a day) finds a day to append.
HEADROOM_DAYS = 30


@dataclass(frozen=True)
class BenchEnvironment:
    home: Path
    source_url: str
    started_pgdata: Path | None  # the embedded server the bench started, stopped again by `close`

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse" / "analytics.ducklake"

    @property
    def run_history(self) -> Path:
        return self.warehouse.parent / "runs.jsonl"

    @property
    def seed_marker(self) -> Path:
        return self.home / "seeded.json"

    def env(self) -> dict[str, str]:
        """The environment of every CLI step: the user's own EBOOK_ANALYTICS_* settings are left out."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("EBOOK_ANALYTICS_")}
        env.update(
            EBOOK_ANALYTICS_HOME=str(self.home),
            EBOOK_ANALYTICS_SOURCE_URL=self.source_url,
            EBOOK_ANALYTICS_WAREHOUSE=str(self.warehouse),
        )
        return env

    def cli(self, what: str, *args: str) -> float:
        """Run one CLI step in this environment; returns its seconds."""
        return run_step(what, *args, env=self.env()).seconds

    def close(self) -> None:
        if self.started_pgdata is not None:
            server.stop(self.started_pgdata)


def open_environment(scale: str, source_url: str | None) -> BenchEnvironment:
    """The bench home for this scale, with its source: the given URL, else the home's own embedded server."""
    home = paths().home / f"bench-{scale}"
    home.mkdir(parents=True, exist_ok=True)
    if source_url:
        return BenchEnvironment(home, source_url, started_pgdata=None)
    pgdata = home / "pg"
    already_running = server.url(pgdata) is not None
    url = server.start(pgdata)
    return BenchEnvironment(home, url, started_pgdata=None if already_running else pgdata)


def ensure_seeded(bench: BenchEnvironment, scale: str) -> float:
    """Schema up to date and history at this scale; returns the seconds spent seeding (0 when already seeded)."""
    bench.cli("source init", "source", "init")
    with connect(bench.source_url) as conn:
        empty = one_row(conn.execute(sql_file("bench/source_is_empty")))[0]
    if not empty:
        marker = json.loads(bench.seed_marker.read_text()) if bench.seed_marker.exists() else {}
        if (marker.get("scale"), marker.get("source")) != (scale, redact(bench.source_url)):
            raise UserError(
                f"bench: {redact(bench.source_url)} already holds data the bench did not seed at scale {scale}; "
                "give --source-url an empty database (the bench appends days to it), or omit it"
            )
        _check_a_day_can_be_added(bench)
        return 0.0
    end_date = datetime.now(UTC).date() - timedelta(days=HEADROOM_DAYS)
    seconds = bench.cli("seeding", "source", "seed", "--scale", scale, "--end-date", end_date.isoformat())
    bench.seed_marker.write_text(
        json.dumps({"scale": scale, "source": redact(bench.source_url), "seeded_at": datetime.now(UTC).isoformat()})
    )
    return seconds


def _check_a_day_can_be_added(bench: BenchEnvironment) -> None:
    """Before any measurement: the incremental part appends a day (`source advance --days 1`), which must end
    before today."""
    with connect(bench.source_url) as conn:
        last_day = history_end(conn)
    if last_day is not None and days_addable(last_day, datetime.now(UTC).date()) < 1:
        raise UserError(
            f"bench: the seeded history ends on {last_day}, so its next day can be added from "
            f"{last_day + timedelta(days=2)} on (UTC); run the bench then, or seed afresh: delete {bench.home} "
            "(after `ebook-analytics source stop` on it) or give --source-url an empty database"
        )

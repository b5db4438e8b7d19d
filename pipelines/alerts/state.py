"""The alert state: a SQLite table of episodes beside the run history (`alerts.sqlite` in the warehouse folder).

An episode opens when a subject first breaches a rule (the alert fires, once) and closes, recording when, at the
first evaluation that no longer finds it. SQLite rather than the warehouse: the state changes after the warehouse
is published and swapped, and the dashboards read it while a run writes it, which one DuckDB file cannot allow.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.alerts.evaluate import Breach
from pipelines.alerts.rules import Rule
from pipelines.config import paths
from pipelines.queries import sql_file
from pipelines.state_files import read_rows, writing

STATE_FILE = "alerts.sqlite"
# The columns of an episode (queries/alert_state/create.sql).
EPISODE_COLUMNS = (
    "id",
    "rule",
    "subject",
    "severity",
    "role",
    "subject_kind",
    "value",
    "threshold",
    "alert_window",
    "detail",
    "fired_at",
    "fired_run_id",
    "last_value",
    "last_seen_at",
    "resolved_at",
    "resolved_run_id",
    "delivered_at",
    "delivery_error",
)


def state_path() -> Path:
    return paths().warehouse_dir / STATE_FILE


def open_state(path: Path) -> AbstractContextManager[sqlite3.Connection]:
    """The state for writing, created if missing; committed when the block ends without error."""
    return writing(path, "alert_state/create")


def read_episodes(path: Path) -> list[dict[str, Any]]:
    """Every episode, newest first; none when no run evaluated alerts yet. Read-only."""
    return read_rows(path, "alert_state/episodes")


@dataclass
class Changes:
    fired: list[int] = field(default_factory=list)  # episode ids opened now
    resolved: list[int] = field(default_factory=list)
    still_open: int = 0


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def reconcile(
    conn: sqlite3.Connection,
    found: Mapping[str, list[Breach]],
    rules: Mapping[str, Rule],
    *,
    run_id: str,
    now: datetime,
) -> Changes:
    """Open an episode for each new breach, refresh the open ones still breaching, resolve the others.

    `found`: the breaches of each rule evaluated; a rule that could not be evaluated is absent, and its open
    episodes stay as they are. Episodes of a rule no longer defined resolve.
    """
    changes = Changes()
    stamp = now.isoformat()
    open_ids = {(row["rule"], row["subject"]): row["id"] for row in conn.execute(sql_file("alert_state/open_episodes"))}
    seen: set[tuple[str, str]] = set()
    for name, breaches in found.items():
        rule = rules[name]
        for breach in breaches:
            key = (breach.rule, breach.subject)
            seen.add(key)
            if key in open_ids:
                conn.execute(
                    sql_file("alert_state/still_open"),
                    {"id": open_ids[key], "value": _text(breach.value), "now": stamp},
                )
                changes.still_open += 1
                continue
            cursor = conn.execute(
                sql_file("alert_state/fire"),
                {
                    "rule": rule.name,
                    "subject": breach.subject,
                    "severity": rule.severity,
                    "role": rule.role,
                    "subject_kind": rule.subject_kind,
                    "value": _text(breach.value),
                    "threshold": _text(breach.threshold),
                    "alert_window": breach.window,
                    "detail": breach.detail,
                    "now": stamp,
                    "run_id": run_id,
                },
            )
            changes.fired.append(int(cursor.lastrowid or 0))
    for (name, subject), episode in open_ids.items():
        if (name, subject) in seen or (name in rules and name not in found):
            continue
        conn.execute(sql_file("alert_state/resolve"), {"id": episode, "now": stamp, "run_id": run_id})
        changes.resolved.append(episode)
    return changes


def episode(conn: sqlite3.Connection, episode_id: int) -> dict[str, Any]:
    row = conn.execute(sql_file("alert_state/episode"), {"id": episode_id}).fetchone()
    return dict(row)

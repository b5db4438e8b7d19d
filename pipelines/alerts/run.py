"""The alerts step of an ETL run: evaluate every rule on the published warehouse, update the state, deliver."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.alerts.deliver import deliver
from pipelines.alerts.evaluate import Breach, Context, evaluate_rule
from pipelines.alerts.rules import Rule, rules
from pipelines.alerts.state import open_state, reconcile
from pipelines.errors import UserError, first_line
from pipelines.queries import one_row, sql_file


def published_context(
    con: duckdb.DuckDBPyConnection, now: datetime, runs: Callable[[], Iterable[Mapping[str, Any]]]
) -> Context:
    """The evaluation context of a published warehouse: its snapshot."""
    _run_id, snapshot_at = one_row(con.execute(sql_file("dashboards/publication")))
    return Context(snapshot_at=snapshot_at, now=now, runs=runs)


def evaluate_all(
    con: duckdb.DuckDBPyConnection, context: Context, catalog: Mapping[str, Rule]
) -> tuple[dict[str, list[Breach]], dict[str, str]]:
    """Each rule's breaches, and the rules that could not be evaluated with why; one rule's error stops no other."""
    found: dict[str, list[Breach]] = {}
    errors: dict[str, str] = {}
    for rule in catalog.values():
        try:
            found[rule.name] = evaluate_rule(con, rule, context)
        except (duckdb.Error, UserError) as exc:
            errors[rule.name] = first_line(exc)
    return found, errors


def alert_step(
    con: duckdb.DuckDBPyConnection,
    *,
    state: Path,
    run_id: str,
    runs: Callable[[], Iterable[Mapping[str, Any]]],
    now: datetime,
    jobs_url: str,
    webhook: str | None,
) -> dict[str, Any]:
    """Evaluate, reconcile the state and deliver; the summary kept in the run history.

    `con`: the published warehouse. `runs`: reads the run history newest first, the finishing run included. Raises on a
    bad rule file or an unusable state file (the caller records it: alerts never undo a publication).
    """
    catalog = rules()
    context = published_context(con, now, runs)
    found, errors = evaluate_all(con, context, catalog)
    with open_state(state) as conn:
        changes = reconcile(conn, found, catalog, run_id=run_id, now=now)
        problems = deliver(conn, jobs_url, webhook, now)
    return {
        "fired": len(changes.fired),
        "resolved": len(changes.resolved),
        "open": len(changes.fired) + changes.still_open,
        "errors": errors,
        "delivery": problems,
    }

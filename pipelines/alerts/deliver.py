"""Delivery of fired alerts into the platform: a pending `analytics_alert` job in `system.background_jobs` (the
platform's mailer picks it up), written through the writer role, and optionally a POST of the same JSON to a
webhook (`EBOOK_ANALYTICS_ALERTS_WEBHOOK_URL`).

An open episode not yet delivered (the source was down) is delivered at the next evaluation, so each episode
reaches the queue once.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

import psycopg

from pipelines.alerts.rules import SEVERITIES, rules
from pipelines.alerts.state import episode
from pipelines.connections import connect
from pipelines.errors import UserError, first_line
from pipelines.queries import sql_file

WEBHOOK_TIMEOUT_SECONDS = 10


def payload(row: dict[str, Any]) -> dict[str, Any]:
    """The job's JSON: value and threshold as exact decimal strings (money never goes through a float)."""
    rule = rules().get(row["rule"])
    return {
        "rule": row["rule"],
        "description": rule.description if rule else None,
        "severity": row["severity"],
        "role": row["role"],
        "subject_kind": row["subject_kind"],
        "subject": row["subject"],
        "value": row["value"],
        "threshold": row["threshold"],
        "window": row["alert_window"],
        "detail": row["detail"],
        "run_id": row["fired_run_id"],
        "fired_at": row["fired_at"],
        "episode": row["id"],
    }


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 - configured URL
        response.read()


def deliver(conn: sqlite3.Connection, url: str, webhook: str | None, now: datetime) -> list[str]:
    """Deliver every open, undelivered episode; returns the problems (none when all went through)."""
    pending = [episode(conn, row["id"]) for row in conn.execute(sql_file("alert_state/undelivered"))]
    if not pending:
        return []
    bodies = [json.dumps(payload(row), sort_keys=True) for row in pending]
    try:
        with connect(url, what="database for alert jobs") as pg, pg.transaction():
            for row, body in zip(pending, bodies, strict=True):
                pg.execute(
                    sql_file("writeback/alert_job"), {"payload": body, "priority": SEVERITIES.index(row["severity"])}
                )
    except (UserError, psycopg.Error) as exc:
        problem = f"alert jobs not written: {first_line(exc)}"
        for row in pending:
            conn.execute(sql_file("alert_state/delivered"), {"id": row["id"], "delivered_at": None, "error": problem})
        return [problem]
    problems = []
    for row, body in zip(pending, bodies, strict=True):
        error = None
        if webhook:
            try:
                _post(webhook, body.encode())
            except (urllib.error.URLError, OSError, ValueError) as exc:
                error = f"webhook {row['rule']}/{row['subject']}: {first_line(exc)}"
                problems.append(error)
        conn.execute(
            sql_file("alert_state/delivered"), {"id": row["id"], "delivered_at": now.isoformat(), "error": error}
        )
    return problems

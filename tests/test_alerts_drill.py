"""The alert drill through the real ETL and PostgreSQL: the session's published dataset (tests/marts_dataset.py),
then a burst of failed generations for one model on the latest day -> exactly one `analytics_alert` job naming it
(and one webhook POST of the same JSON); another run -> nothing new; the data repaired -> the episode resolves.

claude-3 (model 3) on 2024-03-02, the latest day with generations: generation 6 completed, plus the burst of 12
failed: 12 of 13 finished = 0.923077. Its 28 days before (2024-02-03..2024-03-01): generations 7 and 8, both
completed, rate 0, so the threshold is 2 x 0 + 0.05.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from pipelines.alerts.deliver import deliver
from pipelines.alerts.evaluate import Breach
from pipelines.alerts.rules import rules
from pipelines.alerts.state import open_state, read_episodes, reconcile
from pipelines.source.grants import grant_roles
from tests.conftest import cli_environment, copy_published, run_cli
from tests.marts_dataset import CAROL, uid

BURST = [uid("generation", 100 + n) for n in range(12)]


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server on a free port recording the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def _jobs(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select payload, status from system.background_jobs where job_type = 'analytics_alert' order by created_at"
        ).fetchall()
    assert {status for _payload, status in rows} <= {"pending"}
    return [payload for payload, _status in rows]


def _summary(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


def test_alert_drill(
    published_dataset: dict[str, str],
    create_database: Callable[..., str],
    tmp_path: Path,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    env = copy_published(published_dataset, tmp_path, create_database)
    hook_url, posted = webhook
    env["EBOOK_ANALYTICS_ALERTS_WEBHOOK_URL"] = hook_url
    source = env["EBOOK_ANALYTICS_SOURCE_URL"]
    before = _jobs(source)
    assert before and not [job for job in before if job["rule"] == "model_failure_rate"]

    with psycopg.connect(source) as conn:
        conn.cursor().executemany(
            "insert into ai_processing.ai_generations (id, user_id, model_id, prompt, status, created_at)"
            " values (%s, %s, %s, 'write', 'failed', '2024-03-02 12:00:00+00')",
            [(generation, CAROL, uid("model", 3)) for generation in BURST],
        )
    burst = run_cli("etl", "run", env=env)
    assert _summary(burst.stdout).endswith("; alerts: 1 fired, 0 resolved")
    [run] = json.loads(run_cli("runs", "--json", "--limit", "1", env=env).stdout)
    assert run["alerts"] == {"fired": 1, "resolved": 0, "open": run["alerts"]["open"], "errors": {}, "delivery": []}
    jobs = _jobs(source)
    [job] = jobs[len(before) :]
    assert {key: value for key, value in job.items() if key not in ("fired_at", "episode", "description")} == {
        "rule": "model_failure_rate",
        "severity": "critical",
        "role": "analyst",
        "subject_kind": "model",
        "subject": "claude-3",
        "value": "0.923077",
        "threshold": "0.05",
        "window": "2024-03-02 against 2024-02-03..2024-03-01",
        "detail": "baseline 0, 13 ai_finished_generations",
        "run_id": run["run_id"],
    }
    assert job["fired_at"].startswith(run["started_at"][:10])
    assert posted == [job]  # the webhook got the same JSON

    tested = json.loads(run_cli("alerts", "test", "model_failure_rate", "--json", env=env).stdout)
    assert [(row["subject"], row["value"]) for row in tested] == [("claude-3", "0.923077")]

    again = run_cli("etl", "run", env=env)
    assert "alerts:" not in _summary(again.stdout)
    assert _jobs(source) == jobs and posted == [job]

    with psycopg.connect(source) as conn:
        conn.execute("delete from ai_processing.ai_generations where id = any(%s)", (BURST,))
    repaired = run_cli("etl", "run", env=env)
    assert _summary(repaired.stdout).endswith("; alerts: 0 fired, 1 resolved")
    [repair_run] = json.loads(run_cli("runs", "--json", "--limit", "1", env=env).stdout)
    assert _jobs(source) == jobs and posted == [job]
    history = json.loads(run_cli("alerts", "history", "--json", env=env).stdout)
    [episode] = [row for row in history if row["rule"] == "model_failure_rate"]
    assert (episode["subject"], episode["fired_run_id"], episode["resolved_run_id"]) == (
        "claude-3",
        run["run_id"],
        repair_run["run_id"],
    )
    assert episode["resolved_at"] is not None and episode["id"] == job["episode"]
    still_open = json.loads(run_cli("alerts", "history", "--open", "--json", env=env).stdout)
    assert "model_failure_rate" not in {row["rule"] for row in still_open}


def _as_role(url: str, role: str) -> str:
    """The same database URL, logging in as `role` (the embedded server trusts local logins)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_undelivered_alerts_go_out_at_the_next_evaluation_through_the_writer(
    source_url: str, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    writer = f"t_role_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(source_url) as conn:
        grant_roles(conn, reader=None, writer=writer)
    hook_url, posted = webhook
    state = tmp_path / "alerts.sqlite"
    fired_at = datetime(2024, 4, 1, 6, 0, tzinfo=UTC)
    found = {"payout_failed": [Breach("payout_failed", "s5", Decimal("180"), Decimal("0"), "2023-02", "author a4")]}
    try:
        with open_state(state) as conn:
            reconcile(conn, found, rules(), run_id="r1", now=fired_at)
            # The source is down: nothing is delivered, the episode says why.
            down = f"postgresql://nobody@127.0.0.1:{_free_port()}/platform"
            [problem] = deliver(conn, down, hook_url, fired_at)
        assert problem.startswith("alert jobs not written: cannot connect to the database for alert jobs at ")
        [episode] = read_episodes(state)
        assert (episode["delivered_at"], episode["delivery_error"]) == (None, problem)
        assert posted == [] and _jobs(source_url) == []

        later = fired_at + timedelta(minutes=15)
        with open_state(state) as conn:
            assert deliver(conn, _as_role(source_url, writer), hook_url, later) == []
            assert deliver(conn, _as_role(source_url, writer), hook_url, later) == []  # nothing left to deliver
        [episode] = read_episodes(state)
        assert (episode["delivered_at"], episode["delivery_error"]) == (later.isoformat(), None)
        expected = {
            "rule": "payout_failed",
            "description": rules()["payout_failed"].description,
            "severity": "critical",
            "role": "finance",
            "subject_kind": "statement",
            "subject": "s5",
            "value": "180",
            "threshold": "0",
            "window": "2023-02",
            "detail": "author a4",
            "run_id": "r1",
            "fired_at": "2024-04-01T06:00:00+00:00",  # when it fired, not when it got through
            "episode": episode["id"],
        }
        assert _jobs(source_url) == [expected] and posted == [expected]
        with psycopg.connect(source_url) as conn:
            assert conn.execute("select priority from system.background_jobs").fetchall() == [(2,)]

        # A webhook that does not answer is a problem reported, not a reason to hold the job back.
        with open_state(state) as conn:
            reconcile(
                conn,
                {"payout_failed": [*found["payout_failed"], Breach("payout_failed", "s6", None, None, "")]},
                rules(),
                run_id="r2",
                now=later,
            )
            [problem] = deliver(conn, _as_role(source_url, writer), f"http://127.0.0.1:{_free_port()}/", later)
        assert problem.startswith("webhook payout_failed/s6: ")
        assert [job["subject"] for job in _jobs(source_url)] == ["s5", "s6"]
    finally:
        with psycopg.connect(source_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop owned by {0}; drop role {0}").format(sql.Identifier(writer)))


def test_alerts_cli_without_a_warehouse(tmp_path: Path) -> None:
    env = cli_environment(tmp_path, "postgresql://unused@/never")
    listing = run_cli("alerts", "list", env=env).stdout.splitlines()
    assert listing[0].split() == ["name", "severity", "role", "subject", "fires", "when"]
    assert [line.split()[0] for line in listing[1:]] == list(rules())
    assert json.loads(run_cli("alerts", "list", "--json", env=env).stdout)[3]["baseline"] == {
        "days": 28,
        "statistic": "period",
        "factor": "2",
        "margin": "0.05",
    }
    unknown = run_cli("alerts", "test", "nope", env=env, check=False)
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "error: unknown alert rule 'nope'; `ebook-analytics alerts list` shows the rules\n",
    )
    missing = run_cli("alerts", "test", "stale_data", env=env, check=False)
    warehouse = tmp_path / "home" / "warehouse" / "analytics.ducklake"
    assert (missing.returncode, missing.stderr) == (
        1,
        f"error: no published warehouse at {warehouse}; run `ebook-analytics etl run` first\n",
    )
    history = run_cli("alerts", "history", env=env).stdout
    assert history == f"no alert episodes recorded in {warehouse.parent / 'alerts.sqlite'}\n"

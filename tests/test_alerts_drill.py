"""The alert drill through the real ETL and PostgreSQL: the session's published dataset (tests/marts_dataset.py),
then a burst of failed generations for one model on the latest day -> exactly one `analytics_alert` job naming it
(and one webhook POST of the same JSON); another run -> nothing new; the data repaired -> the episode resolves.

claude-3 (model 3) on 2024-03-02, the latest day with generations: generation 6 completed, plus the burst of 12
failed: 12 of 13 finished = 0.923077. Its 28 days before (2024-02-03..2024-03-01): generations 7 and 8, both
completed, rate 0, so the threshold is 2 x 0 + 0.05.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import copy_published, run_cli
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

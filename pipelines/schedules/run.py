"""Running schedules: make the pack, deliver it, record the send (state store and audit log), retry what failed.

The state is `<home>/delivery/deliveries.sqlite`: one row per schedule and due time (schedule, due time, status,
attempts, next attempt, sent at, recipients, folder, files, targets done, run id, error). The unique (schedule, due
time) and an exclusive lock around a whole run make a due time go out once, even when cron's `schedules run --due`
and the refresher's run at the same moment. A failed attempt stays pending with its error and is tried again by a
later run after a backoff (5, 10, 20, 40 minutes); after `MAX_ATTEMPTS` it is `failed`, shown by `schedules list`
until the next due time is sent. A target already delivered (the folder, the email) is not delivered again on retry.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines import audit, warehouse
from pipelines.config import paths
from pipelines.errors import UserError, first_line, unexpected
from pipelines.queries import sql_file
from pipelines.schedules.definitions import ReportSpec, Schedule, StatementSpec, load_schedules
from pipelines.schedules.deliver import message, send_mail, smtp_settings, write_folder
from pipelines.state_files import read_rows, writing

MAX_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(minutes=5)
FOLDER, EMAIL = "folder", "email"


def state_dir() -> Path:
    return paths().home / "delivery"


@contextmanager
def open_state() -> Iterator[sqlite3.Connection]:
    """The state, under the exclusive lock that makes one run at a time deliver (others wait for it)."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "deliveries.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with writing(directory / "deliveries.sqlite", "schedule_state/create") as conn:
            yield conn


def read_deliveries() -> list[dict[str, Any]]:
    """Every delivery, newest due time first; none before the first run. Read-only."""
    return read_rows(state_dir() / "deliveries.sqlite", "schedule_state/deliveries")


@dataclass(frozen=True)
class Contents:
    files: dict[str, bytes]
    subject: str
    body: str
    subfolder: str | None  # a statement pack's many files go into their own folder
    run_id: str | None
    filters: dict[str, str]


def stamp(due_at: datetime) -> str:
    """A due time in file names: `2024-03-04T0600Z`."""
    return f"{due_at:%Y-%m-%dT%H%MZ}"


def contents(schedule: Schedule, due_at: datetime) -> Contents:
    """The schedule's files for this due time, made from the published warehouse now."""
    heading = f"{schedule.description}, due {due_at:%Y-%m-%d %H:%M} UTC"
    if isinstance(schedule.what, ReportSpec):
        return _report_contents(schedule.name, schedule.what, due_at, heading)
    return _statement_contents(schedule.name, schedule.what, due_at, heading)


def _report_contents(name: str, spec: ReportSpec, due_at: datetime, heading: str) -> Contents:
    from dashboards.report import build_pack, pack_filters, page_query

    start, end = spec.dates(due_at)
    query = page_query(start, end, [f"{key}={value}" for key, value in spec.filters])
    pack = build_pack(spec.page, spec.role, query, spec.file_format)
    filters = pack_filters(spec.page, spec.role, pack.query)
    body = "\n".join(
        [
            f"{heading}.",
            "",
            *(f"{key}: {value}" for key, value in filters.items()),
            f"run id: {pack.run_id}",
            "",
            f"Sent by ebook-analytics (schedule {name}).",
        ]
    )
    files = {f"{name}-{stamp(due_at)}.{spec.file_format}": pack.content}
    return Contents(files, f"{pack.title} report pack ({name})", body, None, pack.run_id, filters)


def _statement_contents(name: str, spec: StatementSpec, due_at: datetime, heading: str) -> Contents:
    from pipelines.export.statement_pack import pack_contents, pack_files

    month = spec.month(due_at)
    con = warehouse.connect(paths().warehouse, read_only=True)
    try:
        pack = pack_contents(con, month)
    finally:
        con.close()
    files, _ = pack_files(pack, spec.formats)
    body = "\n".join(
        [
            f"{heading}.",
            "",
            f"Statements of {month:%Y-%m} for {len(pack.authors)} authors; manifest.csv lists the files and totals.",
            f"run id: {pack.source.run_id}" + ("" if pack.complete else " (the period is not complete)"),
            "",
            f"Sent by ebook-analytics (schedule {name}).",
        ]
    )
    filters = {"period": f"{month:%Y-%m}", "format": ",".join(spec.formats), "per_author": "True"}
    subject = f"Statement pack {month:%Y-%m} ({name})"
    return Contents(files, subject, body, f"{name}-{stamp(due_at)}", pack.source.run_id, filters)


@dataclass(frozen=True)
class Outcome:
    schedule: str
    due_at: str
    status: str  # sent, pending (will retry) or failed (gave up)
    attempts: int
    files: list[str]
    error: str | None
    next_attempt_at: str | None


def attempt(conn: sqlite3.Connection, schedule: Schedule, row: sqlite3.Row, now: datetime) -> Outcome:
    """One attempt at a delivery: make the files, deliver to each target not yet done, record the result."""
    due_at = datetime.fromisoformat(row["due_at"])
    done: list[str] = json.loads(row["done"])
    files: list[str] = json.loads(row["files"])
    errors: list[str] = []
    made: Contents | None = None
    delivered: list[str] = []
    try:
        made = contents(schedule, due_at)
    except UserError as exc:
        errors.append(f"the pack could not be made: {exc}")
    except Exception as exc:  # noqa: BLE001 - recorded and retried like any failed send, never lost
        errors.append(f"the pack could not be made: {unexpected(exc)}")
    if made is not None and schedule.folder is not None and FOLDER not in done:
        folder = schedule.folder / made.subfolder if made.subfolder else schedule.folder
        try:
            written = write_folder(folder, made.files)
            files += [str(path) for path in written]
            done.append(FOLDER)
            delivered.append(FOLDER)
        except UserError as exc:
            errors.append(str(exc))
    if made is not None and schedule.to and EMAIL not in done:
        try:
            settings = smtp_settings()
            send_mail(settings, message(settings.sender, schedule.to, made.subject, made.body, made.files), schedule.to)
            files += [f"email:{name}" for name in made.files]
            done.append(EMAIL)
            delivered.append(EMAIL)
        except UserError as exc:
            errors.append(str(exc))
    attempts = int(row["attempts"]) + 1
    error = "; ".join(first_line(problem) for problem in errors) or None
    status = "sent" if error is None else "pending" if attempts < MAX_ATTEMPTS else "failed"
    retry_at = now + FIRST_BACKOFF * 2 ** (attempts - 1) if status == "pending" else None
    conn.execute(
        sql_file("schedule_state/attempted"),
        {
            "id": row["id"],
            "status": status,
            "next_attempt_at": retry_at.isoformat() if retry_at else None,
            "sent_at": now.isoformat() if status == "sent" else None,
            "recipients": json.dumps(list(schedule.to)),
            "folder": str(schedule.folder) if schedule.folder else None,
            "files": json.dumps(files),
            "done": json.dumps(done),
            "run_id": made.run_id if made else row["run_id"],
            "error": error,
        },
    )
    conn.commit()  # each attempt stands on its own: a later crash cannot make a sent pack look unsent
    if made is not None and delivered:
        audit.record(
            "scheduled send",
            f"{schedule.name}: {schedule.description}",
            filters={
                "schedule": schedule.name,
                "due_at": due_at.isoformat(),
                "to": ",".join(schedule.to) if EMAIL in delivered else "",
                "folder": str(schedule.folder) if FOLDER in delivered else "",
                **made.filters,
            },
            run_id=made.run_id,
            files=files,
        )
    return Outcome(
        schedule.name, row["due_at"], status, attempts, files, error, retry_at.isoformat() if retry_at else None
    )


def _due_row(conn: sqlite3.Connection, name: str, due_at: datetime, trigger: str) -> sqlite3.Row:
    key = {"schedule": name, "due_at": due_at.isoformat()}
    conn.execute(sql_file("schedule_state/add"), key | {"trigger_kind": trigger})
    row: sqlite3.Row = conn.execute(sql_file("schedule_state/delivery"), key).fetchone()
    return row


def select(schedules: Sequence[Schedule], name: str | None) -> list[Schedule]:
    if name is None:
        return list(schedules)
    chosen = [schedule for schedule in schedules if schedule.name == name]
    if not chosen:
        known = ", ".join(schedule.name for schedule in schedules) or "none"
        raise UserError(f"no schedule named {name!r} (schedules: {known}); see `ebook-analytics schedules list`")
    return chosen


def run_due(now: datetime, name: str | None = None) -> list[Outcome]:
    """Send each schedule (or the one named) whose newest due time at or before `now` was not sent yet, then retry
    the pending deliveries whose next attempt is due."""
    chosen = {schedule.name: schedule for schedule in select(load_schedules(), name)}
    if not chosen:  # no schedule files: nothing to send, and no state to create
        return []
    outcomes = []
    with open_state() as conn:
        for schedule in chosen.values():
            due_at = schedule.when.latest(now)
            if due_at is None:
                continue
            row = _due_row(conn, schedule.name, due_at, "due")
            if row["attempts"] == 0:
                outcomes.append(attempt(conn, schedule, row, now))
        for row in conn.execute(sql_file("schedule_state/to_retry"), {"now": now.isoformat()}).fetchall():
            if row["schedule"] in chosen:
                outcomes.append(attempt(conn, chosen[row["schedule"]], row, now))
    return outcomes


def run_now(name: str, now: datetime) -> Outcome:
    """Send the named schedule now, whatever its due times (its due time is now)."""
    (schedule,) = select(load_schedules(), name)
    with open_state() as conn:
        row = _due_row(conn, schedule.name, now.replace(microsecond=0), "manual")
        return attempt(conn, schedule, row, now)


def utc_now() -> datetime:
    return datetime.now(UTC)

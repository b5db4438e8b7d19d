"""`ebook-analytics schedules list|run`: the scheduled deliveries (`pipelines.schedules`). Cron calls
`schedules run --due` (every few minutes); `etl run --every` runs the due ones after each publication."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from pipelines.errors import UserError
from pipelines.schedules.definitions import load_schedules, schedules_dir
from pipelines.schedules.run import MAX_ATTEMPTS, Outcome, read_deliveries, run_due, run_now, utc_now


def define_schedules(schedules: argparse.ArgumentParser) -> None:
    actions = schedules.add_subparsers(dest="schedules_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="each schedule, its next due time, its last send and any failure")
    listing.add_argument("--json", action="store_true", help="print the deliveries as a JSON list")
    listing.set_defaults(func=_list)
    run = actions.add_parser(
        "run", help="send a schedule now (NAME), or every schedule that is due and the retries (--due; for cron)"
    )
    run.add_argument("name", nargs="?", metavar="NAME", help="the schedule (its file name without .yml)")
    run.add_argument("--due", action="store_true", help="only what is due: not yet sent for its due time, or a retry")
    run.set_defaults(func=_run)


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment:%Y-%m-%d %H:%M}"


def _list(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(read_deliveries(), indent=2))
        return 0
    schedules = load_schedules()
    if not schedules:
        print(f"no schedules in {schedules_dir()}; add a <name>.yml there (README, For finance)")
        return 0
    deliveries = read_deliveries()
    now = utc_now()
    print(f"{'name':24} {'sends':48} {'when (UTC)':26} {'next due':16} {'last sent':16}  state")
    for schedule in schedules:
        mine = [row for row in deliveries if row["schedule"] == schedule.name]
        sent = next((row for row in mine if row["status"] == "sent"), None)
        state = _state(mine[0]) if mine else "not run yet"
        print(
            f"{schedule.name:24} {schedule.description:48} {schedule.when.text:26} "
            f"{_when(schedule.when.next(now)):16} {_when(sent['sent_at'] if sent else None):16}  {state}"
        )
    problems = [row for row in deliveries if row["status"] != "sent"]
    for row in problems:
        retrying = row["status"] == "pending"
        print(
            f"{'retrying' if retrying else 'failed'}: {row['schedule']} due {_when(row['due_at'])}, "
            f"{row['attempts']} of {MAX_ATTEMPTS} attempts: {row['error']}"
            + (f"; next attempt {_when(row['next_attempt_at'])}" if retrying else ""),
            file=sys.stderr,
        )
    return 0


def _state(row: dict[str, object]) -> str:
    if row["status"] == "sent":
        return "ok"
    if row["status"] == "pending":
        return f"retrying ({row['attempts']} failed)"
    return f"FAILED after {row['attempts']} attempts"


def _report(outcome: Outcome) -> None:
    due = _when(outcome.due_at)
    if outcome.status == "sent":
        print(f"sent {outcome.schedule} (due {due}): {', '.join(outcome.files)}")
    elif outcome.status == "pending":
        print(
            f"failed {outcome.schedule} (due {due}), attempt {outcome.attempts} of {MAX_ATTEMPTS}: {outcome.error}; "
            f"retried by a run after {_when(outcome.next_attempt_at)}",
            file=sys.stderr,
        )
    else:
        print(
            f"failed {outcome.schedule} (due {due}), gave up after {outcome.attempts} attempts: {outcome.error}",
            file=sys.stderr,
        )


def _run(args: argparse.Namespace) -> int:
    if args.name is None and not args.due:
        raise UserError("give a schedule NAME to send now, or --due to send what is due (`schedules list` names them)")
    outcomes = run_due(utc_now(), args.name) if args.due else [run_now(args.name, utc_now())]
    for outcome in outcomes:
        _report(outcome)
    if not outcomes:
        print("nothing due")
    return 1 if any(outcome.status != "sent" for outcome in outcomes) else 0


def deliver_due() -> None:
    """The refresher's step after each publication: `schedules run --due`, its problems printed, never raised."""
    try:
        outcomes = run_due(utc_now())
    except UserError as exc:
        print(f"schedules: error: {exc}", file=sys.stderr, flush=True)
        return
    for outcome in outcomes:
        _report(outcome)

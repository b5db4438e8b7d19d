"""`ebook-analytics etl run` and `ebook-analytics runs`."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from pipelines.arguments import whole_number
from pipelines.config import paths
from pipelines.errors import UserError
from pipelines.publish.history import read_runs
from pipelines.run.schedule import parse_interval, run_every
from pipelines.transform.engines import ENGINES, choose_engine

if TYPE_CHECKING:
    from pipelines.run.etl import RunRecord

SAMPLE_IDS_SHOWN = 3


def define_etl(etl: argparse.ArgumentParser) -> None:
    actions = etl.add_subparsers(dest="etl_command", metavar="ACTION", required=True)
    run = actions.add_parser(
        "run", help="one ETL run: incremental from the published warehouse when there is one, else full"
    )
    run.add_argument("--full", action="store_true", help="re-read every table and build the warehouse from scratch")
    run.add_argument(
        "--rebuild",
        action="store_true",
        help="with --full: set an unusable file at the warehouse path aside instead of refusing",
    )
    run.add_argument("--redact-pii", action="store_true", help="leave out personal data (emails, names)")
    run.add_argument("--wait", action="store_true", help="wait for a running ETL instead of refusing")
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="what runs the mart SQL: duckdb (default, or EBOOK_ANALYTICS_ENGINE) or spark "
        "(Apache Spark, master EBOOK_ANALYTICS_SPARK_MASTER, default local[*]; docs/scaling.md)",
    )
    run.add_argument(
        "--every",
        type=parse_interval,
        metavar="INTERVAL",
        help="keep running, one run every INTERVAL (90s, 15m, 1h); a failed run is logged and retried "
        "at the next tick; SIGTERM stops it once the run in progress has finished (docs/operations.md)",
    )
    run.add_argument("--max-runs", type=whole_number(1), metavar="N", help="with --every: stop after N runs")
    run.set_defaults(func=_run)


def define_runs(runs: argparse.ArgumentParser) -> None:
    runs.add_argument("--json", action="store_true", help="print a JSON list")
    runs.add_argument("--limit", type=whole_number(1), default=20, metavar="N", help="at most N runs (default 20)")
    runs.set_defaults(func=_runs)


def _run(args: argparse.Namespace) -> int:
    if args.max_runs is not None and args.every is None:
        raise UserError("--max-runs N goes with --every INTERVAL")
    if args.every is not None:
        return run_every(args.every, args.max_runs, lambda: _run_and_deliver(args))
    from pipelines.run.etl import EXIT_BLOCKED

    return EXIT_BLOCKED if _run_once(args) in ("blocked", "partial") else 0


def _run_and_deliver(args: argparse.Namespace) -> str:
    """One run of `--every`; after a publication, the scheduled deliveries that are due (their failures are printed
    and retried by later runs: they do not change the run's outcome)."""
    status = _run_once(args)
    if status in ("published", "partial"):
        from pipelines.schedules.commands import deliver_due

        deliver_due()
    return status


def _run_once(args: argparse.Namespace) -> str:
    """One run, its summary printed; returns its status."""
    # Imported here: the run pulls in Great Expectations, seconds of imports that `runs` and `--help` need not pay.
    from pipelines.run.etl import RunOptions, run_etl

    options = RunOptions(
        full=args.full,
        rebuild=args.rebuild,
        redact_pii=args.redact_pii,
        wait=args.wait,
        engine=choose_engine(args.engine),
    )
    record = run_etl(options)
    if record.capture.get("note"):
        print(f"capture: {record.capture['note']}", flush=True)
    if record.status in ("blocked", "partial"):
        _print_failed_checks(record)
    print(_summary(record), flush=True)
    return record.status


def _print_failed_checks(record: RunRecord) -> None:
    failed = record.failed_errors
    if record.status == "blocked":
        print(
            f"blocked: {len(failed)} error check(s) failed, reaching every mart; the published warehouse is unchanged",
            file=sys.stderr,
        )
    else:
        print(
            f"partial: {len(failed)} error check(s) failed; {len(record.held_back)} mart(s) held back "
            "(they keep their previous publication), the others are published",
            file=sys.stderr,
        )
        for mart, checks in sorted(record.held_back.items()):
            print(f"  held back {mart}: {', '.join(checks)}", file=sys.stderr)
        if record.writeback_held_back:
            print(
                f"  held back the project-metrics write-back: {', '.join(record.writeback_held_back)}",
                file=sys.stderr,
            )
    for check in failed:
        samples = ", ".join(str(sample) for sample in check["sample_ids"][:SAMPLE_IDS_SHOWN])
        print(
            f"  {check['name']} ({check['table']}): {check['unexpected_count']:,} unexpected"
            + (f", e.g. {samples}" if samples else ""),
            file=sys.stderr,
        )


def _summary(record: RunRecord) -> str:
    tables = record.tables.values()
    read = sum(int(counts["rows_read"]) for counts in tables)
    changed = sum(int(counts["rows_changed"]) for counts in tables)
    deleted = sum(int(counts["rows_deleted"]) for counts in tables)
    warnings = sum(1 for check in record.checks if not check["success"] and check["severity"] == "warn")
    assert record.finished_at is not None  # run() sets it before returning
    seconds = (record.finished_at - record.started_at).total_seconds()
    line = (
        f"{record.status} run {record.run_id} ({record.mode}, {capture_methods(record.tables)}): "
        f"{len(record.tables)} tables, {read:,} rows read, "
        f"{changed:,} changed, {deleted:,} deleted, {warnings} warning(s), {seconds:.1f} s"
    )
    kept = sum(1 for check in record.checks if check.get("reused"))
    if kept:
        on_changed_rows = sum(1 for check in record.checks if check.get("changed_rows") and not check.get("reused"))
        line += (
            f"; {len(record.checks) - kept:,} checks run ({on_changed_rows:,} on the changed rows only), "
            f"{kept:,} kept (their tables unchanged)"
        )
        on_totals = sum(1 for check in record.checks if check.get("kept_totals") and not check.get("reused"))
        if on_totals:
            line += f", {on_totals:,} reconciliations on kept totals"
    if record.writeback:
        line += (
            f"; wrote back {record.writeback.project_metrics:,} project metrics, "
            f"{record.writeback.statistics_chapters + record.writeback.statistics_projects:,} content statistics "
            f"(chapter texts read: {record.writeback.chapters_counted:,})"
        )
    if record.alerts.get("fired") or record.alerts.get("resolved"):
        line += f"; alerts: {record.alerts['fired']} fired, {record.alerts['resolved']} resolved"
    return line


def capture_methods(tables: dict[str, dict[str, int | str]]) -> str:
    """How the tables were read, e.g. `logical` or `xmin 11 + full 8` (docs/etl.md, "Change capture")."""
    counts = Counter(str(table.get("capture_method", "-")) for table in tables.values())
    if len(counts) == 1:
        return next(iter(counts))
    return " + ".join(f"{method} {count}" for method, count in sorted(counts.items(), key=lambda item: -item[1]))


def _runs(args: argparse.Namespace) -> int:
    runs = read_runs(paths().run_history, limit=args.limit)
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    if not runs:
        print(f"no runs recorded in {paths().run_history}; run `ebook-analytics etl run`")
        return 0
    kept = _kept_snapshots()
    print(
        f"{'run_id':28} {'status':9} {'mode':11} {'capture':18} {'snapshot_at':25} {'rows read':>12} {'changed':>10} "
        f"{'seconds':>8} {'publication':>12}  error / held back"
    )
    for run in runs:
        tables = (run.get("tables") or {}).values()
        seconds = sum((run.get("steps") or {}).values())
        print(
            f"{run['run_id']:28} {run['status']:9} {run['mode']:11} {capture_methods(run.get('tables') or {}):18} "
            f"{(run.get('snapshot_at') or '-')[:25]:25} "
            f"{sum(t['rows_read'] for t in tables):>12,} {sum(t['rows_changed'] for t in tables):>10,} "
            f"{seconds:>8.1f} {_publication(run, kept):>12}  {run.get('error') or _held_back(run)}"
        )
    return 0


def _kept_snapshots() -> set[int]:
    """The snapshot ids of the publications still kept (`--as-of` can read them)."""
    # Imported here: the lake module loads pyarrow and psycopg, a third of a second that `runs --json`, `etl run
    # --help` and an empty history need not pay (a run itself imports it anyway).
    from pipelines.publish import lake

    try:
        return {publication.snapshot_id for publication in lake.publications(lake.configured())}
    except UserError:
        return set()


def _publication(run: dict[str, Any], kept: set[int]) -> str:
    """The DuckLake snapshot a published run made, `expired` once retention removed it."""
    snapshot = (run.get("publication") or {}).get("snapshot_id")
    if snapshot is None:
        return "-"
    return f"#{snapshot}" if snapshot in kept else f"#{snapshot} expired"


def _held_back(run: dict[str, Any]) -> str:
    """The marts a partial run held back, for the `runs` table."""
    held = sorted(run.get("held_back") or {})
    return f"held back: {', '.join(held)}" if held else ""

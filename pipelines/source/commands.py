"""`ebook-analytics source ...`: the operational database's schema, server and synthetic history."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipelines.arguments import day, whole_number
from pipelines.connections import connect, redact, source_url
from pipelines.errors import UserError
from pipelines.source import server

if TYPE_CHECKING:
    from pipelines.extract.capture import SlotLag

SCALES = ("tiny", "small", "medium", "large")


def define_source(source: argparse.ArgumentParser) -> None:
    commands = source.add_subparsers(dest="source_command", metavar="ACTION", required=True)

    commands.add_parser("start", help="start the embedded PostgreSQL").set_defaults(func=_start)
    commands.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=_stop)
    commands.add_parser(
        "status", help="is the embedded PostgreSQL running? (exit 0 if so, 3 if stopped, as a service's status)"
    ).set_defaults(func=_status)
    commands.add_parser("url", help="print the source URL in use").set_defaults(func=_url)
    commands.add_parser("init", help="create or migrate the platform schema").set_defaults(func=_init)

    partitions = commands.add_parser("partitions", help="create monthly partitions ahead of time")
    partitions.add_argument(
        "--months-ahead", type=whole_number(0), default=3, metavar="N", help="months after the current one to create"
    )
    partitions.add_argument(
        "--start",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="first month to cover (default: the earliest month waiting in DEFAULT, else now)",
    )
    partitions.set_defaults(func=_partitions)

    seed = commands.add_parser("seed", help="fill an empty source with a synthetic platform history")
    seed.add_argument("--scale", choices=SCALES, default="small", help="size of the history (docs/seed.md)")
    seed.add_argument("--seed", type=int, default=42, help="random seed: same seed, same data")
    seed.add_argument(
        "--end-date",
        type=day,
        default=None,
        metavar="YYYY-MM-DD",
        help="last day of history (default: 4 days ago, UTC, so `source advance --days 3` fits today)",
    )
    seed.add_argument("--months", type=int, default=None, metavar="M", help="months of history")
    seed.set_defaults(func=_seed)

    advance = commands.add_parser("advance", help="append N more days of activity")
    advance.add_argument(
        "--days", type=whole_number(1), default=1, metavar="N", help="days to append after the last one"
    )
    advance.add_argument("--seed", type=int, default=None, help="random seed of the new days (default 0)")
    advance.set_defaults(func=_advance)

    grant = commands.add_parser("grant", help="create least-privilege login roles for the ETL")
    grant.add_argument("--reader", metavar="NAME", help="role that may only SELECT what the ETL reads")
    grant.add_argument("--writer", metavar="NAME", help="role that may only write the two rollup tables")
    grant.add_argument(
        "--replication",
        action="store_true",
        help="let the reader capture changes: REPLICATION and a publication of the staged columns (docs/etl.md)",
    )
    grant.set_defaults(func=_grant)


def _start(args: argparse.Namespace) -> int:
    print(f"embedded PostgreSQL running: {server.start()}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    print("embedded PostgreSQL stopped" if server.stop() else "embedded PostgreSQL was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from pipelines.config import setting

    running = server.url()
    print(f"running: {running}" if running else "stopped")
    url = setting("source_url") or running
    if url:
        _print_slots(url)
    return 0 if running else 3


def _print_slots(url: str) -> None:
    """The ETL's replication slots and what each holds back (a stopped ETL must not keep WAL forever)."""
    from pipelines.extract.capture import slot_lag

    for slot in slot_lag(url):
        print(
            f"slot {slot.name} ({slot.database}): {slot.lag_bytes:,} bytes behind, "
            f"{slot.retained_bytes:,} bytes of WAL kept, {_use(slot)}, wal_status {slot.wal_status}"
            + (f", invalidated: {slot.invalidation}" if slot.invalidation else "")
            + f"; decoded: {slot.streamed_transactions:,} transactions streamed ({slot.streamed_bytes:,} bytes), "
            f"{slot.spilled_transactions:,} spilled to disk ({slot.spilled_bytes:,} bytes)"
        )


def _use(slot: SlotLag) -> str:
    if slot.active:
        return "in use"
    return "unused" if slot.idle_seconds is None else f"unused for {slot.idle_seconds:,} s"  # (known from 17 on)


def _url(args: argparse.Namespace) -> int:
    print(source_url())
    return 0


def _init(args: argparse.Namespace) -> int:
    from pipelines.source.migrate import apply_migrations

    url = source_url()
    with connect(url) as conn:
        version, applied = apply_migrations(conn)
    done = f"applied {', '.join(applied)}" if applied else "already up to date"
    print(f"schema version {version} in {redact(url)} ({done})")
    return 0


def _partitions(args: argparse.Namespace) -> int:
    from pipelines.source.partitions import ensure_monthly_partitions

    with connect(source_url()) as conn:
        created = ensure_monthly_partitions(conn, months_ahead=args.months_ahead, start=args.start)
    print(f"created {len(created)} partitions" + (f": {', '.join(created)}" if created else ""))
    return 0


def _seed(args: argparse.Namespace) -> int:
    from pipelines.source.seed.generate import seed

    counts = seed(source_url(), scale=args.scale, seed=args.seed, end_date=args.end_date, months=args.months)
    for table, rows in counts.items():
        print(f"{table:40s} {rows:>12,}")
    return 0


def _advance(args: argparse.Namespace) -> int:
    from pipelines.source.seed.advance import advance

    counts = advance(source_url(), days=args.days, seed=args.seed)
    for table, rows in counts.items():
        print(f"{table:40s} {rows:>12,}")
    return 0


def _grant(args: argparse.Namespace) -> int:
    from pipelines.source.grants import grant_roles

    if not (args.reader or args.writer):
        raise UserError("name at least one role: --reader NAME and/or --writer NAME")
    if args.replication and not args.reader:
        raise UserError("--replication is for the reader role; add --reader NAME")
    with connect(source_url()) as conn:
        for line in grant_roles(conn, reader=args.reader, writer=args.writer, replication=args.replication):
            print(line)
    return 0

"""`ebook-analytics close-month YYYY-MM`: freeze a complete month's revenue-share statements; `--list` the closes."""

from __future__ import annotations

import argparse

from pipelines.close import close_month, closes, closes_path
from pipelines.errors import UserError
from pipelines.export.revenue_share import parse_period


def define_close_month(command: argparse.ArgumentParser) -> None:
    command.add_argument("month", nargs="?", metavar="YYYY-MM", help="the revenue-period month to close")
    command.add_argument("--list", action="store_true", help="list the closed months instead, newest first")
    command.set_defaults(func=_close_month)


def _close_month(args: argparse.Namespace) -> int:
    if args.list:
        if args.month:
            raise UserError("give either a month to close or --list, not both")
        return _list()
    if not args.month:
        raise UserError("name the month to close, e.g. `ebook-analytics close-month 2024-03`, or use --list")
    close = close_month(parse_period(args.month, what="month"))
    print(
        f"closed {close.month:%Y-%m}: {close.counted} frozen (book sales {close.book_sales} USD, author "
        f"share {close.author_revenue} USD) from run {close.run_id}, by {close.closed_by}"
    )
    return 0


def _list() -> int:
    closed = closes()
    if not closed:
        print(f"no month closed yet ({closes_path()})")
        return 0
    print(f"{'month':8} {'closed at (UTC)':26} {'by':24} {'role':8} {'statements':>10} {'author share':>14} run_id")
    for close in closed:
        print(
            f"{close.month:%Y-%m}  {close.closed_at.isoformat():26} {close.closed_by:24} {close.role:8} "
            f"{close.statements:>10} {close.author_revenue:>14} {close.run_id}"
        )
    return 0

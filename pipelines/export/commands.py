"""`ebook-analytics export revenue-share`: a month's author statements for finance, from the published warehouse."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import warehouse
from pipelines.config import paths
from pipelines.errors import UserError
from pipelines.export.revenue_share import parse_period, partial_note, statement_rows, to_csv_bytes, to_xlsx_bytes

WRITERS = {"csv": to_csv_bytes, "xlsx": to_xlsx_bytes}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = subparsers.add_parser("export", help="finance exports from the published warehouse")
    commands = export.add_subparsers(dest="export_command", metavar="EXPORT", required=True)
    revenue_share = commands.add_parser(
        "revenue-share", help="revenue-share statements of one month (revenue period start), for paying authors"
    )
    revenue_share.add_argument("--period", required=True, metavar="YYYY-MM", help="month of the revenue periods")
    revenue_share.add_argument("--format", required=True, choices=sorted(WRITERS), help="file format")
    revenue_share.add_argument("--out", required=True, type=Path, metavar="PATH", help="file to write")
    revenue_share.set_defaults(func=_revenue_share)


def _revenue_share(args: argparse.Namespace) -> int:
    month = parse_period(args.period)
    con = warehouse.connect(paths().warehouse, read_only=True)
    try:
        rows = statement_rows(con, month)
    finally:
        con.close()
    content = WRITERS[args.format](rows)
    try:
        args.out.write_bytes(content)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror}; choose another --out path") from exc
    sales = sum((row["book_sales"] for row in rows), start=0)
    print(f"wrote {len(rows)} statements for {month:%Y-%m} (book sales {sales:.2f} USD) to {args.out}")
    note = partial_note(rows)
    if note is not None:
        print(f"warning: {note}", file=sys.stderr)
    return 0

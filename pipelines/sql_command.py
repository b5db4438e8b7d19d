"""`ebook-analytics sql "select ..."`: read-only SQL on the latest publication (schemas marts, staging, meta).

The warehouse is one DuckDB file, opened read-only (DuckDB refuses every write), with the house macros. Only the
publication the file holds is kept, so `--as-of` addresses it (its run id, or a time at or after it was published)
and names anything older as no longer kept.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import duckdb

from pipelines import warehouse
from pipelines.config import paths
from pipelines.errors import UserError, first_line
from pipelines.metrics.commands import FORMATS, render
from pipelines.queries import one_row


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sql = subparsers.add_parser("sql", help="read-only SQL on the latest publication (schemas marts, staging, meta)")
    sql.add_argument("query", metavar="SQL", help='one statement, e.g. "select * from marts.ai_cost_daily limit 5"')
    sql.add_argument(
        "--as-of",
        metavar="RUN_ID|TIMESTAMP",
        help="the publication to read: a run id, or an ISO time (UTC unless it has an offset); only the latest "
        "publication is kept",
    )
    sql.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    sql.set_defaults(func=_sql)


def _sql(args: argparse.Namespace) -> int:
    con = warehouse.connect(paths().warehouse, read_only=True)
    try:
        if args.as_of:
            _check_as_of(con, args.as_of)
        try:
            frame = con.execute(args.query).to_arrow_table().to_pandas()  # Arrow: DECIMAL stays Decimal
        except duckdb.Error as exc:
            raise UserError(f"{first_line(exc)}; the warehouse is read-only: select from marts, staging, meta") from exc
        except AttributeError as exc:  # a statement without a result (e.g. `set`), which DuckDB did not refuse
            raise UserError("the statement returned no rows; run a query, e.g. select ... from marts....") from exc
    finally:
        con.close()
    print(render(frame, args.format), end="")
    return 0


def _check_as_of(con: duckdb.DuckDBPyConnection, as_of: str) -> None:
    """Accept the latest publication's run id, or a time at or after it was published; refuse anything older."""
    run_id, published_at = one_row(con.execute("select run_id, published_at from meta.publication"))
    if as_of == run_id:
        return
    try:
        moment = datetime.fromisoformat(as_of)
    except ValueError:
        raise UserError(
            f"publication {as_of} is no longer kept; only the latest, run {run_id} (published "
            f"{published_at.isoformat()}), is: use its run id or a time after it"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment < published_at:
        raise UserError(
            f"publication as of {moment.isoformat()} is no longer kept; only the latest, run {run_id} (published "
            f"{published_at.isoformat()}), is: use its run id or a time after it"
        )

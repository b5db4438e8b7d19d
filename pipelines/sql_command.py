"""`ebook-analytics sql "select ..."`: read-only SQL on the latest publication (schemas marts, staging, meta).

The warehouse is a DuckLake attached read-only (DuckDB refuses every write) at one publication, with the house
macros: the latest, or the one `--as-of` names (its run id, or a time: the last publication at or before it). Every
publication is kept `publication_retention_days` (default 90); an older one is refused, naming the oldest kept.
"""

from __future__ import annotations

import argparse

import duckdb

from pipelines import warehouse
from pipelines.errors import UserError, first_line
from pipelines.metrics.commands import FORMATS, render


def define_sql(sql: argparse.ArgumentParser) -> None:
    sql.add_argument("query", metavar="SQL", help='one statement, e.g. "select * from marts.ai_cost_daily limit 5"')
    sql.add_argument(
        "--as-of",
        metavar="RUN_ID|TIMESTAMP",
        help="the publication to read: a run id, or an ISO time (UTC unless it has an offset: the last publication "
        "at or before it); publications are kept publication_retention_days (default 90)",
    )
    sql.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    sql.set_defaults(func=_sql)


def _sql(args: argparse.Namespace) -> int:
    con = warehouse.open_publication(args.as_of)
    try:
        try:
            statements = len(con.extract_statements(args.query))
            if statements != 1:  # none (a comment) had no answer; of several, DuckDB would answer with the last alone
                raise UserError(
                    f"{statements} statements given; run one, e.g. select * from marts.ai_cost_daily limit 5"
                )
            frame = con.execute(args.query).to_arrow_table().to_pandas()  # Arrow: DECIMAL stays Decimal
        except duckdb.Error as exc:
            raise UserError(f"{first_line(exc)}; {_hint(exc)}") from exc
        except AttributeError as exc:  # a statement without a result (e.g. `set`), which DuckDB did not refuse
            raise UserError("the statement returned no rows; run a query, e.g. select ... from marts....") from exc
    finally:
        con.close()
    print(render(frame, args.format), end="")
    return 0


def _hint(exc: duckdb.Error) -> str:
    """What to do instead: read rather than write, or look up what there is to read."""
    if "read-only" in str(exc):
        return "the warehouse is read-only: select from marts, staging, meta"
    return (
        "the schemas are marts, staging and meta; list their tables with "
        '"select table_schema, table_name from information_schema.tables"'
    )

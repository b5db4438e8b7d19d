"""`ebook-analytics metrics list|query`: the defined metrics, and any of them for a range, grain and cut."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from dataclasses import asdict
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from pipelines.arguments import day
from pipelines.errors import UserError
from pipelines.metrics import metrics as compute
from pipelines.metrics.definitions import GRAINS, definitions

FORMATS = ("table", "csv", "json")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _filters(pairs: list[str]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for pair in pairs:
        dimension, equals, value = pair.partition("=")
        if not equals or not dimension.strip():
            raise UserError(f"--where {pair!r} is not DIM=VALUE; write e.g. --where model=gpt-4")
        where.setdefault(dimension.strip(), []).append(value)
    return where


def _json_value(value: object) -> object:
    """Money and other decimals as strings at full precision, counts as integers, rates as numbers, dates ISO;
    lists (a numpy array in the frame) and structs element by element."""
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_value(item) for item in value]
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)


def _text(value: object) -> str:
    shown = _json_value(value)
    if isinstance(shown, list | dict):
        return json.dumps(shown)
    return "" if shown is None else str(shown)


def render(frame: pd.DataFrame, output: str) -> str:
    records = [{column: _json_value(value) for column, value in row.items()} for row in frame.to_dict("records")]
    if output == "json":
        return json.dumps(records, indent=2) + "\n"
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(frame.columns)
        writer.writerows([[_text(value) for value in row] for row in frame.itertuples(index=False)])
        return buffer.getvalue()
    cells = [list(frame.columns), *[[_text(value) for value in row] for row in frame.itertuples(index=False)]]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(frame.columns))]
    return "".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in cells
    )


def _list(args: argparse.Namespace) -> int:
    catalog = definitions()
    if args.json:
        entries = [{k: v for k, v in asdict(m).items() if v is not None and k != "source"} for m in catalog.values()]
        print(json.dumps(entries, indent=2))
        return 0
    frame = pd.DataFrame(
        [(m.name, m.kind, m.unit, ",".join(m.dimensions) or "-", m.label) for m in catalog.values()],
        columns=["name", "kind", "unit", "dimensions", "label"],
    )
    print(render(frame, "table"), end="")
    return 0


def _query(args: argparse.Namespace) -> int:
    frame = compute(
        _names(args.names), args.start, args.end, grain=args.grain, by=_names(args.by or ""), where=_filters(args.where)
    )
    print(render(frame, args.format), end="")
    return 0


def define_metrics(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="metrics_command", metavar="SUBCOMMAND", required=True)
    listing = commands.add_parser("list", help="the defined metrics: name, kind, unit, dimensions, label")
    listing.add_argument("--json", action="store_true", help="every definition in full, as JSON")
    listing.set_defaults(func=_list)
    query = commands.add_parser(
        "query",
        help="compute metrics for an inclusive UTC date range",
        description="One row per period (and combination of --by dimensions). JSON: a list of objects with period "
        "(ISO date of the period's first day, null for grain all), each dimension and each metric; money and other "
        "decimals as strings at full precision, counts as integers, rates and percentiles as numbers.",
    )
    query.add_argument("names", metavar="NAME[,NAME...]", help="metric names, comma-separated")
    query.add_argument("--start", type=day, required=True, metavar="YYYY-MM-DD", help="first UTC day")
    query.add_argument("--end", type=day, required=True, metavar="YYYY-MM-DD", help="last UTC day (included)")
    query.add_argument("--grain", choices=GRAINS, default="all", help="period per row (week: ISO, Monday)")
    query.add_argument("--by", metavar="DIM[,DIM...]", help="dimensions to cut by")
    query.add_argument(
        "--where",
        metavar="DIM=VALUE",
        action="append",
        default=[],
        help="keep rows whose dimension is VALUE (repeatable; values of one dimension combine with or)",
    )
    query.add_argument("--format", choices=FORMATS, default="table", help="output format")
    query.set_defaults(func=_query)

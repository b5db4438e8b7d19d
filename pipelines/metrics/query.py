"""Computes any defined metric for a date range, grain, dimensions and filters, correctly for its kind.

Every figure a page, export, notebook or the CLI shows comes from `query_metrics`, so a metric aggregates one
way everywhere: sums are summed from the facts, distinct counts counted from the fact grain, ratios divided
after summing both sides, percentiles computed exactly over all rows of the period and group, balances read at
the period end and trailing counts over the window ending at the period end.

Values are bound, never formatted in; identifiers (models, columns, expressions) come only from the validated
definitions, and a requested dimension must be one the metric declares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from pipelines.errors import UserError, first_line
from pipelines.metrics.definitions import GRAINS, Metric, definitions, resolve

# The kinds whose value over no rows is 0 (a quiet day had no cost), not unknown.
ADDITIVE_KINDS = frozenset({"sum", "count_distinct", "balance", "trailing_distinct"})
_AGGREGATES = {
    "sum": "sum({})",
    "mean": "avg({})",
    "count_distinct": "count(distinct {})",
    # rounded: the interpolation in floating point leaves noise such as 7799.999999999996 for 7800
    "percentile": "round(quantile_cont({}, $percentile), 6)",
    "trailing_distinct": "count(distinct {})",
}
Key = tuple[Any, ...]


@dataclass(frozen=True)
class Period:
    label: date | None  # the period's first day (NULL for grain all), even when the range cuts it
    first: date  # its first day inside the range
    last: date  # its last day inside the range


def _period_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())  # ISO week: Monday
    if grain == "month":
        return day.replace(day=1)
    return day


def _next_period(label: date, grain: str) -> date:
    if grain == "week":
        return label + timedelta(days=7)
    if grain == "month":
        return date(label.year + label.month // 12, label.month % 12 + 1, 1)
    return label + timedelta(days=1)


def periods(start: date, end: date, grain: str) -> list[Period]:
    """The periods of an inclusive UTC day range; a period cut by the range keeps only its days inside it."""
    if grain == "all":
        return [Period(None, start, end)]
    result: list[Period] = []
    label = _period_start(start, grain)
    while label <= end:
        following = _next_period(label, grain)
        result.append(Period(label, max(label, start), min(following - timedelta(days=1), end)))
        label = following
    return result


def complete_months(start: date, end: date) -> tuple[date, date] | None:
    """The first and last day of the whole months inside [start, end]; None when no month lies wholly inside."""
    first = start if start.day == 1 else _next_period(start.replace(day=1), "month")
    after = _next_period(end.replace(day=1), "month")
    last = end if end == after - timedelta(days=1) else end.replace(day=1) - timedelta(days=1)
    return (first, last) if first <= last else None


def _where_sql(metric: Metric, where: Mapping[str, Sequence[str]], params: dict[str, object]) -> list[str]:
    conditions = []
    for position, (dimension, values) in enumerate(sorted(where.items())):
        params[f"where_{position}"] = [str(value) for value in values]
        conditions.append(f"list_contains($where_{position}::varchar[], facts.{dimension}::varchar)")
    if metric.filter:
        conditions.append(f"({metric.filter})")
    return conditions


def _metric_sql(
    metric: Metric, spans: list[Period], by: Sequence[str], where: Mapping[str, Sequence[str]]
) -> tuple[str, dict[str, object]]:
    """One query returning (period, *by, value) for a metric that reads a model (every kind but ratio)."""
    params: dict[str, object] = {
        "labels": [span.label for span in spans],
        "firsts": [span.first for span in spans],
        "lasts": [span.last for span in spans],
    }
    conditions = _where_sql(metric, where, params)
    dims = "".join(f", facts.{dimension}" for dimension in by)
    if metric.kind == "balance":
        # in force at the end of the period's last day: the exclusive midnight that follows it
        params["instants"] = [datetime.combine(span.last + timedelta(days=1), time(), UTC) for span in spans]
        spine = "unnest($instants::timestamptz[]) as instant"
        match = "facts.valid_from <= periods.instant and (facts.valid_to is null or facts.valid_to > periods.instant)"
        aggregate = "sum({})" if metric.aggregate == "sum" else "count(distinct {})"
    else:
        spine = ""
        reach = (metric.window_days or 1) - 1  # trailing windows reach back before the period's first day
        params["start"] = spans[0].first - timedelta(days=reach)
        params["end"] = spans[-1].last
        conditions.insert(0, f"facts.{metric.time} between $start and $end")
        if metric.kind == "trailing_distinct":
            params["window"] = reach
            match = f"facts.{metric.time} between periods.last_day - $window::integer and periods.last_day"
        else:
            match = f"facts.{metric.time} between periods.first_day and periods.last_day"
        aggregate = _AGGREGATES[metric.kind]
        if metric.kind == "percentile":
            params["percentile"] = metric.percentile
    filtered = f"where {' and '.join(conditions)}" if conditions else ""
    sql = f"""
with periods as (
    select
        unnest($labels::date[]) as period,
        unnest($firsts::date[]) as first_day,
        unnest($lasts::date[]) as last_day{", " + spine if spine else ""}
),

facts as (
    select * from {metric.model} as facts
    {filtered}
),

final as (
    select periods.period{dims}, {aggregate.format(metric.expression)} as value
    from periods
    join facts on {match}
    group by all
)

select * from final
"""
    return sql, params


def counted_periods(metric: Metric, spans: list[Period]) -> list[Period]:
    """The periods a metric has a value for: all of them, except that a monthly model counts whole months only."""
    if metric.time_grain != "month":
        return spans
    months = complete_months(spans[0].first, spans[-1].last)
    if months is None:
        return []
    inside = [span for span in spans if span.first <= months[1] and span.last >= months[0]]
    return [Period(span.label, max(span.first, months[0]), min(span.last, months[1])) for span in inside]


def _fetch(
    con: duckdb.DuckDBPyConnection,
    metric: Metric,
    spans: list[Period],
    by: Sequence[str],
    where: Mapping[str, Sequence[str]],
) -> dict[Key, object]:
    """A model-reading metric's value per (period, *by)."""
    spans = counted_periods(metric, spans)
    if not spans:
        return {}
    sql, params = _metric_sql(metric, spans, by, where)
    try:
        rows = con.execute(sql, params).fetchall()
    except duckdb.CatalogException as exc:
        raise UserError(
            f"metric {metric.name}: the warehouse has no {metric.model} ({first_line(exc)}); "
            "run `ebook-analytics etl run` to rebuild the marts"
        ) from exc
    return {tuple(row[:-1]): row[-1] for row in rows}


def _divide(numerator: Any, denominator: Any, metric: Metric) -> Decimal | float | None:
    """A ratio of sums; NULL when the denominator is 0 or unknown. Money stays Decimal, other ratios are numbers."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    if metric.is_money:
        return Decimal(str(numerator)) * metric.multiplier / Decimal(str(denominator))
    return float(numerator) * metric.multiplier / float(denominator)


def _check_request(
    metrics: list[Metric], start: date, end: date, grain: str, by: Sequence[str], where: Mapping[str, Sequence[str]]
) -> None:
    if start > end:
        raise UserError(f"the range starts ({start}) after it ends ({end}); give --start on or before --end")
    if grain not in GRAINS:
        raise UserError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    if len(set(by)) != len(by):
        raise UserError("a dimension is named twice in --by; name each once")
    for metric in metrics:
        if grain not in metric.grains:
            raise UserError(f"metric {metric.name} has no {grain} grain; use one of {', '.join(metric.grains)}")
        for dimension in [*by, *where]:
            if dimension not in metric.dimensions:
                cuts = ", ".join(metric.dimensions) or "none"
                raise UserError(
                    f"metric {metric.name} cannot be cut by {dimension!r} (its dimensions: {cuts}); "
                    "drop it from --by/--where or query the metrics separately"
                )
    for dimension, values in where.items():
        if not values:
            raise UserError(f"no value given for the filter on {dimension}; give at least one DIM=VALUE")


def query_metrics(
    con: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    *,
    start: date,
    end: date,
    grain: str = "all",
    by: Sequence[str] = (),
    where: Mapping[str, Sequence[str]] | None = None,
    catalog: Mapping[str, Metric] | None = None,
) -> pd.DataFrame:
    """The named metrics per period (and per combination of the `by` dimensions) over inclusive UTC days.

    Columns: `period` (first day of the period; None for grain all), each `by` dimension, each metric. Money is
    Decimal, counts int, rates, means and percentiles float (NaN when undefined, e.g. no rated generation).
    `where` keeps rows whose dimension equals one of the given values. Without `by` every period has a row.
    `catalog`: the definitions to use (default: the project's `queries/metrics/*.yml`), e.g. a draft in a notebook.
    """
    where = dict(where or {})
    by = list(by)
    known = definitions() if catalog is None else catalog
    metrics = resolve(list(names), known)
    _check_request(metrics, start, end, grain, by, where)
    spans = periods(start, end, grain)
    values: dict[str, dict[Key, object]] = {}

    def value_of(metric: Metric) -> dict[Key, object]:
        if metric.name not in values:
            if metric.kind == "ratio":
                top = value_of(known[metric.numerator or ""])
                bottom = value_of(known[metric.denominator or ""])
                values[metric.name] = {key: _divide(top.get(key, 0), bottom.get(key), metric) for key in bottom}
            else:
                values[metric.name] = _fetch(con, metric, spans, by, where)
        return values[metric.name]

    for metric in metrics:
        value_of(metric)
    keys: set[Key] = {key for metric in metrics for key in values[metric.name]}
    if not by:
        keys |= {(span.label,) for span in spans}
    ordered = sorted(keys, key=lambda key: tuple((value is None, value) for value in key))
    records = []
    # a period a metric does not count (a month the range cuts, for a monthly model) is empty, never 0
    counted = {metric.name: {span.label for span in counted_periods(metric, spans)} for metric in metrics}
    for key in ordered:
        record: dict[str, object] = dict(zip(["period", *by], key, strict=True))
        for metric in metrics:
            additive = metric.kind in ADDITIVE_KINDS and key[0] in counted[metric.name]
            zero = Decimal(0) if metric.is_money else 0
            record[metric.name] = values[metric.name].get(key, zero if additive else None)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=["period", *by, *[metric.name for metric in metrics]])

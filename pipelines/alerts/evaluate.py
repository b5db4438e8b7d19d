"""Evaluates alert rules on a warehouse: which subjects breach each rule now.

A metric rule compares the metric over its window, which ends on the latest day with data (at most the snapshot's
UTC day), with a baseline over the days before the window: the metric over those days (`period`) or the median of
its daily values (`daily_median`, a quiet day counting as 0 for an additive metric). It fires when the value is
above factor x baseline + margin and the window holds at least the minimum volume. A subject with no baseline
(a new model) is not judged. A SQL rule returns its breaching rows itself.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd

from pipelines.alerts.rules import SQL_PARAMETER, Rule
from pipelines.days import utc_day, utc_instant
from pipelines.metrics.definitions import Metric, definitions
from pipelines.metrics.query import ADDITIVE_KINDS, query_metrics
from pipelines.queries import one_row, sql_file

Number = Decimal | None
# Decimal places kept of a rate or percentile computed in floating point (the metrics engine's own rounding).
FLOAT_PLACES = 6
# The run history as SQL rules see it: the view `etl_runs` with these columns.
RUNS = "etl_runs"
RUN_COLUMNS = ("run_id", "status", "started_at", "error", "failed_error_checks")
_READS_RUNS = re.compile(rf"\b{RUNS}\b")  # a SQL rule naming the view reads the history


@dataclass(frozen=True)
class Breach:
    """One subject breaching a rule now."""

    rule: str
    subject: str
    value: Number
    threshold: Number
    window: str
    detail: str | None = None


@dataclass(frozen=True)
class Context:
    """What rules may bind besides their own settings: the published snapshot, the time of evaluation and the run
    history (newest first, the run being finished included), read only as far as a rule reading it asks
    (`runs_in_window`): a run every 15 minutes adds 35,000 runs a year."""

    snapshot_at: datetime
    now: datetime
    runs: Callable[[], Iterable[Mapping[str, Any]]] = tuple

    @property
    def snapshot_date(self) -> date:
        return utc_day(self.snapshot_at)


def exact(value: object) -> Number:
    """A figure as an exact Decimal without trailing zeros: floats (rates, percentiles) rounded to 6 places."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float):
        value = round(value, FLOAT_PLACES)
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    normalized = number.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


def _days(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def _facts(metric: Metric, catalog: Mapping[str, Metric]) -> Metric:
    """The metric whose model dates a ratio's values: its numerator's (both sides share the day column)."""
    return catalog[metric.numerator or ""] if metric.kind == "ratio" else metric


def latest_day(con: duckdb.DuckDBPyConnection, metric: Metric, snapshot_date: date) -> date | None:
    """The last UTC day with data for the metric, at most the snapshot's day."""
    facts = _facts(metric, definitions())
    # model and time come from the validated definitions, never from input
    (day,) = one_row(
        con.execute(f"select max({facts.time}) from {facts.model} where {facts.time} <= $day", {"day": snapshot_date})
    )
    return day if isinstance(day, date) else None


def _by_subject(frame: pd.DataFrame, rule: Rule) -> dict[str, dict[str, Any]]:
    subject = rule.by or ""
    return {(str(row[subject]) if rule.by else rule.metric or ""): row for row in frame.to_dict("records")}


def _daily_median(frame: pd.DataFrame, rule: Rule, metric: Metric, days: int) -> dict[str, Number]:
    """The median of each subject's daily values; an additive metric's missing day is a 0."""
    values: dict[str, list[Decimal]] = defaultdict(list)
    for row in frame.to_dict("records"):
        value = exact(row[metric.name])
        if value is not None:
            values[str(row[rule.by]) if rule.by else metric.name].append(value)
    medians: dict[str, Number] = {}
    for subject, found in values.items():
        if metric.kind in ADDITIVE_KINDS:
            found = found + [Decimal(0)] * (days - len(found))
        medians[subject] = exact(statistics.median(found))
    return medians


def _metric_breaches(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Breach]:
    assert rule.metric is not None and rule.baseline is not None and rule.window_days is not None  # a metric rule
    metric = definitions()[rule.metric]
    last = latest_day(con, metric, context.snapshot_date)
    if last is None:
        return []
    first = last - timedelta(days=rule.window_days - 1)
    base_last = first - timedelta(days=1)
    base_first = first - timedelta(days=rule.baseline.days)
    by = [rule.by] if rule.by else []
    names = [rule.metric, *([rule.min_volume.metric] if rule.min_volume else [])]
    current = query_metrics(con, names, start=first, end=last, grain="all", by=by)
    if rule.baseline.statistic == "daily_median":
        daily = query_metrics(con, [rule.metric], start=base_first, end=base_last, grain="day", by=by)
        baselines = _daily_median(daily, rule, metric, rule.baseline.days)
    else:
        before = query_metrics(con, [rule.metric], start=base_first, end=base_last, grain="all", by=by)
        baselines = {subject: exact(row[rule.metric]) for subject, row in _by_subject(before, rule).items()}
    window = f"{_days(first, last)} against {_days(base_first, base_last)}"
    breaches = []
    for subject, row in _by_subject(current, rule).items():
        value, baseline = exact(row[rule.metric]), baselines.get(subject)
        if value is None or baseline is None:
            continue
        if rule.min_volume and (exact(row[rule.min_volume.metric]) or 0) < rule.min_volume.at_least:
            continue
        threshold = exact(baseline * rule.baseline.factor + rule.baseline.margin)
        if threshold is not None and value > threshold:
            detail = f"baseline {baseline}" + (
                f", {row[rule.min_volume.metric]} {rule.min_volume.metric}" if rule.min_volume else ""
            )
            breaches.append(Breach(rule.name, subject, value, threshold, window, detail))
    return breaches


def runs_in_window(context: Context, days: int | None) -> list[Mapping[str, Any]]:
    """The runs a rule reading the history sees (the view `etl_runs`), newest first: those started in its last
    `window_days` before now, every run when it has none. Runs never overlap (the ETL's lock), so the first run
    started before the window is the last one read."""
    runs = context.runs()
    if days is None:
        return list(runs)
    since = context.now - timedelta(days=days)
    seen: list[Mapping[str, Any]] = []
    for run in runs:
        started = _started(run)
        if started is not None and started < since:
            break
        seen.append(run)  # (a line without a readable start, hand-written or torn, is the framing's to judge)
    return seen


def _started(run: Mapping[str, Any]) -> datetime | None:
    """When the run started (UTC unless it says otherwise); None when its record does not say."""
    try:
        return utc_instant(str(run["started_at"]))
    except (KeyError, ValueError):
        return None


def _runs_frame(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = [
        {
            "run_id": str(run.get("run_id")),
            "status": str(run.get("status")),
            "started_at": run.get("started_at"),
            "error": run.get("error"),
            "failed_error_checks": sum(
                1 for check in run.get("checks") or [] if check.get("severity") == "error" and not check.get("success")
            ),
        }
        for run in runs
    ]
    frame = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    # One conversion of the column, not one per run: the history grows by a run every schedule tick.
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True, format="ISO8601", errors="coerce")
    return frame.astype({"run_id": "string", "status": "string", "error": "string", "failed_error_checks": "int64"})


def _sql_breaches(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Breach]:
    text = sql_file(f"alerts/{rule.sql}")
    available: dict[str, object] = {
        "snapshot_at": context.snapshot_at,
        "snapshot_date": context.snapshot_date,
        "now": context.now,
        "threshold": rule.threshold,
        "min_volume": rule.min_volume.at_least if rule.min_volume else None,
        "window_days": rule.window_days,
    }
    params = {name: available[name] for name in set(SQL_PARAMETER.findall(text))}
    # Only a rule that reads the run history gets it: framing it costs more than most rules' query.
    reads_runs = _READS_RUNS.search(text) is not None
    if reads_runs:
        con.register(RUNS, _runs_frame(runs_in_window(context, rule.window_days)))
    try:
        rows = con.execute(text, params).fetchall()
    finally:
        if reads_runs:
            con.unregister(RUNS)
    return [
        Breach(rule.name, str(subject), exact(value), exact(threshold), window or "", detail)
        for subject, value, threshold, window, detail in rows
    ]


def evaluate_rule(con: duckdb.DuckDBPyConnection, rule: Rule, context: Context) -> list[Breach]:
    """The subjects breaching the rule, sorted by subject."""
    found = _metric_breaches(con, rule, context) if rule.metric else _sql_breaches(con, rule, context)
    return sorted(found, key=lambda breach: breach.subject)

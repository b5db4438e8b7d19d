"""Metric definitions (`queries/metrics/*.yml`): one declaration per business metric, loaded and validated.

The same objects drive the query engine (`pipelines.metrics.query`), `docs/metrics.md`, the CLI and the page
tooltips, so a metric's meaning is written once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from dashboards.pages import ROLES
from pipelines.errors import UserError
from pipelines.queries import QUERIES_DIR
from pipelines.transform.contract_docs import REPO_ROOT
from pipelines.yaml_files import read_yaml

METRICS_DIR = QUERIES_DIR / "metrics"
KINDS = ("sum", "mean", "count_distinct", "percentile", "ratio", "balance", "trailing_distinct")
UNITS = ("usd", "count", "ratio", "ms", "words", "tokens", "rating", "seconds", "number")
GRAINS = ("day", "week", "month", "all")
BALANCE_AGGREGATES = ("sum", "count_distinct")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MODEL = re.compile(r"^(marts|history)\.[a-z][a-z0-9_]*$")
_COMMON_KEYS = {"name", "label", "description", "unit", "kind", "dimensions", "grains", "audience"}
# The keys each kind needs beyond the common ones, and those it may add.
_REQUIRED: dict[str, set[str]] = {
    "sum": {"model", "time", "expression"},
    "mean": {"model", "time", "expression"},
    "count_distinct": {"model", "time", "expression"},
    "percentile": {"model", "time", "expression", "percentile"},
    "ratio": {"numerator", "denominator"},
    "balance": {"model", "expression", "aggregate"},
    "trailing_distinct": {"model", "time", "expression", "window_days"},
}
_OPTIONAL: dict[str, set[str]] = {
    "sum": {"filter", "time_grain"},
    "mean": {"filter", "time_grain"},
    "count_distinct": {"filter", "time_grain"},
    "percentile": {"filter"},
    "ratio": {"multiplier"},
    "balance": {"filter"},
    "trailing_distinct": {"filter"},
}


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    unit: str
    kind: str
    dimensions: tuple[str, ...]
    grains: tuple[str, ...]
    audience: tuple[str, ...]
    model: str | None = None  # schema.table read (not for ratio)
    time: str | None = None  # the model's UTC DATE column placing a row in a period (not for balance)
    time_grain: str = "day"  # "month": the time column holds months; only complete months in a range count
    expression: str | None = None
    filter: str | None = None
    aggregate: str | None = None  # balance: sum | count_distinct
    percentile: float | None = None
    numerator: str | None = None
    denominator: str | None = None
    multiplier: int = 1
    window_days: int | None = None
    source: str = ""  # the yml file it came from, for messages

    @property
    def is_money(self) -> bool:
        return self.unit == "usd"


def _fail(where: str, problem: str) -> UserError:
    return UserError(f"{where}: {problem}; fix the metric definition")


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise _fail(where, f"`{key}` must be a list of names")
    return tuple(value)


def parse_metric(data: Any, source: str) -> Metric:
    """One definition, checked for everything that does not need the other definitions."""
    if not isinstance(data, dict):
        raise _fail(source, "each entry of `metrics` must be a mapping")
    name = data.get("name")
    where = f"{source}: metric {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(where, "`name` must be snake_case")
    kind = data.get("kind")
    if kind not in KINDS:
        raise _fail(where, f"`kind` must be one of {', '.join(KINDS)}")
    missing = (_COMMON_KEYS | _REQUIRED[kind]) - data.keys()
    if missing:
        raise _fail(where, f"missing {', '.join(sorted(missing))}")
    unknown = data.keys() - _COMMON_KEYS - _REQUIRED[kind] - _OPTIONAL[kind]
    if unknown:
        raise _fail(where, f"{', '.join(sorted(unknown))} not allowed for kind {kind}")
    for key in ("label", "description"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise _fail(where, f"`{key}` must be a non-empty text")
    if data["unit"] not in UNITS:
        raise _fail(where, f"`unit` must be one of {', '.join(UNITS)}")
    grains = _strings(data["grains"], where, "grains")
    if set(grains) - set(GRAINS):
        raise _fail(where, f"`grains` must be among {', '.join(GRAINS)}")
    audience = _strings(data["audience"], where, "audience")
    if set(audience) - set(ROLES):
        raise _fail(where, f"`audience` must be among the roles {', '.join(ROLES)}")
    dimensions = tuple(data["dimensions"] or [])
    if not all(isinstance(d, str) and _NAME.match(d) for d in dimensions):
        raise _fail(where, "`dimensions` must be a list of column names")
    if "model" in data and not (isinstance(data["model"], str) and _MODEL.match(data["model"])):
        raise _fail(where, "`model` must be marts.<table> or history.<table>")
    if "time" in data and not (isinstance(data["time"], str) and _NAME.match(data["time"])):
        raise _fail(where, "`time` must be a column name")
    time_grain = data.get("time_grain", "day")
    if time_grain not in ("day", "month"):
        raise _fail(where, "`time_grain` must be day or month")
    if time_grain == "month" and set(grains) - {"month", "all"}:
        raise _fail(where, "a monthly model supports only the grains month and all")
    percentile = data.get("percentile")
    if kind == "percentile" and not (isinstance(percentile, float) and 0 < percentile < 1):
        raise _fail(where, "`percentile` must be a number between 0 and 1, e.g. 0.95")
    window_days = data.get("window_days")
    if kind == "trailing_distinct" and not (isinstance(window_days, int) and window_days > 0):
        raise _fail(where, "`window_days` must be a positive whole number")
    multiplier = data.get("multiplier", 1)
    if not (isinstance(multiplier, int) and multiplier > 0):
        raise _fail(where, "`multiplier` must be a positive whole number")
    aggregate = data.get("aggregate")
    if kind == "balance" and aggregate not in BALANCE_AGGREGATES:
        raise _fail(where, f"`aggregate` must be one of {', '.join(BALANCE_AGGREGATES)}")
    return Metric(
        name=name,
        label=data["label"],
        description=" ".join(data["description"].split()),
        unit=data["unit"],
        kind=kind,
        dimensions=dimensions,
        grains=grains,
        audience=audience,
        model=data.get("model"),
        time=data.get("time"),
        time_grain=time_grain,
        expression=data.get("expression"),
        filter=data.get("filter"),
        aggregate=aggregate,
        percentile=percentile,
        numerator=data.get("numerator"),
        denominator=data.get("denominator"),
        multiplier=multiplier,
        window_days=window_days,
        source=source,
    )


def _check_ratio(metric: Metric, metrics: dict[str, Metric]) -> None:
    where = f"{metric.source}: metric {metric.name!r}"
    for side in (metric.numerator, metric.denominator):
        part = metrics.get(side or "")
        if part is None:
            raise _fail(where, f"`{side}` is not a defined metric")
        if part.kind in ("ratio", "percentile", "mean"):
            raise _fail(where, f"`{side}` is a {part.kind}: a ratio divides two additive or distinct counts")
        if set(metric.dimensions) - set(part.dimensions):
            raise _fail(where, f"its dimensions must be dimensions of `{side}` too")
        if set(metric.grains) - set(part.grains):
            raise _fail(where, f"its grains must be grains of `{side}` too")


def load_metrics(directory: Path = METRICS_DIR) -> dict[str, Metric]:
    """Every definition by name, in file then declaration order; UserError on any bad definition."""
    metrics: dict[str, Metric] = {}
    for path in sorted(directory.glob("*.yml")):
        source = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
        data = read_yaml(path) or {}
        entries = data.get("metrics") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise _fail(source, "the file must hold a `metrics:` list")
        for entry in entries:
            metric = parse_metric(entry, source)
            if metric.name in metrics:
                raise _fail(source, f"metric {metric.name!r} is also defined in {metrics[metric.name].source}")
            metrics[metric.name] = metric
    for metric in metrics.values():
        if metric.kind == "ratio":
            _check_ratio(metric, metrics)
    return metrics


@cache
def definitions() -> dict[str, Metric]:
    """The project's definitions, loaded once per process."""
    return load_metrics()


def resolve(names: Sequence[str], metrics: Mapping[str, Metric] | None = None) -> list[Metric]:
    """The named metrics, in the order asked; UserError naming the unknown ones."""
    metrics = definitions() if metrics is None else metrics
    unknown = [name for name in names if name not in metrics]
    if unknown:
        raise UserError(
            f"unknown metric {', '.join(unknown)}; `ebook-analytics metrics list` shows the defined metrics"
        )
    if not names:
        raise UserError("no metric named; give at least one, e.g. `metrics query ai_cost ...`")
    return [metrics[name] for name in names]

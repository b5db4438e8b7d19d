"""Alert rules (`queries/alerts/*.yml`): one file per rule, loaded and validated here.

A rule watches either a metric of the metrics layer (its latest window against a baseline of the days before) or
a `.sql` over the marts beside the rule file that returns the breaching rows. The same objects drive the
evaluation (`pipelines.alerts.evaluate`), `docs/alerts.md`, `ebook-analytics alerts` and the Alerts page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from dashboards.pages import ROLES
from pipelines.errors import UserError
from pipelines.metrics.definitions import Metric, definitions
from pipelines.queries import QUERIES_DIR
from pipelines.transform.contract_docs import REPO_ROOT
from pipelines.yaml_files import read_yaml

ALERTS_DIR = QUERIES_DIR / "alerts"
SEVERITIES = ("info", "warning", "critical")
# What a rule's subject names: in the payload so the platform's mailer knows whom or what an alert concerns.
SUBJECT_KINDS = ("platform", "model", "user", "author", "statement", "table", "run")
STATISTICS = ("period", "daily_median")
# What a SQL rule may bind (pipelines.alerts.evaluate supplies them).
SQL_PARAMETERS = ("snapshot_at", "snapshot_date", "now", "threshold", "min_volume", "window_days")
SQL_PARAMETER = re.compile(r"\$([a-z_]+)")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_COMMON = {"name", "description", "severity", "role", "subject_kind", "window_days"}
_METRIC_KEYS = {"metric", "by", "baseline", "min_volume"}
_SQL_KEYS = {"sql", "threshold", "min_volume"}
_METRIC_REQUIRED = {"metric", "baseline", "window_days"}
_SQL_REQUIRED = {"sql", "threshold"}


@dataclass(frozen=True)
class Baseline:
    days: int  # the days before the window the baseline covers
    statistic: str  # period: the metric over those days; daily_median: the median of its daily values
    factor: Decimal  # threshold = factor x baseline + margin
    margin: Decimal


@dataclass(frozen=True)
class MinVolume:
    metric: str  # a count metric with the rule's dimensions
    at_least: int


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    severity: str
    role: str  # the dashboard role the alert concerns (who acts on it)
    subject_kind: str
    window_days: int | None  # metric rules: the days compared; SQL rules: bound as $window_days if given
    metric: str | None = None  # a metric rule: the metric watched
    by: str | None = None  # the metric's dimension naming the subject (None: one subject, the platform)
    baseline: Baseline | None = None
    min_volume: MinVolume | None = None  # metric rules: a volume metric; SQL rules: bound as $min_volume
    sql: str | None = None  # a SQL rule: queries/alerts/<sql>.sql
    threshold: Decimal | None = None  # SQL rules: bound as $threshold
    source: str = ""  # the yml file, for messages


def _fail(where: str, problem: str) -> UserError:
    return UserError(f"{where}: {problem}; fix the alert rule")


def _number(value: Any, where: str, key: str) -> Decimal:
    """A threshold or factor, kept exact (YAML's 0.05 is a float; its shortest text is what was written)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"`{key}` must be a number")
    return Decimal(str(value))


def _positive_int(value: Any, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(where, f"`{key}` must be a positive whole number")
    return value


def _mapping(value: Any, where: str, key: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"`{key}` must be a mapping")
    if required - value.keys():
        raise _fail(where, f"`{key}` misses {', '.join(sorted(required - value.keys()))}")
    if value.keys() - allowed:
        raise _fail(where, f"`{key}` does not take {', '.join(sorted(value.keys() - allowed))}")
    return value


def _baseline(value: Any, where: str) -> Baseline:
    data = _mapping(value, where, "baseline", {"days", "statistic", "factor", "margin"}, {"days", "factor"})
    statistic = data.get("statistic", "period")
    if statistic not in STATISTICS:
        raise _fail(where, f"`baseline.statistic` must be one of {', '.join(STATISTICS)}")
    factor = _number(data["factor"], where, "baseline.factor")
    margin = _number(data.get("margin", 0), where, "baseline.margin")
    if factor <= 0 or margin < 0:
        raise _fail(where, "`baseline.factor` must be above 0 and `baseline.margin` not below 0")
    return Baseline(_positive_int(data["days"], where, "baseline.days"), statistic, factor, margin)


def _metric_parts(data: dict[str, Any], where: str, metrics: dict[str, Metric]) -> dict[str, Any]:
    metric = metrics.get(data["metric"]) if isinstance(data["metric"], str) else None
    if metric is None:
        raise _fail(where, f"`metric` {data['metric']!r} is not a defined metric (`ebook-analytics metrics list`)")
    if metric.kind == "balance" or metric.time_grain != "day" or "day" not in metric.grains:
        raise _fail(where, f"metric {metric.name} has no daily values to compare; use a `sql` rule")
    by = data.get("by")
    if by is not None and by not in metric.dimensions:
        raise _fail(where, f"`by` must be one of the metric's dimensions ({', '.join(metric.dimensions) or 'none'})")
    volume = None
    if "min_volume" in data:
        spec = _mapping(data["min_volume"], where, "min_volume", {"metric", "at_least"}, {"metric", "at_least"})
        counted = metrics.get(spec["metric"]) if isinstance(spec["metric"], str) else None
        if counted is None or counted.unit != "count" or (by is not None and by not in counted.dimensions):
            raise _fail(where, "`min_volume.metric` must be a count metric with the rule's `by` dimension")
        volume = MinVolume(counted.name, _positive_int(spec["at_least"], where, "min_volume.at_least"))
    return {"metric": metric.name, "by": by, "baseline": _baseline(data["baseline"], where), "min_volume": volume}


def parse_rule(data: Any, source: str, metrics: dict[str, Metric], directory: Path = ALERTS_DIR) -> Rule:
    """One rule, checked against the metric definitions and the SQL files beside it."""
    if not isinstance(data, dict):
        raise _fail(source, "the file must hold one mapping")
    name = data.get("name")
    where = f"{source}: rule {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(where, "`name` must be snake_case")
    if Path(source).stem != name:
        raise _fail(where, "the file must be named after the rule (<name>.yml)")
    kind_keys = _METRIC_KEYS if "metric" in data else _SQL_KEYS
    if ("metric" in data) == ("sql" in data):
        raise _fail(where, "give exactly one of `metric` and `sql`")
    required = _COMMON - {"window_days"} | (_METRIC_REQUIRED if "metric" in data else _SQL_REQUIRED)
    missing = required - data.keys()
    if missing:
        raise _fail(where, f"missing {', '.join(sorted(missing))}")
    unknown = data.keys() - _COMMON - kind_keys
    if unknown:
        raise _fail(where, f"{', '.join(sorted(unknown))} not allowed here")
    if not isinstance(data["description"], str) or not data["description"].strip():
        raise _fail(where, "`description` must be a non-empty text")
    for key, allowed in (("severity", SEVERITIES), ("role", ROLES), ("subject_kind", SUBJECT_KINDS)):
        if data[key] not in allowed:
            raise _fail(where, f"`{key}` must be one of {', '.join(allowed)}")
    common: dict[str, Any] = {
        "name": name,
        "description": " ".join(data["description"].split()),
        "severity": data["severity"],
        "role": data["role"],
        "subject_kind": data["subject_kind"],
        "window_days": _positive_int(data["window_days"], where, "window_days") if "window_days" in data else None,
        "source": source,
    }
    if "metric" in data:
        return Rule(**common, **_metric_parts(data, where, metrics))
    if not isinstance(data["sql"], str) or not (directory / f"{data['sql']}.sql").is_file():
        raise _fail(where, f"`sql` must name a .sql file beside the rule (queries/alerts/{data['sql']}.sql)")
    volume = None
    if "min_volume" in data:
        volume = MinVolume("", _positive_int(data["min_volume"], where, "min_volume"))
    _check_parameters((directory / f"{data['sql']}.sql").read_text(), data, where)
    return Rule(**common, sql=data["sql"], threshold=_number(data["threshold"], where, "threshold"), min_volume=volume)


def _check_parameters(text: str, data: dict[str, Any], where: str) -> None:
    """A SQL rule binds only what the evaluation offers, and its own settings only when the rule sets them."""
    for name in sorted(set(SQL_PARAMETER.findall(text))):
        if name not in SQL_PARAMETERS:
            raise _fail(where, f"its SQL binds ${name}; a rule's SQL may bind {', '.join(SQL_PARAMETERS)}")
        if name in ("min_volume", "window_days") and name not in data:
            raise _fail(where, f"its SQL binds ${name}; set `{name}` in the rule")


def load_rules(directory: Path = ALERTS_DIR, metrics: dict[str, Metric] | None = None) -> dict[str, Rule]:
    """Every rule by name, in file order; UserError on any bad rule."""
    metrics = definitions() if metrics is None else metrics
    rules: dict[str, Rule] = {}
    for path in sorted(directory.glob("*.yml")):
        source = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
        rule = parse_rule(read_yaml(path), source, metrics, directory)
        rules[rule.name] = rule
    return rules


@cache
def rules() -> dict[str, Rule]:
    """The project's rules, loaded once per process."""
    return load_rules()


def rule(name: str) -> Rule:
    """The named rule; UserError naming the defined ones otherwise."""
    known = rules()
    if name not in known:
        raise UserError(f"unknown alert rule {name!r}; `ebook-analytics alerts list` shows the rules")
    return known[name]

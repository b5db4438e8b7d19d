"""Runs the SQL models of `queries/marts/` into schema `marts`, each after the marts it reads."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from pipelines.config import setting
from pipelines.errors import UserError
from pipelines.queries import QUERIES_DIR

MARTS_DIR = QUERIES_DIR / "marts"
_MART_REFERENCE = re.compile(r"\bmarts\.(\w+)")
_PARAMETER = re.compile(r"\$(\w+)")
# What runs the mart SQL: DuckDB in the build file, or Apache Spark (pipelines/transform/spark.py) on the same SQL.
ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    sql: str

    @property
    def depends_on(self) -> set[str]:
        return {name for name in _MART_REFERENCE.findall(self.sql) if name != self.name}

    @property
    def parameters(self) -> set[str]:
        return set(_PARAMETER.findall(self.sql))


def load_models(directory: Path = MARTS_DIR) -> list[Model]:
    """Every model, ordered so that each runs after the marts it references."""
    models = {p.stem: Model(p.stem, p, p.read_text()) for p in sorted(directory.glob("*.sql"))}
    graph = {name: model.depends_on & models.keys() for name, model in models.items()}
    return [models[name] for name in TopologicalSorter(graph).static_order()]


def run_models(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> dict[str, float]:
    """Build every mart; returns seconds per model. Parameters are bound by name, never formatted in."""
    con.execute("create schema if not exists marts")
    timings: dict[str, float] = {}
    for model in load_models():
        started = time.perf_counter()
        bound = {name: params[name] for name in model.parameters}
        body = model.sql.strip().rstrip(";")
        con.execute(f"create or replace table marts.{model.name} as {body}", bound)
        timings[model.name] = time.perf_counter() - started
    return timings


def choose_engine(flag: str | None = None) -> str:
    """The transform engine: the `--engine` flag, else EBOOK_ANALYTICS_ENGINE, else duckdb."""
    engine = (flag or setting("engine", "duckdb") or "duckdb").lower()
    if engine not in ENGINES:
        raise UserError(
            f"unknown transform engine {engine!r}; use one of {', '.join(ENGINES)} (EBOOK_ANALYTICS_ENGINE)"
        )
    return engine

"""Which engine runs the mart SQL: DuckDB in the build file (pipelines/transform/runner.py), or Apache Spark
(pipelines/transform/spark.py) on the same SQL. A module of its own, so the commands that offer the choice (`etl run`,
`bench`) define their arguments without importing either engine."""

from __future__ import annotations

from pipelines.config import setting
from pipelines.errors import UserError

ENGINES = ("duckdb", "spark")


def choose_engine(flag: str | None = None) -> str:
    """The transform engine: the `--engine` flag, else EBOOK_ANALYTICS_ENGINE, else duckdb."""
    engine = (flag or setting("engine", "duckdb") or "duckdb").lower()
    if engine not in ENGINES:
        raise UserError(
            f"unknown transform engine {engine!r}; use one of {', '.join(ENGINES)} (EBOOK_ANALYTICS_ENGINE)"
        )
    return engine

"""The metrics layer: one definition per business metric (`queries/metrics/*.yml`), one engine computing them.

For notebooks::

    from datetime import date
    from pipelines.metrics import metrics

    frame = metrics(["ai_cost", "ai_latency_p95"], date(2024, 3, 1), date(2024, 3, 31), grain="week", by=["model"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines import warehouse as warehouse_file
from pipelines.config import paths
from pipelines.metrics.query import query_metrics

__all__ = ["metrics", "query_metrics"]


def metrics(
    names: Sequence[str],
    start: date,
    end: date,
    grain: str = "all",
    by: Sequence[str] = (),
    where: Mapping[str, Sequence[str]] | None = None,
    warehouse: Path | str | None = None,
) -> pd.DataFrame:
    """`query_metrics` (which documents the arguments and columns) on the published warehouse, opened read-only
    (default: the configured one), for notebooks that hold no connection of their own."""
    with warehouse_file.connect(warehouse or paths().warehouse, read_only=True) as con:
        return query_metrics(con, names, start=start, end=end, grain=grain, by=by, where=where)

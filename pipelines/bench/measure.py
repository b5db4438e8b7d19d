"""The benchmark's sequence, on one dataset: caches warmed, COPY limit, full ETL, naive peer, incremental, follow
mode, pages."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.bench.environment import BenchEnvironment, ensure_seeded
from pipelines.bench.etl import run_etl
from pipelines.bench.extract_limit import copy_limit_seconds, count_rows
from pipelines.bench.follow import measure_follow_lag
from pipelines.bench.naive import naive_extract
from pipelines.bench.tuples import tuples_read, wait_until_quiet
from pipelines.extract.tables import load_tables
from pipelines.publish import lake
from pipelines.run.commands import capture_methods


def measure(
    bench: BenchEnvironment,
    scale: str,
    *,
    out: Path,
    dashboards: bool,
    progress: Callable[[str], None],
    follow_every: str,
    spark: bool = False,
) -> dict[str, Any]:
    """Every measurement of bench.json except provenance, ratios and targets (see report.finish)."""
    progress(f"source {bench.home} at scale {scale}")
    seed_s = ensure_seeded(bench, scale)
    tables = load_tables()
    rows = count_rows(bench.source_url, tables)  # also warms the caches for every reader below

    progress("extract limit (binary COPY)")
    limit = copy_limit_seconds(bench.source_url, tables)

    progress("full ETL, from no warehouse")
    # The bench's own folder: without a published file to start from, every bench run rebuilds the same warehouse.
    shutil.rmtree(bench.warehouse.parent, ignore_errors=True)
    env, run_history = bench.env(), bench.run_history
    full = run_etl("--full", env=env, run_history=run_history)

    spark_full = None
    if spark:
        progress("full ETL again, the transform on Spark")
        spark_full = run_etl("--full", "--engine", "spark", env=env, run_history=run_history)

    progress("naive peer (pandas.read_sql -> DuckDB)")
    out.mkdir(parents=True, exist_ok=True)
    naive = naive_extract(bench.source_url, tables, rows, out / "naive.duckdb")

    progress("one more day of activity, then the incremental ETL")
    bench.cli("source advance", "source", "advance", "--days", "1")
    sources = sorted({table.source for table in tables})
    wait_until_quiet(bench.source_url)
    tuples_before = tuples_read(bench.source_url, sources)
    incremental = run_etl(env=env, run_history=run_history)
    wait_until_quiet(bench.source_url)
    tuples_by_table = {
        name: count - tuples_before[name] for name, count in tuples_read(bench.source_url, sources).items()
    }

    progress(f"follow mode (`etl run --every {follow_every}`): a committed row until it is published")
    follow = measure_follow_lag(bench, follow_every)

    results = {
        "scale": scale,
        "rows_extracted": full.rows_read,
        "seed_s": round(seed_s, 3),
        "extract_limit_s": round(sum(limit.values()), 3),
        "naive_extract_s": round(naive.seconds, 3),
        "naive_measured_s": round(naive.measured_seconds, 3),
        "naive_share": naive.share,
        "full_etl_s": round(full.seconds, 3),
        "full_extract_s": full.steps.get("extract"),
        "history_s": full.steps.get("history"),
        "transform_s": full.steps.get("transform"),
        "checks_s": full.steps.get("checks"),
        "publish_s": full.steps.get("publish"),
        "writeback_s": full.steps.get("writeback"),
        "extract_rows_per_s": round(full.rows_read / full.steps["extract"]) if full.steps.get("extract") else None,
        "peak_rss_mb": round(full.peak_rss_mb, 1),
        "incremental_etl_s": round(incremental.seconds, 3),
        "incremental_steps": incremental.steps,
        # Issue 12: publishing one more day's change (a DuckLake snapshot of what changed), and the lake's data files
        # after the runs (compaction keeps the count from growing with every publication).
        "incremental_publish_s": incremental.steps.get("publish"),
        "warehouse_files": sum(1 for path in lake.at(bench.warehouse).data_path.rglob("*") if path.is_file()),
        "incremental_peak_rss_mb": round(incremental.peak_rss_mb, 1),
        # Change capture (issue 12): what the incremental run read at the source (its write-back included) against
        # the staged rows it changed or deleted, and how it read them.
        "capture_method": capture_methods(incremental.record.get("tables", {})),
        "capture_note": (incremental.record.get("capture") or {}).get("note"),
        "source_tuples_read_incremental": sum(tuples_by_table.values()),
        "source_tuples_read_incremental_by_table": {name: n for name, n in tuples_by_table.items() if n},
        "rows_changed_incremental": sum(
            table.get("rows_changed", 0) + table.get("rows_deleted", 0)
            for table in incremental.record.get("tables", {}).values()
        ),
        # Incremental marts (issue 12 item 3): how many marts the incremental run skipped, refreshed by day or
        # month, or rebuilt whole.
        "incremental_marts_by_mode": dict(
            sorted(Counter(str(m.get("mode")) for m in incremental.record.get("marts", {}).values()).items())
        ),
        "tables": {
            table.name: {"rows": rows[table.name], "extract_limit_s": round(limit[table.name], 4)} for table in tables
        },
        "spark_full_etl_s": round(spark_full.seconds, 3) if spark_full else None,
        "spark_transform_s": spark_full.steps.get("transform") if spark_full else None,
        "spark_peak_rss_mb": round(spark_full.peak_rss_mb, 1) if spark_full else None,
        **follow,
        "pages": {},
        "load": {},
    }
    if dashboards:
        from pipelines.bench.dashboards import measure_dashboards

        progress("dashboards")
        results.update(measure_dashboards(bench, scale, progress))
        from pipelines.bench.first_view import measure_first_view

        progress("first view after a publication")
        results.update(measure_first_view(bench))
    return results

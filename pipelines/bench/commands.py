"""`ebook-analytics bench`: one run measures extract limit, naive peer, full and incremental ETL and dashboards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.run.schedule import parse_interval
from pipelines.source.commands import SCALES
from pipelines.transform.engines import ENGINES


def define_bench(bench: argparse.ArgumentParser) -> None:
    bench.description = (
        "Seeds <home>/bench-<scale> (its own embedded PostgreSQL and warehouse) unless already seeded, "
        "then measures and writes bench.json and bench.md into --out."
    )
    bench.add_argument("--scale", choices=SCALES, default="medium", help="size of the seeded history (docs/seed.md)")
    bench.add_argument(
        "--out", type=Path, default=Path("bench-out"), metavar="DIR", help="where bench.json and bench.md go"
    )
    bench.add_argument(
        "--skip-dashboards",
        action="store_true",
        help="measure the ETL only (the dashboard part needs the bench extra and Chromium)",
    )
    bench.add_argument(
        "--engine",
        choices=ENGINES,
        default="duckdb",
        help="spark: also run the full ETL with `--engine spark` and compare its transform with DuckDB's",
    )
    bench.add_argument(
        "--follow-every",
        type=parse_interval,
        default="30s",
        metavar="INTERVAL",
        help="the follower's interval for follow_lag_s (`etl run --every INTERVAL`; e.g. 30s, 1m)",
    )
    bench.add_argument(
        "--source-url",
        metavar="URL",
        default=None,
        help="an empty database to seed and measure instead of the bench's own embedded server",
    )
    bench.set_defaults(func=_bench)


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _bench(args: argparse.Namespace) -> int:
    from pipelines.bench import report
    from pipelines.bench.environment import open_environment
    from pipelines.bench.measure import measure
    from pipelines.bench.prerequisites import check_prerequisites

    check_prerequisites(dashboards=not args.skip_dashboards, out=args.out)
    if args.engine == "spark":
        from pipelines.transform.spark import check_prerequisites as check_spark_prerequisites

        check_spark_prerequisites()  # before seeding: a missing Java is a one-line error, not a failure an hour in
    bench = open_environment(args.scale, args.source_url)
    try:
        results = measure(
            bench,
            args.scale,
            out=args.out,
            dashboards=not args.skip_dashboards,
            spark=args.engine == "spark",
            follow_every=f"{args.follow_every:g}s",
            progress=progress,
        )
    finally:
        bench.close()
    results = report.finish(results)
    json_path, md_path = report.write(results, args.out)
    print(report.markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0

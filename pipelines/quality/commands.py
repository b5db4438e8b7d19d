"""`ebook-analytics check [--html DIR]`: every suite against the live published warehouse, read-only."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.config import paths
from pipelines.errors import UserError
from pipelines.quality.result import CheckResult
from pipelines.queries import sql_file
from pipelines.warehouse import connect, private_copy

EXIT_ERRORS = 2  # an error-severity check failed, as `etl run` exits when it blocks a publish
SAMPLES_SHOWN = 3


def define_check(check: argparse.ArgumentParser) -> None:
    check.description = (
        "Runs the checks (staging and mart suites) on the published warehouse, read-only, and prints "
        "one line per check. A check whose tables are unchanged since the run that published them checked it, "
        "less than full_check_hours (default 24) ago, keeps that result; --full runs every check. Exits 2 when an "
        "error-severity check fails."
    )
    check.add_argument(
        "--full", action="store_true", help="run every check, also those whose tables are unchanged since checked"
    )
    check.add_argument(
        "--html", type=Path, metavar="DIR", help="also write Great Expectations Data Docs into DIR (runs every check)"
    )
    check.add_argument("--failed", action="store_true", help="list only the checks that failed")
    check.set_defaults(func=_check)


def _outcome(result: CheckResult) -> str:
    if result.success:
        return "pass"
    return "FAIL" if result.severity == "error" else "warn"


def format_table(results: list[CheckResult]) -> str:
    header = ("check", "severity", "result", "unexpected", "samples")
    rows = [
        (r.name, r.severity, _outcome(r), f"{r.unexpected_count:,}", ", ".join(r.sample_ids[:SAMPLES_SHOWN]))
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        # Counts right-aligned, the rest left-aligned; samples last, unpadded.
        cells = [
            cell.rjust(width) if i == 3 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _prepare_docs_dir(directory: Path) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the Data Docs folder {directory}: {exc.strerror}; choose a writable --html DIR"
        ) from exc
    return directory.absolute()


def _check(args: argparse.Namespace) -> int:
    docs_dir = _prepare_docs_dir(args.html) if args.html else None
    live = paths().warehouse
    con = connect(live, read_only=True)
    try:
        # GX takes seconds to import: only once there is work
        from pipelines.quality import reuse
        from pipelines.quality.gate import run_checks

        row = con.execute(sql_file("checks/published_snapshot")).fetchone()
        if row is None:
            raise UserError(f"{live} has no publication record; run `ebook-analytics etl run` to publish one")
        # The live file is itself the last published run: there is no earlier baseline for volume checks here.
        earlier = None if args.full else reuse.recorded(con)
        results = run_checks(
            con,
            snapshot_at=row[0],
            previous=None,
            docs_dir=docs_dir,
            earlier=earlier,
            # What is kept is decided on the publication; what runs, on a private copy of the tables it reads: each
            # of GX's thousands of queries would otherwise pay the lake's catalog lookups.
            validated_on=lambda suites: private_copy(live, reuse.tables_checked(suites)),
        )
    finally:
        con.close()
    shown = [r for r in results if not r.success] if args.failed else results
    print(format_table(shown))
    failed = [r for r in results if not r.success]
    errors = [r for r in failed if r.blocks_publish]
    print(
        f"\n{len(results)} checks: {len(results) - len(failed)} passed, {len(errors)} errors, "
        f"{len(failed) - len(errors)} warnings"
    )
    reused = sum(1 for r in results if r.reused)
    if reused:
        print(f"{reused} of them kept from the run that published them (tables unchanged); --full runs every check")
    if docs_dir is not None:
        print(f"Data Docs: {docs_dir / 'index.html'}")
    return EXIT_ERRORS if errors else 0

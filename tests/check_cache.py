"""Check results remembered across a test session's ETL runs, by what they were computed from.

The suite publishes the same hand-made datasets many times (a `--full` reference beside each incremental run, a
dataset per test), and Great Expectations is most of a small run: each run would compute the same results again.
A check's result is a function of its inputs, whose digest the check step already takes (`pipelines.quality.reuse`:
the expectation with its arguments and severity, the fingerprint of every table it reads), so the warm CLI process
(tests/warm_cli.py) remembers each result computed in this session under that digest, and a later run whose check
has the same digest takes it instead of running GX again. Production reuse does the same within one warehouse; this
only widens it to the session's warehouses, as a build cache would. GX still computes every distinct result once a
session; the checks on a table's changed rows, Data Docs and checks without a digest always run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import duckdb

from pipelines.quality import gate, reuse
from pipelines.quality.result import CheckResult
from pipelines.quality.suites import Check, TableSuite


def install(directory: Path) -> None:
    """From now on, this process's check steps read and write results in `directory` (one file per result)."""
    directory.mkdir(parents=True, exist_ok=True)
    computed_digests = reuse.input_digests
    run_gx = gate.validate
    digests: dict[str, str | None] = {}  # of the check step in progress (taken just before it validates)

    def input_digests(con: duckdb.DuckDBPyConnection, suites: list[TableSuite], taken: Any) -> dict[str, str | None]:
        digests.clear()
        digests.update(computed_digests(con, suites, taken))
        return dict(digests)

    def validate(con: duckdb.DuckDBPyConnection, suites: list[TableSuite], **options: Any) -> list[CheckResult]:
        if options.get("docs_dir") is not None:
            return run_gx(con, suites, **options)
        remembered: list[CheckResult] = []
        pending: list[TableSuite] = []
        for suite in suites:
            left: list[Check] = []
            for check in suite.checks:
                result = _read(directory, _key(suite, check, digests))
                if result is None:
                    left.append(check)
                else:
                    remembered.append(result)
            if left:
                pending.append(replace(suite, checks=left))
        computed = run_gx(con, pending, **options) if pending else []
        by_name = {check.name: (suite, check) for suite in pending for check in suite.checks}
        for result in computed:
            suite, check = by_name[result.name]
            _write(directory, _key(suite, check, digests), result)
        return remembered + computed

    reuse.input_digests = input_digests  # type: ignore[assignment]
    gate.validate = validate  # type: ignore[assignment]


def _key(suite: TableSuite, check: Check, digests: dict[str, str | None]) -> str | None:
    """The file of a check's result: its inputs' digest, with the table it is reported on and the columns naming its
    samples (a check on a table's changed rows has no digest of its own: None, never remembered)."""
    digest = digests.get(check.name)
    if digest is None or suite.schema == reuse.CHANGED_ROWS:
        return None
    return hashlib.sha256(json.dumps([digest, suite.name, list(suite.key)]).encode()).hexdigest()


def _read(directory: Path, key: str | None) -> CheckResult | None:
    if key is None:
        return None
    try:
        fields = json.loads((directory / key).read_text())
    except FileNotFoundError:
        return None
    return CheckResult(**{**fields, "sample_ids": tuple(fields["sample_ids"])})


def _write(directory: Path, key: str | None, result: CheckResult) -> None:
    """Whole or not at all (the session's two workers share the directory): written aside, then renamed."""
    if key is None:
        return
    fields = {name: value for name, value in asdict(result).items() if name not in _SET_BY_THE_RUN}
    scratch = directory / f"{key}.{os.getpid()}"
    scratch.write_text(json.dumps(fields))
    os.replace(scratch, directory / key)


# What the check step itself sets on a result after validating (digest, time, rows), never remembered.
_SET_BY_THE_RUN = {"inputs", "checked_at", "rows_checked", "element_count"}

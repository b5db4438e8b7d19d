"""The SQL of the checks, one query per file in `queries/checks/`."""

from __future__ import annotations

from pipelines.config import QUERIES_DIR

CHECKS_SQL = QUERIES_DIR / "checks"


def check_sql(name: str) -> str:
    """The text of `queries/checks/<name>.sql`."""
    return (CHECKS_SQL / f"{name}.sql").read_text()

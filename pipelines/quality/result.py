"""One check's outcome, as the run history, `meta.check_results` and the `check` command report it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    name: str  # <schema>.<table>.<check>, e.g. staging.ai_generations.cost.range
    severity: str  # 'error' holds back the marts built from the table, 'warn' publishes with a banner
    success: bool
    unexpected_count: int  # offending rows (or rows lost/gained for volume, 1 for a stale table)
    table: str  # <schema>.<table>
    sample_ids: tuple[str, ...] = ()  # up to 5 offending rows' keys (or the observed value)
    # What the result was computed from (`pipelines.quality.reuse`), when it was last run on its whole table, and
    # whether this run kept it from an earlier one because that was the same; None where a result cannot be kept
    # (a missing table).
    inputs: str | None = None
    checked_at: datetime | None = None
    reused: bool = False
    changed_rows: bool = False  # a pass decided on the table's changed rows (its whole table passed before)
    kept_totals: bool = False  # a reconciliation's pass decided on totals kept up to date by change sets
    # The rows the check read (the changed rows, or the whole table), and the rows of the table its verdict covers
    # (the whole table's, either way); None where not known (a missing table, a result from before they were kept).
    rows_checked: int | None = None
    element_count: int | None = None

    @property
    def scope(self) -> str:
        """How the result was computed: on the whole table, on its changed rows, or on kept totals
        (meta.check_results.scope)."""
        if self.kept_totals:
            return "kept totals"
        return "changed rows" if self.changed_rows else "whole table"

    @property
    def blocks_publish(self) -> bool:
        return self.severity == "error" and not self.success

    def as_dict(self) -> dict[str, Any]:
        """The run history's record (the inputs' digest stays in `meta.check_results`)."""
        return {
            "name": self.name,
            "severity": self.severity,
            "success": self.success,
            "unexpected_count": self.unexpected_count,
            "table": self.table,
            "sample_ids": list(self.sample_ids),
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "reused": self.reused,
            "changed_rows": self.changed_rows,
            "kept_totals": self.kept_totals,
            "rows_checked": self.rows_checked,
            "element_count": self.element_count,
        }

"""One check's outcome, as the run history, `meta.check_results` and the `check` command report it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    name: str  # <schema>.<table>.<check>, e.g. staging.ai_generations.cost.range
    severity: str  # 'error' holds back the marts built from the table, 'warn' publishes with a banner
    success: bool
    unexpected_count: int  # offending rows (or rows lost/gained for volume, 1 for a stale table)
    table: str  # <schema>.<table>
    sample_ids: tuple[str, ...] = ()  # up to 5 offending rows' keys (or the observed value)

    @property
    def blocks_publish(self) -> bool:
        return self.severity == "error" and not self.success

    def as_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["sample_ids"] = list(self.sample_ids)
        return record

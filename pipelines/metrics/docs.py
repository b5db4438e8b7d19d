"""Renders `docs/metrics.md` from the metric definitions, so the documentation cannot drift from the engine.

Regenerate after editing a `queries/metrics/*.yml`: `python -m pipelines.metrics.docs`.
"""

from __future__ import annotations

from pipelines.metrics.definitions import Metric, definitions
from pipelines.queries import QUERIES_DIR
from pipelines.transform.contract_docs import _cell

REPO_ROOT = QUERIES_DIR.parent
DOC_PATH = REPO_ROOT / "docs" / "metrics.md"

HEADER = """\
# Metrics

Generated from `queries/metrics/*.yml` by `python -m pipelines.metrics.docs`; do not edit by hand.

Every page, export, notebook and `ebook-analytics metrics query` computes these the same way, through
`pipelines.metrics.query_metrics`. Ranges are inclusive UTC days; weeks are ISO weeks starting on Monday; a period
cut by the range covers only its days inside the range. How each kind aggregates:

| kind | value for a period (and group) |
|---|---|
| `sum` | sum of the expression over the rows whose day is in the period |
| `mean` | exact mean of the expression over the rows in the period (never a mean of daily means) |
| `count_distinct` | distinct count of the expression over the rows in the period, from the fact grain |
| `percentile` | exact continuous percentile over all rows in the period and group, rounded to 6 decimals |
| `ratio` | numerator / denominator, each over the same period, dimensions and filters; empty when it is 0 |
| `balance` | the rows in force at the end of the period's last day (clipped to the range end) |
| `trailing_distinct` | distinct count over the N days ending at the period's last day (clipped to the range end) |

Monthly models (gross margin) count only the months lying wholly inside the range.

Python, for notebooks:

```python
from datetime import date
from pipelines.metrics import metrics

metrics(["ai_cost", "ai_latency_p95"], date(2024, 3, 1), date(2024, 3, 31), grain="week", by=["model"])
```

CLI: `ebook-analytics metrics list [--json]`, `ebook-analytics metrics query NAME[,NAME...] --start YYYY-MM-DD
--end YYYY-MM-DD [--grain day|week|month|all] [--by DIM[,DIM...]] [--where DIM=VALUE]... [--format table|csv|json]`.
JSON rows hold `period` (ISO date, null for `all`), each dimension and each metric: money and other decimals as
strings at full precision, counts as integers, rates, means and percentiles as numbers.
"""


def _how(metric: Metric) -> str:
    if metric.kind == "ratio":
        scale = f" x {metric.multiplier}" if metric.multiplier != 1 else ""
        return f"`{metric.numerator}` / `{metric.denominator}`{scale}"
    if metric.kind == "balance":
        aggregate = "sum" if metric.aggregate == "sum" else "count distinct"
        text = f"{aggregate} `{metric.expression}` over `{metric.model}` in force at the period end"
    elif metric.kind == "trailing_distinct":
        text = f"count distinct `{metric.expression}` over `{metric.model}`, {metric.window_days} days to period end"
    elif metric.kind == "percentile":
        text = f"p{round((metric.percentile or 0) * 100)} of `{metric.expression}` over `{metric.model}`"
    else:
        text = f"{metric.kind.replace('_', ' ')} `{metric.expression}` over `{metric.model}` by `{metric.time}`"
    if metric.time_grain == "month":
        text += " (complete months)"
    return text + (f" where `{metric.filter}`" if metric.filter else "")


def render_metric(metric: Metric) -> str:
    return "\n".join(
        [
            f"### `{metric.name}` — {metric.label}",
            "",
            _cell(metric.description),
            "",
            f"- **Kind:** {metric.kind}; **unit:** {metric.unit}",
            f"- **Computed as:** {_cell(_how(metric))}",
            f"- **Dimensions:** {', '.join(f'`{d}`' for d in metric.dimensions) or 'none'}",
            f"- **Grains:** {', '.join(metric.grains)}; **audience:** {', '.join(metric.audience)}",
            "",
        ]
    )


def render(catalog: dict[str, Metric]) -> str:
    sections: list[str] = []
    index = ["| metric | label | unit | definition file |", "|---|---|---|---|"]
    current = ""
    for metric in catalog.values():
        index.append(f"| `{metric.name}` | {_cell(metric.label)} | {metric.unit} | `{metric.source}` |")
        if metric.source != current:
            current = metric.source
            sections += [f"## `{current}`", ""]
        sections.append(render_metric(metric))
    return "\n".join([HEADER, *index, "", *sections])


def main() -> None:
    DOC_PATH.write_text(render(definitions()))
    print(f"wrote {DOC_PATH.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()

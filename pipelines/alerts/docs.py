"""Renders `docs/alerts.md` from the rule files, so the documentation cannot drift from what is evaluated.

Regenerate after editing a `queries/alerts/*.yml`: `python -m pipelines.alerts.docs`.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipelines.alerts.commands import condition
from pipelines.alerts.rules import Rule, rules
from pipelines.transform.contract_docs import REPO_ROOT, _cell

DOC_PATH = REPO_ROOT / "docs" / "alerts.md"

HEADER = """\
# Alerts

Generated from `queries/alerts/*.yml` by `python -m pipelines.alerts.docs`; do not edit by hand.

Every ETL run that publishes (or is held back by its checks, on the last published data) evaluates every rule
right after the publication, on the live warehouse, as the step `alerts` of the run. A failure of the step is
recorded in the run (`runs --json`: `alerts.error`, or `alerts.errors` per rule) and printed as a warning; it never
undoes the publication. A run that fails outright (the source down) evaluates nothing; the next run's evaluation
sees it in the run history (`etl_run_held_back` looks back over the last day).

**Episodes.** The state (`alerts.sqlite`, SQLite, beside the run history in the warehouse folder) holds one row
per episode: a subject (a model, a user, an author, a statement, a table, a run) breaching a rule. The first
evaluation that finds it opens the episode and the alert fires, once; later evaluations that still find it only
refresh `last_value`; the first that no longer finds it records `resolved_at` and the run. A rule that cannot be
evaluated (a mart missing) leaves its episodes as they are.

**Delivery.** A fired alert becomes a row of the platform's job queue, `system.background_jobs`, with
`job_type = 'analytics_alert'`, status `pending`, priority 0 (info), 1 (warning) or 2 (critical), and a JSON
`payload` the platform's mailer reads:

| key | meaning |
|---|---|
| `rule`, `description` | the rule and what it means |
| `severity`, `role` | info, warning or critical; the dashboard role concerned (who acts on it) |
| `subject_kind`, `subject` | what it is about (below) |
| `value`, `threshold` | the figure and the limit it crossed, exact decimal strings (money never goes through a float) |
| `window` | the days (or months, or run) evaluated, and the baseline days |
| `detail` | what else explains it (the baseline, the volume, the amount owed) |
| `run_id`, `fired_at`, `episode` | the run that fired it, when, and the episode in the state |

Subjects: `model` (its name), `user` and `author` (the platform's users.id), `statement` (revenue_shares.id),
`table` (a staged table, or `publication`), `run` (a run id), `platform` (the metric's name).

It is written through the rollup connection (`EBOOK_ANALYTICS_ROLLUP_URL`): `source grant --writer` gives that role
INSERT on `system.background_jobs` and nothing more there. When the job cannot be written (the source is down)
the episode stays undelivered and the next run delivers it. With `EBOOK_ANALYTICS_ALERTS_WEBHOOK_URL` set, the
same JSON is also POSTed there (`Content-Type: application/json`; a failure is a warning, not retried).

**Metric rules** watch a metric of the metrics layer ([metrics.md](metrics.md)) over a window that ends on the
latest UTC day with data (at most the snapshot's day), against a baseline over the days just before the window:
the metric over those days (`period`) or the median of its daily values (`daily_median`, a quiet day counting as 0
for an additive metric). They fire when the value is above factor x baseline + margin and the window holds at least
the minimum volume; a subject without a baseline (a new model) is not judged. **SQL rules** are a query over the
warehouse (`queries/alerts/<name>.sql`) returning the breaching rows (subject, value, threshold, window, detail);
they may bind `$snapshot_at`, `$snapshot_date`, `$now`, `$threshold`, `$min_volume`, `$window_days`, and read the
run history as `etl_runs` (run_id, status, started_at, error, failed_error_checks): the runs started in the rule's
last `window_days` before now, every run when it has none (read from the history's end, no further than that).

CLI: `ebook-analytics alerts list [--json]`; `alerts test RULE [--json]` evaluates one rule on the published
warehouse now and prints what would fire (no state change, nothing delivered); `alerts history [--open] [--limit N]
[--json]` lists the episodes. Dashboards: the **Alerts** page shows open and resolved alerts, each role those of the
rules that concern it (an admin all of them).

A rule file: `name` (= file name), `description`, `severity` (info, warning, critical), `role`, `subject_kind`,
then either `metric`, optional `by` (one of its dimensions), `window_days`, `baseline` {`days`, `statistic`,
`factor`, `margin`} and optional `min_volume` {`metric`, `at_least`}; or `sql`, `threshold`, optional `min_volume`
(a number) and `window_days`.

| rule | severity | role | subject | fires when |
|---|---|---|---|---|
"""


def render_rule(item: Rule) -> str:
    return "\n".join(
        [
            f"### `{item.name}`",
            "",
            _cell(item.description),
            "",
            f"- **Severity:** {item.severity}; **role:** {item.role}; **subject:** {item.subject_kind}",
            f"- **Fires when:** {_cell(condition(item))}",
            f"- **Defined in:** `{item.source}`",
            "",
        ]
    )


def render(catalog: Mapping[str, Rule]) -> str:
    index = [
        f"| `{item.name}` | {item.severity} | {item.role} | {item.subject_kind} | {_cell(condition(item))} |"
        for item in catalog.values()
    ]
    return "\n".join([HEADER.rstrip("\n"), *index, "", "## Rules", "", *map(render_rule, catalog.values())])


def main() -> None:
    DOC_PATH.write_text(render(rules()))
    print(f"wrote {DOC_PATH.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()

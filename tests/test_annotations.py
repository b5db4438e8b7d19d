"""Annotations: the platform's own changes (marts.platform_annotations) and the held-back or failed ETL runs, marked
on every time-series chart and listed in its CSV. Figures worked out by hand."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import charts, data
from pipelines import warehouse
from pipelines.publish.history import append_run
from pipelines.queries import sql_file
from tests.conftest import copy_published, open_published, run_cli
from tests.marts_dataset import LIFETIME, PRO_MONTHLY, uid

NEVER = "-infinity"
FIRST_LOAD = "2024-03-01 10:00:00+00"
LATE = "2024-03-05 00:30:00+01"  # 23:30 UTC on March 4th: a change this run saw is dated March 4th
MIDNIGHT = "2024-03-05 00:00:00+00"  # exactly midnight UTC: March 5th
# (model, input cost, output cost, status, valid_from, effective_from: -infinity for a key's first version)
MODEL_VERSIONS = [
    ("m1", "0.00001000", "0.00002000", "active", FIRST_LOAD, NEVER),
    ("m1", "0.00001000", "0.00003000", "active", LATE, LATE),  # the output price rose
    ("m2", "0.00001000", "0.00001000", "active", FIRST_LOAD, NEVER),
    ("m2", "0.00001000", "0.00001000", "deprecated", MIDNIGHT, MIDNIGHT),
    ("m3", "0.00005000", "0.00005000", "active", LATE, NEVER),  # new after the first load
    ("m3", "0.00004000", "0.00005000", "deprecated", MIDNIGHT, MIDNIGHT),  # deprecated and cheaper at once
    ("m4", None, None, "active", MIDNIGHT, NEVER),  # no longer staged: an unknown model
    ("m5", None, None, "deprecated", FIRST_LOAD, NEVER),  # deprecated before the first load: no change we saw
]
MODELS = [("m1", "openai", "gpt-4"), ("m2", "openai", "gpt-3.5"), ("m3", "anthropic", "claude-3")]
# (plan, price, status, valid_from, effective_from)
PLAN_VERSIONS = [
    ("p1", "9.99", "active", FIRST_LOAD, NEVER),
    ("p1", "12.99", "active", MIDNIGHT, MIDNIGHT),
    ("p2", "5.00", "active", FIRST_LOAD, NEVER),
    ("p2", "5.00", "deprecated", LATE, LATE),
    ("p2", "5.00", "deprecated", MIDNIGHT, MIDNIGHT),  # reopened for another column: not deprecated again
]
# (plan, name, created_at)
PLANS = [("p1", "Basic", "2024-03-01 00:30:00+01"), ("p2", "Legacy", None)]


def test_platform_annotations_mart_dates_each_change_by_the_utc_day_a_run_saw_it(tmp_path: Path) -> None:
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute(
        "create schema history; create schema marts; create schema staging;"
        " create table history.model_prices (model_id varchar, cost_per_input_token decimal(10, 8),"
        " cost_per_output_token decimal(10, 8), status varchar, valid_from timestamptz, effective_from timestamptz);"
        " create table marts.ai_models (model_id varchar, provider varchar, model varchar);"
        " create table history.plan_prices (plan_id varchar, price decimal(10, 2), status varchar,"
        " valid_from timestamptz, effective_from timestamptz);"
        " create table staging.subscription_plans (id varchar, name varchar, created_at timestamptz)"
    )
    con.executemany("insert into history.model_prices values (?, ?, ?, ?, ?, ?)", MODEL_VERSIONS)
    con.executemany("insert into marts.ai_models values (?, ?, ?)", MODELS)
    con.executemany("insert into history.plan_prices values (?, ?, ?, ?, ?)", PLAN_VERSIONS)
    con.executemany("insert into staging.subscription_plans values (?, ?, ?)", PLANS)
    rows = con.execute(f"select * from ({sql_file('marts/platform_annotations')}) order by all").fetchall()
    march = lambda day: date(2024, 3, day)  # noqa: E731
    assert rows == [
        (date(2024, 2, 29), "plan_added", "Plan added: Basic"),  # 23:30 UTC on the 29th
        (march(4), "model_added", "Model added: anthropic claude-3"),
        (
            march(4),
            "model_price_changed",
            "Model price changed: openai gpt-4 (per input token 0.00001000 -> 0.00001000,"
            " per output token 0.00002000 -> 0.00003000 USD)",
        ),
        (march(4), "plan_deprecated", "Plan deprecated: Legacy"),
        (march(5), "model_added", "Model added: unknown model"),
        (march(5), "model_deprecated", "Model deprecated: anthropic claude-3"),
        (march(5), "model_deprecated", "Model deprecated: openai gpt-3.5"),
        (
            march(5),
            "model_price_changed",
            "Model price changed: anthropic claude-3 (per input token 0.00005000 -> 0.00004000,"
            " per output token 0.00005000 -> 0.00005000 USD)",
        ),
        (march(5), "plan_price_changed", "Plan price changed: Basic (9.99 -> 12.99 USD)"),
    ]


def test_marks_fall_in_the_period_of_their_day() -> None:
    marks = pd.DataFrame(
        {
            "day": [date(2024, 2, 29), date(2024, 3, 3), date(2024, 3, 4), date(2024, 4, 1)],
            "kind": ["a", "b", "c", "d"],
            "label": ["Feb 29", "Sun Mar 3", "Mon Mar 4", "Apr 1"],
        }
    )
    weeks = pd.DataFrame({"week": [date(2024, 2, 26), date(2024, 3, 4)], "wau": [1, 2]})
    # Weeks start on Monday: Thursday Feb 29 and Sunday Mar 3 are in the week of Feb 26; Apr 1 is after the frame.
    assert charts.with_annotations(weeks, charts.period_marks(weeks, marks))["annotation"].tolist() == [
        "Feb 29; Sun Mar 3",
        "Mon Mar 4",
    ]
    months = pd.DataFrame({"month": [date(2024, 3, 1)], "mrr": [1]})
    months = charts.with_asked_period(months, date(2024, 2, 1), date(2024, 3, 31))  # from February: its mark counts
    json.dumps(months.attrs)  # as Streamlit writes a table's attrs (a date it cannot, and warns at every view)
    assert charts.period_marks(months, marks) == {
        date(2024, 2, 1): ["Feb 29"],
        date(2024, 3, 1): ["Sun Mar 3", "Mon Mar 4"],
    }
    assert charts.with_annotations(months, charts.period_marks(months, marks))["annotation"].tolist() == [
        "Sun Mar 3; Mon Mar 4"
    ]
    models = pd.DataFrame({"model": ["gpt-4"], "cost": [1]})  # no time axis: no marks, the CSV as it was
    assert charts.period_marks(models, marks) is None
    assert list(charts.with_annotations(models, None).columns) == ["model", "cost"]


def test_the_run_marks_read_each_run_once_and_a_new_history_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"

    def labels() -> list[tuple[date, str]]:
        return [(mark["day"], mark["label"]) for mark in data._run_marks(path)]

    assert labels() == []  # no history yet
    append_run(path, {"run_id": "r1", "status": "published", "started_at": "2024-03-01T23:00:00+00:00"})
    append_run(path, {"run_id": "r2", "status": "failed", "started_at": "2024-03-01T23:30:00-01:00"})  # 2nd, UTC
    assert labels() == [(date(2024, 3, 2), "ETL run failed: r2")]
    with path.open("ab") as history:  # a run being recorded: left for the next read
        history.write(b'{"run_id": "r3", "status": "blocked", "started_at": "2024-03-03T0')
    assert labels() == [(date(2024, 3, 2), "ETL run failed: r2")]
    with path.open("ab") as history:
        history.write(b'8:00:00+00:00"}\n')
    assert labels() == [(date(2024, 3, 2), "ETL run failed: r2"), (date(2024, 3, 3), "ETL run blocked: r3")]
    # Read from where the last read stopped: r3, rewritten in place, is not read again.
    rewritten = path.read_bytes().replace(b'"blocked"', b'"BLOCKED"')
    path.write_bytes(rewritten + b'{"run_id": "r4", "status": "partial", "started_at": "2024-03-04T08:00:00Z"}\n')
    assert [label for _, label in labels()] == ["ETL run failed: r2", "ETL run blocked: r3", "ETL run partial: r4"]
    # Another file put in its place, starting as it did (a copy, then one more run): read from its start, so r3 as
    # it now stands.
    replacement = tmp_path / "runs.jsonl.new"
    replacement.write_bytes(path.read_bytes())
    append_run(replacement, {"run_id": "r4b", "status": "failed", "started_at": "2024-03-04T09:00:00Z"})
    os.replace(replacement, path)
    assert [label for _, label in labels()] == ["ETL run failed: r2", "ETL run partial: r4", "ETL run failed: r4b"]
    # The history deleted, then another run recorded: another file, read from its start.
    path.unlink()
    append_run(path, {"run_id": "r5", "status": "failed", "started_at": "2024-03-05T08:00:00+00:00"})
    assert labels() == [(date(2024, 3, 5), "ETL run failed: r5")]


@pytest.fixture(scope="module")
def changed(
    published_dataset: dict[str, str], create_database: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The published dataset after the platform changed (a model added, one repriced and deprecated, a plan
    repriced, one deprecated) and `etl run` saw it; then a run that failed (the source unreachable)."""
    env = copy_published(published_dataset, tmp_path_factory.mktemp("annotations"), create_database)
    with psycopg.connect(env["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:
        conn.execute(
            "insert into ai_processing.ai_models (id, provider_id, name, version)"
            " values (%s, %s, 'claude-3.5', 'sonnet')",
            (uid("model", 4), uid("provider", 2)),
        )
        conn.execute(
            "update ai_processing.ai_models set cost_per_input_token = 0.00002, status = 'deprecated' where id = %s",
            (uid("model", 3),),
        )
        conn.execute("update billing.subscription_plans set price = 25.00 where id = %s", (PRO_MONTHLY,))
        conn.execute("update billing.subscription_plans set status = 'deprecated' where id = %s", (LIFETIME,))
        # Created at 00:30 UTC on March 2nd, written in a zone where it is still March 1st.
        conn.execute("update billing.subscription_plans set created_at = '2024-03-01 23:30:00-01'")
    run_cli("etl", "run", env=env)
    unreachable = env | {"EBOOK_ANALYTICS_SOURCE_URL": "postgresql://nobody@127.0.0.1:1/nothing"}
    assert run_cli("etl", "run", env=unreachable, check=False).returncode != 0
    return env


def _snapshot_day(env: dict[str, str]) -> date:
    con = open_published(env["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        return con.execute("select (snapshot_at at time zone 'UTC')::date from meta.publication").fetchone()[0]
    finally:
        con.close()


def test_a_charts_csv_and_picture_carry_the_changes_and_the_failed_run(
    changed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _snapshot_day(changed)
    history = Path(changed["EBOOK_ANALYTICS_HOME"], "warehouse", "runs.jsonl")
    failed = json.loads(history.read_text().splitlines()[-1])
    assert failed["status"] == "failed"
    for name, value in changed.items():
        if name.startswith("EBOOK_ANALYTICS_"):
            monkeypatch.setenv(name, value)

    def script(seen: str) -> None:
        from datetime import date

        import pandas as pd

        from dashboards import charts, plots

        frame = pd.DataFrame({"day": [date(2024, 3, 2), date(2024, 3, 3), date.fromisoformat(seen)], "dau": [1, 2, 3]})
        charts.chart("Active users", frame, lambda f: plots.line(f, x="day", y="dau"), "annotated")

    at = AppTest.from_function(script, default_timeout=30, args=(str(seen),)).run()
    assert not at.exception, [exception.value for exception in at.exception]
    (section,) = at.session_state["_data_sections"]
    csv = pd.read_csv(io.BytesIO(charts.csv_bytes(section.frame)), keep_default_na=False)
    assert failed["started_at"][:10] == str(seen)  # the failed run came the same UTC day as the publication
    assert csv.to_dict("list") == {
        "day": ["2024-03-02", "2024-03-03", str(seen)],
        "dau": [1, 2, 3],
        "annotation": [
            "Plan added: Lifetime; Plan added: Pro Monthly; Plan added: Pro Yearly",
            "",
            f"ETL run failed: {failed['run_id']}; Model added: anthropic claude-3.5; Model deprecated: anthropic"
            " claude-3; Model price changed: anthropic claude-3 (per input token none -> 0.00002000, per output"
            " token none -> none USD); Plan deprecated: Lifetime; Plan price changed: Pro Monthly (20.00 -> 25.00"
            " USD)",
        ],
    }
    (chart,) = at.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    marks = [(mark["x"], mark["hovertext"].split("<br>")) for mark in figure["layout"]["annotations"]]
    assert [x for x, _ in marks] == ["2024-03-02", str(seen)]
    assert [len(labels) for _, labels in marks] == [3, 6]
    assert [shape["x0"] for shape in figure["layout"]["shapes"]] == ["2024-03-02", str(seen)]

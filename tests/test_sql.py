"""`ebook-analytics sql`: read-only SQL on the session's published dataset (tests/marts_dataset.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb

from pipelines.metrics.commands import render
from tests.conftest import run_cli
from tests.etl_rows import query_warehouse

QUERY = "select 1.50::decimal(10, 2) as amount, 'a,b' as label, date '2024-03-02' as day"


def test_sql_formats_refuses_writes_and_bad_sql_and_knows_its_publication(published_dataset: dict[str, str]) -> None:
    env = published_dataset
    table = run_cli("sql", QUERY, env=env).stdout
    assert table == "amount  label  day\n1.50    a,b    2024-03-02\n"
    assert run_cli("sql", QUERY, "--format", "csv", env=env).stdout == 'amount,label,day\n1.50,"a,b",2024-03-02\n'
    assert json.loads(run_cli("sql", QUERY, "--format", "json", env=env).stdout) == [
        {"amount": "1.50", "label": "a,b", "day": "2024-03-02"}
    ]

    live = env["EBOOK_ANALYTICS_WAREHOUSE"]
    ((run_id, published_at, marts),) = query_warehouse(
        live,
        "select run_id, published_at, (select count(*) from information_schema.tables where table_schema = 'marts') "
        "from meta.publication",
    )
    for write in ("drop table marts.ai_cost_daily", "create table marts.x as select 1", "delete from meta.publication"):
        refused = run_cli("sql", write, env=env, check=False)
        assert refused.returncode == 1 and refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1
        assert "read-only" in refused.stderr and "Traceback" not in refused.stderr
    assert query_warehouse(live, "select count(*) from information_schema.tables where table_schema = 'marts'") == [
        (marts,)
    ]
    several = run_cli("sql", "select 1 as one; select 2 as two", env=env, check=False)
    assert (several.returncode, several.stderr) == (
        1,
        "error: 2 statements given; run one, e.g. select * from marts.ai_cost_daily limit 5\n",
    )
    nothing = run_cli("sql", "-- a comment alone", env=env, check=False)
    assert (nothing.returncode, nothing.stderr.split(";")[0]) == (1, "error: 0 statements given")
    assert run_cli("sql", "select ';' as semicolon;", env=env).stdout == "semicolon\n;\n"  # one, ended by ';'
    bad = run_cli("sql", "select from nowhere where", env=env, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: Parser Error: ") and bad.stderr.count("\n") == 1
    # Not a write: no word of read-only, but where to look the names up.
    unknown = run_cli("sql", "select no_such_column from marts.ai_cost_daily", env=env, check=False)
    assert (
        unknown.returncode == 1
        and unknown.stderr.startswith("error: Binder Error: ")
        and "read-only" not in unknown.stderr
    )
    assert unknown.stderr.rstrip().endswith('information_schema.tables"') and unknown.stderr.count("\n") == 1

    count = "select count(*) as runs from meta.publication"
    later = (published_at + timedelta(seconds=1)).isoformat()
    for as_of in (run_id, later, published_at.isoformat()):
        assert run_cli("sql", count, "--as-of", as_of, env=env).stdout == "runs\n1\n"
    before = published_at - timedelta(seconds=1)
    for older, refusal in (
        ("20240101T000000Z-abcdef", "no kept publication is run 20240101T000000Z-abcdef, nor is it an ISO time"),
        (before.isoformat(), f"no kept publication was published at or before {before.isoformat()} (publications"),
    ):
        refused = run_cli("sql", count, "--as-of", older, env=env, check=False)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1
        assert refused.stderr.startswith(f"error: {refusal}") and "(publications are kept 90 days)" in refused.stderr
        assert f"; the oldest kept is run {run_id}, published {published_at.isoformat()}" in refused.stderr


def test_lists_and_structs_print_element_by_element_in_every_format() -> None:
    """A list column (`meta.check_results.sample_ids`) reaches the printer as a numpy array, a struct as a dict (read
    through Arrow, as `sql` reads): each element as the rest are shown (money at full precision, dates ISO, NULL as
    null)."""
    frame = (
        duckdb.sql(
            "select [1.50::decimal(10, 2), null] as amounts, {'day': date '2024-03-02'} as first, []::int[] as none"
        )
        .to_arrow_table()
        .to_pandas()
    )
    assert json.loads(render(frame, "json")) == [
        {"amounts": ["1.50", None], "first": {"day": "2024-03-02"}, "none": []}
    ]
    assert render(frame, "csv") == 'amounts,first,none\n"[""1.50"", null]","{""day"": ""2024-03-02""}",[]\n'
    assert (
        render(frame, "table")
        == 'amounts         first                  none\n["1.50", null]  {"day": "2024-03-02"}  []\n'
    )

"""Month close (issue 15 item 3) and the payout worklist (item 4): `close-month` freezes a month's statements in
`closes.sqlite`, a rebuilt warehouse still knows them, later runs list restatements apart from payout-status changes,
and the Revenue share page shows ageing, the worklist, restatements and the "Close month" button.

The dataset is tests/marts_dataset.py (published once per session; statements in its module docstring of
tests/test_statement_pack.py). This module closes February and March 2024 on that publication, then changes the
source and publishes again with `etl run --full --rebuild` over a warehouse file made unreadable:
  - share 4 (March, Alice, The Long Night, failed) is restated: book sales 200.00 -> 210.00, commission
    20.00 -> 21.00, author share 180.00 -> 189.00 (still failed): a restatement, author share +9.00;
  - share 2 (February, Alice, Sea Glass, 47.22) goes pending -> failed, and share 5 (March, Bob, 0.00) pending ->
    paid with a payout date: status changes only, no restatement;
  - share 7 is new, in the current month (Bob, Untitled, 50.00 at 10%: 5.00 / 45.00 pending): a month not over;
  - share 1 (February, Alice, The Long Night, 90.00 paid) is deleted and share 8 arrives late in February (Carol,
    Dragons Rising, 5.00 at 10%: 0.50 / 4.50 paid): restatements too (removed: -90.00, added: +4.50), both paid.

Unpaid author share afterwards (pending, processing or failed), by statement month end:
  February (ends 2024-02-29): share 2 47.22 failed + share 3 17.99 processing = 65.21
  March (ends 2024-03-31):    share 4 189.00 failed
  this month (not over):      share 7 45.00 pending, age 0 whatever the day
Ages: February at 2024-04-29 is 31 + 29 = 60 days, at 2024-04-30 61; March at 2024-04-30 is 30, at 2024-05-01 31.
"""

from __future__ import annotations

import getpass
import json
import re
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.queries import sql_file
from pipelines.warehouse import connect
from tests.app_sessions import sign_in
from tests.conftest import REPO_ROOT, copy_published, run_cli, use_settings
from tests.marts_dataset import ALICE, BOB, CAROL, DRAGONS, UNTITLED, uid

D = Decimal
APP = str(REPO_ROOT / "dashboards" / "app.py")
TIMEOUT = 30
SHARE_1, SHARE_2, SHARE_3, SHARE_4, SHARE_5, SHARE_7, SHARE_8 = (str(uid("share", n)) for n in (1, 2, 3, 4, 5, 7, 8))
THIS_MONTH = datetime.now(UTC).date().replace(day=1)
CHECK = "marts.revenue_share_restatements.closed_amounts_unchanged"


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _change_source(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "update billing.revenue_shares set book_sales = 210.00, platform_revenue = 21.00, user_revenue = 189.00"
            " where id = %s",
            (SHARE_4,),
        )
        conn.execute("update billing.revenue_shares set payout_status = 'failed' where id = %s", (SHARE_2,))
        conn.execute(
            "update billing.revenue_shares set payout_status = 'paid', payout_date = '2024-04-02 12:00+00'"
            " where id = %s",
            (SHARE_5,),
        )
        conn.execute(
            "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate,"
            " user_revenue, platform_revenue, payout_status, revenue_period_start, revenue_period_end)"
            " values (%s, %s, %s, 50.00, 0.1000, 45.00, 5.00, 'pending', %s, %s - 1)",
            (SHARE_7, BOB, UNTITLED, THIS_MONTH, _next_month(THIS_MONTH)),
        )
        conn.execute("delete from billing.revenue_shares where id = %s", (SHARE_1,))
        conn.execute(
            "insert into billing.revenue_shares (id, user_id, project_id, book_sales, platform_commission_rate,"
            " user_revenue, platform_revenue, payout_status, payout_date, revenue_period_start, revenue_period_end)"
            " values (%s, %s, %s, 5.00, 0.1000, 4.50, 0.50, 'paid', '2024-03-20 09:00+00', '2024-02-01', '2024-02-29')",
            (SHARE_8, CAROL, DRAGONS),
        )


def _rows(warehouse: str, sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    con = connect(warehouse, read_only=True)  # with the house macros (payout_age, ...)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def closed(published_dataset, create_database, tmp_path_factory) -> dict[str, object]:
    """February and March closed on the session's publication, then the source changed and published again by a
    full rebuild over an unreadable warehouse file."""
    env = copy_published(published_dataset, tmp_path_factory.mktemp("close"), create_database)
    warehouse = env["EBOOK_ANALYTICS_WAREHOUSE"]
    ((closed_run,),) = _rows(warehouse, "select run_id from meta.publication")
    february = run_cli("close-month", "2024-02", env=env).stdout
    march = run_cli("close-month", "2024-03", env=env).stdout
    _change_source(env["EBOOK_ANALYTICS_SOURCE_URL"])
    Path(warehouse).write_bytes(b"not a warehouse")
    run_cli("etl", "run", "--full", "--rebuild", env=env)
    return {"env": env, "warehouse": warehouse, "closed_run": closed_run, "stdout": [february, march]}


def test_a_close_freezes_the_statements_with_who_when_and_run_and_survives_a_rebuild(closed) -> None:
    env, run = closed["env"], closed["closed_run"]
    user = getpass.getuser()
    assert closed["stdout"] == [
        f"closed 2024-02: 3 statements frozen (book sales 175.54 USD, author share 155.21 USD) from run {run}, "
        f"by {user}\n",
        f"closed 2024-03: 2 statements frozen (book sales 200.00 USD, author share 180.00 USD) from run {run}, "
        f"by {user}\n",
    ]
    # The rebuilt warehouse was built from nothing, yet its copy holds the rows frozen at the close, unrestated.
    assert _rows(
        closed["warehouse"],
        "select period_month, revenue_share_id::varchar, book_sales, commission_rate, platform_revenue,"
        " author_revenue, payout_status, closed_run_id from meta.closed_statements order by period_month, 2",
    ) == [
        (date(2024, 2, 1), str(uid("share", 1)), D("100.00"), D("0.1000"), D("10.00"), D("90.00"), "paid", run),
        (date(2024, 2, 1), SHARE_2, D("55.55"), D("0.1500"), D("8.33"), D("47.22"), "pending", run),
        (date(2024, 2, 1), SHARE_3, D("19.99"), D("0.1000"), D("2.00"), D("17.99"), "processing", run),
        (date(2024, 3, 1), SHARE_4, D("200.00"), D("0.1000"), D("20.00"), D("180.00"), "failed", run),
        (date(2024, 3, 1), SHARE_5, D("0.00"), D("0.1000"), D("0.00"), D("0.00"), "pending", run),
    ]
    listed = run_cli("close-month", "--list", env=env).stdout.splitlines()
    assert listed[0].split() == [
        "month",
        "closed",
        "at",
        "(UTC)",
        "by",
        "role",
        "statements",
        "author",
        "share",
        "run_id",
    ]
    mine = [line.split() for line in listed[1:] if line.startswith(("2024-02", "2024-03"))]
    assert [[line[0], *line[2:]] for line in mine] == [
        ["2024-03", user, "cli", "2", "180.00", run],
        ["2024-02", user, "cli", "3", "155.21", run],
    ]
    log = Path(env["EBOOK_ANALYTICS_HOME"]) / "audit" / "audit.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    closes = [entry for entry in entries if entry["action"] == "close month" and entry["role"] == "cli"]
    assert [(e["user"], e["what"], e["filters"], e["run_id"]) for e in closes] == [
        (user, "month close 2024-02 (3 statements)", {"month": "2024-02"}, run),
        (user, "month close 2024-03 (2 statements)", {"month": "2024-03"}, run),
    ]


def test_later_runs_list_restatements_but_not_payout_status_changes(closed) -> None:
    warehouse = closed["warehouse"]
    # The status changes did reach the published statements...
    assert _rows(
        warehouse,
        "select revenue_share_id::varchar, payout_status, payout_date from marts.revenue_share_statements"
        " where revenue_share_id::varchar in ($a, $b) order by 1",
        {"a": SHARE_2, "b": SHARE_5},
    ) == [(SHARE_2, "failed", None), (SHARE_5, "paid", datetime(2024, 4, 2, 12, tzinfo=UTC))]
    # ... yet only amounts changed after the close are restatements, with before and after: a statement removed, one
    # added late to a closed month, one restated.
    restated = "select * exclude (closed_at) from marts.revenue_share_restatements order by period_month, 2"
    run = closed["closed_run"]
    assert _rows(warehouse, restated) == [
        (
            date(2024, 2, 1),
            uid("share", 1),
            ALICE,
            "The Long Night",
            "removed",
            D("100.00"),
            None,
            D("0.1000"),
            None,
            D("10.00"),
            None,
            D("90.00"),
            None,
            D("-90.00"),
            None,
            run,
        ),
        (
            date(2024, 2, 1),
            uid("share", 8),
            CAROL,
            "Dragons Rising",
            "added",
            None,
            D("5.00"),
            None,
            D("0.1000"),
            None,
            D("0.50"),
            None,
            D("4.50"),
            D("4.50"),
            "paid",
            run,
        ),
        (
            date(2024, 3, 1),
            uid("share", 4),
            ALICE,
            "The Long Night",
            "changed",
            D("200.00"),
            D("210.00"),
            D("0.1000"),
            D("0.1000"),
            D("20.00"),
            D("21.00"),
            D("180.00"),
            D("189.00"),
            D("9.00"),
            "failed",
            run,
        ),
    ]
    # The warn-level check fails on those rows; a warning never holds the publication back.
    assert _rows(
        warehouse,
        "select severity, success, unexpected_count from meta.check_results where name = $name",
        {"name": CHECK},
    ) == [("warn", False, 3)]
    history = Path(warehouse).parent / "runs.jsonl"
    assert json.loads(history.read_text().splitlines()[-1])["status"] == "published"


def test_the_session_publication_without_closes_has_no_restatements(published_dataset) -> None:
    warehouse = published_dataset["EBOOK_ANALYTICS_WAREHOUSE"]
    assert _rows(warehouse, "select count(*) from marts.revenue_share_restatements") == [(0,)]
    assert _rows(warehouse, "select success from meta.check_results where name = $name", {"name": CHECK}) == [(True,)]


def _report(warehouse: str, name: str, as_of: date) -> list[tuple]:
    return _rows(warehouse, sql_file(f"reports/revenue_share/{name}"), {"as_of": as_of})


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # February 60 days old, March 29: both on the young side of a boundary.
        (date(2024, 4, 29), [(2, "234.00", "189.00"), (2, "65.21", "47.22"), (0, "0.00", "0.00"), (0, "0.00", "0.00")]),
        # February turns 61 (61-90); March is 30, still 0-30.
        (date(2024, 4, 30), [(2, "234.00", "189.00"), (0, "0.00", "0.00"), (2, "65.21", "47.22"), (0, "0.00", "0.00")]),
        # March turns 31 (31-60).
        (date(2024, 5, 1), [(1, "45.00", "0.00"), (1, "189.00", "189.00"), (2, "65.21", "47.22"), (0, "0.00", "0.00")]),
        # The day of the data: February and March are long over 90 days; this month counts 0 days.
        (None, [(1, "45.00", "0.00"), (0, "0.00", "0.00"), (0, "0.00", "0.00"), (3, "254.21", "236.22")]),
    ],
)
def test_unpaid_author_share_by_age_bucket(closed, as_of: date | None, expected: list[tuple]) -> None:
    as_of = as_of or datetime.now(UTC).date()
    rows = _report(closed["warehouse"], "payout_ageing", as_of)
    assert rows == [
        (bucket, statements, D(unpaid), D(failed))
        for bucket, (statements, unpaid, failed) in zip(
            ["0-30 days", "31-60 days", "61-90 days", "over 90 days"], expected, strict=True
        )
    ]


def test_the_worklist_lists_outstanding_payouts_failed_first_then_the_oldest(closed) -> None:
    assert _report(closed["warehouse"], "payout_worklist", date(2024, 5, 1)) == [
        (date(2024, 2, 1), str(ALICE), "Sea Glass", "failed", D("47.22"), 62, "61-90 days", SHARE_2),
        (date(2024, 3, 1), str(ALICE), "The Long Night", "failed", D("189.00"), 31, "31-60 days", SHARE_4),
        (date(2024, 2, 1), str(CAROL), "Dragons Rising", "processing", D("17.99"), 62, "61-90 days", SHARE_3),
        (THIS_MONTH, str(BOB), "Untitled", "pending", D("45.00"), 0, "0-30 days", SHARE_7),
    ]


def _cli(monkeypatch, capsys, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    from pipelines.cli import main

    use_settings(monkeypatch, env)
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_close_month_refuses_with_one_line_errors(closed, monkeypatch, capsys) -> None:
    env, run = closed["env"], closed["closed_run"]
    code, _, err = _cli(monkeypatch, capsys, env, "close-month", "2024-02")
    assert code == 1
    assert err.startswith("error: 2024-02 is already closed (on ")
    assert err.endswith(
        f" UTC by {getpass.getuser()}, run {run}); later changes to its amounts show as restatements on the Revenue "
        "share page\n"
    )
    code, _, err = _cli(monkeypatch, capsys, env, "close-month", f"{THIS_MONTH:%Y-%m}")
    assert code == 1
    assert err.startswith(f"error: {THIS_MONTH:%Y-%m} is not complete in the published data (as of ")
    assert err.endswith(
        f"the month must have ended by {_next_month(THIS_MONTH)} and every revenue period with it); close it after a "
        "run that publishes it complete\n"
    )
    for args, message in [
        (["2024-01"], "no revenue-share statement starts in 2024-01; there is nothing to close"),
        (["2024-13"], "month '2024-13' is not a month; write it as YYYY-MM, e.g. 2024-03"),
        ([], "name the month to close, e.g. `ebook-analytics close-month 2024-03`, or use --list"),
        (["2024-05", "--list"], "give either a month to close or --list, not both"),
    ]:
        assert _cli(monkeypatch, capsys, env, "close-month", *args) == (1, "", f"error: {message}\n")
    # Nothing refused was stored.
    conn = sqlite3.connect(Path(closed["warehouse"]).parent / "closes.sqlite")
    try:
        months = {month for (month,) in conn.execute("select period_month from month_closes")}
    finally:
        conn.close()
    assert months <= {"2024-02-01", "2024-03-01", "2024-05-01"}  # May: the page's button test may close it


def _open_page(month: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    sign_in(at, "fin@example.com")
    at.switch_page("views/revenue_share.py")
    at.query_params.update({"month": month})
    return at.run()


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [exception.value for exception in at.exception]
    assert not at.error, [error.value for error in at.error]


def test_the_revenue_share_page_shows_closes_ageing_worklist_and_restatements(closed, monkeypatch) -> None:
    from dashboards.auth.users import add_user

    env = closed["env"]
    use_settings(monkeypatch, {**env, "EBOOK_ANALYTICS_PSEUDONYM_KEY": "test-key"})
    monkeypatch.delenv("EBOOK_ANALYTICS_SOURCE_URL")
    add_user("fin@example.com", "finance", "correct horse battery")

    at = _open_page("2024-02")
    _no_errors(at)
    (tile,) = [metric for metric in at.metric if metric.label == "Authors' share not yet paid"]
    assert (tile.value, tile.proto.delta) == ("$65.21", "$47.22 of it failed payouts")  # 47.22 failed + 17.99
    (notice,) = [success.value for success in at.success if success.value.startswith("**Closed**")]
    assert notice.endswith(
        f"UTC by {getpass.getuser()}: 3 statements frozen from run {closed['closed_run']}. "
        "Amounts that change later are listed under Restatements."
    )
    assert not [button for button in at.button if button.label.startswith("Close month")]  # already closed
    ageing, worklist, restatements = at.dataframe[1].value, at.dataframe[2].value, at.dataframe[3].value
    assert ageing.values.tolist() == [
        ["0-30 days", 1, D("45.00"), D("0.00")],
        ["31-60 days", 0, D("0.00"), D("0.00")],
        ["61-90 days", 0, D("0.00"), D("0.00")],
        ["over 90 days", 3, D("254.21"), D("236.22")],
    ]
    assert worklist[["author", "payout_status", "author_revenue"]].values.tolist() == [
        ["Alice Smith <alice@example.com>", "failed", D("47.22")],  # failed first, then the oldest
        ["Alice Smith <alice@example.com>", "failed", D("189.00")],
        ["Carol Jones <carol@example.com>", "processing", D("17.99")],
        ["Bob Brown <bob@example.com>", "pending", D("45.00")],
    ]
    # The failed rows, every cell of them and nothing else, in red.
    (red,) = [rule for rule in at.dataframe[2].proto.arrow_data.styler.styles.split("}") if "255, 43, 43" in rule]
    cells = re.findall(r"_row(\d+)_col(\d+)", red.split("{")[0])
    assert sorted(cells) == sorted((row, str(col)) for row in ("0", "1") for col in range(len(worklist.columns)))
    assert restatements[
        ["month", "author", "change", "before_author_revenue", "after_author_revenue", "author_revenue_difference"]
    ].values.tolist() == [
        [date(2024, 2, 1), "Alice Smith <alice@example.com>", "removed", D("90.00"), None, D("-90.00")],
        [date(2024, 2, 1), "Carol Jones <carol@example.com>", "added", None, D("4.50"), D("4.50")],
        [date(2024, 3, 1), "Alice Smith <alice@example.com>", "changed", D("180.00"), D("189.00"), D("9.00")],
    ]

    # This month is not over: its button is there but disabled.
    at = _open_page(f"{THIS_MONTH:%Y-%m}")
    (button,) = [button for button in at.button if button.label.startswith("Close month")]
    assert button.disabled

    # May is complete and open: finance closes it with the button, recorded as the signed-in user.
    at = _open_page("2024-05")
    _no_errors(at)
    (button,) = [button for button in at.button if button.label == "Close month 2024-05"]
    assert not button.disabled
    button.click().run()
    _no_errors(at)
    assert not [button for button in at.button if button.label.startswith("Close month")]
    (notice,) = [success.value for success in at.success if success.value.startswith("**Closed**")]
    assert "UTC by fin@example.com: 1 statement frozen from run " in notice
    log = Path(env["EBOOK_ANALYTICS_HOME"]) / "audit" / "audit.jsonl"
    newest = json.loads(log.read_text().splitlines()[-1])
    assert (newest["user"], newest["role"], newest["action"], newest["what"]) == (
        "fin@example.com",
        "finance",
        "close month",
        "month close 2024-05 (1 statement)",
    )

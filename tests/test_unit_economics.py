"""Issue 15 item 1, the Unit economics page, on the hand-made history of tests/economics_dataset.py published once.

Worked out by hand (USD; AI cost by the UTC month of created_at, commission by the month the revenue period starts):

| book   | author | generations: n, UTC month, cost                  | tokens | words | sales | commission       |
|--------|--------|--------------------------------------------------|--------|-------|-------|------------------|
| Atlas  | Ana    | 41 Jan 2.00, 42 Feb 1.50, 43 (Cy, chapter) Feb 0.50 | 2000 | 2000  | 50.00 | Feb 2.00, Mar 3.00 |
| Draft  | Ana    | 44 Feb 3.25                                      | 1500   | 500   | 0     | 0                |
| Beacon | Bo     | 46 Jan 4.00, 47 Feb failed (NULL cost: 0)        | 2000   | 3000  | 50.00 | Apr 7.50         |
| Bridge | Bo     | 48 Feb 0.80 (Jan 31 19:30 -05 is Feb 1 UTC)      | 400    | 0     | 22.34 | Jan 1.00, Mar 1.23 |

Author shares: sales - commission (Atlas 45.00, Draft 0, Beacon 42.50, Bridge 20.11).

Payback (first month where commission so far >= AI cost so far): Atlas Jan 0 < 2.00, Feb 2.00 < 4.00, Mar 5.00 >=
4.00: March. Draft: never (NULL). Beacon: Jan, Feb 0 < 4.00, Apr 7.50 >= 4.00: April. Bridge: January has its 1.00
commission but no cost yet (generation 48 is February in UTC; in New York time it would be January and pay back
then), Feb 1.00 >= 0.80: February.

Tied to no book: Ana 0.75 (45), Bo 0.125 (49), Cy 0.01 (50): 0.885. Books 4.00 + 3.25 + 4.00 + 0.80 = 12.05;
all AI cost 12.935. Commission 2.00 + 3.00 + 7.50 + 1.00 + 1.23 = 14.73; book sales 122.34.

Subscription revenue (MRR at each month end): Ana Pro 30.00 at the ends of Jan, Feb, Mar (cancelled Apr 10): 90.00;
Bo Basic 10.00 at the ends of Feb, Mar (cancelled Apr 20): 20.00; Cy none.
Contribution = subscription revenue + commission - AI cost: Ana 90 + 5.00 - (7.25 + 0.75) = 87.00; Bo 20 + 9.73 -
(4.80 + 0.125) = 24.805; Cy 0 + 0 - 0.01 = -0.01.

KPIs over the whole history: AI cost per $1 of book sales 12.05 / 122.34 (shown $0.10); share of AI spend on
never-published books 3.25 / 12.935 = 25.1%. Fantasy only: 8.00 / 100.00 = $0.08 and 0 / 8.00 = 0.0%.
Plan Basic (Bo): 4.80 / 72.34 (shown $0.07) and 0 / 4.925. Never published: 3.25 / 0 (no sales: –) and 100.0%.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from dashboards.auth import pseudonym, pseudonymize
from pipelines.metrics import metrics
from tests.app_sessions import sign_in
from tests.conftest import (
    REPO_ROOT,
    change_published,
    cli_environment,
    copy_folder,
    full_run_differences,
    last_run,
    run_cli,
)
from tests.economics_dataset import ANA, ATLAS, BO, CY, DRAFT, PRO, insert_economics_platform
from tests.etl_rows import execute, query_warehouse
from tests.marts_dataset import uid

AL = uid("user", 40)  # a user who joins in the last step, whose id comes before Ana's

D = Decimal
APP = str(REPO_ROOT / "dashboards" / "app.py")
FIRST, LAST = date(2024, 1, 1), date(2024, 4, 1)
KPIS = ["AI cost (books and no book)", "Book sales (by book)", "AI cost per $1 of book sales"]
SHARE = "AI spend on never-published books"


@pytest.fixture(scope="module")
def published(publish_own_dataset: Callable[[Callable[[str], None], str], dict[str, str]]) -> dict[str, str]:
    return publish_own_dataset(insert_economics_platform, "economics")


def _warehouse(env: dict[str, str]) -> Path:
    return Path(env["EBOOK_ANALYTICS_WAREHOUSE"])


def test_per_book_figures_and_payback_month(published: dict[str, str]) -> None:
    rows = query_warehouse(
        _warehouse(published),
        "select project_title, author_id, genre, plan, cohort, published_at, generations, tokens_used, ai_cost_usd,"
        " words_written, book_sales, platform_commission, author_share, payback_month"
        " from marts.unit_economics_books order by project_title",
    )
    assert rows == [
        ("Atlas", ANA, "fantasy", "Pro", "2024-02", datetime(2024, 2, 15, 12, tzinfo=UTC), 3, 2000, D("4.000000"),
         2000, D("50.00"), D("5.00"), D("45.00"), date(2024, 3, 1)),
        ("Beacon", BO, "fantasy", "Basic", "2024-04", datetime(2024, 4, 1, 4, 30, tzinfo=UTC), 2, 2000,
         D("4.000000"), 3000, D("50.00"), D("7.50"), D("42.50"), date(2024, 4, 1)),
        ("Bridge", BO, "mystery", "Basic", "2024-01", datetime(2024, 1, 20, 9, tzinfo=UTC), 1, 400, D("0.800000"),
         0, D("22.34"), D("2.23"), D("20.11"), date(2024, 2, 1)),
        ("Draft", ANA, "mystery", "Pro", "never published", None, 1, 1500, D("3.250000"), 500, D("0.00"),
         D("0.00"), D("0.00"), None),
    ]  # fmt: skip


def test_per_author_contribution(published: dict[str, str]) -> None:
    rows = query_warehouse(
        _warehouse(published),
        "select author_id, plan, books, subscription_revenue_usd, book_ai_cost_usd, unbooked_ai_cost_usd, ai_cost_usd,"
        " book_sales, platform_commission, author_share, contribution_usd"
        " from marts.unit_economics_authors order by contribution_usd desc",
    )
    assert rows == [
        (ANA, "Pro", 2, D("90.000000"), D("7.250000"), D("0.750000"), D("8.000000"), D("50.00"), D("5.00"),
         D("45.00"), D("87.000000")),
        (BO, "Basic", 2, D("20.000000"), D("4.800000"), D("0.125000"), D("4.925000"), D("72.34"), D("9.73"),
         D("62.61"), D("24.805000")),
        (CY, "(no plan)", 0, D("0.000000"), D("0.000000"), D("0.010000"), D("0.010000"), D("0.00"), D("0.00"),
         D("0.00"), D("-0.010000")),
    ]  # fmt: skip


RECONCILIATIONS = [
    "marts.unit_economics_books.book_and_unbooked_ai_cost_is_total_ai_cost",
    "marts.unit_economics_books.commission_is_statements_platform_revenue",
    "marts.unit_economics_authors.ai_cost_is_total_ai_cost",
    "marts.unit_economics_authors.commission_is_statements_platform_revenue",
    "marts.unit_economics_daily.ai_cost_is_total_ai_cost",
    "marts.unit_economics_daily.commission_is_statements_platform_revenue",
]


def test_reconciliations_are_error_checks_that_catch_a_millionth(published: dict[str, str], tmp_path: Path) -> None:
    # 12.05 on books + 0.885 tied to no book = 12.935, all AI cost; commission 14.73 = the statements' platform share
    results = query_warehouse(
        _warehouse(published),
        "select name, severity, success from meta.check_results where list_contains($names, name) order by name",
        {"names": RECONCILIATIONS},
    )
    assert results == [(name, "error", True) for name in sorted(RECONCILIATIONS)]
    # A copy where one book's AI cost is off by a millionth of a dollar: `check` fails at error level and says so.
    env = cli_environment(tmp_path, published["EBOOK_ANALYTICS_SOURCE_URL"])
    copy_folder(published["EBOOK_ANALYTICS_HOME"], tmp_path / "home")
    with change_published(env["EBOOK_ANALYTICS_WAREHOUSE"]) as con:
        con.execute("update marts.unit_economics_books set ai_cost_usd = ai_cost_usd + 0.000001 where generations = 3")
    checked = run_cli("check", "--failed", env=env, check=False)
    assert checked.returncode == 2, checked.stdout
    failed = [line.split(maxsplit=4) for line in checked.stdout.splitlines() if " FAIL " in line]
    assert [(words[0], words[1], words[4]) for words in failed] == [
        (
            "marts.unit_economics_books.book_and_unbooked_ai_cost_is_total_ai_cost",
            "error",
            "mart 12.935001 <> source 12.935000",
        ),
    ], checked.stdout


def _kpis(warehouse: Path, where: dict[str, list[str]] | None = None) -> list[Any]:
    names = ["economics_ai_cost", "economics_book_sales", "ai_cost_per_sales_dollar", "unpublished_ai_share"]
    return metrics(names, FIRST, LAST, where=where, warehouse=warehouse).values.tolist()[0][1:]


def test_kpis_are_ratios_of_sums(published: dict[str, str]) -> None:
    warehouse = _warehouse(published)
    assert _kpis(warehouse) == [D("12.935000"), D("122.34"), D("12.050000") / D("122.34"), 3.25 / 12.935]
    assert _kpis(warehouse, {"genre": ["fantasy"]}) == [D("8.000000"), D("100.00"), D("0.08"), 0.0]
    assert _kpis(warehouse, {"plan": ["Basic"]}) == [D("4.925000"), D("72.34"), D("4.800000") / D("72.34"), 0.0]
    assert _kpis(warehouse, {"cohort": ["never published"]}) == [D("3.250000"), D("0.00"), None, 1.0]
    # The same totals as the AI cost and book sales metrics of the other pages.
    totals = metrics(["ai_cost", "book_sales"], FIRST, date(2024, 4, 30), warehouse=warehouse).values.tolist()
    assert totals == [[None, D("12.935000"), D("122.34")]]


def _app_env(published: dict[str, str], monkeypatch: pytest.MonkeyPatch, *, no_auth: bool) -> None:
    home = Path(published["EBOOK_ANALYTICS_HOME"])
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", str(home))
    monkeypatch.setenv("EBOOK_ANALYTICS_WAREHOUSE", published["EBOOK_ANALYTICS_WAREHOUSE"])
    monkeypatch.setenv("EBOOK_ANALYTICS_BIND_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("EBOOK_ANALYTICS_PSEUDONYM_KEY", "test-key")
    pseudonym._key.cache_clear()  # a dashboard process reads its key once: an earlier test's key must not linger
    if no_auth:
        monkeypatch.setenv("EBOOK_ANALYTICS_NO_AUTH", "1")
    else:
        monkeypatch.delenv("EBOOK_ANALYTICS_NO_AUTH", raising=False)


def _open(query: dict[str, object] | None = None, signed_in: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if signed_in:
        sign_in(at, signed_in)
    at.switch_page("views/unit_economics.py")
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [exception.value for exception in at.exception]
    assert not at.error, [error.value for error in at.error]
    return at


def _tiles(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _table(at: AppTest, column: str) -> Any:
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def test_page_shows_the_hand_computed_numbers(published: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _app_env(published, monkeypatch, no_auth=True)
    at = _open()
    assert _tiles(at) == dict(zip([*KPIS, SHARE], ["$12.94", "$122.34", "$0.10", "25.1%"], strict=True))
    books = _table(at, "payback_month")
    assert list(books["book"]) == ["Atlas", "Beacon", "Draft", "Bridge"]  # by AI cost, then id
    assert list(books["author"]) == ["Ana Reed <ana@example.com>", "Bo Stone <bo@example.com>"] * 2
    assert list(books["ai_cost_usd"]) == [D("4.000000"), D("4.000000"), D("3.250000"), D("0.800000")]
    assert list(books["payback_month"]) == [date(2024, 3, 1), date(2024, 4, 1), None, date(2024, 2, 1)]
    authors = _table(at, "contribution_usd")
    assert list(authors["author"]) == ["Cy Park <cy@example.com>", "Bo Stone <bo@example.com>",
                                       "Ana Reed <ana@example.com>"]  # fmt: skip
    assert list(authors["contribution_usd"]) == [D("-0.010000"), D("24.805000"), D("87.000000")]
    assert (
        "Reconciled (error-level checks): AI cost on books $12.0500 + tied to no book $0.8850 = all AI cost "
        "$12.9350; commission $14.73 = the statements' platform revenue $14.73."
    ) in [caption.value for caption in at.caption]

    at = _open({"genre": "fantasy"})
    assert _tiles(at) == dict(zip([*KPIS, SHARE], ["$8.00", "$100.00", "$0.08", "0.0%"], strict=True))
    assert list(_table(at, "payback_month")["book"]) == ["Atlas", "Beacon"]
    at = _open({"plan": "Basic"})
    # 4.925 shows as $4.92: charts.money rounds half to even (Decimal's default), as 12.935 became $12.94 above
    assert _tiles(at) == dict(zip([*KPIS, SHARE], ["$4.92", "$72.34", "$0.07", "0.0%"], strict=True))
    assert list(_table(at, "contribution_usd")["plan"]) == ["Basic"]
    at = _open({"cohort": "never published"})
    assert _tiles(at) == dict(zip([*KPIS, SHARE], ["$3.25", "$0.00", "—", "100.0%"], strict=True))
    assert list(_table(at, "payback_month")["book"]) == ["Draft"]
    assert list(_table(at, "contribution_usd")["author"]) == ["Ana Reed <ana@example.com>"]  # her figures, whole


def test_analysts_see_pseudonyms_finance_names_product_nothing(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dashboards.auth.users import add_user

    home = tmp_path / "home"
    copy_folder(published["EBOOK_ANALYTICS_HOME"], home)  # accounts are added: a copy of the data folder
    env = {
        **published,
        "EBOOK_ANALYTICS_HOME": str(home),
        "EBOOK_ANALYTICS_WAREHOUSE": str(home / "warehouse" / "analytics.ducklake"),
        "EBOOK_ANALYTICS_PSEUDONYM_KEY": "test-key",
    }
    _app_env(env, monkeypatch, no_auth=False)
    add_user("ana.lyst@example.com", "analyst", "correct horse battery")
    add_user("fin@example.com", "finance", "correct horse battery")
    add_user("pat@example.com", "product", "correct horse battery")

    at = _open(signed_in="ana.lyst@example.com")
    assert _tiles(at)["AI cost per $1 of book sales"] == "$0.10"
    for column in ("payback_month", "contribution_usd"):
        shown = _table(at, column)["author"]
        assert shown.str.fullmatch(r"u_[0-9a-f]{12}").all() and not shown.str.contains("@").any()
    assert list(_table(at, "contribution_usd")["author"]) == [pseudonymize(str(user)) for user in (CY, BO, ANA)]

    # The page's report pack as an analyst takes it for cron: both tables, the same pseudonyms, no email.
    out = tmp_path / "unit-economics.xlsx"
    run_cli("report", "--page", "unit_economics", "--role", "analyst", "--format", "xlsx", "--out", str(out), env=env)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Cover", "economics_books", "economics_authors"]
    authors = [row[0] for row in book["economics_authors"].iter_rows(min_row=2, values_only=True)]
    assert authors == [pseudonymize(str(user)) for user in (CY, BO, ANA)]
    texts = [str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [text for text in texts if "@" in text or "Reed" in text]

    at = _open(signed_in="fin@example.com")
    assert list(_table(at, "contribution_usd")["author"]) == ["Cy Park <cy@example.com>", "Bo Stone <bo@example.com>",
                                                              "Ana Reed <ana@example.com>"]  # fmt: skip

    at = AppTest.from_file(APP, default_timeout=30)
    sign_in(at, "pat@example.com")
    at.run()
    with pytest.raises(ValueError):  # not in product's navigation at all
        at.switch_page("views/unit_economics.py")


def test_changes_refresh_the_days_they_reach_and_equal_a_full_run(
    publish_own_dataset: Callable[[Callable[[str], None], str], dict[str, str]], tmp_path: Path
) -> None:
    env = publish_own_dataset(insert_economics_platform, "economics-changes")
    url = env["EBOOK_ANALYTICS_SOURCE_URL"]
    steps = [
        # Atlas turns romance: every day of Atlas (generations 41 Jan 31, 42 Feb 1, Cy's 43 Feb 10 through its
        # chapter; statements Feb 1, Mar 1). Bo's latest subscription is now a Pro one of May: every day of Bo's rows
        # as author (generations 46 Jan 15, 47 Feb 2, 48 Feb 1, 49 Mar 31 on no book; statements Jan 1, Mar 1, Apr 1).
        (
            "attributes",
            f"""update content.projects set genre = 'romance' where id = '{ATLAS}';
            insert into billing.user_subscriptions (id, user_id, plan_id, status, amount, created_at, cancelled_at,
                current_period_start, current_period_end)
            values ('{uid("subscription", 43)}', '{BO}', '{PRO}', 'cancelled', 30.00, '2024-05-01 00:00+00',
                '2024-05-20 00:00+00', '2024-05-01 00:00+00', '2024-06-01 00:00+00');""",
            ["2024-01-01", "2024-01-15", "2024-01-31", "2024-02-01", "2024-02-02", "2024-02-10", "2024-03-01"]
            + ["2024-03-31", "2024-04-01"],
        ),
        # Atlas's second chapter moves to Draft: Cy's generation 43, which names no book, goes with it (Feb 10);
        # Bridge's March statement sells more (Mar 1); a chapter's word count reaches no day.
        (
            "moves",
            f"""update content.chapters set project_id = '{DRAFT}' where id = '{uid("chapter", 42)}';
            update billing.revenue_shares set book_sales = 20.00, platform_revenue = 2.00, user_revenue = 18.00
            where id = '{uid("share", 45)}';
            update content.chapters set word_count = 900 where id = '{uid("chapter", 41)}';""",
            ["2024-02-10", "2024-03-01"],
        ),
        # Cy's generation 43 now names Draft, then Draft is deleted behind the generations' constraints (dropped: a
        # project no longer staged is only a warning for them) and its chapters go with it. No staged owner and no
        # statement: the author is the first (by id) of those who generated on it, Ana (44) before Cy (43), on both
        # days; Cy's own day would fall to Cy were only each generation's asker counted.
        (
            "unstaged",
            f"""update ai_processing.ai_generations set project_id = '{DRAFT}' where id = '{uid("generation", 43)}';
            do $$ declare fk record; begin
                for fk in select conrelid::regclass as tbl, conname from pg_constraint
                    where contype = 'f' and conparentid = 0
                    and (conrelid = 'ai_processing.ai_generations'::regclass
                    or (confrelid = 'content.projects'::regclass and conrelid <> 'content.chapters'::regclass)) loop
                    execute format('alter table %s drop constraint %I', fk.tbl, fk.conname);
                end loop; end $$;
            delete from content.projects where id = '{DRAFT}';""",
            ["2024-02-10", "2024-02-20"],
        ),
        # Al, a new user whose id comes before Ana's, generates on Draft, no longer staged (Mar 5): Al is now the
        # first of those who generated on it, so the author of every day of Draft (Feb 10, Feb 20) and of Mar 5.
        (
            "unstaged, generated on",
            f"""insert into users.users (id, email, first_name, last_name, tier, created_at)
            values ('{AL}', 'al@example.com', 'Al', 'Lee', 'basic', '2024-01-01 00:00+00');
            insert into ai_processing.ai_generations (id, user_id, project_id, chapter_id, model_id, prompt, status,
                tokens_used, cost, processing_time_ms, created_at, completed_at)
            values ('{uid("generation", 51)}', '{AL}', '{DRAFT}', null, '{uid("model", 41)}', 'write', 'completed',
                100, 1.000000, 1000, '2024-03-05 12:00+00', '2024-03-05 12:00:01+00');""",
            ["2024-02-10", "2024-02-20", "2024-03-05"],
        ),
    ]
    for name, change, days in steps:
        execute(url, change)
        run_cli("etl", "run", env=env)
        refreshed = last_run(env)["marts"]["unit_economics_daily"]
        assert (refreshed["mode"], refreshed["periods"]) == ("day", days), name
        assert full_run_differences(env, tmp_path / name) == {}, name

    # After the last step, Draft's days as worked out above: Al's, who has no plan.
    assert query_warehouse(
        _warehouse(env),
        "select day, author_id::varchar, genre, cohort, plan, generations, ai_cost_usd "
        "from marts.unit_economics_daily where project_id = $draft order by day",
        {"draft": DRAFT},
    ) == [
        (date(2024, 2, 10), str(AL), "unknown", "never published", "(no plan)", 1, Decimal("0.500000")),
        (date(2024, 2, 20), str(AL), "unknown", "never published", "(no plan)", 1, Decimal("3.250000")),
        (date(2024, 3, 5), str(AL), "unknown", "never published", "(no plan)", 1, Decimal("1.000000")),
    ]

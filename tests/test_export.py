"""`ebook-analytics export statements` (and its earlier name `export revenue-share`): exact CSV text naming its
publication, a finance-grade XLSX with exact numbers, and one-line errors."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal
from pathlib import Path

import openpyxl
import psycopg
import pytest

from pipelines import warehouse
from pipelines.export.revenue_share import COLUMNS, CURRENCY_FORMAT, LABELS, RATE_FORMAT, statement_rows
from tests.conftest import cli_environment, copy_published, open_published, run_cli

D = Decimal
ALICE = "a0000000-0000-0000-0000-000000000001"
CAROL = "a0000000-0000-0000-0000-000000000003"
HEADER = ",".join(COLUMNS) + "\n"


@pytest.fixture(scope="module")
def env(published_dataset: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # A copy: every export appends to the audit log in the data folder.
    return copy_published(published_dataset, tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def publication(env: dict[str, str]) -> tuple:
    con = open_published(env["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        return con.execute("select run_id, snapshot_at from meta.publication").fetchone()
    finally:
        con.close()


def export(
    env: dict[str, str],
    out: Path,
    period: str,
    fmt: str,
    *extra: str,
    check: bool = True,
    name: str = "revenue-share",
):
    """`export NAME --period P --format F --out OUT EXTRA...`."""
    return run_cli("export", name, "--period", period, "--format", fmt, "--out", str(out), *extra, env=env, check=check)


@pytest.mark.parametrize("name", ["statements", "revenue-share"])
def test_csv_of_a_month_is_exact(env, publication, tmp_path, name):
    out = tmp_path / "february.csv"
    result = export(env, out, "2024-02", "csv", name=name)
    run_id = publication[0]
    # Statements whose period starts in February, by author (Alice Smith, Carol Jones) then project title
    # ('Sea Glass' < 'The Long Night'); the payout '2024-03-14 21:00-05' in UTC.
    assert out.read_text() == HEADER + (
        f"50000000-0000-0000-0000-000000000002,{ALICE},alice@example.com,Alice Smith,"
        "20000000-0000-0000-0000-000000000002,Sea Glass,2024-02-01,2024-02-29,55.55,0.1500,8.33,47.22,pending,,false,"
        f"{run_id}\n"
        f"50000000-0000-0000-0000-000000000001,{ALICE},alice@example.com,Alice Smith,"
        "20000000-0000-0000-0000-000000000001,The Long Night,2024-02-01,2024-02-29,100.00,0.1000,10.00,90.00,paid,"
        f"2024-03-15 02:00:00+00:00,false,{run_id}\n"
        f"50000000-0000-0000-0000-000000000003,{CAROL},carol@example.com,Carol Jones,"
        "20000000-0000-0000-0000-000000000004,Dragons Rising,2024-02-01,2024-02-29,19.99,0.1000,2.00,17.99,"
        f"processing,,false,{run_id}\n"
    )
    # 100.00 + 55.55 + 19.99
    assert result.stdout.strip() == f"wrote 3 statements for 2024-02 (book sales 175.54 USD) to {out}"


def test_csv_prints_zero_money_with_two_decimals(env, tmp_path):
    out = tmp_path / "march.csv"
    export(env, out, "2024-03", "csv")
    lines = out.read_text().splitlines()
    assert [line.split(",")[8:13] for line in lines[1:]] == [
        ["200.00", "0.1000", "20.00", "180.00", "failed"],  # Alice Smith
        ["0.00", "0.1000", "0.00", "0.00", "pending"],  # Bob Brown
    ]


def test_month_without_statements_gives_just_the_header(env, tmp_path):
    out = tmp_path / "april.csv"
    result = export(env, out, "2024-04", "csv")
    assert out.read_text() == HEADER
    assert "wrote 0 statements" in result.stdout


def test_xlsx_has_exact_numbers_formats_totals_and_author_summary(env, publication, tmp_path):
    out = tmp_path / "february.xlsx"
    export(env, out, "2024-02", "xlsx", name="statements")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Statements", "By author", "Info"]

    sheet = book["Statements"]
    assert [cell.value for cell in sheet[1]] == [LABELS[column] for column in COLUMNS]
    assert [cell.value for cell in sheet[1]][8:12] == [
        "Book sales (USD)",
        "Commission rate",
        "Commission (USD)",
        "Author share (USD)",
    ]
    money = [COLUMNS.index(name) for name in ("book_sales", "platform_revenue", "author_revenue")]
    values = [[D(str(row[i].value)) for i in money] for row in sheet.iter_rows(min_row=2)]
    # three statements, then the totals: 55.55 + 100.00 + 19.99, 8.33 + 10.00 + 2.00, 47.22 + 90.00 + 17.99
    assert values == [
        [D("55.55"), D("8.33"), D("47.22")],
        [D("100.00"), D("10.00"), D("90.00")],
        [D("19.99"), D("2.00"), D("17.99")],
        [D("175.54"), D("20.33"), D("155.21")],
    ]
    assert all(row[i].number_format == CURRENCY_FORMAT for row in sheet.iter_rows(min_row=2) for i in money)
    rate = sheet.cell(row=2, column=COLUMNS.index("commission_rate") + 1)
    assert (D(str(rate.value)), rate.number_format) == (D("0.15"), RATE_FORMAT)
    assert sheet.cell(row=2, column=COLUMNS.index("period_start") + 1).value.date() == date(2024, 2, 1)
    assert sheet.cell(row=2, column=COLUMNS.index("run_id") + 1).value == publication[0]
    totals = sheet[5]
    assert totals[0].value == "Total" and all(cell.font.bold for cell in totals)
    assert not sheet[4][0].font.bold
    # Filters on the header and the statements (A1 to the last column, P, and row 4), not on the totals row.
    assert (sheet.auto_filter.ref, sheet.freeze_panes) == ("A1:P4", "A2")
    # Wide enough for every amount: "$175.54" is 7 characters, the header "Author share (USD)" 18, plus 2.
    assert sheet.column_dimensions["L"].width == len("Author share (USD)") + 2
    assert sheet.column_dimensions["D"].width == len("Alice Smith") + 2

    summary = book["By author"]
    assert [[cell.value for cell in row] for row in summary.iter_rows()] == [
        [
            "Author id",
            "Author email",
            "Author",
            "Statements",
            "Book sales (USD)",
            "Commission (USD)",
            "Author share (USD)",
            "Author share paid (USD)",
            "Author share unpaid (USD)",
        ],
        # Alice: 55.55 + 100.00, 8.33 + 10.00, 47.22 + 90.00; paid The Long Night's 90.00, Sea Glass pending
        [ALICE, "alice@example.com", "Alice Smith", 2, 155.55, 18.33, 137.22, 90.0, 47.22],
        [CAROL, "carol@example.com", "Carol Jones", 1, 19.99, 2.0, 17.99, 0.0, 17.99],  # processing
        ["Total", None, None, 3, 175.54, 20.33, 155.21, 90.0, 65.21],
    ]
    assert all(summary.cell(row=2, column=column).number_format == CURRENCY_FORMAT for column in range(5, 10))
    assert all(cell.font.bold for cell in summary[4])
    assert summary.auto_filter.ref == "A1:I3"

    info = {row[0].value: row[1].value for row in book["Info"].iter_rows()}
    generated = info.pop("Generated at (UTC)")
    assert info == {
        "Report": "Revenue-share statements",
        "Period": "2024-02",
        "Period complete": "yes",
        "Currency": "USD",
        "Statements": 3,
        "Run id": publication[0],
        "Data as of (UTC)": publication[1].astimezone(UTC).replace(tzinfo=None, microsecond=0),
    }
    assert publication[1].astimezone(UTC).replace(tzinfo=None) <= generated


def test_xlsx_of_a_month_the_data_do_not_cover_says_incomplete(env, tmp_path):
    # The snapshot is the test's "now"; the month after it has not ended, and has no statements.
    out = tmp_path / "future.xlsx"
    export(env, out, "2099-12", "xlsx")
    info = {row[0].value: row[1].value for row in openpyxl.load_workbook(out)["Info"].iter_rows()}
    assert (info["Period complete"], info["Statements"]) == ("no", 0)


def test_statement_rows_for_the_dashboards_are_decimal(env):
    con = warehouse.connect(env["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        rows = statement_rows(con, date(2024, 2, 17))  # any day of the month
    finally:
        con.close()
    assert [list(row) for row in rows] == [list(COLUMNS)] * 3
    assert sum(row["author_revenue"] for row in rows) == D("155.21")
    assert all(isinstance(row["book_sales"], Decimal) for row in rows)


@pytest.mark.parametrize("period", ["2024-13", "abc", "2024-1", "2024-00"])
def test_bad_period_is_one_clear_line(env, tmp_path, period):
    result = export(env, tmp_path / "x.csv", period, "csv", check=False)
    assert result.returncode == 1
    assert result.stderr == f"error: --period {period!r} is not a month; write it as YYYY-MM, e.g. 2024-03\n"
    assert not (tmp_path / "x.csv").exists()


def test_no_warehouse_is_one_clear_line(tmp_path):
    env = cli_environment(tmp_path, "postgresql://nobody@/nowhere?host=/nonexistent")
    result = export(env, tmp_path / "x.csv", "2024-02", "csv", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no warehouse at ") and result.stderr.count("\n") == 1


def test_redacted_warehouse_refuses_with_one_line(env, tmp_path):
    redacted = cli_environment(tmp_path, env["EBOOK_ANALYTICS_SOURCE_URL"])
    run_cli("etl", "run", "--full", "--redact-pii", env=redacted)
    result = export(redacted, tmp_path / "x.csv", "2024-02", "csv", check=False)
    assert result.returncode == 1
    assert result.stderr == (
        "error: the warehouse was published with --redact-pii, so it has no author emails or names; "
        "run `ebook-analytics etl run --full` without --redact-pii to export statements\n"
    )


def test_as_of_reproduces_a_statement_file_byte_for_byte(published_dataset, create_database, tmp_path):
    """Export February, change its figures at the source and publish again: `--as-of` the first run (or a time
    between the two publications) gives the first file back exactly, while the latest differs."""
    env = copy_published(published_dataset, tmp_path, create_database)
    first_csv, first_xlsx = tmp_path / "first.csv", tmp_path / "first.xlsx"
    export(env, first_csv, "2024-02", "csv")
    export(env, first_xlsx, "2024-02", "xlsx")
    ((first_run, first_published),) = (
        open_published(env["EBOOK_ANALYTICS_WAREHOUSE"])
        .execute("select run_id, published_at from meta.publication")
        .fetchall()
    )
    with psycopg.connect(env["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:  # Sea Glass sold 44.45 more in February
        conn.execute(
            "update billing.revenue_shares set book_sales = 100.00, platform_revenue = 15.00, user_revenue = 85.00 "
            "where id = '50000000-0000-0000-0000-000000000002'"
        )
    run_cli("etl", "run", env=env)

    latest = tmp_path / "latest.csv"
    export(env, latest, "2024-02", "csv")
    assert ",Sea Glass,2024-02-01,2024-02-29,100.00," in latest.read_text()
    for as_of in (first_run, first_published.isoformat()):
        again_csv, again_xlsx = tmp_path / "again.csv", tmp_path / "again.xlsx"
        export(env, again_csv, "2024-02", "csv", "--as-of", as_of, name="statements")
        export(env, again_xlsx, "2024-02", "xlsx", "--as-of", as_of, name="statements")
        assert again_csv.read_bytes() == first_csv.read_bytes()
        assert _cells(again_xlsx) == _cells(first_xlsx)
    pack = tmp_path / "pack"
    export(env, pack, "2024-02", "csv", "--per-author", "--as-of", first_run, name="statements")
    assert ",Sea Glass,2024-02-01,2024-02-29,55.55," in "".join(p.read_text() for p in pack.glob("*.csv"))

    gone = export(env, latest, "2024-02", "csv", "--as-of", "20200101T000000Z-000000", check=False, name="statements")
    assert gone.returncode == 1 and gone.stderr.count("\n") == 1
    assert gone.stderr.startswith(
        "error: no kept publication is run 20200101T000000Z-000000, nor is it an ISO time"
        " (publications are kept 90 days); "
        f"the oldest kept is run {first_run}, published {first_published.isoformat()}"
    )


def _cells(path: Path) -> list[list[tuple]]:
    """Every sheet's values but the cover's "Generated at" line: an XLSX file says when it was written (its bytes
    too); everything finance reads from it is the publication's."""
    book = openpyxl.load_workbook(path)
    return [
        [tuple(row) for row in sheet.iter_rows(values_only=True) if row[0] != "Generated at (UTC)"]
        for sheet in book.worksheets
    ]

"""`ebook-analytics export revenue-share`: exact CSV text, an XLSX with exact numbers, and one-line errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pipelines import warehouse
from pipelines.export.revenue_share import COLUMNS, CURRENCY_FORMAT, RATE_FORMAT, statement_rows
from tests.conftest import cli_environment, run_cli

D = Decimal
ALICE = "a0000000-0000-0000-0000-000000000001"
CAROL = "a0000000-0000-0000-0000-000000000003"
HEADER = ",".join(COLUMNS) + "\n"


@pytest.fixture(scope="module")
def env(published_dataset: dict[str, str]) -> dict[str, str]:
    return published_dataset


def export(env: dict[str, str], out: Path, period: str, fmt: str, check: bool = True):
    return run_cli(
        "export", "revenue-share", "--period", period, "--format", fmt, "--out", str(out), env=env, check=check
    )


def test_csv_of_a_month_is_exact(env, tmp_path):
    out = tmp_path / "february.csv"
    result = export(env, out, "2024-02", "csv")
    # Statements whose period starts in February, by author (Alice Smith, Carol Jones) then project title
    # ('Sea Glass' < 'The Long Night'); the payout '2024-03-14 21:00-05' in UTC.
    assert out.read_text() == HEADER + (
        f"50000000-0000-0000-0000-000000000002,{ALICE},alice@example.com,Alice Smith,"
        "20000000-0000-0000-0000-000000000002,Sea Glass,2024-02-01,2024-02-29,55.55,0.1500,8.33,47.22,pending,,false\n"
        f"50000000-0000-0000-0000-000000000001,{ALICE},alice@example.com,Alice Smith,"
        "20000000-0000-0000-0000-000000000001,The Long Night,2024-02-01,2024-02-29,100.00,0.1000,10.00,90.00,paid,"
        "2024-03-15 02:00:00+00:00,false\n"
        f"50000000-0000-0000-0000-000000000003,{CAROL},carol@example.com,Carol Jones,"
        "20000000-0000-0000-0000-000000000004,Dragons Rising,2024-02-01,2024-02-29,19.99,0.1000,2.00,17.99,"
        "processing,,false\n"
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


def test_xlsx_has_exact_numbers_formats_totals_and_author_summary(env, tmp_path):
    out = tmp_path / "february.xlsx"
    export(env, out, "2024-02", "xlsx")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Statements", "By author"]

    sheet = book["Statements"]
    assert [cell.value for cell in sheet[1]] == list(COLUMNS)
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
    totals = sheet[5]
    assert totals[0].value == "Total" and all(cell.font.bold for cell in totals)
    assert not sheet[4][0].font.bold

    summary = book["By author"]
    assert [[cell.value for cell in row] for row in summary.iter_rows()] == [
        ["author_id", "author_email", "author_name", "statements", "book_sales", "platform_revenue", "author_revenue"],
        # Alice: 55.55 + 100.00, 8.33 + 10.00, 47.22 + 90.00
        [ALICE, "alice@example.com", "Alice Smith", 2, 155.55, 18.33, 137.22],
        [CAROL, "carol@example.com", "Carol Jones", 1, 19.99, 2.0, 17.99],
        ["Total", None, None, 3, 175.54, 20.33, 155.21],
    ]
    assert summary.cell(row=2, column=5).number_format == CURRENCY_FORMAT
    assert all(cell.font.bold for cell in summary[4])


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

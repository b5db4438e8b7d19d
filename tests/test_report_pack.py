"""`ebook-analytics report`: a page's report pack from the command line, as the role would see the page."""

from __future__ import annotations

import getpass
import json

import openpyxl
import pypdf
import pytest

from tests.conftest import copy_published, open_published, run_cli
from tests.marts_dataset import ALICE


@pytest.fixture(scope="module")
def env(published_dataset, tmp_path_factory) -> dict[str, str]:
    # A copy: the pack is recorded in the audit log of the data folder; the pseudonym key is fixed, not generated.
    return copy_published(published_dataset, tmp_path_factory.mktemp("report")) | {
        "EBOOK_ANALYTICS_PSEUDONYM_KEY": "test-key"
    }


def test_an_analysts_ai_cost_pack_from_the_command_line(env, tmp_path):
    out = tmp_path / "ai-cost.xlsx"
    result = run_cli(
        "report",
        "--page",
        "ai_cost",
        "--role",
        "analyst",
        "--start",
        "2024-03-01",
        "--end",
        "2024-03-31",
        "--filter",
        "provider=openai",
        "--format",
        "xlsx",
        "--out",
        str(out),
        env=env,
    )
    assert result.stdout == f"wrote the AI cost report pack for the analyst role to {out}\n"
    book = openpyxl.load_workbook(out)
    # The cover, then the page's 5 charts and 4 tables in its order.
    assert book.sheetnames == [
        "Cover",
        "ai_cost_by_day",
        "ai_tokens_by_day",
        "ai_latency",
        "ai_failure_rate",
        "ai_by_model",
        "ai_model_league",
        "ai_error_classes",
        "ai_by_tier",
        "ai_top_spenders",
    ]
    cover = {row[0].value: row[1].value for row in book["Cover"].iter_rows()}
    con = open_published(env["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        (run_id,) = con.execute("select run_id from meta.publication").fetchone()
    finally:
        con.close()
    assert [cover["Page"], cover["Role"], cover["Filter: dates"], cover["Filter: provider"], cover["Run id"]] == [
        "AI cost",
        "analyst",
        "2024-03-01,2024-03-31",
        "openai",
        run_id,
    ]
    # Only OpenAI's generations in March: 1000 + 500 (Alice, gpt-4 0613) and 200 (Bob, gpt-4 1106) tokens.
    tokens = book["ai_tokens_by_day"]
    header = [cell.value for cell in tokens[1]]
    assert sum(row[header.index("ai_tokens")] for row in tokens.iter_rows(min_row=2, values_only=True)) == 1700
    texts = [str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [text for text in texts if "@" in text or "Alice" in text or str(ALICE) in text]
    spenders = book["ai_top_spenders"]
    assert all(str(row[0]).startswith("u_") for row in spenders.iter_rows(min_row=2, values_only=True))

    (entry,) = [json.loads(line) for line in run_cli("audit", "--json", env=env).stdout.splitlines()][:1]
    assert {key: entry[key] for key in ("user", "role", "action", "what", "filters", "run_id", "files")} == {
        "user": getpass.getuser(),
        "role": "cli",
        "action": "report pack",
        "what": "AI cost report pack (xlsx)",
        "filters": {"page": "ai_cost", "role": "analyst", "dates": "2024-03-01,2024-03-31", "provider": "openai"},
        "run_id": run_id,
        "files": [str(out)],
    }


def test_a_date_range_for_a_page_without_one_is_no_mistake(env, tmp_path):
    """Unit economics shows every day: --start/--end (a schedule's last_days) do not apply to it."""
    out = tmp_path / "economics.xlsx"
    args = ["--page", "unit_economics", "--role", "finance", "--start", "2024-03-01", "--end", "2024-03-31"]
    result = run_cli("report", *args, "--format", "xlsx", "--out", str(out), env=env)
    assert result.stdout == f"wrote the Unit economics report pack for the finance role to {out}\n"
    cover = [row[0].value for row in openpyxl.load_workbook(out)["Cover"].iter_rows()]
    assert "Page" in cover and not [line for line in cover if str(line).startswith("Filter:")]  # no range claimed
    (entry,) = [json.loads(line) for line in run_cli("audit", "--json", env=env).stdout.splitlines()][:1]
    assert entry["filters"] == {"page": "unit_economics", "role": "finance"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--page", "revenue_share", "--role", "analyst"],
            "error: the analyst role may not open the Revenue share page; choose one of admin, finance\n",
        ),
        (
            ["--page", "usage", "--role", "admin", "--start", "2024-03-01"],
            "error: give both --start and --end, or neither (the page's default range)\n",
        ),
        (
            ["--page", "usage", "--role", "admin", "--filter", "tier"],
            "error: --filter 'tier' is not KEY=VALUE; write it as in the page's URL, e.g. provider=OpenAI\n",
        ),
        (  # the hand-made history's providers are openai and anthropic
            ["--page", "ai_cost", "--role", "admin", "--filter", "provider=OpenAI", "--filter", "colour=red"],
            "error: the AI cost page did not take provider OpenAI: no such provider in the data; colour: this page has"
            " no such filter; write each filter as in the page's URL, with a value the page lists\n",
        ),
    ],
)
def test_refusals_are_one_line(env, tmp_path, args, message):
    result = run_cli("report", *args, "--format", "xlsx", "--out", str(tmp_path / "x.xlsx"), env=env, check=False)
    assert (result.returncode, result.stderr) == (1, message)
    assert not (tmp_path / "x.xlsx").exists()


def test_an_analysts_pdf_pack_has_a_cover_and_one_section_per_chart(env, tmp_path):
    args = ["report", "--page", "ai_cost", "--role", "analyst", "--start", "2024-03-01", "--end", "2024-03-31"]
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    run_cli(*args, "--filter", "provider=openai", "--format", "pdf", "--out", str(first), env=env)
    run_cli(*args, "--filter", "provider=openai", "--format", "pdf", "--out", str(second), env=env)
    assert first.read_bytes() == second.read_bytes()  # the same publication and options give the same bytes
    reader = pypdf.PdfReader(first)
    pages = [page.extract_text() for page in reader.pages]
    # The cover, then one section per chart and table, each from a new page; the two 31-day tables take two pages.
    assert len(pages) == 12
    assert [page.splitlines()[0] for page in pages] == [
        "AI cost report pack",
        "1. Cost per day by provider (USD)",
        "2. Tokens per day by provider",
        "3. Latency of completed generations (ms), exact percentiles of each day",
        "day",
        "4. Failure rate per day (failed / finished)",
        "day",
        "5. By model",
        "6. Model league table (rank: mean of the ranks on failure rate, p95 latency, rating and cost per generation)",
        "7. Error classes by model (the error message up to its first colon)",
        "8. Subscription revenue, AI cost and gross margin by tier (USD)",
        "9. Top spenders",
    ]
    cover = pages[0].splitlines()
    (run_id,) = [cover[index + 1] for index, line in enumerate(cover) if line == "Run id"]
    assert cover[1:9] == ["Page", "AI cost", "Role", "analyst", "Filter: dates", "2024-03-01,2024-03-31"] + [
        "Filter: provider",
        "openai",
    ]
    assert run_id == json.loads(run_cli("runs", "--json", "--limit", "1", env=env).stdout)[0]["run_id"]
    assert "Sections (9)" in cover
    assert pages[7].splitlines()[1] == "1 row; the CSV download ai_by_model.csv holds the same."
    # The analyst's top spenders: pseudonymous keys, never a name or an email.
    assert pages[11].splitlines()[1:3] == ["3 rows; the CSV download ai_top_spenders.csv holds the same.", "user"]
    # The first section's values: OpenAI's two March days, the cost exact to the micro-dollar.
    # (The chart's annotation column is empty: the platform changed nothing in March 2024.)
    assert pages[1].splitlines()[2:] == ["day", "provider", "ai cost", "ai tokens", "annotation"] + [
        "2024-03-01",
        "openai",
        "0.036000",
        "1200",
        "2024-03-02",
        "openai",
        "0.015000",
        "500",
    ]
    text = "\n".join(pages)
    assert "@" not in text and "Alice" not in text and str(ALICE) not in text

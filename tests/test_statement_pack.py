"""`ebook-analytics export statements --per-author`: one PDF and one CSV per author and a manifest, exact to the cent,
byte-identical on a rerun, each PDF about one author only; and every export recorded in the audit log.

The dataset is tests/marts_dataset.py (published once per session). Its statements, worked out by hand:
  February 2024: Alice Smith  The Long Night 100.00 at 10%: 10.00 / 90.00 paid 2024-03-15 02:00 UTC
                 Alice Smith  Sea Glass (never published) 55.55 at 15%: 8.33 / 47.22 pending
                 Carol Jones  Dragons Rising (never published) 19.99 at 10%: 2.00 / 17.99 processing
  March 2024:    Alice Smith  The Long Night 200.00 at 10%: 20.00 / 180.00 failed
                 Bob Brown    Untitled 0.00 at 10%: 0.00 / 0.00 pending
  May 2024:      Carol Jones  Dragons Rising 10.01 at 10%: 1.00 / 9.01 paid 2024-06-10
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import copy_published, open_published, run_cli

D = Decimal
ALICE = "a0000000-0000-0000-0000-000000000001"
BOB = "a0000000-0000-0000-0000-000000000002"
CAROL = "a0000000-0000-0000-0000-000000000003"
MONEY = ("book_sales", "platform_revenue", "author_revenue")


@pytest.fixture(scope="module")
def env(published_dataset, tmp_path_factory) -> dict[str, str]:
    # A copy: every export appends to the audit log in the data folder.
    return copy_published(published_dataset, tmp_path_factory.mktemp("pack"))


@pytest.fixture(scope="module")
def run_id(env) -> str:
    con = open_published(env["EBOOK_ANALYTICS_WAREHOUSE"])
    try:
        return con.execute("select run_id from meta.publication").fetchone()[0]
    finally:
        con.close()


def pack(env, out: Path, period: str, fmt: str = "pdf,csv", check: bool = True):
    return run_cli(
        "export",
        "statements",
        "--period",
        period,
        "--per-author",
        "--format",
        fmt,
        "--out",
        str(out),
        env=env,
        check=check,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.fixture(scope="module")
def march(env, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("march") / "pack"  # not there yet: the command creates it
    result = pack(env, out, "2024-03")
    return out, result.stdout


def test_march_pack_files_and_author_csvs_are_exact(march, run_id):
    out, stdout = march
    assert sorted(path.name for path in out.iterdir()) == [
        "manifest.csv",
        f"statement-{ALICE}.csv",
        f"statement-{ALICE}.pdf",
        f"statement-{BOB}.csv",
        f"statement-{BOB}.pdf",
    ]
    header = (
        "revenue_share_id,author_id,author_email,author_name,project_id,project_title,period_start,period_end,"
        "book_sales,commission_rate,platform_revenue,author_revenue,payout_status,payout_date,partial,"
        "ytd_book_sales,ytd_platform_revenue,ytd_author_revenue,unpaid_carried_forward,run_id\n"
    )
    # Alice's year to date: February's 100.00 + 55.55 and March's 200.00 = 355.55; commission 10.00 + 8.33 + 20.00 =
    # 38.33; her share 90.00 + 47.22 + 180.00 = 317.22. Carried forward: February's Sea Glass, pending, 47.22 (The
    # Long Night's February share was paid).
    assert (out / f"statement-{ALICE}.csv").read_text() == header + (
        f"50000000-0000-0000-0000-000000000004,{ALICE},alice@example.com,Alice Smith,"
        "20000000-0000-0000-0000-000000000001,The Long Night,2024-03-01,2024-03-31,200.00,0.1000,20.00,180.00,failed,,"
        f"false,355.55,38.33,317.22,47.22,{run_id}\n"
    )
    assert (out / f"statement-{BOB}.csv").read_text() == header + (
        f"50000000-0000-0000-0000-000000000005,{BOB},bob@example.com,Bob Brown,"
        "20000000-0000-0000-0000-000000000003,Untitled,2024-03-01,2024-03-31,0.00,0.1000,0.00,0.00,pending,,"
        f"false,0.00,0.00,0.00,0.00,{run_id}\n"
    )
    assert stdout == (
        "wrote statement packs of 2 authors for 2024-03 (4 files; book sales 200.00 USD, author share 180.00 USD) "
        f"and manifest.csv to {out}\n"
    )


def test_manifest_lists_each_file_with_its_figures_and_hash(march, run_id):
    out, _ = march
    manifest = read_csv(out / "manifest.csv")
    for row in manifest:
        assert row.pop("sha256") == hashlib.sha256((out / row["file"]).read_bytes()).hexdigest()
    alice = {
        "author_id": ALICE,
        "author_name": "Alice Smith",
        "author_email": "alice@example.com",
        "rows": "1",
        "book_sales": "200.00",
        "platform_revenue": "20.00",
        "author_revenue": "180.00",
        "author_revenue_paid": "0.00",
        "author_revenue_unpaid": "180.00",  # failed
        "ytd_book_sales": "355.55",
        "ytd_platform_revenue": "38.33",
        "ytd_author_revenue": "317.22",
        "unpaid_statements_carried_forward": "1",
        "unpaid_carried_forward": "47.22",
        "period": "2024-03",
        "period_complete": "true",
        "run_id": run_id,
    }
    bob = alice | {
        "author_id": BOB,
        "author_name": "Bob Brown",
        "author_email": "bob@example.com",
        **dict.fromkeys(
            [*MONEY, "author_revenue_paid", "author_revenue_unpaid", "ytd_book_sales", "ytd_platform_revenue"], "0.00"
        ),
        "ytd_author_revenue": "0.00",
        "unpaid_statements_carried_forward": "0",
        "unpaid_carried_forward": "0.00",
    }
    assert manifest == [
        {"file": f"statement-{ALICE}.pdf", "format": "pdf", **alice},
        {"file": f"statement-{ALICE}.csv", "format": "csv", **alice},
        {"file": f"statement-{BOB}.pdf", "format": "pdf", **bob},
        {"file": f"statement-{BOB}.csv", "format": "csv", **bob},
    ]


def test_each_pdf_holds_its_author_only(march):
    out, _ = march
    alice = pdf_text(out / f"statement-{ALICE}.pdf")
    for expected in (
        "Revenue-share statement March 2024",
        "Alice Smith",
        "alice@example.com",
        ALICE,
        "The Long Night",
        "200.00",
        "20.00",
        "180.00",
        "failed",
        "355.55",  # year to date
        "317.22",
        "47.22",  # carried forward
    ):
        assert expected in alice, expected
    bob = pdf_text(out / f"statement-{BOB}.pdf")
    assert "Bob Brown" in bob and "Untitled" in bob
    for other in ("Bob", "bob@example.com", BOB, "Untitled", "Carol", CAROL, "Dragons"):
        assert other not in alice, other
    for other in ("Alice", "alice@", ALICE, "Long Night", "Sea Glass", "Carol"):
        assert other not in bob, other


def test_files_add_up_to_the_months_totals(env, tmp_path):
    # February: book sales 100.00 + 55.55 + 19.99 = 175.54, commission 10.00 + 8.33 + 2.00 = 20.33, authors'
    # share 90.00 + 47.22 + 17.99 = 155.21; paid 90.00, unpaid 47.22 + 17.99 = 65.21.
    pack(env, tmp_path / "pack", "2024-02", "csv")
    manifest = read_csv(tmp_path / "pack" / "manifest.csv")
    assert [row["author_name"] for row in manifest] == ["Alice Smith", "Carol Jones"]
    columns = (*MONEY, "author_revenue_paid", "author_revenue_unpaid")
    totals = {column: sum(D(row[column]) for row in manifest) for column in columns}
    assert totals == dict(zip(columns, [D("175.54"), D("20.33"), D("155.21"), D("90.00"), D("65.21")], strict=True))
    lines = [line for row in manifest for line in read_csv(tmp_path / "pack" / row["file"])]
    assert len(lines) == sum(int(row["rows"]) for row in manifest) == 3
    assert {column: sum(D(line[column]) for line in lines) for column in MONEY} == {
        column: totals[column] for column in MONEY
    }
    whole_month = tmp_path / "february.csv"
    run_cli("export", "statements", "--period", "2024-02", "--format", "csv", "--out", str(whole_month), env=env)
    assert {column: sum(D(row[column]) for row in read_csv(whole_month)) for column in MONEY} == {
        column: totals[column] for column in MONEY
    }


def test_a_rerun_on_the_same_publication_is_byte_identical(env, march, tmp_path):
    first, _ = march
    pack(env, tmp_path / "again", "2024-03")

    def digests(folder: Path) -> dict[str, str]:
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}

    assert digests(tmp_path / "again") == digests(first)


def test_carried_forward_reaches_a_later_month(env, tmp_path):
    # May: Carol's Dragons Rising 10.01 paid; year to date 19.99 + 10.01 = 30.00, her share 17.99 + 9.01 = 27.00;
    # February's 17.99 (processing) is carried forward. Alice has no statement starting in May: no pack for her.
    pack(env, tmp_path / "may", "2024-05", "pdf")
    manifest = read_csv(tmp_path / "may" / "manifest.csv")
    assert [
        (row["file"], row["author_revenue_paid"], row["ytd_book_sales"], row["ytd_author_revenue"])
        + (row["unpaid_carried_forward"],)
        for row in manifest
    ] == [(f"statement-{CAROL}.pdf", "9.01", "30.00", "27.00", "17.99")]
    text = pdf_text(tmp_path / "may" / f"statement-{CAROL}.pdf")
    assert "2024-06-10 00:00" in text and "17.99" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--per-author", "--format", "xlsx"],
            "error: --format 'xlsx' is not a list of pack formats; with --per-author use pdf, csv or both, "
            "comma-separated (e.g. pdf,csv)\n",
        ),
        (
            ["--format", "pdf"],
            "error: --format 'pdf' is not a file format; use csv or xlsx (or --per-author with pdf,csv)\n",
        ),
    ],
)
def test_wrong_format_is_one_line(env, tmp_path, args, message):
    result = run_cli(
        "export", "statements", "--period", "2024-03", *args, "--out", str(tmp_path / "x"), env=env, check=False
    )
    assert (result.returncode, result.stderr) == (1, message)
    assert not (tmp_path / "x").exists()


def test_every_export_is_in_the_audit_log(env, tmp_path, run_id):
    before = len(run_cli("audit", "--json", "--limit", "0", env=env).stdout.splitlines())
    out = tmp_path / "pack"
    pack(env, out, "2024-02", "pdf")
    run_cli(
        "export", "revenue-share", "--period", "2024-02", "--format", "xlsx", "--out", str(tmp_path / "f.xlsx"), env=env
    )
    entries = [json.loads(line) for line in run_cli("audit", "--json", "--limit", "0", env=env).stdout.splitlines()]
    assert len(entries) == before + 2
    newest, previous = entries[0], entries[1]
    assert {key: newest[key] for key in ("user", "role", "action", "what", "filters", "run_id", "files")} == {
        "user": getpass.getuser(),
        "role": "cli",
        "action": "export statements",
        "what": "revenue-share statements 2024-02 (xlsx)",
        "filters": {"period": "2024-02", "format": "xlsx"},
        "run_id": run_id,
        "files": [str(tmp_path / "f.xlsx")],
    }
    assert previous["action"] == "statement pack"
    assert previous["filters"] == {"period": "2024-02", "format": "pdf", "per_author": "True"}
    assert previous["files"] == [
        str(out / f"statement-{ALICE}.pdf"),
        str(out / f"statement-{CAROL}.pdf"),
        str(out / "manifest.csv"),
    ]
    table = run_cli("audit", "--limit", "1", env=env).stdout.splitlines()
    assert len(table) == 2 and table[1].split()[1:4] == [getpass.getuser(), "cli", "export"]

"""`ebook-analytics bench`: the whole measurement sequence at scale tiny, and the pieces whose answers are known."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import psycopg
import pytest

from pipelines.bench.environment import HEADROOM_DAYS
from pipelines.bench.load import percentiles
from pipelines.bench.naive import choose_share
from pipelines.bench.report import finish, markdown
from pipelines.source.seed.advance import history_end
from tests.conftest import run_cli

KEYS = (
    "scale",
    "rows_extracted",
    "extract_limit_s",
    "naive_extract_s",
    "naive_share",
    "full_etl_s",
    "full_extract_s",
    "incremental_etl_s",
    "checks_s",
    "peak_rss_mb",
    "capture_method",
    "source_tuples_read_incremental",
    "rows_changed_incremental",
    "pages",
    "load",
    "machine",
    "commit",
    "date",
)
POSITIVE = (
    "rows_extracted",
    "seed_s",
    "extract_limit_s",
    "naive_extract_s",
    "naive_share",
    "full_etl_s",
    "full_extract_s",
    "incremental_etl_s",
    "checks_s",
    "peak_rss_mb",
    "incremental_peak_rss_mb",
)


def test_bench_tiny_measures_everything_on_its_own_data(cli_env: dict[str, str], source_url: str, tmp_path: Path):
    out = tmp_path / "out"
    started = datetime.now(UTC).date()
    run_cli(
        "bench",
        *("--scale", "tiny", "--skip-dashboards", "--follow-every", "2s"),
        *("--out", str(out), "--source-url", source_url),
        env=cli_env,
    )

    results = json.loads((out / "bench.json").read_text())
    assert set(KEYS) <= results.keys()
    assert results["scale"] == "tiny"
    for key in POSITIVE:
        assert results[key] > 0, key
    assert results["capture_method"] == "logical" and results["rows_changed_incremental"] > 0
    assert results["source_tuples_read_incremental"] >= 0
    # A later run of the follower (2 s ticks) published the marker committed after its first; SIGTERM then stopped it.
    assert results["follow_every"] == "2s" and 0 < results["follow_lag_s"] < 120
    assert results["incremental_publish_s"] > 0
    assert results["naive_share"] == 1.0  # tiny fits the naive peer's time box: everything was read
    # The ETL's own count of rows read equals the bench's count(*) of the same tables.
    assert results["rows_extracted"] == sum(table["rows"] for table in results["tables"].values())
    assert results["pages"] == {} and results["load"] == {}  # --skip-dashboards
    assert results["spark_transform_s"] is None and results["ratios"]["spark_vs_duckdb_transform"] is None
    assert results["machine"]["cores"] >= 1 and len(results["commit"].split("+")[0]) == 40
    assert results["ratios"]["incremental_vs_full"] == pytest.approx(
        results["incremental_etl_s"] / results["full_etl_s"], abs=1e-4
    )
    assert "# Benchmark, scale `tiny`" in (out / "bench.md").read_text()
    # Its own data folder; the user's warehouse is never created or touched.
    bench_home = Path(cli_env["EBOOK_ANALYTICS_HOME"]) / "bench-tiny"
    assert json.loads((bench_home / "seeded.json").read_text())["scale"] == "tiny"
    assert (bench_home / "warehouse" / "analytics.ducklake").is_file()
    assert not Path(cli_env["EBOOK_ANALYTICS_WAREHOUSE"]).exists()

    # Seeded to end HEADROOM_DAYS ago, one day appended; the follow marker, committed now, is dated within that day,
    # so the next bench on this source finds a day to append. (Days of the seed: a bench across midnight UTC seeded
    # on the first.)
    today = datetime.now(UTC).date()
    with psycopg.connect(source_url) as conn:
        assert history_end(conn) in {day - timedelta(days=HEADROOM_DAYS - 1) for day in (started, today)}
        # A history reaching yesterday leaves no day to append today: the next bench stops before measuring.
        conn.execute(
            'insert into analytics.user_events (user_id, event_type, "timestamp")'
            " select id, 'page_view', %s from users.users limit 1",
            (datetime.combine(today - timedelta(days=1), time(12), UTC),),
        )
    rows_before = len((bench_home / "warehouse" / "runs.jsonl").read_text().splitlines())
    again = run_cli(
        "bench",
        *("--scale", "tiny", "--skip-dashboards", "--out", str(tmp_path / "again"), "--source-url", source_url),
        env=cli_env,
        check=False,
    )
    assert again.returncode == 1
    error = [line for line in again.stderr.splitlines() if not line.startswith("bench: ")]  # progress lines
    assert error == [
        f"error: bench: the seeded history ends on {today - timedelta(days=1)}, so its next day can be added from "
        f"{today + timedelta(days=1)} on (UTC); run the bench then, or seed afresh: delete {bench_home} (after "
        "`ebook-analytics source stop` on it) or give --source-url an empty database"
    ]
    assert len((bench_home / "warehouse" / "runs.jsonl").read_text().splitlines()) == rows_before  # no ETL ran
    assert not (tmp_path / "again" / "bench.json").exists()


def test_bench_refuses_a_database_it_did_not_seed(cli_env: dict[str, str], source_url: str, tmp_path: Path):
    with psycopg.connect(source_url) as conn:
        conn.execute("insert into users.users (email, username) values ('demo@example.com', 'demo')")

    result = run_cli(
        "bench",
        "--scale",
        "tiny",
        "--skip-dashboards",
        "--out",
        str(tmp_path / "out"),
        "--source-url",
        source_url,
        env=cli_env,
        check=False,
    )

    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if not line.startswith("bench: ")]  # progress lines
    assert len(error) == 1 and error[0].startswith("error: bench: ") and "did not seed" in error[0]  # no traceback
    with psycopg.connect(source_url) as conn:  # the demo data is untouched
        assert conn.execute("select count(*) from users.users").fetchone()[0] == 1


@pytest.mark.fast
@pytest.mark.parametrize(
    ("projected_s", "peak_gib", "share"),
    [
        (30.0, 0.1, 1.0),
        (600.0, 4.0, 1.0),  # both boxes exactly full still fit
        (700.0, 0.1, 0.25),  # 50% would take 350 s, more than half the 600 s box
        (1200.0, 0.1, 0.25),
        (12_345.0, 0.1, 0.01),
        (10_000_000.0, 0.1, 0.001),  # the smallest share, even if still too slow
        (100.0, 10.0, 0.25),  # fast enough, but a 10 GiB peak: 2.5 GiB fits the 4 GiB box, 5 GiB would not
    ],
)
def test_naive_share_keeps_the_naive_peer_inside_its_time_and_memory_boxes(
    projected_s: float, peak_gib: float, share: float
):
    assert choose_share(projected_s, peak_gib * 2**30) == share


@pytest.mark.fast
def test_ratios_and_targets_from_known_measurements():
    results = finish(
        {
            "scale": "large",
            "extract_limit_s": 20.0,
            "full_extract_s": 30.0,
            "naive_extract_s": 240.0,
            "full_etl_s": 100.0,
            "incremental_etl_s": 6.0,
            "source_tuples_read_incremental": 300,
            "rows_changed_incremental": 100,
            "transform_s": 4.0,
            "spark_transform_s": 50.0,
            "peak_rss_mb": 2100.0,
            "follow_lag_s": 60.0,
            "pages": {"overview": {"p50_ms": 300.0, "p95_ms": 450.0}, "costs": {"p50_ms": 700.0, "p95_ms": 1200.0}},
        }
    )

    assert results["ratios"] == {
        "full_extract_vs_limit": 1.5,
        "naive_vs_full_extract": 8.0,
        "incremental_vs_full": 0.06,
        "tuples_read_vs_changed": 3.0,
        "spark_vs_duckdb_transform": 12.5,
    }
    met = {key: target["met"] for key, target in results["targets"].items()}
    assert met == {
        "full_extract_vs_limit": True,  # exactly 1.5x is within
        "naive_vs_full_extract": False,
        "incremental_vs_full": False,
        "tuples_read_vs_changed": False,  # 3 tuples read per row changed
        "peak_rss_mb": False,
        "follow_lag_s": True,  # exactly 60 s is within
        "slowest_page_p95_ms": False,  # costs at 1.2 s
        "first_paint_ms": None,  # not measured
        "server_cpu_ms_per_view": None,
        "load_50_p95_ms": None,
    }
    assert results["targets"]["slowest_page_p95_ms"]["value"] == 1200.0
    text = markdown(results)
    assert "| ratio: naive peer / full extract | 8.000 | x |" in text
    assert "| every page < 1 s p95 warm | 1,200.0 | **no** |" in text


@pytest.mark.fast
def test_percentiles_interpolate_between_samples():
    # numpy's linear rule: p50 of 100..400 is halfway between 200 and 300; p95 is 95% of the way from 100 to 400.
    assert percentiles([400.0, 100.0, 300.0, 200.0]) == {"p50_ms": 250.0, "p95_ms": 385.0}


def test_bench_without_chromium_stops_before_any_work(cli_env: dict[str, str], source_url: str, tmp_path: Path):
    no_browser = {**cli_env, "PATH": str(tmp_path)}  # an empty PATH: no chromium (Playwright is installed here)
    result = run_cli("bench", "--scale", "tiny", "--source-url", source_url, env=no_browser, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the bench's dashboard part needs Chromium on PATH: apt-get install chromium, "
        "or run `ebook-analytics bench --skip-dashboards`\n"
    )
    with psycopg.connect(source_url) as conn:
        assert conn.execute("select count(*) from users.users").fetchone() == (0,)

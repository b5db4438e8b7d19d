"""The Spark engine builds every mart exactly as DuckDB does, on the hand-made history of tests/marts_dataset.py.

DuckDB's marts come from the real `etl run` (the session's `published_dataset`); Spark's from the transform on a copy
of that published file with its marts dropped (its staged and history tables, the same snapshot parameters). Each
mart is then compared both ways with EXCEPT ALL (duplicates count; DECIMAL money compares exactly) and by its column
types. The DuckDB constructs that Spark SQL spells differently (spark_sql.py) are checked one by one on hand-made
rows where a naive translation would differ. Money (DECIMAL) compares exactly; DOUBLE columns to 6 decimals.

One local Spark session serves the test session (starting the JVM is most of the cost); the tests that share it run
together on one worker (tests/work_units.py), so one JVM starts for this module.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import warehouse
from pipelines.errors import UserError
from pipelines.run.etl import model_parameters
from pipelines.transform.lineage import lineage
from pipelines.transform.runner import Model, load_models
from pipelines.transform.spark import (
    LOG_ROTATE_BYTES,
    build_each_after_its_inputs,
    check_prerequisites,
    output_to,
    run_models_on_spark,
    spark_session,
)
from pipelines.transform.spark_sql import spark_type, to_spark
from tests.conftest import attach_published, published_as_file, run_cli

# On a few dozen rows, compiling code per stage and re-planning between stages cost more than they save; one shuffle
# partition instead of one per core, one task thread. The JVM lives for one module: its quick compiler alone (the
# optimizing one spends more CPU than it gives back in a few minutes) on one thread, one garbage-collector thread, and
# Spark's own jars loaded without bytecode verification (JVM CPU 53 -> 47 s). Memory pages and broadcast blocks as
# small as the data: sized for big data (64 MB pages here, 4 MB blocks, compressed), each hash join and broadcast
# allocated and zeroed megabytes it never filled (3 GB of the 11 GB the JVM allocated; JVM CPU 38 -> 32 s, GC pauses
# 3.9 -> 1.7 s). The results depend on none of these.
SMALL_DATA = {
    "spark.master": "local[1]",
    "spark.sql.shuffle.partitions": "1",
    "spark.buffer.pageSize": "1m",
    "spark.broadcast.blockSize": "256k",
    "spark.broadcast.compress": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.driver.extraJavaOptions": (
        "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC"
        " -XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote"
    ),
}
MARTS = sorted(model.name for model in load_models())


@pytest.fixture(scope="session")
def spark_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's JVM writes its output (the product's default is `spark.log` beside the warehouse)."""
    return tmp_path_factory.mktemp("spark-log") / "spark.log"


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory, spark_log: Path) -> Iterator[Any]:
    """One local Spark session for the whole test session; the databases the tests create go to a temporary folder
    (Spark's default is `spark-warehouse/` in the directory it starts in: the checkout)."""
    try:
        check_prerequisites()
    except UserError as exc:  # tests/run.sh installs Java; only a failed installation gets here
        pytest.skip(f"Spark cannot start here: {exc}")
    warehouse_dir = tmp_path_factory.mktemp("spark-warehouse")
    with spark_session({**SMALL_DATA, "spark.sql.warehouse.dir": str(warehouse_dir)}, log=spark_log) as session:
        yield session


def marts(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    query = "select table_name from information_schema.tables where table_catalog = $db and table_schema = 'marts'"
    return sorted(name for (name,) in con.execute(query, {"db": database}).fetchall())


def columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = $db and table_schema = 'marts' and table_name = $table order by ordinal_position",
        {"db": database, "table": table},
    ).fetchall()


def comparable(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The table with its DOUBLE columns (latencies, ratings, durations: never money) rounded to 6 decimals: the
    engines add and interpolate floats in different orders (20323.65 and 20323.649999999998 are both right)."""
    types = con.execute(f"select column_name, column_type from (describe {table})").fetchall()
    selected = ", ".join(
        f'round("{column}", 6) as "{column}"' if type_ in ("DOUBLE", "FLOAT") else f'"{column}"'
        for column, type_ in types
    )
    return f"(select {selected} from {table})"


def differences(con: duckdb.DuckDBPyConnection, left: str, right: str) -> tuple[list[tuple], list[tuple]]:
    """Rows only in `left`, rows only in `right` (multisets: a duplicate more is a difference)."""
    return (
        con.execute(f"select * from {left} except all select * from {right}").fetchall(),
        con.execute(f"select * from {right} except all select * from {left}").fetchall(),
    )


def test_spark_builds_every_mart_as_duckdb_does(published_dataset, tmp_path, spark, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Spark's default warehouse folder would appear here
    # The lake's extensions are copied under the home: the dataset's, not a default one in the current directory.
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", published_dataset["EBOOK_ANALYTICS_HOME"])
    published = Path(published_dataset["EBOOK_ANALYTICS_WAREHOUSE"])
    copy = published_as_file(published, tmp_path / "spark.duckdb")
    con = warehouse.connect(copy)
    for mart in MARTS:  # whatever is in marts.* afterwards, Spark built
        con.execute(f"drop table marts.{mart}")
    snapshot_at = con.execute("select snapshot_at from meta.publication").fetchone()[0]
    run_models_on_spark(con, model_parameters(snapshot_at), spark)
    attach_published(con, published, "duck")

    assert marts(con, "spark") == marts(con, "duck") == MARTS
    assert {mart: columns(con, "spark", mart) for mart in MARTS} == {mart: columns(con, "duck", mart) for mart in MARTS}
    differing = {
        mart: differences(con, comparable(con, f"duck.marts.{mart}"), comparable(con, f"spark.marts.{mart}"))
        for mart in MARTS
    }
    assert {mart: rows for mart, rows in differing.items() if rows != ([], [])} == {}
    left_behind = [path.name for path in tmp_path.iterdir() if not path.name.startswith("spark.duckdb")]
    assert left_behind == []  # no work folder, no `spark-warehouse/`
    con.close()


def test_marts_are_built_after_the_marts_they_read_and_as_many_at_once_as_allowed():
    """The scheduler on its own (no Spark), each build held until the test lets it end, the newest first (the marts
    read first then stay under way): a mart starts only once every mart it reads has ended, never more than
    `parallel` at once, and as many as allowed whenever that many are ready; each is built once. A failure is
    raised, and nothing built from the failed mart starts."""
    models = load_models()
    reads = {
        name: {table.removeprefix("marts.") for table in lineage().reads[f"marts.{name}"]} & set(MARTS)
        for name in MARTS
    }
    assert sum(bool(read) for read in reads.values()) >= 5  # marts read marts: the order is put to the test
    parallel = 3
    state = threading.Condition()
    started: list[str] = []
    ended: set[str] = set()
    wrong: list[str] = []  # started too soon, or beyond `parallel`
    may_end = {name: threading.Event() for name in MARTS}

    def build(model: Model) -> float:
        with state:
            if not reads[model.name] <= ended or len(started) - len(ended) == parallel:
                wrong.append(model.name)
            started.append(model.name)
            state.notify_all()
        may_end[model.name].wait(timeout=30)
        with state:
            ended.add(model.name)
            state.notify_all()
        return 1.0

    built: dict[str, float] = {}
    scheduler = threading.Thread(target=lambda: built.update(build_each_after_its_inputs(models, build, parallel)))
    scheduler.start()
    for _ in MARTS:
        with state:
            ready = [name for name in MARTS if name not in started and reads[name] <= ended]
            filled = min(parallel, len(started) - len(ended) + len(ready))
            assert state.wait_for(lambda filled=filled: len(started) - len(ended) >= filled, 30)
            newest = next(name for name in reversed(started) if name not in ended)
        may_end[newest].set()
        with state:
            assert state.wait_for(lambda newest=newest: newest in ended, 30)
    scheduler.join(timeout=30)
    assert (wrong, built, sorted(started)) == ([], dict.fromkeys(MARTS, 1.0), MARTS)

    failing = next(name for name in MARTS if any(name in reads[other] for other in MARTS))

    def fail(model: Model) -> float:
        if model.name == failing:
            raise RuntimeError(f"{failing} failed")
        started.append(model.name)
        return 1.0

    started.clear()
    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        build_each_after_its_inputs(models, fail, 2)
    assert [name for name in started if failing in reads[name]] == []


def test_the_comparison_catches_one_cent(published_dataset):
    """The comparison itself can fail: one cent more on one statement is one row in each direction."""
    con = warehouse.connect(Path(published_dataset["EBOOK_ANALYTICS_WAREHOUSE"]), read_only=True)
    one_cent_more = (
        "(select * replace (author_revenue + case when revenue_share_id = (select min(revenue_share_id)"
        " from marts.revenue_share_statements) then 0.01 else 0 end as author_revenue)"
        " from marts.revenue_share_statements)"
    )
    only_duckdb, only_changed = differences(con, "marts.revenue_share_statements", one_cent_more)
    database = con.execute("select current_database()").fetchone()[0]
    revenue = [name for name, _ in columns(con, database, "revenue_share_statements")].index("author_revenue")
    assert len(only_duckdb) == len(only_changed) == 1
    assert only_changed[0][revenue] - only_duckdb[0][revenue] == Decimal("0.01")
    con.close()


# Hand-made rows for the DuckDB constructs Spark spells differently, each with a row where a naive translation
# would differ: a NULL argument of arg_max, infinite and NULL timestamps, a version before any generation.
EDGES = {
    "versions": """
        select * from (values
            (1, 1, 1, '2024-03-01 09:00:00+00'::timestamptz, 100),
            (2, 1, 2, '2024-03-01 10:00:00+00'::timestamptz, null),
            (3, 1, 3, '2024-03-01 11:59:59+00'::timestamptz, 140),
            (4, 1, 4, '2024-03-01 13:00:00+00'::timestamptz, null),
            (5, 2, 1, '2024-03-01 08:00:00+00'::timestamptz, null),
            (6, 3, 1, '2024-03-01 10:00:00+00'::timestamptz, 7)
        ) as rows (version_id, chapter_id, version_number, created_at, word_count)
    """,
    "generations": """
        select * from (values
            (1, '2024-03-01 10:00:00+00'::timestamptz, 'model-a'),
            (1, '2024-03-01 12:00:00+00'::timestamptz, 'model-b'),
            (2, '2024-03-01 09:00:00+00'::timestamptz, 'model-c')
        ) as rows (chapter_id, landed_at, model)
    """,
    "spans": """
        select * from (values
            (1, '2024-01-01 00:00:00+00'::timestamptz),
            (2, 'infinity'::timestamptz),
            (3, '-infinity'::timestamptz),
            (4, null)
        ) as rows (span_id, ends_at)
    """,
}
DIALECT_CASES = [
    # arg_max skips rows whose argument is NULL (chapter 1's latest known count is version 3's), arg_max_null does not.
    (
        "select chapter_id, arg_max(word_count, (created_at, version_number)), arg_max_null(word_count, created_at),"
        " arg_min(word_count, version_number) from edges.versions group by chapter_id order by chapter_id",
        [(1, 140, None, 100), (2, None, None, None), (3, 7, 7, 7)],
    ),
    # Infinite timestamps compare, coalesce and least as in DuckDB; NULL is no infinity.
    (
        "select span_id, isinf(ends_at), ends_at < 'infinity'::timestamptz, ends_at > '-infinity'::timestamptz,"
        " coalesce(ends_at, 'infinity'::timestamptz) > '2024-06-01'::timestamptz,"
        " least(ends_at, '2024-06-01'::timestamptz) = '2024-06-01'::timestamptz"
        " from edges.spans order by span_id",
        [
            (1, False, True, True, False, False),
            (2, True, False, True, True, True),
            (3, True, True, False, False, False),
            (4, None, None, None, True, True),
        ],
    ),
    # date_diff counts the unit's boundaries crossed (Spark's counts whole units elapsed).
    (
        "select date_diff('second', '2024-03-01 10:00:00.9'::timestamptz, '2024-03-01 10:00:02.1'::timestamptz),"
        " date_diff('hour', '2024-03-01 10:59:59'::timestamptz, '2024-03-01 11:00:01'::timestamptz),"
        " date_diff('day', '2024-03-01 23:30:00'::timestamptz, '2024-03-02 00:10:00'::timestamptz),"
        " date_diff('month', '2024-01-31 12:00:00'::timestamptz, '2024-02-01 00:00:00'::timestamptz)",
        [(2, 1, 1, 1)],
    ),
    # to_days: whole UTC days.
    (
        "select epoch_us(created_at + to_days(2)) - epoch_us(created_at) from edges.versions where version_id = 1",
        [(2 * 86_400_000_000,)],
    ),
    # ASOF: the latest generation at or before each version (10:00 itself included); none before 10:00 on chapter
    # 1, none at all on chapter 3; the inner form drops those versions.
    (
        "select versions.version_id, generations.model from edges.versions asof left join edges.generations"
        " on generations.chapter_id = versions.chapter_id and generations.landed_at <= versions.created_at"
        " order by versions.version_id",
        [(1, None), (2, "model-a"), (3, "model-a"), (4, "model-b"), (5, None), (6, None)],
    ),
    (
        "select versions.version_id, generations.model from edges.versions asof join edges.generations"
        " on versions.chapter_id = generations.chapter_id and versions.created_at > generations.landed_at"
        " order by versions.version_id",
        [(3, "model-a"), (4, "model-b")],
    ),
]


def test_duckdb_constructs_mean_the_same_on_spark(spark, tmp_path):
    con = warehouse.connect(tmp_path / "dialect.duckdb")
    con.execute("create schema edges")
    spark.sql("create database if not exists edges")
    schema: dict[str, dict[str, dict[str, str]]] = {"edges": {}}
    for name, query in EDGES.items():
        con.execute(f"create table edges.{name} as {query}")
        path = tmp_path / f"{name}.parquet"
        con.execute(f"copy edges.{name} to '{path}' (format parquet)")
        types = dict(con.execute(f"select column_name, column_type from (describe edges.{name})").fetchall())
        schema["edges"][name] = types
        definition = ", ".join(f"`{column}` {spark_type(type_)}" for column, type_ in types.items())
        spark.sql(f"drop table if exists edges.{name}")
        spark.sql(f"create table edges.{name} ({definition}) using parquet location '{path}'")
    for query, expected in DIALECT_CASES:
        assert con.execute(query).fetchall() == expected, query
        assert [tuple(row) for row in spark.sql(to_spark(query, schema)).collect()] == expected, query
    con.close()


def test_spark_without_java_is_one_line_before_any_work(cli_env, tmp_path):
    env = {**cli_env, "JAVA_HOME": str(tmp_path / "no-java")}
    result = run_cli("etl", "run", "--engine", "spark", env=env, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: the Spark engine needs Java 17 or newer (no Java runtime found); on Debian run "
        "`apt-get install openjdk-17-jre-headless` (or set JAVA_HOME to a Java 17+ runtime)"
    )
    assert not Path(env["EBOOK_ANALYTICS_WAREHOUSE"]).exists()


def test_the_jvms_start_up_lines_go_to_its_log(spark, spark_log: Path) -> None:
    lines = spark_log.read_text().splitlines()
    assert re.fullmatch(r"--- \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ process \d+ starts Spark", lines[0])  # this start's
    assert "Using Spark's default log4j profile: org/apache/spark/log4j2-defaults.properties" in lines  # the JVM's


def test_output_of_what_starts_inside_goes_to_the_log(tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    log = tmp_path / "logs" / "spark.log"
    with output_to(log, "--- a start"):
        subprocess.run(["sh", "-c", "echo out; echo err >&2"], check=True)
    subprocess.run(["sh", "-c", "echo after; echo after >&2"], check=True)
    assert log.read_text() == "--- a start\nout\nerr\n"
    assert capfd.readouterr() == ("after\n", "after\n")


def test_a_full_log_is_copied_aside_and_emptied_at_the_next_start_replacing_the_one_before(tmp_path: Path) -> None:
    log, previous = tmp_path / "spark.log", tmp_path / "spark.log.1"
    previous.write_text("the oldest start\n")
    log.write_text("--- an earlier start\n")
    os.truncate(log, LOG_ROTATE_BYTES - 1)  # one byte short: appended to
    with output_to(log, "--- a start"):
        pass
    assert (log.stat().st_size, previous.read_text()) == (
        LOG_ROTATE_BYTES - 1 + len("--- a start\n"),
        "the oldest start\n",
    )
    with log.open("a") as jvm:  # an `--every` process's JVM, started once, still writing to the file it opened
        with output_to(log, "--- the next start"):
            subprocess.run(["echo", "out"], check=True)
        jvm.write("the JVM's next line\n")
    assert log.read_text() == "--- the next start\nout\nthe JVM's next line\n"
    assert previous.stat().st_size == LOG_ROTATE_BYTES + len("--- a start")
    assert previous.read_text().startswith("--- an earlier start\n")


def test_a_jvm_that_does_not_start_is_one_line_naming_its_log(cli_env):
    env = {**cli_env, "EBOOK_ANALYTICS_SPARK_DRIVER_MEMORY": "lots"}
    result = run_cli("etl", "run", "--engine", "spark", env=env, check=False)
    log = Path(env["EBOOK_ANALYTICS_WAREHOUSE"]).parent / "spark.log"
    (line,) = result.stderr.splitlines()
    assert result.returncode == 1
    assert line.startswith("error: Spark did not start (") and line.endswith(f"); its output is in {log}")
    assert "Invalid maximum heap size: -Xmxlots" in log.read_text()  # the JVM's own reason
    assert not Path(env["EBOOK_ANALYTICS_WAREHOUSE"]).exists()


def test_a_malformed_parallel_marts_setting_is_one_line_before_any_work(cli_env):
    env = {**cli_env, "EBOOK_ANALYTICS_SPARK_PARALLEL_MARTS": "0"}
    result = run_cli("etl", "run", "--engine", "spark", env=env, check=False)
    assert (result.returncode, result.stderr.splitlines()) == (
        1,
        [
            "error: EBOOK_ANALYTICS_SPARK_PARALLEL_MARTS is '0'; set it to a whole number of marts of at least 1"
            " (default 4)"
        ],
    )
    assert not Path(env["EBOOK_ANALYTICS_WAREHOUSE"]).exists()

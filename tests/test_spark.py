"""The Spark engine builds every mart exactly as DuckDB does, on the hand-made history of tests/marts_dataset.py.

DuckDB's marts come from the real `etl run`; Spark's from the transform on a copy of that published file (its staged
tables, the same snapshot parameters), in one local Spark session for the whole test session. Each mart is then
compared both ways with EXCEPT ALL (duplicates count; DECIMAL money compares exactly) and by its column types.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from pipelines.errors import UserError
from pipelines.run.etl import model_parameters
from pipelines.transform.runner import load_models
from pipelines.transform.spark import check_prerequisites, run_models_on_spark, spark_session
from tests.conftest import run_cli

# On a few dozen rows, compiling code per stage and re-planning between stages cost more than they save; one shuffle
# partition instead of one per core. The results do not depend on any of these.
SMALL_DATA = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole test session (starting the JVM is most of the cost)."""
    try:
        check_prerequisites()
    except UserError as exc:  # tests/run.sh installs Java; only a failed installation gets here
        pytest.skip(f"Spark cannot start here: {exc}")
    with spark_session(SMALL_DATA) as session:
        yield session


@pytest.fixture(scope="module")
def both(published_dataset, tmp_path_factory, spark) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the Spark-built copy, with DuckDB's published warehouse attached as `duck`."""
    directory = tmp_path_factory.mktemp("spark")
    env = published_dataset
    published = Path(env["EBOOK_ANALYTICS_WAREHOUSE"])
    copy = directory / "spark.duckdb"
    shutil.copy(published, copy)
    con = warehouse.connect(copy)
    snapshot_at = con.execute("select snapshot_at from meta.publication").fetchone()[0]
    run_models_on_spark(con, model_parameters(snapshot_at), spark)
    con.execute(f"attach '{published}' as duck (read_only)")
    yield con
    con.close()


def columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = $database and table_schema = 'marts' and table_name = $table"
        " order by ordinal_position",
        {"database": database, "table": table},
    ).fetchall()


def marts(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    query = (
        "select table_name from information_schema.tables where table_catalog = $database and table_schema = 'marts'"
    )
    return sorted(name for (name,) in con.execute(query, {"database": database}).fetchall())


def test_spark_builds_every_mart(both):
    models = sorted(model.name for model in load_models())
    assert marts(both, "duck") == models
    assert marts(both, "spark") == models


@pytest.mark.parametrize("mart", sorted(model.name for model in load_models()))
def test_spark_mart_equals_duckdb(both, mart):
    assert columns(both, "spark", mart) == columns(both, "duck", mart)
    spark_rows, duck_rows = (
        both.execute(f"select count(*) from {db}.marts.{mart}").fetchone()[0] for db in ("spark", "duck")
    )
    only_duckdb = both.execute(
        f"select * from duck.marts.{mart} except all select * from spark.marts.{mart}"
    ).fetchall()
    only_spark = both.execute(f"select * from spark.marts.{mart} except all select * from duck.marts.{mart}").fetchall()
    assert (only_duckdb, only_spark) == ([], [])
    assert spark_rows == duck_rows


def test_a_mart_that_differs_is_caught(both):
    """The comparison itself can fail: one cent more on one statement is one row in each direction."""
    one_cent_more = (
        "select * replace (author_revenue + case when revenue_share_id = (select min(revenue_share_id)"
        " from spark.marts.revenue_share_statements) then 0.01 else 0 end as author_revenue)"
        " from spark.marts.revenue_share_statements"
    )
    for query in (
        f"select * from ({one_cent_more}) except all select * from duck.marts.revenue_share_statements",
        f"select * from duck.marts.revenue_share_statements except all select * from ({one_cent_more})",
    ):
        assert len(both.execute(query).fetchall()) == 1


def test_spark_without_java_is_one_line_before_any_work(cli_env, tmp_path):
    env = {**cli_env, "JAVA_HOME": str(tmp_path / "no-java")}
    result = run_cli("etl", "run", "--engine", "spark", env=env, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: the Spark engine needs Java 17 or newer (no Java runtime found); on Debian run "
        "`apt-get install openjdk-17-jre-headless` (or set JAVA_HOME to a Java 17+ runtime)"
    )
    assert not Path(env["EBOOK_ANALYTICS_WAREHOUSE"]).exists()

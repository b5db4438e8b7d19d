"""The transform step on Apache Spark: the same mart models, run by Spark SQL, loaded back into the build file.

1. The tables the marts read (`staging.*`, `history.*`, ...) go from the build file to Parquet.
2. Each model, in dependency order, is bound by DuckDB (no execution) for its output columns and types; then
   transpiled to Spark SQL (`spark_sql.to_spark`), run by Spark and written to Parquet, where the models after it
   read it: several at once (setting `spark_parallel_marts`), each once the marts it reads are written.
3. Each mart is loaded back into `marts.<name>` of the build file with DuckDB's own column types (DECIMAL exact),
   so checks, publish, dashboards and exports see the same warehouse whichever engine built it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.config import paths, setting, whole_number_setting
from pipelines.errors import UserError, first_line
from pipelines.transform.runner import Model, load_models

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MINIMUM_JAVA = 17
DEFAULT_MASTER = "local[*]"
DEFAULT_DRIVER_MEMORY = "2g"
DEFAULT_PARALLEL_MARTS = 4
SPARK_LOG = "spark.log"  # beside the warehouse: the JVM's output (spark_session)
# A log this large is copied to `<log>.1` (replacing the one before) and emptied when the next Spark starts: the two
# files stay bounded (a run adds ~10 lines; a crash report, a few hundred).
LOG_ROTATE_BYTES = 10 << 20
# DuckDB types Spark cannot read from Parquet travel as one it can (DuckDB casts them back on load): UUID, JSON,
# ENUM and TIME as text, HUGEINT as a 38-digit decimal.
_TRANSPORTED = {"UUID": "VARCHAR", "JSON": "VARCHAR", "ENUM": "VARCHAR", "TIME": "VARCHAR", "HUGEINT": "DECIMAL(38,0)"}


def _transported(duckdb_type: str) -> str | None:
    return _TRANSPORTED.get(duckdb_type.split("(")[0].strip())


_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def check_prerequisites() -> None:
    """Before any work: pyspark and sqlglot importable, a Java runtime Spark accepts, and the settings read later."""
    missing = [name for name in ("pyspark", "sqlglot") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(
            f"the Spark engine needs {' and '.join(missing)}, not installed; "
            "run `pip install 'ebook-analytics[spark]'` (or use --engine duckdb)"
        )
    found = java_version()
    if found is None or found < MINIMUM_JAVA:
        what = "no Java runtime found" if found is None else f"Java {found} found"
        raise UserError(
            f"the Spark engine needs Java {MINIMUM_JAVA} or newer ({what}); on Debian run "
            "`apt-get install openjdk-17-jre-headless` (or set JAVA_HOME to a Java 17+ runtime)"
        )
    parallel_marts()  # (read once the tables are exported: a malformed setting is a one-line error before any work)


def java_version() -> int | None:
    """The major version of the Java that Spark will start ($JAVA_HOME/bin/java, else `java` on the PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java:
        return None
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    match = _JAVA_VERSION.search(result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


@contextmanager
def spark_session(conf: dict[str, str] | None = None, log: Path | None = None) -> Iterator[SparkSession]:
    """A Spark session (master from EBOOK_ANALYTICS_SPARK_MASTER; `conf` on top of ours), stopped afterwards.

    The JVM's own output (its start-up lines, Spark's log, a crash report) is appended to `log`, default `spark.log`
    beside the warehouse, not printed: the command's output stays its own, and a JVM that does not start is one line
    naming that file. (A JVM this process started before, for an earlier session, keeps writing where it did.)"""
    if log is None:
        log = paths().warehouse_dir / SPARK_LOG
    master = setting("spark_master", DEFAULT_MASTER) or DEFAULT_MASTER
    with output_to(log, f"--- {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} process {os.getpid()} starts Spark"):
        try:
            session = _new_session(master, conf or {})
        except _spark_errors() as exc:  # the JVM did not start, or refused a setting: its reason is in the log
            raise UserError(f"Spark did not start ({first_line(exc)}); its output is in {log}") from exc
    try:
        yield session
    finally:
        session.stop()


def _spark_errors() -> tuple[type[Exception], ...]:
    """What PySpark raises when the JVM does not start or refuses the session (imported with pyspark, as needed)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


@contextmanager
def output_to(log: Path, heading: str) -> Iterator[None]:
    """This process's standard output and error (file descriptors 1 and 2) appended to `log` for the block, after a
    line `heading` (each start's lines findable in a file that keeps growing): the processes started in the block
    (Spark's JVM) keep writing there for their lifetime. The process's own threads write there too meanwhile.

    A `log` of `LOG_ROTATE_BYTES` or more is first copied to `<log>.1`, replacing the one before, and emptied: a
    JVM still writing to it (an `--every` process's, started once) appends at its new end, so both stay bounded."""
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists() and log.stat().st_size >= LOG_ROTATE_BYTES:
        shutil.copyfile(log, log.with_name(f"{log.name}.1"))
        os.truncate(log, 0)
    sys.stdout.flush()
    sys.stderr.flush()
    kept = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        with log.open("ab") as appended:
            appended.write(f"{heading}\n".encode())
            appended.flush()
            for fd in kept:
                os.dup2(appended.fileno(), fd)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in kept.items():
            os.dup2(copy, fd)
            os.close(copy)


def _new_session(master: str, conf: dict[str, str]) -> SparkSession:
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("ebook-analytics transform")
        .config("spark.sql.session.timeZone", "UTC")  # days are UTC calendar days, as in DuckDB
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", setting("spark_driver_memory", DEFAULT_DRIVER_MEMORY))
    )
    if master.startswith("local"):
        # 200 shuffle partitions (the cluster default) are 200 tiny tasks per stage on one machine.
        builder = builder.config("spark.sql.shuffle.partitions", str(2 * (os.cpu_count() or 1)))
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_models_on_spark(
    con: duckdb.DuckDBPyConnection, params: dict[str, object], session: SparkSession | None = None
) -> dict[str, float]:
    """Build every mart on Spark into `marts.*` of `con`'s database; returns seconds per model.

    Work files go to a temporary folder beside the database, or under EBOOK_ANALYTICS_SPARK_WORK_DIR, removed
    afterwards. Without `session`, one is started for this transform and stopped after it.
    """
    database = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    # On a cluster the executors must read what the driver wrote: EBOOK_ANALYTICS_SPARK_WORK_DIR on shared storage.
    configured = setting("spark_work_dir")
    parent = Path(configured) if configured else Path(database[0]).parent if database and database[0] else None
    with tempfile.TemporaryDirectory(prefix="spark-", dir=parent) as work:
        if session is not None:
            return _run(con, params, session, Path(work))
        with spark_session() as started:
            return _run(con, params, started, Path(work))


def _run(
    con: duckdb.DuckDBPyConnection, params: dict[str, object], session: SparkSession, work: Path
) -> dict[str, float]:
    from pipelines.transform.spark_sql import to_spark

    models = load_models()
    con.execute("create schema if not exists marts")
    schema: dict[str, dict[str, dict[str, str]]] = {}
    tables = _tables_read(models)
    for schema_name in {table[0] for table in tables} | {"marts"}:
        # A location inside the work folder: Spark's default would leave `spark-warehouse/` in the user's directory.
        session.sql(f"create database if not exists {schema_name} location '{(work / schema_name).as_uri()}'")
    for table in tables:
        schema.setdefault(table[0], {})[table[1]] = _export(con, session, table, work)
    # DuckDB's part, in dependency order: each mart's columns and types, an empty table of them. The bound models
    # are Spark's to run (the refresh window unbounded: Spark builds every day).
    bound = {model.name: model.bind(params) for model in models}
    marts = schema.setdefault("marts", {})
    for model in models:
        marts[model.name] = _create_empty_mart(con, model, bound[model.name])

    def build(model: Model) -> float:
        started = time.perf_counter()
        output = work / "marts" / model.name
        result = session.sql(to_spark(model.sql, schema), args=bound[model.name])
        result.write.parquet(str(output))
        spark_columns = {field.name: field.dataType.simpleString() for field in result.schema.fields}
        _register(session, f"marts.{model.name}", spark_columns, output)
        return time.perf_counter() - started

    timings = build_each_after_its_inputs(models, build, parallel_marts())
    for model in models:
        started = time.perf_counter()
        output = work / "marts" / model.name
        con.execute(f"insert into marts.{model.name} select * from read_parquet('{output}/*.parquet')")
        timings[model.name] += time.perf_counter() - started
    return timings


def parallel_marts() -> int:
    """How many marts Spark builds at once (setting `spark_parallel_marts`): a small mart's job is mostly the
    driver's planning and the round trips to it, which overlap."""
    return whole_number_setting("spark_parallel_marts", DEFAULT_PARALLEL_MARTS, "marts", minimum=1)


def build_each_after_its_inputs(
    models: list[Model], build: Callable[[Model], float], parallel: int
) -> dict[str, float]:
    """`build` each model on up to `parallel` threads, each once every mart it reads is built, in the models'
    order among those ready; returns what each returned. The first failure is raised once the builds under way end."""
    names = {model.name for model in models}
    needs = {model.name: model.depends_on & names for model in models}  # as `load_models` orders them
    waiting = list(models)
    built: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="spark-mart") as pool:
        running: dict[Future[float], str] = {}
        while waiting or running:
            for model in [model for model in waiting if needs[model.name] <= built.keys()]:
                if len(running) == parallel:
                    break
                waiting.remove(model)
                running[pool.submit(build, model)] = model.name
            assert running, "load_models orders every mart after the marts it reads"
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                built[running.pop(future)] = future.result()
    return built


def _tables_read(models: list[Model]) -> list[tuple[str, str]]:
    """(schema, table) of every table the models read that is not a mart."""
    import sqlglot
    from sqlglot import exp

    tables: set[tuple[str, str]] = set()
    for model in models:
        for table in sqlglot.parse_one(model.sql, read="duckdb").find_all(exp.Table):
            if table.db and table.db != "marts":
                tables.add((table.db, table.name))
    return sorted(tables)


def _export(
    con: duckdb.DuckDBPyConnection, session: SparkSession, table: tuple[str, str], work: Path
) -> dict[str, str]:
    """One table to Parquet, registered in Spark's catalog under the same name; returns its DuckDB columns."""
    from pipelines.transform.spark_sql import spark_type

    schema_name, name = table
    columns = _columns(con, f"select * from {schema_name}.{name}")
    transported = {column: _transported(type_) or type_ for column, type_ in columns.items()}
    selected = ", ".join(
        f'"{column}"::{transported[column]} as "{column}"' if transported[column] != type_ else f'"{column}"'
        for column, type_ in columns.items()
    )
    path = work / schema_name / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy (select {selected} from {schema_name}.{name}) to '{path}' (format parquet)")
    spark_columns = {column: spark_type(type_) for column, type_ in transported.items()}
    _register(session, f"{schema_name}.{name}", spark_columns, path)
    return columns


def _register(session: SparkSession, table: str, columns: dict[str, str], path: Path) -> None:
    """A Parquet file or folder as a table of Spark's catalog; its columns given, so Spark need not read footers."""
    definition = ", ".join(f"`{column}` {type_}" for column, type_ in columns.items())
    session.sql(f"drop table if exists {table}")  # from an earlier transform in the same session
    session.sql(f"create table {table} ({definition}) using parquet location '{path}'")


def _columns(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, object] | None = None) -> dict[str, str]:
    """Output columns and DuckDB types of a query, from binding it (nothing runs)."""
    relation = con.sql(query, params=params) if params else con.sql(query)
    return {column: str(type_) for column, type_ in zip(relation.columns, relation.types, strict=True)}


def _create_empty_mart(con: duckdb.DuckDBPyConnection, model: Model, bound: dict[str, object]) -> dict[str, str]:
    """`marts.<model>` with the columns and types DuckDB gives the model, empty; returns the columns."""
    columns = _columns(con, model.sql.strip().rstrip(";"), bound)
    definition = ", ".join(f'"{column}" {type_}' for column, type_ in columns.items())
    con.execute(f"create or replace table marts.{model.name} ({definition})")
    return columns

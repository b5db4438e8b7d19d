"""One ETL run, start to end: extract -> transform -> check -> publish, the write-back beside it (committed once the
publication is).

Nothing touches the published warehouse until the checks ran: the run builds in its working file and publishes the
difference as one DuckLake snapshot (`pipelines.publish.lake`). A failed
error-level check holds back only the marts built from the failing table (they keep their previous publication,
status `partial`); when it reaches every mart nothing is published (`blocked`). Every run that got the lock is
appended to the run history, whatever its outcome.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import psycopg
import pyarrow as pa

from pipelines import warehouse
from pipelines.close import load_into
from pipelines.config import paths, setting, whole_number_setting
from pipelines.connections import connect, redact, rollup_url, source_url
from pipelines.days import utc_day
from pipelines.errors import UserError, first_line
from pipelines.extract import capture
from pipelines.extract.extract import Extraction, capture_ready, extract, prepare
from pipelines.extract.postgres import SOURCE_ALIAS, attach_source
from pipelines.extract.tables import SourceTable, load_tables
from pipelines.fingerprints import Fingerprint, after_change_set, row_count
from pipelines.publish import history, lake
from pipelines.publish.held_back import keep_previous
from pipelines.publish.lake import move_aside, published_exists
from pipelines.publish.lock import etl_lock
from pipelines.publish.writeback import (
    PublicationOutcome,
    WriteBackCounts,
    metric_rows,
    read_changed_chapters,
    write_back,
)
from pipelines.queries import registered, sql_file
from pipelines.run import hooks
from pipelines.transform import changes
from pipelines.transform.history import carry_over, history_tables_of, touched_rows, update_history
from pipelines.transform.lineage import WRITEBACK, lineage
from pipelines.transform.runner import Refreshed, mapped_inputs, run_models
from pipelines.transform.spark import check_prerequisites as check_spark_prerequisites
from pipelines.transform.spark import run_models_on_spark

if TYPE_CHECKING:
    from pipelines.quality.gate import CheckResult
    from pipelines.quality.reuse import Changes

EXIT_BLOCKED = 2  # blocked, or partial: something was held back
PUBLISHED = ("published", "partial")  # the statuses of a run whose build became the live warehouse
# The content-statistics watermark, in the data folder: the warehouse folder holds only the warehouse, its history
# and its lock.
WRITEBACK_STATE = "writeback_state.json"
# An incremental run writes a small share of the working file, and DuckDB checkpointed it every 16 MB of log by
# default: a dozen times a run, each rewriting what the big tables' changes touched (medium, a day, quiet machine:
# transform 6.7-7.1 -> 4.6-6.2 s). It checkpoints once, when it ends; a full run, which writes the whole file, keeps
# DuckDB's default.
INCREMENTAL_CHECKPOINT_THRESHOLD = "1GB"
# ChartMogul's default: a customer who resubscribes within 14 days of cancelling never churned.
DEFAULT_RESUBSCRIBE_WINDOW_DAYS = 14
# meta.check_results' columns, for handing a run's results to DuckDB in one piece
CHECK_RESULT_ROWS = pa.schema(
    [
        ("run_id", pa.string()),
        ("name", pa.string()),
        ("severity", pa.string()),
        ("success", pa.bool_()),
        ("unexpected_count", pa.int64()),
        ("table_name", pa.string()),
        ("sample_ids", pa.list_(pa.string())),
        ("inputs", pa.string()),
        ("checked_at", pa.timestamp("us", tz="UTC")),
        ("scope", pa.string()),
        ("rows_checked", pa.int64()),
        ("element_count", pa.int64()),
    ]
)


@dataclass(frozen=True)
class RunOptions:
    full: bool = False  # rebuild every table from scratch instead of starting from the published file
    rebuild: bool = False  # with full: set an unusable file at the warehouse path aside instead of refusing
    redact_pii: bool = False  # leave out the tables marked `pii: true`
    wait: bool = False  # wait for a running ETL instead of refusing
    engine: str = "duckdb"  # what runs the mart SQL: duckdb, or spark (pipelines/transform/spark.py)


@dataclass
class RunRecord:
    """What `runs.jsonl` keeps of a run (docs/architecture.md, "Run history")."""

    run_id: str
    started_at: datetime
    mode: str
    status: str = "failed"
    finished_at: datetime | None = None
    snapshot_at: datetime | None = None
    tables: dict[str, dict[str, int | str]] = field(default_factory=dict)
    # How the source was read: method logical (a replication slot) or xmin, the slot, and why not / why a full
    # snapshot when that was not the plan (docs/etl.md, "Change capture").
    capture: dict[str, object] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    # Marts a failed error-level check held back (they keep their previous publication), each with those checks;
    # and the checks that held back the project-metrics write-back (docs/quality.md, "The gate").
    held_back: dict[str, list[str]] = field(default_factory=dict)
    writeback_held_back: list[str] = field(default_factory=list)
    # How the transform refreshed each mart: built, whole, day or month (with the periods), key (with how many keys),
    # skipped
    # (docs/etl.md, "Incremental marts").
    marts: dict[str, dict[str, object]] = field(default_factory=dict)
    # The history tables the run extended, with the versions each opened: an incremental run extends only those a
    # changed staged table reaches.
    history: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    # The DuckLake snapshot this run published (`runs` lists it; `--as-of` addresses it), how many tables it wrote, and
    # which it wrote from change sets and which it compared whole.
    publication: dict[str, Any] | None = None
    publication_maintenance: dict[str, int] = field(default_factory=dict)
    # The alerts step (docs/alerts.md): fired, resolved, open, errors per rule, delivery problems; `error` when
    # it could not run at all. Never a reason to undo the publication.
    alerts: dict[str, Any] = field(default_factory=dict)
    writeback: WriteBackCounts | None = None  # for the summary line; not part of the history record

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            # A step may come in parts (extract: copying the live file, then reading the source); they add up.
            self.steps[name] = round(self.steps.get(name, 0) + time.perf_counter() - started, 3)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status,
            "mode": self.mode,
            "snapshot_at": self.snapshot_at.isoformat() if self.snapshot_at else None,
            "tables": self.tables,
            "capture": self.capture,
            "steps": self.steps,
            "checks": self.checks,
            "held_back": self.held_back,
            "writeback_held_back": self.writeback_held_back,
            "marts": self.marts,
            "history": self.history,
            "error": self.error,
            "alerts": self.alerts,
            "publication": self.publication,
        }

    @property
    def failed_errors(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c["severity"] == "error" and not c["success"]]


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique even for two runs in the same second."""
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_etl(options: RunOptions) -> RunRecord:
    """Run the ETL once under the lock; the returned record has status published, partial or blocked (failures
    raise)."""
    if options.rebuild and not options.full:
        raise UserError("--rebuild builds a fresh warehouse; use it together with --full")
    if options.engine == "spark":
        check_spark_prerequisites()  # before the lock and any reading: a missing Java is a one-line error
    lake.retention_days()  # read at the publish: a malformed setting is a one-line error before any work
    capture.setting_value()  # likewise at the extract
    live = paths().warehouse
    _ensure_directory(live.parent)
    with etl_lock(live.parent, wait=options.wait):
        now = datetime.now(UTC)
        record = RunRecord(run_id=new_run_id(now), started_at=now, mode="full" if options.full else "incremental")
        try:
            with _run_locked(record, options, live) as work:
                _alerts(record, live, work)
        except BaseException as exc:
            if record.status not in PUBLISHED:  # a failed write-back does not unpublish the warehouse
                record.status = "failed"
            record.error = first_line(exc)
            raise
        finally:
            record.finished_at = datetime.now(UTC)
            _remember(record)
    return record


def _alerts(record: RunRecord, live: Path, work: duckdb.DuckDBPyConnection | None) -> None:
    """After a publication (or a run held back, on the last published data): evaluate the alert rules and deliver
    what fired. A failure is recorded in the run and printed as a warning; the publication stands.

    `work`: the run's working file when it equals the publication just made; the rules read it rather than attach
    the lake again (loading its extensions and scanning tables through the catalog costs most of the step)."""
    if work is None and not published_exists(live):
        return  # nothing published yet: nothing to evaluate
    from pipelines.alerts.run import alert_step
    from pipelines.alerts.state import state_path

    with record.step("alerts"):
        try:
            with _evaluated_on(live, work) as con:
                record.alerts = alert_step(
                    con,
                    state=state_path(),
                    run_id=record.run_id,
                    runs=lambda: chain([record.as_dict()], history.runs_newest_first(paths().run_history)),
                    now=datetime.now(UTC),
                    jobs_url=rollup_url(),
                    webhook=setting("alerts_webhook_url"),
                )
        except (UserError, OSError, sqlite3.Error, duckdb.Error) as exc:
            record.alerts = {"error": first_line(exc)}
    problems = [record.alerts["error"]] if "error" in record.alerts else record.alerts.get("delivery", [])
    problems += [f"rule {name}: {why}" for name, why in record.alerts.get("errors", {}).items()]
    for problem in problems:
        print(f"warning: alerts: {problem}", file=sys.stderr)


def _evaluated_on(
    live: Path, work: duckdb.DuckDBPyConnection | None
) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """What the alerts read: the working file equal to the publication (left open), else the last publication."""
    return nullcontext(work) if work is not None else warehouse.connect(live, read_only=True)


def _remember(record: RunRecord) -> None:
    """Append the run to the history; a full disk must not hide the run's own error behind this one."""
    try:
        history.append_run(paths().run_history, record.as_dict())
    except OSError as exc:
        print(
            f"warning: run {record.run_id} could not be recorded in {paths().run_history}: {exc.strerror}",
            file=sys.stderr,
        )


def _ensure_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the warehouse directory {directory}: {exc.strerror}; "
            "set EBOOK_ANALYTICS_WAREHOUSE to a writable path"
        ) from exc


@contextmanager
def _run_locked(record: RunRecord, options: RunOptions, live: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """Extract, transform, check, publish and write back; yields the working file's connection when the run
    published (the file then equals the publication: the write-back and the alerts read it instead of opening the
    publication again), None when the checks blocked it. The connection closes when the block ends."""
    published = lake.at(live)
    usable = _live_is_usable(live, rebuild=options.rebuild)
    incremental = usable and not options.full
    record.mode = "incremental" if incremental else "full"
    url = source_url()
    tables = [table for table in load_tables() if not (options.redact_pii and table.pii)]
    _check_source_schema(url, tables)

    work = lake.work_file()
    limits = _Limits(memory=warehouse.work_memory_limit(), spill=warehouse.work_spill_limit(work.parent))
    with _building(live, limits):
        con = _open_work(work, published, limits, usable=usable, full=record.mode == "full")
    with closing(con):
        with _building(live, limits):
            built = _build(
                record,
                con,
                url,
                tables,
                redacted=options.redact_pii,
                published=published,
                usable=usable,
                engine=options.engine,
            )
        if built is None:
            yield None
            return
        extraction, writing_back = built
        record.status = "partial" if record.held_back or record.writeback_held_back else "published"
        confirmed = False
        try:
            # (published already: a failed checkpoint leaves its changes in the working file's log, which the next
            # run's open replays)
            checkpoint_outcome = f"run {record.run_id} is published; only the working file's checkpoint failed"
            hooks.reached("checkpoint")
            # The working file's one checkpoint is written while the slot moves on and the write-back commits (the
            # write-back step's second part).
            with (
                _building(live, limits, outcome=checkpoint_outcome),
                record.step("writeback"),
                warehouse.checkpointing(con),
            ):
                _confirm_capture(url, extraction, live)
                confirmed = True
                record.writeback = writing_back.result()
        finally:
            writing_back.end()
            if not confirmed:
                _confirm_capture(url, extraction, live)
        yield con


@dataclass(frozen=True)
class _Limits:
    """What a build may use: DuckDB's memory (setting `etl_memory_limit`) and its spill beyond (`etl_spill_limit`)."""

    memory: str
    spill: str


@contextmanager
def _building(live: Path, limits: _Limits, *, outcome: str = "the live warehouse is unchanged") -> Iterator[None]:
    """A full disk, an unwritable folder or a build beyond its `limits` is the user's to fix: one line saying so,
    and what it left (`outcome`: before the publication, the live warehouse as it was)."""
    try:
        yield
    except (OSError, duckdb.IOException, duckdb.FatalException) as exc:  # fatal: a checkpoint that could not write
        why = exc.strerror if isinstance(exc, OSError) else first_line(exc)
        raise UserError(
            f"cannot write the warehouse in {live.parent}: {why}; free disk space or fix its permissions ({outcome})"
        ) from exc
    except duckdb.OutOfMemoryException as exc:
        raise UserError(
            f"the run needs more than etl_memory_limit {limits.memory} and etl_spill_limit {limits.spill} (spill in "
            f"{live.parent}): {first_line(exc)}; raise "
            f"EBOOK_ANALYTICS_ETL_MEMORY_LIMIT or EBOOK_ANALYTICS_ETL_SPILL_LIMIT, or free disk space ({outcome})"
        ) from exc


def _live_is_usable(live: Path, *, rebuild: bool) -> bool:
    """Whether a published warehouse is there to build on; with rebuild, an unusable one is set aside."""
    try:
        return published_exists(live)
    except UserError:
        if not rebuild:
            raise
        move_aside(live)
        return False


def _open_work(
    work: Path, published: lake.Lake, limits: _Limits, *, usable: bool, full: bool
) -> duckdb.DuckDBPyConnection:
    """The working file, equal to the last publication (restored from the lake when a run left it dirty), or a
    fresh file for a full run (which keeps what the old file knew of the lake, `_Carried`)."""
    carried = _Carried()
    if full:
        carried = _carried(work, published) if usable else carried
        for stale in (work, work.with_name(work.name + ".wal")):
            stale.unlink(missing_ok=True)
    try:
        con = warehouse.connect(work, memory_limit=limits.memory, spill_limit=limits.spill)
    except UserError:  # an unreadable working file: it is only a cache of the lake
        for stale in (work, work.with_name(work.name + ".wal")):
            stale.unlink(missing_ok=True)
        con = warehouse.connect(work, memory_limit=limits.memory, spill_limit=limits.spill)
    try:
        if not full:
            con.execute(f"set checkpoint_threshold = '{INCREMENTAL_CHECKPOINT_THRESHOLD}'")
        if usable and not full:
            last = lake.latest(published)
            assert last is not None  # usable: there is a publication
            snapshot_id, dirty = lake.work_state(con)
            if dirty or snapshot_id != last.snapshot_id:
                with lake.attached(con, published, read_only=True):
                    lake.restore(con, last)
        if carried.fingerprints:
            lake.keep_fingerprints(con, carried.fingerprints)
        if carried.maintained_at is not None:
            lake.maintained(con, carried.maintained_at)
        # From here until it is published the file differs from the lake: a run that stops leaves it dirty.
        lake.mark(con, snapshot_id=lake.work_state(con)[0], dirty=True)
    except BaseException:
        con.close()
        raise
    return con


@dataclass(frozen=True)
class _Carried:
    """What the working file a full run replaces knew of the lake, for the fresh one: the fingerprints of the latest
    publication's tables, when the file still equals it (clean, same snapshot), so the publish reads in the lake only
    the tables whose rows changed instead of comparing every one there (a lake scan each); and when retention and
    compaction last ran, so a full run does not redo them within the interval."""

    fingerprints: dict[tuple[str, str], Fingerprint] = field(default_factory=dict)
    maintained_at: datetime | None = None


def _carried(work: Path, published: lake.Lake) -> _Carried:
    """`_Carried` from the working file at `work`; nothing when it is missing or unreadable (it is only a cache)."""
    last = lake.latest(published)
    if last is None or not work.is_file():
        return _Carried()
    try:
        with closing(warehouse.connect(work, read_only=True)) as old:
            maintained_at = lake.last_maintained(old)
            in_sync = lake.stored_work_state(old) == (last.snapshot_id, False)
            return _Carried(lake.stored_fingerprints(old) if in_sync else {}, maintained_at)
    except (UserError, duckdb.Error):
        return _Carried()


def _check_source_schema(url: str, tables: list[SourceTable]) -> None:
    """Fail early, with the fix, when the source is unreachable or lacks the platform schema."""
    with connect(url) as conn:
        missing = conn.execute(
            "select name from unnest(%s::text[]) as name where to_regclass(name) is null",
            (sorted({table.source for table in tables}),),
        ).fetchall()
    if missing:
        names = ", ".join(name for (name,) in missing)
        raise UserError(f"the source database at {redact(url)} has no table {names}; run `ebook-analytics source init`")


class _WriteBack:
    """The write-back on a thread of its own, beside the publish: it waits on the source and counts words in Python
    while DuckDB publishes without the GIL (a day at `large`: 1.3 s of its 1.5). Its transaction commits only once
    the publication has (`published`); a publish that fails rolls it back (`abandon`)."""

    def __init__(self, run_id: str, write: Callable[..., WriteBackCounts]) -> None:
        """`write`: `write_back` with its arguments but `before_commit`."""
        self._run_id = run_id
        self._publication = PublicationOutcome()
        self._outcome: WriteBackCounts | BaseException | None = None
        self._thread = threading.Thread(target=self._write, args=(write,), name="writeback")
        self._thread.start()

    def _write(self, write: Callable[..., WriteBackCounts]) -> None:
        try:
            self._outcome = write(before_commit=self._publication.wait)
        except BaseException as exc:  # raised on the run's thread by `result`
            self._outcome = exc

    def published(self) -> None:
        self._publication.committed()

    def abandon(self) -> None:
        """The publish failed: the write-back rolls back; wait for it to end."""
        self._publication.failed()
        self.end()

    def end(self) -> None:
        self._thread.join()

    def result(self) -> WriteBackCounts:
        """What the write-back wrote, once it has ended; a one-line error saying the run is published if it failed."""
        self.end()
        outcome = self._outcome
        if isinstance(outcome, UserError | OSError):  # its state file's disk full, say: not the working file's
            why = outcome if isinstance(outcome, UserError) else first_line(outcome)
            raise UserError(f"run {self._run_id} was published, but its write-back failed: {why}") from outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome


def _start_write_back(record: RunRecord, con: duckdb.DuckDBPyConnection, url: str) -> _WriteBack:
    """Read what the write-back sends from the working file (now what the run publishes), then start it."""
    assert record.snapshot_at is not None  # the extract of a published run set it
    rollup = rollup_url()
    # The change set describes the database the run extracted: only there does it name the stale content statistics.
    same = record.mode == "incremental" and rollup == url
    with record.step("writeback"):  # the working file's reads; the source's writes run beside the publish
        metrics = None if record.writeback_held_back else metric_rows(con, record.snapshot_at)
        changed_chapters = read_changed_chapters(con) if same else None
    write = partial(
        write_back,
        metrics,
        rollup,
        snapshot_at=record.snapshot_at,
        state_path=paths().home / WRITEBACK_STATE,
        send_all=record.mode == "full",
        changed_chapters=changed_chapters,
    )
    return _WriteBack(record.run_id, write)


def _confirm_capture(url: str, extraction: Extraction, live: Path) -> None:
    """Published: the slot moves on. If that fails the next run skips what is already staged, so only warn."""
    try:
        capture.confirm(url, extraction.slot, warehouse=live)
    except (UserError, psycopg.Error) as exc:
        print(f"warning: replication slots not advanced or dropped: {first_line(exc)}", file=sys.stderr)


def _build(
    record: RunRecord,
    con: duckdb.DuckDBPyConnection,
    url: str,
    tables: list[SourceTable],
    *,
    redacted: bool,
    published: lake.Lake,
    usable: bool,
    engine: str,
) -> tuple[Extraction, _WriteBack] | None:
    """Extract, transform, check and publish in the working file (`con`, from `_open_work`), the write-back beside
    the publish; the extraction and the write-back when it was published, None when the checks blocked it.

    `usable`: the lake holds a publication, whose history a full run carries over and whose marts the held-back
    marts keep.
    """
    # Imported here: Great Expectations takes seconds to import, and a run refused by the lock should not wait.
    from pipelines.quality import reuse, totals
    from pipelines.quality.gate import held_back, run_checks

    live = paths().warehouse
    created: str | None = None
    try:
        prepare(con, tables)
        with record.step("extract"):
            position, why_full = capture_ready(con, tables)
            plan = capture.plan(url, tables, position, warehouse=live, full=record.mode == "full", why_full=why_full)
            created = plan.slot if plan.snapshot else None
            record.capture = {"method": "logical" if plan.logical else "xmin", "slot": plan.slot, "note": plan.note}
            attach_source(con, url)
            hooks.reached("extract")
            extraction = _extract(con, tables, plan, url)
        con.execute(f"detach {SOURCE_ALIAS}")
        if plan.incremental and extraction.slot is not None and plan.since_lsn is not None:
            record.capture["backlog_bytes"] = extraction.slot.lsn - plan.since_lsn
        record.snapshot_at = extraction.snapshot_at
        record.tables = {name: counts.as_dict() for name, counts in extraction.tables.items()}
        with record.step("history"):
            if usable and record.mode == "full":
                carried = lake.schema_tables(published, "history")
                with lake.attached(con, published, read_only=True):
                    carry_over(con, lake.LAKE_ALIAS, carried)
            elif not usable and (legacy := lake.legacy_warehouse(live)) is not None:
                # The first run after the upgrade to the lake: the source cannot give the history back.
                with lake.legacy_attached(con, legacy) as alias:
                    carried = history_tables_of(con, alias)
                    carry_over(con, alias, carried)
                print(f"carried {len(carried)} history table(s) over from the earlier warehouse file {legacy}")
            reached = _history_reached(con, record)
            touched = {} if reached is None else touched_rows(con, reached, _history_upstream())
            with nullcontext() if reached is None else changes.history_diff(con, reached, mapped_inputs(), touched):
                record.history = update_history(con, extraction.snapshot_at, reached, touched)
            # The month closes live beside the warehouse; the restatements mart compares against this copy.
            load_into(con)
        previous = history.last_published(paths().run_history)
        with record.step("transform"):
            hooks.reached("transform")
            change_set = _change_set(con, record, previous)
            if engine == "spark":
                run_models_on_spark(con, model_parameters(extraction.snapshot_at))
            else:
                refreshed: dict[str, Refreshed] = {}
                run_models(con, model_parameters(extraction.snapshot_at), change_set, refreshed)
                record.marts = {name: outcome.as_dict() for name, outcome in refreshed.items()}
        changed = None if change_set is None else changes.read(con)  # again: the transform recorded the marts' since
        published_prints = {} if changed is None else lake.published_fingerprints(con)
        taken = {} if changed is None else _known_since_published(con, published_prints, changed)
        check_totals: totals.Totals = {}
        with record.step("checks"):
            # The working file still holds the last publication's results: those of unchanged inputs are kept.
            results = run_checks(
                con,
                snapshot_at=extraction.snapshot_at,
                previous=previous,
                earlier=None if changed is None else reuse.recorded(con),
                changes=None if changed is None else _changes_since_published(published_prints, changed),
                taken=taken,
                kept_totals=check_totals,
            )
        record.checks = [result.as_dict() for result in results]
        held = held_back(results)
        record.writeback_held_back = held.pop(WRITEBACK, [])
        record.held_back = {name.removeprefix("marts."): checks for name, checks in held.items()}
        if len(record.held_back) == len(lineage().marts):  # nothing left to publish
            record.status = "blocked"
            _drop_created(url, created)
            return None
        if usable:
            with lake.attached(con, published, read_only=True):
                keep_previous(con, record.held_back, lake.LAKE_ALIAS)
        else:
            keep_previous(con, record.held_back, None)
        _write_publication(con, record, results, redacted=redacted)
        totals.keep(con, check_totals)
        writing_back = _start_write_back(record, con, url)
        try:
            with record.step("publish"), lake.attached(con, published):
                hooks.reached("publish")
                _maintain(con, record, published, first=not usable)
                # Held-back marts now hold the lake's rows, not the rows the checks fingerprinted.
                unchanged = {table: taken[table] for table in taken if f"{table[0]}.{table[1]}" not in held}
                written = lake.publish(
                    con, record.run_id, known=unchanged, before_commit=lambda: hooks.reached("commit")
                )
                record.publication = {
                    "snapshot_id": written.snapshot_id,
                    "tables_written": len(written.tables),
                    # The tables written from the run's change sets, and those compared whole with the lake's.
                    "by_change_set": sorted(t for t, how in written.methods.items() if how.startswith("change set")),
                    "compared": sorted(t for t, how in written.methods.items() if how == "diff"),
                    # Retention and compaction, when this run did them (at most hourly): how many of each.
                    **({"maintenance": record.publication_maintenance} if record.publication_maintenance else {}),
                }
        except BaseException:
            writing_back.abandon()
            raise
        writing_back.published()
    except BaseException:
        if record.publication is None:
            _drop_created(url, created)
        raise
    return extraction, writing_back


def _history_reached(con: duckdb.DuckDBPyConnection, record: RunRecord) -> set[str] | None:
    """The history tables an incremental run extends, and records the changes of for the marts
    (`changes.history_reached`); None in a full run, which extends them all and rebuilds every mart."""
    if record.mode != "incremental":
        return None
    return changes.history_reached(con, _history_upstream())


def _history_upstream() -> dict[str, set[str]]:
    """Each history table's staged tables (transitively)."""
    graph = lineage()
    return {name: graph.upstream(name) for name in graph.reads if name.startswith("history.")}


def _change_set(
    con: duckdb.DuckDBPyConnection, record: RunRecord, previous: dict[str, Any] | None
) -> changes.ChangeSet | None:
    """What an incremental run changed, for the marts to refresh only that and the checks to check only that; None
    (rebuild every mart, run every check) in a full run. Marts the last publication (`previous`) held back kept
    older rows than their inputs: they are rebuilt whole."""
    if record.mode != "incremental":
        return None
    for mart in (previous or {}).get("held_back", {}):
        changes.everything(con, f"marts.{mart}")
    return changes.read(con)


def _changes_since_published(published: dict[tuple[str, str], Fingerprint], changed: changes.ChangeSet) -> Changes:
    """What this run changed since the publication in the working file (`published`: its tables' fingerprints then):
    for the checks of changed rows."""
    from pipelines.quality.reuse import Changes  # with Great Expectations, imported once the checks run

    names = (name.partition(".") for name in changed.rows - changed.everything)
    return Changes(published, frozenset((schema, table) for schema, _, table in names))


def _known_since_published(
    con: duckdb.DuckDBPyConnection, published: dict[tuple[str, str], Fingerprint], changed: changes.ChangeSet
) -> dict[tuple[str, str], Fingerprint]:
    """The fingerprints of the house tables as they are now, known without scanning them (the checks and the publish
    scan the others: several seconds for the largest at `large`). The working file started equal to the publication
    (`published`: its tables' fingerprints then, kept by a restore too) and every write of a run to
    the house schemas is in its change sets (the marts refresh by them): a table the run left alone keeps its
    published fingerprint, and one whose changed rows it recorded has the published one changed by them
    (`after_change_set`), taken when its row count agrees (a count is free): a change set missing an insert or a
    delete shows there, and the table is then scanned (compared whole at the publish, its changed-row checks run
    whole). The incremental-equals-full tests compare every fingerprint so kept with a scan."""
    known = {}
    for table, fingerprint in published.items():
        name = f"{table[0]}.{table[1]}"
        if table[0] not in changes.HOUSE_SCHEMAS:
            continue
        if name not in changed.changed:
            known[table] = fingerprint
        elif (recorded := changes.recorded(con, name)) is not None:
            now = after_change_set(con, recorded, fingerprint)
            if now[0] == row_count(con, *table):
                known[table] = now
    return known


def _maintain(con: duckdb.DuckDBPyConnection, record: RunRecord, published: lake.Lake, *, first: bool) -> None:
    """Retention and compaction when due (`lake.MAINTENANCE_INTERVAL`), before the publication commits (so its
    commit is the run's last write to the catalog, which is what the dashboards watch). A failure here never stops
    the publication. Before the `first` publication there is nothing to expire or merge, and a killed run's files
    are younger than the clean-up's grace: the interval starts then."""
    now = datetime.now(UTC)
    if not lake.maintenance_due(con, now):
        return
    if first:
        lake.maintained(con, now)
        return
    try:
        record.publication_maintenance = lake.maintain(con, published, now=now, days=lake.retention_days())
        lake.maintained(con, now)
    except duckdb.Error as exc:
        print(f"warning: publication retention or compaction failed: {first_line(exc)}", file=sys.stderr)


def _drop_created(url: str, slot: str | None) -> None:
    """A slot this run created for a publication that will not happen; a source that is down keeps it (the next
    published run of this warehouse drops it)."""
    if slot is not None:
        with suppress(UserError, psycopg.Error):
            capture.drop(url, [slot])


def _extract(con: duckdb.DuckDBPyConnection, tables: list[SourceTable], plan: capture.Plan, url: str) -> Extraction:
    """The extract step; a source that goes away mid-read is named in the one-line error."""
    try:
        return extract(con, tables, plan, url)
    except (duckdb.Error, psycopg.Error) as exc:
        if isinstance(exc, duckdb.Error) and _is_local_failure(exc):
            raise
        raise UserError(
            f"reading the source database at {redact(url)} failed: {first_line(exc)}; check that it is up and rerun "
            "(the live warehouse is unchanged)"
        ) from exc


def _is_local_failure(exc: duckdb.Error) -> bool:
    """Whether the build failed here, not at the source: out of memory and spill, or a full disk or an unwritable
    file (an IOException naming the OS error)."""
    reasons = ("No space left", "Permission denied", "Read-only file system", "Disk quota")
    return isinstance(exc, duckdb.OutOfMemoryException) or (
        isinstance(exc, duckdb.IOException) and any(reason in str(exc) for reason in reasons)
    )


def model_parameters(snapshot_at: datetime) -> dict[str, object]:
    """What the marts' SQL may bind: the snapshot and the settings that shape a definition."""
    return {
        "snapshot_at": snapshot_at,
        "snapshot_date": utc_day(snapshot_at),
        # (a monthly mart binding the month, not the day, refreshes by what changed on days the month does not turn)
        "snapshot_month": utc_day(snapshot_at).replace(day=1),
        "resubscribe_window_days": _resubscribe_window_days(),
    }


def _resubscribe_window_days() -> int:
    """How soon a customer's new subscription after a cancellation makes it a plan change, not churn then new."""
    return whole_number_setting("resubscribe_window_days", DEFAULT_RESUBSCRIBE_WINDOW_DAYS, "days")


def _write_publication(
    con: duckdb.DuckDBPyConnection, record: RunRecord, results: list[CheckResult], *, redacted: bool
) -> None:
    warnings = sum(1 for result in results if not result.success)
    con.execute("delete from meta.publication")
    con.execute(
        "insert into meta.publication values ($run_id, $snapshot_at, $published_at, $warnings, $redacted)",
        {
            "run_id": record.run_id,
            "snapshot_at": record.snapshot_at,
            "published_at": datetime.now(UTC),
            "warnings": warnings,
            "redacted": redacted,
        },
    )
    con.execute("delete from meta.check_results")
    rows = pa.Table.from_pylist(
        [
            {
                "run_id": record.run_id,
                "name": result.name,
                "severity": result.severity,
                "success": result.success,
                "unexpected_count": result.unexpected_count,
                "table_name": result.table,
                "sample_ids": [str(sample) for sample in result.sample_ids],
                "inputs": result.inputs,
                "checked_at": result.checked_at,
                "scope": result.scope,
                "rows_checked": result.rows_checked,
                "element_count": result.element_count,
            }
            for result in results
        ],
        schema=CHECK_RESULT_ROWS,
    )
    with registered(con, "check_result_rows", rows):
        con.execute(sql_file("checks/record_results"))

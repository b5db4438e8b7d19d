"""Runs the SQL models of `queries/marts/` into schema `marts`, each after the marts it reads.

In an incremental run each mart refreshes as its contract declares (docs/etl.md, "Incremental marts"): not at all
when none of its inputs changed; by the days or months the changed input rows reach, or by the values of its key
column they reach (deleted, then the model's rows for those periods or keys inserted: the model still reads its whole
inputs, so trailing windows and a chapter's history stay exact); or whole.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from pipelines.queries import QUERIES_DIR, one_row, sql_file
from pipelines.transform import changes as change_sets
from pipelines.transform.changes import ChangeSet
from pipelines.transform.contracts import MartContract, Refresh, load_contracts

MARTS_DIR = QUERIES_DIR / "marts"
_MART_REFERENCE = re.compile(r"\bmarts\.(\w+)")
_PARAMETER = re.compile(r"\$(\w+)")
# A model reading a table the lineage does not follow (meta.closed_statements: the month closes) is recomputed on
# every run: its rows can change with no input row. So is one binding a parameter (the snapshot date or instant, a
# setting) whose value differs from the one its rows were built with (`main.mart_parameters` in the working file).
_OTHER_TABLE = re.compile(r"\bmeta\.\w+")
_PARAMETERS_TABLE = "create table if not exists main.mart_parameters (mart varchar, parameters varchar)"
# The UTC days a refresh by day rebuilds, which a model over the events binds to read only those days' events
# (`on_utc_days`: a range DuckDB skips the other row groups by, where the refresh's own filter on the result reads
# every event); and the keys a refresh by key rebuilds, which a model binds to read only those keys' rows
# (`in_window_keys`). Every other build binds no bound: every day, every key. Not what the rows are built with
# (`_built_from`).
REFRESH_WINDOW: dict[str, object] = {"window_first": None, "window_last": None, "window_keys": None}
_DAY_WINDOW = {"window_first", "window_last"}
# A refresh by day of such a model runs it once per run of consecutive affected days (a day of new events and an
# old day that lost one: two narrow windows, where one window from the first to the last day would read the year
# between), the closest runs merged down to this many runs of the model.
MAX_WINDOWS = 4
# Past this many keys a refresh by key rebuilds whole: each key is a bound parameter, and at 2.5M versions (the
# `small` inputs scaled 70x, a loaded machine) 3,200 keys took 2.3 s, 27,000 keys 8.8 s, the whole model 7.5 s.
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    sql: str

    @property
    def depends_on(self) -> set[str]:
        return {name for name in _MART_REFERENCE.findall(self.sql) if name != self.name}

    @property
    def parameters(self) -> set[str]:
        return set(_PARAMETER.findall(self.sql))

    def bind(self, params: dict[str, object]) -> dict[str, object]:
        """The values of the parameters the model binds, from `params`; the refresh window unbounded unless given."""
        values = {**REFRESH_WINDOW, **params}
        return {name: values[name] for name in self.parameters}

    @property
    def reads_days(self) -> bool:
        """Whether the model reads only the days (or months) of a refresh by day or month (`REFRESH_WINDOW`)."""
        return bool(self.parameters & _DAY_WINDOW)

    @property
    def reads_keys(self) -> bool:
        """Whether the model reads only the keys of a refresh by key (`REFRESH_WINDOW`)."""
        return "window_keys" in self.parameters


def load_models(directory: Path = MARTS_DIR) -> list[Model]:
    """Every model, ordered so that each runs after the marts it references."""
    models = {p.stem: Model(p.stem, p, p.read_text()) for p in sorted(directory.glob("*.sql"))}
    graph = {name: model.depends_on & models.keys() for name, model in models.items()}
    return [models[name] for name in TopologicalSorter(graph).static_order()]


@dataclass
class Refreshed:
    """How a run refreshed one mart: built (from nothing), whole, by day or month (with the periods), by key (with
    how many keys: a day reaches thousands of chapters), or skipped."""

    mode: str
    periods: list[str] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0
    keys: int = 0

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"mode": self.mode, "seconds": self.seconds}
        if self.mode in ("day", "month"):
            out["periods"] = self.periods
        if self.mode == "key":
            out["keys"] = self.keys
        if self.reason:
            out["reason"] = self.reason
        return out


def run_models(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, object],
    changes: ChangeSet | None = None,
    refreshed: dict[str, Refreshed] | None = None,
) -> dict[str, float]:
    """Build every mart; returns seconds per model. Parameters are bound by name, never formatted in.

    `changes`: what this (incremental) run changed; each mart then refreshes only what its changed inputs reach,
    and its own changed rows are recorded for the marts built from it. None: rebuild every mart. `refreshed`
    receives how each mart was refreshed."""
    con.execute("create schema if not exists marts")
    con.execute(_PARAMETERS_TABLE)
    timings: dict[str, float] = {}
    contracts = {contract.name: contract for contract in load_contracts()}
    changed = set(changes.changed) if changes is not None else set()
    reached = _Reached(con)
    existing = _marts_as_contracted(con, contracts)
    try:
        for model in load_models():
            started = time.perf_counter()
            bound = model.bind(params)
            body = model.sql.strip().rstrip(";")
            if changes is None or model.name not in existing or f"marts.{model.name}" in changes.everything:
                con.execute(f"create or replace table marts.{model.name} as {body}", bound)
                outcome = Refreshed("built")
                if changes is not None:
                    change_sets.everything(con, f"marts.{model.name}")
                    changed.add(f"marts.{model.name}")
            else:
                outcome = _refresh(con, model, body, bound, contracts[model.name], changed, reached)
                table = f"marts.{model.name}"
                if outcome.mode != "skipped" and (
                    change_sets.changed_everywhere(con, table) or change_sets.recorded_rows(con, table)
                ):
                    changed.add(table)
            if _built_from(bound) and outcome.mode != "skipped":
                _record_parameters(con, model.name, bound)
            timings[model.name] = time.perf_counter() - started
            if refreshed is not None:
                outcome.seconds = round(timings[model.name], 3)
                refreshed[model.name] = outcome
    finally:
        reached.drop()
    return timings


def mapped_inputs() -> set[str]:
    """The tables some refresh declaration maps to periods or keys: of the history tables, only these are worth a
    diff (`changes.history_diff`); a mart built from any other that changed refreshes whole anyway."""
    return {name for contract in load_contracts() for name, _ in contract.refresh.inputs}


def _marts_as_contracted(con: duckdb.DuckDBPyConnection, contracts: dict[str, MartContract]) -> set[str]:
    """The marts the working file holds with their contract's columns, by name; any other is built anew (one an
    older release built with other columns cannot take the model's rows). Asked once a run: the catalog query
    costs a few ms each time."""
    rows = con.execute(
        "select table_name, list((column_name, data_type) order by column_index) from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'marts' group by table_name"
    ).fetchall()
    return {
        name
        for name, columns in rows
        if name in contracts and columns == [(column.name, column.type) for column in contracts[name].columns]
    }


def _refresh(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    body: str,
    bound: dict[str, object],
    contract: MartContract,
    changed: set[str],
    reached: _Reached,
) -> Refreshed:
    from pipelines.transform.lineage import lineage  # lineage reads the models of this module

    table = f"marts.{model.name}"
    inputs = set(lineage().reads[table] & changed)
    volatile = _recomputed_because(con, model, bound)
    if not inputs and not volatile:
        return Refreshed("skipped")
    refresh = contract.refresh
    mapped = dict(refresh.inputs)
    unmapped = sorted(name for name in inputs if name not in mapped or change_sets.changed_everywhere(con, name))
    if (refresh.by == "whole" or unmapped) and not volatile:
        # About to rebuild whole: not for the inputs whose changes miss every column the mart reads (a chapter's
        # word count, for a mart reading its project). Only here: planning the model costs what a small rebuild
        # does, and a declaration's mapping already tells which changed rows reach a period or key.
        inputs = _reaching(con, body, bound, inputs)
        if not inputs:
            return Refreshed("skipped", reason="no column it reads changed")
        unmapped = [name for name in unmapped if name in inputs]
    if refresh.by == "whole" or volatile or unmapped:
        reason = volatile or ("" if refresh.by == "whole" else f"{unmapped[0]} changed")
        _rebuild_whole(con, model, body, bound)
        return Refreshed("whole", reason=reason)
    reaching = {name: mapped[name] for name in sorted(inputs)}
    if refresh.by == "key":
        keys = _affected_keys(con, reaching, reached)
        if not keys:
            return Refreshed("skipped", reason="no key reached")
        if len(keys) > MAX_KEYS:
            _rebuild_whole(con, model, body, bound)
            return Refreshed("whole", reason=f"{len(keys)} keys reached")
        # An IN list of bound parameters, one per key: DuckDB pushes it below the model's windows (partitioned by
        # the key) to the scan, where it becomes a hash join, so only the reached keys are computed. An IN subquery
        # stays above the windows (every key computed), and list_contains on one bound list is pushed down but
        # compares each row with every key: 28 s for 3,000 keys of 2.5M versions, against 3.9 s whole.
        key_params = {f"refresh_key_{i}": key for i, key in enumerate(keys)}
        in_keys = f"mart_row.{refresh.column} in ({', '.join(f'${name}' for name in key_params)})"
        reading = {**bound, "window_keys": keys} if model.reads_keys else bound
        # The mart's stored rows of those keys (the rows before, the rows replaced) by a join with the keys: binding
        # thousands of parameters again costs more than the join (5,000 users: 36 -> 13 ms a statement at large).
        con.execute("create or replace temp table refresh_keys as select unnest($keys) as key", {"keys": keys})
        stored: tuple[str, dict[str, object]] = (
            f"mart_row.{refresh.column} in (select refresh_keys.key from temp.refresh_keys)",
            {},
        )
        _rebuild_where(con, model, body, reading, key_params, in_keys, stored=stored)
        con.execute("drop table temp.refresh_keys")
        return Refreshed("key", keys=len(keys))
    periods, with_null = _affected_periods(con, refresh, reaching, reached)
    if not periods and not with_null:
        return Refreshed("skipped", reason="no period reached")
    if not refresh.spine:
        _rebuild_periods(con, model, body, bound, refresh.column, periods, with_null=with_null)
        return Refreshed(refresh.by, periods=_shown(periods, with_null))
    # A spine (a row for every period from its first to its last) refreshes its affected periods and the periods it
    # may gain at either end: past its last period up to the last affected one, before its first from the first
    # affected one. Only a spine that lost its first or last period can have left rows between behind: it is
    # refreshed again from its first period on, as in a full build.
    extent = _extent(con, table, refresh.column)
    periods = _spine_periods(periods, extent, refresh.by)
    _rebuild_periods(con, model, body, bound, refresh.column, periods, with_null=with_null)
    if extent is None or not _shrank(extent, _extent(con, table, refresh.column)):
        return Refreshed(refresh.by, periods=_shown(periods, with_null))
    since = min([extent[0], *periods])
    _rebuild_periods(con, model, body, bound, refresh.column, [], with_null=with_null, since=since)
    return Refreshed(refresh.by, periods=[f">= {since.isoformat()}", *(["null"] if with_null else [])])


def _rebuild_periods(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    body: str,
    bound: dict[str, object],
    column: str | None,
    periods: list[date],
    *,
    with_null: bool,
    since: date | None = None,
) -> None:
    """Rebuild the mart's rows of `periods` (and those without a period when `with_null`), or of every period from
    `since` on."""
    filter_params: dict[str, object] = {
        "refresh_first": since or min(periods, default=None),
        "refresh_last": date.max if since else max(periods, default=None),
        "refresh_periods": periods,
        "with_null": with_null,
    }
    in_periods = f"in_refresh(mart_row.{column}, $refresh_first, $refresh_last, $refresh_periods, $with_null)"
    if not model.reads_days:
        _rebuild_where(con, model, body, bound, filter_params, in_periods)
        return
    windows = _windows(periods, spine_from=since, with_null=with_null)
    in_window = f"(mart_row.{column} is null or on_days(mart_row.{column}, $window_first, $window_last))"
    _rebuild_where(con, model, body, bound, filter_params, in_periods, windows, in_window)


def _shown(periods: list[date], with_null: bool) -> list[str]:
    """The periods a refresh by day or month lists in the run record."""
    return [period.isoformat() for period in periods] + (["null"] if with_null else [])


def _extent(con: duckdb.DuckDBPyConnection, table: str, column: str | None) -> tuple[date, date] | None:
    """The mart's first and last period as it stands; None when it has none."""
    first, last = one_row(con.execute(f"select min({column}), max({column}) from {table}"))
    return None if first is None else (first, last)


def _spine_periods(periods: list[date], extent: tuple[date, date] | None, by: str) -> list[date]:
    """A spine's affected `periods` and those it may gain at either end: from its last period (`extent`, as it
    stands) to the last affected one, from the first affected one to its first; every period from the first
    affected to the last when it has none yet."""
    if not periods:
        return periods
    first, last = extent or (periods[-1], periods[0])
    gained = _periods_between(periods[0], first, by) + _periods_between(last, periods[-1], by)
    return sorted(set(periods) | set(gained))


def _periods_between(first: date, last: date, by: str) -> list[date]:
    """The days or month starts after `first` and before `last`."""
    between, period = [], _next_period(first, by)
    while period < last:
        between.append(period)
        period = _next_period(period, by)
    return between


def _next_period(period: date, by: str) -> date:
    if by == "month":
        return date(period.year + period.month // 12, period.month % 12 + 1, 1)
    return period + timedelta(days=1)


def _shrank(before: tuple[date, date], after: tuple[date, date] | None) -> bool:
    """Whether a spine lost its first or last period (`_extent` before and after its refresh)."""
    return after is None or after[0] > before[0] or after[1] < before[1]


def _reaching(con: duckdb.DuckDBPyConnection, body: str, bound: dict[str, object], inputs: set[str]) -> set[str]:
    """The changed `inputs` whose changes reach the model: all but those whose change set changed only columns the
    model does not read (a chapter's word count, for a mart reading only its project). An input without a change
    set (changed everywhere, or not recorded), or that the plan does not show read column by column, reaches it."""
    read = _columns_read(con, body, bound) or {}
    return {name for name in inputs if _changes_any(con, change_sets.recorded(con, name), read.get(name))}


def _changes_any(con: duckdb.DuckDBPyConnection, recorded: str | None, columns: set[str] | None) -> bool:
    """Whether the change set `recorded` changed any of `columns` (unknown either: yes)."""
    if recorded is None or not columns:
        return True
    parameters = {"changes": recorded, "columns": sorted(columns)}
    return bool(one_row(con.execute(sql_file("marts_refresh/change_set_differs"), parameters))[0])


_COLUMNS_READ: dict[str, dict[str, set[str]] | None] = {}  # by model SQL: planned once per process


def _columns_read(con: duckdb.DuckDBPyConnection, body: str, bound: dict[str, object]) -> dict[str, set[str]] | None:
    """The columns of each table (`schema.table`) the model's plan scans; None when it cannot be planned.

    Planned with DuckDB's removal of unused columns only: its other optimizers may also drop a column the current
    data make moot (a filter its statistics show always true), which other rows would need."""
    if body not in _COLUMNS_READ:
        others = [name for (name,) in con.execute(sql_file("marts_refresh/optimizers_but_unused_columns")).fetchall()]
        with _optimizers_disabled(con, others):
            try:
                plan = one_row(con.execute(f"explain (format json) {body}", bound))[1]
            except duckdb.Error:
                plan = None
        _COLUMNS_READ[body] = None if plan is None else _scanned_columns(json.loads(plan))
    return _COLUMNS_READ[body]


@contextmanager
def _optimizers_disabled(con: duckdb.DuckDBPyConnection, names: list[str]) -> Iterator[None]:
    """DuckDB's optimizers `names` (its own names: no quotes in them) off too for the statements run inside."""
    previous = one_row(con.execute("select current_setting('disabled_optimizers')"))[0]
    con.execute(f"set disabled_optimizers = '{','.join([*filter(None, previous.split(',')), *names])}'")
    try:
        yield
    finally:
        con.execute(f"set disabled_optimizers = '{previous}'")


def _scanned_columns(nodes: list[dict[str, object]]) -> dict[str, set[str]]:
    """`schema.table` -> the columns the scans of a JSON plan (EXPLAIN (FORMAT JSON)) project."""
    scanned: dict[str, set[str]] = {}
    while nodes:
        node = nodes.pop()
        extra = node.get("extra_info")
        if isinstance(extra, dict) and isinstance(extra.get("Table"), str):
            table = ".".join(extra["Table"].split(".")[-2:])  # database.schema.table
            projected = extra.get("Projections") or []
            scanned.setdefault(table, set()).update([projected] if isinstance(projected, str) else projected)
        children = node.get("children")
        nodes.extend(children if isinstance(children, list) else [])
    return scanned


def _recomputed_because(con: duckdb.DuckDBPyConnection, model: Model, bound: dict[str, object]) -> str:
    """Why the mart is recomputed whatever its inputs did ("" when it is not): it reads a table the lineage does not
    follow, or binds a parameter whose value moved since its rows were built (the snapshot date at midnight UTC)."""
    if _OTHER_TABLE.search(model.sql):
        return "recomputed every run"
    if _built_from(bound) and _built_with(con, model.name) != _as_json(bound):
        return "a parameter changed"
    return ""


def _built_from(bound: dict[str, object]) -> dict[str, object]:
    """The parameters a mart's rows are built from: those it binds but the refresh window."""
    return {name: value for name, value in bound.items() if name not in REFRESH_WINDOW}


def _as_json(bound: dict[str, object]) -> str:
    return json.dumps(_built_from(bound), sort_keys=True, default=str)


def _built_with(con: duckdb.DuckDBPyConnection, mart: str) -> str | None:
    """The parameters (JSON) the mart's rows were last built with in this working file; None when not recorded (a
    mart copied back from the lake forgets them: `lake.restore`)."""
    row = con.execute("select parameters from main.mart_parameters where mart = $mart", {"mart": mart}).fetchone()
    return str(row[0]) if row else None


def _record_parameters(con: duckdb.DuckDBPyConnection, mart: str, bound: dict[str, object]) -> None:
    con.execute("delete from main.mart_parameters where mart = $mart", {"mart": mart})
    con.execute(
        "insert into main.mart_parameters values ($mart, $parameters)", {"mart": mart, "parameters": _as_json(bound)}
    )


def _windows(periods: list[date], *, spine_from: date | None, with_null: bool) -> list[tuple[date | None, date | None]]:
    """The days a refresh by day reads (`REFRESH_WINDOW`), or the months (first and last month start) a refresh by
    month reads: each run of consecutive `periods` (days; each month is a run of its own), the closest runs merged
    down to `MAX_WINDOWS`; from `spine_from` on, for a spine refreshed from that day on (one that lost an end);
    every day when rows without a day are refreshed."""
    if with_null:
        return [(None, None)]
    if spine_from is not None:
        return [(spine_from, None)]
    if not periods:
        return [(None, None)]
    runs: list[tuple[date, date]] = []
    for day in periods:
        if runs and (day - runs[-1][1]).days <= 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    while len(runs) > MAX_WINDOWS:
        gaps = [(later[0] - earlier[1]).days for earlier, later in zip(runs, runs[1:], strict=False)]
        i = gaps.index(min(gaps))
        runs[i : i + 2] = [(runs[i][0], runs[i + 1][1])]
    return [(first, last) for first, last in runs]


def mapping_select(table: str, expression: str, column: str, cast: str = "") -> str:
    """The SELECT of the distinct periods (or keys), as `column`, that `table`'s changed rows reach by a refresh
    declaration's `expression`."""
    return f"select distinct ({expression}){cast} as {column} from {change_sets.change_table(table)} as changed"


@contextmanager
def mapping_plans(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The planner as the mappings run under. An expression's subqueries correlate with the changed row; DuckDB's
    deliminator would answer one for every group of the table it reads (every session's first event), then keep the
    changed rows'; without it, only the changed rows' groups are read (a medium day's mappings: 0.95 -> 0.25 s)."""
    with _optimizers_disabled(con, ["deliminator"]):
        yield


class _Reached:
    """What each input's changed rows reach by a declaration's expression, worked out once per run: marts over the
    same inputs map them alike (the three event marts: a user's tier or plan month to the user's event days, a scan
    of every event each), and a table's change set is complete once it is refreshed, before the marts built from it
    (dependency order)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.tables: dict[str, str] = {}  # the SELECT of what an expression reaches -> the temp table holding it

    def union(self, inputs: dict[str, str], column: str, cast: str = "") -> str:
        """One SELECT of the distinct periods (or keys) as `column` each input's changed rows reach."""
        parts = []
        for name, expression in inputs.items():
            select = mapping_select(name, expression, column, cast)
            if select not in self.tables:
                self.tables[select] = f"refresh_reached_{len(self.tables)}"
                with mapping_plans(self.con):
                    self.con.execute(f"create or replace temp table {self.tables[select]} as {select}")
            parts.append(f"select {column} from temp.{self.tables[select]}")
        return " union ".join(parts)

    def drop(self) -> None:
        for table in self.tables.values():
            self.con.execute(f"drop table if exists temp.{table}")


def _affected_periods(
    con: duckdb.DuckDBPyConnection, refresh: Refresh, inputs: dict[str, str], reached: _Reached
) -> tuple[list[date], bool]:
    """The periods of the mart the changed rows of its inputs reach (their old and new versions), widened by the
    lookback; and whether rows without a period (NULL) are reached."""
    unit = "month" if refresh.by == "month" else "day"
    rows = con.execute(
        sql_file("marts_refresh/affected_periods")
        .replace("{reached}", reached.union(inputs, "period", "::date"))
        .replace("{unit}", unit),
        {"lookback": refresh.lookback},
    ).fetchall()
    periods = sorted(period for (period,) in rows if period is not None)
    return periods, any(period is None for (period,) in rows)


def _affected_keys(con: duckdb.DuckDBPyConnection, inputs: dict[str, str], reached: _Reached) -> list[object]:
    """The key values of the mart the changed rows of its inputs reach (their old and new versions). NULL reaches
    nothing: a key column is never NULL (the contract says not_null), so a generation without a chapter reaches no
    chapter."""
    return [key for (key,) in con.execute(reached.union(inputs, "key")).fetchall() if key is not None]


def _rebuild_whole(con: duckdb.DuckDBPyConnection, model: Model, body: str, bound: dict[str, object]) -> None:
    """Rebuild the mart from its model: only the rows that differ are replaced, and they are its change set (the
    rest of the table is neither written nor checkpointed again: a whole table written anew is compressed again at
    the checkpoint, a second at medium for the marts rebuilt whole)."""
    con.execute(f"create or replace temp table refresh_after as {body}", bound)
    change_sets.replace_differing_rows(con, f"marts.{model.name}", "refresh_after")
    con.execute("drop table refresh_after")


def _rebuild_where(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    body: str,
    bound: dict[str, object],
    filter_params: dict[str, object],
    refreshed: str,
    windows: list[tuple[date | None, date | None]] | None = None,
    in_window: str = "true",
    *,
    stored: tuple[str, dict[str, object]] | None = None,
) -> None:
    """Replace the mart's rows of the affected periods or keys (`refreshed`: a condition on its row `mart_row`, over
    `filter_params`) by the model's rows for them; only those that differ are deleted and inserted, and they are its
    change set (a chapter's versions refreshed by key are mostly unchanged, and each row deleted has its row group
    rewritten at the checkpoint). The model reads its whole inputs (its trailing windows, a chapter's history stay
    exact) and only its result is filtered; or, given `windows` (first and last day), it runs once per window,
    reading only those days, and keeps only its rows `in_window` (a condition on `mart_row` over the window: a spine
    runs over every day, exact only in the window it read); a model binding the keys in `bound` reads only theirs
    (`REFRESH_WINDOW`). `stored`: the same rows as `refreshed`, as a condition (and its parameters) cheaper on the
    mart's stored rows."""
    table = f"marts.{model.name}"
    in_stored, stored_params = stored or (refreshed, filter_params)
    con.execute(
        f"create or replace temp table refresh_before as from {table} as mart_row where {in_stored}", stored_params
    )
    runs = [{"window_first": first, "window_last": last} for first, last in windows or []] or [{}]
    query = f"select * from ({body}) as mart_row where {refreshed} and {in_window}"
    con.execute(f"create or replace temp table refresh_after as {query}", {**bound, **filter_params, **runs[0]})
    for window in runs[1:]:
        con.execute(f"insert into refresh_after {query}", {**bound, **filter_params, **window})
    subset = ("from refresh_before", in_stored, stored_params)
    change_sets.replace_differing_rows(con, table, "refresh_after", subset=subset)
    con.execute("drop table refresh_before")
    con.execute("drop table refresh_after")

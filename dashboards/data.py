"""The dashboards' one door to the warehouse: metrics and named report queries, run read-only, cached per published
version.

Pages hold no SQL and no connections. Every defined business metric (`queries/metrics/*.yml`) is read with
`metric("ai_cost", start=..., end=...)` through the metrics engine, only for a role in the metric's `audience`;
reports serve the lists and tables that are not metrics (statements, top spenders, ...):
`report("ai_cost/top_spenders", start=..., end=...)` runs `queries/reports/ai_cost/top_spenders.sql` with its `$name`
parameters bound, only for a role allowed to open the folder's page (the folder is the scope). Both cache their
answers under the warehouse version: each publication commits to the lake's catalog, so a new version means new
answers without restarting the server. A page may read an older kept publication (`read_as_published`, the Revenue
share page's "as published at" picker): its answers are cached under their own request.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import duckdb
import pandas as pd
import streamlit as st

from dashboards import pages, publication_cache
from dashboards.auth import User, allowed_pages, pseudonymize
from dashboards.auth.roles import sees_personal_data
from dashboards.warm import file_version
from pipelines import audit, close
from pipelines.alerts.state import EPISODE_COLUMNS, read_episodes, state_path
from pipelines.config import paths
from pipelines.days import utc_day, utc_instant
from pipelines.metrics.definitions import Metric, resolve
from pipelines.metrics.query import query_metrics
from pipelines.publish import lake
from pipelines.publish.history import read_runs, runs_from, runs_newest_first
from pipelines.queries import sql_file
from pipelines.transform.lineage import lineage
from pipelines.warehouse import connect

if TYPE_CHECKING:
    from pipelines.export import revenue_share

_REPORT_NAME = re.compile(r"[a-z_]+/[a-z0-9_]+")
_PARAMETER = re.compile(r"\$(\w+)")
_TABLE = re.compile(r"\b(marts|staging|meta)\.(\w+)")
_TABLES_READ = "_data_tables_read"
_USER = "_data_user"
_PAGE = "_data_page"
_SECTIONS = "_data_sections"
_AS_OF = "_data_as_of"  # the run id of the publication this page run reads; None: the latest
_VERSION = "_data_version"  # the latest publication's version when this page run started


class OutOfScope(PermissionError):
    """A page asked for a report or a metric its viewer's role may not see."""


@dataclass(frozen=True)
class Publication:
    run_id: str
    snapshot_at: datetime  # the source's now() inside the extract transaction: "data as of"


def warehouse_path() -> Path:
    return paths().warehouse


def warehouse_version() -> str | None:
    """Identifies the latest publication (each one commits to the catalog) as this page run started; None when
    nothing is published yet. Read once per run (`start_run`), not once per query, chart and file (~2 ms each):
    everything one run draws is cached under the same publication."""
    if _VERSION in st.session_state:
        return cast(str | None, st.session_state[_VERSION])
    return lake.version(lake.configured())


def publications() -> list[lake.Publication]:
    """The kept publications, newest first: what the "as published at" picker offers. Read once per publication
    (each one, and the retention it applies, changes them), not at every page run: a run every 15 minutes kept
    90 days (the defaults) is thousands, 38 ms to read."""
    return list(_publications(warehouse_version()))


@lru_cache(maxsize=4)
def _publications(version: str | None) -> tuple[lake.Publication, ...]:
    """`version` is only the cache key."""
    return tuple(reversed(lake.publications(lake.configured())))


def read_as_published(run_id: str | None) -> None:
    """From here on, this page run reads the publication of run `run_id` (None: the latest); `start_run` resets it."""
    st.session_state[_AS_OF] = run_id


def reading_latest() -> bool:
    return st.session_state.get(_AS_OF) is None


def _as_of() -> str | None:
    as_of = st.session_state.get(_AS_OF)
    return None if as_of is None else str(as_of)


def _query(sql: str, version: str, params: dict[str, object]) -> pd.DataFrame:
    """The rows of one query, run once per publication (`publication_cache`); an older publication's rows are
    entries of their own (the request names it), kept until the next publication like every other."""
    as_of = _as_of()
    return publication_cache.result(
        version, ("query", sql, sorted(params.items()), as_of), lambda: _execute(sql, params, as_of)
    )


def _execute(sql: str, params: dict[str, object], as_of: str | None = None) -> pd.DataFrame:
    """Run one query on a fresh read-only connection to the publication (the latest, or `as_of`)."""
    con = connect(warehouse_path(), read_only=True, as_of=as_of, copies=True, reads=(sql,))
    try:
        # Through Arrow so DECIMAL arrives as Python Decimal (pandas' own conversion would make it float).
        return con.execute(sql, params).to_arrow_table().to_pandas()
    finally:
        con.close()


def _run(sql: str, params: dict[str, object], where: str) -> pd.DataFrame:
    version = warehouse_version()
    if version is None:
        return pd.DataFrame()
    wanted = set(_PARAMETER.findall(sql))
    missing = wanted - params.keys()
    if missing:
        raise TypeError(f"{where} needs parameters {sorted(missing)}")
    # Bind only what the query names: DuckDB refuses unused named parameters.
    return _query(sql, version, {name: params[name] for name in sorted(wanted)})


def start_run(user: User) -> None:
    """Called by the entrypoint on every run, after sign-in: the role this run's reports are checked against."""
    st.session_state[_USER] = user
    st.session_state[_TABLES_READ] = set()
    st.session_state[_SECTIONS] = []
    st.session_state[_AS_OF] = None
    st.session_state[_VERSION] = lake.version(lake.configured())


def current_user() -> User:
    user = st.session_state.get(_USER)
    if user is None:
        raise OutOfScope("nobody is signed in")
    return user


def _role() -> str:
    return current_user().role


def open_page(key: str) -> None:
    """Called by each page's guard: the page this run shows, which download records name."""
    st.session_state[_PAGE] = key


def may_read(page: str) -> bool:
    """Whether the signed-in role may open `page` (and so run the reports in its folder)."""
    return page in allowed_pages(_role())


def report(name: str, **params: object) -> pd.DataFrame:
    """The rows of `queries/reports/<folder>/<query>.sql`; refused (OutOfScope) unless the role may open the page
    that owns <folder> (`dashboards.pages`)."""
    return _run(_report_sql(name), params, name)


def _report_sql(name: str) -> str:
    if not _REPORT_NAME.fullmatch(name):
        raise ValueError(f"report names look like 'folder/query', not {name!r}")
    folder = name.split("/", 1)[0]
    owner = pages.owner_of_reports(folder)
    if owner is None or not may_read(owner.key):
        raise OutOfScope(f"the {_role()} role may not read {folder} reports")
    sql = sql_file(f"reports/{name}")
    _note_tables_read(sql)
    return sql


@dataclass(frozen=True)
class ReportPage:
    rows: pd.DataFrame  # the rows of this page
    total: int  # rows of the whole result that match the search
    columns: list[str]  # every column of the report: what may be sorted on


def report_page(
    name: str,
    *,
    sort: str | None = None,
    descending: bool = False,
    search: str = "",
    offset: int = 0,
    limit: int = 50,
    **params: object,
) -> ReportPage:
    """One page of report `name` sorted, searched and counted over its whole result, in the query: a table sorted
    on the browser's page of rows found the smallest of those rows only, not of the result.

    `sort` must be one of the report's columns (checked here, then quoted: an ORDER BY column cannot be a bound
    parameter); the search text, limit and offset are bound. The search matches any column, without regard to case.
    """
    sql = _report_sql(name)
    columns = list(_run(f"select * from ({sql}) as result limit 0", params, name).columns)
    if sort is not None and sort not in columns:
        raise ValueError(f"{name} has no column {sort!r} to sort on")
    every_column = ", ".join(f"coalesce({_quoted(column)}::varchar, '')" for column in columns)
    matching = f"select * from ({sql}) as result where contains(lower(concat_ws(' ', {every_column})), $search)"
    # Then every column: rows that tie on the sort column keep one order from page to page.
    order = (
        f" order by {_quoted(sort)} {'desc' if descending else 'asc'} nulls last, "
        + ", ".join(_quoted(column) for column in columns)
        if sort
        else ""
    )
    bound = {**params, "search": search.strip().lower(), "limit": limit, "offset": offset}
    total = _run(f"select count(*) as matching from ({matching}) as counted", bound, name)
    rows = _run(f"{matching}{order} limit $limit offset $offset", bound, name)
    return ReportPage(rows=rows, total=int(total.iat[0, 0]) if not total.empty else 0, columns=columns)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


# --- metrics: every defined figure comes from the metrics layer, never from a page's own SQL ----------------------


def definition(name: str) -> Metric:
    """The definition of metric `name` (`queries/metrics/*.yml`): its label, description, unit and audience."""
    return resolve([name])[0]


def may_read_metric(name: str) -> bool:
    """Whether the signed-in role is in the metric's `audience`."""
    return _role() in definition(name).audience


def metric_help(name: str) -> str:
    """A tile's tooltip: the metric's label and its one-paragraph definition, as written in its yml."""
    metric = definition(name)
    return f"**{metric.label}**: {metric.description}"


def metric(
    names: str | Sequence[str],
    *,
    start: date,
    end: date,
    grain: str = "all",
    by: Sequence[str] = (),
    where: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """`query_metrics` on the published warehouse, cached per publication: columns `period`, each of `by`, each
    metric. Refused (OutOfScope) unless the role is in every metric's audience. Empty lists in `where` mean all."""
    wanted = [names] if isinstance(names, str) else list(names)
    refused = [name for name in wanted if not may_read_metric(name)]
    if refused:
        raise OutOfScope(f"the {_role()} role may not read the {', '.join(refused)} metric")
    for name in wanted:
        _note_metric_tables(name)
    version = warehouse_version()
    if version is None:
        return pd.DataFrame()
    chosen = tuple(sorted((dim, tuple(values)) for dim, values in (where or {}).items() if values))
    request = ("metric", tuple(wanted), start, end, grain, tuple(by), chosen, _as_of())
    return publication_cache.result(version, request, lambda: _metric_query(*request[1:]))


def _metric_query(
    names: tuple[str, ...],
    start: date,
    end: date,
    grain: str,
    by: tuple[str, ...],
    where: tuple[tuple[str, tuple[str, ...]], ...],
    as_of: str | None,
) -> pd.DataFrame:
    """One engine query on a fresh read-only connection (reading the metrics' models)."""
    models = tuple(f"from {model}" for name in names for model in _metric_models(name))
    con = connect(warehouse_path(), read_only=True, as_of=as_of, copies=True, reads=models)
    try:
        return query_metrics(con, names, start=start, end=end, grain=grain, by=by, where=dict(where))
    finally:
        con.close()


def _metric_models(name: str) -> list[str]:
    """The models metric `name` reads (a ratio: those of its two sides)."""
    metric = definition(name)
    if metric.model is None:
        return [model for side in (metric.numerator, metric.denominator) for model in _metric_models(str(side))]
    return [metric.model]


def _note_metric_tables(name: str) -> None:
    for model in _metric_models(name):
        st.session_state.setdefault(_TABLES_READ, set()).update(_tables_in(model))


# --- which tables the current page read: the status banner lists only the checks that concern them ---------------


def _note_tables_read(sql: str) -> None:
    st.session_state.setdefault(_TABLES_READ, set()).update(_tables_in(sql))


def _tables_in(sql: str) -> set[str]:
    """Unqualified names of the tables `sql` reads, with the tables each mart among them is built from."""
    names = set()
    for schema, name in _TABLE.findall(sql):
        names.add(name)
        if schema == "marts":
            names |= _mart_lineage(name)
    return names


@cache
def _mart_lineage(mart: str) -> frozenset[str]:
    """The tables a mart is built from, transitively: a failed check on staged data concerns the marts made of it."""
    return frozenset(name.split(".", 1)[1] for name in lineage().upstream(f"marts.{mart}"))


def tables_read() -> set[str]:
    """Unqualified names of the marts/staging tables read by the reports of this page run, and of their sources."""
    return set(st.session_state.get(_TABLES_READ, set()))


# --- the frame: publication, checks, run history, people ------------------------------------------------------------


def _frame(name: str, **params: object) -> pd.DataFrame:
    """A query of the frame itself (data as of, banners, names), in `queries/dashboards/`: every signed-in role
    needs them, whatever its pages."""
    try:
        return _run(sql_file(f"dashboards/{name}"), params, name)
    except duckdb.CatalogException:  # a warehouse built before meta tables existed: no banner, not an error
        return pd.DataFrame()


def publication() -> Publication | None:
    """The published run this warehouse file is (`meta.publication`), or None."""
    rows = _frame("publication")
    if rows.empty:
        return None
    row = rows.iloc[0]
    return Publication(run_id=str(row["run_id"]), snapshot_at=row["snapshot_at"].to_pydatetime())


def failed_checks() -> pd.DataFrame:
    """Warn-level checks of the published run that did not pass."""
    return _frame("failed_checks")


def held_back() -> pd.DataFrame:
    """The marts the published run held back, one row per failed check that reached them, with the publication
    whose contents each keeps (`kept_*`, NULL when there was none)."""
    return _frame("held_back")


@cache
def _freshness_columns() -> dict[str, str]:
    """Staged table -> the timestamp column its freshness check reads (`queries/staging/checks.yml`)."""
    from pipelines.quality.staging_checks import load_staging_checks

    return {checks.table: checks.fresh for checks in load_staging_checks() if checks.fresh}


def newest_record(table: str) -> datetime | None:
    """The newest timestamp of staged `table`'s freshness column: where its figures stop."""
    column = _freshness_columns().get(table)
    if column is None:
        return None
    # Table and column come from the checks file (declarations, not input): quoted, not bound.
    rows = _run(f"select max({_quoted(column)}) as newest from staging.{_quoted(table)}", {}, table)
    newest = None if rows.empty else rows.iat[0, 0]
    return None if newest is None or pd.isna(newest) else pd.Timestamp(newest).to_pydatetime()


def metrics_from(table: str) -> list[str]:
    """Labels of the metrics the signed-in role may see that are computed from `table` (through their marts)."""
    from pipelines.metrics.definitions import definitions

    role = _role()
    return [
        metric.label
        for metric in definitions().values()
        if role in metric.audience and metric.model and table in _tables_in(metric.model)
    ]


def data_span() -> tuple[date, date] | None:
    """First and last UTC day with activity in the warehouse: the bounds of every date filter."""
    rows = _frame("data_span")
    if rows.empty or pd.isna(rows.iat[0, 0]):
        return None
    return rows.iat[0, 0], rows.iat[0, 1]


def runs(limit: int = 50) -> list[dict]:
    """The last `limit` ETL runs from the run history (`runs.jsonl` beside the warehouse), newest first, each with
    the checks that did not pass (`failed_checks`) in place of every check's result (`run_checks` reads a run's):
    read once per version of the history, not at each page run (a record is ~200 kB with them)."""
    path = paths().run_history
    return list(_summaries(path, file_version(path), limit))


@lru_cache(maxsize=1)
def _summaries(path: Path, history: str | None, limit: int) -> tuple[dict, ...]:
    """`history` is only the cache key."""
    return tuple(
        {key: value for key, value in run.items() if key != "checks"}
        | {"failed_checks": [check for check in run.get("checks") or [] if not check.get("success")]}
        for run in read_runs(path, limit=limit)
    )


def run_checks(run_id: str) -> list[dict]:
    """Every check result of run `run_id`, read from the history's end as far as that run (none when it is not
    there)."""
    found = (run for run in runs_newest_first(paths().run_history) if run.get("run_id") == run_id)
    return list(next(found, {}).get("checks") or [])


def latest_run() -> dict | None:
    """The newest run of the history, which every page's frame shows: read once per version of the file (a record
    is ~200 kB with its checks), not at each page run."""
    path = paths().run_history
    return _latest_run(path, file_version(path))


@lru_cache(maxsize=1)
def _latest_run(path: Path, history: str | None) -> dict | None:
    """`history` is only the cache key; one entry: a newer version is never asked for the older one's run."""
    return next(iter(read_runs(path, limit=1)), None)


ANNOTATION_COLUMNS = ("day", "kind", "label")
_MARKED_RUNS = ("partial", "blocked", "failed")  # runs that did not publish everything: a gap or a stale chart


def annotations() -> pd.DataFrame:
    """The marks of the time-series charts, one row per change (day, kind, label), by day: the platform's own
    changes (`marts.platform_annotations`) and the ETL runs of the run history held back, blocked or failed (the run
    history is not in the warehouse: a failed run publishes nothing). Every chart asks: made once per publication
    and run history, shared by every session (read only)."""
    return _annotations(warehouse_version(), file_version(paths().run_history))


@lru_cache(maxsize=4)
def _annotations(version: str | None, history: str | None) -> pd.DataFrame:
    """`version` and `history` are only the cache key."""
    changes = _frame("annotations")
    frames = [frame for frame in (changes, pd.DataFrame(_run_marks(paths().run_history))) if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=list(ANNOTATION_COLUMNS))
    marks = pd.concat([frame[list(ANNOTATION_COLUMNS)] for frame in frames], ignore_index=True)
    return marks.sort_values(list(ANNOTATION_COLUMNS), ignore_index=True)


# run history -> (the file's identity: device, inode and first bytes; bytes read; the marks of those)
_RUN_MARKS: dict[Path, tuple[tuple[int, int, bytes], int, list[dict[str, object]]]] = {}
_RUN_MARKS_LOCK = threading.Lock()
_HEAD_BYTES = 128  # the first run's id and start: another file (the history deleted, then runs again) starts otherwise


def _run_marks(path: Path) -> list[dict[str, object]]:
    """The marks of the runs of the history `path` held back, blocked or failed. Each run is read once per process:
    the history is only appended to (a run every 15 minutes, each line ~200 kB with its checks), so a call reads
    what was appended since the last; another file, or one cut short, is read again from its start."""
    with _RUN_MARKS_LOCK:  # (the file looked at under the lock: another call may have read further meanwhile)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return []
        with handle:  # one open file, looked at and read: not another one replacing it in between
            stat = os.fstat(handle.fileno())
            identity = (stat.st_dev, stat.st_ino, handle.read(_HEAD_BYTES))
            known, offset, marks = _RUN_MARKS.get(path, (identity, 0, []))
            if known != identity or stat.st_size < offset:
                offset, marks = 0, []
            runs, offset = runs_from(handle, offset)
        marks = marks + [
            {
                "day": utc_day(utc_instant(str(run["started_at"]))),
                "kind": "etl_run",
                "label": f"ETL run {run['status']}: {run.get('run_id')}",
            }
            for run in runs
            if run.get("status") in _MARKED_RUNS and run.get("started_at")
        ]
        _RUN_MARKS[path] = (identity, offset, marks)
        return marks


def alert_episodes() -> pd.DataFrame:
    """The alert episodes of the state beside the warehouse (docs/alerts.md), newest first: all of them for an
    admin, those of rules concerning the signed-in role for the others."""
    role = _role()
    episodes = [row for row in read_episodes(state_path()) if role == "admin" or row["role"] == role]
    return pd.DataFrame(episodes, columns=list(EPISODE_COLUMNS))


def people(user_ids: pd.Series) -> pd.Series:
    """How people are shown: "Name <email>" to roles that see personal data, a pseudonymous key to the others."""
    ids = user_ids.astype("string")
    if not sees_personal_data(_role()):
        return ids.map(pseudonymize, na_action="ignore")
    known = _frame("people", ids=sorted(set(ids.dropna())))
    # A redacted warehouse (etl run --redact-pii) has no names: fall back to the key rather than a blank.
    names = dict(zip(known.get("user_id", []), known.get("label", []), strict=True))
    return ids.map(lambda user_id: names.get(user_id) or pseudonymize(user_id), na_action="ignore")


def statement_files(month: date) -> tuple[bytes, Callable[[], bytes]]:
    """The month's revenue-share statements as CSV, and a function that makes them as XLSX, by the same code as
    `export revenue-share`. Streamlit calls the function on another thread when the button is clicked (what it needs
    is taken now, in the script run): at large the workbook takes seconds the page would wait for otherwise."""
    if not may_read("revenue_share"):
        raise OutOfScope(f"the {_role()} role may not export revenue share statements")
    version, as_of = warehouse_version(), _as_of()
    csv_file = _statement_csv(month, version, as_of)
    return csv_file, lambda: _statement_xlsx(month, version, as_of)


@st.cache_data(show_spinner=False, max_entries=24)
def _statement_csv(month: date, version: str | None, as_of: str | None) -> bytes:
    from pipelines.export.revenue_share import to_csv_bytes

    rows, _ = _statements(month, as_of)
    return to_csv_bytes(rows)


@st.cache_data(show_spinner=False, max_entries=24)
def _statement_xlsx(month: date, version: str | None, as_of: str | None) -> bytes:
    from pipelines.export.statement_xlsx import to_xlsx_bytes

    rows, source = _statements(month, as_of)
    return to_xlsx_bytes(month, rows, source)


def _statements(month: date, as_of: str | None) -> tuple[list[dict[str, Any]], revenue_share.Publication]:
    """The month's statement rows and the publication they come from."""
    from pipelines.export.revenue_share import publication, statement_rows

    reads = (sql_file("exports/revenue_share_statements"), sql_file("dashboards/publication"))  # what they run
    con = connect(warehouse_path(), read_only=True, as_of=as_of, copies=True, reads=reads)
    try:
        return statement_rows(con, month), publication(con)
    finally:
        con.close()


# --- month close (`pipelines.close`): the Revenue share page's state of a month and its "Close month" button ------

CLOSING_ROLES = frozenset({"admin", "finance"})


def month_close(month: date) -> close.MonthClose | None:
    """The close of `month` (its first day), None while open; read live from the closes file, not the warehouse."""
    if not may_read("revenue_share"):
        raise OutOfScope(f"the {_role()} role may not read month closes")
    return close.month_close(month)


def may_close_months() -> bool:
    return _role() in CLOSING_ROLES


def close_month(month: date) -> close.MonthClose:
    """Close `month` as the signed-in user, by the function of `ebook-analytics close-month` (UserError if refused)."""
    if not may_close_months():
        raise OutOfScope(f"the {_role()} role may not close months")
    user = current_user()
    return close.close_month(month, user=user.email, role=user.role)


# --- the audit log: downloads are recorded through `record_download`; only admins read the log ------------------


def record_download(what: str, action: str = "download") -> None:
    """A download button's on-click: append who took `what`, from which page with which on-screen filters (the URL's
    query parameters), and from which publication, to the audit log (`pipelines.audit`)."""
    user = current_user()
    source = publication()
    filters = {"page": st.session_state.get(_PAGE, "")} | {
        key: ",".join(st.query_params.get_all(key)) for key in sorted(st.query_params)
    }
    audit.record(
        action,
        what,
        filters=filters,
        run_id=source.run_id if source else None,
        user=user.email,
        role=user.role,
    )


def audit_entries() -> pd.DataFrame:
    """The audit log, newest first, for the Audit log page (admins only)."""
    if not may_read("audit_log"):
        raise OutOfScope(f"the {_role()} role may not read the audit log")
    entries = audit.read()
    frame = pd.DataFrame(entries, columns=list(audit.FIELDS))
    frame["filters"] = frame["filters"].map(lambda filters: "; ".join(f"{k}={v}" for k, v in filters.items()))
    frame["files"] = frame["files"].map("; ".join)
    return frame


# --- the page's report pack: every chart and table the page drew this run, as one workbook ------------------------


def note_section(title: str, key: str, frame: pd.DataFrame) -> None:
    """Called by `charts.chart` and `charts.table`: a chart or table of this run, with exactly its CSV's data."""
    from pipelines.export.report_pack import Section

    st.session_state.setdefault(_SECTIONS, []).append(Section(title=title, key=key, frame=frame))


def open_warnings(tables: set[str]) -> list[tuple[str, str, int]]:
    """The published run's warn-level check failures about `tables` (unqualified names): (check, table, count)."""
    failed = failed_checks()
    if failed.empty:
        return []
    concerned = failed[failed["table_name"].map(lambda table: str(table or "").rsplit(".", 1)[-1]).isin(tables)]
    return [(str(row.name), str(row.table_name), int(row.unexpected_count)) for row in concerned.itertuples()]


def page_pack(title: str, file_format: str = "xlsx") -> Callable[[], bytes]:
    """The report pack of the page this run drew (cover: page, role, filters, data as of, run id, open warnings;
    one sheet or PDF section per chart and table), as a function that makes it: everything it needs is taken now, in
    the script run, because Streamlit calls it on another thread when the button is clicked."""
    from pipelines.export.report_pack import WRITERS

    source = publication()
    contents = {
        "page": title,
        "role": _role(),
        "filters": [(key, ",".join(st.query_params.get_all(key))) for key in sorted(st.query_params)],
        "data_as_of": source.snapshot_at if source else None,
        "run_id": source.run_id if source else None,
        "warnings": [f"{name} on {table}: {count} unexpected" for name, table, count in open_warnings(tables_read())],
        "sections": list(st.session_state.get(_SECTIONS, [])),
    }
    return lambda: WRITERS[file_format](**contents)

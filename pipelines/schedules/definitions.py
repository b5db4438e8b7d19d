"""Schedule files: one YAML file per schedule in the schedules folder (`schedules_dir`, default `<home>/schedules`),
named after the schedule (`<name>.yml`). Each says what to send (a page's report pack or the month's statement pack),
when (`pipelines.schedules.when`), and where: email recipients (`to`), a folder, or both.

    report: {page: ai_cost, role: analyst, format: pdf, last_days: 7, filters: {provider: OpenAI}}
    when: weekly on monday at 06:00
    to: [finance@example.com]
    folder: /srv/reports

A file that does not validate stops the command with one line naming the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from dashboards import pages
from dashboards.report import FORMATS as REPORT_FORMATS
from pipelines.config import paths, setting
from pipelines.errors import UserError
from pipelines.export.revenue_share import parse_period
from pipelines.export.statement_pack import PACK_FORMATS
from pipelines.schedules.when import When, WhenError, parse_when

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EMAIL = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")
_KEYS = {"report", "statements", "when", "to", "folder"}
_REPORT_KEYS = {"page", "role", "format", "filters", "start", "end", "last_days"}
_STATEMENT_KEYS = {"period", "format"}
PREVIOUS_MONTH = "previous_month"


@dataclass(frozen=True)
class ReportSpec:
    page: str
    role: str
    file_format: str
    filters: tuple[tuple[str, str], ...]  # KEY=VALUE pairs as in the page's URL, in the file's order
    start: date | None
    end: date | None
    last_days: int | None  # the N whole UTC days before the due day

    def dates(self, due_at: datetime) -> tuple[date | None, date | None]:
        if self.last_days is None:
            return self.start, self.end
        end = due_at.date() - timedelta(days=1)
        return end - timedelta(days=self.last_days - 1), end


@dataclass(frozen=True)
class StatementSpec:
    period: str  # `previous_month` (of the due time) or YYYY-MM
    formats: tuple[str, ...]

    def month(self, due_at: datetime) -> date:
        if self.period == PREVIOUS_MONTH:
            return (due_at.date().replace(day=1) - timedelta(days=1)).replace(day=1)
        return parse_period(self.period)


@dataclass(frozen=True)
class Schedule:
    name: str
    path: Path
    what: ReportSpec | StatementSpec
    when: When
    to: tuple[str, ...]
    folder: Path | None

    @property
    def description(self) -> str:
        if isinstance(self.what, ReportSpec):
            return f"{pages.page(self.what.page).title} report pack ({self.what.file_format}, {self.what.role})"
        return f"statement pack ({','.join(self.what.formats)}, {self.what.period})"


def schedules_dir() -> Path:
    return Path(setting("schedules_dir") or paths().home / "schedules")


def _fail(path: Path, field: str, problem: str) -> UserError:
    where = f"{path}: `{field}`" if field else str(path)
    return UserError(f"{where} {problem}; fix the schedule file")


def _mapping(value: Any, path: Path, field: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, field, "must be a mapping")
    unknown = sorted(str(key) for key in value.keys() - allowed)
    if unknown:
        name = f"{field}.{unknown[0]}" if field else unknown[0]
        raise _fail(path, name, f"is not a field here (fields: {', '.join(sorted(allowed))})")
    return value


def _date(value: Any, path: Path, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _fail(path, field, f"{value!r} is not a date; write YYYY-MM-DD") from None


def _report(data: Any, path: Path) -> ReportSpec:
    spec = _mapping(data, path, "report", _REPORT_KEYS)
    page_key, role = spec.get("page"), spec.get("role")
    if page_key not in pages.PAGES_BY_KEY:
        raise _fail(path, "report.page", f"{page_key!r} is not a page; one of {', '.join(pages.PAGES_BY_KEY)}")
    page = pages.page(page_key)
    if role not in page.roles:
        raise _fail(
            path, "report.role", f"{role!r} may not open the {page.title} page; one of {', '.join(sorted(page.roles))}"
        )
    file_format = spec.get("format", "pdf")
    if file_format not in REPORT_FORMATS:
        raise _fail(path, "report.format", f"{file_format!r} is not one of {', '.join(REPORT_FORMATS)}")
    filters = spec.get("filters", {})
    if not isinstance(filters, dict):
        raise _fail(path, "report.filters", "must be a mapping of the page's URL filters (e.g. provider: OpenAI)")
    pairs: list[tuple[str, str]] = []
    for key, value in filters.items():
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(item, dict | list) or item is None for item in values):
            raise _fail(path, f"report.filters.{key}", "must be a value or a list of values")
        pairs += [(str(key), str(item)) for item in values]
    start = _date(spec["start"], path, "report.start") if "start" in spec else None
    end = _date(spec["end"], path, "report.end") if "end" in spec else None
    if (start is None) != (end is None) or (start and end and start > end):
        raise _fail(path, "report.start", "and `report.end` go together, start first")
    last_days = spec.get("last_days")
    if last_days is not None and (not isinstance(last_days, int) or isinstance(last_days, bool) or last_days < 1):
        raise _fail(path, "report.last_days", "must be a whole number of days, 1 or more")
    if last_days is not None and start is not None:
        raise _fail(path, "report.last_days", "cannot go with `report.start` and `report.end`; keep one")
    return ReportSpec(page_key, role, file_format, tuple(pairs), start, end, last_days)


def _statements(data: Any, path: Path) -> StatementSpec:
    spec = _mapping(data or {}, path, "statements", _STATEMENT_KEYS)
    period = str(spec.get("period", PREVIOUS_MONTH))
    if period != PREVIOUS_MONTH:
        try:
            parse_period(period)
        except UserError:
            raise _fail(path, "statements.period", f"{period!r} is not {PREVIOUS_MONTH} or YYYY-MM") from None
    text = spec.get("format", ",".join(PACK_FORMATS))
    wanted = [part.strip() for part in (text if isinstance(text, list) else str(text).split(","))]
    if not wanted or any(part not in PACK_FORMATS for part in wanted):
        raise _fail(path, "statements.format", f"{text!r} is not pdf, csv or pdf,csv")
    return StatementSpec(period, tuple(fmt for fmt in PACK_FORMATS if fmt in wanted))


def parse_schedule(data: Any, path: Path) -> Schedule:
    """A schedule from its file's parsed YAML; a `UserError` naming the file and field when it does not validate."""
    name = path.stem
    if not _NAME.fullmatch(name):
        raise _fail(path, "", "is not a schedule name; name the file with lower-case letters, digits, - and _")
    fields = _mapping(data, path, "", _KEYS) if data is not None else {}
    if ("report" in fields) == ("statements" in fields):
        raise _fail(path, "report", "or `statements`: give exactly one (what the schedule sends)")
    what = _report(fields["report"], path) if "report" in fields else _statements(fields["statements"], path)
    if "when" not in fields:
        raise _fail(path, "when", "is missing (e.g. daily at 06:00)")
    try:
        when = parse_when(str(fields["when"]))
    except WhenError as exc:
        raise _fail(path, "when", str(exc)) from None
    to = fields.get("to", [])
    to = [to] if isinstance(to, str) else to
    if not isinstance(to, list):
        raise _fail(path, "to", f"{to!r} is not an email address or a list of them")
    for address in to:
        if not isinstance(address, str) or not _EMAIL.fullmatch(address):
            raise _fail(path, "to", f"{address!r} is not an email address")
    folder = fields.get("folder")
    if folder is not None and (not isinstance(folder, str) or not folder.strip()):
        raise _fail(path, "folder", "must be a folder path")
    if not to and folder is None:
        raise _fail(path, "to", "or `folder`: give at least one (where the schedule delivers)")
    return Schedule(
        name=name,
        path=path,
        what=what,
        when=when,
        to=tuple(to),
        # A relative folder is under the data folder, wherever the command starts.
        folder=None if folder is None else paths().home / Path(folder).expanduser(),
    )


def load_schedules(directory: Path | None = None) -> list[Schedule]:
    """Every schedule file (`*.yml`, `*.yaml`) of the folder, by name; none when the folder does not exist."""
    directory = directory or schedules_dir()
    if not directory.is_dir():
        return []
    found = []
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(path, "", f"cannot be read ({exc})") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            raise _fail(path, "", f"is not YAML{line}: {getattr(exc, 'problem', None) or exc}") from exc
        found.append(parse_schedule(data, path))
    names = [schedule.name for schedule in found]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate:
        raise UserError(f"{directory}: two files define the schedule {duplicate} (.yml and .yaml); keep one")
    return found

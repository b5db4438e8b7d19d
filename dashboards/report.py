"""`ebook-analytics report`: a page's report pack (the "Download page (XLSX)" workbook, or the same as a PDF) from the
command line, for cron and for the scheduled deliveries (`pipelines.schedules`).

The page's own script draws it, headless, in Streamlit's in-process runner (`streamlit.testing.v1.AppTest`, the one
way to run a page script without a browser session): so the pack holds exactly what the page would show that role
with those filters, through the same data module and its scope rules (an analyst's pack carries pseudonyms, never an
email). The role is a scope chosen by whoever runs the command, who can read the warehouse file anyway.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboards import pages
from pipelines import audit
from pipelines.arguments import day
from pipelines.config import paths
from pipelines.errors import UserError
from pipelines.publish import lake

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

TIMEOUT_SECONDS = 300
FORMATS = ("xlsx", "pdf")


@dataclass(frozen=True)
class ReportPack:
    content: bytes
    run_id: str | None
    title: str  # the page's title
    query: dict[str, list[str]]  # the URL query the pack was drawn with (a date range the page has none of left out)


def define_report(report: argparse.ArgumentParser) -> None:
    report.add_argument("--page", required=True, choices=[page.key for page in pages.REGISTRY], help="the page")
    report.add_argument("--role", required=True, choices=pages.ROLES, help="whose view: the pack follows its scope")
    report.add_argument("--start", type=day, metavar="YYYY-MM-DD", help="first UTC day (inclusive)")
    report.add_argument("--end", type=day, metavar="YYYY-MM-DD", help="last UTC day (inclusive)")
    report.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an on-screen filter as in the page's URL (e.g. provider=OpenAI, month=2024-03); repeat for more",
    )
    report.add_argument("--format", required=True, choices=FORMATS, help="file format")
    report.add_argument("--out", required=True, type=Path, metavar="PATH", help="file to write")
    report.set_defaults(func=_report)


def page_query(start: date | None, end: date | None, filters: Sequence[str]) -> dict[str, list[str]]:
    """The page's URL query parameters: `dates` from --start/--end, then each --filter (repeated keys add values)."""
    query: dict[str, list[str]] = {}
    if (start is None) != (end is None):
        raise UserError("give both --start and --end, or neither (the page's default range)")
    if start is not None and end is not None:
        if start > end:
            raise UserError(f"--start {start} is after --end {end}; swap them")
        query["dates"] = [start.isoformat(), end.isoformat()]
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--filter {item!r} is not KEY=VALUE; write it as in the page's URL, e.g. provider=OpenAI")
        query.setdefault(key.strip(), []).append(value.strip())
    return query


def _page_script(page_key: str, role: str, user: str, file_format: str) -> None:
    """Runs inside the headless runner: the page as `role` sees it, then its pack into the session state."""
    import runpy

    import streamlit as st

    from dashboards import data, filters
    from dashboards.auth import User
    from dashboards.pages import page

    data.start_run(User(email=user, role=role))
    data.open_page(page_key)
    asked = filters.start_run()
    runpy.run_path(str(page(page_key).view_path))
    # A page without a date range shows all of it: a range asked for (--start/--end, a schedule's last_days) does not
    # apply, is no mistake, and is not claimed by the pack (its cover lists the URL's parameters).
    if "dates" not in filters.offered():
        asked.pop("dates", None)
        st.query_params.pop("dates", None)
    st.session_state["report_query"] = asked  # what the pack was drawn with, once nothing of it is ignored (below)
    st.session_state["report_ignored"] = filters.ignored(asked)
    st.session_state["report_pack"] = data.page_pack(page(page_key).title, file_format)()
    source = data.publication()
    st.session_state["report_run_id"] = source.run_id if source else None


def check_role(page_key: str, role: str) -> None:
    page = pages.page(page_key)
    if role not in page.roles:
        raise UserError(
            f"the {role} role may not open the {page.title} page; choose one of {', '.join(sorted(page.roles))}"
        )


def headless(script: Callable[..., None], args: tuple[Any, ...], timeout: float) -> AppTest:
    """A runner of `script` (a page's, as a function) drawn headless: Streamlit's AppTest, outside any server.
    Quiet: made outside a script run, it logs "missing ScriptRunContext" otherwise (Streamlit's own note says to
    ignore it), in the dashboard's log at every warm-up and on every `report`."""
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    os.environ.setdefault("STREAMLIT_SERVER_HEADLESS", "true")
    scan_installed_components_once()
    return AppTest.from_function(script, args=args, default_timeout=timeout)


def scan_installed_components_once() -> None:
    """Each new runner scans every installed distribution's metadata for Streamlit components (0.15-0.3 CPU-s, more
    than drawing a small page); nothing is installed while a process runs, so its first scan serves every page it
    draws: a warm-up draws one per role and page, a scheduled delivery one per pack."""
    from streamlit.components.v2 import manifest_scanner

    if not hasattr(manifest_scanner.scan_component_manifests, "cache_info"):
        manifest_scanner.scan_component_manifests = cache(manifest_scanner.scan_component_manifests)


def build_pack(page_key: str, role: str, query: dict[str, list[str]], file_format: str) -> ReportPack:
    """The page drawn headless for `role` with the URL's `query`, and its pack in `file_format` (xlsx or pdf)."""
    check_role(page_key, role)
    page = pages.page(page_key)
    if lake.version(lake.configured()) is None:
        raise UserError(f"no warehouse at {paths().warehouse}; run `ebook-analytics etl run` first")
    runner = headless(_page_script, (page_key, role, audit.cli_user(), file_format), TIMEOUT_SECONDS)
    runner.query_params.update(query)
    runner.run()
    if runner.exception:
        raise UserError(f"the {page.title} page failed: {runner.exception[0].message}; rerun with --debug")
    if "report_pack" not in runner.session_state:  # the page stopped early, e.g. on an empty warehouse
        shown = " ".join(element.value for element in [*runner.info, *runner.error])
        raise UserError(f"the {page.title} page drew nothing to pack ({shown or 'it stopped'}); publish data first")
    ignored = runner.session_state["report_ignored"]
    if ignored:  # a pack without the filter asked for would pass for one with it
        raise UserError(
            f"the {page.title} page did not take {'; '.join(ignored).replace('`', '')}; "
            "write each filter as in the page's URL, with a value the page lists"
        )
    return ReportPack(
        content=runner.session_state["report_pack"],
        run_id=runner.session_state["report_run_id"],
        title=page.title,
        query=runner.session_state["report_query"],
    )


def pack_filters(page_key: str, role: str, query: dict[str, list[str]]) -> dict[str, str]:
    """The pack's options as the audit log records them."""
    return {"page": page_key, "role": role, **{key: ",".join(values) for key, values in query.items()}}


def _report(args: argparse.Namespace) -> int:
    check_role(args.page, args.role)
    query = page_query(args.start, args.end, args.filter)
    pack = build_pack(args.page, args.role, query, args.format)
    audit.record(
        "report pack",
        f"{pack.title} report pack ({args.format})",
        filters=pack_filters(args.page, args.role, pack.query),
        run_id=pack.run_id,
        files=[str(args.out.absolute())],
    )
    try:
        args.out.write_bytes(pack.content)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror}; choose another --out path") from exc
    print(f"wrote the {pack.title} report pack for the {args.role} role to {args.out}")
    return 0

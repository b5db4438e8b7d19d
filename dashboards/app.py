"""The dashboards' entrypoint: sign-in, the navigation of the pages the role may open, and the frame around them.

`ebook-analytics dashboard` serves it (through `dashboards/server.py`). On every run: sign in, register the pages
`allowed_pages(role)` returns (the others hidden, answering "no access"), then render the chosen page inside the
frame: its title, "data as of", and a banner when the last ETL run did not publish, when the published one held back
a mart the page read (with the time of the publication it still shows and the failed checks), or carries warnings
about the data the page read.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards import data, filters, pages
from dashboards.auth import allowed_pages, auth_notice, require_user
from pipelines.publish.lake import CatalogDiskFull


def _navigation(keys: list[str]) -> st.Page:
    """The role's pages from the registry (`dashboards.pages`), in its order; the first is the default. Every other
    page is registered hidden, answering its links with "no access" (unregistered, Streamlit would silently show
    the default page instead)."""
    visible = [
        st.Page(page.view_path, title=page.title, icon=page.icon, url_path=page.key, default=index == 0)
        for index, page in enumerate(pages.page(key) for key in keys)
    ]
    hidden = [
        st.Page(partial(_no_access, page.title, visible), title=page.title, url_path=page.key, visibility="hidden")
        for page in pages.REGISTRY
        if page.key not in keys
    ]
    return st.navigation(visible + hidden)


def _no_access(title: str, visible: list[st.Page]) -> None:
    """What a link to a page the role may not open shows instead: the refusal and the pages it may open."""
    st.error(f"You do not have access to {title}.", icon=":material/block:")
    st.markdown("Pages you can open:")
    for page in visible:
        st.page_link(page)


def _data_as_of() -> None:
    publication = data.publication()
    if publication is None:
        st.caption("Data as of: unknown (this warehouse records no publication)")
        return
    st.caption(
        f"Data as of **{publication.snapshot_at:%Y-%m-%d %H:%M} UTC** · run `{publication.run_id}` · "
        "days are UTC calendar days"
    )


def _unqualified(table: object) -> str:
    return str(table or "").rsplit(".", 1)[-1]


def _page_pack_button(title: str, key: str) -> None:
    """The sidebar's "Download page (XLSX)": every chart and table of this run in one workbook (made on click)."""
    publication = data.publication()
    name = f"{key}-{publication.snapshot_at:%Y-%m-%d}.xlsx" if publication else f"{key}.xlsx"
    st.sidebar.download_button(
        "Download page (XLSX)",
        data.page_pack(title),
        file_name=name,
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="page_pack",
        icon=":material/download:",
        on_click=data.record_download,
        args=(name, "report pack"),
    )


def _status_banner(tables: set[str]) -> None:
    """Say when the data may be stale or doubtful, naming the checks that concern the tables this page read."""
    publication = data.publication()
    latest = data.latest_run()
    superseded = publication is not None and latest is not None and latest.get("run_id") == publication.run_id
    if latest and latest.get("status") != "published" and not superseded:
        failing = [
            check
            for check in latest.get("checks") or []
            if not check.get("success") and _unqualified(check.get("table")) in tables
        ]
        reason = f": {latest['error']}" if latest.get("error") else ""
        lines = [
            f"The last ETL run `{latest.get('run_id')}` ({latest.get('finished_at')}) was "
            f"**{latest.get('status')}**{reason}. This page shows the last published data."
        ]
        lines += [f"- `{c.get('name')}` on `{c.get('table')}`: {c.get('unexpected_count')} unexpected" for c in failing]
        st.error("\n".join(lines), icon=":material/block:")
    _held_back_banner(tables)
    warnings = data.failed_checks()
    if not warnings.empty:
        warnings = warnings[warnings["table_name"].map(_unqualified).isin(tables)]
    if warnings.empty:
        return
    snapshot = publication.snapshot_at if publication else None
    st.warning("\n".join(f"- {_in_words(row, snapshot)}" for row in warnings.itertuples()), icon=":material/warning:")
    with st.expander("Details: the checks behind this warning"):
        st.markdown(
            "\n".join(
                f"- `{row.name}` on `{row.table_name}`: {row.unexpected_count} unexpected"
                for row in warnings.itertuples()
            )
            + "\n\nEvery check of every run: the **Data quality** page."
        )


# What a staged table holds, for readers; other tables read as their name.
SUBJECTS = {
    "ai_generations": "AI cost data",
    "user_events": "Activity data",
    "usage_records": "Usage data",
    "revenue_shares": "Revenue share data",
    "user_subscriptions": "Subscription data",
    "content_versions": "Writing data",
}


def _in_words(check: object, snapshot: datetime | None) -> str:
    """A failed check as the reader needs it: what is affected and how, e.g. "AI cost data is 3 days old; figures
    after Nov 27 are missing"."""
    table = _unqualified(getattr(check, "table_name", ""))
    kind = str(getattr(check, "name", "")).rsplit(".", 1)[-1]
    subject = SUBJECTS.get(table, f"{table.replace('_', ' ').capitalize()} data")
    affected = data.metrics_from(table)
    figures = f" Affected: {', '.join(affected[:4])}{', …' if len(affected) > 4 else '.'}" if affected else ""
    newest = data.newest_record(table) if kind == "freshness" else None
    if newest is not None and snapshot is not None:
        age = (snapshot.date() - newest.date()).days
        return (
            f"**{subject}** is {age:,} day{'s' if age != 1 else ''} old; figures after {newest:%b %d, %Y} are "
            f"missing.{figures}"
        )
    count = getattr(check, "unexpected_count", 0)
    return (
        f"**{subject}**: {count:,} row{'s' if count != 1 else ''} failed a check ({kind.replace('_', ' ')}); "
        f"figures built from them may be off.{figures}"
    )


def _ignored_notice(reasons: list[str]) -> None:
    """Say which parameters of the link were not used, and why: a silent fallback looks like the asked-for view."""
    if reasons:
        lines = ["Parts of the link were ignored; the page shows its defaults for them:"]
        st.info("\n".join(lines + [f"- {reason}" for reason in reasons]), icon=":material/link_off:")


FRAME_CSS = Path(__file__).with_name("frame.css")
FRAME_JS = Path(__file__).with_name("frame.js")


def _phone_and_keyboard() -> None:
    """Focus rings on every interactive element; on a phone, the sidebar closes once a page is chosen."""
    st.html(
        f"<style>{FRAME_CSS.read_text()}</style><script>{FRAME_JS.read_text()}</script>",
        unsafe_allow_javascript=True,
    )


def _held_back_banner(tables: set[str]) -> None:
    """Name the marts of this page the published run held back, the publication they still show and why."""
    held = data.held_back()
    if held.empty:
        return
    held = held[held["mart"].isin(tables)]
    lines = []
    for mart, rows in held.groupby("mart", sort=True):
        first = rows.iloc[0]
        if pd.isna(first["kept_run_id"]):
            kept = "it has no earlier publication, so it is empty"
        else:
            kept = (
                f"it shows the last good publication, data as of {first['kept_snapshot_at']:%Y-%m-%d %H:%M} UTC "
                f"(run `{first['kept_run_id']}`, published {first['kept_published_at']:%Y-%m-%d %H:%M} UTC)"
            )
        lines.append(f"**`{mart}` is held back**: {kept}. Failed checks:")
        for row in rows.itertuples():
            lines.append(f"- `{row.check_name}` on `{row.table_name}`: {row.unexpected_count} unexpected")
    if lines:
        st.error("\n".join(lines), icon=":material/block:")


def main() -> None:
    st.set_page_config(page_title="Ebook analytics", page_icon=":material/menu_book:", layout="wide")
    _phone_and_keyboard()
    user = require_user()
    auth_notice()  # Sign out in the sidebar, or the "no authentication: local only" notice
    try:
        data.start_run(user)
    except CatalogDiskFull as exc:  # the operator's to fix; nothing is lost
        st.error(
            f"The warehouse cannot be read now: {exc}. Reload this page once there is space.", icon=":material/error:"
        )
        st.stop()
    keys = allowed_pages(user.role)
    if not keys:
        st.error(f"Your role ({user.role}) gives access to no page. Ask an admin for another role.")
        st.stop()
    page = _navigation(keys)
    if page.visibility == "hidden":
        page.run()  # a link to a page this role may not open: say so, and offer the pages it may
        st.stop()
    st.title(page.title)
    if data.warehouse_version() is None:
        st.info(
            f"No warehouse has been published yet at `{data.warehouse_path()}`. "
            "Run `ebook-analytics etl run` (or `ebook-analytics demo`) and reload this page.",
            icon=":material/hourglass_empty:",
        )
        st.stop()
    _data_as_of()
    banner = st.container()
    asked = filters.start_run()
    try:
        page.run()
        _page_pack_button(page.title, page.url_path)
    finally:
        with banner:
            _ignored_notice(filters.ignored(asked))
            _status_banner(data.tables_read())


main()

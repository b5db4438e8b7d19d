"""The dashboards' entrypoint: sign-in, the navigation of the pages the role may open, and the frame around them.

`ebook-analytics dashboard` runs `streamlit run dashboards/app.py`. On every run: sign in, register only the pages
`allowed_pages(role)` returns, then render the chosen page inside the frame: its title, "data as of", and a banner
when the last ETL run did not publish, when the published one held back a mart the page read (with the time of the
publication it still shows and the failed checks), or carries warnings about the data the page read.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, pages
from dashboards.auth import allowed_pages, auth_notice, require_user


def _navigation(keys: list[str]) -> st.Page:
    """The role's pages from the registry (`dashboards.pages`), in its order; the first is the default."""
    registered = [pages.page(key) for key in keys]
    return st.navigation(
        [
            st.Page(page.view_path, title=page.title, icon=page.icon, url_path=page.key, default=index == 0)
            for index, page in enumerate(registered)
        ]
    )


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
    latest = next(iter(data.runs(limit=1)), None)
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
    warnings = data.open_warnings(tables)
    if warnings:
        lines = ["Published with warnings about the data on this page:"]
        lines += [f"- `{name}` on `{table}`: {count} unexpected" for name, table, count in warnings]
        st.warning("\n".join(lines), icon=":material/warning:")


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
    user = require_user()
    auth_notice()  # Sign out in the sidebar, or the "no authentication: local only" notice
    data.start_run(user)
    keys = allowed_pages(user.role)
    if not keys:
        st.error(f"Your role ({user.role}) gives access to no page. Ask an admin for another role.")
        st.stop()
    page = _navigation(keys)
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
    try:
        page.run()
        _page_pack_button(page.title, page.url_path)
    finally:
        with banner:
            _status_banner(data.tables_read())


main()

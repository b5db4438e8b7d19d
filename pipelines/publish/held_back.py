"""Held-back marts keep their previous publication: the build gets the live warehouse's tables back before publishing.

A failed error-level check holds back the marts built from the failing table (`pipelines.quality.gate.held_back`);
every other mart publishes fresh. Each held-back mart is replaced in the build by its table in the live warehouse,
and `meta.held_back` records which publication it keeps (the last publication's own, or, when the mart was already held
back there, the one it kept), so pages can say "as published at" and which checks failed. With no live warehouse
(a first run), or a live one without the mart, it is published empty and `kept_run_id` is NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import duckdb

Kept = tuple[str | None, datetime | None, datetime | None]  # run_id, snapshot_at, published_at
_NOTHING_KEPT: Kept = (None, None, None)


def keep_previous(con: duckdb.DuckDBPyConnection, held: Mapping[str, list[str]], previous: str | None) -> None:
    """Give each held-back mart (name -> failed checks) its contents in `previous` (the attached catalog of the last
    publication, or None) and record it in `meta.held_back`; marts not held back keep what the build made of them."""
    con.execute("delete from meta.held_back")
    if not held:
        return
    kept: dict[str, Kept] = {}
    if previous is not None:
        kept = _kept_in_previous(con, previous)
    for mart, checks in sorted(held.items()):
        if mart in kept:
            con.execute(f"create or replace table marts.{mart} as select * from {previous}.marts.{mart}")
        else:  # nothing to keep: the mart is published empty, with the columns this build gave it
            con.execute(f"create or replace table marts.{mart} as select * from marts.{mart} limit 0")
        run_id, snapshot_at, published_at = kept.get(mart, _NOTHING_KEPT)
        con.execute(
            "insert into meta.held_back values ($mart, $checks, $run_id, $snapshot_at, $published_at)",
            {
                "mart": mart,
                "checks": checks,
                "run_id": run_id,
                "snapshot_at": snapshot_at,
                "published_at": published_at,
            },
        )


def _kept_in_previous(con: duckdb.DuckDBPyConnection, previous: str) -> dict[str, Kept]:
    """For each mart of the previous publication, the publication its contents come from."""
    marts = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = $catalog "
            "and table_schema = 'marts'",
            {"catalog": previous},
        ).fetchall()
    ]
    row = con.execute(f"select run_id, snapshot_at, published_at from {previous}.meta.publication").fetchone()
    publication: Kept = (row[0], row[1], row[2]) if row else _NOTHING_KEPT
    already: dict[str, Kept] = {}
    try:
        rows = con.execute(
            f"select mart, kept_run_id, kept_snapshot_at, kept_published_at from {previous}.meta.held_back"
        ).fetchall()
        already = {mart: (run_id, snapshot_at, published_at) for mart, run_id, snapshot_at, published_at in rows}
    except duckdb.CatalogException:  # published before held-back marts existed
        pass
    return {mart: already.get(mart, publication) for mart in marts}

"""The warehouse connection: UTC sessions and the house SQL macros (`queries/macros/`) on every connection."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines import warehouse


def test_every_connection_has_the_macros_even_read_only(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    con = warehouse.connect(path, read_only=True)
    con.execute("set TimeZone = 'America/New_York'")  # a session in another zone still gets UTC days
    row = con.execute(
        "select picked($none, 'a'), picked($some, 'a'), picked($some, 'b'), picked($some, null), "
        "utc_day(timestamptz '2024-01-01 23:30:00-05'), utc_day(timestamptz '2024-01-01 18:59:59.999999-05'), "
        "utc_day(null::timestamptz)",
        {"none": [], "some": ["b", "c"]},
    ).fetchone()
    assert row == (True, False, True, None, date(2024, 1, 2), date(2024, 1, 1), None)
    con.close()

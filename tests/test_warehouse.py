"""The warehouse connection: UTC sessions and the house SQL macros (`queries/macros/`) on every connection."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import duckdb_extensions, warehouse
from pipelines.duckdb_extensions import CHECKED_RECORD, CONNECT_CONFIG, DUCKLAKE, POSTGRES, check_signature


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


def test_extensions_are_linked_from_their_wheels_and_relinked_after_an_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", str(tmp_path / "home"))
    linked = POSTGRES.path()
    assert linked == tmp_path / "home" / "duckdb_extensions" / "postgres_scanner.duckdb_extension"
    assert linked.is_symlink() and linked.resolve().name == "postgres.duckdb_extension"
    assert f"v{duckdb.__version__}" in str(linked.readlink())
    # A data folder from an earlier release holds a copy of that release's file: it is replaced, not loaded.
    linked.unlink()
    linked.write_bytes(b"an older release's extension")
    assert POSTGRES.path().is_symlink()
    con = duckdb.connect()
    POSTGRES.load(con)
    assert con.execute(
        "select loaded from duckdb_extensions() where extension_name = 'postgres_scanner'"
    ).fetchone() == (True,)
    assert sorted(path.name for path in linked.parent.iterdir()) == ["postgres_scanner.duckdb_extension"]


def test_an_extension_file_is_checked_once_and_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections opened with CONNECT_CONFIG skip DuckDB's signature check (a hash of the whole file at every load):
    each file is checked once, and again when it changes on disk; a file DuckDB did not sign is refused. A wheel's
    own file, once checked, is recorded under the home for the next processes; a record of any other file is no
    use."""
    monkeypatch.setenv("EBOOK_ANALYTICS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(duckdb_extensions, "_checked", {})  # as a new process: nothing checked yet
    record = tmp_path / "home" / "duckdb_extensions" / CHECKED_RECORD
    bundled = DUCKLAKE.path().resolve()
    check_signature(bundled)
    check_signature(bundled)  # checked already: not loaded again
    assert json.loads(record.read_text()) == {str(bundled): version_of(bundled)}
    # A copy with one byte changed: a file of its own, so checked, and refused before it is ever loaded, even with a
    # record claiming it was checked (only the wheels' files are taken from the record).
    tampered = tmp_path / "ducklake.duckdb_extension"
    content = bytearray(bundled.read_bytes())
    content[len(content) // 2] ^= 0xFF
    tampered.write_bytes(bytes(content))
    record.write_text(json.dumps({str(bundled): version_of(bundled), str(tampered.resolve()): version_of(tampered)}))
    with pytest.raises(duckdb.Error, match="signature"):
        check_signature(tampered)
    # The record of the wheel's file at another version (an upgrade, a file replaced): checked again, recorded anew.
    record.write_text(json.dumps({str(bundled): [0, 0, 0, 0]}))
    monkeypatch.setattr(duckdb_extensions, "_checked", {})
    check_signature(bundled)
    assert json.loads(record.read_text()) == {str(bundled): version_of(bundled)}
    con = duckdb.connect(config=CONNECT_CONFIG)  # how readers and the ETL open DuckDB
    DUCKLAKE.load(con)
    assert con.execute("select loaded from duckdb_extensions() where extension_name = 'ducklake'").fetchone() == (True,)


def version_of(file: Path) -> list[int]:
    stat = file.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new warehouse file opened as the ETL opens it: the house macros defined."""
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    con = warehouse.connect(path)
    yield con
    con.close()


def test_on_utc_days_is_a_range_of_the_instant_row_groups_are_skipped_by(con: duckdb.DuckDBPyConnection) -> None:
    """`on_utc_days(ts, first, last)`: the UTC days first..last whatever the session's zone, NULL for no bound; and a
    range of the column itself, which the scan checks against each row group's minimum and maximum (a condition on
    `utc_day(ts)` would be computed for every row)."""
    con.execute("set TimeZone = 'America/New_York'")
    con.execute(
        "create table events as select * from (values (timestamptz '2024-05-31 23:59:59.999999+00'), "
        "(timestamptz '2024-06-01 00:00:00+00'), (timestamptz '2024-06-02 23:59:59.999999+00'), "
        "(timestamptz '2024-06-03 00:00:00+00')) as events (ts)"
    )
    query = "select count(*) from events where on_utc_days(ts, $first, $last)"
    for first, last, expected in (
        (date(2024, 6, 1), date(2024, 6, 2), 2),
        (date(2024, 6, 2), date(2024, 6, 2), 1),
        (None, date(2024, 5, 31), 1),
        (date(2024, 6, 3), None, 1),
        (None, None, 4),
    ):
        assert con.execute(query, {"first": first, "last": last}).fetchone() == (expected,), (first, last)
    plan = con.execute(
        "explain (format json) select * from events where on_utc_days(ts, $first, $last)",
        {"first": date(2024, 6, 1), "last": date(2024, 6, 2)},
    ).fetchone()
    assert plan is not None
    scan = json.loads(plan[1])[0]
    while scan["name"] != "SEQ_SCAN":
        (scan,) = scan["children"]
    assert scan["extra_info"]["Filters"] == (
        "ts>='2024-06-01 00:00:00+00'::TIMESTAMP WITH TIME ZONE AND "
        "ts<'2024-06-03 00:00:00+00'::TIMESTAMP WITH TIME ZONE"
    )


def test_in_window_keys_keeps_the_listed_keys_by_a_semi_join(con: duckdb.DuckDBPyConnection) -> None:
    """`in_window_keys(key, keys)`: the rows of the listed keys (NULL: every row, an empty list: none), by a hash
    semi-join on the list (list_contains would compare each row with every key)."""
    con.execute("create table versions as select * from (values (1, 'a'), (2, 'a'), (3, 'b'), (4, null)) as v (id, k)")
    query = "select list(id order by id) from versions where in_window_keys(k, $keys::varchar[])"
    for keys, expected in ((["a"], [1, 2]), (["b", "c"], [3]), ([], None), (None, [1, 2, 3, 4])):
        assert con.execute(query, {"keys": keys}).fetchone() == (expected,), keys
    plan = con.execute(f"explain (format json) {query}", {"keys": ["a"]}).fetchone()
    assert plan is not None
    joins = re.findall(r'"Join Type": "(\w+)"', plan[1])
    assert joins == ["SEMI"] and "list_contains" not in plan[1]


def test_on_days_bounds_a_date_inclusively_and_null_is_no_bound(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "create table days as"
        " select unnest(generate_series(date '2024-05-30', date '2024-06-03', interval 1 day))::date as day"
    )
    query = "select count(*) from days where on_days(day, $first, $last)"
    for first, last, expected in (
        (date(2024, 6, 1), date(2024, 6, 2), 2),
        (date(2024, 6, 2), date(2024, 6, 2), 1),
        (None, date(2024, 5, 31), 2),
        (date(2024, 6, 3), None, 1),
        (None, None, 5),
    ):
        assert con.execute(query, {"first": first, "last": last}).fetchone() == (expected,), (first, last)

"""Change capture at the source: one logical replication slot per warehouse, read through `pgoutput`.

Where the source allows it (wal_level logical, a role that may replicate, our publication over the staged
columns), a run either continues from the warehouse's slot (the changes committed since the last publication, in
commit order) or creates a new slot and takes its full snapshot from the slot's exported snapshot, so the first
change the slot yields is exactly the first one the snapshot lacks. The slot moves on only after a publication:
a failed, blocked or killed run re-reads the same changes. Elsewhere the xmin method stays (docs/etl.md).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import errors, sql

from pipelines.config import choice_setting
from pipelines.connections import connect
from pipelines.errors import first_line
from pipelines.extract.pgoutput import Change, Decoder
from pipelines.extract.tables import SourceTable, load_tables
from pipelines.queries import one_row, sql_file

PUBLICATION = "ebook_analytics"
SLOT_PREFIX = "ebook_analytics_"
LOGICAL, XMIN, FULL = "logical", "xmin", "full"  # a table's capture_method in the run record
# The first server version whose publications take column lists: the columns no staged table reads (password hashes,
# session tokens) never leave the source. Older servers are read by the xmin method.
CAPTURE_SINCE = 150000
PEEK_BATCH = 10_000  # rows fetched at a time from the slot (a server-side cursor: the backlog never sits in memory)


@dataclass(frozen=True)
class SlotState:
    """`meta.capture_state`: the warehouse's slot, and the LSN before which every commit is staged."""

    slot: str
    lsn: int


@dataclass
class Plan:
    """How this run reads the source."""

    logical: bool  # the source allows change capture; else the xmin method
    note: str | None = None  # why not logical, or why a full snapshot (shown by `etl run`, kept in the run record)
    slot: str | None = None
    since_lsn: int | None = None  # continue from the slot: changes committed at or after this LSN
    snapshot: str | None = None  # a new slot's exported snapshot, which the full extract imports
    consistent_lsn: int | None = None  # the new slot's first change follows this LSN
    replication: psycopg.Connection | None = field(default=None, repr=False)  # keeps the snapshot alive

    @property
    def incremental(self) -> bool:
        return self.since_lsn is not None

    def release_snapshot(self) -> None:
        """Once imported, the exported snapshot is no longer needed (a replication connection exports one)."""
        if self.replication is not None:
            self.replication.close()
            self.replication = None


def lsn_number(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_text(number: int) -> str:
    return f"{number >> 32:X}/{number & 0xFFFFFFFF:X}"


def slot_prefix(warehouse: Path) -> str:
    """The slots of one warehouse: a run may drop the ones it no longer uses, never another warehouse's."""
    return f"{SLOT_PREFIX}{hashlib.sha256(str(warehouse.absolute()).encode()).hexdigest()[:8]}_"


def setting_value() -> str:
    """Setting `capture`: `auto`, or `logical`, the same (a slot where the source allows one, the xmin method where
    it does not, said so), or `xmin`; a one-line error for anything else."""
    return choice_setting("capture", "auto", ("auto", "logical", XMIN))


def plan(
    url: str,
    tables: list[SourceTable],
    previous: SlotState | None,
    *,
    warehouse: Path,
    full: bool,
    why_full: str | None,
) -> Plan:
    """Logical from the previous slot when it is usable, else a new slot with a full snapshot, else xmin.

    `full`: a full run (`--full`, no warehouse yet), which reads a snapshot anyway; `why_full`: why an incremental
    run must read one (a table new to the warehouse). Both go in the note only when the run meant to continue.
    """
    if setting_value() == XMIN:
        return Plan(logical=False, note="change capture is off (setting capture = xmin)")
    with connect(url, autocommit=True) as conn:
        logical_wal, in_recovery, may_replicate = one_row(conn.execute(sql_file("capture/allowed")))
        refused = capture_refused(logical_wal, in_recovery, may_replicate, conn.info.server_version)
        reason = refused or ensure_publication(conn, tables)
        if reason:
            return Plan(logical=False, note=f"{reason}: xmin method")
        if not full and why_full is None and previous is not None:
            problem = _slot_problem(conn, previous)
            if problem is None:
                return Plan(logical=True, slot=previous.slot, since_lsn=previous.lsn)
            why_full = problem
        elif not full and why_full is None:
            why_full = "no change-capture slot yet"
    return _new_slot(url, slot_prefix(warehouse), note=None if full else f"{why_full}: full snapshot")


def version_refused(server_version: int) -> str | None:
    """Why a server of this version (`server_version_num`) cannot be read from a slot, or None."""
    if server_version >= CAPTURE_SINCE:
        return None
    return f"the source is PostgreSQL {server_version // 10000}; change capture needs {CAPTURE_SINCE // 10000} or later"


def capture_refused(logical_wal: bool, in_recovery: bool, may_replicate: bool, server_version: int) -> str | None:
    """Why the source cannot be read from a slot (`capture/allowed`, and the server's `server_version_num`), or
    None."""
    too_old = version_refused(server_version)
    if too_old:
        return too_old
    if not logical_wal:
        return "the source's wal_level is not logical"
    if in_recovery:
        return "the source is a standby (read replica)"
    if not may_replicate:
        return "the source role may not replicate (`source grant --replication`)"
    return None


def publication_columns() -> dict[str, list[str]]:
    """Source table -> every column any staged table reads from it (user_pii's too: `--redact-pii` drops them)."""
    columns: dict[str, list[str]] = {}
    for table in load_tables():
        wanted = columns.setdefault(table.source, [])
        wanted.extend(column for column in table.columns if column not in wanted)
    return columns


def publication_tables() -> sql.Composed:
    return sql.SQL(", ").join(
        sql.SQL("{table} ({columns})").format(
            table=sql.Identifier(*source.split(".")),
            columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        )
        for source, columns in publication_columns().items()
    )


def ensure_publication(conn: psycopg.Connection, tables: list[SourceTable]) -> str | None:
    """Our publication covers every staged column; created or completed here when this role may (owns the tables)."""
    rows = conn.execute(sql_file("capture/publication_columns"), {"publication": PUBLICATION}).fetchall()
    published = {source: set(columns or ()) for _, source, columns in rows if source}
    wanted = publication_columns()
    if rows and rows[0][0] and all(set(columns) <= published.get(source, set()) for source, columns in wanted.items()):
        return None
    unidentified = conn.execute(sql_file("capture/tables_without_identity"), {"tables": list(wanted)}).fetchall()
    if unidentified:
        return f"table {unidentified[0][0]} has no primary key or replica identity"
    parts = {"publication": sql.Identifier(PUBLICATION), "tables": publication_tables()}
    try:
        with conn.transaction():
            if rows:
                conn.execute(sql.SQL(sql_file("capture/publication_set")).format(**parts))
                conn.execute(sql.SQL(sql_file("capture/publication_options")).format(**parts))
            else:
                conn.execute(sql.SQL(sql_file("capture/publication_create")).format(**parts))
    except errors.InsufficientPrivilege:
        state = "is incomplete" if rows else "is missing"
        return f"the publication {PUBLICATION} {state} (`source grant --replication` creates it)"
    return None


def _slot_problem(conn: psycopg.Connection, previous: SlotState) -> str | None:
    """Why the warehouse's slot cannot continue (gone, elsewhere, invalidated, consumed past us), or None."""
    row = conn.execute(sql_file("capture/slot"), {"slot": previous.slot}).fetchone()
    if row is None:
        return f"replication slot {previous.slot} is gone"
    here, plugin, wal_status, invalidation, confirmed = row
    if not here or plugin != "pgoutput":
        return f"replication slot {previous.slot} is not this warehouse's slot in this database"
    if wal_status == "lost" or invalidation:
        return f"replication slot {previous.slot} was invalidated ({invalidation or 'WAL removed'})"
    if confirmed is None or lsn_number(confirmed) > previous.lsn:
        return f"replication slot {previous.slot} moved past this warehouse's position"
    return None


def _new_slot(url: str, prefix: str, *, note: str | None) -> Plan:
    """A new slot with an exported snapshot; when no slot can be created (all in use, ...), the xmin method."""
    slot = f"{prefix}{secrets.token_hex(3)}"
    replication = connect(url + ("&" if "?" in url else "?") + "replication=database", autocommit=True)
    try:
        # A replication connection only speaks the simple query protocol, which a ClientCursor uses, and only
        # recognises a replication command at the very start: the file's comment lines stay behind.
        command = "\n".join(line for line in sql_file("capture/create_slot").splitlines() if not line.startswith("--"))
        cursor = psycopg.ClientCursor(replication)
        cursor.execute(sql.SQL(command).format(slot=sql.Identifier(slot)))
        _, consistent, snapshot, _ = one_row(cursor)
    except psycopg.Error as exc:
        replication.close()
        return Plan(logical=False, note=f"cannot create a replication slot ({first_line(exc)}): xmin method")
    return Plan(
        logical=True,
        note=note,
        slot=slot,
        snapshot=snapshot,
        consistent_lsn=lsn_number(consistent),
        replication=replication,
    )


# pgoutput's options, as name-value pairs: protocol version 2 with streaming (every server capture reads: 15 and
# later, `CAPTURE_SINCE`; streaming came in 14). A transaction larger than the server's `logical_decoding_work_mem`
# then arrives in chunks as it is decoded, each change of a table not published dropped at once, instead of being
# spilled to disk whole and read back: the write-back's first fill at `large` (626 MB of WAL after a full run) took
# the next run's extract from 3 s to 7 s; a 651 MB transaction on a table not published, at `tiny`: 2.6-2.8 s
# against 10.7-11.4 s.
PEEK_OPTIONS = ["publication_names", PUBLICATION, "proto_version", "2", "streaming", "on"]


def read_changes(url: str, capture: Plan, upto_lsn: int) -> Iterator[Change]:
    """The changes of transactions committed in [since_lsn, upto_lsn), in commit order, without consuming them."""
    assert capture.since_lsn is not None
    decoder = Decoder()
    # Binary results: the messages arrive as the bytes they are, not hex text PostgreSQL encodes and psycopg decodes
    # (a `large` day's 107,751 messages, peeked and decoded: 0.80 -> 0.74 s).
    with connect(url) as conn, conn.cursor(name="capture_peek", binary=True) as cursor:
        cursor.itersize = PEEK_BATCH
        cursor.execute(
            sql_file("capture/peek"),
            {"slot": capture.slot, "upto_lsn": lsn_text(upto_lsn), "options": PEEK_OPTIONS},
        )
        for (data,) in cursor:
            transaction = decoder.feed(data)
            # A published run whose slot could not be advanced left its changes in the slot: skip them.
            if transaction is not None and capture.since_lsn <= transaction.commit_lsn < upto_lsn:
                yield from transaction.changes


def confirm(url: str, slot: SlotState | None, *, warehouse: Path) -> None:
    """After a publication: the slot moves on to the published position, and this warehouse's other slots (all of
    them after a run without a slot, e.g. `capture = xmin`) are dropped: none may hold WAL for nobody."""
    with connect(url, autocommit=True) as conn:
        if slot is not None:
            # Twice. Decoding keeps the first restart point it meets past the confirmed position, so after one
            # advance the slot still restarts where this run's changes began: the next run would decode them again
            # before its own (a `large` day: 1.6 s to decode instead of 0.4 s), and the source keeps that WAL. The
            # second advance reads the same WAL with all of it confirmed, and the slot restarts from its last
            # running-transactions record.
            for _ in range(2):
                conn.execute(sql_file("capture/advance"), {"slot": slot.slot, "lsn": lsn_text(slot.lsn)})
        for (other,) in conn.execute(sql_file("capture/our_slots"), {"prefix": slot_prefix(warehouse)}).fetchall():
            if slot is None or other != slot.slot:
                conn.execute(sql_file("capture/drop_slot"), {"slot": other})


def drop(url: str, slots: Iterable[str]) -> None:
    """Drop slots a run created but did not publish (a failed or blocked full snapshot); gone ones are fine."""
    with connect(url, autocommit=True) as conn:
        for slot in slots:
            with suppress(errors.UndefinedObject):
                conn.execute(sql_file("capture/drop_slot"), {"slot": slot})


@dataclass(frozen=True)
class SlotLag:
    name: str
    database: str
    active: bool
    retained_bytes: int  # WAL the server keeps for the slot
    lag_bytes: int  # WAL written since the position the warehouse confirmed
    idle_seconds: int | None  # since the slot was last used (None while in use, and before PostgreSQL 17)
    wal_status: str  # reserved / extended / unreserved (about to be invalidated) / lost
    invalidation: str | None
    # Its decoding since the server's statistics were reset: transactions streamed as they were decoded, and
    # transactions spilled to disk first (beyond `logical_decoding_work_mem` before streaming could begin).
    streamed_transactions: int
    streamed_bytes: int
    spilled_transactions: int
    spilled_bytes: int


def slot_lag(url: str) -> list[SlotLag]:
    """Every ETL slot on the source's server; empty when the role may not see them, logical decoding is off, or the
    server is older than change capture needs (no slot of ours there)."""
    with connect(url) as conn:
        if version_refused(conn.info.server_version):
            return []
        return [SlotLag(*row) for row in conn.execute(sql_file("capture/lag")).fetchall()]

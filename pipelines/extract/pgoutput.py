"""PostgreSQL's `pgoutput` logical replication messages (protocol version 1, values as text), decoded.

Only what change capture needs: Begin/Commit (to keep whole transactions in commit order), Relation (the column
names of each published table, which the row messages refer to by oid), Insert/Update/Delete/Truncate. Message
layout: https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

# A value the message leaves out: an unchanged TOASTed column of an UPDATE. The staged value stays.
UNCHANGED = "\x00unchanged"

Row = dict[str, str | None]


@dataclass(frozen=True)
class Change:
    relation: str  # schema.table (the partitioned root: the publication publishes via the root)
    kind: str  # insert | update | delete | truncate
    row: Row | None = None  # insert/update: the new row; delete: the replica identity (key) columns
    old_key: Row | None = None  # update: the old key, when the update changed the replica identity


@dataclass
class Transaction:
    commit_lsn: int  # LSN of the commit record: the slot skips transactions committed before its position
    changes: list[Change] = field(default_factory=list)


@dataclass
class Decoder:
    """Feed it the `data` of `pg_logical_slot_peek_binary_changes` rows in order; it yields whole transactions."""

    relations: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    _open: Transaction | None = None

    def feed(self, data: bytes) -> Iterator[Transaction]:
        reader = _Reader(data)
        kind = reader.byte()
        if kind == "B":
            final_lsn = reader.int64()
            self._open = Transaction(commit_lsn=final_lsn)
        elif kind == "C":
            done, self._open = self._open, None
            if done is not None:
                yield done
        elif kind == "R":
            oid = reader.int32()
            schema, name = reader.string(), reader.string()
            reader.byte()  # replica identity setting
            columns = []
            for _ in range(reader.int16()):
                reader.byte()  # flags (part of the key)
                columns.append(reader.string())
                reader.int32()  # type oid
                reader.int32()  # type modifier
            self.relations[oid] = (f"{schema}.{name}", tuple(columns))
        elif kind in "IUD":
            self._row_change(kind, reader)
        elif kind == "T":
            count = reader.int32()
            reader.byte()  # options: CASCADE / RESTART IDENTITY
            for _ in range(count):
                self._add(Change(self.relations[reader.int32()][0], "truncate"))
        # Origin ('O'), Type ('Y') and logical messages ('M') carry nothing the staging needs.

    def _row_change(self, kind: str, reader: _Reader) -> None:
        relation, columns = self.relations[reader.int32()]
        marker = reader.byte()
        if kind == "I":
            self._add(Change(relation, "insert", row=reader.tuple(columns)))
        elif kind == "D":  # marker K (key columns) or O (the whole old row, REPLICA IDENTITY FULL)
            self._add(Change(relation, "delete", row=reader.tuple(columns)))
        else:
            old_key = None
            if marker in "KO":
                old_key = reader.tuple(columns)
                reader.byte()  # N
            self._add(Change(relation, "update", row=reader.tuple(columns), old_key=old_key))

    def _add(self, change: Change) -> None:
        if self._open is None:
            raise ValueError("pgoutput: a row change outside a transaction")
        self._open.changes.append(change)


_INT16, _INT32, _INT64 = struct.Struct("!h"), struct.Struct("!i"), struct.Struct("!Q")
_NULL, _UNCHANGED_TOAST = ord("n"), ord("u")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def _unpack(self, fmt: struct.Struct) -> int:
        (value,) = fmt.unpack_from(self.data, self.at)
        self.at += fmt.size
        return int(value)

    def byte(self) -> str:
        self.at += 1
        return chr(self.data[self.at - 1])

    def int16(self) -> int:
        return self._unpack(_INT16)

    def int32(self) -> int:
        return self._unpack(_INT32)

    def int64(self) -> int:
        return self._unpack(_INT64)

    def string(self) -> str:
        end = self.data.index(0, self.at)
        text = self.data[self.at : end].decode()
        self.at = end + 1
        return text

    def tuple(self, columns: tuple[str, ...]) -> Row:
        """TupleData: per column n (NULL), u (unchanged TOAST) or t (text value); absent key columns are NULL.

        The hottest loop of change capture (every column of every changed row): locals, no method calls."""
        data, at = self.data, self.at
        (count,) = _INT16.unpack_from(data, at)
        at += 2
        row: Row = {}
        for column in columns[:count]:
            kind = data[at]
            at += 1
            if kind == _NULL:
                row[column] = None
            elif kind == _UNCHANGED_TOAST:
                row[column] = UNCHANGED
            else:
                (length,) = _INT32.unpack_from(data, at)
                at += 4
                row[column] = data[at : at + length].decode()
                at += length
        self.at = at
        return row

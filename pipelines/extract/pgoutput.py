"""PostgreSQL's `pgoutput` logical replication messages (protocol version 1, or 2 with streamed transactions; values
as text), decoded.

Only what change capture needs: Begin/Commit (to keep whole transactions in commit order), Relation (the column
names of each published table, which the row messages refer to by oid), Insert/Update/Delete/Truncate, and the
streamed transactions of protocol version 2: a transaction larger than the server's `logical_decoding_work_mem`
arrives in chunks (Stream Start/Stop) before its Stream Commit or Stream Abort, and inside a chunk every message
carries the id of its (sub)transaction. Message layout:
https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import NamedTuple

# A value the message leaves out: an unchanged TOASTed column of an UPDATE. The staged value stays.
UNCHANGED = "\x00unchanged"

Row = dict[str, str | None]


class Change(NamedTuple):  # a tuple: made once per changed row, the hottest object of change capture
    relation: str  # schema.table (the partitioned root: the publication publishes via the root)
    kind: str  # insert | update | delete | truncate
    row: Row | None = None  # insert/update: the new row; delete: the replica identity (key) columns
    old_key: Row | None = None  # update: the old key, when the update changed the replica identity


@dataclass
class Transaction:
    commit_lsn: int  # LSN of the commit record: the slot skips transactions committed before its position
    changes: list[Change] = field(default_factory=list)


_INT16, _INT32, _INT64 = struct.Struct("!h"), struct.Struct("!i"), struct.Struct("!Q")
_XID, _XID_PAIR = struct.Struct("!I"), struct.Struct("!II")  # transaction ids are unsigned
_BEGIN, _COMMIT, _RELATION, _TRUNCATE = ord("B"), ord("C"), ord("R"), ord("T")
_STREAM_START, _STREAM_STOP, _STREAM_COMMIT, _STREAM_ABORT = ord("S"), ord("E"), ord("c"), ord("A")
_INSERT, _UPDATE, _DELETE = ord("I"), ord("U"), ord("D")
_KINDS = {_INSERT: "insert", _UPDATE: "update", _DELETE: "delete"}
_OLD_TUPLE = (ord("K"), ord("O"))  # an update's old key (K), or whole old row (O, REPLICA IDENTITY FULL)
_TEXT, _NULL = ord("t"), ord("n")


@dataclass
class Decoder:
    """Feed it the `data` of `pg_logical_slot_peek_binary_changes` rows in order; it returns each transaction whole
    when its Commit (or Stream Commit) arrives."""

    relations: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    _open: Transaction | None = None
    _stream: int | None = None  # the top-level transaction whose chunk is arriving (between Stream Start and Stop)
    # A streamed transaction's changes so far, each with the (sub)transaction that made it: a subtransaction's
    # Stream Abort takes back its own.
    _streamed: dict[int, list[tuple[int, Change]]] = field(default_factory=dict)

    def feed(self, data: bytes) -> Transaction | None:
        """Take one message; the transaction it commits, if it is a Commit or a Stream Commit."""
        kind = data[0]
        if kind in _KINDS:  # row changes first: nearly every message is one
            self._row_change(kind, data)
        elif kind == _BEGIN:
            (final_lsn,) = _INT64.unpack_from(data, 1)
            self._open = Transaction(commit_lsn=final_lsn)
        elif kind == _COMMIT:
            done, self._open = self._open, None
            return done
        elif kind == _RELATION:
            self._relation(_Reader(data, self._fields_start()))
        elif kind == _TRUNCATE:
            reader = _Reader(data, self._fields_start())
            xid = self._stream_xid(data)
            count = reader.int32()
            reader.byte()  # options: CASCADE / RESTART IDENTITY
            for _ in range(count):
                self._add(Change(self.relations[reader.int32()][0], "truncate"), xid)
        elif kind == _STREAM_START:
            (self._stream,) = _XID.unpack_from(data, 1)
            self._streamed.setdefault(self._stream, [])
        elif kind == _STREAM_STOP:
            self._stream = None
        elif kind == _STREAM_COMMIT:
            (xid,), (commit_lsn,) = _XID.unpack_from(data, 1), _INT64.unpack_from(data, 6)  # (6: after the flags)
            return Transaction(commit_lsn, [change for _, change in self._streamed.pop(xid, [])])
        elif kind == _STREAM_ABORT:
            self._abort(*_XID_PAIR.unpack_from(data, 1))
        # Origin ('O'), Type ('Y') and logical messages ('M') carry nothing the staging needs.
        return None

    def _stream_xid(self, data: bytes) -> int | None:
        """The (sub)transaction of a message inside a streamed chunk; None outside one."""
        return None if self._stream is None else int(_XID.unpack_from(data, 1)[0])

    def _fields_start(self) -> int:
        """Where a message's own fields begin: after its kind, and inside a streamed chunk after its xid."""
        return 1 if self._stream is None else 1 + _XID.size

    def _abort(self, xid: int, subxid: int) -> None:
        """A streamed transaction rolled back whole, or one of its subtransactions (its changes go, the rest stay)."""
        if subxid == xid:
            self._streamed.pop(xid, None)
        elif xid in self._streamed:
            self._streamed[xid] = [(made_by, change) for made_by, change in self._streamed[xid] if made_by != subxid]

    def _relation(self, reader: _Reader) -> None:
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

    def _row_change(self, kind: int, data: bytes) -> None:
        """Insert: oid, N, the row. Delete: oid, K or O, the key (or old row). Update: oid, optionally K or O and the
        old key, then N and the new row. Inside a streamed chunk the (sub)transaction's id comes first."""
        xid, at = self._stream_xid(data), self._fields_start()
        (oid,) = _INT32.unpack_from(data, at)
        relation, columns = self.relations[oid]
        old_key = None
        row, after = _tuple(data, at + 5, columns)
        if kind == _UPDATE and data[at + 4] in _OLD_TUPLE:
            old_key, row = row, _tuple(data, after + 1, columns)[0]  # (+1: the N before the new row)
        self._add(Change(relation, _KINDS[kind], row, old_key), xid)

    def _add(self, change: Change, xid: int | None = None) -> None:
        if xid is not None:
            assert self._stream is not None  # a message carries an xid only inside a chunk
            self._streamed[self._stream].append((xid, change))
        elif self._open is None:
            raise ValueError("pgoutput: a row change outside a transaction")
        else:
            self._open.changes.append(change)


def _tuple(data: bytes, at: int, columns: tuple[str, ...]) -> tuple[Row, int]:
    """TupleData at `at`: per column t (a text value), n (NULL) or u (unchanged TOAST); absent key columns are NULL.
    Returns the row and where the message goes on.

    The hottest loop of change capture (every column of every changed row): locals, no method calls."""
    unpack_length = _INT32.unpack_from
    (count,) = _INT16.unpack_from(data, at)
    at += 2
    row: Row = {}
    for column in columns[:count] if count < len(columns) else columns:
        kind = data[at]
        if kind == _TEXT:
            (length,) = unpack_length(data, at + 1)
            at += 5 + length
            row[column] = data[at - length : at].decode()
        else:
            row[column] = None if kind == _NULL else UNCHANGED
            at += 1
    return row, at


class _Reader:
    """The fields of the rare messages (Relation, Truncate), in order."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data, self.at = data, at

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

    def string(self) -> str:
        end = self.data.index(0, self.at)
        text = self.data[self.at : end].decode()
        self.at = end + 1
        return text

"""The pgoutput decoder (`pipelines.extract.pgoutput`) on hand-built messages, byte for byte as the protocol lays them
out (version 2: a transaction whole, laid out as in version 1, or streamed in chunks): every message kind change
capture reads, each tuple value kind (text, NULL, unchanged TOAST), an update's old key and a delete's whole old row;
and which servers capture reads. No server: tests/test_capture.py decodes a real slot."""

from __future__ import annotations

import struct

import pytest

from pipelines.extract.capture import capture_refused
from pipelines.extract.pgoutput import UNCHANGED, Change, Decoder, Transaction

pytestmark = pytest.mark.fast

EVENTS, USERS = 16400, 16500  # relation oids


def _string(text: str) -> bytes:
    return text.encode() + b"\x00"


def relation(oid: int, schema: str, name: str, columns: list[str]) -> bytes:
    described = b"".join(b"\x00" + _string(column) + struct.pack("!ii", 25, -1) for column in columns)
    return (
        b"R"
        + struct.pack("!i", oid)
        + _string(schema)
        + _string(name)
        + b"d"
        + struct.pack("!h", len(columns))
        + described
    )


def begin(final_lsn: int) -> bytes:
    return b"B" + struct.pack("!QQi", final_lsn, 0, 700)


def commit(lsn: int) -> bytes:
    return b"C" + struct.pack("!bQQQ", 0, lsn, lsn + 8, 0)


def values(*row: str | None) -> bytes:
    """TupleData: None is NULL, UNCHANGED an unchanged TOASTed value, any other text a text value."""
    encoded = b"".join(
        b"n"
        if value is None
        else b"u"
        if value == UNCHANGED
        else b"t" + struct.pack("!i", len(value.encode())) + value.encode()
        for value in row
    )
    return struct.pack("!h", len(row)) + encoded


def row_message(kind: bytes, oid: int, *parts: bytes, xid: int | None = None) -> bytes:
    """A row change; `xid`: its (sub)transaction, which a message inside a streamed chunk carries first."""
    return kind + (b"" if xid is None else struct.pack("!I", xid)) + struct.pack("!i", oid) + b"".join(parts)


def stream_start(xid: int) -> bytes:
    return b"S" + struct.pack("!Ib", xid, 1)


def stream_commit(xid: int, lsn: int) -> bytes:
    return b"c" + struct.pack("!IbQQQ", xid, 0, lsn, lsn + 8, 0)


def stream_abort(xid: int, subxid: int) -> bytes:
    return b"A" + struct.pack("!II", xid, subxid)


def test_each_message_kind_decodes_into_whole_transactions_in_commit_order():
    decoder = Decoder()
    messages = [
        begin(0x1_0000_00A0),
        relation(EVENTS, "analytics", "user_events", ["id", "user_id", "event_data"]),
        relation(USERS, "users", "users", ["id", "email"]),
        row_message(b"I", EVENTS, b"N", values("e1", None, '{"page": "é"}')),  # NULL, and UTF-8 two bytes long
        row_message(b"U", EVENTS, b"N", values("e1", "u1", UNCHANGED)),  # the key unchanged: no old tuple
        row_message(b"U", USERS, b"K", values("u1", None), b"N", values("u9", "a@b.c")),  # the key changed
        row_message(b"D", EVENTS, b"O", values("e1", "u1", "{}")),  # REPLICA IDENTITY FULL: the whole old row
        row_message(b"I", USERS, b"N", values("u2")),  # a tuple shorter than the relation: the rest absent
        commit(0x1_0000_00A0),
        begin(0x1_0000_0100),
        b"T" + struct.pack("!ib", 2, 0) + struct.pack("!ii", EVENTS, USERS),
        b"O" + struct.pack("!Q", 0) + _string("origin"),  # an origin message carries nothing staged
        commit(0x1_0000_0100),
    ]
    done = [(index, transaction) for index, message in enumerate(messages) if (transaction := decoder.feed(message))]

    assert [(index, transaction.commit_lsn) for index, transaction in done] == [(8, 0x1_0000_00A0), (12, 0x1_0000_0100)]
    assert done[0][1].changes == [
        Change("analytics.user_events", "insert", {"id": "e1", "user_id": None, "event_data": '{"page": "é"}'}),
        Change("analytics.user_events", "update", {"id": "e1", "user_id": "u1", "event_data": UNCHANGED}),
        Change("users.users", "update", {"id": "u9", "email": "a@b.c"}, old_key={"id": "u1", "email": None}),
        Change("analytics.user_events", "delete", {"id": "e1", "user_id": "u1", "event_data": "{}"}),
        Change("users.users", "insert", {"id": "u2"}),
    ]
    assert done[1][1].changes == [Change("analytics.user_events", "truncate"), Change("users.users", "truncate")]


def test_a_row_change_outside_a_transaction_is_refused():
    decoder = Decoder()
    decoder.feed(relation(EVENTS, "analytics", "user_events", ["id"]))
    with pytest.raises(ValueError, match="outside a transaction"):
        decoder.feed(row_message(b"I", EVENTS, b"N", values("e1")))


def test_streamed_transactions_arrive_whole_at_their_commit_without_what_was_rolled_back():
    """Protocol version 2: a large transaction arrives in chunks, each message carrying its (sub)transaction's id
    (3_000_000_000: ids are unsigned), while smaller transactions commit between the chunks. A subtransaction rolled
    back takes its own changes back, a transaction rolled back whole all of its; each transaction is returned at its
    own commit, with its commit's LSN."""
    big, savepoint, inner, doomed = 3_000_000_000, 3_000_000_001, 3_000_000_002, 3_000_000_005
    decoder = Decoder()
    messages = [
        stream_start(big),
        b"R" + struct.pack("!I", big) + relation(EVENTS, "analytics", "user_events", ["id", "user_id"])[1:],
        row_message(b"I", EVENTS, b"N", values("e1", "u1"), xid=big),
        row_message(b"I", EVENTS, b"N", values("e2", "u1"), xid=savepoint),  # rolled back below
        row_message(b"I", EVENTS, b"N", values("e3", "u1"), xid=inner),  # kept: a savepoint released
        b"E",
        begin(0x2_0000_0010),  # a small transaction commits between the chunks: first
        row_message(b"D", EVENTS, b"K", values("e0", None)),
        commit(0x2_0000_0010),
        stream_start(doomed),
        row_message(b"I", EVENTS, b"N", values("e9", "u9"), xid=doomed),
        b"E",
        stream_start(big),
        row_message(b"U", EVENTS, b"N", values("e1", "u2"), xid=big),
        b"T" + struct.pack("!Iib", big, 1, 0) + struct.pack("!i", EVENTS),
        row_message(b"I", EVENTS, b"N", values("e4", "u1"), xid=savepoint),
        b"E",
        stream_abort(big, savepoint),
        stream_abort(doomed, doomed),
        stream_commit(big, 0x2_0000_0100),
    ]
    done = [(index, transaction) for index, message in enumerate(messages) if (transaction := decoder.feed(message))]

    assert [(index, transaction.commit_lsn) for index, transaction in done] == [(8, 0x2_0000_0010), (19, 0x2_0000_0100)]
    assert done[0][1].changes == [Change("analytics.user_events", "delete", {"id": "e0", "user_id": None})]
    assert done[1][1].changes == [
        Change("analytics.user_events", "insert", {"id": "e1", "user_id": "u1"}),
        Change("analytics.user_events", "insert", {"id": "e3", "user_id": "u1"}),
        Change("analytics.user_events", "update", {"id": "e1", "user_id": "u2"}),
        Change("analytics.user_events", "truncate"),
    ]
    assert decoder.feed(stream_commit(doomed, 0x2_0000_0200)) == Transaction(0x2_0000_0200, [])  # nothing left of it


def test_servers_before_15_are_read_by_the_xmin_method_whatever_else_they_allow():
    """Column lists (15) keep the columns no staged table reads at the source; the refusal names the version."""
    refused = "the source is PostgreSQL 14; change capture needs 15 or later"
    assert capture_refused(True, False, True, 140_013) == refused
    assert capture_refused(True, False, True, 150_000) is None
    assert capture_refused(True, False, False, 180_001).startswith("the source role may not replicate")

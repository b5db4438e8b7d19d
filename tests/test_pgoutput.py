"""The pgoutput decoder (`pipelines.extract.pgoutput`) on hand-built messages, byte for byte as the protocol lays them
out (protocol version 1): every message kind change capture reads, each tuple value kind (text, NULL, unchanged
TOAST), an update's old key and a delete's whole old row. No server: tests/test_capture.py decodes a real slot."""

from __future__ import annotations

import struct

import pytest

from pipelines.extract.pgoutput import UNCHANGED, Change, Decoder

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


def row_message(kind: bytes, oid: int, *parts: bytes) -> bytes:
    return kind + struct.pack("!i", oid) + b"".join(parts)


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

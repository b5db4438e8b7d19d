"""Vectorised builders of Arrow columns: ids, timestamps, exact decimals, labels and text, from numpy arrays.

Times are int64 microseconds since the Unix epoch (UTC) throughout the seed package; money is integer units
(cents, micro-dollars) turned into exact DECIMAL columns here, never floats.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_HEX_POSITIONS = np.array([0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34])
_TOKEN_ALPHABET = np.frombuffer(b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)


def stream(seed: int, name: str, *more: int) -> np.random.Generator:
    """The random stream of one step: independent of every other step, so steps can change without
    shifting each other's data. `zlib.crc32`, not `hash()`, because str hashes change per process."""
    return np.random.default_rng([seed, zlib.crc32(name.encode()), *more])


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as 36-byte strings (numpy `S36`), e.g. b'1b4e28ba-2fa1-41d2-883f-0016d3cca427'."""
    return _uuid_text(rng.integers(0, 256, size=(n, 16), dtype=np.uint8), version=4)


def time_uuids(rng: np.random.Generator, us: np.ndarray) -> np.ndarray:
    """Version-7 UUIDs (Unix milliseconds, then random bits) for rows created at `us`: rows of the big append-only
    tables land at the end of their primary-key index instead of at random pages, which keeps COPY fast."""
    raw = rng.integers(0, 256, size=(len(us), 16), dtype=np.uint8)
    millis = (np.asarray(us, dtype=np.int64) // 1000).astype(">u8").view(np.uint8).reshape(-1, 8)
    raw[:, :6] = millis[:, 2:]
    return _uuid_text(raw, version=7)


def _uuid_text(raw: np.ndarray, version: int) -> np.ndarray:
    n = len(raw)
    raw[:, 6] = (raw[:, 6] & 0x0F) | (version << 4)
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_HEX_POSITIONS] = _HEX[raw >> 4]
    text[:, _UUID_HEX_POSITIONS + 1] = _HEX[raw & 0x0F]
    return text.view("S36").ravel()


def random_text(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray = _TOKEN_ALPHABET) -> np.ndarray:
    """n random strings of `length` characters from `alphabet` (fake tokens and hashes), as numpy bytes."""
    chars = alphabet[rng.integers(0, len(alphabet), size=(n, length))]
    return np.ascontiguousarray(chars).view(f"S{length}").ravel()


def hex_text(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    return random_text(rng, n, length, _HEX)


def text(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """numpy bytes (ids, tokens) as an Arrow string column; `null` marks NULLs."""
    array = pa.array(values, mask=null)
    if isinstance(array, pa.ChunkedArray):  # pyarrow splits big numpy bytes arrays; callers need one array
        array = array.combine_chunks()
    return array.cast(pa.string())


def ref(ids: np.ndarray, index: np.ndarray) -> pa.Array:
    """A foreign-key column: ids[index], NULL where index < 0."""
    missing = index < 0
    if len(ids) == 0:
        return pa.nulls(len(index), pa.string())
    return text(ids[np.where(missing, 0, index)], null=missing if missing.any() else None)


def timestamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(us, mask=null, type=pa.timestamp("us", tz="UTC"))


def dates(us: np.ndarray) -> pa.Array:
    """The UTC calendar day of each timestamp."""
    return pa.array((us // DAY).astype(np.int32), type=pa.date32())


def decimals(units: np.ndarray, precision: int, scale: int, null: np.ndarray | None = None) -> pa.Array:
    """An exact DECIMAL(precision, scale) column from integer units of 10**-scale (e.g. cents for scale 2)."""
    units = np.asarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)  # decimal128: little-endian low word, then sign extension
    words[:, 0] = units
    words[:, 1] = units >> 63
    validity = None if null is None else pa.array(~null).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(precision, scale), len(units), [validity, pa.py_buffer(words)])


def labels(choices: Sequence[str | None], index: np.ndarray) -> pa.Array:
    """choices[index] as a string column (None entries become NULL)."""
    return pa.array(list(choices), type=pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation of columns and constant strings."""
    return pc.binary_join_element_wise(*parts, "")


def integers(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(values, mask=null, type=pa.int32())


def booleans(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool))


def choose(rng: np.random.Generator, weights: Sequence[float], n: int) -> np.ndarray:
    """n indexes drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def group_starts(group: np.ndarray, groups: int) -> np.ndarray:
    """For rows sorted by `group` (0..groups-1): the first row of each group (length groups + 1, CSR style)."""
    return np.searchsorted(group, np.arange(groups + 1))


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal `group` values (rows sorted by group)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def latest_at_or_before(owner: np.ndarray, at: np.ndarray, q_owner: np.ndarray, q_at: np.ndarray) -> np.ndarray:
    """For each query (q_owner, q_at): the index of the last item of that owner with at <= q_at, else -1.

    Items must be sorted by (owner, at). Owner and time become one sortable int64 key; times are replaced by
    their rank among all times first, so the key cannot overflow however long the history.
    """
    if len(owner) == 0 or len(q_owner) == 0:
        return np.full(len(q_owner), -1, dtype=np.int64)
    _, rank = np.unique(np.concatenate([at, q_at]), return_inverse=True)
    span = int(rank.max()) + 1
    keys = owner.astype(np.int64) * span + rank[: len(at)]
    q_keys = q_owner.astype(np.int64) * span + rank[len(at) :]
    index = np.searchsorted(keys, q_keys, side="right") - 1
    found = (index >= 0) & (owner[np.maximum(index, 0)] == q_owner)
    return np.where(found, index, -1)


def nulled(values: pa.Array, null: np.ndarray) -> pa.Array:
    """`values` with NULL where `null` is true."""
    return pc.if_else(pa.array(np.asarray(null, dtype=bool)), pa.scalar(None, values.type), values)

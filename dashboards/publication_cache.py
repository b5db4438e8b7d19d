"""What page views share, made once per publication: query results and chart figures, in memory and on disk.

A page view's CPU went mostly into making Plotly figures and into Streamlit's own cache (hashing every argument,
unpickling every hit): docs/benchmarks.md, "Where a page view's CPU goes". Here each result and each figure is made
once per publication, kept in the process's memory for every session, and written to the data folder
(`<home>/dashboard-cache/<version>/`) for the other dashboard processes and for the warm-up after a publication
(`dashboards.warm`), so neither a second session nor a second process makes it again.

Entries are addressed by what makes them, never by who asks: a query result by its SQL (or metric request) and
parameters; a figure by its chart key (which names its drawing function, fixed in the page's code), the rows it draws
and the marks on its time axis. Two viewers share an entry only when they would get the same thing: an analyst's
rows, with pseudonyms, and an admin's, with names, are different rows and so different entries (query results hold
ids; people are shaped per role after them), and no role or filter can be left out of a key because none is in it.

Entries live under the warehouse version they were made for (`data.warehouse_version`: each publication commits a
new snapshot to the lake's catalog). The first request of a new version retires the old one: its entries are
dropped from memory and its folder is deleted; a run still on a retired version makes its value without keeping it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
import plotly.graph_objects as go
import plotly.io

from dashboards.warm import publication_version
from pipelines.config import paths

Value = TypeVar("Value")
MAX_ENTRIES = 4000  # in memory, per kind; the least recently used goes first
RETIRED_VERSIONS = 64  # replaced versions remembered, so a late run cannot bring one back
PRIVATE_DIR = 0o700  # the results are the warehouse's data: as private as the data folder


def cache_root() -> Path:
    """`<home>/dashboard-cache/`: in the data folder every dashboard process shares (its accounts and pseudonym key
    are there too), not beside the warehouse, whose folder holds only what publishing writes."""
    return paths().home / "dashboard-cache"


class SharedFigure(go.Figure):
    """A figure made once and shown to many viewers. Streamlit reads a figure only through `to_dict()` (and copies
    the whole figure to make it): this one hands out the dict made once, which nobody changes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self._spec


@dataclass
class Counts:
    """What a cache did since the process started."""

    made: int = 0  # values computed here (a query run, a figure made)
    loaded: int = 0  # read from the folder: made by another process or by the warm-up
    shared: int = 0  # served from this process's memory


@dataclass
class PublicationCache(Generic[Value]):
    kind: str  # the file name's prefix on disk
    dump: Callable[[Value], bytes]
    load: Callable[[bytes], Value]
    version: str | None = None
    entries: OrderedDict[str, Value] = field(default_factory=OrderedDict)
    retired: OrderedDict[str, None] = field(default_factory=OrderedDict)
    making: dict[str, threading.Event] = field(default_factory=dict)
    counts: Counts = field(default_factory=Counts)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, version: str | None, address: str, make: Callable[[], Value]) -> Value:
        """The value at `address` for publication `version`: from memory, else from the folder, else made by `make`
        (once: sessions asking for it meanwhile wait for that one)."""
        while True:
            with self.lock:
                self._switch_to(version)
                kept = version is not None and version == self.version
                if not kept:
                    break
                if address in self.entries:
                    self.entries.move_to_end(address)
                    self.counts.shared += 1
                    return self.entries[address]
                underway = self.making.get(address)
                if underway is None:
                    self.making[address] = threading.Event()
                    break
            underway.wait()  # another session is making it; then it is in memory (or failed: make it here)
        if not kept:
            self.counts.made += 1
            return make()
        assert version is not None
        try:
            value = self._read(version, address)
            if value is None:
                value = make()
                self._write(version, address, value)
                self.counts.made += 1
            else:
                self.counts.loaded += 1
            with self.lock:
                if version == self.version:
                    self.entries[address] = value
                    while len(self.entries) > MAX_ENTRIES:
                        self.entries.popitem(last=False)
            return value
        finally:
            with self.lock:
                self.making.pop(address).set()

    def clear(self) -> None:
        """Forget everything in memory (the bench's cold runs); the folder is left to `drop_folders`."""
        with self.lock:
            self.version, self.entries, self.retired = None, OrderedDict(), OrderedDict()

    def _switch_to(self, version: str | None) -> None:
        if version is None or version == self.version or version in self.retired:
            return
        if self.version is not None:
            self.retired[self.version] = None
            while len(self.retired) > RETIRED_VERSIONS:
                self.retired.popitem(last=False)
        self.version = version
        self.entries = OrderedDict()  # the old publication's values are unreachable: let them go now
        # Hundreds of files: deleted beside the view that noticed the new publication, not in it. The file published
        # now is kept too: a late warm-up of an older publication must not delete a newer one's entries.
        current = publication_version()
        threading.Thread(target=drop_folders, args=(version, current), name="cache-drop", daemon=True).start()

    def _path(self, version: str, address: str) -> Path:
        return cache_root() / version / f"{self.kind}-{address}"

    def _read(self, version: str, address: str) -> Value | None:
        try:
            return self.load(self._path(version, address).read_bytes())
        except FileNotFoundError:
            return None

    def _write(self, version: str, address: str, value: Value) -> None:
        """Whole or not at all (a rename), so another process never reads half an entry."""
        path = self._path(version, address)
        try:
            path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".")
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.dump(value))
            os.replace(temp, path)
        except OSError:  # a full or read-only disk costs the other processes a recomputation, not this view
            return


def drop_folders(*keep: str | None) -> None:
    """Delete the cache folders of every version but those in `keep` (none: all of them)."""
    root = cache_root()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def _figure_json(figure: SharedFigure) -> bytes:
    return plotly.io.to_json(figure.to_dict(), validate=False).encode()


def _frame_pickle(frame: pd.DataFrame) -> bytes:
    return pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)


def _frame_unpickle(content: bytes) -> pd.DataFrame:
    # Written by this program into its private folder in the data folder (owner-only): pickle keeps every value
    # exactly as the query gave it (Decimal, dates, NULLs), as Streamlit's own cache did.
    frame: pd.DataFrame = pickle.loads(content)  # noqa: S301
    return frame


FIGURES: PublicationCache[SharedFigure] = PublicationCache(
    "figure", _figure_json, lambda content: SharedFigure(json.loads(content))
)
RESULTS: PublicationCache[pd.DataFrame] = PublicationCache("result", _frame_pickle, _frame_unpickle)


def figure(version: str | None, address: str, make: Callable[[], go.Figure]) -> SharedFigure:
    """The figure at `address`, made by `make` once per publication."""
    return FIGURES.get(version, address, lambda: SharedFigure(json.loads(plotly.io.to_json(make(), validate=False))))


def result(version: str | None, request: object, make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The rows of `request` (a query and its parameters, as a repr-able value), run by `make` once per publication.
    Every caller gets its own frame over the shared data: pandas copies on write, so none can change another's."""
    address = hashlib.sha256(repr(request).encode()).hexdigest()
    return RESULTS.get(version, address, make).copy(deep=False)


def figure_address(key: str, frame: pd.DataFrame, marks: dict[date, list[str]] | None) -> str:
    """What the picture of chart `key` depends on: its rows (values, columns, types, the asked range) and marks."""
    digest = hashlib.sha256(key.encode())
    digest.update(repr((list(frame.columns), [str(dtype) for dtype in frame.dtypes], frame.attrs)).encode())
    try:
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except TypeError:  # values pandas cannot hash (lists): their pickle says the same
        digest.update(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL))
    digest.update(repr(sorted((marks or {}).items())).encode())
    return digest.hexdigest()


def clear() -> None:
    """Forget every result and figure, in memory and on disk: the next view is a first view."""
    for cache in (FIGURES, RESULTS):
        cache.clear()
    with contextlib.suppress(OSError):
        drop_folders()

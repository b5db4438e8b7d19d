"""The warm-up after a publication: every page's default view, for every role, drawn before the first viewer asks.

`ebook-analytics dashboard` watches the published file (`watch`, a thread of the command's own process, beside the
Streamlit server it runs); when a new publication lands it runs `python -m dashboards.warm` at a low priority. That
process draws each page's default view for each role headless, as `ebook-analytics report` does (the page's own
script, through the data module and its scope rules), and so fills the shared cache folder in the data folder
(`dashboards.publication_cache`) with the new publication's query results and figures. Every dashboard process reads
that folder: the first viewer after a publication finds the default views made, on whichever process serves them.

One warm-up per publication, whatever the number of dashboard processes: the first to take the folder's lock warms,
the others find it taken (or the `warmed` marker written) and skip. A server started on an already published file
does not warm: its first viewers fill the cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from pipelines.publish import lake

POLL_S = 1.0  # how often the watcher looks at the published file
NICENESS = 10  # the warm-up yields the cores to the viewers' sessions
TIMEOUT_S = 600
WARMED = "warmed"  # marker file in the version's folder: the warm-up finished
LOCK = ".warm.lock"
# Pages whose view reads no warehouse data (files beside it): nothing to make ahead.
NOT_WARMED = frozenset({"alerts", "audit_log"})


def file_version(path: Path) -> str | None:
    """Changes whenever the file is replaced or written to; None when there is no file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"


def publication_version() -> str | None:
    """The latest publication of the configured warehouse (`pipelines.publish.lake.version`)."""
    return lake.version(lake.configured())


def views() -> list[tuple[str, str]]:
    """(role, page) of every default view to warm: each role's first page first (what a viewer opens), then the
    rest in the registry's order."""
    from dashboards.auth import allowed_pages
    from dashboards.pages import ROLES

    pages = {role: [key for key in allowed_pages(role) if key not in NOT_WARMED] for role in ROLES}
    first = [(role, keys[0]) for role, keys in pages.items() if keys]
    return first + [(role, key) for role, keys in pages.items() for key in keys[1:]]


def _view_script(page_key: str, role: str) -> None:
    """Runs inside the headless runner: the page's default view as `role` sees it, and the frame's own queries."""
    import runpy

    from dashboards import data
    from dashboards.auth import User
    from dashboards.pages import page

    data.start_run(User(email=f"warm-up ({role})", role=role))
    data.open_page(page_key)
    data.publication()
    data.held_back()
    runpy.run_path(str(page(page_key).view_path))
    # The frame's banner: how old the data of a failed freshness check about this page's tables is.
    for name, table, _ in data.open_warnings(data.tables_read()):
        if name.rsplit(".", 1)[-1] == "freshness":
            data.newest_record(table.rsplit(".", 1)[-1])


def warm() -> int:
    """Draw every default view of the current publication into the cache folder; the number of views drawn (0 when
    another process has warmed or is warming it)."""
    from dashboards.publication_cache import cache_root
    from dashboards.report import headless

    version = publication_version()
    if version is None:
        return 0
    folder = cache_root() / version
    with _only_one(folder) as mine:
        if not mine or (folder / WARMED).exists():
            return 0
        drawn = 0
        for role, page_key in views():
            headless(_view_script, (page_key, role), TIMEOUT_S).run()
            drawn += 1
        if publication_version() == version:  # not replaced meanwhile: these are its views
            (folder / WARMED).touch()
        return drawn


def wait_until_warmed(folder: Path, timeout_s: float = TIMEOUT_S) -> float:
    """Seconds until the warm-up of the version whose cache folder is `folder` has finished (its marker written),
    looked for every 0.1 s; RuntimeError after `timeout_s`."""
    started = time.monotonic()
    while not (folder / WARMED).exists():
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"the dashboard did not warm the new publication within {timeout_s:g} s")
        time.sleep(0.1)
    return time.monotonic() - started


@contextlib.contextmanager
def _only_one(folder: Path) -> Iterator[bool]:
    """Whether this process holds the version's warm-up lock (released when the block ends, or the process dies)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def watch(warehouse: Path, env: Mapping[str, str], stop: threading.Event) -> None:
    """Until `stop`: when the published file changes, warm its views in a child process (one at a time)."""
    published = lake.at(warehouse)
    seen = _watched_version(published)
    while not stop.wait(POLL_S):
        current = _watched_version(published)
        if current is None or current == seen:
            continue
        seen = current
        started = time.monotonic()
        with contextlib.suppress(subprocess.TimeoutExpired):  # a stuck warm-up only costs viewers their cache
            subprocess.run(
                [sys.executable, "-m", "dashboards.warm"],
                env={**env, "STREAMLIT_SERVER_HEADLESS": "true"},
                stdout=subprocess.DEVNULL,
                timeout=TIMEOUT_S,
                check=False,
            )
        print(f"dashboards: warmed the new publication in {time.monotonic() - started:.1f} s", file=sys.stderr)


def _watched_version(published: lake.Lake) -> str | None:
    """The latest publication's version; None while the catalog's disk is full: the watcher goes on watching."""
    try:
        return lake.version(published)
    except lake.CatalogDiskFull:
        return None


def start_watching(warehouse: Path, env: Mapping[str, str]) -> threading.Event:
    """The watcher as a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=watch, args=(warehouse, env, stop), name="warm-watcher", daemon=True).start()
    return stop


if __name__ == "__main__":
    os.nice(NICENESS)
    # Stopping the dashboard stops its process group, this warm-up included: it exits as on Ctrl+C, so what it made
    # in /tmp (the headless runner's page scripts) goes with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        print(f"warmed {warm()} views", file=sys.stderr)
    except KeyboardInterrupt:
        sys.exit(130)

"""Where the operational database is, and connections to it with one-line errors instead of tracebacks.

The source is `EBOOK_ANALYTICS_SOURCE_URL`, else the embedded server of the data folder when it is running. Finding
the source never starts anything: the commands that manage the embedded server (`source start`, `demo`, `bench`)
start it explicitly, and any other command without a source says how to get one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import psycopg

from pipelines.config import setting
from pipelines.errors import UserError, first_line
from pipelines.source import server


def source_url() -> str:
    """`EBOOK_ANALYTICS_SOURCE_URL`, else the running embedded server's URL; a UserError when there is neither."""
    url = setting("source_url") or server.url()
    if url is None:
        raise UserError(
            "no source database: EBOOK_ANALYTICS_SOURCE_URL is unset and the embedded PostgreSQL is not running; "
            "run `ebook-analytics source start`, or set EBOOK_ANALYTICS_SOURCE_URL"
        )
    return url


def rollup_url() -> str:
    """Where the write-back goes: `EBOOK_ANALYTICS_ROLLUP_URL`, defaulting to the source URL."""
    return setting("rollup_url") or source_url()


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise UserError(
            f"source URL {redact(url)!r} is not a PostgreSQL URL; "
            "use postgresql://user:password@host:port/dbname or postgresql://user@/dbname?host=/socket/dir"
        )


# psycopg's message names the server it tried, then why it failed, then (a line of its own) a hint: why is the point.
_TRIED = re.compile(r"^connection (?:failed|is bad): (?:connection to server (?:at|on) .*? failed: )?")


def connect(url: str, *, autocommit: bool = False, what: str = "source database") -> psycopg.Connection:
    """Open a psycopg connection or raise a UserError naming the URL (password hidden) and the fix."""
    _check_url(url)
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:
        reason = _TRIED.sub("", first_line(exc))
        raise UserError(
            f"cannot connect to the {what} at {redact(url)}: {reason}. "
            "Check EBOOK_ANALYTICS_SOURCE_URL, or run `ebook-analytics source start` for the embedded server"
        ) from exc

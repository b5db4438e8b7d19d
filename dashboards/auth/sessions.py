"""Sign-in sessions for local accounts: a signed, expiring cookie backed by a server-side record.

The record lives in `<home>/sessions.sqlite` (0600), so it survives a dashboard restart and every dashboard process
on the same home shares it. The cookie is `<session id>.<expires>.<signature>`: the HMAC-SHA256 signature (key:
`setting('session_secret')`, else `<home>/session.key`, generated 0600 on first use) refuses a tampered or
made-up cookie before the database is asked, and the record holds what the signature cannot: sign-out, a role
change or removal (`revoke_user`), and the idle timeout. Records store SHA-256 digests of the session id and of
the hand-off code, never the values, so a copy of the database opens no session.

Sign-in happens over Streamlit's websocket, which cannot set a cookie, so it ends with a hand-off: `begin` gives
the signed-in tab its session id (kept in its session state) and a one-time code that the browser posts to the
`/session/start` route (`dashboards.auth.routes`) within `HANDOFF_SECONDS`; `redeem` turns it into the cookie.
The session id is HMAC(secret, code), so nothing secret has to be written down between the two steps.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from dashboards.auth.private_files import OWNER_ONLY, create_once
from pipelines.config import paths, setting
from pipelines.errors import UserError
from pipelines.run.schedule import parse_interval

COOKIE = "ebook_analytics_session"
HANDOFF_SECONDS = 60
DEFAULT_IDLE = "12h"
DEFAULT_LIFETIME = "168h"  # 7 days
_TOUCH_EVERY_SECONDS = 60  # last-seen writes at most once a minute per session: idle timeouts are hours

_SCHEMA = """
create table if not exists sessions (
    id_digest text primary key,
    handoff_digest text unique,
    email text not null,
    role text not null,
    created_at real not null,
    last_seen_at real not null,
    expires_at real not null,
    revoked_at real
)
"""


@dataclass(frozen=True)
class Session:
    """A live session: who signed in, with which role."""

    email: str
    role: str


def duration_setting(name: str, default: str) -> float:
    """Seconds of a duration setting such as `session_idle = "12h"` (s, m or h)."""
    text = setting(name, default)
    try:
        return parse_interval(text)
    except argparse.ArgumentTypeError as exc:
        raise UserError(f"setting {name} = {text!r} is not a duration; write it like 90s, 30m or 12h") from exc


def idle_seconds() -> float:
    return duration_setting("session_idle", DEFAULT_IDLE)


def lifetime_seconds() -> float:
    return duration_setting("session_lifetime", DEFAULT_LIFETIME)


@cache
def _secret_for(home: Path, configured: str | None) -> bytes:
    if configured:
        return configured.encode()
    return create_once(home / "session.key", secrets.token_hex(32)).strip().encode()


def _secret() -> bytes:
    """`session_secret` from the settings file or environment, else `<home>/session.key` (made 0600 once)."""
    return _secret_for(paths().home, setting("session_secret"))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _mac(message: str) -> str:
    digest = hmac.new(_secret(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(session_id: str, expires_at: int) -> str:
    """The cookie value for this session id, valid until `expires_at` (Unix seconds)."""
    return f"{session_id}.{expires_at}.{_mac(f'{session_id}.{expires_at}')}"


def verify(cookie: str, now: float | None = None) -> str | None:
    """The session id of a cookie whose signature is ours and whose expiry has not passed; None otherwise."""
    now = time.time() if now is None else now
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    session_id, expires_at, signature = parts
    if not hmac.compare_digest(signature, _mac(f"{session_id}.{expires_at}")):
        return None
    return session_id if int(expires_at) > now else None


@contextmanager
def _database() -> Iterator[sqlite3.Connection]:
    """The sessions database, one transaction per block (several processes write it: SQLite locks the file)."""
    path = paths().home / "sessions.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, OWNER_ONLY))  # owner-only before SQLite first writes to it
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as connection:
        connection.execute("begin immediate")
        try:
            connection.execute(_SCHEMA)
            yield connection
        except BaseException:
            connection.execute("rollback")
            raise
        connection.execute("commit")


def _session_id(code: str) -> str:
    return _mac(f"session:{code}")


def begin(email: str, role: str, now: float | None = None) -> tuple[str, str]:
    """Open a session for a user who just signed in: (its session id, the one-time code for the cookie hand-off)."""
    now = time.time() if now is None else now
    code = secrets.token_urlsafe(32)
    session_id = _session_id(code)
    with _database() as db:
        db.execute("delete from sessions where expires_at <= ? or revoked_at is not null", (now,))
        db.execute(
            "insert into sessions values (?, ?, ?, ?, ?, ?, ?, null)",
            (_digest(session_id), _digest(code), email, role, now, now, now + lifetime_seconds()),
        )
    return session_id, code


def redeem(code: str, now: float | None = None) -> str | None:
    """The signed cookie for a hand-off code used once, within HANDOFF_SECONDS of sign-in; None otherwise."""
    now = time.time() if now is None else now
    with _database() as db:
        row = db.execute(
            "update sessions set handoff_digest = null"
            " where handoff_digest = ? and created_at > ? and revoked_at is null returning expires_at",
            (_digest(code), now - HANDOFF_SECONDS),
        ).fetchone()
    return sign(_session_id(code), int(row[0])) if row else None


def resolve(session_id: str, now: float | None = None) -> Session | None:
    """The live session with this id (and its last use noted), or None: unknown, signed out, idle or expired."""
    now = time.time() if now is None else now
    with _database() as db:
        row = db.execute(
            "select email, role, last_seen_at, expires_at from sessions where id_digest = ? and revoked_at is null",
            (_digest(session_id),),
        ).fetchone()
        if row is None:
            return None
        email, role, last_seen_at, expires_at = row
        idle = idle_seconds()
        if now >= expires_at or now - last_seen_at > idle:
            return None
        if now - last_seen_at > min(_TOUCH_EVERY_SECONDS, idle / 2):  # a short idle timeout needs finer notes
            db.execute("update sessions set last_seen_at = ? where id_digest = ?", (now, _digest(session_id)))
    return Session(email=email, role=role)


def revoke(session_id: str, now: float | None = None) -> None:
    """Sign this session out: its cookie stops working in every tab and process."""
    now = time.time() if now is None else now
    with _database() as db:
        db.execute("update sessions set revoked_at = ? where id_digest = ?", (now, _digest(session_id)))


def revoke_user(email: str, now: float | None = None) -> int:
    """Sign out every session of this account (after a role change or removal); returns how many were live."""
    now = time.time() if now is None else now
    with _database() as db:
        cursor = db.execute(
            "update sessions set revoked_at = ? where email = ? and revoked_at is null and expires_at > ?",
            (now, email, now),
        )
        return cursor.rowcount

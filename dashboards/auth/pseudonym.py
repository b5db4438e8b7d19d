"""Pseudonymous keys for people: what analysts and product see instead of names, emails and raw user ids.

A keyed hash (HMAC-SHA256) rather than a plain hash: user ids are UUIDs that appear elsewhere, and without the
secret key nobody can recompute a user's key from their id. The same id always gives the same key, so people can
still be followed across pages and days.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache, lru_cache

from dashboards.auth.private_files import create_once
from pipelines.config import paths, setting

PREFIX = "u_"
_LENGTH = 12  # 48 bits: collisions stay unlikely at millions of users, and keys stay short enough to read


@cache
def _key() -> bytes:
    """`setting('pseudonym_key')`, else the key in `<home>/pseudonym.key`, generated (0600) on first use."""
    configured = setting("pseudonym_key")
    if configured:
        return configured.encode()
    return create_once(paths().home / "pseudonym.key", secrets.token_hex(32)).strip().encode()


def pseudonymize(user_id: object) -> str | None:
    """`u_` + the first 12 hex digits of HMAC-SHA256(key, user id); None stays None (no person, no key)."""
    if user_id is None:
        return None
    return _pseudonym(_key(), str(user_id))


@lru_cache(maxsize=200_000)
def _pseudonym(key: bytes, user_id: str) -> str:
    """Remembered: a table of authors asks again for the same people on every view."""
    digest = hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:_LENGTH]

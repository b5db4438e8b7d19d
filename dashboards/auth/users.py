"""Local accounts: emails, roles and bcrypt password hashes in `paths().users_file` (outside the repo, 0600).

Used when no OIDC provider is configured. The file holds
`{"users": {"<email>": {"role": ..., "password_hash": ..., "created_at": ...}}}`; hashes never leave this module.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import bcrypt

from dashboards.auth import sessions
from dashboards.auth.private_files import locked, read_json, write_json
from dashboards.auth.roles import User, validate_role
from pipelines.config import paths, whole_number_setting
from pipelines.errors import UserError

DEMO_EMAIL = "demo@ebook-analytics.local"
# bcrypt's cost (log2 of its rounds) for new hashes: at 12 about 0.2 s per check on one core, cheap for a person and
# slow for a guesser. A stored hash keeps the cost it was made with.
DEFAULT_PASSWORD_ROUNDS = 12
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (and bcrypt 5 refuses) anything longer
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class Account:
    """What may be shown about an account: never its hash."""

    email: str
    role: str
    created_at: str


def normalize_email(email: str) -> str:
    """The email in lower case, or a one-line UserError when it does not look like an address."""
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.fullmatch(cleaned):
        raise UserError(f"{email[:80]!r} is not an email address; give one like name@example.com")
    return cleaned


def _validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is too short; use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise UserError(f"the password is too long; bcrypt uses at most {MAX_PASSWORD_BYTES} bytes")
    return password


def password_rounds() -> int:
    """bcrypt's cost for new hashes: setting `password_rounds` (4-31, bcrypt's range; each step doubles the time)."""
    return whole_number_setting(
        "password_rounds", DEFAULT_PASSWORD_ROUNDS, "bcrypt rounds (log2)", minimum=4, maximum=31
    )


def _hash(password: str) -> str:
    return bcrypt.hashpw(_validate_password(password).encode(), bcrypt.gensalt(password_rounds())).decode()


@cache
def _dummy_hash(rounds: int) -> bytes:
    """A hash nobody knows the password of, checked for unknown emails so they take as long as known ones."""
    return bcrypt.hashpw(secrets.token_bytes(32), bcrypt.gensalt(rounds))


def _file() -> Path:
    return paths().users_file


def _load() -> dict[str, dict]:
    return read_json(_file(), {"users": {}})["users"]


def _save(users: dict[str, dict]) -> None:
    write_json(_file(), {"users": users})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _account(email: str, record: dict) -> Account:
    return Account(email=email, role=record["role"], created_at=record["created_at"])


def add_user(email: str, role: str, password: str) -> Account:
    """Create an account; refuses an email that already has one."""
    email, role = normalize_email(email), validate_role(role)
    password_hash = _hash(password)  # outside the lock: hashing is the slow part
    with locked(_file()):
        users = _load()
        if email in users:
            raise UserError(f"{email} already has an account; use `users set-role` or `users remove` first")
        users[email] = {
            "role": role,
            "password_hash": password_hash,
            "created_at": _now(),
        }
        _save(users)
    return _account(email, users[email])


def list_users() -> list[Account]:
    return [_account(email, record) for email, record in sorted(_load().items())]


def remove_user(email: str) -> None:
    email = normalize_email(email)
    with locked(_file()):
        users = _load()
        if users.pop(email, None) is None:
            raise UserError(f"{email} has no account; `ebook-analytics users list` shows who has one")
        _save(users)
    sessions.revoke_user(email)


def set_role(email: str, role: str) -> Account:
    email, role = normalize_email(email), validate_role(role)
    with locked(_file()):
        users = _load()
        if email not in users:
            raise UserError(f"{email} has no account; create it with `ebook-analytics users add {email} --role {role}`")
        users[email]["role"] = role
        _save(users)
    sessions.revoke_user(email)  # signed in with the old role: sign in again to get the new one
    return _account(email, users[email])


def find_user(email: str) -> User | None:
    """The account's current User (its role may have changed since sign-in), or None when it is gone."""
    email = email.strip().lower()
    record = _load().get(email)
    return User(email=email, role=record["role"]) if record else None


def authenticate(email: str, password: str) -> User | None:
    """The User when the password matches; None otherwise, taking a bcrypt check's time whether or not the email
    has an account, so neither the answer nor its timing tells which emails exist."""
    email = email.strip().lower()
    record = _load().get(email)
    secret = password.encode()
    if record is None or len(secret) > MAX_PASSWORD_BYTES:
        bcrypt.checkpw(secret[:MAX_PASSWORD_BYTES], _dummy_hash(password_rounds()))
        return None
    if not bcrypt.checkpw(secret, record["password_hash"].encode()):
        return None
    return User(email=email, role=record["role"])


def ensure_demo_admin() -> tuple[str, str]:
    """Create or reset the demo admin with a fresh random password; returns (email, password) for `demo` to print."""
    password = secrets.token_urlsafe(12)
    password_hash = _hash(password)
    with locked(_file()):
        users = _load()
        created_at = users.get(DEMO_EMAIL, {}).get("created_at") or _now()
        users[DEMO_EMAIL] = {"role": "admin", "password_hash": password_hash, "created_at": created_at}
        _save(users)
    return DEMO_EMAIL, password

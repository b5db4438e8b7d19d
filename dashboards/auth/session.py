"""Signing in to the dashboards: Streamlit's native OIDC when configured, local accounts otherwise.

- OIDC: an `[auth]` section in the settings file (`pipelines.config.settings_file()`, handed to Streamlit as its
  secrets file) turns on `st.login`; the identity's email gets its role
  from the roles file (`setting('roles_file')`, default `<home>/roles.toml`, lines `"email" = "role"`).
- Local accounts: a sign-in form checked against `users.py`, rate-limited by `ratelimit.py`.
- `--no-auth`: a local admin, only while the server listens on a loopback address.

Every run re-reads the account, so a removed account or a changed role takes effect on the next click.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import tomllib
from pathlib import Path

import streamlit as st

from dashboards.auth import ratelimit
from dashboards.auth.roles import ROLES, User, allowed_pages
from dashboards.auth.users import authenticate, find_user
from pipelines.config import paths, setting
from pipelines.errors import UserError

LOCAL_ADMIN = User(email="local", role="admin")
NO_AUTH_NOTICE = "No authentication: local only. Anyone who can use this computer sees every page."
SIGN_IN_FAILED = "Sign-in failed: wrong email or password."
TOO_MANY_ATTEMPTS = "Too many failed sign-ins. Try again in {minutes} min."
_SIGNED_IN = "auth_email"  # session_state key holding the local account's email


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to `address` can be reached from this machine only."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def ensure_no_auth_allowed(bind_address: str) -> None:
    """For `dashboard --no-auth`: refuse, before starting anything, to serve without sign-in beyond loopback."""
    if not is_loopback(bind_address):
        raise UserError(
            f"--no-auth is allowed only on a loopback address, not {bind_address}; "
            "drop --no-auth (and add accounts with `ebook-analytics users add`) or bind to 127.0.0.1"
        )


def require_user() -> User:
    """The signed-in User; otherwise render the sign-in page (or a refusal) and stop this run.

    It renders nothing when someone is signed in, so pages and the data module may call it as often as they like.
    """
    if _no_auth():
        return _no_auth_user()
    return _oidc_user() if _oidc_configured() else _local_user()


def auth_notice() -> None:
    """Called once per run by the frame: "signed in as" and Sign out in the sidebar, or the no-auth notice."""
    user = require_user()
    if _no_auth():
        st.warning(NO_AUTH_NOTICE, icon=":material/lock_open:")
        return
    st.sidebar.caption(f"Signed in as **{user.email}** ({user.role})")
    st.sidebar.button("Sign out", key="auth_sign_out", on_click=_sign_out)


def ensure_page_allowed(user: User, page_key: str) -> None:
    """Server-side check each page runs first: stop with an error when the user's role may not open it."""
    if page_key not in allowed_pages(user.role):
        st.error(f"Your role ({user.role}) does not give access to this page.")
        st.stop()


def _no_auth() -> bool:
    return setting("no_auth") == "1"


def _no_auth_user() -> User:
    # The dashboard command checks the address too; this is the guard for a server started any other way.
    if not is_loopback(setting("bind_address")):
        st.error("No-authentication mode is refused: this server is not bound to a loopback address.")
        st.stop()
    return LOCAL_ADMIN


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no settings file at all
        return False


def _oidc_user() -> User:
    if not st.user.get("is_logged_in"):  # absent (not False) when st.user cannot see [auth]
        st.title("Ebook analytics")
        st.button("Sign in", on_click=st.login, args=(setting("auth_provider"),))
        st.stop()
    email = str(st.user.get("email") or "").lower()
    role = _roles_file_role(email)
    if role is None:
        st.error(
            f"{email or 'This identity'} has no access to these dashboards. Ask an admin to add it to the roles file."
        )
        st.button("Sign out", on_click=st.logout)
        st.stop()
    return User(email=email, role=role)


def _roles_file_role(email: str) -> str | None:
    """The role the roles file gives this email; None for an email it does not list or a role that does not exist."""
    path = Path(setting("roles_file") or paths().home / "roles.toml")
    try:
        with path.open("rb") as handle:
            mapping = tomllib.load(handle)
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        st.error(f"The roles file {path} is not valid TOML ({exc}); fix it and reload.")
        st.stop()
    role = {str(key).lower(): value for key, value in mapping.items()}.get(email)
    return role if role in ROLES else None


def _local_user() -> User:
    email = st.session_state.get(_SIGNED_IN)
    user = find_user(email) if email else None
    if user is not None:
        return user
    st.session_state.pop(_SIGNED_IN, None)  # the account was removed since sign-in
    _sign_in_form()
    st.stop()


def _sign_in_form() -> None:
    st.title("Ebook analytics")
    with st.form("sign_in"):
        # The autocomplete hints let password managers fill in the saved account (Streamlit's default is "new").
        email = st.text_input("Email", key="sign_in_email", autocomplete="username")
        password = st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    failure = _try_sign_in(email, password)
    if failure is None:
        st.rerun()
    st.error(failure)


def _try_sign_in(email: str, password: str) -> str | None:
    """Sign the session in and return None, or return the message to show; it never tells whether the email has
    an account (unknown emails are counted and checked against a dummy hash like known ones)."""
    keys = [f"email:{email.strip().lower()}", f"session:{_session_id()}"]
    wait = ratelimit.retry_after(keys)
    if wait:
        return TOO_MANY_ATTEMPTS.format(minutes=math.ceil(wait / 60))
    user = authenticate(email, password)
    if user is None:
        ratelimit.record_failure(keys)
        return SIGN_IN_FAILED
    ratelimit.clear(keys)
    st.session_state[_SIGNED_IN] = user.email
    return None


def _session_id() -> str:
    """A random id for this browser session, kept in its session state (which lives exactly as long)."""
    return st.session_state.setdefault("auth_session_id", secrets.token_hex(16))


def _sign_out() -> None:
    if _oidc_configured():
        st.logout()
    st.session_state.pop(_SIGNED_IN, None)

"""Signing in to the dashboards: Streamlit's native OIDC when configured, local accounts otherwise.

- OIDC: an `[auth]` section in the settings file (`pipelines.config.settings_file()`, handed to Streamlit as its
  secrets file) turns on `st.login`; the identity's email gets its role
  from the roles file (`setting('roles_file')`, default `<home>/roles.toml`, lines `"email" = "role"`).
- Local accounts: a sign-in form checked against `users.py`, rate-limited by `ratelimit.py`; the session it opens
  (`sessions.py`) lives in this tab's session state and, once the browser has posted the hand-off code to
  `/session/start` (`routes.py`), in an HttpOnly cookie, so reloads, new tabs and bookmarks stay signed in.
- `--no-auth`: a local admin, only while the server listens on a loopback address.

Every run re-checks the session record and the account, so sign-out, a removed account or a changed role (which
revoke the account's sessions) take effect on the next click, in every tab.
"""

from __future__ import annotations

import ipaddress
import json
import math
import secrets
import tomllib
from pathlib import Path

import streamlit as st

from dashboards.auth import ratelimit, routes, sessions
from dashboards.auth.roles import ROLES, User, allowed_pages
from dashboards.auth.users import authenticate, find_user
from dashboards.pages import REGISTRY
from pipelines.config import paths, setting
from pipelines.errors import UserError

LOCAL_ADMIN = User(email="local", role="admin")
NO_AUTH_NOTICE = "No authentication: local only. Anyone who can use this computer sees every page."
SIGN_IN_FAILED = "Sign-in failed: wrong email or password."
TOO_MANY_ATTEMPTS = "Too many failed sign-ins. Try again in {minutes} min."
_SIGNED_IN = "auth_session"  # session_state key holding the local account's session id
_HANDOFF = "auth_handoff"  # session_state key holding the one-time code the browser swaps for the cookie
_SIGNED_OUT = "auth_signed_out"  # session_state flag: clear the cookie in the browser on the next run


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
    user = _session_user()
    if user is not None:
        _post_to_route(routes.START, st.session_state.pop(_HANDOFF, None))
        return user
    _post_to_route(routes.END, "" if st.session_state.pop(_SIGNED_OUT, False) else None)
    _sign_in_page()
    st.stop()


def _session_user() -> User | None:
    """The user of this tab's session (signed in here) or of the browser's cookie (signed in in another tab,
    before a reload); None when neither names a live session of an account that still has the session's role."""
    candidates = [st.session_state.get(_SIGNED_IN), sessions.verify(st.context.cookies.get(sessions.COOKIE) or "")]
    for session_id in filter(None, candidates):
        session = sessions.resolve(session_id)
        if session is None:
            continue
        user = find_user(session.email)
        if user is not None and user.role == session.role:
            st.session_state[_SIGNED_IN] = session_id
            return user
        sessions.revoke_user(session.email)  # the users file changed without the CLI, which revokes itself
    st.session_state.pop(_SIGNED_IN, None)
    return None


def _post_to_route(path: str, body: str | None) -> None:
    """Have the browser post `body` to one of the cookie's routes (`routes.py`); nothing when body is None."""
    if body is None:
        return
    # json.dumps quotes both for JavaScript; neither (a route path, a url-safe token) can hold "</script>".
    script = f"fetch({json.dumps(path)}, {{method: 'POST', body: {json.dumps(body)}, credentials: 'same-origin'}})"
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def _sign_in_page() -> None:
    """The sign-in form at whichever page the link asked for. Registering every page's URL (hidden) keeps the
    link's page and query parameters in the address bar, so the first run after sign-in opens exactly them."""
    st.navigation(
        [
            st.Page(_sign_in_form, title="Sign in", url_path=page.key, default=index == 0)
            for index, page in enumerate(REGISTRY)
        ],
        position="hidden",
    ).run()


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
    st.session_state[_SIGNED_IN], st.session_state[_HANDOFF] = sessions.begin(user.email, user.role)
    return None


def _session_id() -> str:
    """A random id for this browser session, kept in its session state (which lives exactly as long)."""
    return st.session_state.setdefault("auth_session_id", secrets.token_hex(16))


def _sign_out() -> None:
    if _oidc_configured():
        st.logout()
        return
    session_id = st.session_state.pop(_SIGNED_IN, None)
    if session_id:
        sessions.revoke(session_id)  # every tab and process: the record is shared
    st.session_state[_SIGNED_OUT] = True

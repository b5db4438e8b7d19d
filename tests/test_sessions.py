"""Sessions that last (`dashboards/auth/sessions.py`, `routes.py`): the signed cookie, its server-side record and
the two HTTP routes, without a server. The browser side is in `tests/test_browser_sessions.py`."""

from __future__ import annotations

import asyncio
import stat
import time
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response

from dashboards.auth import routes, sessions
from dashboards.auth.users import add_user, remove_user, set_role
from pipelines.errors import UserError
from tests.conftest import use_settings

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC: every test passes its own clock
HOUR = 3600.0


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_settings(monkeypatch, {"EBOOK_ANALYTICS_HOME": str(tmp_path / "home")})
    return tmp_path / "home"


def _cookie(email: str = "alice@example.com", now: float = NOW) -> str:
    _, code = sessions.begin(email, "finance", now=now)
    cookie = sessions.redeem(code, now=now + 1)
    assert cookie is not None
    return cookie


def test_a_cookie_verifies_until_it_expires(home: Path) -> None:
    session_id, code = sessions.begin("alice@example.com", "finance", now=NOW)
    cookie = sessions.redeem(code, now=NOW + 1)
    assert cookie is not None
    identifier, expires_at, _ = cookie.split(".")
    assert identifier == session_id and int(expires_at) == NOW + 7 * 24 * HOUR  # the default lifetime, 168h
    assert sessions.verify(cookie, now=NOW + 7 * 24 * HOUR - 1) == session_id
    assert sessions.verify(cookie, now=NOW + 7 * 24 * HOUR) is None  # expired: refused before the database


def test_a_tampered_cookie_is_refused(home: Path) -> None:
    cookie = _cookie()
    identifier, expires_at, signature = cookie.split(".")
    other = _cookie("bob@example.com").split(".")[0]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for forged in (
        f"{other}.{expires_at}.{signature}",  # someone else's session id under this signature
        f"{identifier}.{int(expires_at) + 86_400}.{signature}",  # a longer life
        f"{identifier}.{expires_at}.{flipped}",
        f"{identifier}.{expires_at}",
        f"{identifier}.-1.{signature}",
        "",
    ):
        assert sessions.verify(forged, now=NOW) is None, forged
    assert sessions.verify(cookie, now=NOW) == identifier


def test_a_cookie_signed_with_another_secret_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cookie = _cookie()
    monkeypatch.setenv("EBOOK_ANALYTICS_SESSION_SECRET", "another secret")
    assert sessions.verify(cookie, now=NOW) is None


def test_the_secret_and_the_records_are_private_files(home: Path) -> None:
    _cookie()
    for name in ("session.key", "sessions.sqlite"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    assert len((home / "session.key").read_text().strip()) == 64
    assert b"alice@example.com" in (home / "sessions.sqlite").read_bytes()
    assert _cookie().split(".")[0].encode() not in (home / "sessions.sqlite").read_bytes()  # digests only


def test_a_hand_off_code_works_once_and_only_for_a_minute(home: Path) -> None:
    _, code = sessions.begin("alice@example.com", "finance", now=NOW)
    assert sessions.redeem("not-a-code", now=NOW) is None
    assert sessions.redeem(code, now=NOW + 1) is not None
    assert sessions.redeem(code, now=NOW + 2) is None  # used
    _, late = sessions.begin("alice@example.com", "finance", now=NOW)
    assert sessions.redeem(late, now=NOW + sessions.HANDOFF_SECONDS) is None


def test_idle_and_absolute_expiry(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_SESSION_IDLE", "30m")
    monkeypatch.setenv("EBOOK_ANALYTICS_SESSION_LIFETIME", "2h")
    session_id, _ = sessions.begin("alice@example.com", "finance", now=NOW)
    # Used every 25 minutes, it lives its whole lifetime, and not a second longer.
    for minutes in range(25, 120, 25):
        session = sessions.resolve(session_id, now=NOW + minutes * 60)
        assert session is not None and session.email == "alice@example.com", minutes
    assert sessions.resolve(session_id, now=NOW + 2 * HOUR) is None
    # Left alone for more than 30 minutes, it is gone.
    idle_id, _ = sessions.begin("alice@example.com", "finance", now=NOW)
    assert sessions.resolve(idle_id, now=NOW + 30 * 60) is not None
    assert sessions.resolve(idle_id, now=NOW + 60 * 60 + 1) is None
    # A timeout shorter than the minute between last-use notes still counts every use.
    monkeypatch.setenv("EBOOK_ANALYTICS_SESSION_IDLE", "30s")
    short_id, _ = sessions.begin("alice@example.com", "finance", now=NOW)
    assert all(sessions.resolve(short_id, now=NOW + seconds) for seconds in range(20, 200, 20))
    assert sessions.resolve(short_id, now=NOW + 180 + 31) is None


def test_a_bad_lifetime_setting_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_SESSION_IDLE", "12 hours")
    with pytest.raises(UserError, match=r"^setting session_idle = '12 hours' is not a duration; write it like 90s"):
        sessions.idle_seconds()


def test_sign_out_role_change_and_removal_revoke_sessions(home: Path) -> None:
    add_user("alice@example.com", "finance", "correct horse battery")
    add_user("bob@example.com", "analyst", "correct horse battery")
    alice = [sessions.begin("alice@example.com", "finance")[0] for _ in range(3)]  # three browsers
    bob = sessions.begin("bob@example.com", "analyst")[0]

    sessions.revoke(alice[0])
    assert [sessions.resolve(s) is not None for s in alice] == [False, True, True]
    set_role("alice@example.com", "admin")
    assert [sessions.resolve(s) is not None for s in alice] == [False, False, False]
    assert sessions.resolve(bob) is not None  # nobody else's
    remove_user("bob@example.com")
    assert sessions.resolve(bob) is None
    assert sessions.revoke_user("bob@example.com") == 0


def _post(handler, body: str = "", headers: dict[str, str] | None = None, scheme: str = "http") -> Response:
    """Call a route as Starlette would, for one POST to host `dash.example`."""
    sent = {"host": "dash.example", **(headers or {})}
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": scheme,
        "path": "/",
        "query_string": b"",
        "server": ("dash.example", 443 if scheme == "https" else 80),
        "headers": [(name.lower().encode(), value.encode()) for name, value in sent.items()],
    }

    async def receive() -> dict:
        return {"type": "http.request", "body": body.encode(), "more_body": False}

    return asyncio.run(handler(Request(scope, receive)))


def test_the_start_route_sets_an_http_only_lax_cookie_secure_behind_https(home: Path) -> None:
    cookies = []
    for headers, scheme in (({}, "http"), ({"X-Forwarded-Proto": "https"}, "http"), ({}, "https")):
        response = _post(routes.start, sessions.begin("alice@example.com", "finance")[1], headers, scheme)
        assert response.status_code == 204
        (cookies_set,) = response.headers.getlist("set-cookie")
        cookies.append(cookies_set)
    for cookie in cookies:
        assert cookie.startswith(f"{sessions.COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert f"Max-Age={7 * 24 * 3600}" in cookie
    assert ["Secure" in cookie for cookie in cookies] == [False, True, True]


def test_the_secure_setting_forces_secure_cookies(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBOOK_ANALYTICS_SESSION_COOKIE_SECURE", "1")
    response = _post(routes.start, sessions.begin("alice@example.com", "finance")[1])
    assert "Secure" in response.headers["set-cookie"]


def test_the_start_route_refuses_used_codes_and_other_sites(home: Path) -> None:
    _, code = sessions.begin("alice@example.com", "finance")
    assert _post(routes.start, code, {"Origin": "https://evil.example"}).status_code == 403
    assert _post(routes.start, code, {"Origin": "http://dash.example"}).status_code == 204
    refused = _post(routes.start, code)  # a code works once
    assert refused.status_code == 403 and "set-cookie" not in refused.headers


def test_the_end_route_revokes_the_session_and_clears_the_cookie(home: Path) -> None:
    cookie = _cookie(now=time.time())
    session_id = sessions.verify(cookie)
    assert session_id is not None and sessions.resolve(session_id) is not None
    response = _post(routes.end, headers={"Cookie": f"{sessions.COOKIE}={cookie}"})
    assert response.status_code == 204
    assert response.headers["set-cookie"].startswith(f'{sessions.COOKIE}=""; expires=')
    assert sessions.resolve(session_id) is None

"""The two HTTP routes that set and clear the session cookie (Streamlit's websocket cannot set cookies).

`POST /session/start` takes a one-time hand-off code (the body) and answers with the signed session cookie;
`POST /session/end` revokes the session its cookie names and clears it. The cookie is HttpOnly (page scripts never
see it), SameSite=Lax, and Secure when the request came over HTTPS: directly, through a proxy that says so in
`X-Forwarded-Proto`, or whenever the setting `session_cookie_secure = "1"` says the site is HTTPS-only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboards.auth import sessions
from pipelines.config import setting

START = "/session/start"
END = "/session/end"
_MAX_CODE_BYTES = 256


def _over_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return setting("session_cookie_secure") == "1" or request.url.scheme == "https" or forwarded == "https"


def _same_origin(request: Request) -> bool:
    """Refuse posts from other sites (a sign-in CSRF would put a victim in the attacker's account)."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


async def start(request: Request) -> Response:
    code = (await request.body())[:_MAX_CODE_BYTES].decode(errors="replace")
    cookie = sessions.redeem(code) if _same_origin(request) else None
    if cookie is None:
        return Response("sign-in hand-off refused: unknown, used or expired code", status_code=403)
    response = Response(status_code=204)
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        max_age=int(sessions.lifetime_seconds()),
        path="/",
        secure=_over_https(request),
        httponly=True,
        samesite="lax",
    )
    return response


async def end(request: Request) -> Response:
    if not _same_origin(request):
        return Response("sign-out refused: the request came from another site", status_code=403)
    session_id = sessions.verify(request.cookies.get(sessions.COOKIE, ""))
    if session_id:
        sessions.revoke(session_id)
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE, path="/", secure=_over_https(request), httponly=True, samesite="lax")
    return response


ROUTES = [Route(START, start, methods=["POST"]), Route(END, end, methods=["POST"])]

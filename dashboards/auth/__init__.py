"""Access control and privacy for the dashboards.

The frame (`dashboards/app.py`) calls `require_user()` before building the navigation: it returns the signed-in
`User(email, role)`, or renders the sign-in page / a refusal and stops the run. On success it renders nothing, so
pages and the data module may call it again. The frame then calls `auth_notice()` once per run: the sidebar
"Signed in as" line with a Sign out button, or, in `--no-auth` mode, the "no authentication: local only" notice.
Local accounts' sign-ins last beyond the tab: `sessions.py` (the signed cookie and its SQLite record) and `routes.py`
(the HTTP routes that set and clear the cookie, served beside the app by `dashboards/server.py`).

- `allowed_pages(role)`: the page keys to register in the navigation; each page also calls
  `ensure_page_allowed(user, page_key)` first (server-side, in case a page is reached directly).
- `sees_personal_data(role)`: names and emails shown; otherwise show `pseudonymize(user_id)` instead.
- `can_see_revenue(role)`: revenue share figures (page, Overview KPIs, finance export).
- `ensure_no_auth_allowed(bind_address)`: the `dashboard --no-auth` command's check (raises UserError).
"""

from __future__ import annotations

import importlib

from dashboards.auth.pseudonym import pseudonymize
from dashboards.auth.roles import PAGES, ROLES, User, allowed_pages, can_see_revenue, sees_personal_data

# The session functions import Streamlit (~0.3 s); the CLI imports this package for every command, so they load
# only when first used.
_SESSION_NAMES = frozenset({"auth_notice", "ensure_no_auth_allowed", "ensure_page_allowed", "require_user"})


def __getattr__(name: str) -> object:
    if name in _SESSION_NAMES:
        return getattr(importlib.import_module("dashboards.auth.session"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PAGES",
    "ROLES",
    "User",
    "allowed_pages",
    "auth_notice",
    "can_see_revenue",
    "ensure_no_auth_allowed",
    "ensure_page_allowed",
    "pseudonymize",
    "require_user",
    "sees_personal_data",
]

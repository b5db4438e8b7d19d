"""Who may see what: which role opens which page (from the page registry, `dashboards.pages`) and personal data.

The registry is the single source of truth for access: the navigation registers only a role's pages, every page
checks it again on the server (`ensure_page_allowed`), and the data module refuses report queries outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.pages import REGISTRY, ROLES
from pipelines.errors import UserError

PAGES: tuple[str, ...] = tuple(page.key for page in REGISTRY)  # the page keys, in navigation order
# Names and emails are shown only to the roles that must contact or pay authors; others see pseudonyms.
_PERSONAL_DATA_ROLES = frozenset({"admin", "finance"})


@dataclass(frozen=True)
class User:
    """A signed-in person: their email (or "local" without authentication) and their role."""

    email: str
    role: str


def validate_role(role: str) -> str:
    """The role itself when it is one of ROLES; a one-line UserError otherwise."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    return role


def allowed_pages(role: str) -> list[str]:
    """The page keys this role may open, in navigation order (that of PAGES); an unknown role may open none."""
    return [page.key for page in REGISTRY if role in page.roles]


def sees_personal_data(role: str) -> bool:
    """Whether this role sees authors' names and emails (otherwise only pseudonymous keys)."""
    return role in _PERSONAL_DATA_ROLES


def can_see_revenue(role: str) -> bool:
    """Whether this role sees revenue share figures (the page, its Overview KPIs and the finance export)."""
    return "revenue_share" in allowed_pages(role)

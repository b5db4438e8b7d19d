"""Who may see what: the dashboard pages, the roles, and which role sees which page and which personal data.

This map is the single source of truth for access: the navigation registers only a role's pages, every page checks
it again on the server (`ensure_page_allowed`), and the data module refuses report queries outside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.errors import UserError

PAGES: tuple[str, ...] = (
    "overview",
    "usage",
    "revenue_share",
    "ai_cost",
    "writing_progress",
    "engagement",
    "data_quality",
)
ROLES: tuple[str, ...] = ("admin", "finance", "analyst", "product")

_ROLE_PAGES: dict[str, frozenset[str]] = {
    "admin": frozenset(PAGES),
    # Finance pays authors (revenue share and its export) and answers for the margin: AI cost against subscription
    # revenue. Nothing about product behaviour.
    "finance": frozenset({"overview", "revenue_share", "ai_cost", "data_quality"}),
    # Analysts study usage and cost, never money owed to named people.
    "analyst": frozenset({"overview", "usage", "ai_cost", "writing_progress", "data_quality"}),
    "product": frozenset({"overview", "engagement", "writing_progress", "data_quality"}),
}
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
    permitted = _ROLE_PAGES.get(role, frozenset())
    return [page for page in PAGES if page in permitted]


def sees_personal_data(role: str) -> bool:
    """Whether this role sees authors' names and emails (otherwise only pseudonymous keys)."""
    return role in _PERSONAL_DATA_ROLES


def can_see_revenue(role: str) -> bool:
    """Whether this role sees revenue share figures (the page, its Overview KPIs and the finance export)."""
    return "revenue_share" in allowed_pages(role)

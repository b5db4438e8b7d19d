"""The dashboard pages, each declared once: key, title, icon, the roles that may open it, its view and report folder.

Everything that knows about pages reads this registry: the navigation (`app.py`: title, icon, view, order), access
control (`dashboards.auth.roles.allowed_pages`, the pages' own guard) and the data module's scope (a report under
`queries/reports/<folder>/` runs only for the roles of the page that owns the folder). Adding a page is one entry here
plus its view and its report folder. No Streamlit import: the CLI reads it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VIEWS_DIR = Path(__file__).with_name("views")
ROLES: tuple[str, ...] = ("admin", "finance", "analyst", "product")
EVERY_ROLE = frozenset(ROLES)


@dataclass(frozen=True)
class Page:
    key: str  # the URL path (`/<key>`) and the name the code uses for the page
    title: str
    icon: str
    roles: frozenset[str]  # who may open it, and so run the reports of its folder
    view: str  # the module under dashboards/views/ that renders it
    reports: str | None  # its folder under queries/reports/ (None: it only shows other pages' reports)

    @property
    def view_path(self) -> Path:
        return VIEWS_DIR / f"{self.view}.py"


# In navigation order; the first is the default page.
REGISTRY: tuple[Page, ...] = (
    # Everyone's landing page: metrics' tiles and trends, each shown only to the roles in the metric's audience.
    Page(
        key="overview",
        title="Overview",
        icon=":material/dashboard:",
        roles=EVERY_ROLE,
        view="overview",
        reports=None,
    ),
    # Analysts study usage and cost; admins run the platform and see every page.
    Page(
        key="usage",
        title="Usage",
        icon=":material/data_usage:",
        roles=frozenset({"admin", "analyst"}),
        view="usage",
        reports="usage",
    ),
    # Money owed to named people: finance pays authors; analysts and product never see it.
    Page(
        key="revenue_share",
        title="Revenue share",
        icon=":material/payments:",
        roles=frozenset({"admin", "finance"}),
        view="revenue_share",
        reports="revenue_share",
    ),
    # Finance answers for the margin (AI cost against subscription revenue, issue 11 finding 8).
    Page(
        key="ai_cost",
        title="AI cost",
        icon=":material/smart_toy:",
        roles=frozenset({"admin", "analyst", "finance"}),
        view="ai_cost",
        reports="ai_cost",
    ),
    # What a book and an author cost and bring in (issue 15): finance's question, studied by analysts (pseudonyms).
    Page(
        key="unit_economics",
        title="Unit economics",
        icon=":material/balance:",
        roles=frozenset({"admin", "analyst", "finance"}),
        view="unit_economics",
        reports="unit_economics",
    ),
    Page(
        key="writing_progress",
        title="Writing progress",
        icon=":material/edit_note:",
        roles=frozenset({"admin", "analyst", "product"}),
        view="writing_progress",
        reports="writing_progress",
    ),
    # Product behaviour: the product team.
    Page(
        key="engagement",
        title="Engagement",
        icon=":material/groups:",
        roles=frozenset({"admin", "product"}),
        view="engagement",
        reports="engagement",
    ),
    # Whether the numbers can be trusted concerns everyone.
    Page(
        key="data_quality",
        title="Data quality",
        icon=":material/fact_check:",
        roles=EVERY_ROLE,
        view="data_quality",
        reports="data_quality",
    ),
    # Alerts fired into the platform's job queue (docs/alerts.md): each role sees the rules that concern it.
    Page(
        key="alerts",
        title="Alerts",
        icon=":material/notifications:",
        roles=EVERY_ROLE,
        view="alerts",
        reports=None,
    ),
    # Who took which export or download: admins only (the log names people and what they took).
    Page(
        key="audit_log",
        title="Audit log",
        icon=":material/policy:",
        roles=frozenset({"admin"}),
        view="audit_log",
        reports=None,
    ),
)
PAGES_BY_KEY: dict[str, Page] = {page.key: page for page in REGISTRY}


def page(key: str) -> Page:
    return PAGES_BY_KEY[key]


def owner_of_reports(folder: str) -> Page | None:
    """The page whose report folder this is, or None for a folder no page owns."""
    return next((page for page in REGISTRY if page.reports == folder), None)

"""One fixed colour per name across every chart and page: providers, models, plans, tiers, statuses, event
categories and the measures drawn side by side.

Charts colour a series by its name only (`colour(name)`), never by its position in the legend, so OpenAI is the same
colour on the AI cost page and on Overview whatever else is drawn beside it. Names are matched without regard to
case ("OpenAI" and "openai" are one provider). A name not declared here (a new plan, a new model) still gets one
stable colour: a SHA-256 of the name picks it from the palette, the same in every process and on every page.
"""

from __future__ import annotations

import hashlib

# A colour-blind-safe qualitative palette (Okabe-Ito, then Tableau's muted tones), darkest first.
PALETTE: tuple[str, ...] = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#4e79a7",
    "#9c755f",
    "#76b7b2",
    "#b07aa1",
    "#59a14f",
)
GOOD, WARN, BAD, IDLE = "#2f9e44", "#f08c00", "#e03131", "#868e96"

# Declared colours, by kind; a name means the same thing whichever kind a chart draws, so one table serves all.
DECLARED: dict[str, dict[str, str]] = {
    "provider": {
        "openai": "#0072b2",
        "anthropic": "#d55e00",
        "google": "#009e73",
        "mistral": "#e69f00",
        "cohere": "#cc79a7",
    },
    "model": {
        "gpt-4o": "#0072b2",
        "gpt-4o-mini": "#56b4e9",
        "gpt-4.1": "#4e79a7",
        "gpt-4-turbo": "#76b7b2",
        "claude-3-5-sonnet": "#d55e00",
        "claude-3-5-haiku": "#e69f00",
        "claude-3-opus": "#9c755f",
        "gemini-1.5-pro": "#009e73",
        "gemini-2.0-flash": "#59a14f",
        "mistral-large": "#f0e442",
        "mistral-small": "#b07aa1",
        "command-r-plus": "#cc79a7",
    },
    "tier": {"free": "#868e96", "basic": "#56b4e9", "premium": "#0072b2", "enterprise": "#6741d9"},
    "plan": {
        "free": "#868e96",
        "basic monthly": "#56b4e9",
        "basic yearly": "#4e79a7",
        "premium monthly": "#0072b2",
        "premium yearly": "#1c3f94",
        "enterprise monthly": "#b07aa1",
        "enterprise yearly": "#6741d9",
        "author lifetime": "#e69f00",
        "starter (legacy)": "#9c755f",
    },
    "status": {
        "published": GOOD,
        "paid": GOOD,
        "completed": "#009e73",
        "active": GOOD,
        "partial": "#fab005",  # published, some marts held back
        "blocked": WARN,
        "pending": WARN,
        "processing": "#56b4e9",
        "in_progress": "#56b4e9",
        "review": "#b07aa1",
        "draft": IDLE,
        "archived": "#495057",
        "failed": BAD,
        "cancelled": "#9c755f",
    },
    "event category": {
        "auth": "#4e79a7",
        "navigation": "#76b7b2",
        "writing": "#009e73",
        "ai": "#0072b2",
        "billing": "#e69f00",
        "session": "#cc79a7",
        "uncategorised": IDLE,
    },
    # Measures drawn together: active-user windows, percentiles, money flows, the funnel steps, words.
    "measure": {
        "dau": "#0072b2",
        "wau": "#56b4e9",
        "mau": "#9c755f",
        "ai_latency_p50": "#56b4e9",
        "ai_latency_p95": "#0072b2",
        "book_sales": "#0072b2",
        "platform_revenue": "#e69f00",
        "subscription_revenue": "#0072b2",
        "margin_ai_cost": BAD,
        "gross_margin": GOOD,
        "new_mrr": GOOD,
        "expansion_mrr": "#59a14f",
        "reactivation_mrr": "#76b7b2",
        "contraction_mrr": "#f08c00",
        "churned_mrr": BAD,
        "created": "#56b4e9",
        "with_chapters": "#4e79a7",
        "ai_words": "#0072b2",
        "human_words": "#e69f00",
    },
}
_BY_NAME: dict[str, str] = {name: colour for kind in DECLARED.values() for name, colour in kind.items()}


def colour(name: object) -> str:
    """The colour of `name`: its declared one, otherwise one picked from PALETTE by a hash of the name."""
    key = str(name).strip().lower()
    declared = _BY_NAME.get(key)
    if declared is not None:
        return declared
    digest = hashlib.sha256(key.encode()).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]

"""Product analytics events (analytics.user_events), consistent with everything else that happened: a login
starting each session, page views and edits inside it, an `ai_generate` at each generation's created_at, exports,
project creation, sign-ups, billing events, and some anonymous traffic on the public pages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.source.seed import catalog
from pipelines.source.seed.columns import join, labels, nulled, ref, text, time_uuids, timestamps
from pipelines.source.seed.people import BILLING_EVENTS, Sessions, random_ips
from pipelines.source.seed.timeline import Window, reshape_to_rhythm

# event type -> category
EVENT_TYPES = {
    "signup": "auth",
    "login": "auth",
    "logout": "auth",
    "page_view": "navigation",
    "chapter_edit": "writing",
    "ai_generate": "ai",
    "export": "writing",
    "project_create": "writing",
    "subscription_start": "billing",
    "subscription_cancel": "billing",
    "payment_failed": "billing",
    "checkout_abandoned": "billing",
}
_TYPES = tuple(EVENT_TYPES)
_CATEGORIES = tuple(EVENT_TYPES.values())
PAGE_VIEWS_PER_SESSION = 3.5
EDITS_PER_SESSION = 2.5
EXPORT_SHARE = 0.35
LOGOUT_SHARE = 0.5
# What a session produces on average besides its generations: login, views, edits, exports, logouts.
EVENTS_PER_SESSION = 1 + PAGE_VIEWS_PER_SESSION + EDITS_PER_SESSION + EXPORT_SHARE + LOGOUT_SHARE


@dataclass
class Exports:
    session: np.ndarray
    at: np.ndarray
    format: np.ndarray


def new_exports(rng: np.random.Generator, sessions: Sessions, writes: np.ndarray) -> Exports:
    """Manuscript exports, in sessions of users who have a project (`writes`)."""
    session = np.flatnonzero(writes & (rng.random(len(sessions)) < EXPORT_SHARE / 0.8))
    at = sessions.start[session] + (rng.uniform(0.5, 1, len(session)) * (sessions.end - sessions.start)[session])
    return Exports(
        session=session,
        at=at.astype(np.int64),
        format=rng.choice(len(catalog.EXPORT_FORMATS), len(session), p=(0.45, 0.35, 0.15, 0.05)),
    )


@dataclass
class EventRows:
    """Events before they become a table: one entry per event."""

    kind: np.ndarray  # index into _TYPES
    at: np.ndarray
    user: np.ndarray  # -1: anonymous
    session: np.ndarray  # -1: none
    data: pa.Array  # JSON text
    page: pa.Array  # URL or NULL

    def take(self, index: np.ndarray) -> EventRows:
        rows = pa.array(index, pa.int64())
        return EventRows(
            self.kind[index],
            self.at[index],
            self.user[index],
            self.session[index],
            self.data.take(rows),
            self.page.take(rows),
        )


def _rows(
    kind: int,
    at: np.ndarray,
    user: np.ndarray,
    session: np.ndarray,
    data: pa.Array | str = "{}",
    page: pa.Array | None = None,
) -> EventRows:
    n = len(at)
    data = pa.array([data] * n, pa.string()) if isinstance(data, str) else data
    return EventRows(np.full(n, kind), at, user, session, data, page if page is not None else pa.nulls(n, pa.string()))


def session_events(
    rng: np.random.Generator,
    sessions: Sessions,
    writes: np.ndarray,
    s: np.ndarray,
    gen_session: np.ndarray,
    gen_at: np.ndarray,
    gen_data: pa.Array,
    exports: Exports,
    project_session: np.ndarray,
    project_at: np.ndarray,
    project_ids: np.ndarray,
) -> list[EventRows]:
    """The events of sessions `s` (the other arguments are already restricted to those sessions)."""
    start, end, user = sessions.start[s], sessions.end[s], sessions.user[s]
    parts = [_rows(_TYPES.index("login"), start, user, s)]
    logout = rng.random(len(s)) < LOGOUT_SHARE
    parts.append(_rows(_TYPES.index("logout"), end[logout], user[logout], s[logout]))
    for kind, rate, eligible in (
        ("page_view", PAGE_VIEWS_PER_SESSION, np.ones(len(s), dtype=bool)),
        ("chapter_edit", EDITS_PER_SESSION / 0.8, writes[s]),
    ):
        count = np.where(eligible, rng.poisson(rate, len(s)), 0)
        local = np.repeat(np.arange(len(s)), count)
        at = start[local] + (rng.random(len(local)) * (end - start)[local]).astype(np.int64)
        page = (
            labels(catalog.PAGES, rng.integers(0, len(catalog.PAGES), len(local)))
            if kind == "page_view"
            else pa.array(["/editor"] * len(local), pa.string())
        )
        parts.append(_rows(_TYPES.index(kind), at, user[local], s[local], page=page))
    parts.append(_rows(_TYPES.index("ai_generate"), gen_at, sessions.user[gen_session], gen_session, gen_data))
    parts.append(
        _rows(
            _TYPES.index("export"),
            exports.at,
            sessions.user[exports.session],
            exports.session,
            labels([f'{{"format": "{f}"}}' for f in catalog.EXPORT_FORMATS], exports.format),
        )
    )
    parts.append(
        _rows(
            _TYPES.index("project_create"),
            project_at,
            sessions.user[project_session],
            project_session,
            join('{"project_id": "', text(project_ids), '"}'),
        )
    )
    return parts


def account_events(
    signup_user: np.ndarray,
    signup_at: np.ndarray,
    billing_user: np.ndarray,
    billing_at: np.ndarray,
    billing_kind: np.ndarray,
) -> list[EventRows]:
    """Sign-ups and billing events: server-side, outside any session."""
    parts = [
        _rows(
            _TYPES.index("signup"),
            signup_at,
            signup_user,
            np.full(len(signup_at), -1),
            page=pa.array(["/signup"] * len(signup_at), pa.string()),
        )
    ]
    for kind_index, name in enumerate(BILLING_EVENTS):
        pick = billing_kind == kind_index
        parts.append(_rows(_TYPES.index(name), billing_at[pick], billing_user[pick], np.full(pick.sum(), -1)))
    return parts


def anonymous_events(rng: np.random.Generator, count: int, window: Window) -> list[EventRows]:
    at = window.start + (rng.random(count) * (window.end - window.start)).astype(np.int64)
    at = reshape_to_rhythm(rng, at, np.full(count, window.start), window.end)
    page = labels(catalog.LANDING_PAGES, rng.integers(0, len(catalog.LANDING_PAGES), count))
    return [_rows(_TYPES.index("page_view"), at, np.full(count, -1), np.full(count, -1), page=page)]


def events_table(
    rng: np.random.Generator, parts: list[EventRows], sessions: Sessions, user_ids: np.ndarray, window: Window
) -> pa.Table:
    at = np.minimum(np.concatenate([p.at for p in parts]), window.end - 1)
    order = np.argsort(at, kind="stable")  # time order: each monthly partition and index is appended to in turn
    at = at[order]
    kind = np.concatenate([p.kind for p in parts])[order]
    user = np.concatenate([p.user for p in parts])[order]
    session = np.concatenate([p.session for p in parts])[order]
    take = pa.array(order)
    n = len(kind)
    in_session = session >= 0
    login = kind == _TYPES.index("login")
    agent = np.where(in_session, sessions.agent[np.maximum(session, 0)], rng.integers(0, len(catalog.USER_AGENTS), n))
    ip = sessions.ip.take(pa.array(np.maximum(session, 0))) if len(sessions) else pa.nulls(n, pa.string())
    anonymous_ip = random_ips(rng, n)
    referrer = (login | (user < 0)) & (rng.random(n) < 0.4)
    return pa.table(
        {
            "id": text(time_uuids(rng, at)),
            "user_id": ref(user_ids, user),
            "session_id": ref(sessions.ids, session),
            "event_type": labels(_TYPES, kind),
            "event_category": labels(_CATEGORIES, kind),
            "event_data": pa.concat_arrays([p.data for p in parts]).take(take),
            "page_url": pa.concat_arrays([p.page for p in parts]).take(take),
            "referrer": nulled(labels(catalog.REFERRERS, rng.integers(0, len(catalog.REFERRERS), n)), ~referrer),
            "user_agent": nulled(labels(catalog.USER_AGENTS, agent), ~(login | (user < 0))),
            "ip_address": pc.if_else(pa.array(in_session), ip, anonymous_ip),
            "timestamp": timestamps(at),
        }
    )

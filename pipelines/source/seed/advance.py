"""`source advance --days N`: N more days of activity after the history's last day, plus the in-place changes an
operational database sees (requests finishing, payouts made, a few deletions), so incremental ETL has work.

Deterministic given the database state and `--seed`: the random streams are keyed by the last day and user count.
New rows: users (auth methods, subscriptions), sessions, AI generations with their usage rows and versions, events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.connections import connect
from pipelines.errors import UserError
from pipelines.queries import one_row, sql_file
from pipelines.source.partitions import ensure_monthly_partitions
from pipelines.source.seed import ai, billing, catalog, events, people, writing
from pipelines.source.seed.columns import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    group_starts,
    join,
    labels,
    rank_in_group,
    stream,
    text,
)
from pipelines.source.seed.generate import check_schema
from pipelines.source.seed.load import Loader
from pipelines.source.seed.texts import TextPool
from pipelines.source.seed.timeline import Window

_MODEL_INDEX = {model.name: i for i, model in enumerate(catalog.MODELS)}
_GENRE_INDEX = {genre[0]: i for i, genre in enumerate(catalog.GENRES)}
Rng = Callable[[str], np.random.Generator]  # the random stream of a step


def advance(url: str, days: int, seed: int | None = None) -> dict[str, int]:
    """Append `days` days of activity; returns rows inserted, updated and deleted per table."""
    with connect(url) as conn:
        check_schema(conn)
        last_day, user_count = one_row(conn.execute(sql_file("source/seed_advance_clock")))
        if last_day is None:
            raise UserError("the source has no history to continue; run `ebook-analytics source seed` first")
        window = Window.of_days(last_day + timedelta(days=1), last_day + timedelta(days=days))
        today = datetime.now(UTC).date()
        if days > days_addable(last_day, today):
            raise UserError(
                f"the history ends on {last_day}: --days {days} would reach today ({today}, UTC); "
                f"use at most {days_addable(last_day, today)}"
            )
        ensure_monthly_partitions(conn, months_ahead=3, start=last_day.replace(day=1))
        conn.commit()
        key = (seed or 0, last_day.toordinal(), user_count)

        def rng(step: str) -> np.random.Generator:
            return stream(key[0], step, key[1], key[2])

        loader = Loader(conn)
        try:
            changed = _advance(conn, loader, rng, window, last_day, user_count)
        finally:
            loader.close()
        conn.commit()
    return {**loader.counts, **changed}


def days_addable(last_day: date, today: date) -> int:
    """How many whole days `advance` can add after the history's `last_day`: up to yesterday (UTC), as today's
    activity is still happening."""
    return max((today - last_day).days - 1, 0)


def history_end(conn: psycopg.Connection) -> date | None:
    """The history's last UTC day with activity (None when it has none)."""
    last_day: date | None = one_row(conn.execute(sql_file("source/seed_advance_clock")))[0]
    return last_day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _dt(us: np.ndarray) -> list[datetime]:
    return [datetime.fromtimestamp(int(u) // SECOND, UTC).replace(microsecond=int(u) % SECOND) for u in us]


@dataclass
class _Population:
    """Users seen in the last 30 days, then the new sign-ups: one index space for sessions and generations."""

    ids: np.ndarray
    created: np.ndarray
    tier: np.ndarray
    returning: int  # users [0, returning) existed before; the rest are `new`
    new: people.Users
    subs: people.Subscriptions  # the new users' subscriptions, indexed in this population
    live_subs: np.ndarray  # the returning users' current subscription id (b"" when none)


def _advance(
    conn: psycopg.Connection, loader: Loader, rng: Rng, window: Window, last_day: date, user_count: int
) -> dict[str, int]:
    since = _midnight(last_day) - timedelta(days=27)
    signups, session_rate, generation_rate = (
        float(v or 0) for v in one_row(conn.execute(sql_file("source/seed_advance_rates"), {"since": since}))
    )
    pool = TextPool.build(rng("texts"))
    people_now = _population(conn, rng, window, last_day, user_count, signups)
    sessions, intensity = _load_people(conn, loader, rng, window, people_now, session_rate)
    projects, chapters, last_version = _open_work(conn, people_now.ids[: people_now.returning])
    gens = ai.new_generations(
        rng("generations"),
        sessions,
        intensity * np.where(people_now.tier > 0, 1.6, 0.7),
        int(generation_rate * window.days),
        projects,
        chapters,
        window,
        history=Window(window.start - 1, window.end),
    )
    model_ids = _ids_by_name(conn, "seed_advance_models", [m.name for m in catalog.MODELS])
    loader.copy(
        "ai_processing.ai_generations",
        ai.generations_table(
            rng("generations-table"), gens, people_now.ids, projects.ids, chapters.ids, model_ids, pool
        ),
    )
    _load_versions(conn, loader, rng, gens, chapters, last_version, people_now.ids, pool)
    _load_usage(loader, rng, gens, people_now, projects)
    finished = _finish_unfinished(conn, loader, rng, window, people_now)
    paid = _pay_due_statements(conn, rng, window)
    _load_events(loader, rng, window, people_now, sessions, gens, projects)
    deleted_generations, deleted_events = one_row(conn.execute(sql_file("source/seed_advance_delete")))
    return {
        "ai_processing.ai_generations (completed in place)": finished,
        "billing.revenue_shares (paid in place)": paid,
        "ai_processing.ai_generations (deleted)": deleted_generations,
        "analytics.user_events (deleted)": deleted_events,
    }


def _population(
    conn: psycopg.Connection, rng: Rng, window: Window, last_day: date, user_count: int, signups: float
) -> _Population:
    returning = conn.execute(
        sql_file("source/seed_advance_users"), {"since": _midnight(last_day) - timedelta(days=29)}
    ).fetchall()
    new = people.new_users(
        rng("users"),
        int(rng("signups").poisson(signups * window.days)),
        window,
        first_number=user_count + 1,
        growth=1.0,
    )
    subs = people.new_subscriptions(rng("subscriptions"), new, window)
    old = len(returning)
    live: dict[str, str] = dict(conn.execute(sql_file("source/seed_advance_subscriptions")).fetchall())
    return _Population(
        ids=np.concatenate([np.array([r[0].encode() for r in returning], dtype="S36"), new.ids]),
        created=np.concatenate([np.array([r[1] for r in returning], dtype=np.int64), new.created]),
        tier=np.concatenate(
            [np.array([catalog.TIERS.index(r[2]) for r in returning], dtype=np.int64), subs.tier_of_users(len(new))]
        ),
        returning=old,
        new=new,
        subs=people.Subscriptions(
            subs.ids, subs.user + old, subs.plan, subs.status, subs.created, subs.cancelled, subs.trial_end
        ),
        live_subs=np.array([live.get(r[0], "").encode() for r in returning], dtype="S36"),
    )


def _load_people(
    conn: psycopg.Connection, loader: Loader, rng: Rng, window: Window, population: _Population, session_rate: float
) -> tuple[people.Sessions, np.ndarray]:
    """New users with their auth methods and subscriptions, everyone's sessions, returning users' last login."""
    n, old, new = len(population.ids), population.returning, population.new
    first_at = np.full(n, -1, dtype=np.int64)
    first_at[old:] = np.minimum(new.created + 30 * SECOND, window.end - 1)
    intensity = rng("intensity").lognormal(0, 0.8, n)
    sessions = people.new_sessions(
        rng("sessions"),
        n,
        np.maximum(population.created, window.start),
        np.full(n, window.end),
        intensity * np.where(population.tier > 0, 1.8, 1.0),
        int(session_rate * window.days) - len(new),
        first_at,
        window,
        people.random_ips(rng("home-ip"), n),
    )
    last_login = people.last_login(sessions, n)
    primary = people.primary_auth_methods(rng("auth"), len(new))
    plan_ids = _ids_by_name(conn, "seed_advance_plans", [p.name for p in catalog.PLANS])
    loader.copy(
        "users.users",
        people.users_table(rng("users-table"), new, primary, population.tier[old:], last_login[old:], window),
    )
    loader.copy("users.user_auth_methods", people.auth_methods_table(rng("auth-table"), new, primary, window))
    loader.copy(
        "billing.user_subscriptions",
        people.subscriptions_table(rng("subscriptions-table"), population.subs, population.ids, plan_ids, window),
    )
    loader.copy("users.user_sessions", people.sessions_table(rng("sessions-table"), sessions, population.ids))
    seen = last_login[:old] >= 0
    conn.execute(
        sql_file("source/seed_advance_last_login"),
        {"ids": [u.decode() for u in population.ids[:old][seen]], "at": _dt(last_login[:old][seen])},
    )
    return sessions, intensity


def _load_versions(
    conn: psycopg.Connection,
    loader: Loader,
    rng: Rng,
    gens: ai.Generations,
    chapters: writing.Chapters,
    last_version: np.ndarray,
    user_ids: np.ndarray,
    pool: TextPool,
) -> None:
    """A version per completed generation on a chapter, numbered on from the chapter's last one; each chapter
    grows and takes its latest version's length."""
    wrote = (gens.status == ai.COMPLETED) & (gens.chapter >= 0)
    order = np.lexsort((gens.completed[wrote], gens.chapter[wrote]))
    chapter = gens.chapter[wrote][order]
    at = gens.completed[wrote][order]
    growth = np.cumsum(rng("growth").integers(80, 600, len(chapter)))
    before_chapter = np.r_[0, growth][group_starts(chapter, len(chapters))[:-1]][chapter]
    words = chapters.words[chapter] + growth - before_chapter
    versions = writing.Versions(
        chapter=chapter,
        number=last_version[chapter] + 1 + rank_in_group(chapter),
        created=at,
        changed_by=gens.user[wrote][order],
        change_type=np.full(len(chapter), 2),
        words=words,
    )
    loader.copy(
        "content.content_versions", writing.versions_table(rng("versions-table"), versions, chapters, user_ids, pool)
    )
    last = np.r_[chapter[1:] != chapter[:-1], True] if len(chapter) else np.zeros(0, dtype=bool)
    conn.execute(
        sql_file("source/seed_advance_chapter_progress"),
        {
            "ids": [c.decode() for c in chapters.ids[chapter[last]]],
            "word_count": words[last].tolist(),
            "updated_at": _dt(at[last]),
        },
    )


def _load_usage(
    loader: Loader, rng: Rng, gens: ai.Generations, population: _Population, projects: writing.Projects
) -> None:
    usage = billing.generation_usage(gens)
    rows = billing.usage_table(rng("usage-table"), usage, population.subs, population.ids, projects.ids, gens.ids)
    loader.copy(
        "billing.usage_records", _charge_returning(rows, usage.user, population.returning, population.live_subs)
    )


def _load_events(
    loader: Loader,
    rng: Rng,
    window: Window,
    population: _Population,
    sessions: people.Sessions,
    gens: ai.Generations,
    projects: writing.Projects,
) -> None:
    model_names = labels([m.name for m in catalog.MODELS], gens.model)
    gen_data = join('{"generation_id": "', text(gens.ids), '", "model": "', model_names, '"}')
    none = np.zeros(0, dtype=np.int64)
    rows = events.session_events(
        rng("events"),
        sessions,
        np.isin(sessions.user, projects.owner),
        np.arange(len(sessions)),
        gens.session,
        gens.created,
        gen_data,
        events.Exports(none, none, none),
        none,
        none,
        np.zeros(0, dtype="S36"),
    )
    new = population.new
    billing_user, billing_at, billing_kind = people.billing_events(population.subs, window)
    rows += events.account_events(
        np.arange(population.returning, len(population.ids)), new.created, billing_user, billing_at, billing_kind
    )
    loader.copy(
        "analytics.user_events", events.events_table(rng("events-table"), rows, sessions, population.ids, window)
    )


def _ids_by_name(conn: psycopg.Connection, query_name: str, names: list[str]) -> np.ndarray:
    """Ids of reference rows (models, plans) in catalog order, matched by name."""
    by_name = {name: id_ for id_, name in conn.execute(sql_file(f"source/{query_name}")).fetchall()}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise UserError(f"the source lacks {', '.join(missing)}; `source advance` continues a seeded history only")
    return np.array([by_name[name].encode() for name in names], dtype="S36")


def _charge_returning(rows: pa.Table, user: np.ndarray, n_old: int, old_subs: np.ndarray) -> pa.Table:
    """Usage of returning users goes to the subscription they already have (NULL when they have none)."""
    returning = user < n_old
    theirs = old_subs[np.where(returning, user, 0)]
    column = pc.if_else(pa.array(returning), text(theirs, null=theirs == b""), rows["subscription_id"])
    return rows.set_column(rows.column_names.index("subscription_id"), "subscription_id", column)


def _open_work(conn: psycopg.Connection, user_ids: np.ndarray) -> tuple[writing.Projects, writing.Chapters, np.ndarray]:
    """The returning users' unfinished projects and their chapters (with each chapter's last version number),
    shaped like the seed's own so generations attach to them the same way."""
    owner_index = {u.decode(): i for i, u in enumerate(user_ids)}
    rows = conn.execute(sql_file("source/seed_advance_projects"), {"owners": [u.decode() for u in user_ids]}).fetchall()
    owner = np.array([owner_index[r[1]] for r in rows], dtype=np.int64)
    order = np.lexsort((np.array([r[2] for r in rows], dtype=np.int64), owner))
    rows = [rows[i] for i in order]
    p = len(rows)
    none = np.full(p, -1, dtype=np.int64)
    projects = writing.Projects(
        ids=np.array([r[0].encode() for r in rows], dtype="S36"),
        owner=owner[order],
        created=np.array([r[2] for r in rows], dtype=np.int64),
        genre=np.array([_GENRE_INDEX.get(r[3], 0) for r in rows], dtype=np.int64),
        target_words=none,
        planned_chapters=none,
        completed=none,
        published=none,
        archived=np.zeros(p, dtype=bool),
        finish=none,
        writing_until=none,
        session=none,
        organization=none,
    )
    project_index = {r[0]: i for i, r in enumerate(rows)}
    chapter_rows = conn.execute(sql_file("source/seed_advance_chapters"), {"projects": [r[0] for r in rows]}).fetchall()
    chapter_rows.sort(key=lambda r: (project_index[r[1]], r[2]))
    c = len(chapter_rows)
    chapters = writing.Chapters(
        ids=np.array([r[0].encode() for r in chapter_rows], dtype="S36"),
        project=np.array([project_index[r[1]] for r in chapter_rows], dtype=np.int64),
        position=np.zeros(c, dtype=np.int64),
        created=np.array([r[2] for r in chapter_rows], dtype=np.int64),
        words=np.array([r[3] or 0 for r in chapter_rows], dtype=np.int64),
        status=np.zeros(c, dtype=np.int64),
        active_until=np.zeros(c, dtype=np.int64),
    )
    return projects, chapters, np.array([r[4] for r in chapter_rows], dtype=np.int64)


def _finish_unfinished(
    conn: psycopg.Connection, loader: Loader, rng: Rng, window: Window, population: _Population
) -> int:
    """Requests left pending or processing before the new days complete early in them, with their usage rows."""
    rows = conn.execute(sql_file("source/seed_advance_unfinished")).fetchall()
    rows = [r for r in rows if r[4] < window.start]
    k = len(rows)
    if k == 0:
        return 0
    r = rng("finish")
    model = np.array([_MODEL_INDEX.get(row[3], 0) for row in rows], dtype=np.int64)
    prompt_tokens = r.integers(100, 1500, k)
    completion_tokens = r.integers(200, 1500, k)
    cost = ai.cost_micro_dollars(model, prompt_tokens, completion_tokens)
    latency = r.integers(2_000, 60_000, k)
    completed = window.start + r.integers(MINUTE, 6 * HOUR, k)
    started = completed - latency * 1000
    conn.execute(
        sql_file("source/seed_advance_complete_generations"),
        {
            "ids": [row[0] for row in rows],
            "started_at": _dt(started),
            "completed_at": _dt(completed),
            "tokens_used": (prompt_tokens + completion_tokens).tolist(),
            "cost": [Decimal(int(c)).scaleb(-6) for c in cost],
            "processing_time_ms": latency.tolist(),
            "response": TextPool.build(r, size=8).passages.take(pa.array(r.integers(0, 8, k))).to_pylist(),
        },
    )
    user_ids = np.array([row[1].encode() for row in rows], dtype="S36")
    project_ids = np.array([(row[2] or "").encode() for row in rows], dtype="S36")
    gen_ids = np.array([row[0].encode() for row in rows], dtype="S36")
    index = np.arange(k)
    usage = billing.token_usage(
        index,
        prompt_tokens + completion_tokens,
        cost,
        np.where(project_ids == b"", -1, index),
        index,
        np.array([row[4] for row in rows], dtype=np.int64),
        completed,
    )
    empty = people.Subscriptions(*(np.zeros(0, dtype=np.int64) for _ in range(7)))
    table = billing.usage_table(r, usage, empty, user_ids, project_ids, gen_ids)
    live = dict(zip(population.ids[: population.returning], population.live_subs, strict=True))
    subs = np.array([live.get(row[1].encode(), b"") for row in rows], dtype="S36")
    loader.copy("billing.usage_records", _charge_returning(table, index, k, subs))
    return k


def _pay_due_statements(conn: psycopg.Connection, rng: Rng, window: Window) -> int:
    """Statements issued at least a fortnight before the new days get paid during them."""
    due = _dt(np.array([window.start - 14 * DAY]))[0]
    rows = conn.execute(sql_file("source/seed_advance_payouts_due"), {"due": due}).fetchall()
    if not rows:
        return 0
    paid_at = window.start + rng("payouts").integers(0, window.end - window.start, len(rows))
    conn.execute(
        sql_file("source/seed_advance_pay_statements"), {"ids": [r[0] for r in rows], "payout_date": _dt(paid_at)}
    )
    return len(rows)

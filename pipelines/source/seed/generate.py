"""`source seed`: fill an empty source with a deterministic platform history, loaded parents first with COPY."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import psycopg
import pyarrow as pa

from pipelines.connections import connect
from pipelines.errors import UserError
from pipelines.queries import one_row, sql_file
from pipelines.source.partitions import ensure_monthly_partitions
from pipelines.source.seed import ai, billing, catalog, events, people, writing
from pipelines.source.seed.columns import SECOND, group_starts, join, labels, latest_at_or_before, stream, text
from pipelines.source.seed.load import Loader
from pipelines.source.seed.scales import SCALES, Scale
from pipelines.source.seed.texts import TextPool
from pipelines.source.seed.timeline import Window

SESSIONS_PER_EVENT_CHUNK = 100_000  # bounds memory: a chunk is ~1M events
ANONYMOUS_SHARE = 0.03  # of all events: visitors on the public pages


# Days `source advance` can append to a default history on the day it was seeded (advance never reaches today).
ADVANCE_ROOM_DAYS = 3


def seed(url: str, scale: str, seed: int, end_date: date | None = None, months: int | None = None) -> dict[str, int]:
    """Fill the empty source at `url`; returns rows inserted per table (schema.table)."""
    if scale not in SCALES:
        raise UserError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    spec = SCALES[scale]
    window = history_window(end_date, spec.months if months is None else months)
    with connect(url) as conn:
        check_empty_source(conn)
        ensure_monthly_partitions(conn, months_ahead=3, start=window.first_day)
        conn.commit()
        loader = Loader(conn)
        try:
            for table, data in history(spec, seed, window):
                loader.copy(table, data)
        finally:
            loader.close()
        conn.commit()
        conn.autocommit = True  # VACUUM cannot run in a transaction block
        conn.execute(sql_file("source/seed_settle"))
    return loader.counts


def default_end_date(today: date) -> date:
    """The last day of a default history: early enough that `source advance --days 3` (up to yesterday) fits today."""
    return today - timedelta(days=ADVANCE_ROOM_DAYS + 1)


def history_window(end_date: date | None, months: int) -> Window:
    """From the first day of the month `months - 1` before the end date's month through the end date (UTC)."""
    today = datetime.now(UTC).date()
    end_date = end_date or default_end_date(today)
    if end_date >= today:
        raise UserError(f"--end-date {end_date} is not in the past; history must end before today ({today}, UTC)")
    if months < 1 or months > 120:
        raise UserError(f"--months {months} is out of range; use 1 to 120")
    index = end_date.year * 12 + end_date.month - 1 - (months - 1)
    return Window.of_days(date(index // 12, index % 12 + 1, 1), end_date)


def check_schema(conn: psycopg.Connection) -> None:
    if not one_row(conn.execute(sql_file("source/seed_schema_present")))[0]:
        raise UserError("the source has no platform schema; run `ebook-analytics source init` first")


def check_empty_source(conn: psycopg.Connection) -> None:
    check_schema(conn)
    if one_row(conn.execute(sql_file("source/seed_has_users")))[0]:
        raise UserError(
            "the source already has users; seed an empty database (`source init` on a new one), "
            "or add days to this one with `ebook-analytics source advance --days N`"
        )


def sessions_target(spec: Scale) -> int:
    """Sessions needed so that all events come out near spec.events."""
    in_sessions = spec.events * (1 - ANONYMOUS_SHARE) - spec.generations - 1.3 * spec.users
    return max(int(in_sessions / events.EVENTS_PER_SESSION), spec.users)


def history(spec: Scale, seed: int, window: Window) -> Iterator[tuple[str, pa.Table]]:
    """The tables of the history, parents before children."""

    def rng(step: str) -> np.random.Generator:
        return stream(seed, step)

    pool = TextPool.build(rng("texts"))
    providers, models, model_ids = ai.providers_and_models(rng("providers"), window)
    yield "ai_processing.ai_providers", providers
    yield "ai_processing.ai_models", models
    plans, plan_ids = people.plans_table(rng("plans"), window)
    yield "billing.subscription_plans", plans

    users = people.new_users(rng("users"), spec.users, window, first_number=1, growth=4.0)
    n = len(users)
    primary = people.primary_auth_methods(rng("auth"), n)
    subs = people.new_subscriptions(rng("subscriptions"), users, window)
    tier = subs.tier_of_users(n)
    first_at = np.minimum(users.created + rng("first-session").integers(5, 60, n) * SECOND, window.end - 1)
    active_until = np.minimum(users.active_end, window.end)
    sessions = people.new_sessions(
        rng("sessions"),
        n,
        active_from=users.created,
        active_until=active_until,
        weight=users.intensity * np.where(tier > 0, 1.8, 1.0),
        target=sessions_target(spec) - n,
        first_at=first_at,
        window=window,
        home_ip=people.random_ips(rng("home-ip"), n),
    )
    yield (
        "users.users",
        people.users_table(rng("users-table"), users, primary, tier, people.last_login(sessions, n), window),
    )
    yield "users.user_auth_methods", people.auth_methods_table(rng("auth-table"), users, primary, window)
    yield "users.user_sessions", people.sessions_table(rng("sessions-table"), sessions, users.ids)
    orgs = people.new_organizations(rng("orgs"), users, tier, window)
    yield from zip(
        ("users.user_organizations", "users.organization_members"),
        people.organization_tables(rng("orgs-table"), orgs, users.ids),
        strict=True,
    )

    projects = writing.new_projects(rng("projects"), users, sessions, spec.projects_per_user, orgs, window)
    chapters = writing.new_chapters(rng("chapters"), projects)
    collaborators = writing.new_collaborators(rng("collaborators"), projects, chapters, users, orgs, window)
    gens = ai.new_generations(
        rng("generations"),
        sessions,
        users.intensity * np.where(tier > 0, 1.6, 0.7),
        spec.generations,
        projects,
        chapters,
        window,
        history=window,
    )
    model_names = labels([m.name for m in catalog.MODELS], gens.model)
    work_rows = (gens.status == ai.COMPLETED) & (gens.chapter >= 0)
    work = writing.AiWork(
        chapter=gens.chapter[work_rows],
        user=gens.user[work_rows],
        at=gens.completed[work_rows],
        model_name=model_names.filter(pa.array(work_rows)),
        prompt=ai.prompts(gens.template[work_rows]),
    )
    versions, first_work = writing.new_versions(rng("versions"), chapters, projects, collaborators, work)

    yield (
        "content.projects",
        writing.projects_table(rng("projects-table"), projects, chapters, versions, users.ids, orgs.ids, window),
    )
    yield (
        "content.project_collaborators",
        writing.collaborators_table(rng("collaborators-table"), collaborators, projects, users.ids),
    )
    yield (
        "content.chapters",
        writing.chapters_table(rng("chapters-table"), chapters, projects, versions, first_work, work, pool),
    )
    yield "content.content_versions", writing.versions_table(rng("versions-table"), versions, chapters, users.ids, pool)
    yield "content.content_embeddings", writing.embeddings_table(rng("embeddings"), chapters, projects, window)
    yield "ai_processing.prompt_templates", ai.templates_table(rng("templates"), gens, model_ids, window)
    yield (
        "ai_processing.ai_generations",
        ai.generations_table(rng("generations-table"), gens, users.ids, projects.ids, chapters.ids, model_ids, pool),
    )
    yield (
        "billing.user_subscriptions",
        people.subscriptions_table(rng("subscriptions-table"), subs, users.ids, plan_ids, window),
    )

    writes = latest_at_or_before(projects.owner, projects.created, sessions.user, sessions.end) >= 0
    exports = events.new_exports(rng("exports"), sessions, writes)
    export_user = sessions.user[exports.session]
    usage = billing.Usage.concat(
        [
            billing.generation_usage(gens),
            billing.flat_usage(
                1,
                export_user,
                exports.at,
                np.ones(len(export_user), dtype=np.int64),
                billing.EXPORT_PRICE_MICRO,
                latest_at_or_before(projects.owner, projects.created, export_user, exports.at),
            ),
            billing.flat_usage(
                2, projects.owner, projects.created, np.ones(len(projects), dtype=np.int64), 0, np.arange(len(projects))
            ),
            billing.storage_usage(projects.owner, projects.created, users.active_end, window),
        ]
    )
    yield (
        "billing.usage_records",
        billing.usage_table(rng("usage-table"), usage, subs, users.ids, projects.ids, gens.ids),
    )
    yield (
        "billing.revenue_shares",
        billing.revenue_shares_table(
            rng("revenue-shares"), projects.owner, projects.published, projects.ids, users.ids, window
        ),
    )

    billing_user, billing_at, billing_kind = people.billing_events(subs, window)
    outside_sessions = events.account_events(np.arange(n), users.created, billing_user, billing_at, billing_kind)
    outside_sessions += events.anonymous_events(rng("anonymous"), int(spec.events * ANONYMOUS_SHARE), window)
    for chunk, rows in enumerate(
        _events_in_time_slices(seed, sessions, writes, gens, model_names, exports, projects, outside_sessions)
    ):
        yield (
            "analytics.user_events",
            events.events_table(stream(seed, "events-table", chunk), rows, sessions, users.ids, window),
        )


def _events_in_time_slices(
    seed: int,
    sessions: people.Sessions,
    writes: np.ndarray,
    gens: ai.Generations,
    model_names: pa.Array,
    exports: events.Exports,
    projects: writing.Projects,
    outside_sessions: list[events.EventRows],
) -> Iterator[list[events.EventRows]]:
    """The events, a slice of about SESSIONS_PER_EVENT_CHUNK sessions at a time in session start order: memory
    stays bounded, and each monthly partition and index is filled in time order, which keeps COPY fast."""
    order = np.argsort(sessions.start, kind="stable")
    slices = max(1, -(-len(sessions) // SESSIONS_PER_EVENT_CHUNK))
    slice_of = np.empty(len(sessions), dtype=np.int64)
    slice_of[order] = np.arange(len(sessions)) * slices // max(len(sessions), 1)
    session_bounds = group_starts(slice_of[order], slices)
    first_start = sessions.start[order[session_bounds[1:-1]]]

    def by_slice(session: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows grouped by the slice of their session: (row order, CSR bounds)."""
        rows = np.argsort(slice_of[session], kind="stable")
        return rows, group_starts(slice_of[session][rows], slices)

    gen_rows, gen_bounds = by_slice(gens.session)
    export_rows, export_bounds = by_slice(exports.session)
    project_rows, project_bounds = by_slice(projects.session)
    outside = [rows.take(np.argsort(rows.at, kind="stable")) for rows in outside_sessions]
    outside_bounds = [
        np.asarray(np.searchsorted(rows.at, np.r_[np.iinfo(np.int64).min, first_start, np.iinfo(np.int64).max]))
        for rows in outside
    ]
    gen_data = join('{"generation_id": "', text(gens.ids), '", "model": "', model_names, '"}')
    for k in range(slices):
        g = gen_rows[gen_bounds[k] : gen_bounds[k + 1]]
        e = export_rows[export_bounds[k] : export_bounds[k + 1]]
        p = project_rows[project_bounds[k] : project_bounds[k + 1]]
        rows = events.session_events(
            stream(seed, "events", k),
            sessions,
            writes,
            order[session_bounds[k] : session_bounds[k + 1]],
            gens.session[g],
            gens.created[g],
            gen_data.take(pa.array(g)),
            events.Exports(exports.session[e], exports.at[e], exports.format[e]),
            projects.session[p],
            projects.created[p],
            projects.ids[p],
        )
        rows += [
            part.take(np.arange(bounds[k], bounds[k + 1])) for part, bounds in zip(outside, outside_bounds, strict=True)
        ]
        yield rows

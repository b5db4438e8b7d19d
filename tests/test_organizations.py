"""Organisation analytics and the Engagement page's plan and tier filters, on a hand-made platform published once.

Two organisations. Quill Press (owner Owen, plan Studio: 10 seats, enterprise) is created 2024-03-01; May and Leo
join that day and the next, Nia on 03-15. Night Owls (owner Pam, plan Team: 2 seats, premium) is created on
03-20 23:30 in New York, 03-21 04:30 UTC; Roy and Sam join on 03-21, Ted on 04-10, which puts it over its limit.
An organisation is active on a UTC day when one of its members that day wrote (a saved version or a chapter_edit).
Every figure below is worked out by hand from the rows in this file. The names are the source's only: teams are
often named after their owner, so the warehouse keeps organisations by key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from dashboards.auth import pseudonymize
from pipelines import warehouse
from pipelines.metrics.query import query_metrics
from pipelines.queries import sql_file
from tests.conftest import copy_published, last_run, run_cli
from tests.test_dashboards import _env, _metrics, _no_errors, _open
from tests.test_marts import assert_builds_by_key

OWEN, MAY, LEO, NIA, PAM, ROY, SAM, TED, DAN = (uuid.UUID(f"0e000000-0000-0000-0000-{n:012d}") for n in range(1, 10))
TIERS = {OWEN: "enterprise", PAM: "premium"}  # everyone else is free
QUILL, OWLS = uuid.UUID(int=0xA), uuid.UUID(int=0xB)
STUDIO, TEAM = uuid.UUID(int=0x51), uuid.UUID(int=0x52)
LEO_MEMBERSHIP = uuid.UUID(int=0x103)
# (membership id, organisation, member, role, joined_at); the owners are members too, as the platform records them.
MEMBERS = [
    (uuid.UUID(int=0x101), QUILL, OWEN, "owner", "2024-03-01 10:00:00+00"),
    (uuid.UUID(int=0x102), QUILL, MAY, "editor", "2024-03-01 12:00:00+00"),
    (LEO_MEMBERSHIP, QUILL, LEO, "member", "2024-03-02 09:00:00+00"),
    (uuid.UUID(int=0x104), QUILL, NIA, "member", "2024-03-15 00:30:00+00"),
    (uuid.UUID(int=0x201), OWLS, PAM, "owner", "2024-03-21 04:30:00+00"),
    (uuid.UUID(int=0x202), OWLS, ROY, "editor", "2024-03-21 05:00:00+00"),
    (uuid.UUID(int=0x203), OWLS, SAM, "viewer", "2024-03-21 06:00:00+00"),
    (uuid.UUID(int=0x204), OWLS, TED, "member", "2024-04-10 08:00:00+00"),
]
# chapter_edit events (user, timestamp): writing days, and activity for DAU/MAU.
EDITS = [
    (MAY, "2024-03-04 23:30:00-05"),  # 03-05 04:30 UTC: Quill Press is active on 03-05, not 03-04
    (DAN, "2024-03-06 10:00:00+00"),  # in no organisation
    (LEO, "2024-03-10 23:59:59+00"),  # the last second of 03-10
    (NIA, "2024-03-14 10:00:00+00"),  # the day before she joined: not Quill Press's
    (NIA, "2024-03-15 10:00:00+00"),  # joined at 00:30 that day
    (PAM, "2024-03-20 12:00:00+00"),  # the day before Night Owls existed (and she was its member)
    (ROY, "2024-03-22 09:00:00+00"),
    (MAY, "2024-04-02 10:00:00+00"),
]
LEO_VERSION = "2024-03-18 08:00:00+00"  # a saved version: writing, not an event
# AI generations (project, cost, created_at): Quill Press's project, Night Owls' and Dan's own.
PROJECTS = {QUILL: uuid.UUID(int=0xA1), OWLS: uuid.UUID(int=0xB1), None: uuid.UUID(int=0xD1)}
GENERATIONS = [
    (QUILL, "0.123456", "2024-03-05 10:00:00+00"),
    (QUILL, "0.000001", "2024-03-31 23:59:59+00"),
    (QUILL, "1.100000", "2024-03-31 23:30:00-05"),  # 04-01 04:30 UTC: April
    (OWLS, "0.500000", "2024-03-22 10:00:00+00"),
    (None, "9.990000", "2024-03-06 10:00:00+00"),  # no organisation's
]
MARCH, APRIL, MAY_2024 = date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1)
THIS_MONTH = datetime.now(UTC).date().replace(day=1)


def _insert(url: str) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into users.users (id, email, tier, created_at) values (%s, %s, %s, '2024-02-01 00:00:00+00')",
            [
                (user, f"{user}@example.com", TIERS.get(user, "free"))
                for user in (OWEN, MAY, LEO, NIA, PAM, ROY, SAM, TED, DAN)
            ],
        )
        cur.executemany(
            "insert into billing.subscription_plans (id, name, price, billing_cycle, collaborators_limit)"
            " values (%s, %s, %s, 'monthly', %s)",
            [(STUDIO, "Studio", "49.00", 10), (TEAM, "Team", "19.00", 2)],
        )
        cur.executemany(
            "insert into billing.user_subscriptions (user_id, plan_id, status, amount, created_at,"
            " current_period_start, current_period_end) values (%s, %s, 'active', %s, '2024-02-01 00:00:00+00',"
            " '2024-02-01 00:00:00+00', '2024-03-01 00:00:00+00')",
            [(OWEN, STUDIO, "49.00"), (PAM, TEAM, "19.00")],
        )
        cur.executemany(
            "insert into users.user_organizations (id, name, owner_id, created_at) values (%s, %s, %s, %s)",
            [
                (QUILL, "Quill Press", OWEN, "2024-03-01 10:00:00+00"),
                (OWLS, "Night Owls", PAM, "2024-03-20 23:30:00-05"),
            ],
        )
        cur.executemany(
            "insert into users.organization_members (id, organization_id, user_id, role, joined_at)"
            " values (%s, %s, %s, %s, %s)",
            MEMBERS,
        )
        owners = {QUILL: OWEN, OWLS: PAM, None: DAN}
        published = {QUILL: "2024-03-31 23:30:00-05", OWLS: "2024-03-25 12:00:00+00", None: None}
        for org, project in PROJECTS.items():
            cur.execute(
                "insert into content.projects (id, owner_id, organization_id, title, status, created_at, published_at)"
                " values (%s, %s, %s, 'Book', %s, '2024-03-01 12:00:00+00', %s)",
                (project, owners[org], org, "published" if published[org] else "draft", published[org]),
            )
        chapter = uuid.UUID(int=0xC1)
        cur.execute(
            "insert into content.chapters (id, project_id, position) values (%s, %s, 1)", (chapter, PROJECTS[QUILL])
        )
        cur.execute(
            "insert into content.content_versions (id, chapter_id, version_number, word_count, content, changed_by,"
            " created_at) values (%s, %s, 1, 100, 'text', %s, %s)",
            (uuid.UUID(int=0xC2), chapter, LEO, LEO_VERSION),
        )
        cur.executemany(
            "insert into analytics.user_events (user_id, event_type, event_category, timestamp)"
            " values (%s, 'chapter_edit', 'writing', %s)",
            EDITS,
        )
        # Data from February on, so the page's March is a whole month (the organisations' AI spend is monthly).
        cur.execute(
            "insert into analytics.user_events (user_id, event_type, event_category, timestamp)"
            " values (%s, 'page_view', 'navigation', '2024-02-20 10:00:00+00')",
            (DAN,),
        )
        cur.execute("insert into ai_processing.ai_providers (id, name) values (%s, 'openai')", (uuid.UUID(int=7),))
        cur.execute(
            "insert into ai_processing.ai_models (id, provider_id, name, version) values (%s, %s, 'gpt-4', '1')",
            (uuid.UUID(int=8), uuid.UUID(int=7)),
        )
        cur.executemany(
            "insert into ai_processing.ai_generations (id, user_id, project_id, model_id, prompt, status, tokens_used,"
            " cost, processing_time_ms, created_at, completed_at) values (%s, %s, %s, %s, 'write', 'completed', 100,"
            " %s, 1000, %s, %s::timestamptz + interval '1 second')",
            [
                (uuid.UUID(int=0xE0 + n), owners[org], PROJECTS[org], uuid.UUID(int=8), cost, at, at)
                for n, (org, cost, at) in enumerate(GENERATIONS)
            ],
        )


@pytest.fixture(scope="module")
def published(publish_own_dataset: Callable[[Callable[[str], None], str], dict[str, str]]) -> dict[str, str]:
    return publish_own_dataset(_insert, "organizations")


def _rows(env: dict[str, str], sql: str, params: dict[str, object] | None = None) -> list[tuple]:
    con = warehouse.connect(env["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def _metric(env: dict[str, str], names: list[str], start: date, end: date, **options: object) -> list[tuple]:
    con = warehouse.connect(env["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        frame = query_metrics(con, names, start=start, end=end, **options)
    finally:
        con.close()
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_an_organisation_is_active_on_the_utc_days_its_members_wrote(published: dict[str, str]) -> None:
    rows = _rows(
        published, "select day, organization_id, plan, tier, writers from marts.organization_days order by day"
    )
    d = date
    assert rows == [
        (d(2024, 3, 5), QUILL, "Studio", "enterprise", 1),  # May's New York evening of 03-04
        (d(2024, 3, 10), QUILL, "Studio", "enterprise", 1),  # Leo
        (d(2024, 3, 15), QUILL, "Studio", "enterprise", 1),  # Nia's first day as a member (not 03-14)
        (d(2024, 3, 18), QUILL, "Studio", "enterprise", 1),  # Leo's saved version
        (d(2024, 3, 22), OWLS, "Team", "premium", 1),  # Roy; Pam's 03-20 edit predates Night Owls
        (d(2024, 4, 2), QUILL, "Studio", "enterprise", 1),
    ]  # Dan belongs to no organisation


def test_a_refresh_by_organisation_builds_only_its_rows_exactly(published: dict[str, str]) -> None:
    con = warehouse.connect(published["EBOOK_ANALYTICS_WAREHOUSE"], read_only=True)
    try:
        assert_builds_by_key(con, "organization_days", "organization_id")
    finally:
        con.close()


def test_active_organisations_per_day_week_and_month(published: dict[str, str]) -> None:
    names = ["active_organizations", "weekly_active_organizations", "monthly_active_organizations"]
    days = _metric(published, names, date(2024, 3, 4), date(2024, 3, 5), grain="day")
    assert [row[1:] for row in days] == [(0, 0, 0), (1, 1, 1)]  # nothing yet on 03-04 (UTC)
    # ISO weeks of March (the first cut to 03-01..03-03): 7 days ending on each Sunday (03-31 for the last).
    weeks = _metric(published, ["weekly_active_organizations"], MARCH, date(2024, 3, 31), grain="week")
    assert [row[1] for row in weeks] == [0, 1, 1, 2, 0]  # 03-18..03-24: Leo's version and Roy
    assert _metric(published, names, MARCH, date(2024, 3, 31), grain="all") == [(None, 0, 0, 2)]
    # The owner's plan and tier cut them: Night Owls alone is on Team (and premium).
    assert _metric(published, names, MARCH, date(2024, 3, 31), grain="all", where={"plan": ["Team"]}) == [
        (None, 0, 0, 1)
    ]
    weeks = _metric(
        published, ["weekly_active_organizations"], MARCH, date(2024, 3, 31), grain="week", where={"tier": ["premium"]}
    )
    assert [row[1] for row in weeks] == [0, 0, 0, 1, 0]


def test_seats_against_the_owners_plan(published: dict[str, str]) -> None:
    rows = _rows(
        published,
        "select month, organization_id, members, collaborators_limit, over_limit, complete"
        " from marts.organization_monthly where month in ('2024-03-01', '2024-04-01') order by month, organization_id",
    )
    assert rows == [
        (MARCH, QUILL, 3, 10, False, True),  # May, Leo and Nia (joined 03-15); Owen is the owner, no seat
        (MARCH, OWLS, 2, 2, False, True),  # Roy and Sam: at the limit, not over it
        (APRIL, QUILL, 3, 10, False, True),
        (APRIL, OWLS, 3, 2, True, True),  # Ted joined on 04-10
    ]
    seats = _rows(
        published, sql_file("reports/engagement/organization_seats"), {"end": "2024-04-30", "plans": [], "tiers": []}
    )
    assert seats == [
        (str(OWLS), str(PAM), "Team", "premium", 3, 2, -1, True),  # over the limit first
        (str(QUILL), str(OWEN), "Studio", "enterprise", 3, 10, 7, False),
    ]
    picked = {"end": "2024-03-31", "plans": ["Team"], "tiers": []}
    assert [row[0] for row in _rows(published, sql_file("reports/engagement/organization_seats"), picked)] == [
        str(OWLS)
    ]


def test_ai_spend_and_publications_per_organisation_and_month(published: dict[str, str]) -> None:
    rows = _rows(
        published,
        sql_file("reports/engagement/organization_months"),
        {"start": "2024-03-01", "end": "2024-05-31", "plans": [], "tiers": []},
    )
    assert [(r[0], r[1], r[6], r[7], r[8], r[9]) for r in rows] == [
        (MARCH, str(OWLS), 1, 1, Decimal("0.500000"), 1),  # published 03-25
        (MARCH, str(QUILL), 4, 2, Decimal("0.123457"), 0),  # 0.123456 + 0.000001 (03-31 23:59:59 UTC)
        (APRIL, str(QUILL), 1, 1, Decimal("1.100000"), 1),  # New York's 03-31 evening is April in UTC
        (APRIL, str(OWLS), 0, 0, Decimal("0.000000"), 0),
        (MAY_2024, str(QUILL), 0, 0, Decimal("0.000000"), 0),  # no spend: by id
        (MAY_2024, str(OWLS), 0, 0, Decimal("0.000000"), 0),
    ]  # Dan's 9.99 is no organisation's
    spend = _metric(
        published, ["organization_ai_cost", "organization_publications"], MARCH, date(2024, 4, 30), grain="month"
    )
    assert spend == [(MARCH, Decimal("0.623457"), 1), (APRIL, Decimal("1.100000"), 1)]
    assert _metric(published, ["organization_ai_cost"], MARCH, date(2024, 4, 30), where={"plan": ["Studio"]}) == [
        (None, Decimal("1.223457"))
    ]


def test_retention_of_organisations_by_creation_month(published: dict[str, str]) -> None:
    report = sql_file("reports/engagement/organization_retention")
    params = {"start": "2024-03-01", "end": "2024-05-31", "plans": [], "tiers": []}
    # March cohort: both active in March, Quill Press alone in April, neither in May.
    assert _rows(published, report, params) == [
        (MARCH, 0, 2, True, 2, 1.0),
        (MARCH, 1, 2, True, 1, 0.5),
        (MARCH, 2, 2, True, 0, 0.0),
    ]
    # Ending mid-May, May is not fully observed: an empty cell, never 0%.
    assert _rows(published, report, {**params, "end": "2024-05-15"})[-1] == (MARCH, 2, 2, False, None, None)
    assert _rows(published, report, {**params, "plans": ["Team"]}) == [
        (MARCH, 0, 1, True, 1, 1.0),
        (MARCH, 1, 1, True, 0, 0.0),
        (MARCH, 2, 1, True, 0, 0.0),
    ]


def test_events_follow_the_plan_and_tier_of_the_person_that_day(published: dict[str, str]) -> None:
    report = sql_file("reports/engagement/events_by_type")
    march = {"start": "2024-03-01", "end": "2024-03-31"}
    # The edits of March: all but May's of 04-02.
    assert _rows(published, report, {**march, "plans": [], "tiers": []}) == [("chapter_edit", "writing", 7)]
    assert _rows(published, report, {**march, "plans": ["Team"], "tiers": []}) == [("chapter_edit", "writing", 1)]
    # Free: May, Dan, Leo, Nia twice and Roy (Pam is premium; nobody else is on a plan).
    free = {**march, "plans": ["(no plan)"], "tiers": ["free"]}
    assert _rows(published, report, free) == [("chapter_edit", "writing", 6)]


def test_a_member_who_left_keeps_their_past_but_not_their_seat(
    published: dict[str, str], create_database: Callable[..., str], tmp_path: Path
) -> None:
    env = copy_published(published, tmp_path, create_database)
    with psycopg.connect(env["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:
        conn.execute("delete from users.organization_members where id = %s", (LEO_MEMBERSHIP,))
    run_cli("etl", "run", env=env)
    seats = "select month, members from marts.organization_monthly where organization_id = $org and month in ($a, $b)"
    assert _rows(env, seats + " order by month", {"org": QUILL, "a": MARCH, "b": THIS_MONTH}) == [
        (MARCH, 3),  # Leo was a member at the end of March 2024
        (THIS_MONTH, 2),  # gone at this run's snapshot: May and Nia
    ]
    days = "select day from marts.organization_days where organization_id = $org order by day"
    assert [day for (day,) in _rows(env, days, {"org": QUILL})] == [
        date(2024, 3, 5), date(2024, 3, 10), date(2024, 3, 15), date(2024, 3, 18), date(2024, 4, 2)
    ]  # fmt: skip


def test_the_owners_tier_and_plan_changed_in_place_reach_the_organisations_days(
    published: dict[str, str], create_database: Callable[..., str], tmp_path: Path
) -> None:
    """May edits now; then Owen, Quill Press's owner, goes from enterprise to basic in place. The next run refreshes
    Quill Press (by organisation, through its owner's tier versions): its day of May's edit ends on the new tier,
    its 2024 days keep the old one. Then Owen's plan, Studio, is renamed in place: every day of Quill Press is on
    it (through his plan months, whose plan changed), and Night Owls is not touched."""
    env = copy_published(published, tmp_path, create_database)
    with psycopg.connect(env["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:
        conn.execute(
            "insert into analytics.user_events (user_id, event_type, event_category, timestamp)"
            " values (%s, 'chapter_edit', 'writing', now())",
            (MAY,),
        )
    run_cli("etl", "run", env=env)
    days = "select day, tier from marts.organization_days where organization_id = $org order by day"
    *old_days, (edit_day, tier) = _rows(env, days, {"org": QUILL})
    assert tier == "enterprise" and {tier for _, tier in old_days} == {"enterprise"} and len(old_days) == 5
    with psycopg.connect(env["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:
        conn.execute("update users.users set tier = 'basic' where id = %s", (OWEN,))
    run_cli("etl", "run", env=env)
    run = last_run(env)
    assert run["marts"]["organization_days"]["mode"] == "key"
    # The new tier is in force from this run's snapshot: at the end of the edit's day, unless midnight UTC came
    # between the two runs.
    changed_on = datetime.fromisoformat(run["snapshot_at"]).astimezone(UTC).date()
    assert _rows(env, days, {"org": QUILL}) == [*old_days, (edit_day, "basic" if changed_on == edit_day else tier)]

    with psycopg.connect(env["EBOOK_ANALYTICS_SOURCE_URL"]) as conn:
        conn.execute("update billing.subscription_plans set name = 'Studio Plus' where id = %s", (STUDIO,))
    run_cli("etl", "run", env=env)
    run = last_run(env)
    refreshed = run["marts"]["organization_days"]
    assert (refreshed["mode"], refreshed["keys"]) == ("key", 1)
    plans = "select organization_id, plan, count(*) from marts.organization_days group by all order by all"
    assert _rows(env, plans) == [(QUILL, "Studio Plus", 6), (OWLS, "Team", 1)]


def test_the_engagement_page_shows_organisations_and_follows_the_plan_filter(
    published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards.auth.users import add_user

    for name, value in _env(Path(published["EBOOK_ANALYTICS_HOME"]), no_auth=False).items():
        monkeypatch.setenv(name, value)
    add_user("pm@example.com", "product", "correct horse battery")
    march = {"dates": ["2024-03-01", "2024-03-31"]}
    at = _open("engagement", march, signed_in="pm@example.com")
    _no_errors(at)
    tiles = _metrics(at)
    # 30 days to 03-31: May, Dan, Leo, Nia, Pam and Roy had events (Leo's version is no event; Owen never came).
    assert (tiles["Monthly active users"], tiles["Monthly active organisations"]) == ("6", "2")
    assert tiles["AI spend of organisations"] == "$0.62"
    seats = next(frame.value for frame in at.dataframe if "owner" in frame.value.columns)
    assert seats["organization_id"].tolist() == [str(OWLS), str(QUILL)]  # no seat left first, then 7
    assert seats["owner"].tolist() == [pseudonymize(str(PAM)), pseudonymize(str(OWEN))]  # a product manager: keys

    at = _open("engagement", {**march, "plan": ["Team"]}, signed_in="pm@example.com")
    _no_errors(at)
    tiles = _metrics(at)
    # Team: Pam (a user of the plan) and Night Owls (its owner's plan).
    assert (tiles["Monthly active users"], tiles["Monthly active organisations"]) == ("1", "1")
    assert tiles["AI spend of organisations"] == "$0.50"
    seats = next(frame.value for frame in at.dataframe if "owner" in frame.value.columns)
    assert seats["organization_id"].tolist() == [str(OWLS)]

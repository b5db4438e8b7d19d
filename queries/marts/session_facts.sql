-- One row per sign-in session (users.user_sessions) with the events recorded in it (user_events.session_id): the
-- facts of the session metrics (queries/metrics/engagement.yml). A session runs from its sign-in (created_at; the
-- first event when that is missing or later) to its last event; a session without events lasts 0 seconds.
with sessions as (
    select * from staging.user_sessions
),

-- (read twice: DuckDB would materialize it, every event copied and no time range left to skip row groups by)
events as not materialized (
    select * from staging.user_events
),

user_tiers as (
    select * from history.user_tiers
),

plan_months as (
    select * from marts.plan_utilization_monthly
),

-- A refresh by day builds only the sessions that may start on its days ($window_first .. $window_last; no bound in
-- a whole build). A session starts on its sign-in's day or its first event's: so those signed in on them or with no
-- sign-in time, and those with an event on them, each with all its events (found by ranges of the times, which
-- skip most row groups); the refresh keeps the rows of its days.
window_sessions as (
    select id as session_id from sessions
    where created_at is null or on_utc_days(created_at, $window_first, $window_last)
    union
    select session_id from events
    where session_id is not null and on_utc_days("timestamp", $window_first, $window_last)
),

session_events as (
    select
        session_id,
        count(*) as events,
        min("timestamp") as first_event_at,
        max("timestamp") as last_event_at
    from events
    where
        session_id is not null
        and (
            ($window_first is null and $window_last is null)
            or session_id in (select window_sessions.session_id from window_sessions)
        )
    group by session_id
),

spans as (
    select
        sessions.id as session_id,
        sessions.user_id,
        coalesce(session_events.events, 0) as events,
        case
            when sessions.created_at is null or session_events.first_event_at < sessions.created_at
                then session_events.first_event_at
            else sessions.created_at
        end as started_at,
        session_events.last_event_at
    from sessions
    left join session_events on sessions.id = session_events.session_id
    where
        ($window_first is null and $window_last is null)
        or sessions.id in (select window_sessions.session_id from window_sessions)
),

final as (
    select
        utc_day(spans.started_at) as day,
        spans.session_id,
        spans.user_id,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(plan_months.plan, '(no plan)') as plan,
        spans.started_at,
        coalesce(spans.last_event_at, spans.started_at) as ended_at,
        spans.events,
        date_diff('second', spans.started_at, coalesce(spans.last_event_at, spans.started_at)) as length_seconds
    from spans
    left join user_tiers
        on spans.user_id = user_tiers.user_id
        and user_tiers.effective_from <= spans.started_at
        and spans.started_at < user_tiers.effective_to
    left join plan_months
        on
        plan_months.user_id = spans.user_id
        and plan_months.month = date_trunc('month', utc_day(spans.started_at))
    where spans.started_at is not null
)

select * from final

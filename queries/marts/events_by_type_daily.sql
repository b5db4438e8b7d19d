with events as (
    select * from staging.user_events
    -- a refresh by day reads only its days' events (a mart row is one UTC day's): other row groups are skipped
    where on_utc_days("timestamp", $window_first, $window_last)
),

user_tiers as (
    select * from history.user_tiers
),

plan_months as (
    select * from marts.plan_utilization_monthly
),

-- The UTC day from epoch microseconds: what "timestamp"::date gives under TimeZone UTC, without the time-zone
-- library's per-row conversion (10x faster over tens of millions of events).
event_days as (
    select
        utc_day("timestamp") as day,
        event_type,
        coalesce(event_category, 'uncategorised') as event_category,
        user_id
    from events
),

-- One row per user (anonymous: NULL) and day first, so the tier and plan are looked up once per user-day.
user_event_days as (
    select
        day,
        event_type,
        event_category,
        user_id,
        count(*) as events
    from event_days
    group by day, event_type, event_category, user_id
),

-- The user's tier in force at the end of the day and plan live in its month (as user_activity_days); anonymous
-- events have neither: 'unknown' and '(no plan)'.
segmented as (
    select
        user_event_days.*,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(plan_months.plan, '(no plan)') as plan
    from user_event_days
    left join user_tiers
        on
        user_tiers.user_id = user_event_days.user_id
        and user_tiers.effective_from < (user_event_days.day + 1)::timestamptz
        and (user_event_days.day + 1)::timestamptz <= user_tiers.effective_to
    left join plan_months
        on
        plan_months.user_id = user_event_days.user_id
        and plan_months.month = date_trunc('month', user_event_days.day)
),

final as (
    select
        day,
        event_type,
        event_category,
        tier,
        plan,
        sum(events)::bigint as events,
        count(user_id) as users
    from segmented
    group by day, event_type, event_category, tier, plan
)

select * from final

-- A writing day: a UTC day on which the user saved a content version (changed_by: owners and collaborators alike)
-- or recorded a chapter_edit event.
with versions as (
    select * from marts.version_facts
    -- a refresh by day reads only its days' versions and events (a mart row is one UTC day's)
    where on_days(day, $window_first, $window_last)
),

events as (
    select * from staging.user_events
    where on_utc_days("timestamp", $window_first, $window_last)
),

user_tiers as (
    select * from history.user_tiers
),

plan_months as (
    select * from marts.plan_utilization_monthly
),

version_writing as (
    select
        changed_by as user_id,
        day,
        1 as versions,
        0 as chapter_edits
    from versions
    where changed_by is not null
),

edit_writing as (
    select
        user_id,
        utc_day("timestamp") as day,
        0 as versions,
        1 as chapter_edits
    from events
    where event_type = 'chapter_edit' and user_id is not null
),

writing as (
    select * from version_writing
    union all
    select * from edit_writing
),

writer_days as (
    select
        day,
        user_id,
        sum(versions)::bigint as versions,
        sum(chapter_edits)::bigint as chapter_edits
    from writing
    group by day, user_id
),

-- The tier in force at the end of the day and the plan live in its month, as in user_activity_days.
final as (
    select
        writer_days.day,
        writer_days.user_id,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(plan_months.plan, '(no plan)') as plan,
        writer_days.versions,
        writer_days.chapter_edits
    from writer_days
    left join user_tiers
        on
        user_tiers.user_id = writer_days.user_id
        and user_tiers.effective_from < (writer_days.day + 1)::timestamptz
        and (writer_days.day + 1)::timestamptz <= user_tiers.effective_to
    left join plan_months
        on
        plan_months.user_id = writer_days.user_id
        and plan_months.month = date_trunc('month', writer_days.day)
    order by writer_days.day
)

select * from final

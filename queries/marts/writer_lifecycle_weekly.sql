-- PostHog-style lifecycle of writers per ISO week (UTC, Monday to Sunday), per the writers' tier and plan.
with writing_days as (
    select * from marts.user_writing_days
),

-- Weeks as integers: whole UTC days since 1970-01-01 (a Thursday) plus 3, divided by 7, turns over on Mondays
-- (as in retention_weekly). A writer's tier and plan for the week are those of their last writing day in it.
writer_weeks as (
    select
        user_id,
        (day - date '1970-01-01' + 3) // 7 as week_number,
        arg_max(tier, day) as tier,
        arg_max(plan, day) as plan
    from writing_days
    group by user_id, week_number
),

-- Each writing week against the writer's first writing week, the writer's previous and next writing weeks.
writer_history as (
    select
        user_id,
        week_number,
        tier,
        plan,
        min(week_number) over (partition by user_id) as first_week,
        lag(week_number) over (partition by user_id order by week_number) as previous_week,
        lead(week_number) over (partition by user_id order by week_number) as next_week
    from writer_weeks
),

-- new: the first writing week ever; returning: wrote the week before too; resurrecting: wrote before, not the week
-- before.
active as (
    select
        week_number,
        tier,
        plan,
        count(*) filter (where week_number = first_week) as new_writers,
        count(*) filter (where previous_week = week_number - 1) as returning_writers,
        count(*) filter (where week_number > first_week and previous_week < week_number - 1) as resurrecting_writers
    from writer_history
    group by week_number, tier, plan
),

-- dormant: wrote the week before, not this week (in the tier and plan of that last writing week).
dormant as (
    select
        week_number + 1 as week_number,
        tier,
        plan,
        count(*) as dormant_writers
    from writer_history
    where next_week is null or next_week > week_number + 1
    group by week_number + 1, tier, plan
),

-- Every week from the first writing week to the snapshot's (or the latest writing's, if later), for every tier and
-- plan writers had, so a quiet week shows as zeros rather than missing.
bounds as (
    select
        min(week_number) as first_week,
        greatest(max(week_number), ($snapshot_date::date - date '1970-01-01' + 3) // 7) as last_week
    from writer_weeks
),

segments as (
    select distinct tier, plan
    from writer_weeks
),

weeks as (
    select
        unnest(range(bounds.first_week, bounds.last_week + 1)) as week_number,
        segments.tier,
        segments.plan
    from bounds
    cross join segments
),

final as (
    select
        date '1970-01-01' + (7 * weeks.week_number - 3)::integer as week,
        weeks.tier,
        weeks.plan,
        coalesce(active.new_writers, 0)::bigint as new_writers,
        coalesce(active.returning_writers, 0)::bigint as returning_writers,
        coalesce(active.resurrecting_writers, 0)::bigint as resurrecting_writers,
        coalesce(dormant.dormant_writers, 0)::bigint as dormant_writers,
        (
            coalesce(active.new_writers, 0) + coalesce(active.returning_writers, 0)
            + coalesce(active.resurrecting_writers, 0)
        )::bigint as active_writers,
        date '1970-01-01' + (7 * weeks.week_number + 4)::integer <= $snapshot_date::date as complete
    from weeks
    left join active using (week_number, tier, plan)
    left join dormant using (week_number, tier, plan)
    order by week, weeks.tier, weeks.plan
)

select * from final

-- The 30-day active users of each day (engagement_daily.mau) split by tier and plan: each person counts in the tier
-- and plan of their latest active day in the 30 days (user_activity_days), so the parts add up to the day's MAU
-- and stickiness (DAU/MAU) can be cut by the same filters as DAU.
-- A refresh of a window of days ($window_first to $window_last; no bound in a whole build) reads the activity from
-- 30 days before it, as engagement_daily does.
with activity as (
    select * from marts.user_activity_days
    where on_days(day, $window_first::date - 30, $window_last)
),

engagement as (
    select * from marts.engagement_daily
),

-- As in engagement_daily: a user active on day d counts for d .. d+29, cut short where their next active day takes
-- over (in that day's tier and plan); a user's spans never overlap.
spans as (
    select
        day,
        tier,
        plan,
        least(day + 30, coalesce(lead(day) over (partition by user_id order by day), day + 30)) as mau_end
    from activity
),

starts as (
    select day, tier, plan, count(*) as started
    from spans
    group by day, tier, plan
),

ends as (
    select mau_end as day, tier, plan, count(*) as ended
    from spans
    group by mau_end, tier, plan
),

segments as (
    select distinct tier, plan
    from activity
),

days as (
    select engagement.day, segments.tier, segments.plan
    from engagement
    cross join segments
),

running as (
    select
        days.day,
        days.tier,
        days.plan,
        sum(coalesce(starts.started, 0) - coalesce(ends.ended, 0)) over (
            partition by days.tier, days.plan order by days.day rows between unbounded preceding and current row
        ) as mau
    from days
    left join starts using (day, tier, plan)
    left join ends using (day, tier, plan)
),

final as (
    select day, tier, plan, mau::bigint as mau
    from running
    where mau > 0
    order by day, tier, plan
)

select * from final

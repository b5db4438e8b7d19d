with events_by_type as (
    select * from marts.events_by_type_daily
),

users as (
    select * from staging.users
),

-- Active means a user-initiated event: billing events the system records are not activity (user_activity_days).
-- A refresh of a window of days ($window_first to $window_last; no bound in a whole build) reads the activity from
-- 30 days before it: a span that started earlier ended before the window, and the running counts below are exact in
-- it (the refresh keeps only the window's days).
activity as (
    select * from marts.user_activity_days
    where on_days(day, $window_first::date - 30, $window_last)
),

-- Every event of a day, anonymous and billing ones too: the day's counts by type, which that mart keeps (a count of
-- the events themselves read every event each run).
events_by_day as (
    select day, sum(events)::bigint as events
    from events_by_type
    group by day
),

day_spine as (
    select unnest(generate_series(min(day), max(day), interval 1 day))::date as day
    from events_by_day
),

user_days as (
    select user_id, day
    from activity
),

dau as (
    select day, count(*) as dau
    from user_days
    group by day
),

-- WAU/MAU without a 7x/30x self-join: a user active on day d counts for the window days d .. d+N-1, cut short
-- where their next active day takes over. A user's spans then never overlap, so the users in the window on a
-- day are the spans started so far (one per active user-day: the DAU) minus the spans ended so far.
user_day_spans as (
    select
        least(day + 7, coalesce(lead(day) over per_user, day + 7)) as wau_end,
        least(day + 30, coalesce(lead(day) over per_user, day + 30)) as mau_end
    from user_days
    window per_user as (partition by user_id order by day)
),

wau_ends as (
    select wau_end as day, count(*) as wau_ended
    from user_day_spans
    group by wau_end
),

mau_ends as (
    select mau_end as day, count(*) as mau_ended
    from user_day_spans
    group by mau_end
),

rolling_active as (
    select
        day_spine.day,
        sum(coalesce(dau.dau, 0) - coalesce(wau_ends.wau_ended, 0)) over running as wau,
        sum(coalesce(dau.dau, 0) - coalesce(mau_ends.mau_ended, 0)) over running as mau
    from day_spine
    left join dau using (day)
    left join wau_ends using (day)
    left join mau_ends using (day)
    window running as (order by day_spine.day rows between unbounded preceding and current row)
),

new_users as (
    select created_at::date as day, count(*) as new_users
    from users
    group by day
),

final as (
    select
        day_spine.day,
        coalesce(dau.dau, 0) as dau,
        rolling_active.wau::bigint as wau,
        rolling_active.mau::bigint as mau,
        coalesce(events_by_day.events, 0) as events,
        coalesce(new_users.new_users, 0) as new_users
    from day_spine
    inner join rolling_active using (day)
    left join dau using (day)
    left join events_by_day using (day)
    left join new_users using (day)
)

select * from final

with events as (
    select * from staging.user_events
),

users as (
    select * from staging.users
),

events_by_day as (
    select "timestamp"::date as day, count(*) as events
    from events
    group by day
),

day_spine as (
    select unnest(generate_series(min(day), max(day), interval 1 day))::date as day
    from events_by_day
),

user_days as (
    select distinct user_id, "timestamp"::date as day
    from events
    where user_id is not null
),

dau as (
    select day, count(*) as dau
    from user_days
    group by day
),

-- WAU/MAU without a 7x/30x self-join: a user active on day d counts for the window days d .. d+N-1, cut short
-- where their next active day takes over. A user's spans then never overlap, so +1 at each span's start and -1
-- after its end, summed over the days so far, is the number of distinct users in the window.
user_day_spans as (
    select
        day,
        least(day + 7, coalesce(lead(day) over per_user, day + 7)) as wau_end,
        least(day + 30, coalesce(lead(day) over per_user, day + 30)) as mau_end
    from user_days
    window per_user as (partition by user_id order by day)
),

span_edges as (
    select day, 1 as wau_delta, 1 as mau_delta from user_day_spans
    union all
    select wau_end, -1, 0 from user_day_spans
    union all
    select mau_end, 0, -1 from user_day_spans
),

edges_by_day as (
    select day, sum(wau_delta) as wau_delta, sum(mau_delta) as mau_delta
    from span_edges
    group by day
),

rolling_active as (
    select
        day_spine.day,
        sum(coalesce(edges_by_day.wau_delta, 0)) over running as wau,
        sum(coalesce(edges_by_day.mau_delta, 0)) over running as mau
    from day_spine
    left join edges_by_day using (day)
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
    join rolling_active using (day)
    left join dau using (day)
    left join events_by_day using (day)
    left join new_users using (day)
)

select * from final

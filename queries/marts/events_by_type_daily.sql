with events as (
    select * from staging.user_events
),

event_days as (
    select
        utc_day("timestamp") as day,
        event_type,
        coalesce(event_category, 'uncategorised') as event_category,
        user_id
    from events
),

final as (
    select
        day,
        event_type,
        event_category,
        count(*) as events,
        count(distinct user_id) as users
    from event_days
    group by day, event_type, event_category
)

select * from final

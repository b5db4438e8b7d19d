-- DAU, WAU, MAU, stickiness (DAU/MAU), events and new users per UTC day of the period.
with engagement as (
    select * from marts.engagement_daily
),

final as (
    select
        day,
        dau,
        wau,
        mau,
        dau / nullif(mau, 0) as stickiness,
        events,
        new_users
    from engagement
    where day between $start and $end
    order by day
)

select * from final

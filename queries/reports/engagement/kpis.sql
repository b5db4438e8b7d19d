-- Average DAU and MAU, stickiness and new users over the period and over the previous one.
with engagement as (
    select * from marts.engagement_daily
),

periods as (
    select
        case when day between $start and $end then 'current' else 'previous' end as period,
        dau,
        mau,
        new_users
    from engagement
    where day between $start and $end or day between $prev_start and $prev_end
),

final as (
    select
        period,
        avg(dau) as avg_dau,
        avg(mau) as avg_mau,
        sum(dau) / nullif(sum(mau), 0) as stickiness,
        sum(new_users) as new_users
    from periods
    group by period
)

select * from final

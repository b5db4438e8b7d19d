-- Subscribers past their plan's token allowance in the snapshot's month; value and threshold are utilisation
-- ratios (1.0 = the whole allowance).
with utilization as (
    select * from marts.plan_utilization_monthly
),

this_month as (
    select
        user_id,
        month,
        max(utilization) as utilization
    from utilization
    where
        month = date_trunc('month', $snapshot_date::date)
        and utilization is not null
    group by user_id, month
),

final as (
    select
        user_id::varchar as subject,
        utilization as value,
        $threshold::decimal(18, 6) as threshold,
        strftime(month, '%Y-%m') as "window",
        null::varchar as detail
    from this_month
    where utilization > $threshold
)

select * from final

-- Revenue-period months in the range with a statement whose period had not ended at the snapshot (the mart's
-- `partial`): their figures will still change.
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select distinct period_month as month
    from statements
    where partial and period_month between date_trunc('month', $start) and $end
    order by month
)

select * from final

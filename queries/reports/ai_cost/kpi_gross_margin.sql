-- Gross margin (subscription MRR minus AI cost) of the calendar months the period touches, and of the previous
-- period's months: the mart's grain is the month.
with by_user as (
    select * from marts.ai_cost_by_user_monthly
),

final as (
    select
        coalesce(sum(gross_margin_usd) filter (
            where month between date_trunc('month', $start) and $end
        ), 0) as current,
        coalesce(sum(gross_margin_usd) filter (
            where month between date_trunc('month', $prev_start) and $prev_end
        ), 0) as previous
    from by_user
)

select * from final

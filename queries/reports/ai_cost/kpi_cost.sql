-- AI cost of the period and of the previous one (same length, just before).
with daily as (
    select * from marts.ai_cost_daily
),

final as (
    select
        coalesce(sum(cost_usd) filter (where day between $start and $end), 0) as current,
        coalesce(sum(cost_usd) filter (where day between $prev_start and $prev_end), 0) as previous
    from daily
)

select * from final

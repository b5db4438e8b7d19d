-- AI cost and failure rate of the period and of the previous one (same length, just before), for the chosen
-- providers and models (empty lists: all).
with daily as (
    select * from marts.ai_cost_daily
),

filtered as (
    select *
    from daily
    where picked($providers, provider)
      and picked($models, model)
),

final as (
    select
        coalesce(sum(cost_usd) filter (where day between $start and $end), 0) as current,
        coalesce(sum(cost_usd) filter (where day between $prev_start and $prev_end), 0) as previous,
        (
            sum(failed) filter (where day between $start and $end)
            / nullif(sum(generations) filter (where day between $start and $end), 0)
        ) as failure_rate,
        (
            sum(failed) filter (where day between $prev_start and $prev_end)
            / nullif(sum(generations) filter (where day between $prev_start and $prev_end), 0)
        ) as failure_rate_previous
    from filtered
)

select * from final

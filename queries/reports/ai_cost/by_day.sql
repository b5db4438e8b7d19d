-- Cost and tokens per UTC day and provider, for the chosen providers and models.
with daily as (
    select * from marts.ai_cost_daily
),

filtered as (
    select *
    from daily
    where day between $start and $end
      and picked($providers, provider)
      and picked($models, model)
),

final as (
    select
        day,
        provider,
        sum(generations) as generations,
        sum(tokens_used) as tokens_used,
        sum(cost_usd) as cost_usd
    from filtered
    group by day, provider
    order by day, provider
)

select * from final

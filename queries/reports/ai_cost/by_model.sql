-- Totals per provider and model over the period: volume, failures, cost, unit cost, latency and quality.
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
        provider,
        model,
        sum(generations) as generations,
        sum(failed) / nullif(sum(generations), 0) as failure_rate,
        sum(tokens_used) as tokens_used,
        sum(cost_usd) as cost_usd,
        (sum(cost_usd) * 1000 / nullif(sum(tokens_used), 0))::decimal(18, 6) as cost_per_1k_tokens,
        sum(p50_latency_ms * completed) / nullif(sum(completed) filter (where p50_latency_ms is not null), 0)
            as p50_latency_ms,
        sum(p95_latency_ms * completed) / nullif(sum(completed) filter (where p95_latency_ms is not null), 0)
            as p95_latency_ms,
        avg(avg_quality_rating) as avg_quality_rating
    from filtered
    group by provider, model
    order by cost_usd desc, provider asc, model asc
)

select * from final

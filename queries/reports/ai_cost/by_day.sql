-- Cost, tokens, failures and latency per UTC day and provider, for the chosen providers and models.
-- Latency percentiles of several models are combined weighted by completed generations (an approximation:
-- percentiles do not add up exactly).
with daily as (
    select * from marts.ai_cost_daily
),

filtered as (
    select *
    from daily
    where day between $start and $end
      and (len($providers) = 0 or list_contains($providers, provider))
      and (len($models) = 0 or list_contains($models, model))
),

final as (
    select
        day,
        provider,
        sum(generations) as generations,
        sum(completed) as completed,
        sum(failed) as failed,
        sum(failed) / nullif(sum(generations), 0) as failure_rate,
        sum(tokens_used) as tokens_used,
        sum(cost_usd) as cost_usd,
        sum(p50_latency_ms * completed) / nullif(sum(completed) filter (where p50_latency_ms is not null), 0)
            as p50_latency_ms,
        sum(p95_latency_ms * completed) / nullif(sum(completed) filter (where p95_latency_ms is not null), 0)
            as p95_latency_ms
    from filtered
    group by day, provider
    order by day, provider
)

select * from final

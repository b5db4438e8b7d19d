-- Per UTC day over the chosen providers and models: failure rate and the latency of completed generations.
-- The day's p50/p95 is the models' daily percentiles weighted by their completed generations (percentiles do
-- not add up exactly; this is the usual approximation from pre-aggregated marts).
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
        sum(generations) as generations,
        sum(failed) as failed,
        sum(failed) / nullif(sum(generations), 0) as failure_rate,
        sum(p50_latency_ms * completed) / nullif(sum(completed) filter (where p50_latency_ms is not null), 0)
            as p50_latency_ms,
        sum(p95_latency_ms * completed) / nullif(sum(completed) filter (where p95_latency_ms is not null), 0)
            as p95_latency_ms
    from filtered
    group by day
    order by day
)

select * from final

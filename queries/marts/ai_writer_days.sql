with generations as (
    select * from staging.ai_generations
),

models as (
    select * from marts.ai_models
),

generation_days as (
    select
        -- created_at::date under TimeZone UTC, without the time-zone library's per-row conversion (10x faster)
        utc_day(created_at) as day,
        user_id,
        model_id,
        count(*) as generations,
        sum(coalesce(cost, 0)) as cost
    from generations
    group by all
),

-- Named after the aggregation (fewer rows to join); a generation whose model is gone counts under 'unknown', and
-- versions of the same model combine in the final grouping.
final as (
    select
        generation_days.day,
        generation_days.user_id,
        coalesce(models.provider, 'unknown') as provider,
        coalesce(models.model, 'unknown') as model,
        sum(generation_days.generations)::bigint as generations,
        sum(generation_days.cost)::decimal(18, 6) as cost_usd
    from generation_days
    left join models on models.model_id = generation_days.model_id
    group by all
    -- in day order, so a period's query skips the row groups of other days
    order by generation_days.day
)

select * from final

-- The model league table over the period: volume, reliability, speed, quality and unit cost per model, a composite
-- rank (the mean of its ranks on failure rate, p95 latency, mean rating and cost per generation; lower is better)
-- and the cheapest model rated within 0.2 stars of the best-rated one.
with facts as (
    select * from marts.ai_generation_facts
),

versions as (
    select * from marts.version_facts
),

in_period as (
    select *
    from facts
    where day between $start and $end
),

ai_words as (
    select
        provider,
        model,
        sum(ai_words) as ai_words
    from versions
    where is_ai and day between $start and $end
    group by provider, model
),

per_model as (
    select
        provider,
        model,
        count(*) as generations,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where status in ('completed', 'failed')) as finished,
        round(
            quantile_cont(processing_time_ms, 0.95) filter (
                where status = 'completed' and processing_time_ms is not null
            ),
            6
        ) as latency_p95_ms,
        avg(quality_rating) as mean_rating,
        count(quality_rating) as ratings,
        avg(confidence_score) as mean_confidence,
        sum(cost_usd) as cost_usd,
        count(*) filter (where is_regeneration) as regenerations,
        count(chapter_id) as on_chapters
    from in_period
    group by provider, model
),

measured as (
    select
        per_model.*,
        coalesce(ai_words.ai_words, 0) as ai_words,
        per_model.failed / nullif(per_model.finished, 0) as failure_rate,
        money_per(per_model.cost_usd, per_model.generations) as cost_per_generation_usd,
        money_per(per_model.cost_usd * 1000, ai_words.ai_words) as cost_per_1k_ai_words_usd,
        per_model.regenerations / nullif(per_model.on_chapters, 0) as regeneration_rate
    from per_model
    left join ai_words
        on ai_words.provider = per_model.provider
        and ai_words.model = per_model.model
),

ranked as (
    select
        *,
        (
            rank() over (order by failure_rate asc nulls last)
            + rank() over (order by latency_p95_ms asc nulls last)
            + rank() over (order by mean_rating desc nulls last)
            + rank() over (order by cost_per_generation_usd asc nulls last)
        ) / 4 as composite_score
    from measured
),

best as (
    select max(mean_rating) as best_rating from measured
),

cheapest_near_best as (
    select
        measured.provider,
        measured.model
    from measured
    cross join best
    where measured.mean_rating >= best.best_rating - 0.2
    order by measured.cost_per_generation_usd asc, measured.provider asc, measured.model asc
    limit 1
),

final as (
    select
        rank() over (order by ranked.composite_score asc) as composite_rank,
        ranked.provider,
        ranked.model,
        ranked.generations,
        ranked.failure_rate,
        ranked.latency_p95_ms,
        ranked.mean_rating,
        ranked.ratings,
        ranked.mean_confidence,
        ranked.cost_per_generation_usd,
        ranked.cost_per_1k_ai_words_usd,
        ranked.regeneration_rate,
        ranked.composite_score,
        cheapest_near_best.model is not null as cheapest_near_best
    from ranked
    left join cheapest_near_best
        on cheapest_near_best.provider = ranked.provider
        and cheapest_near_best.model = ranked.model
    order by composite_rank asc, ranked.provider asc, ranked.model asc
)

select * from final

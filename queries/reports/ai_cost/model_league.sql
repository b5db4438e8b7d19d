-- The model league table over the period, per writing task (the matched template's category; 'all' for every
-- generation, 'unmatched' for prompts no template matched) and model: volume, reliability, speed, quality and unit
-- cost, a composite rank within the task (the mean of its ranks there on failure rate, p95 latency, mean rating and
-- cost per generation; lower is better) and the task's cheapest model rated within 0.2 stars of its best-rated one.
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

-- Every generation counts once in its task and once in 'all'.
tasks as (
    select * from in_period
    union all
    select * replace ('all' as category) from in_period
),

-- AI words kept, in the task of the generation they are attributed to (a version without one: 'all' only).
version_words as (
    select
        facts.category,
        versions.provider,
        versions.model,
        versions.ai_words
    from versions
    left join facts on facts.generation_id = versions.generation_id
    where versions.is_ai and versions.day between $start and $end
),

ai_words as (
    select
        category,
        provider,
        model,
        sum(ai_words) as ai_words
    from version_words
    where category is not null
    group by category, provider, model
    union all
    select
        'all' as category,
        provider,
        model,
        sum(ai_words) as ai_words
    from version_words
    group by provider, model
),

per_model as (
    select
        category,
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
    from tasks
    group by category, provider, model
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
        on ai_words.category = per_model.category
        and ai_words.provider = per_model.provider
        and ai_words.model = per_model.model
),

ranked as (
    select
        *,
        (
            rank() over (partition by category order by failure_rate asc nulls last)
            + rank() over (partition by category order by latency_p95_ms asc nulls last)
            + rank() over (partition by category order by mean_rating desc nulls last)
            + rank() over (partition by category order by cost_per_generation_usd asc nulls last)
        ) / 4 as composite_score,
        max(mean_rating) over (partition by category) as best_rating
    from measured
),

cheapest_near_best as (
    select
        category,
        provider,
        model
    from ranked
    where mean_rating >= best_rating - 0.2
    qualify row_number() over (
            partition by category order by cost_per_generation_usd asc, provider asc, model asc
        ) = 1
),

final as (
    select
        ranked.category,
        rank() over (partition by ranked.category order by ranked.composite_score asc) as composite_rank,
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
        on cheapest_near_best.category = ranked.category
        and cheapest_near_best.provider = ranked.provider
        and cheapest_near_best.model = ranked.model
    order by
        ranked.category = 'all' desc, ranked.category asc, composite_rank asc, ranked.provider asc, ranked.model asc
)

select * from final

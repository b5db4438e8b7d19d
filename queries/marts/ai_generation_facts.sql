-- (read twice: not materialized, each read keeps only the rows and columns it needs)
with generations as not materialized (
    select * from staging.ai_generations
),

models as (
    select * from marts.ai_models
),

user_tiers as (
    select * from history.user_tiers
),

templates as (
    select * from staging.prompt_templates
),

-- A fingerprint two templates share identifies neither: only fingerprints of exactly one template match.
recognisable_templates as (
    select
        prompt_fingerprint,
        any_value(id) as template_id,
        any_value(coalesce(category, 'uncategorised')) as category
    from templates
    where prompt_fingerprint is not null
    group by prompt_fingerprint
    having count(*) = 1
),

-- A refresh by day builds only its days' generations ($window_first .. $window_last; no bound in a whole build: a
-- mart row is one UTC day's), found by a range of their times, which skips most row groups.
window_generations as (
    select * from generations
    where on_utc_days(created_at, $window_first, $window_last)
),

-- The generation before each one on the same chapter: within 10 minutes, the writer asked again (a regeneration).
-- Over the whole history of the chapters the built generations are on (a chapter's previous one may be older).
previous_on_chapter as (
    select
        id,
        lag(created_at) over (partition by chapter_id order by created_at, id) as previous_at
    from generations
    where
        chapter_id is not null
        and (
            ($window_first is null and $window_last is null)
            or chapter_id in (select window_generations.chapter_id from window_generations)
        )
),

-- The tier in force when the generation was created, so a past month keeps its tiers when a user changes tier
-- today (the first tier seen reaches back before the first load: history.user_tiers.effective_from).
final as (
    select
        utc_day(generations.created_at) as day,
        generations.id as generation_id,
        generations.user_id,
        generations.project_id,
        generations.chapter_id,
        coalesce(models.provider, 'unknown') as provider,
        coalesce(models.model, 'unknown') as model,
        generations.status,
        coalesce(generations.tokens_used, 0)::bigint as tokens_used,
        coalesce(generations.cost, 0)::decimal(18, 6) as cost_usd,
        generations.processing_time_ms,
        generations.quality_rating,
        generations.confidence_score,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(previous_on_chapter.previous_at >= generations.created_at - interval 10 minute, false)
            as is_regeneration,
        recognisable_templates.template_id,
        coalesce(recognisable_templates.category, 'unmatched') as category,
        generations.error_class
    from window_generations as generations
    left join models on models.model_id = generations.model_id
    left join previous_on_chapter on previous_on_chapter.id = generations.id
    left join recognisable_templates on recognisable_templates.prompt_fingerprint = generations.prompt_fingerprint
    left join user_tiers
        on user_tiers.user_id = generations.user_id
        and user_tiers.effective_from <= generations.created_at
        and generations.created_at < user_tiers.effective_to
    -- in day order, so a period's query skips the row groups of other days
    order by day
)

select * from final

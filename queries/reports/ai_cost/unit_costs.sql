-- Cost per 1,000 AI-generated words and per active writer over the period, for the chosen providers and models.
-- Generated words: words of the content versions the AI wrote (change types ai_generation and ai_revision).
-- Active writers: distinct users with a generation in the period.
with generations as (
    select * from staging.ai_generations
),

models as (
    select * from staging.ai_models
),

providers as (
    select * from staging.ai_providers
),

versions as (
    select * from staging.content_versions
),

chosen as (
    select generations.user_id, coalesce(generations.cost, 0) as cost
    from generations
    left join models on models.id = generations.model_id
    left join providers on providers.id = models.provider_id
    -- UTC days as a timestamp range, so DuckDB can skip row groups of other days
    where generations.created_at >= $start::timestamptz
      and generations.created_at < ($end + interval 1 day)::timestamptz
      and (len($providers) = 0 or list_contains($providers, coalesce(providers.name, 'unknown')))
      and (len($models) = 0 or list_contains($models, coalesce(models.name, 'unknown')))
),

generated_words as (
    select coalesce(sum(word_count), 0) as words
    from versions
    where change_type in ('ai_generation', 'ai_revision')
      -- UTC days as a timestamp range, so DuckDB can skip row groups of other days
      and created_at >= $start::timestamptz
      and created_at < ($end + interval 1 day)::timestamptz
),

totals as (
    select sum(cost) as cost_usd, count(distinct user_id) as active_writers
    from chosen
),

final as (
    select
        totals.cost_usd,
        totals.active_writers,
        generated_words.words as generated_words,
        (totals.cost_usd * 1000 / nullif(generated_words.words, 0))::decimal(18, 6) as cost_per_1k_words,
        (totals.cost_usd / nullif(totals.active_writers, 0))::decimal(18, 6) as cost_per_writer
    from totals
    cross join generated_words
)

select * from final

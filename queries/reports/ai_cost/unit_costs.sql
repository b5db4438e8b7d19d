-- Cost per 1,000 AI-generated words and per active writer over the period, for the chosen providers and models.
-- Generated words: words of the content versions the AI wrote (change types ai_generation and ai_revision).
-- Active writers: distinct users with a generation in the period.
with writer_days as (
    select * from marts.ai_writer_days
),

words_daily as (
    select * from marts.ai_words_daily
),

totals as (
    select sum(cost_usd) as cost_usd, count(distinct user_id) as active_writers
    from writer_days
    where day between $start and $end
      and picked($providers, provider)
      and picked($models, model)
),

generated_words as (
    select coalesce(sum(words), 0) as words
    from words_daily
    where day between $start and $end
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

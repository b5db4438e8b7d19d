-- Per book over its whole life: AI generations, tokens and cost, words, publication, sales and their split, payback.
with books as (
    select * from marts.unit_economics_books
),

final as (
    select
        project_title as book,
        author_id::varchar as author_id,
        genre,
        cohort,
        published_at,
        generations,
        tokens_used,
        ai_cost_usd,
        words_written,
        book_sales,
        platform_commission,
        author_share,
        payback_month
    from books
    where picked($genres, genre) and picked($plans, plan) and picked($cohorts, cohort)
    order by ai_cost_usd desc, project_id asc
)

select * from final

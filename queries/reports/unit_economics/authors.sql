-- Per author over the whole history: subscription revenue, AI cost, commission and contribution. The plan filter
-- picks authors by their plan; genre and cohort filters keep the authors with a book among those picked (their
-- figures stay whole: subscription revenue and AI tied to no book belong to no genre).
with authors as (
    select * from marts.unit_economics_authors
),

books as (
    select * from marts.unit_economics_books
),

picked_authors as (
    select distinct author_id
    from books
    where picked($genres, genre) and picked($cohorts, cohort)
),

final as (
    select
        author_id::varchar as author_id,
        plan,
        books,
        subscription_revenue_usd,
        book_ai_cost_usd,
        unbooked_ai_cost_usd,
        ai_cost_usd,
        platform_commission,
        contribution_usd
    from authors
    where
        picked($plans, plan)
        and (
            (len($genres) = 0 and len($cohorts) = 0)
            or author_id in (select picked_authors.author_id from picked_authors)
        )
    order by contribution_usd asc, author_id asc
)

select * from final

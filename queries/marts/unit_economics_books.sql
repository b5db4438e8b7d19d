-- A refresh by book reads only its books' rows ($window_keys; every book in every other build).
with facts as (
    select * from marts.unit_economics_daily
    where in_window_keys(project_id, $window_keys::uuid[])
),

projects as (
    select * from staging.projects
    where in_window_keys(id, $window_keys::uuid[])
),

chapters as (
    select * from staging.chapters
    where in_window_keys(project_id, $window_keys::uuid[])
),

book_totals as (
    select
        project_id,
        any_value(author_id) as author_id,
        any_value(genre) as genre,
        any_value(plan) as plan,
        any_value(cohort) as cohort,
        sum(generations) as generations,
        sum(tokens_used) as tokens_used,
        sum(ai_cost_usd) as ai_cost_usd,
        sum(book_sales) as book_sales,
        sum(platform_commission) as platform_commission,
        sum(author_share) as author_share
    from facts
    where project_id is not null
    group by project_id
),

words as (
    select project_id, sum(coalesce(word_count, 0)) as words_written
    from chapters
    group by project_id
),

-- Per book and UTC month: the AI cost of the month's generations and the commission of the statements whose
-- revenue period starts in it, then both summed from the book's first month.
book_months as (
    select
        project_id,
        date_trunc('month', day)::date as month,
        sum(ai_cost_usd) as ai_cost_usd,
        sum(platform_commission) as platform_commission
    from facts
    where project_id is not null
    group by all
),

cumulative as (
    select
        project_id,
        month,
        sum(ai_cost_usd) over (partition by project_id order by month) as cumulative_ai_cost_usd,
        sum(platform_commission) over (partition by project_id order by month) as cumulative_commission
    from book_months
),

-- The first month in which the commission so far covers the AI cost so far; a book without AI cost has none.
payback as (
    select project_id, min(month) as payback_month
    from cumulative
    where cumulative_ai_cost_usd > 0 and cumulative_commission >= cumulative_ai_cost_usd
    group by project_id
),

final as (
    select
        book_totals.project_id,
        projects.title as project_title,
        book_totals.author_id,
        book_totals.genre,
        book_totals.plan,
        book_totals.cohort,
        projects.published_at,
        book_totals.generations::bigint as generations,
        book_totals.tokens_used::bigint as tokens_used,
        book_totals.ai_cost_usd::decimal(18, 6) as ai_cost_usd,
        coalesce(words.words_written, 0)::bigint as words_written,
        book_totals.book_sales::decimal(18, 2) as book_sales,
        book_totals.platform_commission::decimal(18, 2) as platform_commission,
        book_totals.author_share::decimal(18, 2) as author_share,
        payback.payback_month
    from book_totals
    left join projects on projects.id = book_totals.project_id
    left join words on words.project_id = book_totals.project_id
    left join payback on payback.project_id = book_totals.project_id
)

select * from final

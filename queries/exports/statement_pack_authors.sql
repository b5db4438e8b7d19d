-- The statement pack's per-author figures: one row per author with a statement whose revenue period starts in the
-- month. Bound: $period_start (first day of the month), $period_end (first day of the next month), $year_start
-- (1 January of the month's year).
-- paid / unpaid: the month's author share by payout status (pending, processing and failed are unpaid).
-- ytd_*: statements starting from 1 January through the month.
-- unpaid_carried_forward: the author share of statements that started before the month and are not paid yet.
with statements as (
    select * from marts.revenue_share_statements
),

month_authors as (
    select distinct author_id
    from statements
    where period_start >= $period_start and period_start < $period_end
),

author_statements as (
    select
        statements.*,
        statements.period_start >= $period_start as in_month,
        statements.payout_status = 'paid' as paid
    from statements
    inner join month_authors on statements.author_id = month_authors.author_id
    where statements.period_start < $period_end
),

final as (
    select
        author_id,
        count(*) filter (where in_month) as statements,
        coalesce(sum(book_sales) filter (where in_month), 0)::decimal(18, 2) as book_sales,
        coalesce(sum(platform_revenue) filter (where in_month), 0)::decimal(18, 2) as platform_revenue,
        coalesce(sum(author_revenue) filter (where in_month), 0)::decimal(18, 2) as author_revenue,
        coalesce(sum(author_revenue) filter (where in_month and paid), 0)::decimal(18, 2) as author_revenue_paid,
        coalesce(sum(author_revenue) filter (where in_month and not paid), 0)::decimal(18, 2) as author_revenue_unpaid,
        coalesce(sum(book_sales) filter (where period_start >= $year_start), 0)::decimal(18, 2) as ytd_book_sales,
        coalesce(
            sum(platform_revenue) filter (where period_start >= $year_start), 0
        )::decimal(18, 2) as ytd_platform_revenue,
        coalesce(
            sum(author_revenue) filter (where period_start >= $year_start), 0
        )::decimal(18, 2) as ytd_author_revenue,
        count(*) filter (where not in_month and not paid) as unpaid_statements_carried_forward,
        coalesce(
            sum(author_revenue) filter (where not in_month and not paid), 0
        )::decimal(18, 2) as unpaid_carried_forward
    from author_statements
    group by author_id
)

select * from final

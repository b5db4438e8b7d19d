-- Restatements: statements of a closed month whose amounts differ now from those frozen at the close (month
-- close, `ebook-analytics close-month`). A payout's status and date moving on is not a restatement; an amount
-- changed, a statement gone since the close or a new one starting in a closed month is.
with closed as (
    select * from meta.closed_statements
),

statements as (
    select * from marts.revenue_share_statements
),

closed_months as (
    select distinct
        period_month,
        closed_at,
        closed_run_id
    from closed
),

-- Each frozen row beside the statement as published now (NULL: gone since the close).
frozen_now as (
    select
        closed.period_month,
        closed.revenue_share_id,
        coalesce(statements.author_id, closed.author_id) as author_id,
        coalesce(statements.project_title, closed.project_title) as project_title,
        case when statements.revenue_share_id is null then 'removed' else 'changed' end as change,
        closed.book_sales as before_book_sales,
        statements.book_sales as after_book_sales,
        closed.commission_rate as before_commission_rate,
        statements.commission_rate as after_commission_rate,
        closed.platform_revenue as before_platform_revenue,
        statements.platform_revenue as after_platform_revenue,
        closed.author_revenue as before_author_revenue,
        statements.author_revenue as after_author_revenue,
        statements.payout_status,
        closed.closed_at,
        closed.closed_run_id
    from closed
    left join statements on closed.revenue_share_id = statements.revenue_share_id
),

-- Statements starting in a closed month that the close did not freeze (added after it).
added as (
    select
        statements.period_month,
        statements.revenue_share_id,
        statements.author_id,
        statements.project_title,
        'added' as change,
        null::decimal(15, 2) as before_book_sales,
        statements.book_sales as after_book_sales,
        null::decimal(5, 4) as before_commission_rate,
        statements.commission_rate as after_commission_rate,
        null::decimal(15, 2) as before_platform_revenue,
        statements.platform_revenue as after_platform_revenue,
        null::decimal(15, 2) as before_author_revenue,
        statements.author_revenue as after_author_revenue,
        statements.payout_status,
        closed_months.closed_at,
        closed_months.closed_run_id
    from statements
    inner join closed_months on statements.period_month = closed_months.period_month
    anti join closed on statements.revenue_share_id = closed.revenue_share_id
),

compared as (
    select * from frozen_now
    union all
    select * from added
),

final as (
    select
        period_month,
        revenue_share_id,
        author_id,
        project_title,
        change,
        before_book_sales,
        after_book_sales,
        before_commission_rate,
        after_commission_rate,
        before_platform_revenue,
        after_platform_revenue,
        before_author_revenue,
        after_author_revenue,
        coalesce(after_author_revenue, 0) - coalesce(before_author_revenue, 0) as author_revenue_difference,
        payout_status,
        closed_at,
        closed_run_id
    from compared
    where
        before_book_sales is distinct from after_book_sales
        or before_commission_rate is distinct from after_commission_rate
        or before_platform_revenue is distinct from after_platform_revenue
        or before_author_revenue is distinct from after_author_revenue
)

select * from final

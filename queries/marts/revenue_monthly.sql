with statements as (
    select * from marts.revenue_share_statements
),

statement_months as (
    select date_trunc('month', period_start)::date as month, *
    from statements
),

-- Months without statements still get a row, so a chart shows the gap as zero rather than skipping it.
month_spine as (
    select unnest(generate_series(min(month), max(month), interval 1 month))::date as month
    from statement_months
),

revenue_by_month as (
    select
        month,
        count(*) as statements,
        bool_or(partial) as partial,
        sum(book_sales) as book_sales,
        sum(platform_revenue) as platform_revenue,
        sum(author_revenue) as author_revenue,
        sum(author_revenue) filter (where payout_status = 'paid') as author_revenue_paid,
        sum(author_revenue) filter (where payout_status = 'pending') as author_revenue_pending,
        sum(author_revenue) filter (where payout_status = 'processing') as author_revenue_processing,
        sum(author_revenue) filter (where payout_status = 'failed') as author_revenue_failed
    from statement_months
    group by month
),

final as (
    select
        month_spine.month,
        coalesce(revenue_by_month.statements, 0) as statements,
        coalesce(revenue_by_month.partial, false) as partial,
        coalesce(revenue_by_month.book_sales, 0)::decimal(18, 2) as book_sales,
        coalesce(revenue_by_month.platform_revenue, 0)::decimal(18, 2) as platform_revenue,
        coalesce(revenue_by_month.author_revenue, 0)::decimal(18, 2) as author_revenue,
        coalesce(revenue_by_month.author_revenue_paid, 0)::decimal(18, 2) as author_revenue_paid,
        coalesce(revenue_by_month.author_revenue_pending, 0)::decimal(18, 2) as author_revenue_pending,
        coalesce(revenue_by_month.author_revenue_processing, 0)::decimal(18, 2) as author_revenue_processing,
        coalesce(revenue_by_month.author_revenue_failed, 0)::decimal(18, 2) as author_revenue_failed
    from month_spine
    left join revenue_by_month using (month)
)

select * from final

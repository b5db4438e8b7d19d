-- Totals of the chosen month's statements: sales, both shares, and the authors' share not yet paid.
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select
        count(*) as statements,
        coalesce(sum(book_sales), 0) as book_sales,
        coalesce(sum(platform_revenue), 0) as platform_revenue,
        coalesce(sum(author_revenue), 0) as author_revenue,
        coalesce(sum(author_revenue) filter (where payout_status <> 'paid'), 0) as author_revenue_unpaid
    from statements
    where date_trunc('month', period_start) = $month
)

select * from final

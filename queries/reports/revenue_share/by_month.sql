-- Book sales, platform commission and the authors' share by payout status, per month of the period.
with revenue as (
    select * from marts.revenue_monthly
),

final as (
    select
        month,
        statements,
        book_sales,
        platform_revenue,
        author_revenue,
        author_revenue_paid,
        author_revenue_pending,
        author_revenue_processing,
        author_revenue_failed
    from revenue
    where month between date_trunc('month', $start) and $end
    order by month
)

select * from final

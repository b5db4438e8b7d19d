-- The statements whose revenue period starts in the chosen month.
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select
        author_id::varchar as author_id,
        project_title,
        period_start,
        period_end,
        book_sales,
        commission_rate,
        platform_revenue,
        author_revenue,
        payout_status,
        payout_date
    from statements
    where date_trunc('month', period_start) = $month
    order by author_revenue desc, author_id asc, period_start asc
)

select * from final

-- Amounts of closed months that changed after the close, with before and after (marts.revenue_share_restatements).
with restatements as (
    select * from marts.revenue_share_restatements
),

final as (
    select
        period_month as month,
        author_id::varchar as author_id,
        project_title,
        change,
        before_book_sales,
        after_book_sales,
        before_author_revenue,
        after_author_revenue,
        author_revenue_difference,
        before_platform_revenue,
        after_platform_revenue,
        payout_status,
        closed_at,
        revenue_share_id::varchar as revenue_share_id
    from restatements
    order by period_month asc, author_id asc, revenue_share_id asc
)

select * from final

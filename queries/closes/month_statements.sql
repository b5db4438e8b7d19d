-- The published statements of one revenue-period month: what a close freezes (DuckDB, the live warehouse).
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select
        revenue_share_id::varchar as revenue_share_id,
        author_id::varchar as author_id,
        project_id::varchar as project_id,
        project_title,
        period_start,
        period_end,
        book_sales,
        commission_rate,
        platform_revenue,
        author_revenue,
        payout_status,
        payout_date,
        partial
    from statements
    where period_month = $month
    order by revenue_share_id
)

select * from final

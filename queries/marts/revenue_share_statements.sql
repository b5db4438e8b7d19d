with revenue_shares as (
    select * from staging.revenue_shares
),

projects as (
    select * from staging.projects
),

final as (
    select
        revenue_shares.id as revenue_share_id,
        revenue_shares.user_id as author_id,
        revenue_shares.project_id,
        projects.title as project_title,
        revenue_shares.revenue_period_start as period_start,
        revenue_shares.revenue_period_end as period_end,
        date_trunc('month', revenue_shares.revenue_period_start)::date as period_month,
        -- the period runs to the end of its last day (UTC): not over at the snapshot, its sales may still grow
        revenue_shares.revenue_period_end >= $snapshot_date::date as partial,
        coalesce(revenue_shares.book_sales, 0)::decimal(15, 2) as book_sales,
        revenue_shares.platform_commission_rate::decimal(5, 4) as commission_rate,
        coalesce(revenue_shares.platform_revenue, 0)::decimal(15, 2) as platform_revenue,
        coalesce(revenue_shares.user_revenue, 0)::decimal(15, 2) as author_revenue,
        revenue_shares.payout_status,
        revenue_shares.payout_date
    from revenue_shares
    left join projects on projects.id = revenue_shares.project_id
)

select * from final

-- Totals of the chosen month's statements: sales, both shares, the authors' share not yet paid, and whether the
-- revenue period of any of them had not ended at the snapshot (partial: its figures will still change).
with statements as (
    select * from marts.revenue_share_statements
),

publication as (
    select * from meta.publication
),

chosen as (
    select *
    from statements
    where date_trunc('month', period_start) = $month
),

final as (
    select
        count(*) as statements,
        coalesce(sum(book_sales), 0) as book_sales,
        coalesce(sum(platform_revenue), 0) as platform_revenue,
        coalesce(sum(author_revenue), 0) as author_revenue,
        coalesce(sum(author_revenue) filter (where payout_status <> 'paid'), 0) as author_revenue_unpaid,
        max(period_end) as period_end,
        -- a period ends at the midnight after its last day: not ended while the snapshot is on or before that day
        coalesce(bool_or(period_end >= (select snapshot_at::date from publication)), false) as partial
    from chosen
)

select * from final

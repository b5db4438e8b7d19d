-- MRR in the period's last month against the previous period's last month, and book sales of the statements
-- whose revenue period starts in each period.
with mrr as (
    select * from marts.mrr_monthly
),

statements as (
    select * from marts.revenue_share_statements
),

mrr_totals as (
    select
        coalesce(sum(mrr_usd) filter (where month = date_trunc('month', $end)), 0) as mrr,
        coalesce(sum(mrr_usd) filter (where month = date_trunc('month', $prev_end)), 0) as mrr_previous
    from mrr
),

sales_totals as (
    select
        coalesce(sum(book_sales) filter (where period_start between $start and $end), 0) as book_sales,
        coalesce(sum(book_sales) filter (where period_start between $prev_start and $prev_end), 0)
            as book_sales_previous
    from statements
),

final as (
    select mrr_totals.*, sales_totals.* from mrr_totals cross join sales_totals
)

select * from final

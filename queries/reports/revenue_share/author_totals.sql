-- Per author over the statements whose period starts in the period: sales, their share, and what is unpaid.
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select
        author_id::varchar as author_id,
        count(*) as statements,
        count(distinct project_id) as books,
        sum(book_sales) as book_sales,
        sum(author_revenue) as author_revenue,
        coalesce(sum(author_revenue) filter (where payout_status = 'paid'), 0) as paid,
        coalesce(sum(author_revenue) filter (where payout_status <> 'paid'), 0) as unpaid
    from statements
    where period_start between $start and $end
    group by author_id
    order by author_revenue desc, author_id asc
)

select * from final

-- Every month close, newest month first.
select
    period_month,
    closed_at,
    closed_by,
    role,
    run_id,
    snapshot_at,
    statements,
    book_sales,
    platform_revenue,
    author_revenue
from month_closes
order by period_month desc

insert into month_closes (
    period_month, closed_at, closed_by, role, run_id, snapshot_at, statements, book_sales, platform_revenue,
    author_revenue
)
values (
    :period_month, :closed_at, :closed_by, :role, :run_id, :snapshot_at, :statements, :book_sales, :platform_revenue,
    :author_revenue
)

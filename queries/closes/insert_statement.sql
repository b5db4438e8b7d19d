insert into closed_statements (
    period_month, revenue_share_id, author_id, project_id, project_title, period_start, period_end, book_sales,
    commission_rate, platform_revenue, author_revenue, payout_status, payout_date
)
values (
    :period_month, :revenue_share_id, :author_id, :project_id, :project_title, :period_start, :period_end,
    :book_sales, :commission_rate, :platform_revenue, :author_revenue, :payout_status, :payout_date
)

-- Every frozen statement row with its close: what the warehouse copy (meta.closed_statements) holds.
select
    closed_statements.period_month,
    closed_statements.revenue_share_id,
    closed_statements.author_id,
    closed_statements.project_id,
    closed_statements.project_title,
    closed_statements.period_start,
    closed_statements.period_end,
    closed_statements.book_sales,
    closed_statements.commission_rate,
    closed_statements.platform_revenue,
    closed_statements.author_revenue,
    closed_statements.payout_status,
    closed_statements.payout_date,
    month_closes.closed_at,
    month_closes.run_id as closed_run_id
from closed_statements
inner join month_closes on month_closes.period_month = closed_statements.period_month
order by closed_statements.period_month, closed_statements.revenue_share_id

-- The finance export: one month's revenue-share statements with the author's contact details.
-- Bound: $period_start (first day of the month), $period_end (first day of the next month).
-- partial: the statement's revenue period had not ended at the snapshot, so its figures may still change.
-- run_id: the publication (ETL run) the figures come from, on every row, so a file names its source wherever it goes.
with statements as (
    select * from marts.revenue_share_statements
),

authors as (
    select * from staging.user_pii
),

publication as (
    select run_id from meta.publication
),

period_statements as (
    select *
    from statements
    where period_start >= $period_start and period_start < $period_end
),

final as (
    select
        period_statements.revenue_share_id,
        period_statements.author_id,
        authors.email as author_email,
        nullif(concat_ws(' ', authors.first_name, authors.last_name), '') as author_name,
        period_statements.project_id,
        period_statements.project_title,
        period_statements.period_start,
        period_statements.period_end,
        period_statements.book_sales,
        period_statements.commission_rate,
        period_statements.platform_revenue,
        period_statements.author_revenue,
        period_statements.payout_status,
        period_statements.payout_date,
        period_statements.partial,
        publication.run_id
    from period_statements
    left join authors on authors.id = period_statements.author_id
    cross join publication
)

-- Ties broken down to the statement id, so the same warehouse always gives the same file.
select * from final
order by author_name, author_email, author_id, project_title, project_id, period_start, revenue_share_id

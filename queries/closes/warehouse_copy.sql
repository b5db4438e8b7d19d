-- The warehouse's copy of the frozen statements (meta.closed_statements, declared in queries/meta/schema.sql),
-- filled from the closes file on every run through the registered frame `frozen` (all text, money exact).
insert into meta.closed_statements
with frozen_rows as (
    select * from frozen
),

final as (
    select
        period_month::date as period_month,
        revenue_share_id::uuid as revenue_share_id,
        author_id::uuid as author_id,
        project_id::uuid as project_id,
        project_title::varchar as project_title,
        period_start::date as period_start,
        period_end::date as period_end,
        book_sales::decimal(15, 2) as book_sales,
        commission_rate::decimal(5, 4) as commission_rate,
        platform_revenue::decimal(15, 2) as platform_revenue,
        author_revenue::decimal(15, 2) as author_revenue,
        payout_status::varchar as payout_status,
        payout_date::timestamptz as payout_date,
        closed_at::timestamptz as closed_at,
        closed_run_id::varchar as closed_run_id
    from frozen_rows
)

select * from final

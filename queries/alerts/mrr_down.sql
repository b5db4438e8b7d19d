-- MRR month on month over the last two complete months before the snapshot's month; fires on a decline.
with mrr as (
    select * from marts.mrr_monthly
),

months as (
    select
        date_trunc('month', $snapshot_date::date) - interval 1 month as last_month,
        date_trunc('month', $snapshot_date::date) - interval 2 month as month_before
),

totals as (
    select
        months.last_month,
        months.month_before,
        sum(mrr.mrr_usd) filter (where mrr.month = months.last_month) as last_mrr,
        sum(mrr.mrr_usd) filter (where mrr.month = months.month_before) as previous_mrr
    from months
    cross join mrr
    group by months.last_month, months.month_before
),

final as (
    select
        'mrr' as subject,
        last_mrr::decimal(18, 6) as value,
        previous_mrr::decimal(18, 6) as threshold,
        strftime(month_before, '%Y-%m') || '..' || strftime(last_month, '%Y-%m') as "window",
        'down ' || (previous_mrr - last_mrr) || ' USD' as detail
    from totals
    where last_mrr < previous_mrr - $threshold
)

select * from final

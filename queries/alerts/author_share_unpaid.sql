-- Authors with a share unpaid more than $threshold days after its period ended, at the snapshot's UTC day (a
-- share of 0.00 owes nothing).
with statements as (
    select * from marts.revenue_share_statements
),

unpaid as (
    select
        author_id,
        count(*) as statements,
        sum(author_revenue) as owed_usd,
        min(period_end) as oldest_period_end
    from statements
    where
        payout_status in ('pending', 'processing')
        and author_revenue > 0
        and $snapshot_date::date - period_end > $threshold
    group by author_id
),

final as (
    select
        author_id::varchar as subject,
        ($snapshot_date::date - oldest_period_end)::decimal(18, 6) as value,
        $threshold::decimal(18, 6) as threshold,
        'periods ended by ' || strftime(oldest_period_end, '%Y-%m-%d') as "window",
        statements || ' statement(s), ' || owed_usd || ' USD owed' as detail
    from unpaid
)

select * from final

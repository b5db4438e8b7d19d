-- Every statement whose payout failed; the alert resolves when its status moves on.
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select
        revenue_share_id::varchar as subject,
        author_revenue::decimal(18, 6) as value,
        $threshold::decimal(18, 6) as threshold,
        strftime(period_start, '%Y-%m-%d') || '..' || strftime(period_end, '%Y-%m-%d') as "window",
        'author ' || author_id as detail
    from statements
    where payout_status = 'failed'
)

select * from final

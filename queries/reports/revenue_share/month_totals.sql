-- The chosen month's statements: how many, the authors' share not yet paid (and how much of that is failed payouts),
-- and whether any revenue period had not ended at the snapshot (the mart's `partial`: those figures will still change).
with statements as (
    select * from marts.revenue_share_statements
),

final as (
    select
        count(*) as statements,
        coalesce(sum(author_revenue) filter (where payout_status <> 'paid'), 0) as author_revenue_unpaid,
        coalesce(sum(author_revenue) filter (where payout_status = 'failed'), 0) as author_revenue_failed,
        max(period_end) as period_end,
        coalesce(bool_or(partial), false) as partial
    from statements
    where period_month = $month
)

select * from final

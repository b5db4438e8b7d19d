with revenue_shares as (
    select * from staging.revenue_shares
),

final as (
    select id as revenue_share_id, payout_status, payout_date
    from revenue_shares
)

select * from final

-- AI cost against subscription revenue per tier, over the calendar months the period touches.
with by_user as (
    select * from marts.ai_cost_by_user_monthly
),

filtered as (
    select *
    from by_user
    where month between date_trunc('month', $start) and $end
      and picked($tiers, tier)
),

final as (
    select
        tier,
        count(distinct user_id) filter (where generations > 0) as users_generating,
        sum(cost_usd) as cost_usd,
        sum(subscription_mrr_usd) as subscription_revenue_usd,
        sum(gross_margin_usd) as gross_margin_usd,
        sum(gross_margin_usd) / nullif(sum(subscription_mrr_usd), 0) as gross_margin_rate
    from filtered
    group by tier
    order by cost_usd desc, tier asc
)

select * from final

-- The 100 users with the highest AI cost over the calendar months the period touches.
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
        user_id::varchar as user_id,
        any_value(tier) as tier,
        sum(generations) as generations,
        sum(tokens_used) as tokens_used,
        sum(cost_usd) as cost_usd,
        sum(subscription_mrr_usd) as subscription_revenue_usd,
        sum(gross_margin_usd) as gross_margin_usd
    from filtered
    group by user_id
    having sum(cost_usd) > 0
    order by cost_usd desc, user_id asc
    limit 100
)

select * from final

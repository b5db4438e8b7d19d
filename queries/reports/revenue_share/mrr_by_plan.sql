-- MRR, active, new and churned subscriptions per month and plan, for the chosen plans.
with mrr as (
    select * from marts.mrr_monthly
),

final as (
    select month, plan, active_subscriptions, mrr_usd, new_subscriptions, churned_subscriptions
    from mrr
    where month between date_trunc('month', $start) and $end
      and picked($plans, plan)
    order by month, plan
)

select * from final

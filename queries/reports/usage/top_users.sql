-- The 100 users with the highest usage cost over the period, for the chosen filters.
with usage as (
    select * from marts.usage_daily
),

utilization as (
    select * from marts.plan_utilization_monthly
),

with_plan as (
    select usage.*, coalesce(utilization.plan, '(no plan)') as plan
    from usage
    left join utilization
        on utilization.user_id = usage.user_id
       and utilization.month = date_trunc('month', usage.day)
    where usage.day between $start and $end
),

final as (
    select
        user_id::varchar as user_id,
        any_value(tier) as tier,
        sum(quantity) filter (where resource_type = 'ai_tokens') as ai_tokens,
        sum(total_cost) as total_cost,
        count(distinct day) as active_days
    from with_plan
    where (len($tiers) = 0 or list_contains($tiers, tier))
      and (len($plans) = 0 or list_contains($plans, plan))
      and (len($resource_types) = 0 or list_contains($resource_types, resource_type))
    group by user_id
    order by total_cost desc, user_id
    limit 100
)

select * from final

-- Users, quantity and cost per tier, plan and resource type over the period, for the chosen filters.
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
        tier,
        plan,
        resource_type,
        count(distinct user_id) as users,
        sum(quantity) as quantity,
        sum(total_cost) as total_cost
    from with_plan
    where (len($tiers) = 0 or list_contains($tiers, tier))
      and (len($plans) = 0 or list_contains($plans, plan))
      and (len($resource_types) = 0 or list_contains($resource_types, resource_type))
    group by tier, plan, resource_type
    order by tier, plan, resource_type
)

select * from final

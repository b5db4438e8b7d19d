-- Usage quantity and cost per UTC day and resource type, for the chosen tiers, plans and resource types.
-- A user's plan is the one live in the day's month; users without a subscription count as '(no plan)'.
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
    select day, resource_type, sum(quantity) as quantity, sum(total_cost) as total_cost
    from with_plan
    where (len($tiers) = 0 or list_contains($tiers, tier))
      and (len($plans) = 0 or list_contains($plans, plan))
      and (len($resource_types) = 0 or list_contains($resource_types, resource_type))
    group by day, resource_type
    order by day, resource_type
)

select * from final

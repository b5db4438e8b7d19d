-- Users, quantity and cost per tier, plan and resource type over the period, for the chosen filters.
with usage as (
    select * from marts.usage_daily
),

final as (
    select
        tier,
        plan,
        resource_type,
        count(distinct user_id) as users,
        sum(quantity) as quantity,
        sum(total_cost) as total_cost
    from usage
    where day between $start and $end
      and (len($tiers) = 0 or list_contains($tiers, tier))
      and (len($plans) = 0 or list_contains($plans, plan))
      and (len($resource_types) = 0 or list_contains($resource_types, resource_type))
    group by tier, plan, resource_type
    order by tier, plan, resource_type
)

select * from final

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
      and picked($tiers, tier)
      and picked($plans, plan)
      and picked($resource_types, resource_type)
    group by tier, plan, resource_type
    order by tier, plan, resource_type
)

select * from final

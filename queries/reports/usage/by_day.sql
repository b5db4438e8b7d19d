-- Usage quantity and cost per UTC day and resource type, for the chosen tiers, plans and resource types.
-- A user's plan is the one live in the day's month; users without a subscription count as '(no plan)'.
with usage as (
    select * from marts.usage_daily
),

final as (
    select day, resource_type, sum(quantity) as quantity, sum(total_cost) as total_cost
    from usage
    where day between $start and $end
      and picked($tiers, tier)
      and picked($plans, plan)
      and picked($resource_types, resource_type)
    group by day, resource_type
    order by day, resource_type
)

select * from final

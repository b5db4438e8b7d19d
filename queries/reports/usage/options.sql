-- Tiers and resource types with usage, and plans with subscribers: the choices of the page's filters.
with usage as (
    select * from marts.usage_daily
),

utilization as (
    select * from marts.plan_utilization_monthly
),

final as (
    select distinct 'tier' as filter, tier as value from usage
    union
    select distinct 'resource_type' as filter, resource_type as value from usage
    union
    select distinct 'plan' as filter, plan as value from utilization
    union
    select 'plan' as filter, '(no plan)' as value
    order by filter, value
)

select * from final

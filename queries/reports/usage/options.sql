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
    select distinct 'resource_type', resource_type from usage
    union
    select distinct 'plan', plan from utilization
    union
    select 'plan', '(no plan)'
    order by filter, value
)

select * from final

-- Tiers of active people and plans with subscribers: the choices of the page's plan and tier filters.
with activity as (
    select * from marts.user_activity_days
),

utilization as (
    select * from marts.plan_utilization_monthly
),

final as (
    select distinct 'tier' as filter, tier as value from activity
    union
    select distinct 'plan' as filter, plan as value from utilization
    union
    select 'plan' as filter, '(no plan)' as value
    order by filter, value
)

select * from final

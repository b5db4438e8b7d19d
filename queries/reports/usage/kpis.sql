-- Users with usage, usage cost and AI tokens in the period and in the previous one, for the chosen filters.
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
    where usage.day between $prev_start and $end
),

chosen as (
    select *, case when day >= $start then 'current' else 'previous' end as period
    from with_plan
    where (len($tiers) = 0 or list_contains($tiers, tier))
      and (len($plans) = 0 or list_contains($plans, plan))
      and (len($resource_types) = 0 or list_contains($resource_types, resource_type))
),

final as (
    select
        period,
        count(distinct user_id) as users,
        sum(total_cost) as total_cost,
        coalesce(sum(quantity) filter (where resource_type = 'ai_tokens'), 0) as ai_tokens
    from chosen
    group by period
)

select * from final

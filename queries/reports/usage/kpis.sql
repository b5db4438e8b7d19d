-- Users with usage, usage cost and AI tokens in the period and in the previous one, for the chosen filters.
with usage as (
    select * from marts.usage_daily
),

chosen as (
    select *, case when day >= $start then 'current' else 'previous' end as period
    from usage
    where day between $prev_start and $end
      and picked($tiers, tier)
      and picked($plans, plan)
      and picked($resource_types, resource_type)
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

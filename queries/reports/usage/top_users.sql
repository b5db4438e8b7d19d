-- The 100 users with the highest usage cost over the period, for the chosen filters.
with usage as (
    select * from marts.usage_daily
),

final as (
    select
        user_id::varchar as user_id,
        any_value(tier) as tier,
        sum(quantity) filter (where resource_type = 'ai_tokens') as ai_tokens,
        sum(total_cost) as total_cost,
        count(distinct day) as active_days
    from usage
    where day between $start and $end
      and picked($tiers, tier)
      and picked($plans, plan)
      and picked($resource_types, resource_type)
    group by user_id
    order by total_cost desc, user_id asc
    limit 100
)

select * from final

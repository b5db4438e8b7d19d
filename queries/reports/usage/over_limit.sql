-- Subscribers over their plan's token allowance or project limit in the last month of the period.
with utilization as (
    select * from marts.plan_utilization_monthly
),

final as (
    select
        user_id::varchar as user_id,
        plan,
        ai_tokens_used,
        ai_tokens_included,
        utilization,
        projects,
        projects_limit
    from utilization
    where month = date_trunc('month', $end)
      and (utilization > 1 or projects > projects_limit)
      and picked($plans, plan)
    order by utilization desc nulls last, projects desc, user_id asc
)

select * from final

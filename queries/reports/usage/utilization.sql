-- Plan utilization per month and plan: subscribers, median token utilization and users over a limit.
with utilization as (
    select * from marts.plan_utilization_monthly
),

final as (
    select
        month,
        plan,
        count(*) as subscribers,
        median(utilization) as median_utilization,
        count(*) filter (where utilization > 1) as over_token_limit,
        count(*) filter (where projects > projects_limit) as over_project_limit
    from utilization
    where month between date_trunc('month', $start) and $end
      and picked($plans, plan)
    group by month, plan
    order by month, plan
)

select * from final

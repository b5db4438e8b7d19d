with usage_records as (
    select * from staging.usage_records
),

users as (
    select * from staging.users
),

plan_months as (
    select * from marts.plan_utilization_monthly
),

usage_by_day as (
    select
        usage_date as day,
        user_id,
        resource_type,
        sum(quantity)::bigint as quantity,
        sum(coalesce(total_cost, 0))::decimal(18, 2) as total_cost
    from usage_records
    group by usage_date, user_id, resource_type
),

final as (
    select
        usage_by_day.day,
        usage_by_day.user_id,
        usage_by_day.resource_type,
        coalesce(users.tier, 'unknown') as tier,
        -- the plan rule lives in plan_utilization_monthly: the plan live in the day's month
        coalesce(plan_months.plan, '(no plan)') as plan,
        usage_by_day.quantity,
        usage_by_day.total_cost
    from usage_by_day
    left join users on users.id = usage_by_day.user_id
    left join plan_months
        on plan_months.user_id = usage_by_day.user_id
        and plan_months.month = date_trunc('month', usage_by_day.day)
)

select * from final

with usage_records as (
    select * from staging.usage_records
),

users as (
    select * from staging.users
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
        usage_by_day.quantity,
        usage_by_day.total_cost
    from usage_by_day
    left join users on users.id = usage_by_day.user_id
)

select * from final

with plans as (
    select * from staging.subscription_plans
),

final as (
    select id as plan_id, price, status
    from plans
)

select * from final

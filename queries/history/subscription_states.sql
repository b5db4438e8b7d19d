with subscriptions as (
    select * from staging.user_subscriptions
),

final as (
    select
        id as subscription_id,
        user_id,
        plan_id,
        status,
        amount,
        currency,
        trial_end,
        cancelled_at,
        created_at
    from subscriptions
)

select * from final

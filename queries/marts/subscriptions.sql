-- A refresh by subscription reads only its subscriptions ($window_keys; every one in every other build).
with subscriptions as (
    select * from staging.user_subscriptions
    where in_window_keys(id, $window_keys::uuid[])
),

plans as (
    select * from staging.subscription_plans
),

-- 'incomplete' is a checkout that never became a subscription: it never counts, anywhere.
live_subscriptions as (
    select
        subscriptions.id as subscription_id,
        subscriptions.user_id,
        subscriptions.plan_id,
        coalesce(plans.name, 'unknown') as plan,
        coalesce(plans.billing_cycle, 'unknown') as billing_cycle,
        subscriptions.amount,
        subscriptions.created_at,
        date_trunc('month', subscriptions.created_at)::date as created_month,
        date_trunc('month', subscriptions.cancelled_at)::date as cancelled_month
    from subscriptions
    left join plans on plans.id = subscriptions.plan_id
    where subscriptions.status is distinct from 'incomplete'
),

-- DuckDB divides decimals in DOUBLE, so a yearly amount is divided as whole micro-dollars (rounded half up)
-- and scaled back by a decimal multiplication: exact, and no float ever touches the money.
final as (
    select
        subscription_id,
        user_id,
        plan_id,
        plan,
        billing_cycle,
        case billing_cycle
            when 'monthly' then amount::decimal(18, 6)
            when 'yearly' then ((((amount * 1000000)::bigint + 6) // 12)::decimal(18, 0) * 0.000001)::decimal(18, 6)
            else 0::decimal(18, 6)
        end as mrr_usd,
        created_at,
        created_month,
        cancelled_month
    from live_subscriptions
)

select * from final

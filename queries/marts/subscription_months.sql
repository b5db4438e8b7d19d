with subscriptions as (
    select * from staging.user_subscriptions
),

plans as (
    select * from staging.subscription_plans
),

snapshot_month as (
    select date_trunc('month', $snapshot_date::date)::date as month
),

-- 'incomplete' is a checkout that never became a subscription: it never counts.
live_subscriptions as (
    select
        subscriptions.id as subscription_id,
        subscriptions.user_id,
        coalesce(plans.name, 'unknown') as plan,
        coalesce(plans.billing_cycle, 'unknown') as billing_cycle,
        subscriptions.amount,
        date_trunc('month', subscriptions.created_at)::date as first_month,
        date_trunc('month', subscriptions.cancelled_at)::date as cancelled_month
    from subscriptions
    left join plans on plans.id = subscriptions.plan_id
    where subscriptions.status is distinct from 'incomplete'
),

-- DuckDB divides decimals in DOUBLE, so a yearly amount is divided as whole micro-dollars (rounded half up)
-- and scaled back by a decimal multiplication: exact, and no float ever touches the money.
priced_subscriptions as (
    select
        *,
        case billing_cycle
            when 'monthly' then amount::decimal(18, 6)
            when 'yearly' then ((((amount * 1000000)::bigint + 6) // 12)::decimal(18, 0) * 0.000001)::decimal(18, 6)
            else 0::decimal(18, 6)
        end as mrr_usd
    from live_subscriptions
),

-- Counted for month M while live at the end of M: a subscription cancelled during M last counts for M - 1.
counted_ranges as (
    select
        priced_subscriptions.*,
        case
            when cancelled_month is null then snapshot_month.month
            else least(snapshot_month.month, (cancelled_month - interval 1 month)::date)
        end as last_month
    from priced_subscriptions
    cross join snapshot_month
),

final as (
    select
        unnest(generate_series(first_month, last_month, interval 1 month))::date as month,
        subscription_id,
        user_id,
        plan,
        billing_cycle,
        mrr_usd
    from counted_ranges
    where first_month <= last_month
)

select * from final

with subscriptions as (
    select * from marts.subscriptions
),

snapshot_month as (
    select date_trunc('month', $snapshot_date::date)::date as month
),

-- Counted for month M while live at the end of M: a subscription cancelled during M last counts for M - 1.
counted_ranges as (
    select
        subscriptions.*,
        case
            when subscriptions.cancelled_month is null then snapshot_month.month
            else least(snapshot_month.month, (subscriptions.cancelled_month - interval 1 month)::date)
        end as last_month
    from subscriptions
    cross join snapshot_month
),

final as (
    select
        unnest(generate_series(created_month, last_month, interval 1 month))::date as month,
        subscription_id,
        user_id,
        plan,
        billing_cycle,
        mrr_usd
    from counted_ranges
    where created_month <= last_month
)

select * from final

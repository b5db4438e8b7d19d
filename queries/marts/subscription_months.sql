with intervals as (
    select * from marts.subscription_intervals
),

subscriptions as (
    select * from marts.subscriptions
),

-- Month ends are read at the exclusive midnight that ends the month (the metrics engine's balance instant).
month_spine as (
    select
        month::date as month,
        (month + interval 1 month)::timestamptz as month_end
    from (
        select unnest(generate_series(
            -- the first month whose end (exclusive midnight) can see a subscription: created at 00:00 on the 1st counts
            -- for the month before
            (select date_trunc('month', min(created_at) - interval 1 microsecond) from subscriptions),
            date_trunc('month', $snapshot_date::date),
            interval 1 month
        )) as month
    ) as months
),

final as (
    select
        month_spine.month,
        intervals.subscription_id,
        intervals.user_id,
        intervals.plan,
        intervals.billing_cycle,
        intervals.mrr_usd
    from month_spine
    inner join intervals
        on
        intervals.valid_from <= month_spine.month_end
        and (intervals.valid_to is null or intervals.valid_to > month_spine.month_end)
    where intervals.mrr_usd > 0
)

select * from final

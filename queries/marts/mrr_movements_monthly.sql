-- A refresh by user reads only its users' rows ($window_keys; every user in every other build).
with intervals as (
    select * from marts.subscription_intervals
    where in_window_keys(user_id, $window_keys::uuid[])
),

user_tiers as (
    select * from history.user_tiers
    where in_window_keys(user_id, $window_keys::uuid[])
),

-- Month-end balances are read at the exclusive midnight that ends the month, like the metrics engine's balances.
month_spine as (
    select
        month::date as month,
        (month + interval 1 month)::timestamptz as month_end
    from (
        select unnest(generate_series(
            date_trunc('month', (select min(valid_from) from intervals where mrr_usd > 0) - interval 1 microsecond),
            date_trunc('month', $snapshot_date::date),
            interval 1 month
        )) as month
    ) as months
),

-- Each customer's MRR at each month end; the plan is the one carrying most of it (the latest plan on a tie).
month_end_mrr as (
    select
        month_spine.month,
        intervals.user_id,
        sum(intervals.mrr_usd)::decimal(18, 6) as mrr,
        arg_max(intervals.plan, (intervals.mrr_usd, intervals.valid_from, intervals.plan)) as plan
    from month_spine
    inner join intervals
        on
        intervals.valid_from <= month_spine.month_end
        and (intervals.valid_to is null or intervals.valid_to > month_spine.month_end)
    where intervals.mrr_usd > 0
    group by month_spine.month, intervals.user_id
),

customers as (
    select distinct user_id from month_end_mrr
),

customer_months as (
    select
        month_spine.month,
        month_spine.month_end,
        customers.user_id,
        coalesce(ending.mrr, 0)::decimal(18, 6) as mrr_end,
        coalesce(starting.mrr, 0)::decimal(18, 6) as mrr_start,
        coalesce(ending.plan, starting.plan) as plan,
        -- a customer paying at an earlier month end who comes back after a month end at 0 is reactivated
        exists(
            select 1 from month_end_mrr as earlier
            where earlier.user_id = customers.user_id and earlier.month < month_spine.month - interval 1 month
        ) as paid_before
    from month_spine
    cross join customers
    left join month_end_mrr as ending
        on ending.user_id = customers.user_id and ending.month = month_spine.month
    left join month_end_mrr as starting
        on starting.user_id = customers.user_id and starting.month = month_spine.month - interval 1 month
    where ending.mrr is not null or starting.mrr is not null
),

-- ChartMogul's rules, at the customer level: 0 -> x is new (or reactivation), x -> 0 churn, x -> y expansion or
-- contraction. A cancel-and-resubscribe within the window is already one continuous customer in the intervals.
movements as (
    select
        *,
        case when mrr_start = 0 and not paid_before then mrr_end else 0 end as new_mrr,
        case when mrr_start = 0 and paid_before then mrr_end else 0 end as reactivation_mrr,
        case when mrr_start > 0 and mrr_end > mrr_start then mrr_end - mrr_start else 0 end as expansion_mrr,
        case when mrr_start > 0 and mrr_end > 0 and mrr_end < mrr_start then mrr_start - mrr_end else 0 end
            as contraction_mrr,
        case when mrr_end = 0 then mrr_start else 0 end as churned_mrr
    from customer_months
),

final as (
    select
        movements.month,
        movements.user_id,
        movements.plan,
        coalesce(user_tiers.tier, 'unknown') as tier,
        movements.mrr_start,
        movements.new_mrr::decimal(18, 6) as new_mrr,
        movements.expansion_mrr::decimal(18, 6) as expansion_mrr,
        movements.contraction_mrr::decimal(18, 6) as contraction_mrr,
        movements.churned_mrr::decimal(18, 6) as churned_mrr,
        movements.reactivation_mrr::decimal(18, 6) as reactivation_mrr,
        movements.mrr_end
    from movements
    left join user_tiers
        on
        user_tiers.user_id = movements.user_id
        and user_tiers.effective_from <= movements.month_end
        and movements.month_end < user_tiers.effective_to
)

select * from final

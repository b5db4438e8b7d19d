with subscription_months as (
    select * from marts.subscription_months
),

subscriptions as (
    select * from marts.subscriptions
),

snapshot_month as (
    select date_trunc('month', $snapshot_date::date)::date as month
),

-- Every plan gets every month from the first subscription to now, so quiet months show as zeros.
month_spine as (
    select unnest(generate_series(
        (select min(created_month) from subscriptions),
        (select month from snapshot_month),
        interval 1 month
    ))::date as month
),

plan_names as (
    select distinct plan from subscriptions
),

plan_months as (
    select month_spine.month, plan_names.plan
    from month_spine
    cross join plan_names
),

active as (
    select month, plan, count(*) as active_subscriptions, sum(mrr_usd)::decimal(18, 6) as mrr_usd
    from subscription_months
    group by month, plan
),

new as (
    select created_month as month, plan, count(*) as new_subscriptions
    from subscriptions
    group by created_month, plan
),

churned as (
    select cancelled_month as month, plan, count(*) as churned_subscriptions
    from subscriptions
    where cancelled_month is not null
    group by cancelled_month, plan
),

final as (
    select
        plan_months.month,
        plan_months.plan,
        coalesce(active.active_subscriptions, 0) as active_subscriptions,
        coalesce(active.mrr_usd, 0)::decimal(18, 6) as mrr_usd,
        coalesce(new.new_subscriptions, 0) as new_subscriptions,
        coalesce(churned.churned_subscriptions, 0) as churned_subscriptions
    from plan_months
    left join active using (month, plan)
    left join new using (month, plan)
    left join churned using (month, plan)
)

select * from final

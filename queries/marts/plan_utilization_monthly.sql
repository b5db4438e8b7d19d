-- A refresh by user reads only its users' rows ($window_keys; every user in every other build).
with subscriptions as (
    select * from marts.subscriptions
    where in_window_keys(user_id, $window_keys::uuid[])
),

plans as (
    select * from staging.subscription_plans
),

usage_records as (
    select * from staging.usage_records
    where in_window_keys(user_id, $window_keys::uuid[])
),

projects as (
    select * from staging.projects
    where in_window_keys(owner_id, $window_keys::uuid[])
),

snapshot_month as (
    select $snapshot_month::date as month
),

-- Live at some point in month M: created before M ended and not cancelled before M began.
subscription_ranges as (
    select
        subscriptions.subscription_id,
        subscriptions.user_id,
        subscriptions.plan_id,
        subscriptions.created_at,
        subscriptions.created_month as first_month,
        least(snapshot_month.month, coalesce(subscriptions.cancelled_month, snapshot_month.month)) as last_month
    from subscriptions
    cross join snapshot_month
),

-- The months any subscription is live in, then each subscription's months by a join with them (no unnest of a
-- series per subscription: a third less time at medium).
calendar_bounds as (
    select min(first_month) as first_month, max(last_month) as last_month
    from subscription_ranges
),

calendar as (
    select unnest(generate_series(first_month, last_month, interval 1 month))::date as month
    from calendar_bounds
),

live_months as (
    select
        calendar.month,
        subscription_ranges.subscription_id,
        subscription_ranges.user_id,
        subscription_ranges.plan_id,
        subscription_ranges.created_at
    from subscription_ranges
    inner join calendar
        on calendar.month between subscription_ranges.first_month and subscription_ranges.last_month
),

-- When several subscriptions were live in the month, the most recently created one is the user's plan
-- (the subscription id breaks a tie, so the choice never changes from run to run).
user_plan_months as (
    select month, user_id, arg_max(plan_id, (created_at, subscription_id)) as plan_id
    from live_months
    group by month, user_id
),

tokens_by_month as (
    select date_trunc('month', usage_date)::date as month, user_id, sum(quantity)::bigint as ai_tokens_used
    from usage_records
    where resource_type = 'ai_tokens'
    group by month, user_id
),

projects_created_by_month as (
    select date_trunc('month', created_at)::date as month, owner_id as user_id, count(*) as created
    from projects
    group by month, owner_id
),

-- Projects owned by the end of each month: a running total of the projects created up to that month.
projects_owned as (
    select
        user_plan_months.month,
        user_plan_months.user_id,
        sum(projects_created_by_month.created) as projects
    from user_plan_months
    inner join projects_created_by_month
        on projects_created_by_month.user_id = user_plan_months.user_id
        and projects_created_by_month.month <= user_plan_months.month
    group by user_plan_months.month, user_plan_months.user_id
),

final as (
    select
        user_plan_months.month,
        user_plan_months.user_id,
        coalesce(plans.name, 'unknown') as plan,
        coalesce(tokens_by_month.ai_tokens_used, 0) as ai_tokens_used,
        plans.ai_tokens_included,
        coalesce(tokens_by_month.ai_tokens_used, 0) / nullif(plans.ai_tokens_included, 0) as utilization,
        coalesce(projects_owned.projects, 0)::bigint as projects,
        plans.projects_limit,
        plans.collaborators_limit
    from user_plan_months
    left join plans on plans.id = user_plan_months.plan_id
    left join tokens_by_month using (month, user_id)
    left join projects_owned using (month, user_id)
)

select * from final

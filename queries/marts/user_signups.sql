-- A refresh by user reads only its users' rows ($window_keys; every user in every other build).
with users as (
    select * from staging.users
    where in_window_keys(id, $window_keys::uuid[])
),

user_tiers as (
    select * from history.user_tiers
    where in_window_keys(user_id, $window_keys::uuid[])
),

plan_months as (
    select * from marts.plan_utilization_monthly
    where in_window_keys(user_id, $window_keys::uuid[])
),

final as (
    select
        utc_day(users.created_at) as day,
        users.id as user_id,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(plan_months.plan, '(no plan)') as plan
    from users
    left join user_tiers
        on user_tiers.user_id = users.id
        and user_tiers.effective_from <= users.created_at
        and users.created_at < user_tiers.effective_to
    left join plan_months
        on
        plan_months.user_id = users.id
        and plan_months.month = date_trunc('month', utc_day(users.created_at))
    where users.created_at is not null
)

select * from final

with users as (
    select * from staging.users
),

user_tiers as (
    select * from history.user_tiers
),

plan_months as (
    select * from marts.plan_utilization_monthly
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

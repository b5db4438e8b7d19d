with users as (
    select * from staging.users
),

user_tiers as (
    select * from history.user_tiers
),

final as (
    select
        utc_day(users.created_at) as day,
        users.id as user_id,
        coalesce(user_tiers.tier, 'unknown') as tier
    from users
    left join user_tiers
        on user_tiers.user_id = users.id
        and user_tiers.effective_from <= users.created_at
        and users.created_at < user_tiers.effective_to
    where users.created_at is not null
)

select * from final

with users as (
    select * from staging.users
),

final as (
    select id as user_id, tier
    from users
)

select * from final

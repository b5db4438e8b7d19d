with members as (
    select * from staging.organization_members
),

final as (
    select
        id as member_id,
        organization_id,
        user_id,
        joined_at
    from members
)

select * from final

-- Tiers of users with AI cost or subscription revenue: the choices of the page's tier filter.
with by_user as (
    select * from marts.ai_cost_by_user_monthly
),

final as (
    select distinct tier
    from by_user
    order by tier
)

select * from final

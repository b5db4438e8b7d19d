-- Each organisation in each UTC month overlapping the period: the days a member wrote, its AI generations, AI spend
-- (USD, exact) and books published, with the owner's plan and tier that month (the filters apply to them).
with organization_months as (
    select * from marts.organization_monthly
),

final as (
    select
        month,
        organization_id::varchar as organization_id,
        owner_id::varchar as owner_id,
        plan,
        tier,
        complete,
        active_days,
        ai_generations,
        ai_cost_usd,
        publications
    from organization_months
    where month between date_trunc('month', $start::date) and $end::date
      and picked($plans, plan)
      and picked($tiers, tier)
    order by month asc, ai_cost_usd desc, organization_id asc
)

select * from final

-- Seats used against the owner's plan, per organisation created by the period's last day: members other than the
-- owner at the end of that day's month (at the snapshot while it runs), the plan's collaborators_limit, the seats
-- left (negative: over the limit). Filtered by the owner's plan and tier then.
with organization_months as (
    select * from marts.organization_monthly
),

final as (
    select
        organization_id::varchar as organization_id,
        owner_id::varchar as owner_id,
        plan,
        tier,
        members,
        collaborators_limit,
        collaborators_limit - members as seats_left,
        over_limit
    from organization_months
    where month = date_trunc('month', $end::date)
      and picked($plans, plan)
      and picked($tiers, tier)
    order by over_limit desc, seats_left asc nulls last, members desc, organization_id asc
)

select * from final

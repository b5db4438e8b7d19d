-- An organisation is active on a UTC day when someone who was its member that day (the owner's own membership
-- included) has a writing day there (marts.user_writing_days: a saved content version or a chapter_edit event).
-- One row per organisation and active day: the facts of the active-organisation metrics
-- (queries/metrics/organizations.yml).
-- A refresh by organisation reads only its organisations' rows ($window_keys; every one in every other build), and
-- of the users' rows only their members' and owners' (all this model joins them to, in any build).
with organizations as (
    select * from staging.user_organizations
    where in_window_keys(id, $window_keys::uuid[])
),

member_versions as (
    select * from history.organization_members
    where in_window_keys(organization_id, $window_keys::uuid[])
),

writing_days as (
    select * from marts.user_writing_days
    where user_id in (select member_versions.user_id from member_versions)
),

plan_months as (
    select * from marts.plan_utilization_monthly
    where user_id in (select organizations.owner_id from organizations)
),

user_tiers as (
    select * from history.user_tiers
    where user_id in (select organizations.owner_id from organizations)
),

-- A membership runs from joined_at (always, when unknown) until the run that first saw it gone at the source (a
-- member who leaves is deleted there); it is open while the member is still there.
memberships as (
    select
        organization_id,
        user_id,
        coalesce(min(joined_at), '-infinity'::timestamptz) as joined_at,
        max(effective_to) as left_at
    from member_versions
    group by member_id, organization_id, user_id
),

-- A member counts on a day they were a member at some moment of (joined before its end, left after its start).
member_writing as (
    select
        writing_days.day,
        memberships.organization_id,
        writing_days.user_id
    from writing_days
    inner join memberships
        on
        memberships.user_id = writing_days.user_id
        and memberships.joined_at < (writing_days.day + 1)::timestamptz
        and writing_days.day::timestamptz < memberships.left_at
),

organization_writing as (
    select
        day,
        organization_id,
        count(distinct user_id) as writers
    from member_writing
    group by day, organization_id
),

-- Plan: the owner's plan live in the day's month (the rule of plan_utilization_monthly); tier: the owner's tier in
-- force at the end of the day.
final as (
    select
        organization_writing.day,
        organization_writing.organization_id,
        organizations.owner_id,
        coalesce(plan_months.plan, '(no plan)') as plan,
        coalesce(user_tiers.tier, 'unknown') as tier,
        organization_writing.writers::bigint as writers
    from organization_writing
    inner join organizations on organizations.id = organization_writing.organization_id
    left join plan_months
        on
        plan_months.user_id = organizations.owner_id
        and plan_months.month = date_trunc('month', organization_writing.day)
    left join user_tiers
        on
        user_tiers.user_id = organizations.owner_id
        and user_tiers.effective_from < (organization_writing.day + 1)::timestamptz
        and (organization_writing.day + 1)::timestamptz <= user_tiers.effective_to
    order by organization_writing.day
)

select * from final

-- Each organisation in each UTC month from the month it was created to the snapshot's: its seats against the owner's
-- plan, whether it was active, its AI spend and its publications. Seats are the members other than the owner,
-- counted at the month's end (at the snapshot for the month running then).
with organizations as (
    select * from staging.user_organizations
),

member_versions as (
    select * from history.organization_members
),

organization_days as (
    select * from marts.organization_days
),

generations as (
    select * from marts.ai_generation_facts
),

projects as (
    select * from staging.projects
),

plan_months as (
    select * from marts.plan_utilization_monthly
),

user_tiers as (
    select * from history.user_tiers
),

snapshot as (
    select
        $snapshot_at::timestamptz as snapshot_at,
        date_trunc('month', $snapshot_date::date)::date as month
),

organization_months as (
    select
        organizations.id as organization_id,
        organizations.owner_id,
        date_trunc('month', utc_day(organizations.created_at))::date as cohort_month,
        unnest(
            generate_series(date_trunc('month', utc_day(organizations.created_at)), snapshot.month, interval 1 month)
        )::date as month
    from organizations
    cross join snapshot
    where organizations.created_at is not null
),

-- The instant seats are counted at: the month's end, or the snapshot while the month runs.
counted as (
    select
        organization_months.*,
        date_diff('month', organization_months.cohort_month, organization_months.month) as months_since_created,
        least((organization_months.month + interval 1 month)::timestamptz, snapshot.snapshot_at) as counted_at,
        (organization_months.month + interval 1 month)::timestamptz <= snapshot.snapshot_at as complete
    from organization_months
    cross join snapshot
),

-- A membership runs from joined_at (always, when unknown) until the run that first saw it gone at the source.
memberships as (
    select
        organization_id,
        user_id,
        coalesce(min(joined_at), '-infinity'::timestamptz) as joined_at,
        max(effective_to) as left_at
    from member_versions
    group by member_id, organization_id, user_id
),

seats as (
    select
        counted.organization_id,
        counted.month,
        count(distinct memberships.user_id) as members
    from counted
    inner join memberships
        on
        memberships.organization_id = counted.organization_id
        and memberships.user_id != counted.owner_id
        and memberships.joined_at <= counted.counted_at
        and counted.counted_at < memberships.left_at
    group by counted.organization_id, counted.month
),

activity as (
    select
        organization_id,
        date_trunc('month', day)::date as month,
        count(*) as active_days
    from organization_days
    group by organization_id, date_trunc('month', day)::date
),

-- AI spend: the generations on the organisation's projects (content.projects.organization_id), by UTC month.
spend as (
    select
        projects.organization_id,
        date_trunc('month', generations.day)::date as month,
        count(*) as ai_generations,
        sum(coalesce(generations.cost_usd, 0)) as ai_cost_usd
    from generations
    inner join projects on projects.id = generations.project_id
    where projects.organization_id is not null
    group by projects.organization_id, date_trunc('month', generations.day)::date
),

publications as (
    select
        organization_id,
        date_trunc('month', utc_day(published_at))::date as month,
        count(*) as publications
    from projects
    where organization_id is not null and published_at is not null
    group by organization_id, date_trunc('month', utc_day(published_at))::date
),

-- Plan and its seat limit: the owner's plan live in the month (plan_utilization_monthly's rule); tier: the owner's
-- tier in force when the seats are counted.
final as (
    select
        counted.month,
        counted.organization_id,
        counted.owner_id,
        counted.cohort_month,
        counted.months_since_created::integer as months_since_created,
        counted.complete,
        coalesce(plan_months.plan, '(no plan)') as plan,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(seats.members, 0)::bigint as members,
        plan_months.collaborators_limit,
        coalesce(coalesce(seats.members, 0) > plan_months.collaborators_limit, false) as over_limit,
        coalesce(activity.active_days, 0)::bigint as active_days,
        coalesce(activity.active_days, 0) > 0 as active,
        coalesce(spend.ai_generations, 0)::bigint as ai_generations,
        coalesce(spend.ai_cost_usd, 0)::decimal(18, 6) as ai_cost_usd,
        coalesce(publications.publications, 0)::bigint as publications
    from counted
    left join seats using (organization_id, month)
    left join activity using (organization_id, month)
    left join spend using (organization_id, month)
    left join publications using (organization_id, month)
    left join plan_months
        on
        plan_months.user_id = counted.owner_id
        and plan_months.month = counted.month
    left join user_tiers
        on
        user_tiers.user_id = counted.owner_id
        and user_tiers.effective_from < counted.counted_at
        and counted.counted_at <= user_tiers.effective_to
    order by counted.month, counted.organization_id
)

select * from final

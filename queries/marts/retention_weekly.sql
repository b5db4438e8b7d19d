with signups as (
    select * from marts.user_signups
),

-- Active means a user-initiated event: billing events the system records are not activity.
activity as (
    select * from marts.user_activity_days
),

snapshot_week as (
    select date_trunc('week', $snapshot_date::date)::date as week
),

-- A cohort per signup week, tier and plan at signup (user_signups), so the page's filters can pick its users.
cohorts as (
    select
        user_id,
        date_trunc('week', day)::date as cohort_week,
        tier,
        plan
    from signups
),

cohort_sizes as (
    select cohort_week, tier, plan, count(*) as cohort_size
    from cohorts
    group by cohort_week, tier, plan
),

-- Every cohort gets every week up to now, so a week nobody came back shows as 0 rather than missing.
cohort_weeks as (
    select
        cohort_sizes.cohort_week,
        cohort_sizes.tier,
        cohort_sizes.plan,
        unnest(range(0, (snapshot_week.week - cohort_sizes.cohort_week) // 7 + 1))::integer as weeks_since_signup,
        cohort_sizes.cohort_size
    from cohort_sizes
    cross join snapshot_week
),

-- Weeks as integers: whole UTC days since 1970-01-01 (a Thursday) plus 3, divided by 7, turns over on Mondays.
-- The same weeks as date_trunc('week', ...), without its per-row calendar work.
user_active_weeks as (
    select distinct user_id, (day - date '1970-01-01' + 3) // 7 as week_number
    from activity
),

cohort_activity as (
    select
        cohorts.cohort_week,
        cohorts.tier,
        cohorts.plan,
        (user_active_weeks.week_number - (cohorts.cohort_week - date '1970-01-01' + 3) // 7)::integer
            as weeks_since_signup,
        count(*) as active_users
    from user_active_weeks
    inner join cohorts using (user_id)
    where user_active_weeks.week_number >= (cohorts.cohort_week - date '1970-01-01' + 3) // 7
    group by all
),

-- A week not over at the snapshot is not fully observed: its cell is empty (NULL), never 0%. Week k of a cohort
-- runs from cohort_week + 7k to the following Monday.
final as (
    select
        cohort_weeks.cohort_week,
        cohort_weeks.tier,
        cohort_weeks.plan,
        cohort_weeks.weeks_since_signup,
        cohort_weeks.cohort_size,
        cohort_weeks.cohort_week + 7 * (cohort_weeks.weeks_since_signup + 1) <= $snapshot_date::date as observed,
        case when observed then coalesce(cohort_activity.active_users, 0) end as active_users,
        case when observed then coalesce(cohort_activity.active_users, 0) / cohort_weeks.cohort_size end
            as retention_rate
    from cohort_weeks
    left join cohort_activity using (cohort_week, tier, plan, weeks_since_signup)
)

select * from final

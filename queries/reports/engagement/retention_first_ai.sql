-- Weekly retention of the cohorts of people by the ISO week of their first AI generation (any status), for the
-- cohorts whose week starts in the period and their first 12 weeks; active as in retention_weekly (a user-initiated
-- event). A week not over by the period's last day is not fully observed: its cell is empty (NULL), never 0%. The
-- plan and tier filters pick people by their tier at the first generation and their plan live in its UTC month.
with activity as (
    select * from marts.user_activity_days
),

generations as (
    select * from marts.ai_generation_facts
),

plan_months as (
    select * from marts.plan_utilization_monthly
),

first_generations as (
    select
        user_id,
        min(day) as first_day,
        arg_min(tier, (day, generation_id)) as tier
    from generations
    where user_id is not null
    group by user_id
),

cohorts as (
    select
        first_generations.user_id,
        date_trunc('week', first_generations.first_day)::date as cohort_week
    from first_generations
    left join plan_months
        on
        plan_months.user_id = first_generations.user_id
        and plan_months.month = date_trunc('month', first_generations.first_day)
    where picked($plans, coalesce(plan_months.plan, '(no plan)'))
      and picked($tiers, first_generations.tier)
),

cohort_sizes as (
    select cohort_week, count(*) as cohort_size
    from cohorts
    where cohort_week between date_trunc('week', $start::date) and $end::date
    group by cohort_week
),

cohort_weeks as (
    select
        cohort_week,
        unnest(range(0, least(($end::date - cohort_week) // 7, 12) + 1))::integer as weeks_since_first_ai,
        cohort_size
    from cohort_sizes
),

user_active_weeks as (
    select distinct
        user_id,
        date_trunc('week', day)::date as week
    from activity
    where day <= $end::date
),

cohort_activity as (
    select
        cohorts.cohort_week,
        ((user_active_weeks.week - cohorts.cohort_week) // 7)::integer as weeks_since_first_ai,
        count(*) as active_users
    from user_active_weeks
    inner join cohorts using (user_id)
    where user_active_weeks.week >= cohorts.cohort_week
    group by all
),

final as (
    select
        cohort_weeks.cohort_week,
        cohort_weeks.weeks_since_first_ai,
        cohort_weeks.cohort_size,
        cohort_weeks.cohort_week + 7 * cohort_weeks.weeks_since_first_ai + 6 <= $end::date as observed,
        case when observed then coalesce(cohort_activity.active_users, 0) end as active_users,
        case when observed then coalesce(cohort_activity.active_users, 0) / cohort_weeks.cohort_size end
            as retention_rate
    from cohort_weeks
    left join cohort_activity using (cohort_week, weeks_since_first_ai)
    order by cohort_weeks.cohort_week, cohort_weeks.weeks_since_first_ai
)

select * from final

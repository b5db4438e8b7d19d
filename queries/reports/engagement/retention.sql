-- Weekly retention of the signup cohorts whose week starts in the period, for their first 12 weeks: the users in the
-- chosen plans and tiers at signup.
with retention as (
    select * from marts.retention_weekly
),

final as (
    select
        cohort_week,
        weeks_since_signup,
        sum(cohort_size)::bigint as cohort_size,
        sum(active_users)::bigint as active_users,
        sum(active_users) / sum(cohort_size) as retention_rate
    from retention
    where cohort_week between date_trunc('week', $start::date) and $end
      and weeks_since_signup <= 12
      and picked($plans, plan)
      and picked($tiers, tier)
    group by cohort_week, weeks_since_signup
    order by cohort_week, weeks_since_signup
)

select * from final

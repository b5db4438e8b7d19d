-- Weekly retention of the signup cohorts whose week starts in the period, for their first 12 weeks.
with retention as (
    select * from marts.retention_weekly
),

final as (
    select cohort_week, weeks_since_signup, cohort_size, active_users, retention_rate
    from retention
    where cohort_week between date_trunc('week', $start::date) and $end
      and weeks_since_signup <= 12
    order by cohort_week, weeks_since_signup
)

select * from final

-- Monthly retention of the organisations by the UTC month they were created in, for the cohorts whose month
-- overlaps the period: the share of the cohort active (a member wrote: marts.organization_days) N months after
-- its creation month. A month not over by the period's last day is not fully observed: its cell is empty (NULL),
-- never 0%. Plan and tier filters pick organisations by their owner's plan and tier in the creation month.
with organization_months as (
    select * from marts.organization_monthly
),

cohorts as (
    select
        organization_id,
        cohort_month
    from organization_months
    where months_since_created = 0
      and cohort_month between date_trunc('month', $start::date) and $end::date
      and picked($plans, plan)
      and picked($tiers, tier)
),

cohort_months as (
    select
        cohorts.cohort_month,
        organization_months.months_since_created,
        count(*) as cohort_size,
        count(*) filter (where organization_months.active) as active_organizations,
        max(organization_months.month) as month
    from cohorts
    inner join organization_months using (organization_id)
    where organization_months.month <= $end::date
    group by cohorts.cohort_month, organization_months.months_since_created
),

final as (
    select
        cohort_month,
        months_since_created,
        cohort_size,
        (month + interval 1 month)::date - 1 <= $end::date as observed,
        case when observed then active_organizations end as active_organizations,
        case when observed then active_organizations / cohort_size end as retention_rate
    from cohort_months
    order by cohort_month, months_since_created
)

select * from final

with intervals as (
    select * from marts.subscription_intervals
),

-- A refresh by month builds only its months ($window_first .. $window_last, month starts; no bound in a whole
-- build): their generations, by a range of their times that skips the other row groups.
generations as (
    select * from staging.ai_generations
    where on_utc_days(created_at, $window_first, last_day($window_last::date))
),

user_tiers as (
    select * from history.user_tiers
),

-- Only months that had ended at the snapshot: a month's MRR against part of its AI cost would mislead.
complete_months as (
    select
        month::date as month,
        (month + interval 1 month)::timestamptz as month_end
    from (
        select unnest(generate_series(
            date_trunc('month', least(
                (select min(valid_from) from intervals where mrr_usd > 0),
                (select min(created_at) from generations)
            )),
            $snapshot_month::date::timestamptz - interval 1 month,
            interval 1 month
        )) as month
    ) as months
    where on_days(month::date, $window_first, $window_last)
),

-- Subscription revenue is the month's MRR (the balance at the month end), by the plan paid and the tier in force.
revenue as (
    select
        complete_months.month,
        coalesce(user_tiers.tier, 'unknown') as tier,
        intervals.plan,
        sum(intervals.mrr_usd) as subscription_revenue_usd
    from complete_months
    inner join intervals
        on
        intervals.valid_from <= complete_months.month_end
        and (intervals.valid_to is null or intervals.valid_to > complete_months.month_end)
    left join user_tiers
        on
        user_tiers.user_id = intervals.user_id
        and user_tiers.effective_from <= complete_months.month_end
        and complete_months.month_end < user_tiers.effective_to
    where intervals.mrr_usd > 0
    group by all
),

month_generations as (
    select
        complete_months.month,
        generations.id as generation_id,
        generations.user_id,
        generations.created_at,
        coalesce(generations.cost, 0) as cost
    from generations
    inner join complete_months
        on
        generations.created_at >= complete_months.month::timestamptz
        and generations.created_at < complete_months.month_end
),

-- A generation's cost goes to the tier in force when it was created and to the plan the user was on then
-- (trial included: a trial's AI cost is a cost of its plan), '(no plan)' without a live subscription.
generation_plans as (
    select
        month_generations.generation_id,
        arg_max(intervals.plan, (intervals.mrr_usd + intervals.mrr_at_risk_usd, intervals.valid_from)) as plan
    from month_generations
    inner join intervals
        on
        intervals.user_id = month_generations.user_id
        and intervals.valid_from <= month_generations.created_at
        and (intervals.valid_to is null or intervals.valid_to > month_generations.created_at)
    group by month_generations.generation_id
),

cost as (
    select
        month_generations.month,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(generation_plans.plan, '(no plan)') as plan,
        sum(month_generations.cost) as ai_cost_usd
    from month_generations
    left join generation_plans on generation_plans.generation_id = month_generations.generation_id
    left join user_tiers
        on
        user_tiers.user_id = month_generations.user_id
        and user_tiers.effective_from <= month_generations.created_at
        and month_generations.created_at < user_tiers.effective_to
    group by all
),

final as (
    select
        coalesce(revenue.month, cost.month) as month,
        coalesce(revenue.tier, cost.tier) as tier,
        coalesce(revenue.plan, cost.plan) as plan,
        coalesce(revenue.subscription_revenue_usd, 0)::decimal(18, 6) as subscription_revenue_usd,
        coalesce(cost.ai_cost_usd, 0)::decimal(18, 6) as ai_cost_usd,
        (coalesce(revenue.subscription_revenue_usd, 0) - coalesce(cost.ai_cost_usd, 0))::decimal(18, 6)
            as gross_margin_usd
    from revenue
    full outer join cost on cost.month = revenue.month and cost.tier = revenue.tier and cost.plan = revenue.plan
)

select * from final

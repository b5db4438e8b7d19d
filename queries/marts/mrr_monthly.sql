with subscription_months as (
    select * from marts.subscription_months
),

subscriptions as (
    select * from marts.subscriptions
),

intervals as (
    select * from marts.subscription_intervals
),

-- Every plan gets every month from the first subscription to now, so quiet months show as zeros.
month_spine as (
    select unnest(generate_series(
        -- the first month whose end (exclusive midnight) can see a subscription: created at 00:00 on the 1st counts
        -- for the month before
        (select date_trunc('month', min(created_at) - interval 1 microsecond) from subscriptions),
        date_trunc('month', $snapshot_date::date),
        interval 1 month
    ))::date as month
),

-- The plans subscriptions have now, and those they had (a plan changed in place keeps its months on the old plan).
plan_names as (
    select plan from subscriptions
    union
    select plan from intervals
),

plan_months as (
    select month_spine.month, plan_names.plan
    from month_spine
    cross join plan_names
),

active as (
    select month, plan, count(*) as active_subscriptions, sum(mrr_usd)::decimal(18, 6) as mrr_usd
    from subscription_months
    group by month, plan
),

-- A subscription's counted span: its first paying instant to its last. A span continuing another paying
-- subscription of the customer (an upgrade, or a plan change bridged over a short gap) is not new, and one that
-- another paying subscription takes over from is not churned: only a customer starting or stopping to pay is. A
-- span starts on the plan of its first paying interval and ends on that of its last (a plan changed in place
-- moves the subscription between plans: neither new nor churned).
counted_spans as (
    select
        subscription_id,
        any_value(user_id) as user_id,
        arg_min(plan, valid_from) as first_plan,
        arg_max(plan, valid_from) as last_plan,
        min(valid_from) as counted_from,
        max(coalesce(valid_to, 'infinity'::timestamptz)) as counted_to
    from intervals
    where mrr_usd > 0
    group by subscription_id
),

-- The month whose end (exclusive midnight) first sees the span counted, and the month whose end first does not;
-- a span between two month ends is never counted, so neither new nor churned.
span_months as (
    select
        counted_spans.*,
        date_trunc('month', counted_spans.counted_from - interval 1 microsecond)::date as new_month,
        case
            when
                not isinf(counted_spans.counted_to)
                then date_trunc('month', counted_spans.counted_to - interval 1 microsecond)::date
        end
            as churn_month,
        exists(
            select 1 from intervals as other
            where
                other.user_id = counted_spans.user_id
                and other.subscription_id <> counted_spans.subscription_id
                and other.mrr_usd > 0
                and other.valid_from < counted_spans.counted_from
                and coalesce(other.valid_to, 'infinity'::timestamptz) >= counted_spans.counted_from
        ) as continues_another,
        exists(
            select 1 from intervals as other
            where
                other.user_id = counted_spans.user_id
                and other.subscription_id <> counted_spans.subscription_id
                and other.mrr_usd > 0
                and other.valid_from <= counted_spans.counted_to
                and coalesce(other.valid_to, 'infinity'::timestamptz) > counted_spans.counted_to
        ) as taken_over
    from counted_spans
),

counted_span_months as (
    select * from span_months where churn_month is null or new_month < churn_month
),

new as (
    select new_month as month, first_plan as plan, count(*) as new_subscriptions
    from counted_span_months
    where not continues_another
    group by all
),

churned as (
    select churn_month as month, last_plan as plan, count(*) as churned_subscriptions
    from counted_span_months
    where churn_month is not null and not taken_over
    group by all
),

final as (
    select
        plan_months.month,
        plan_months.plan,
        coalesce(active.active_subscriptions, 0) as active_subscriptions,
        coalesce(active.mrr_usd, 0)::decimal(18, 6) as mrr_usd,
        coalesce(new.new_subscriptions, 0) as new_subscriptions,
        coalesce(churned.churned_subscriptions, 0) as churned_subscriptions
    from plan_months
    left join active using (month, plan)
    left join new using (month, plan)
    left join churned using (month, plan)
)

select * from final

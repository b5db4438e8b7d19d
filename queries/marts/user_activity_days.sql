with events as (
    select * from staging.user_events
    -- a refresh by day reads only its days' events (a mart row is one UTC day's): other row groups are skipped
    where on_utc_days("timestamp", $window_first, $window_last)
),

user_tiers as (
    select * from history.user_tiers
),

plan_months as (
    select * from marts.plan_utilization_monthly
),

-- Activity is what people do. The billing system records its own events for them, outside any session
-- (subscription_start, subscription_cancel, payment_failed, checkout_abandoned: category 'billing'); those make
-- nobody active. Anonymous events have nobody to count.
user_events as (
    select
        user_id,
        event_type,
        "timestamp",
        utc_day("timestamp") as day
    from events
    where user_id is not null
      and event_type not in ('subscription_start', 'subscription_cancel', 'payment_failed', 'checkout_abandoned')
      and coalesce(event_category, '') != 'billing'
),

-- The day's first export: user_milestones finds a user's first export here, in a tenth of the events' rows.
user_days as (
    select
        user_id,
        day,
        count(*) as events,
        min("timestamp") filter (where event_type = 'export') as first_export_at
    from user_events
    group by user_id, day
),

-- The tier in force at the end of that day (the first tier seen reaches back before the first load); the plan live in
-- the day's month (plan_utilization_monthly's rule, as usage_daily).
final as (
    select
        user_days.day,
        user_days.user_id,
        coalesce(user_tiers.tier, 'unknown') as tier,
        coalesce(plan_months.plan, '(no plan)') as plan,
        user_days.events::bigint as events,
        user_days.first_export_at
    from user_days
    left join user_tiers
        on user_tiers.user_id = user_days.user_id
        and user_tiers.effective_from < (user_days.day + 1)::timestamptz
        and (user_days.day + 1)::timestamptz <= user_tiers.effective_to
    left join plan_months
        on
        plan_months.user_id = user_days.user_id
        and plan_months.month = date_trunc('month', user_days.day)
    order by user_days.day
)

select * from final

-- A refresh by author reads only its authors' rows ($window_keys; every author in every other build).
with facts as (
    select * from marts.unit_economics_daily
    where in_window_keys(author_id, $window_keys::uuid[])
),

subscription_months as (
    select * from marts.subscription_months
    where in_window_keys(user_id, $window_keys::uuid[])
),

subscriptions as (
    select * from marts.subscriptions
    where in_window_keys(user_id, $window_keys::uuid[])
),

-- Each month's MRR, as subscription_months reads it at the month end, through the month of the snapshot.
subscription_revenue as (
    select user_id as author_id, sum(mrr_usd) as subscription_revenue_usd
    from subscription_months
    group by user_id
),

author_totals as (
    select
        author_id,
        count(distinct project_id) as books,
        coalesce(sum(ai_cost_usd) filter (where project_id is not null), 0) as book_ai_cost_usd,
        coalesce(sum(ai_cost_usd) filter (where project_id is null), 0) as unbooked_ai_cost_usd,
        sum(book_sales) as book_sales,
        sum(platform_commission) as platform_commission,
        sum(author_share) as author_share
    from facts
    group by author_id
),

-- Everyone with a book, an AI generation or subscription revenue: together, the whole platform's contribution.
authors as (
    select author_id from author_totals
    union
    select author_id from subscription_revenue
),

author_plans as (
    select user_id, arg_max(plan, created_at) as plan
    from subscriptions
    group by user_id
),

final as (
    select
        authors.author_id,
        coalesce(author_plans.plan, '(no plan)') as plan,
        coalesce(author_totals.books, 0)::bigint as books,
        coalesce(subscription_revenue.subscription_revenue_usd, 0)::decimal(18, 6) as subscription_revenue_usd,
        coalesce(author_totals.book_ai_cost_usd, 0)::decimal(18, 6) as book_ai_cost_usd,
        coalesce(author_totals.unbooked_ai_cost_usd, 0)::decimal(18, 6) as unbooked_ai_cost_usd,
        (coalesce(author_totals.book_ai_cost_usd, 0) + coalesce(author_totals.unbooked_ai_cost_usd, 0))::decimal(18, 6)
            as ai_cost_usd,
        coalesce(author_totals.book_sales, 0)::decimal(18, 2) as book_sales,
        coalesce(author_totals.platform_commission, 0)::decimal(18, 2) as platform_commission,
        coalesce(author_totals.author_share, 0)::decimal(18, 2) as author_share,
        (
            coalesce(subscription_revenue.subscription_revenue_usd, 0)
            + coalesce(author_totals.platform_commission, 0)
            - coalesce(author_totals.book_ai_cost_usd, 0)
            - coalesce(author_totals.unbooked_ai_cost_usd, 0)
        )::decimal(18, 6) as contribution_usd
    from authors
    left join author_totals on author_totals.author_id = authors.author_id
    left join subscription_revenue on subscription_revenue.author_id = authors.author_id
    left join author_plans on author_plans.user_id = authors.author_id
)

select * from final

-- One row per user with a created_at: when they first reached each writing milestone (UTC timestamps, NULL when
-- not yet), with what the funnel is broken down by (sign-up cohort month, plan, tier, sign-up method).
-- A refresh by user reads only its users' rows ($window_keys; every user in every other build).
with users as (
    select * from staging.users
    where in_window_keys(id, $window_keys::uuid[])
),

signups as (
    select * from marts.user_signups
    where in_window_keys(user_id, $window_keys::uuid[])
),

subscriptions as (
    select * from marts.subscriptions
    where in_window_keys(user_id, $window_keys::uuid[])
),

auth_methods as (
    select * from staging.user_auth_methods
    where in_window_keys(user_id, $window_keys::uuid[])
),

projects as (
    select * from staging.projects
    where in_window_keys(owner_id, $window_keys::uuid[])
),

chapters as (
    select * from staging.chapters
),

versions as (
    select * from staging.content_versions
),

completions as (
    select * from history.chapter_completions
),

generations as (
    select * from staging.ai_generations
    where in_window_keys(user_id, $window_keys::uuid[])
),

activity_days as (
    select * from marts.user_activity_days
    where in_window_keys(user_id, $window_keys::uuid[])
),

revenue_shares as (
    select * from staging.revenue_shares
    where in_window_keys(user_id, $window_keys::uuid[])
),

-- The method a user signed up with: their earliest auth method (a primary one first on a tie).
signup_methods as (
    select
        user_id,
        method_type,
        row_number() over (
            partition by user_id
            order by created_at asc nulls last, is_primary desc nulls last, method_type asc
        ) as pick
    from auth_methods
),

-- The plan a user first subscribed to ('incomplete' checkouts are not subscriptions: marts.subscriptions).
first_plans as (
    select
        user_id,
        plan,
        row_number() over (partition by user_id order by created_at asc nulls last, subscription_id asc) as pick
    from subscriptions
),

first_projects as (
    select
        owner_id as user_id,
        min(created_at) as first_project_at,
        min(published_at) as first_published_at
    from projects
    group by owner_id
),

first_chapters as (
    select
        projects.owner_id as user_id,
        min(chapters.created_at) as first_chapter_at
    from chapters
    inner join projects on projects.id = chapters.project_id
    group by projects.owner_id
),

-- A generation that produced nothing (failed, cancelled, pending) is no milestone.
first_generations as (
    select
        user_id,
        min(created_at) as first_generation_at
    from generations
    where status = 'completed'
    group by user_id
),

-- The completed chapters of each user's projects (a refresh by user: its users' alone, before their moments).
owned_completions as (
    select
        projects.owner_id as user_id,
        completions.chapter_id,
        completions.completed_day
    from completions
    inner join chapters on chapters.id = completions.chapter_id
    inner join projects on projects.id = chapters.project_id
),

-- history.chapter_completions dates a completion by UTC day only: the moment is the chapter's last save (version or
-- row update) on or before that day, else the day's start.
saves as (
    select chapter_id, created_at as saved_at from versions
    union all
    select id as chapter_id, updated_at as saved_at from chapters
),

completion_moments as (
    select
        owned_completions.user_id,
        coalesce(max(saves.saved_at), owned_completions.completed_day::timestamptz) as completed_at
    from owned_completions
    left join saves
        on saves.chapter_id = owned_completions.chapter_id
        and utc_day(saves.saved_at) <= owned_completions.completed_day
    group by owned_completions.user_id, owned_completions.chapter_id, owned_completions.completed_day
),

first_completions as (
    select
        user_id,
        min(completed_at) as first_completed_chapter_at
    from completion_moments
    group by user_id
),

-- An export is a user-initiated event: each is on one of the user's active days, which keep the day's first.
first_exports as (
    select
        user_id,
        min(first_export_at) as first_export_at
    from activity_days
    where first_export_at is not null
    group by user_id
),

-- A sale is known when a revenue-share statement with book sales is issued (its created_at): the statement's
-- period says when the sales happened only to the month.
first_sales as (
    select
        user_id,
        min(created_at) as first_sale_at
    from revenue_shares
    where book_sales > 0
    group by user_id
),

final as (
    select
        users.id as user_id,
        users.created_at as signup_at,
        signups.day as signup_day,
        date_trunc('month', signups.day)::date as cohort_month,
        coalesce(first_plans.plan, '(no plan)') as plan,
        signups.tier,
        coalesce(signup_methods.method_type, 'unknown') as signup_method,
        first_projects.first_project_at,
        first_chapters.first_chapter_at,
        first_generations.first_generation_at,
        first_completions.first_completed_chapter_at,
        first_exports.first_export_at,
        first_projects.first_published_at,
        first_sales.first_sale_at
    from users
    inner join signups on signups.user_id = users.id
    left join signup_methods on signup_methods.user_id = users.id and signup_methods.pick = 1
    left join first_plans on first_plans.user_id = users.id and first_plans.pick = 1
    left join first_projects on first_projects.user_id = users.id
    left join first_chapters on first_chapters.user_id = users.id
    left join first_generations on first_generations.user_id = users.id
    left join first_completions on first_completions.user_id = users.id
    left join first_exports on first_exports.user_id = users.id
    left join first_sales on first_sales.user_id = users.id
)

select * from final

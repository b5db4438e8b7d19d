-- The writing-milestone funnel of the users who signed up in the period, per segment of $breakdown ('cohort',
-- 'plan', 'tier', 'method'; anything else: one segment of all users). A user reaches a step when they reached it
-- and every step before it within $window_days days of sign-up (NULL: at any time), in whatever order in time.
-- Time from the previous step is the exact median over the users reaching the step (negative when they usually
-- take this step before the previous one). The plan and tier filters pick users by those of the breakdown.
with milestones as (
    select * from marts.user_milestones
),

steps as (
    select milestones_in_order.* from (
        values
        (1, 'Signed up', 'signup_at'),
        (2, 'First project', 'first_project_at'),
        (3, 'First chapter', 'first_chapter_at'),
        (4, 'First AI generation', 'first_generation_at'),
        (5, 'First completed chapter', 'first_completed_chapter_at'),
        (6, 'First export', 'first_export_at'),
        (7, 'First published book', 'first_published_at'),
        (8, 'First sale', 'first_sale_at')
    ) as milestones_in_order (step_number, step, milestone)
),

signups as (
    select
        user_id,
        signup_at as signed_up_at,
        signup_at,
        first_project_at,
        first_chapter_at,
        first_generation_at,
        first_completed_chapter_at,
        first_export_at,
        first_published_at,
        first_sale_at,
        case $breakdown
            when 'cohort' then strftime(cohort_month, '%Y-%m')
            when 'plan' then plan
            when 'tier' then tier
            when 'method' then signup_method
            else 'All users'
        end as segment
    from milestones
    where signup_day between $start and $end
      and picked($plans, plan)
      and picked($tiers, tier)
),

-- One row per user and milestone reached (UNPIVOT leaves out the NULLs: milestones not reached).
reached as (
    unpivot signups
    on signup_at, first_project_at, first_chapter_at, first_generation_at, first_completed_chapter_at,
    first_export_at, first_published_at, first_sale_at
    into name milestone value reached_at
),

in_window as (
    select
        reached.user_id,
        reached.segment,
        steps.step_number,
        reached.reached_at
    from reached
    inner join steps on steps.milestone = reached.milestone
    where $window_days::integer is null or reached.reached_at <= reached.signed_up_at + to_days($window_days::integer)
),

-- Steps 1..k all reached: the k-th of a user's steps in order is step k.
ordered as (
    select
        *,
        row_number() over (partition by user_id order by step_number) as nth,
        lag(reached_at) over (partition by user_id order by step_number) as previous_at
    from in_window
),

through as (
    select * from ordered where nth = step_number
),

per_step as (
    select
        segment,
        step_number,
        count(*) as users,
        median(date_diff('second', previous_at, reached_at) / 3600) as median_hours_from_previous
    from through
    group by segment, step_number
),

grid as (
    select segments.segment, steps.step_number, steps.step
    from (select distinct segment from signups) as segments
    cross join steps
),

counted as (
    select
        grid.segment,
        grid.step_number,
        grid.step,
        coalesce(per_step.users, 0) as users,
        per_step.median_hours_from_previous
    from grid
    left join per_step on per_step.segment = grid.segment and per_step.step_number = grid.step_number
),

final as (
    select
        segment,
        step_number,
        step,
        users,
        users / nullif(lag(users) over (partition by segment order by step_number), 0) as conversion_from_previous,
        users / nullif(first_value(users) over (partition by segment order by step_number), 0)
            as conversion_from_signup,
        median_hours_from_previous,
        median_hours_from_previous / 24 as median_days_from_previous
    from counted
    order by segment, step_number
)

select * from final

-- A refresh by chapter reads only its chapters' rows ($window_keys; every chapter in every other build).
with completions as (
    select * from history.chapter_completions
    where in_window_keys(chapter_id, $window_keys::uuid[])
),

chapters as (
    select * from staging.chapters
    where in_window_keys(id, $window_keys::uuid[])
),

projects as (
    select * from staging.projects
),

-- history.chapter_completions dates a chapter once, when a run first saw it completed, and never moves it.
final as (
    select
        completions.completed_day as day,
        completions.chapter_id,
        chapters.project_id,
        coalesce(projects.genre, 'unknown') as genre,
        completions.basis
    from completions
    left join chapters on chapters.id = completions.chapter_id
    left join projects on projects.id = chapters.project_id
)

select * from final

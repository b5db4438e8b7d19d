with projects as (
    select * from staging.projects
),

chapters as (
    select * from staging.chapters
),

first_chapters as (
    select project_id, min(created_at) as first_chapter_at
    from chapters
    group by project_id
),

project_stages as (
    select
        coalesce(projects.genre, 'unknown') as genre,
        projects.created_at,
        first_chapters.first_chapter_at,
        projects.completed_at,
        projects.published_at
    from projects
    left join first_chapters on first_chapters.project_id = projects.id
),

-- Fractional days between two stages; NULL when the project has not reached both.
stage_durations as (
    select
        *,
        date_diff('second', created_at, first_chapter_at) / 86400 as days_to_first_chapter,
        date_diff('second', first_chapter_at, completed_at) / 86400 as days_first_chapter_to_completed,
        date_diff('second', completed_at, published_at) / 86400 as days_completed_to_published
    from project_stages
),

final as (
    select
        genre,
        count(*) as created,
        count(first_chapter_at) as with_chapters,
        count(completed_at) as completed,
        count(published_at) as published,
        median(days_to_first_chapter)::double as median_days_to_first_chapter,
        median(days_first_chapter_to_completed)::double as median_days_first_chapter_to_completed,
        median(days_completed_to_published)::double as median_days_completed_to_published
    from stage_durations
    group by genre
)

select * from final

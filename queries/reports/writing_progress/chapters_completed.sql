-- Chapters now marked completed, by the UTC day of their last update (chapters carry no completion time), for
-- projects of the chosen genres.
with chapters as (
    select * from staging.chapters
),

projects as (
    select * from staging.projects
),

final as (
    select chapters.updated_at::date as day, count(*) as chapters_completed
    from chapters
    left join projects on projects.id = chapters.project_id
    where chapters.status = 'completed'
      -- UTC days as a timestamp range, so DuckDB can skip row groups of other days
      and chapters.updated_at >= $start::timestamptz
      and chapters.updated_at < ($end + interval 1 day)::timestamptz
      and picked($genres, coalesce(projects.genre, 'unknown'))
    group by day
    order by day
)

select * from final

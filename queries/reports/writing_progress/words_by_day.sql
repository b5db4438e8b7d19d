-- Net words written per UTC day (growth of each project's word count since its previous active day), content
-- versions created and writers active, for projects of the chosen genres.
with progress as (
    select * from marts.writing_progress_daily
),

projects as (
    select * from staging.projects
),

with_growth as (
    select
        progress.day,
        progress.owner_id,
        progress.versions_created,
        progress.words_total
            - coalesce(lag(progress.words_total) over (partition by progress.project_id order by progress.day), 0)
            as words_written,
        coalesce(projects.genre, 'unknown') as genre
    from progress
    left join projects on projects.id = progress.project_id
),

final as (
    select
        day,
        sum(words_written) as words_written,
        sum(versions_created) as versions_created,
        count(distinct owner_id) as active_writers
    from with_growth
    where day between $start and $end
      and (len($genres) = 0 or list_contains($genres, genre))
    group by day
    order by day
)

select * from final

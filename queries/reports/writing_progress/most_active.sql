-- The 100 projects with the most content versions in the period, with their net words written and size now.
with progress as (
    select * from marts.writing_progress_daily
),

projects as (
    select * from staging.projects
),

in_period as (
    select
        project_id,
        any_value(owner_id) as owner_id,
        any_value(genre) as genre,
        sum(versions_created) as versions_created,
        sum(words_written) as words_written,
        arg_max(words_total, day) as words_total,
        max(day) as last_active_day
    from progress
    where day between $start and $end
      and picked($genres, genre)
    group by project_id
),

final as (
    select
        projects.title,
        in_period.owner_id::varchar as owner_id,
        in_period.genre,
        projects.status,
        in_period.versions_created,
        in_period.words_written,
        in_period.words_total,
        in_period.last_active_day,
        in_period.project_id::varchar as project_id
    from in_period
    left join projects on projects.id = in_period.project_id
    order by in_period.versions_created desc, in_period.words_written desc, project_id asc
    limit 100
)

select * from final

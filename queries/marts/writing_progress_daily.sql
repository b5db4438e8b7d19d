-- A refresh by project reads only its projects' chapters ($window_keys; every project in every other build); their
-- versions by the join below.
with versions as (
    select * from staging.content_versions
),

chapters as (
    select * from staging.chapters
    where in_window_keys(project_id, $window_keys::uuid[])
),

projects as (
    select * from staging.projects
    where in_window_keys(id, $window_keys::uuid[])
),

chapter_versions as (
    select
        chapters.project_id,
        versions.chapter_id,
        -- created_at::date under TimeZone UTC, without the time-zone library's per-row conversion (10x faster)
        utc_day(versions.created_at) as day,
        versions.created_at,
        versions.version_number,
        coalesce(versions.word_count, 0) as word_count
    from versions
    inner join chapters on chapters.id = versions.chapter_id
),

-- A chapter's length at the end of a day is its latest version of that day (by time, then version number).
chapter_days as (
    select
        project_id,
        chapter_id,
        day,
        count(*) as versions_created,
        arg_max(word_count, (created_at, version_number)) as words_at_day_end
    from chapter_versions
    group by project_id, chapter_id, day
),

-- As-of totals without an as-of join: each chapter-day contributes its change since the chapter's previous
-- version day, and a running sum of the changes per project is the project's total at the end of each day.
chapter_day_changes as (
    select
        project_id,
        day,
        versions_created,
        -- (a chapter is in one project: partitioned by project too, so a refresh by project reaches this window)
        words_at_day_end
        - coalesce(lag(words_at_day_end) over (partition by project_id, chapter_id order by day), 0)
            as words_change
    from chapter_days
),

project_days as (
    select project_id, day, sum(versions_created) as versions_created, sum(words_change) as words_change
    from chapter_day_changes
    group by project_id, day
),

final as (
    select
        project_days.day,
        project_days.project_id,
        projects.owner_id,
        coalesce(projects.genre, 'unknown') as genre,
        project_days.versions_created::bigint as versions_created,
        -- the day's change is the growth since the project's previous active day: the total's running sum
        project_days.words_change::bigint as words_written,
        (sum(project_days.words_change) over (partition by project_days.project_id order by project_days.day))::bigint
            as words_total
    from project_days
    left join projects on projects.id = project_days.project_id
)

select * from final

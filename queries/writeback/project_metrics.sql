-- sqlfluff:dialect:duckdb
-- DuckDB, over the published warehouse: one analytics.project_metrics row per project for $metrics_date (the run's
-- UTC snapshot date), and its digest. Definitions: docs/etl.md ("Write-back").
with

projects as (
    select id as project_id from staging.projects
),

chapters as (
    select id as chapter_id, project_id, coalesce(word_count, 0) as word_count, ai_generated, status
    from staging.chapters
),

content_versions as (
    select chapter_id from staging.content_versions
),

collaborators as (
    select project_id, accepted_at from staging.project_collaborators
),

generations as (
    select project_id, processing_time_ms from staging.ai_generations where project_id is not null
),

chapter_totals as (
    select
        project_id,
        sum(word_count) as total_words,
        sum(word_count) filter (where ai_generated) as ai_words,
        count(*) filter (where status = 'completed') as chapters_completed
    from chapters
    group by project_id
),

revisions as (
    select chapters.project_id, count(*) as revisions_count
    from content_versions
    inner join chapters using (chapter_id)
    group by chapters.project_id
),

accepted_collaborators as (
    select project_id, count(*) as accepted
    from collaborators
    where accepted_at is not null
    group by project_id
),

generation_time as (
    select project_id, sum(processing_time_ms) as processing_ms
    from generations
    group by project_id
),

metrics as (
    select
        projects.project_id,
        coalesce(chapter_totals.total_words, 0)::integer as total_words,
        coalesce(chapter_totals.chapters_completed, 0)::integer as chapters_completed,
        -- 100 x ai words / words, rounded half up to hundredths in integers (DuckDB divides DECIMALs as DOUBLE)
        case
            when coalesce(chapter_totals.total_words, 0) = 0 then 0.00
            else (
                (20000 * coalesce(chapter_totals.ai_words, 0) + chapter_totals.total_words)
                // (2 * chapter_totals.total_words)
            )::decimal(18, 0) * 0.01
        end::decimal(5, 2) as ai_generated_percentage,
        0 as active_writing_time_minutes,  -- not derivable from the platform's data (docs/etl.md)
        (coalesce(generation_time.processing_ms, 0) // 60000)::integer as ai_generation_time_minutes,
        (1 + coalesce(accepted_collaborators.accepted, 0))::integer as collaborator_count,
        0 as comments_count,  -- the platform has no comments table
        coalesce(revisions.revisions_count, 0)::integer as revisions_count,
        $metrics_date::date as metrics_date
    from projects
    left join chapter_totals using (project_id)
    left join revisions using (project_id)
    left join accepted_collaborators using (project_id)
    left join generation_time using (project_id)
),

-- Each row's digest (64 bits of MD5 over its values): the write-back sends a project's row only when this differs
-- from the digest of the row it last wrote for the day.
final as (
    select
        *,
        substr(
            md5(concat_ws(
                '|', total_words, chapters_completed, ai_generated_percentage, active_writing_time_minutes,
                ai_generation_time_minutes, collaborator_count, comments_count, revisions_count, metrics_date
            )),
            1,
            16
        ) as row_digest
    from metrics
)

select * from final

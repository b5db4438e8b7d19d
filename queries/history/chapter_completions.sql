-- Insert-only: a chapter gets its completion day once, the first time a run sees it completed, and keeps it
-- whatever happens to the chapter afterwards. Chapters already completed at the first load (no earlier run kept
-- chapter history) take the UTC day of their last version (the chapter's updated_at when it has none).
with chapters as (
    select * from staging.chapters
),

versions as (
    select * from staging.content_versions
),

recorded as (
    select chapter_id from history.chapter_completions
),

first_load as (
    select not exists (
        select 1 from history.chapter_states where valid_from < $snapshot_at
    ) as is_first_load
),

last_versions as (
    select chapter_id, max(created_at) as last_version_at
    from versions
    group by chapter_id
),

newly_completed as (
    select
        chapters.id as chapter_id,
        coalesce(last_versions.last_version_at, chapters.updated_at, $snapshot_at) as last_version_at
    from chapters
    left join last_versions on last_versions.chapter_id = chapters.id
    where chapters.status = 'completed' and chapters.id not in (select recorded.chapter_id from recorded)
),

final as (
    select
        newly_completed.chapter_id,
        case
            when first_load.is_first_load then utc_day(newly_completed.last_version_at)
            else utc_day($snapshot_at::timestamptz)
        end as completed_day,
        case when first_load.is_first_load then 'initial_load' else 'observed' end as basis
    from newly_completed
    cross join first_load
)

select * from final

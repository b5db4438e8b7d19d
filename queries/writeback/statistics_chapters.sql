-- PostgreSQL: every chapter of the affected projects, as the version it is (its 32-bit xmin, new at every update of
-- the row, and updated_at), with its text only when that version was not counted before: a project's readability
-- adds up each chapter's syllables, which content_statistics has no column for, so the counts of the versions
-- counted are kept (pipelines/publish/counted_chapters.py) and handed in as `known_*`. A text not selected is never
-- read from its TOAST table.
with

known_versions as (
    select known.chapter_id, known.row_xmin, known.updated_at
    from unnest(
            %(known_ids)s::uuid[], %(known_xmins)s::bigint[], %(known_updated_at)s::timestamptz[]
        ) as known (chapter_id, row_xmin, updated_at)
),

affected_chapters as (
    select
        chapters.id,
        chapters.project_id,
        chapters.xmin::text::bigint as row_xmin,
        chapters.updated_at,
        chapters.content
    from content.chapters
    where chapters.project_id = any(%(project_ids)s)
),

final as (
    select
        affected_chapters.id,
        affected_chapters.project_id,
        affected_chapters.row_xmin,
        affected_chapters.updated_at,
        known_versions.chapter_id is not null as counted_before,
        case when known_versions.chapter_id is null then affected_chapters.content end as content
    from affected_chapters
    left join known_versions
        on
        known_versions.chapter_id = affected_chapters.id
        and known_versions.row_xmin = affected_chapters.row_xmin
        and known_versions.updated_at is not distinct from affected_chapters.updated_at
)

select * from final

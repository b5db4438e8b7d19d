-- PostgreSQL: projects whose statistics must be recomputed: a chapter written since the watermark (its 32-bit
-- xmin at or after since_xid, same epoch), a chapter without statistics, no project row yet, or a project row
-- that no longer adds up to its chapters' rows (a chapter was deleted).
with

written_chapters as (
    select chapters.project_id
    from content.chapters
    where chapters.xmin::text::bigint >= %(since_xid)s
),

-- a separate CTE rather than an OR inside written_chapters, so PostgreSQL plans an anti-join instead of probing
-- content_statistics once per chapter
chapters_without_statistics as (
    select chapters.project_id
    from content.chapters
    where not exists (
        select 1 from content.content_statistics as statistics
        where statistics.content_type = 'chapter' and statistics.content_id = chapters.id
    )
),

chapter_sums as (
    select
        chapters.project_id,
        sum(statistics.word_count) as word_count,
        sum(statistics.character_count) as character_count,
        sum(statistics.sentence_count) as sentence_count,
        sum(statistics.paragraph_count) as paragraph_count
    from content.content_statistics as statistics
    inner join content.chapters on chapters.id = statistics.content_id
    where statistics.content_type = 'chapter'
    group by chapters.project_id
),

drifted_projects as (
    select projects.id as project_id
    from content.projects
    left join content.content_statistics as statistics
        on statistics.content_type = 'project' and statistics.content_id = projects.id
    left join chapter_sums on chapter_sums.project_id = projects.id
    where statistics.id is null
       or (statistics.word_count, statistics.character_count, statistics.sentence_count, statistics.paragraph_count)
          is distinct from (coalesce(chapter_sums.word_count, 0), coalesce(chapter_sums.character_count, 0),
                            coalesce(chapter_sums.sentence_count, 0), coalesce(chapter_sums.paragraph_count, 0))
),

final as (
    select project_id from written_chapters
    union
    select project_id from chapters_without_statistics
    union
    select project_id from drifted_projects
)

select project_id from final

-- sqlfluff:dialect:duckdb
-- DuckDB, over the run's working connection: the chapters the run's change set holds (changes.py), each with the
-- project of its old and of its new version, and whether it was deleted (an old version only).
with

changed as (
    select _version, id as chapter_id, project_id from changes_staging_chapters
),

final as (
    select
        chapter_id,
        project_id,
        not bool_or(_version = 'new') over (partition by chapter_id) as deleted
    from changed
)

select * from final

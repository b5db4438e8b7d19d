-- Whether a change set ($changes: a temp table `pipelines.transform.changes` records) changes the given $columns of
-- its table: how many rows, as the multisets of those columns of its old and of its new versions, the two differ by.
-- 0 when every changed row changed other columns only (a chapter's word count, for a mart reading its project).
with versions as (
    select * from query_table($changes)
),

old_versions as (
    select columns(c -> list_contains($columns, c)) from versions
    where _version = 'old'
),

new_versions as (
    select columns(c -> list_contains($columns, c)) from versions
    where _version = 'new'
),

final as (
    select count(*) as differing_rows
    from (
        (
            from old_versions
            except all
            from new_versions
        )
        union all
        (
            from new_versions
            except all
            from old_versions
        )
    ) as differing
)

select * from final

-- Whether a change set ($changes: a temp table `pipelines.transform.changes` records) changes the given $columns of
-- its table: how many rows, as the multisets of those columns of its old and of its new versions, the two differ by.
-- 0 when every changed row changed other columns only (a chapter's word count, for a mart reading its project).
-- Equal rows are grouped and their versions netted once, as publish/delta.sql does.
with versions as (
    select * from query_table($changes)
),

netted as (
    select
        columns(c -> list_contains($columns, c)),
        sum(if(_version = 'new', 1, -1)) as net_copies
    from versions
    group by all
),

final as (
    select coalesce(sum(abs(net_copies)), 0)::bigint as differing_rows
    from netted
)

select * from final

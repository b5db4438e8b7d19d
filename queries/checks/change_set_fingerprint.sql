-- What a change set ($changes: a temp table `pipelines.transform.changes` records) does to its table's fingerprint
-- (checks/fingerprint.sql: row count and sum of row hashes), its `_version` column left out: the rows its old
-- versions take away and its new versions add, and the change in the sum of the rows' hashes.
with versions as (
    select * from query_table($changes)
),

old_versions as (
    select * exclude (_version) from versions
    where _version = 'old'
),

new_versions as (
    select * exclude (_version) from versions
    where _version = 'new'
),

old_sums as (
    select
        count(*) as row_count,
        coalesce(sum(hash(old_versions)::hugeint), 0) as row_hashes
    from old_versions
),

new_sums as (
    select
        count(*) as row_count,
        coalesce(sum(hash(new_versions)::hugeint), 0) as row_hashes
    from new_versions
),

final as (
    select
        old_sums.row_count as old_rows,
        new_sums.row_count as new_rows,
        new_sums.row_hashes - old_sums.row_hashes as hash_change
    from old_sums cross join new_sums
)

select * from final

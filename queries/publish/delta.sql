-- A table's net change from its change set ($changes: the temp table `pipelines.transform.changes` records): the old
-- versions that are not new again (rows to delete from the publication) and the new versions that were not old
-- (rows to insert), counted as a multiset, each with its row hash as the fingerprint takes it (checks/fingerprint.sql).
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

deleted as (
    from old_versions
    except all
    from new_versions
),

inserted as (
    from new_versions
    except all
    from old_versions
),

final as (
    select
        'old' as _version,
        hash(deleted) as _hash,
        deleted.*
    from deleted
    union all
    select
        'new' as _version,
        hash(inserted) as _hash,
        inserted.*
    from inserted
)

select * from final

-- Keys a run's change set removed from its table (pipelines/quality/reuse.py): how many keys of the old versions
-- (`changes`: the temp table `pipelines.transform.changes` recorded) no row of the table (`checked`) holds now. None
-- removed, an orphan check of a child table that passed before still holds for every child row the run did not
-- change. The placeholders are quoted identifiers, filled in by the caller.
with

old_keys as (
    select distinct {key} as key_value
    from {changes}
    where _version = 'old' and {key} is not null
),

removed as (
    select old_keys.key_value
    from old_keys
    anti join {checked} as current_rows on current_rows.{key} = old_keys.key_value
),

final as (
    select count(*) as removed_keys
    from removed
)

select * from final

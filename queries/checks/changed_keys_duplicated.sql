-- Uniqueness decided on a run's changed rows (pipelines/quality/reuse.py): how many keys of the new and updated
-- rows (`changed`) more than one row of the whole table (`checked`) holds, and how many of those rows have a NULL
-- in the key. Keys that were unique stay so unless a changed row duplicates one. The placeholders are quoted
-- identifiers and the NULL test over them, filled in by the caller.
with

changed_keys as (
    select distinct {columns}
    from {changed}
),

duplicated as (
    select {columns}
    from {checked}
    inner join changed_keys using ({columns})
    group by {columns}
    having count(*) > 1
),

with_null as (
    select count(*) as keys_with_null
    from {changed}
    where {any_null}
),

final as (
    select
        (select count(*) from duplicated) as duplicated_keys,
        with_null.keys_with_null
    from with_null
)

select * from final

-- Close the open version of every key whose values changed or which left the source ({touched}: of the keys this
-- run's changes touch, or true).
update history.{table} as versions
set valid_to = $snapshot_at, effective_to = $snapshot_at
where
    versions.valid_to is null
    and {touched}
    and not exists (
        select 1
        from history_incoming as incoming
        where incoming.{key} = versions.{key} and {same_values}
    )

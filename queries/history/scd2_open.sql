-- Open a version for every key without one (new, changed, or back at the source). A key's first version is in
-- force since '-infinity': months before the first load use the first value seen.
insert into history.{table}
select
    incoming.*,
    $snapshot_at as valid_from,
    null as valid_to,
    case
        when exists (select 1 from history.{table} as earlier where earlier.{key} = incoming.{key})
            then $snapshot_at
        else '-infinity'::timestamptz
    end as effective_from,
    'infinity'::timestamptz as effective_to
from history_incoming as incoming
where not exists (
    select 1
    from history.{table} as versions
    where versions.{key} = incoming.{key} and versions.valid_to is null
)

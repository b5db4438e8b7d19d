-- The history table of an entity, shaped like its current values plus the validity columns (identifiers from
-- queries/history/entities.yml).
create table if not exists history.{table} as
select
    *,
    null::timestamptz as valid_from,
    null::timestamptz as valid_to,
    null::timestamptz as effective_from,
    null::timestamptz as effective_to
from history_incoming
where false

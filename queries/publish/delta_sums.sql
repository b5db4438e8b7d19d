-- What a net change ($delta, from delta.sql) does to a table's fingerprint (checks/fingerprint.sql): rows it deletes
-- and inserts, and the change in the sum of the rows' hashes.
select
    count(*) filter (where _version = 'old') as deleted_rows,
    count(*) filter (where _version = 'new') as inserted_rows,
    coalesce(sum(case when _version = 'new' then _hash::hugeint else -(_hash::hugeint) end), 0) as hash_change
from query_table($delta)

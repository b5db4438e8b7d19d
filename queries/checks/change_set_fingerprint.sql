-- The fingerprint (as checks/fingerprint.sql: row count and sum of row hashes) of a change set's old or new
-- versions (pipelines/transform/changes.py), its `_version` column left out: the table as published, less the
-- old versions, plus the new ones, must give the table as it is (pipelines/quality/reuse.py).
select
    count(*) as row_count,
    coalesce(sum(hash(fingerprinted)::hugeint), 0) as row_hashes
from (
    select * exclude (_version)
    from query_table($changes)
    where _version = $version
) as fingerprinted

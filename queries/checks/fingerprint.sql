-- A table's fingerprint: its row count and the sum of its rows' hashes (a multiset: any inserted, deleted or changed
-- row changes it, whatever the order). The table is named by the parameter ('schema.table').
select
    count(*) as row_count,
    coalesce(sum(hash(fingerprinted)::hugeint), 0) as row_hashes
from query_table($table) as fingerprinted

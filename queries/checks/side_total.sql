-- One side of a reconciliation decided on totals (pipelines/quality/totals.py): its aggregate (`count(*)` or
-- `sum(...)`) over its whole table, where its condition holds (`true` when it has none), and the rows read.
select
    {aggregate} as total,
    count(*) as rows_read
from {table}
where {condition}

-- One side of a reconciliation decided on totals (pipelines/quality/totals.py): its aggregate (`count(*)` or
-- `sum(...)`) over its whole table, where its condition holds (`true` when it has none).
select {aggregate} as total
from {table}
where {condition}

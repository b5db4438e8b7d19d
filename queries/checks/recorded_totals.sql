-- The reconciliation totals kept with the last publication's check results (pipelines/quality/totals.py).
select
    name,
    side,
    table_name,
    total,
    inputs
from meta.check_totals

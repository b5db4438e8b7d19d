-- The results of the last check step that say what they were computed from (pipelines/quality/reuse.py).
select
    name,
    severity,
    success,
    unexpected_count,
    table_name,
    sample_ids,
    inputs,
    checked_at,
    scope,
    rows_checked,
    element_count
from meta.check_results
where inputs is not null
